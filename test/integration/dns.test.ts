// DnsRecord's provider hooks against a real PowerDNS Authoritative server, through both backends
// (HTTP API and RFC 2136 + TSIG), every result read back with a real DNS query.
import * as assert from "assert";
import * as crypto from "crypto";
import { isLaunchpadError } from "../../provider/errors";
import { provider } from "../../provider/dns";
import { canonicalSet, RecordType, valueFromWire } from "../../provider/dns/rdata";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";
import { powerDnsWithZone } from "../support/pdns-reuse";

const ZONE = "example.test";
const KEY256: PdnsTsigKey = { name: "launchpad-256", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };
const KEY512: PdnsTsigKey = { name: "launchpad-512", algorithm: "hmac-sha512", secret: crypto.randomBytes(64).toString("base64") };

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Backend { label: string; server: () => Props }

describe("DnsRecord on a real PowerDNS (integration)", function () {
  this.timeout(120_000);
  let pdns: PowerDnsServer | undefined;
  const pdnsServer = powerDnsWithZone(ZONE, [KEY256, KEY512]);
  const server = () => pdns!;

  const backends: Backend[] = [
    { label: "powerdns", server: () => ({ kind: "powerdns", url: server().apiUrl, apiKey: server().apiKey, allowPlainHttp: true }) },
    { label: "rfc2136 hmac-sha256", server: () => ({ kind: "rfc2136", host: "127.0.0.1", port: server().dnsPort, tsig: KEY256 }) },
    { label: "rfc2136 hmac-sha512", server: () => ({ kind: "rfc2136", host: "127.0.0.1", port: server().dnsPort, tsig: KEY512 }) },
  ];

  before(async function () {
    pdns = await pdnsServer.start(this);
  });
  after(async () => { await pdnsServer.stop(); });

  async function checked(raw: Props): Promise<Props> {
    const { inputs, failures } = await provider.check!({}, raw);
    assert.deepStrictEqual(failures, [], "check failed");
    return inputs!;
  }
  async function create(raw: Props) {
    const inputs = await checked(raw);
    const { id, outs } = await provider.create(inputs);
    return { id, outs: outs as Props };
  }
  /** What the server answers over DNS, in our canonical form. */
  async function served(fqdn: string, type: RecordType): Promise<string[]> {
    const { answers } = await server().query(fqdn, type);
    return canonicalSet(answers.map((a) => valueFromWire(type, (a as { data: unknown }).data)));
  }
  async function rejects(promise: Promise<unknown>, code: string, pattern: RegExp, secrets: string[]): Promise<Error> {
    try {
      await promise;
    } catch (error) {
      assert.ok(isLaunchpadError(error, code as never), `expected ${code}, got ${String(error)}`);
      const text = `${(error as Error).message}\n${(error as Error).stack}`;
      if (process.env.DNS_TEST_VERBOSE) console.log(`        -> ${(error as Error).message}`);
      assert.match((error as Error).message, pattern);
      for (const secret of secrets) assert.ok(!text.includes(secret), "a secret appears in the error");
      return error as Error;
    }
    assert.fail(`expected ${code}`);
  }

  const LONG_TXT = "k=" + "x".repeat(300);
  const cases: { type: RecordType; name: string; values: string[]; expect: string[]; next: string[]; expectNext: string[] }[] = [
    { type: "A", name: "web", values: ["192.0.2.2", "192.0.2.1"], expect: ["192.0.2.1", "192.0.2.2"], next: ["192.0.2.3"], expectNext: ["192.0.2.3"] },
    { type: "AAAA", name: "web6", values: ["2001:DB8:0:0::1"], expect: ["2001:db8::1"], next: ["2001:db8::2", "2001:db8::3"], expectNext: ["2001:db8::2", "2001:db8::3"] },
    { type: "CNAME", name: "alias", values: ["target.example.test"], expect: ["target.example.test"], next: ["Other.Example.NET."], expectNext: ["other.example.net"] },
    {
      type: "TXT", name: "txt", values: ["v=spf1 -all", LONG_TXT], expect: ['"v=spf1 -all"', `"${LONG_TXT.slice(0, 255)}" "${LONG_TXT.slice(255)}"`].sort(),
      next: ['"say \\"hi\\"" "two"', "café ✓"], expectNext: ['"caf\\195\\169 \\226\\156\\147"', '"say \\"hi\\"" "two"'],
    },
    { type: "SRV", name: "_sip._tcp.svc", values: ["10 5 5060 sip.example.test"], expect: ["10 5 5060 sip.example.test"], next: ["20 0 5061 sip2.example.test."], expectNext: ["20 0 5061 sip2.example.test"] },
    { type: "MX", name: "mail", values: ["20 mx2.example.test", "10 mx1.example.test"], expect: ["10 mx1.example.test", "20 mx2.example.test"], next: ["5 mx.example.net"], expectNext: ["5 mx.example.net"] },
  ];

  for (const backend of backends) {
    describe(`through ${backend.label}`, () => {
      const prefix = backend.label.replace(/[^a-z0-9]+/g, "-");
      for (const c of cases) {
        it(`creates, reads, updates and deletes ${c.type}`, async () => {
          const fqdn = `${c.name}.${prefix}.${ZONE}`;
          const raw = { zone: ZONE, name: `${c.name}.${prefix}`, type: c.type, values: c.values, ttl: 120, server: backend.server() };
          const { id, outs } = await create(raw);
          assert.strictEqual(id, `${ZONE}/${fqdn}/${c.type}`);
          assert.strictEqual(outs.fqdn, fqdn);
          assert.deepStrictEqual(outs.values, c.expect);
          assert.deepStrictEqual(await served(fqdn, c.type), c.expect);
          const { answers } = await server().query(fqdn, c.type);
          assert.ok(answers.every((a) => (a as { ttl?: number }).ttl === 120), "TTL as asked");

          const read = await provider.read!(id, outs);
          assert.strictEqual(read.id, id);
          assert.deepStrictEqual(read.props!.values, c.expect);

          const news = await checked({ ...raw, values: c.next, ttl: 60 });
          const diff = await provider.diff!(id, outs, news);
          assert.deepStrictEqual([diff.changes, diff.replaces], [true, []]);
          const { outs: updated } = await provider.update!(id, outs, news);
          assert.deepStrictEqual(await served(fqdn, c.type), c.expectNext);
          assert.ok((await server().query(fqdn, c.type)).answers.every((a) => (a as { ttl?: number }).ttl === 60));

          await provider.delete!(id, updated!);
          assert.deepStrictEqual(await served(fqdn, c.type), []);
          await provider.delete!(id, updated!); // already gone: still fine
          const gone = await provider.read!(id, updated!);
          assert.strictEqual(gone.id, "");
        });
      }

      it("refuses to take over a different existing set, adopts an identical one, and overwrites on request", async () => {
        const fqdn = `taken.${prefix}.${ZONE}`;
        await server().api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", ttl: 300, changetype: "REPLACE", records: [{ content: "198.51.100.9", disabled: false }] }] });
        const raw = { zone: ZONE, name: `taken.${prefix}`, type: "A", values: ["192.0.2.50"], server: backend.server() };
        await rejects(create(raw), "ERR_DNS_CONFLICT", /taken\..*already exists with 198\.51\.100\.9.*overwrite: true/, []);
        assert.deepStrictEqual(await served(fqdn, "A"), ["198.51.100.9"], "untouched after the refusal");

        const adopted = await create({ ...raw, values: ["198.51.100.9"], ttl: 90 });
        assert.deepStrictEqual(await served(fqdn, "A"), ["198.51.100.9"]);
        assert.ok((await server().query(fqdn, "A")).answers.every((a) => (a as { ttl?: number }).ttl === 90), "adoption sets our TTL");

        const { id, outs } = await create({ ...raw, overwrite: true });
        assert.deepStrictEqual(await served(fqdn, "A"), ["192.0.2.50"]);
        assert.strictEqual(id, adopted.id);
        await provider.delete!(id, outs);
        assert.deepStrictEqual(await served(fqdn, "A"), []);
      });

      it("reports drift on read, refuses an update over it, and deletes only its own values", async () => {
        const fqdn = `drift.${prefix}.${ZONE}`;
        const raw = { zone: ZONE, name: `drift.${prefix}`, type: "A", values: ["192.0.2.10"], server: backend.server() };
        const { id, outs } = await create(raw);
        await server().api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", ttl: 300, changetype: "REPLACE", records: [
          { content: "192.0.2.10", disabled: false }, { content: "192.0.2.11", disabled: false }] }] });
        const read = await provider.read!(id, outs);
        assert.deepStrictEqual(read.props!.values, ["192.0.2.10", "192.0.2.11"]);
        assert.strictEqual(read.props!.ttl, 300);

        const news = await checked({ ...raw, values: ["192.0.2.12"] });
        await rejects(provider.update!(id, outs, news), "ERR_DNS_CONFLICT", /changed outside Pulumi.*192\.0\.2\.11.*pulumi refresh/, []);
        assert.deepStrictEqual(await served(fqdn, "A"), ["192.0.2.10", "192.0.2.11"]);

        await provider.delete!(id, outs);
        assert.deepStrictEqual(await served(fqdn, "A"), ["192.0.2.11"], "the value someone else added stays");
        await server().api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", changetype: "DELETE" }] });
      });
    });
  }

  it("rejects a wrong PowerDNS API key clearly, without the key in the message", async () => {
    const wrongKey = "wrong-" + crypto.randomBytes(12).toString("hex");
    const raw = { zone: ZONE, name: "nokey", type: "A", values: ["192.0.2.1"], server: { kind: "powerdns", url: server().apiUrl, apiKey: wrongKey, allowPlainHttp: true } };
    await rejects(create(raw), "ERR_DNS_UPDATE", /API key was rejected \(HTTP 401\)/, [wrongKey, server().apiKey]);
    assert.deepStrictEqual(await served(`nokey.${ZONE}`, "A"), []);
  });

  it("rejects a wrong TSIG secret and an unknown TSIG key clearly, without the secret in the message", async () => {
    const wrongSecret = crypto.randomBytes(32).toString("base64");
    const base = { zone: ZONE, name: "badsig", type: "A", values: ["192.0.2.1"] };
    await rejects(create({ ...base, server: { kind: "rfc2136", host: "127.0.0.1", port: server().dnsPort, tsig: { ...KEY256, secret: wrongSecret } } }),
      "ERR_DNS_UPDATE", /did not create badsig\.example\.test A: (REFUSED|NOTAUTH).*TSIG key "launchpad-256"|BADSIG/, [wrongSecret, KEY256.secret]);
    await rejects(create({ ...base, server: { kind: "rfc2136", host: "127.0.0.1", port: server().dnsPort, tsig: { ...KEY256, name: "nobody-knows-me" } } }),
      "ERR_DNS_UPDATE", /did not create badsig\.example\.test A: (REFUSED|NOTAUTH).*TSIG key "nobody-knows-me"|BADKEY/, [KEY256.secret]);
    assert.deepStrictEqual(await served(`badsig.${ZONE}`, "A"), []);
  });

  it("loses nothing when 20 records in one zone are created at once through both backends", async () => {
    const raws = Array.from({ length: 20 }, (_, i) => ({
      zone: ZONE, name: `burst-${i}`, type: "A", values: [`192.0.2.${100 + i}`],
      server: backends[i % backends.length].server(),
    }));
    const created = await Promise.all(raws.map(create));
    for (let i = 0; i < raws.length; i++) assert.deepStrictEqual(await served(`burst-${i}.${ZONE}`, "A"), [`192.0.2.${100 + i}`]);
    await Promise.all(created.map(({ id, outs }) => provider.delete!(id, outs)));
    for (let i = 0; i < raws.length; i++) assert.deepStrictEqual(await served(`burst-${i}.${ZONE}`, "A"), []);
  });
});
