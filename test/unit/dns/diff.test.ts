import * as assert from "assert";
import { DIFF_TABLE, diffDnsRecord } from "../../../provider/dns/diff";
import { UNKNOWN } from "../../../provider/dns/schema";

const server = { kind: "powerdns", url: "https://dns.example.com", apiKey: "k", serverId: "localhost" };
const olds = { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], ttl: 300, overwrite: false, server, fqdn: "app.example.com", schemaVersion: 1 };
const news = { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], ttl: 300, overwrite: false, server };

describe("DnsRecord diff", () => {
  it("sees no change when only outputs (fqdn, schemaVersion) differ from inputs", () => {
    assert.deepStrictEqual(diffDnsRecord(olds, news), { changes: false, replaces: [], deleteBeforeReplace: false, changed: [] });
  });

  it("ignores key order inside server", () => {
    const reordered = { serverId: "localhost", apiKey: "k", url: "https://dns.example.com", kind: "powerdns" };
    assert.strictEqual(diffDnsRecord(olds, { ...news, server: reordered }).changes, false);
  });

  it("updates values (as a set), ttl, overwrite and server credentials in place", () => {
    assert.deepStrictEqual(diffDnsRecord({ ...olds, values: ["192.0.2.2", "192.0.2.1"] }, { ...news, values: ["192.0.2.1", "192.0.2.2"] }).changes, false);
    for (const [field, value] of [["values", ["192.0.2.9"]], ["ttl", 60], ["overwrite", true], ["server", { ...server, apiKey: "rotated" }]] as const) {
      const d = diffDnsRecord(olds, { ...news, [field]: value });
      assert.deepStrictEqual([d.changes, d.replaces, d.changed], [true, [], [field]], field);
    }
  });

  it("replaces on zone, name, type and server kind; deletes first when the new record claims the same set", () => {
    const byName = diffDnsRecord(olds, { ...news, name: "web" });
    assert.deepStrictEqual([byName.replaces, byName.deleteBeforeReplace], [["name"], false]);
    const byType = diffDnsRecord(olds, { ...news, type: "AAAA", values: ["2001:db8::1"] });
    assert.deepStrictEqual([byType.replaces, byType.deleteBeforeReplace], [["type"], false]);
    const toCname = diffDnsRecord(olds, { ...news, type: "CNAME", values: ["lb.example.com"] });
    assert.deepStrictEqual([toCname.replaces, toCname.deleteBeforeReplace], [["type"], true], "a CNAME cannot sit beside the old A");
    const sameFqdnOtherZone = diffDnsRecord(olds, { ...news, zone: "app.example.com", name: "@" });
    assert.deepStrictEqual([sameFqdnOtherZone.replaces, sameFqdnOtherZone.deleteBeforeReplace], [["zone"], true]);
    const kind = diffDnsRecord(olds, { ...news, server: { kind: "rfc2136", host: "192.0.2.53", port: 53, tsig: { name: "k", algorithm: "hmac-sha256", secret: "AAAA" } } });
    assert.deepStrictEqual([kind.replaces, kind.deleteBeforeReplace], [["server.kind"], true]);
    assert.strictEqual(diffDnsRecord(olds, { ...news, name: "app.example.com" }).changes, false, "the same fqdn written absolutely is no change");
  });

  it("treats unknown values as changes without guessing a replacement", () => {
    const d = diffDnsRecord(olds, { ...news, values: [UNKNOWN] });
    assert.deepStrictEqual([d.changes, d.replaces], [true, []]);
    const n = diffDnsRecord(olds, { ...news, name: UNKNOWN });
    assert.deepStrictEqual([n.changes, n.replaces, n.deleteBeforeReplace], [true, ["name"], false]);
  });

  it("declares every field it diffs", () => {
    assert.deepStrictEqual(Object.keys(DIFF_TABLE).sort(), ["name", "overwrite", "server", "server.kind", "ttl", "type", "values", "zone"]);
  });

  it("sees no change against state written before ttl and overwrite were stored (their defaults then)", () => {
    const { ttl: _ttl, overwrite: _overwrite, ...older } = olds;
    assert.strictEqual(diffDnsRecord(older, news).changes, false);
    assert.deepStrictEqual(diffDnsRecord(older, { ...news, ttl: 60 }).changed, ["ttl"]);
    assert.deepStrictEqual(diffDnsRecord(older, { ...news, overwrite: true }).changed, ["overwrite"]);
  });

  it("deletes a CNAME before putting another type at its name", () => {
    const fromCname = diffDnsRecord({ ...olds, type: "CNAME", values: ["lb.example.com"] }, news);
    assert.deepStrictEqual([fromCname.replaces, fromCname.deleteBeforeReplace], [["type"], true]);
  });
});
