// DnsRecord's two backends in this process against a real PowerDNS, on the paths dns.test.ts leaves out:
// a zone or server id the server does not know, disabled records, a set that vanished or changed before an
// update, an update message too big for UDP (TCP), and changes that need no write. Each test stands alone.
import * as assert from "assert";
import * as crypto from "crypto";
import { isLaunchpadError } from "../../provider/errors";
import { provider } from "../../provider/dns";
import { canonicalSet, valueFromWire } from "../../provider/dns/rdata";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";

const ZONE = "backends.test";
const KEY: PdnsTsigKey = { name: "launchpad-backends", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("DnsRecord backends' edge paths on a real PowerDNS (integration)", function () {
  this.timeout(60_000);
  let pdns: PowerDnsServer;

  before(async function () {
    pdns = await PowerDnsServer.startWithZone(this, ZONE, [KEY]);
  });
  after(async () => { await pdns?.stop(); });

  const api = () => ({ kind: "powerdns", url: pdns.apiUrl, apiKey: pdns.apiKey, allowPlainHttp: true });
  const rfc = () => ({ kind: "rfc2136", host: "127.0.0.1", port: pdns.dnsPort, tsig: KEY });
  const unique = (label: string) => `${label}-${crypto.randomBytes(3).toString("hex")}`;

  async function create(raw: Props) {
    const { inputs, failures } = await provider.check!({}, raw);
    assert.deepStrictEqual(failures ?? [], []);
    const { id, outs } = await provider.create(inputs!);
    return { id, outs: outs as Props, inputs };
  }
  const checkedAgainst = async (olds: Props, raw: Props): Promise<Props> => (await provider.check!(olds, raw)).inputs as Props;
  async function served(fqdn: string, type: "A" | "TXT" = "A"): Promise<string[]> {
    return canonicalSet((await pdns.query(fqdn, type)).answers.map((a) => valueFromWire(type, (a as { data: unknown }).data)));
  }
  const replaceOutOfBand = (fqdn: string, records: { content: string; disabled?: boolean }[], ttl = 300) =>
    pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", ttl, changetype: "REPLACE", records: records.map((r) => ({ disabled: false, ...r })) }] });

  it("names the zone and the server id when the API does not know them", async () => {
    const base = { name: unique("x"), type: "A", values: ["192.0.2.1"] };
    await assert.rejects(create({ ...base, zone: "unknown.test", server: api() }), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
      assert.ok(error.message.startsWith(`PowerDNS GET ${pdns.apiUrl} zone unknown.test: HTTP 404 (`), error.message);
      assert.ok(error.message.endsWith(`): is the zone created and the server id "localhost" right?`), error.message);
      return true;
    });
    await assert.rejects(create({ ...base, zone: ZONE, server: { ...api(), serverId: "elsewhere" } }), (error: Error) =>
      isLaunchpadError(error, "ERR_DNS_UPDATE") && error.message.includes(`the server id "elsewhere" right?`));
  });

  it("says what the server answered to a write it refused, with its own words", async () => {
    const name = unique("cname");
    const fqdn = `${name}.${ZONE}`;
    await replaceOutOfBand(fqdn, [{ content: "192.0.2.7" }]);
    // A CNAME beside other data is refused by the server (HTTP 422), and overwrite skips our own conflict check.
    await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "TXT", ttl: 60, changetype: "REPLACE", records: [{ content: "\"x\"", disabled: false }] }] });
    await assert.rejects(create({ zone: ZONE, name, type: "CNAME", values: ["target.example.net"], overwrite: true, server: api() }), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
      assert.match(error.message, new RegExp(`^PowerDNS PATCH ${pdns.apiUrl.replace(/\./g, "\\.")} zone ${ZONE}: HTTP 422 .*CNAME`));
      return true;
    });
  });

  it("takes an API URL with a trailing slash, and ignores disabled records as not served", async () => {
    const name = unique("disabled");
    const fqdn = `${name}.${ZONE}`;
    await replaceOutOfBand(fqdn, [{ content: "198.51.100.1", disabled: true }]);
    const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.5"], server: { ...api(), url: `${pdns.apiUrl}//` } });
    assert.deepStrictEqual(await served(fqdn), ["192.0.2.5"], "created: the disabled record was no conflict");
    await provider.delete!(id, outs);
    assert.deepStrictEqual(await served(fqdn), []);
  });

  for (const backend of [{ label: "PowerDNS API", server: api }, { label: "RFC 2136", server: rfc }]) {
    describe(`through ${backend.label}`, () => {
      it("creates the set again when it vanished before an update", async () => {
        const name = unique("vanished");
        const fqdn = `${name}.${ZONE}`;
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: backend.server() });
        await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
        const next = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.2"], server: backend.server() });
        const { outs: updated } = await provider.update!(id, outs, next);
        assert.deepStrictEqual(await served(fqdn), ["192.0.2.2"]);
        await provider.delete!(id, updated!);
      });

      it("overwrites a set changed by someone else when told to, and refuses otherwise", async () => {
        const name = unique("changed");
        const fqdn = `${name}.${ZONE}`;
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: backend.server() });
        await replaceOutOfBand(fqdn, [{ content: "198.51.100.2" }]);
        const refused = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.3"], server: backend.server() });
        await assert.rejects(provider.update!(id, outs, refused), (error: unknown) => isLaunchpadError(error, "ERR_DNS_CONFLICT"));
        const forced = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.3"], overwrite: true, server: backend.server() });
        const { outs: updated } = await provider.update!(id, outs, forced);
        assert.deepStrictEqual(await served(fqdn), ["192.0.2.3"]);
        await provider.delete!(id, updated!);
      });

      it("writes nothing when only the credentials or `overwrite` change", async () => {
        const name = unique("same");
        const fqdn = `${name}.${ZONE}`;
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], ttl: 120, server: backend.server() });
        await replaceOutOfBand(fqdn, [{ content: "198.51.100.9" }]);
        const next = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.1"], ttl: 120, overwrite: true, server: backend.server() });
        await provider.update!(id, outs, next);
        assert.deepStrictEqual(await served(fqdn), ["198.51.100.9"], "nothing was written");
        await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
      });

      it("deletes nothing when none of its values is left", async () => {
        const name = unique("theirs");
        const fqdn = `${name}.${ZONE}`;
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: backend.server() });
        await replaceOutOfBand(fqdn, [{ content: "198.51.100.4" }, { content: "198.51.100.5" }], 77);
        await provider.delete!(id, outs);
        assert.deepStrictEqual(await served(fqdn), ["198.51.100.4", "198.51.100.5"]);
        assert.ok((await pdns.query(fqdn, "A")).answers.every((a) => (a as { ttl?: number }).ttl === 77), "not rewritten");
        await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
      });

      it("writes a set too big for a UDP message (TCP), and reads it back", async () => {
        const name = unique("big");
        const values = Array.from({ length: 4 }, (_, i) => `v${i}=${"x".repeat(200)}`);
        const { id, outs } = await create({ zone: ZONE, name, type: "TXT", values, server: backend.server() });
        // Read back through the RFC 2136 backend's query, whatever wrote it: the answer is too big for UDP too.
        const reader = { ...outs, server: rfc() };
        const read = await provider.read!(id, reader);
        assert.strictEqual(read.props!.values.length, 4);
        assert.deepStrictEqual(read.props!.values, outs.values);
        await provider.delete!(id, outs);
        assert.strictEqual((await provider.read!(id, reader)).id, "");
      });
    });
  }

  it("names what a signed update to a zone the server does not hold got", async () => {
    await assert.rejects(create({ zone: "unknown.test", name: unique("x"), type: "A", values: ["192.0.2.1"], server: rfc() }), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
      assert.ok(error.message.startsWith(`DNS server 127.0.0.1:${pdns.dnsPort} did not create `) || error.message.startsWith(`DNS server 127.0.0.1:${pdns.dnsPort} could not answer`), error.message);
      assert.match(error.message, /REFUSED|NOTAUTH|NOTZONE/);
      return true;
    });
  });
});
