import * as assert from "assert";
import { checkDnsRecord } from "../../../provider/dns/schema";
import { nameProblems, qualify } from "../../../provider/dns/names";
import { parseValue, sameSet, valueFromWire } from "../../../provider/dns/rdata";

const server = { kind: "powerdns", url: "https://dns.example.com:8081", apiKey: "k3y" };
const base = { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], server };
const problems = (news: Record<string, unknown>) => checkDnsRecord(news).failures.map((f) => `${f.property}: ${f.reason}`);
const value = (type: Parameters<typeof parseValue>[0], text: string) => {
  const parsed = parseValue(type, text);
  assert.ok(!("problem" in parsed), `${type} ${JSON.stringify(text)}: ${"problem" in parsed ? parsed.problem : ""}`);
  return parsed.value;
};
const problem = (type: Parameters<typeof parseValue>[0], text: string) => {
  const parsed = parseValue(type, text);
  assert.ok("problem" in parsed, `${type} ${JSON.stringify(text)} was accepted as ${"value" in parsed ? parsed.value : ""}`);
  return parsed.problem;
};

describe("DnsRecord names and record data", () => {
  it("takes names and zones up to the DNS limits, and not one character more", () => {
    const label63 = "a".repeat(63);
    assert.deepStrictEqual(nameProblems(label63), []);
    assert.match(nameProblems("a".repeat(64))[0], /^label "aaaaaaaaaaaaaaaaaaaa\.\.\." is longer than 63/);
    const name253 = [label63, label63, label63, "a".repeat(61)].join(".");
    assert.strictEqual(name253.length, 253);
    assert.deepStrictEqual(nameProblems(name253), []);
    assert.match(nameProblems(name253 + "a")[0], /^is 254 characters long/);
    assert.deepStrictEqual(nameProblems(""), ["must not be empty"]);
    assert.deepStrictEqual(problems({ ...base, zone: "" }), ["zone: must not be empty"]);
  });

  it("trims what users paste around zones, names and values", () => {
    const { inputs, failures } = checkDnsRecord({ ...base, zone: " Example.COM. ", name: " App ", values: [" 192.0.2.1 "] });
    assert.deepStrictEqual(failures, []);
    assert.deepStrictEqual([inputs.zone, inputs.name, inputs.values], ["example.com", "app", ["192.0.2.1"]]);
    assert.strictEqual(value("TXT", ' "v=spf1 -all" '), '"v=spf1 -all"', "a quoted TXT value stays quoted strings");
  });

  it("keeps names inside the zone at a label boundary: notexample.com is not in example.com", () => {
    assert.deepStrictEqual(problems({ ...base, name: "app.notexample.com." }), ['name: "app.notexample.com." is not inside the zone example.com']);
    assert.strictEqual(qualify("notexample.com", "example.com"), "notexample.com.example.com", "relative, as it is not the zone's name");
  });

  it("takes an empty name as the apex, like @", () => {
    assert.strictEqual(qualify("", "example.com"), "example.com");
    assert.strictEqual(checkDnsRecord({ ...base, name: "" }).inputs.name, "@");
  });

  it("refuses a bad CNAME target or mail host, naming which", () => {
    assert.match(problem("CNAME", "bad host!"), /^target "bad host!" label "bad host!" may hold only/);
    assert.match(problem("MX", "10 bad_host!"), /^mail host "bad_host!" label/);
    assert.strictEqual(problem("CNAME", "-a.b-"), 'target "-a.b-" label "-a" may hold only letters, digits, "-" and "_", and must not start or end with "-", ' +
      'label "b-" may hold only letters, digits, "-" and "_", and must not start or end with "-"');
  });

  it("reads MX and SRV fields exactly: whole numbers of 0-65535, the right count of fields, any spacing", () => {
    assert.strictEqual(value("MX", "10   mail.example.com"), "10 mail.example.com");
    assert.strictEqual(value("MX", "65535 mail.example.com"), "65535 mail.example.com");
    for (const bad of ["junk 10 mail.example.com", "10 mail.example.com junk", "1e3 mail.example.com", "65536 mail.example.com"]) problem("MX", bad);
    assert.strictEqual(value("SRV", "10  50 \t 5060   sip.example.com"), "10 50 5060 sip.example.com");
    assert.strictEqual(value("SRV", "65535 65535 65535 sip.example.com"), "65535 65535 65535 sip.example.com");
    for (const bad of ["1 10 5 5060 sip.example.com", "10 5 5060 sip.example.com x", "10 5 0x50 sip.example.com"]) problem("SRV", bad);
  });

  it("reads TXT escapes as zone files do, and refuses broken ones", () => {
    assert.strictEqual(value("TXT", '"\\x123"'), '"x123"', "a backslash before a non-digit escapes that character only");
    assert.strictEqual(value("TXT", '"\\255"'), '"\\255"');
    assert.strictEqual(problem("TXT", '"\\256"'), "TXT escape \\256 is not a byte");
    assert.strictEqual(problem("TXT", '"abc\\'), "TXT value ends with a lone backslash");
    assert.strictEqual(problem("TXT", '"a" b'), "TXT value has text outside quotes at position 5; quote every string or none");
  });

  it("shows TXT bytes as PowerDNS does: printable ASCII as is, control and high bytes as \\DDD", () => {
    assert.strictEqual(value("TXT", "tab\there ~"), '"tab\\009here ~"');
    assert.strictEqual(value("TXT", "\x7f"), '"\\127"');
  });

  it("compares values read from a server in their canonical form", () => {
    assert.strictEqual(valueFromWire("AAAA", "2001:DB8:0:0::1"), "2001:db8::1");
    assert.strictEqual(valueFromWire("SRV", { priority: 0, weight: 0, port: 0, target: "" }), "0 0 0 .");
  });

  it("treats record sets as sets: order and repeats do not matter, a missing or extra value does", () => {
    assert.ok(sameSet(["b", "a"], ["a", "b", "a"]));
    assert.ok(!sameSet(["a"], ["a", "b"]));
    assert.ok(!sameSet(["a", "b"], ["a"]));
    assert.ok(!sameSet(["a", "b"], ["a", "c"]));
  });
});
