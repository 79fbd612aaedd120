import * as assert from "assert";
import * as dnsPacket from "dns-packet";
import { encodeQuery, encodeUpdate, pdnsDelete, pdnsReplace, pdnsZoneId, prerequisite, update } from "../../../provider/dns/render";

const set = { zone: "example.test", fqdn: "app.example.test", type: "A" as const, ttl: 120, values: ["192.0.2.1", "192.0.2.2"] };

/** [name, type, class, ttl, rdlength] of each RR after the zone section, read straight off the wire. */
function records(message: Buffer): [string, number, number, number, number][] {
  const out: [string, number, number, number, number][] = [];
  let offset = 12;
  const skip = (o: number) => { while (message[o] !== 0) o += message[o] + 1; return o + 1; };
  offset = skip(offset) + 4;
  while (offset < message.length) {
    const end = skip(offset);
    const name = dnsPacket.decode(Buffer.concat([Buffer.alloc(4), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]), message.subarray(offset, end), Buffer.from([0, 1, 0, 1])])).questions![0].name;
    const rdlength = message.readUInt16BE(end + 8);
    out.push([name, message.readUInt16BE(end), message.readUInt16BE(end + 2), message.readUInt32BE(end + 4), rdlength]);
    offset = end + 10 + rdlength;
  }
  return out;
}

describe("DnsRecord rendering", () => {
  it("renders PowerDNS rrsets with absolute names and quoted TXT", () => {
    assert.strictEqual(pdnsZoneId("example.test"), "example.test.");
    assert.deepStrictEqual(pdnsReplace(set), {
      name: "app.example.test.", type: "A", ttl: 120, changetype: "REPLACE",
      records: [{ content: "192.0.2.1", disabled: false }, { content: "192.0.2.2", disabled: false }],
    });
    const contents = (type: "CNAME" | "MX" | "SRV" | "TXT", value: string) => pdnsReplace({ ...set, type, values: [value] }).records![0].content;
    assert.strictEqual(contents("CNAME", "lb.example.net"), "lb.example.net.");
    assert.strictEqual(contents("MX", "10 mail.example.net"), "10 mail.example.net.");
    assert.strictEqual(contents("SRV", "10 5 5060 sip.example.net"), "10 5 5060 sip.example.net.");
    assert.strictEqual(contents("SRV", "0 0 0 ."), "0 0 0 .");
    assert.strictEqual(contents("TXT", '"a" "b"'), '"a" "b"');
    assert.deepStrictEqual(pdnsDelete(set), { name: "app.example.test.", type: "A", changetype: "DELETE" });
  });

  it("encodes an UPDATE: opcode 5, one zone SOA/IN, prerequisites then updates, with RFC 2136 classes", () => {
    const message = encodeUpdate({
      zone: set.zone,
      prerequisites: [prerequisite.rrsetAbsent(set.fqdn, "A"), prerequisite.rrsetExists(set.fqdn, "A"), ...prerequisite.rrsetEquals(set)],
      updates: [update.deleteRrset(set.fqdn, "A"), ...update.deleteValues(set), ...update.add(set)],
    }, 0xbeef);
    const header = dnsPacket.decode(message) as dnsPacket.DecodedPacket & { opcode?: string };
    assert.strictEqual(header.id, 0xbeef);
    assert.strictEqual(header.opcode, "UPDATE");
    assert.deepStrictEqual(header.questions, [{ name: "example.test", type: "SOA", class: "IN" }]);
    assert.deepStrictEqual([message.readUInt16BE(6), message.readUInt16BE(8), message.readUInt16BE(10)], [4, 5, 0]);
    const NONE = 254; const ANY = 255; const IN = 1;
    assert.deepStrictEqual(records(message), [
      ["app.example.test", 1, NONE, 0, 0], // §2.4.3 RRset does not exist
      ["app.example.test", 1, ANY, 0, 0], // §2.4.1 RRset exists
      ["app.example.test", 1, IN, 0, 4], ["app.example.test", 1, IN, 0, 4], // §2.4.2 exactly these values
      ["app.example.test", 1, ANY, 0, 0], // §2.5.2 delete the RRset
      ["app.example.test", 1, NONE, 0, 4], ["app.example.test", 1, NONE, 0, 4], // §2.5.4 delete these values
      ["app.example.test", 1, IN, 120, 4], ["app.example.test", 1, IN, 120, 4], // §2.5.1 add
    ]);
  });

  it("encodes record data for every type through dns-packet", () => {
    const rdlength = (type: "AAAA" | "CNAME" | "TXT" | "SRV" | "MX", value: string) =>
      records(encodeUpdate({ zone: "example.test", prerequisites: [], updates: update.add({ ...set, type, values: [value] }) }, 1))[0][4];
    assert.strictEqual(rdlength("AAAA", "2001:db8::1"), 16);
    assert.strictEqual(rdlength("CNAME", "lb.example.net"), 16);
    assert.strictEqual(rdlength("TXT", '"ab" "c"'), 5);
    assert.strictEqual(rdlength("SRV", "1 2 3 ."), 7);
    assert.strictEqual(rdlength("MX", "10 mx.example.net"), 2 + 16);
  });

  it("encodes a plain query", () => {
    const query = dnsPacket.decode(encodeQuery("app.example.test", "TXT", 7)) as dnsPacket.DecodedPacket & { opcode?: string };
    assert.deepStrictEqual([query.id, query.opcode, query.questions], [7, "QUERY", [{ name: "app.example.test", type: "TXT", class: "IN" }]]);
  });
});
