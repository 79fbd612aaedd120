import * as assert from "assert";
import { checkDnsRecord, UNKNOWN } from "../../../provider/dns/schema";
import { parseValue, splitTxt } from "../../../provider/dns/rdata";

const powerdns = { kind: "powerdns", url: "https://dns.example.com:8081", apiKey: "k3y-value-secret" };
const rfc2136 = { kind: "rfc2136", host: "192.0.2.53", tsig: { name: "launchpad", secret: Buffer.alloc(32, 7).toString("base64") } };
const base = { zone: "Example.COM.", name: "app", type: "A", values: ["192.0.2.1"], server: powerdns };
const problems = (news: Record<string, unknown>) => checkDnsRecord(news).failures.map((f) => `${f.property}: ${f.reason}`);
const inputs = (news: Record<string, unknown>) => {
  const { inputs, failures } = checkDnsRecord(news);
  assert.deepStrictEqual(failures, []);
  return inputs;
};

describe("DnsRecord schema (check)", () => {
  it("fills defaults and normalizes zone, name and values", () => {
    const out = inputs({ ...base, values: ["192.0.2.9", "192.0.2.1"] });
    assert.strictEqual(out.zone, "example.com");
    assert.strictEqual(out.name, "app");
    assert.deepStrictEqual(out.values, ["192.0.2.1", "192.0.2.9"]);
    assert.strictEqual(out.ttl, 300);
    assert.strictEqual(out.overwrite, false);
    assert.deepStrictEqual(out.server, { ...powerdns, serverId: "localhost" });
    const rfc = inputs({ ...base, server: rfc2136 }).server as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.strictEqual(rfc.port, 53);
    assert.strictEqual(rfc.tsig.algorithm, "hmac-sha256");
  });

  it("takes relative, apex and absolute names and stores them relative", () => {
    assert.strictEqual(inputs({ ...base, name: "@" }).name, "@");
    assert.strictEqual(inputs({ ...base, name: "App.Example.com" }).name, "app");
    assert.strictEqual(inputs({ ...base, name: "app.example.com." }).name, "app");
    assert.strictEqual(inputs({ ...base, name: "example.com." }).name, "@");
    assert.strictEqual(inputs({ ...base, name: "_sip._tcp", type: "SRV", values: ["1 2 3 sip.example.com"] }).name, "_sip._tcp");
    assert.strictEqual(inputs({ ...base, name: "*.pr-12" }).name, "*.pr-12");
  });

  it("rejects bad names by field: label length, total length, characters, outside the zone", () => {
    assert.match(problems({ ...base, name: "a".repeat(64) })[0], /^name: label .* longer than 63/);
    assert.match(problems({ ...base, name: Array(60).fill("abcd").join(".") })[0], /^name: is 311 characters long; .* at most 253/);
    assert.match(problems({ ...base, name: "bad name" })[0], /^name: label "bad name" may hold only/);
    assert.match(problems({ ...base, name: "-lead" })[0], /^name: label "-lead"/);
    assert.match(problems({ ...base, name: "a..b" })[0], /^name: has an empty label/);
    assert.match(problems({ ...base, name: "app.example.org." })[0], /^name: "app.example.org." is not inside the zone example.com/);
    assert.match(problems({ ...base, name: "a.*" })[0], /^name: "\*" is allowed only as the first label/);
    assert.match(problems({ ...base, zone: "exa mple.com" })[0], /^zone: label/);
  });

  it("checks address families with node's own parser", () => {
    assert.deepStrictEqual(problems({ ...base, values: ["2001:db8::1"] }), ['values[0]: "2001:db8::1" is not an IPv4 address']);
    assert.deepStrictEqual(problems({ ...base, values: ["256.1.1.1"] }), ['values[0]: "256.1.1.1" is not an IPv4 address']);
    assert.deepStrictEqual(problems({ ...base, type: "AAAA", values: ["192.0.2.1"] }), ['values[0]: "192.0.2.1" is not an IPv6 address']);
    assert.deepStrictEqual(inputs({ ...base, type: "AAAA", values: ["2001:DB8:0:0:0:0:0:1"] }).values, ["2001:db8::1"]);
  });

  it("keeps CNAME to one value and off the apex", () => {
    assert.deepStrictEqual(problems({ ...base, type: "CNAME", values: ["a.example.net", "b.example.net"] }),
      ["values: a CNAME holds exactly one target (RFC 1034 §3.6.2)"]);
    assert.deepStrictEqual(problems({ ...base, name: "@", type: "CNAME", values: ["a.example.net"] }),
      ["name: a CNAME cannot be at the zone apex, where SOA and NS records live"]);
    assert.deepStrictEqual(inputs({ ...base, type: "CNAME", values: ["LB.Example.NET."] }).values, ["lb.example.net"]);
  });

  it("checks SRV and MX fields", () => {
    assert.deepStrictEqual(inputs({ ...base, type: "SRV", values: ["10 5 5060 SIP.example.com."] }).values, ["10 5 5060 sip.example.com"]);
    assert.deepStrictEqual(inputs({ ...base, type: "SRV", values: ["0 0 0 ."] }).values, ["0 0 0 ."]);
    assert.match(problems({ ...base, type: "SRV", values: ["10 5 70000 sip.example.com"] })[0], /^values\[0\]: .* numbers of 0-65535/);
    assert.match(problems({ ...base, type: "SRV", values: ["10 5 sip.example.com"] })[0], /priority weight port target/);
    assert.match(problems({ ...base, type: "SRV", values: ["1 2 3 bad_host!"] })[0], /^values\[0\]: target "bad_host!"/);
    assert.deepStrictEqual(inputs({ ...base, type: "MX", values: ["10 Mail.example.com"] }).values, ["10 mail.example.com"]);
    assert.match(problems({ ...base, type: "MX", values: ["mail.example.com"] })[0], /preference host/);
    assert.match(problems({ ...base, type: "MX", values: ["-1 mail.example.com"] })[0], /preference host/);
  });

  it("quotes TXT, splits long text into 255-byte strings, and limits quoted strings", () => {
    assert.deepStrictEqual(inputs({ ...base, type: "TXT", values: ['v=spf1 "quoted" \\ -all'] }).values, ['"v=spf1 \\"quoted\\" \\\\ -all"']);
    const long = "x".repeat(600);
    assert.deepStrictEqual(inputs({ ...base, type: "TXT", values: [long] }).values, [`"${"x".repeat(255)}" "${"x".repeat(255)}" "${"x".repeat(90)}"`]);
    assert.deepStrictEqual(inputs({ ...base, type: "TXT", values: ['"a b" "c\\"d"'] }).values, ['"a b" "c\\"d"']);
    assert.deepStrictEqual(inputs({ ...base, type: "TXT", values: ['"caf\\195\\169"'] }).values, ['"caf\\195\\169"']);
    assert.deepStrictEqual(inputs({ ...base, type: "TXT", values: ["café"] }).values, ['"caf\\195\\169"'], "UTF-8 bytes shown as \\DDD, as PowerDNS does");
    assert.match(problems({ ...base, type: "TXT", values: [`"${"y".repeat(256)}"`] })[0], /^values\[0\]: a quoted TXT string is 256 bytes long; each holds at most 255/);
    assert.match(problems({ ...base, type: "TXT", values: ['"open'] })[0], /unclosed quote/);
    assert.match(problems({ ...base, type: "TXT", values: ['"a" b'] })[0], /text outside quotes/);
  });

  it("never splits a UTF-8 character across TXT strings", () => {
    const strings = splitTxt("é".repeat(200)); // 400 bytes
    assert.deepStrictEqual(strings.map((s) => s.length), [254, 146]);
    assert.strictEqual(Buffer.concat(strings).toString("utf8"), "é".repeat(200));
  });

  it("checks ttl, values count, duplicates, type and server", () => {
    assert.deepStrictEqual(problems({ ...base, ttl: 0 }).map((p) => p.split(":")[0]), ["ttl"]);
    assert.deepStrictEqual(problems({ ...base, ttl: 2 ** 31 }).map((p) => p.split(":")[0]), ["ttl"]);
    assert.deepStrictEqual(problems({ ...base, values: [] }), ["values: needs at least one value"]);
    assert.deepStrictEqual(problems({ ...base, values: ["192.0.2.1", "192.0.2.1"] }), ["values[1]: is the same record as values[0]"]);
    assert.deepStrictEqual(problems({ ...base, type: "NS" }).map((p) => p.split(":")[0]), ["type"]);
    assert.deepStrictEqual(problems({ ...base, server: { ...powerdns, url: "ftp://x" } }).map((p) => p.split(":")[0]), ["server.url"]);
    assert.deepStrictEqual(problems({ ...base, server: { ...rfc2136, port: 70000 } }).map((p) => p.split(":")[0]), ["server.port"]);
    assert.deepStrictEqual(problems({ ...base, server: { ...rfc2136, tsig: { ...rfc2136.tsig, algorithm: "hmac-md5" } } }).map((p) => p.split(":")[0]), ["server.tsig.algorithm"]);
    assert.deepStrictEqual(problems({ ...base, server: { kind: "bind" } }).map((p) => p.split(":")[0]), ["server.kind"]);
  });

  it("never puts a secret into a failure", () => {
    const badSecret = "not base64 but secret!";
    const failures = problems({ ...base, server: { ...rfc2136, tsig: { ...rfc2136.tsig, secret: badSecret } } });
    assert.match(failures[0], /^server\.tsig\.secret: must be the key in base64/);
    assert.ok(!failures.join("\n").includes(badSecret));
    assert.ok(!problems({ ...base, name: "bad name", server: { ...powerdns, url: "nope" } }).join("\n").includes(powerdns.apiKey));
  });

  it("collects every problem at once", () => {
    const all = problems({ zone: "example.com", name: "bad name", type: "MX", values: ["x", "10 ok.example.com", "99999 y"], ttl: -1, server: { kind: "powerdns" } });
    assert.deepStrictEqual(all.map((p) => p.split(":")[0]).sort(), ["name", "server.apiKey", "server.url", "ttl", "values[0]", "values[2]"]);
  });

  it("skips values unknown during preview, and still rejects bad known ones beside them", () => {
    const { failures, inputs: out } = checkDnsRecord({ ...base, name: UNKNOWN, values: [UNKNOWN], server: { ...powerdns, apiKey: UNKNOWN } });
    assert.deepStrictEqual(failures, []);
    assert.strictEqual(out.name, UNKNOWN);
    assert.strictEqual(out.zone, "example.com");
    assert.deepStrictEqual(problems({ ...base, type: UNKNOWN, values: ["not-an-address"], ttl: 0 }).map((p) => p.split(":")[0]), ["ttl"]);
    assert.deepStrictEqual(problems({ ...base, zone: UNKNOWN, name: "bad name" }), [], "a name cannot be judged without its zone");
  });

  it("parses values PowerDNS writes (absolute names, quoted TXT) into the same canonical form", () => {
    assert.deepStrictEqual(parseValue("MX", "10 mail.example.com."), { value: "10 mail.example.com", wire: { preference: 10, exchange: "mail.example.com" } });
    assert.strictEqual((parseValue("TXT", '"v=spf1 -all"') as { value: string }).value, '"v=spf1 -all"');
  });
});

