// DnsRecord refresh drift, table-driven, through the real dynamic-provider host and both backends:
// each row changes one record set on the real PowerDNS out of band (its content, its TTL, its type,
// or removes it); refresh must show exactly that, and the next up must serve the program's set again.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { DnsRecord } from "../../src/dnsRecord";
import { TestEngine } from "../../devstack/engine";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";

const ZONE = "drift.test";
const KEY: PdnsTsigKey = { name: "launchpad-drift", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };
const PROGRAM = { type: "A" as const, values: ["192.0.2.10", "192.0.2.11"], ttl: 120 };

interface Row {
  name: string;
  /** The out-of-band rrsets PATCH (PowerDNS API), given the record's FQDN. */
  patch: (fqdn: string) => object[];
  /** What refresh must read back: the drifted values and TTL, or `gone`. */
  refreshed: { values: string[]; ttl: number } | "gone";
}

const rrset = (fqdn: string, type: string, ttl: number, contents: string[]) =>
  ({ name: `${fqdn}.`, type, ttl, changetype: "REPLACE", records: contents.map((content) => ({ content, disabled: false })) });

const ROWS: Row[] = [
  { name: "content", patch: (fqdn) => [rrset(fqdn, "A", 120, ["198.51.100.7"])], refreshed: { values: ["198.51.100.7"], ttl: 120 } },
  { name: "ttl", patch: (fqdn) => [rrset(fqdn, "A", 3600, PROGRAM.values)], refreshed: { values: PROGRAM.values, ttl: 3600 } },
  { name: "both", patch: (fqdn) => [rrset(fqdn, "A", 60, ["192.0.2.10"])], refreshed: { values: ["192.0.2.10"], ttl: 60 } },
  // The A set replaced by an AAAA set at the same name: ours is gone.
  { name: "type", patch: (fqdn) => [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }, rrset(fqdn, "AAAA", 120, ["2001:db8::1"])], refreshed: "gone" },
  { name: "removed", patch: (fqdn) => [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }], refreshed: "gone" },
];

describe("DnsRecord refresh drift, row by row, both backends (real host, PowerDNS)", function () {
  this.timeout(300_000);
  let pdns: PowerDnsServer | undefined;
  const engines: TestEngine[] = [];

  before(async function () {
    pdns = await PowerDnsServer.startWithZone(this, ZONE, [KEY]);
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    await pdns?.stop();
  });

  const backends = [
    { label: "powerdns", server: () => pdns!.apiServer() },
    { label: "rfc2136", server: () => pdns!.updateServer(KEY) },
  ];
  const served = async (fqdn: string, type = "A") => {
    const answers = (await pdns!.query(fqdn, type)).answers as Array<{ data: unknown; ttl: number }>;
    return { values: answers.map((a) => String(a.data)).sort(), ttl: answers[0]?.ttl };
  };

  for (const backend of backends) {
    it(`${backend.label}: refresh reads content, TTL and type back; the next up serves the program's set again`, async () => {
      const engine = new TestEngine({ project: "launchpad-dns-drift", stack: backend.label });
      engines.push(engine);
      const name = (row: Row) => `${backend.label}-${row.name}`;
      const fqdn = (row: Row) => `${name(row)}.${ZONE}`;
      const program = () => { for (const row of ROWS) new DnsRecord(row.name, { zone: ZONE, name: name(row), ...PROGRAM, server: backend.server() }); };
      await engine.up(program);
      for (const row of ROWS) assert.deepEqual(await served(fqdn(row)), { values: PROGRAM.values, ttl: PROGRAM.ttl }, row.name);

      await pdns!.api("PATCH", `/zones/${ZONE}.`, { rrsets: ROWS.flatMap((row) => row.patch(fqdn(row))) });
      const refreshed = await engine.refresh();
      const seen = ROWS.map((row) => {
        const outs = engine.resource(row.name)?.plainOutputs;
        return [row.name, outs ? { values: [...(outs.values as string[])].sort(), ttl: outs.ttl } : "gone"];
      });
      assert.deepEqual(seen, ROWS.map((row) => [row.name, row.refreshed]), "what refresh read back");
      assert.deepEqual(refreshed.operations.filter((o) => o.op !== "same").map((o) => `${o.name}:${o.op}`).sort(),
        ROWS.map((row) => `${row.name}:${row.refreshed === "gone" ? "delete" : "update"}`).sort());

      await engine.up(program);
      const after = await Promise.all(ROWS.map(async (row) => [row.name, await served(fqdn(row))]));
      assert.deepEqual(after, ROWS.map((row) => [row.name, { values: PROGRAM.values, ttl: PROGRAM.ttl }]), "sets the next up did not restore");
      // Someone else's AAAA set at the `type` row's name is not ours: it stays.
      assert.deepEqual((await served(fqdn(ROWS[3]), "AAAA")).values, ["2001:db8::1"]);

      await engine.destroy();
      for (const row of ROWS) assert.deepEqual((await served(fqdn(row))).values, [], `${row.name} left behind`);
      await pdns!.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn(ROWS[3])}.`, type: "AAAA", changetype: "DELETE" }] });
    });
  }
});
