// DnsRecord through the real dynamic-provider host (serialized provider, secrets, state), against
// a real PowerDNS: create, update in place, refresh after an out-of-band change, destroy.
import * as assert from "assert";
import * as crypto from "crypto";
import * as path from "path";
import { DnsRecord } from "../../src/dnsRecord";
import { EngineError, isSecretWire, TestEngine } from "../../devstack/engine";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";

const ZONE = "host.test";
const KEY: PdnsTsigKey = { name: "launchpad-host", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

describe("DnsRecord through the real dynamic-provider host", function () {
  this.timeout(180_000);
  let pdns: PowerDnsServer | undefined;
  let engine: TestEngine | undefined;

  before(async function () {
    pdns = await PowerDnsServer.startWithZone(this, ZONE, [KEY]);
  });
  after(async () => {
    await engine?.close();
    await pdns?.stop();
  });

  const served = async (fqdn: string, type: string) =>
    (await pdns!.query(fqdn, type)).answers.map((a) => String((a as { data: unknown }).data)).sort();

  it("creates, updates in place, refreshes drift and destroys, keeping secrets and paths out of state", async () => {
    const powerdns = pdns!.apiServer();
    const rfc2136 = pdns!.updateServer(KEY);
    const program = (apiValue: string, updateValue: string) => () => {
      const api = new DnsRecord("api", { zone: ZONE, name: "api", type: "A", values: [apiValue], server: powerdns });
      const upd = new DnsRecord("upd", { zone: ZONE, name: "upd", type: "A", values: [updateValue], ttl: 60, server: rfc2136 });
      return { apiFqdn: api.fqdn, updValues: upd.values };
    };
    engine = new TestEngine({ project: "launchpad-dns", stack: "host" });

    const created = await engine.up(program("192.0.2.1", "192.0.2.2"));
    assert.deepStrictEqual(created.operations.map((o) => `${o.name}:${o.op}`).sort(), ["api:create", "upd:create"]);
    assert.strictEqual(created.outputs.apiFqdn, `api.${ZONE}`);
    assert.strictEqual(engine.resource("api")!.id, `${ZONE}/api.${ZONE}/A`);
    assert.strictEqual(engine.resource("api")!.type, "pulumi-nodejs:dynamic/launchpad:DnsRecord");
    assert.deepStrictEqual(await served(`api.${ZONE}`, "A"), ["192.0.2.1"]);
    assert.deepStrictEqual(await served(`upd.${ZONE}`, "A"), ["192.0.2.2"]);

    const updated = await engine.up(program("192.0.2.11", "192.0.2.12"));
    assert.deepStrictEqual(updated.operations.map((o) => `${o.name}:${o.op}`).sort(), ["api:update", "upd:update"]);
    assert.deepStrictEqual(await served(`api.${ZONE}`, "A"), ["192.0.2.11"]);
    assert.deepStrictEqual(await served(`upd.${ZONE}`, "A"), ["192.0.2.12"]);

    // Someone changes both sets by hand; refresh must show it.
    for (const [name, content] of [["api", "198.51.100.1"], ["upd", "198.51.100.2"]]) {
      await pdns!.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${name}.${ZONE}.`, type: "A", ttl: 300, changetype: "REPLACE", records: [{ content, disabled: false }] }] });
    }
    const refreshed = await engine.refresh();
    assert.deepStrictEqual(refreshed.operations.map((o) => `${o.name}:${o.op}`).sort(), ["api:update", "upd:update"]);
    assert.deepStrictEqual(engine.resource("api")!.plainOutputs.values, ["198.51.100.1"]);
    assert.deepStrictEqual(engine.resource("upd")!.plainOutputs.values, ["198.51.100.2"]);
    assert.strictEqual(engine.resource("upd")!.plainOutputs.ttl, 300);

    // The next up puts the program's values back, in place.
    const restored = await engine.up(program("192.0.2.11", "192.0.2.12"));
    assert.deepStrictEqual(restored.operations.map((o) => `${o.name}:${o.op}`).sort(), ["api:update", "upd:update"]);
    assert.deepStrictEqual(await served(`api.${ZONE}`, "A"), ["192.0.2.11"]);
    assert.deepStrictEqual(await served(`upd.${ZONE}`, "A"), ["192.0.2.12"]);

    for (const r of engine.state.filter((x) => x.custom)) {
      assert.ok(isSecretWire(r.inputs.server) && isSecretWire(r.outputs.server), `${r.name}: server is stored as a secret`);
    }
    const again = await engine.up(program("192.0.2.11", "192.0.2.12"));
    assert.deepStrictEqual(again.operations.map((o) => `${o.name}:${o.op}`).sort(), ["api:same", "upd:same"], "an unchanged program changes nothing");

    const state = engine.stateText();
    const providers = engine.state.map((r) => r.provider ?? "").join("\n");
    assert.ok(providers.includes('require("pulumi-launchpad/provider/" + resourceModule)') || providers.includes("pulumi-launchpad/provider/"),
      "the serialized provider loads the installed package by name");
    for (const [what, text] of [["state", state], ["provider text", providers], ["host output", engine.hostLogs.join("\n")]]) {
      assert.ok(!text.includes(pdns!.apiKey), `${what} holds the PowerDNS API key`);
      assert.ok(!text.includes(KEY.secret), `${what} holds the TSIG secret`);
    }
    for (const [what, text] of [["state", state], ["provider text", providers]]) {
      assert.ok(!text.includes(path.resolve(__dirname, "../..")), `${what} holds the repository's absolute path`);
      assert.ok(!text.includes(pdns!.dir), `${what} holds a temp path`);
    }

    const destroyed = await engine.destroy();
    assert.deepStrictEqual(destroyed.operations.map((o) => `${o.name}:${o.op}`).sort(), ["api:delete", "upd:delete"]);
    assert.deepStrictEqual(await served(`api.${ZONE}`, "A"), []);
    assert.deepStrictEqual(await served(`upd.${ZONE}`, "A"), []);
    assert.strictEqual(engine.state.filter((r) => r.custom).length, 0);
  });

  it("stops bad input in check, by field, before any DNS traffic", async () => {
    const preview = new TestEngine({ project: "launchpad-dns", stack: "bad" });
    try {
      await assert.rejects(preview.preview(() => {
        new DnsRecord("bad", { zone: ZONE, name: "bad name", type: "A", values: ["2001:db8::1"], server: { kind: "powerdns", url: pdns!.apiUrl, apiKey: pdns!.apiKey, allowPlainHttp: true } });
      }), (error: unknown) => {
        assert.ok(error instanceof EngineError, String(error));
        const failures = error.failures.flatMap((f) => f.checkFailures ?? []).map((f) => f.property).sort();
        assert.deepStrictEqual(failures, ["name", "values[0]"]);
        assert.ok(!error.message.includes(pdns!.apiKey));
        return true;
      });
      assert.strictEqual(preview.hostCalls.Create, 0);
    } finally {
      await preview.close();
    }
  });
});