describe("DnsRecord schema (check): server fields and preview", () => {
  const secret = Buffer.alloc(32, 7).toString("base64");
  const tsigSecret = (value: string) => problems({ ...base, server: { ...rfc2136, tsig: { ...rfc2136.tsig, secret: value } } });

  it("takes a TSIG secret only as whole base64", () => {
    assert.deepStrictEqual(tsigSecret(secret), []);
    assert.deepStrictEqual(tsigSecret(`${secret}\n`), [], "as pasted from tsig-keygen or a file, with its newline");
    for (const bad of ["!!!!" + secret, secret + "!!!!", "AAAAA"]) {
      assert.deepStrictEqual(tsigSecret(bad).map((p) => p.split(":")[0]), ["server.tsig.secret"], bad);
    }
  });

  it("refuses a PowerDNS URL that is no URL, holds credentials, or is plain http without the opt-in", () => {
    assert.deepStrictEqual(problems({ ...base, server: { ...powerdns, url: "nope" } }),
      ["server.url: must be the http(s) URL of the PowerDNS webserver, e.g. https://dns.example.com:8081"]);
    for (const url of ["https://admin:pw@dns.example.com", "https://admin@dns.example.com", "https://:pw@dns.example.com"]) {
      const found = problems({ ...base, server: { ...powerdns, url } });
      assert.deepStrictEqual(found, ["server.url: must not hold credentials (user:password@): PowerDNS takes `apiKey`"], url);
      assert.ok(!found.join("").includes("pw"));
    }
    assert.deepStrictEqual(problems({ ...base, server: { ...powerdns, url: "http://dns.example.com:8081" } }),
      ["server.url: is plain http://, which sends the API key in clear: use https://, or set `allowPlainHttp: true` for a loopback or trusted network"]);
    assert.deepStrictEqual(problems({ ...base, server: { ...powerdns, url: "http://127.0.0.1:8081", allowPlainHttp: true } }), []);
  });

  it("names unknown fields, and passes the engine's own __provider and fields left unset", () => {
    assert.deepStrictEqual(problems({ ...base, zonee: "example.com" }).map((p) => p.split(":")[0]), ["zonee"]);
    assert.deepStrictEqual(problems({ ...base, __provider: "urn:pulumi:provider", comment: undefined, note: null }), []);
  });

  it("reports a zone of the wrong type by field, without failing on it", () => {
    assert.deepStrictEqual(problems({ ...base, zone: 42 }).map((p) => p.split(":")[0]), ["zone"]);
  });

  it("keeps a value of the longest allowed size", () => {
    const longest = "t".repeat(4096);
    const values = inputs({ ...base, type: "TXT", values: [longest] }).values as string[];
    assert.strictEqual(values.length, 1);
    assert.strictEqual(values[0].split('" "').length, 17, "4096 bytes in 255-byte strings");
  });

  it("in preview, keeps unknown fields unknown and skips rules that need them", () => {
    const { failures, inputs: out } = checkDnsRecord({ ...base, type: UNKNOWN, ttl: UNKNOWN, overwrite: UNKNOWN });
    assert.deepStrictEqual(failures, []);
    assert.deepStrictEqual([out.type, out.ttl, out.overwrite], [UNKNOWN, UNKNOWN, UNKNOWN]);
    assert.deepStrictEqual(problems({ ...base, zone: UNKNOWN, name: "@", type: "CNAME", values: ["lb.example.net"] }), [],
      "whether a CNAME is at the apex cannot be known without the zone");
    assert.deepStrictEqual(problems({ ...base, server: { ...powerdns, url: UNKNOWN } }), [], "a server with one field unknown is not judged");
  });
});
