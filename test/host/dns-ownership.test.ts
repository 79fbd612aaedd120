// DnsRecord's ownership rules through the real dynamic-provider host (not the hooks), on a real
// PowerDNS through both backends: refuse a different existing set, adopt an identical one,
// overwrite only on request, and delete only our own values.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { DnsRecord } from "../../src/dnsRecord";
import { TestEngine } from "../../devstack/engine";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";

const ZONE = "own.test";
const KEY: PdnsTsigKey = { name: "launchpad-own", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

describe("DnsRecord ownership through the real host", function () {
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
  const served = async (fqdn: string) => (await pdns!.query(fqdn, "A")).answers.map((a) => String((a as { data: unknown }).data)).sort();
  const seed = (fqdn: string, values: string[]) => pdns!.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `${fqdn}.`, type: "A", ttl: 300, changetype: "REPLACE", records: values.map((content) => ({ content, disabled: false })) }] });
  const newEngine = (stack: string) => {
    const engine = new TestEngine({ project: "launchpad-dns-own", stack });
    engines.push(engine);
    return engine;
  };

  for (const backend of backends) {
    describe(backend.label, () => {
      const record = (name: string, values: string[], overwrite?: boolean) => () => {
        new DnsRecord("rec", { zone: ZONE, name, type: "A", values, ttl: 90, server: backend.server(), ...(overwrite ? { overwrite } : {}) });
      };

      it("refuses someone else's different set, untouched; adopts an identical one", async () => {
        const name = `taken-${backend.label}`;
        await seed(`${name}.${ZONE}`, ["198.51.100.9"]);
        const engine = newEngine(`${name}-refuse`);
        const refused = await engine.up(record(name, ["192.0.2.50"])).then(() => undefined, (e: Error) => e);
        assert.ok(refused, "the up fails");
        assert.match(refused.message, /already exists with 198\.51\.100\.9.*overwrite: true/);
        assert.deepEqual(await served(`${name}.${ZONE}`), ["198.51.100.9"], "untouched after the refusal");
        assert.equal(engine.resource("rec"), undefined);

        const adopted = await engine.up(record(name, ["198.51.100.9"]));
        assert.deepEqual(adopted.operations.map((o) => o.op), ["create"]);
        assert.deepEqual(await served(`${name}.${ZONE}`), ["198.51.100.9"]);
        await engine.destroy();
        assert.deepEqual(await served(`${name}.${ZONE}`), []);
      });

      it("overwrites someone else's set only with overwrite: true", async () => {
        const name = `over-${backend.label}`;
        await seed(`${name}.${ZONE}`, ["198.51.100.7"]);
        const engine = newEngine(`${name}`);
        await engine.up(record(name, ["192.0.2.60"], true));
        assert.deepEqual(await served(`${name}.${ZONE}`), ["192.0.2.60"]);
        await engine.destroy();
        assert.deepEqual(await served(`${name}.${ZONE}`), []);
      });

      it("deletes only its own values: a value someone added stays", async () => {
        const name = `mine-${backend.label}`;
        const engine = newEngine(`${name}`);
        await engine.up(record(name, ["192.0.2.10"]));
        await seed(`${name}.${ZONE}`, ["192.0.2.10", "192.0.2.11"]);
        await engine.destroy();
        assert.deepEqual(await served(`${name}.${ZONE}`), ["192.0.2.11"], "the other value stays");
        assert.equal(engine.state.filter((r) => r.custom).length, 0);
      });
    });
  }
});
