// DnsRecord's two backends in this process against a real PowerDNS, on the paths dns.test.ts leaves out:
// a zone or server id the server does not know, disabled records, a set that vanished or changed before an
// update, an update message too big for UDP (TCP), and changes that need no write. Each test stands alone.
import * as assert from "assert";
import * as crypto from "crypto";
import * as http from "http";
import { isLaunchpadError } from "../../provider/errors";
import { provider } from "../../provider/dns";
import { canonicalSet, valueFromWire } from "../../provider/dns/rdata";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";
import { powerDnsWithZone } from "../support/pdns-reuse";
import { DnsRelay, HttpRelay, startDnsRelay, startHttpRelay } from "../support/relays";

const ZONE = "backends.test";
const KEY: PdnsTsigKey = { name: "launchpad-backends", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("DnsRecord backends' edge paths on a real PowerDNS (integration)", function () {
  this.timeout(60_000);
  let pdns: PowerDnsServer;
  const pdnsServer = powerDnsWithZone(ZONE, [KEY]);

  before(async function () {
    pdns = await pdnsServer.start(this);
  });
  after(async () => { await pdnsServer.stop(); });

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
        await replaceOutOfBand(fqdn, [{ content: "198.51.100.2" }, { content: "198.51.100.3" }]);
        const refused = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.3"], server: backend.server() });
        await assert.rejects(provider.update!(id, outs, refused), (error: Error) => isLaunchpadError(error, "ERR_DNS_CONFLICT")
          && error.message.includes("the server holds 198.51.100.2, 198.51.100.3, this DnsRecord last wrote 192.0.2.1"));
        assert.deepStrictEqual(await served(fqdn), ["198.51.100.2", "198.51.100.3"], "untouched after the refusal");
        const forced = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.3"], overwrite: true, server: backend.server() });
        const { outs: updated } = await provider.update!(id, outs, forced);
        assert.deepStrictEqual(await served(fqdn), ["192.0.2.3"]);
        await provider.delete!(id, updated!);
      });

      it("writes a change of the TTL alone", async () => {
        const name = unique("ttl");
        const fqdn = `${name}.${ZONE}`;
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], ttl: 120, server: backend.server() });
        const next = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.1"], ttl: 60, server: backend.server() });
        const { outs: updated } = await provider.update!(id, outs, next);
        const { answers } = await pdns.query(fqdn, "A");
        assert.deepStrictEqual(answers.map((a) => (a as { ttl?: number }).ttl), [60]);
        assert.strictEqual((await provider.read!(id, updated!)).props!.ttl, 60);
        await provider.delete!(id, updated!);
      });

      it("reads a name that holds only another type as gone", async () => {
        const name = unique("nodata");
        const fqdn = `${name}.${ZONE}`;
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: backend.server() });
        await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [
          { name: `${fqdn}.`, type: "A", changetype: "DELETE" },
          { name: `${fqdn}.`, type: "TXT", ttl: 60, changetype: "REPLACE", records: [{ content: "\"theirs\"", disabled: false }] }] });
        assert.strictEqual((await provider.read!(id, outs)).id, "");
        await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "TXT", changetype: "DELETE" }] });
      });

      it("takes over someone else's set on `overwrite: true`, also at the same TTL", async () => {
        const name = unique("takeover");
        const fqdn = `${name}.${ZONE}`;
        await replaceOutOfBand(fqdn, [{ content: "198.51.100.6" }], 300);
        const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.6"], ttl: 300, overwrite: true, server: backend.server() });
        assert.deepStrictEqual(await served(fqdn), ["192.0.2.6"]);
        await provider.delete!(id, outs);
        assert.deepStrictEqual(await served(fqdn), []);
      });

      it("refuses to adopt a set that holds its values and more", async () => {
        const name = unique("superset");
        const fqdn = `${name}.${ZONE}`;
        await replaceOutOfBand(fqdn, [{ content: "192.0.2.1" }, { content: "198.51.100.1" }]);
        await assert.rejects(create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: backend.server() }), (error: Error) =>
          isLaunchpadError(error, "ERR_DNS_CONFLICT") && error.message.includes("already exists with 192.0.2.1, 198.51.100.1 (this DnsRecord wants 192.0.2.1)"));
        assert.deepStrictEqual(await served(fqdn), ["192.0.2.1", "198.51.100.1"]);
        await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
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

  it("reads a value it could not write itself (a null MX) verbatim, as drift to show", async () => {
    const name = unique("nullmx");
    const fqdn = `${name}.${ZONE}`;
    const { id, outs } = await create({ zone: ZONE, name, type: "MX", values: ["10 mx.example.net"], server: api() });
    await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "MX", ttl: 300, changetype: "REPLACE", records: [{ content: "0 .", disabled: false }] }] });
    assert.deepStrictEqual((await provider.read!(id, outs)).props!.values, ["0 ."]);
    await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "MX", changetype: "DELETE" }] });
  });

  it("reads its own set out of a whole zone from an API that ignores the rrset filter, without disabled records", async () => {
    // An older PowerDNS answers the filtered GET with the whole zone: a proxy that drops the query string plays one.
    const url = new URL(pdns.apiUrl);
    const older = http.createServer((req, res) => {
      const upstream = http.request({ host: url.hostname, port: Number(url.port), method: req.method, path: req.url!.replace(/\?.*$/, ""), headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => older.listen(0, "127.0.0.1", resolve));
    try {
      const name = unique("whole");
      const fqdn = `${name}.${ZONE}`;
      const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: api() });
      await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [
        { name: `0-first.${ZONE}.`, type: "A", ttl: 60, changetype: "REPLACE", records: [{ content: "198.51.100.1", disabled: false }] },
        { name: `${fqdn}.`, type: "TXT", ttl: 60, changetype: "REPLACE", records: [{ content: "\"theirs\"", disabled: false }] },
        { name: `${fqdn}.`, type: "A", ttl: 300, changetype: "REPLACE", records: [{ content: "192.0.2.1", disabled: false }, { content: "198.51.100.7", disabled: true }] },
      ] });
      const reader = { ...outs, server: { ...api(), url: `http://127.0.0.1:${(older.address() as { port: number }).port}` } };
      assert.deepStrictEqual((await provider.read!(id, reader)).props!.values, ["192.0.2.1"]);
      await replaceOutOfBand(fqdn, [{ content: "192.0.2.1", disabled: true }]);
      assert.strictEqual((await provider.read!(id, reader)).id, "", "a set of disabled records only is not served: gone");
      await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [
        { name: `0-first.${ZONE}.`, type: "A", changetype: "DELETE" }, { name: `${fqdn}.`, type: "TXT", changetype: "DELETE" }, { name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
    } finally {
      older.closeAllConnections();
      await new Promise((resolve) => older.close(resolve));
    }
  });

  it("names a refused overwrite through RFC 2136, and leaves the set there as it was", async () => {
    const name = unique("takeover");
    const fqdn = `${name}.${ZONE}`;
    await replaceOutOfBand(fqdn, [{ content: "198.51.100.3" }]);
    const wrongSecret = crypto.randomBytes(32).toString("base64");
    await assert.rejects(create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], overwrite: true, server: { ...rfc(), tsig: { ...KEY, secret: wrongSecret } } }),
      (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
        assert.match(error.message, new RegExp(`did not write ${fqdn} A: REFUSED`));
        assert.ok(!error.message.includes(wrongSecret));
        return true;
      });
    assert.deepStrictEqual(await served(fqdn), ["198.51.100.3"]);
    await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
  });

  it("names the failed step when the stored state cannot be read, and touches nothing", async () => {
    const broken = { zone: ZONE, name: "x", type: "A", values: ["192.0.2.1"] }; // no server: an edited or truncated state
    for (const [hook, run] of [
      ["read", () => provider.read!(`${ZONE}/x.${ZONE}/A`, broken)],
      ["delete", () => provider.delete!(`${ZONE}/x.${ZONE}/A`, broken)],
      ["update", () => provider.update!(`${ZONE}/x.${ZONE}/A`, broken, broken)],
      ["create", () => provider.create(broken)],
    ] as const) {
      await assert.rejects(run(), (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), `${hook}: ${String(error)}`);
        assert.match(error.message, new RegExp(`^${hook} DnsRecord: [\\s\\S]*"server"`), hook);
        assert.ok(error.cause, `${hook}: the parse error is kept as the cause`);
        return true;
      });
    }
  });

  describe("with a fault relay in front of the server", () => {
    let http: HttpRelay;
    let dns: DnsRelay;
    before(async () => {
      const url = new URL(pdns.apiUrl);
      http = await startHttpRelay({ host: url.hostname, port: Number(url.port) });
      dns = await startDnsRelay({ host: "127.0.0.1", port: pdns.dnsPort });
    });
    afterEach(() => { http.clear(); dns.answerWith(undefined); });
    after(async () => { await http?.close(); await dns?.close(); });

    const viaHttp = () => ({ ...api(), url: http.url });
    const viaDns = () => ({ ...rfc(), port: dns.port });
    const failsWith = (pattern: RegExp) => (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
      assert.match(error.message, pattern);
      return true;
    };

    it("writes through a PowerDNS API that was busy once (HTTP 503 is retried)", async () => {
      const name = unique("busy");
      const before = http.faulted;
      http.fail(503, 1);
      const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.8"], server: viaHttp() });
      assert.strictEqual(http.faulted - before, 1);
      assert.deepStrictEqual(await served(`${name}.${ZONE}`), ["192.0.2.8"]);
      await provider.delete!(id, outs);
    });

    it("names what the API answered, in its own words, and does not retry what cannot get better", async () => {
      const name = unique("api");
      const where = `PowerDNS GET ${http.url} zone ${ZONE}`;
      const before = http.faulted;
      http.fail(403, 1);
      await assert.rejects(create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: viaHttp() }),
        failsWith(new RegExp(`^${where.replace(/[.]/g, "\\.")}: the API key was rejected \\(HTTP 403\\)$`)));
      http.fail(404, 1);
      await assert.rejects(create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: viaHttp() }),
        failsWith(/: HTTP 404 \(injected 404 by the fault relay\): is the zone created/));
      http.fail(400, 1);
      await assert.rejects(create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: viaHttp() }),
        failsWith(/: HTTP 400 injected 400 by the fault relay$/));
      assert.strictEqual(http.faulted - before, 3, "one request each: none retried");
      assert.deepStrictEqual(await served(`${name}.${ZONE}`), []);
    });

    it("names an API that does not answer at all", async () => {
      const closed = await startHttpRelay({ host: "127.0.0.1", port: 1 });
      const url = closed.url;
      await closed.close();
      await assert.rejects(create({ zone: ZONE, name: unique("down"), type: "A", values: ["192.0.2.1"], server: { ...api(), url } }),
        (error: Error) => failsWith(new RegExp(`^PowerDNS GET ${url.replace(/[.]/g, "\\.")} zone ${ZONE}: no answer \\(ECONNREFUSED\\)$`))(error)
          && (error.cause as Error | undefined)?.message === "fetch failed");
    });

    it("refuses an unsigned NOERROR to a signed update: the answer cannot be trusted", async () => {
      const name = unique("forged");
      dns.answerWith(0);
      await assert.rejects(create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: viaDns() }),
        failsWith(/answered without a TSIG signature, so the answer cannot be trusted/));
    });

    it("names the rcode of each failed RFC 2136 step, without the TSIG hint that belongs to REFUSED", async () => {
      const name = unique("servfail");
      const fqdn = `${name}.${ZONE}`;
      const { id, outs } = await create({ zone: ZONE, name, type: "A", values: ["192.0.2.1"], server: viaDns() });
      dns.answerWith(2);
      const servfail = "SERVFAIL (the server failed to apply it)";
      await assert.rejects(create({ zone: ZONE, name: unique("new"), type: "A", values: ["192.0.2.1"], server: viaDns() }),
        failsWith(new RegExp(`^DNS server 127\\.0\\.0\\.1:${dns.port} did not create .* A: ${servfail.replace(/[()]/g, "\\$&")}$`)));
      const next = await checkedAgainst(outs, { zone: ZONE, name, type: "A", values: ["192.0.2.2"], server: viaDns() });
      await assert.rejects(provider.update!(id, outs, next), failsWith(new RegExp(`did not update ${fqdn} A: SERVFAIL`)));
      await assert.rejects(provider.read!(id, outs), failsWith(new RegExp(`could not answer for ${fqdn} A: SERVFAIL`)));
      await assert.rejects(provider.delete!(id, outs), failsWith(new RegExp(`did not delete ${fqdn} A: SERVFAIL`)));
      dns.answerWith(5);
      await assert.rejects(provider.delete!(id, outs), failsWith(new RegExp(`did not delete ${fqdn} A: REFUSED \\(the server does not allow this update: check that it knows TSIG key "${KEY.name}"`)));
      dns.answerWith(undefined);
      assert.deepStrictEqual(await served(fqdn), ["192.0.2.1"], "a failed delete is not success: the record is still there");
      await provider.delete!(id, outs);
    });
  });

  it("names what a signed update to a zone the server does not hold got", async () => {
    await assert.rejects(create({ zone: "unknown.test", name: unique("x"), type: "A", values: ["192.0.2.1"], server: rfc() }), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
      assert.ok(error.message.startsWith(`DNS server 127.0.0.1:${pdns.dnsPort} did not create `) || error.message.startsWith(`DNS server 127.0.0.1:${pdns.dnsPort} could not answer`), error.message);
      assert.match(error.message, /REFUSED|NOTAUTH|NOTZONE/);
      return true;
    });
  });
});
