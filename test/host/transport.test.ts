// Transport through the real dynamic-provider host: a plain-http Proxmox endpoint, wherever it comes
// from, and a plain-http PowerDNS URL without the opt-in, are refused in check, naming the field,
// before any request.
import { strict as assert } from "assert";
import * as http from "http";
import { ProxmoxPermission } from "../../src/acl";
import { LaunchpadContainer } from "../../src/container";
import { DnsRecord } from "../../src/dnsRecord";
import { startSandbox, type Sandbox } from "../../sandbox";
import { EngineError, TestEngine } from "../../devstack/engine";
import { TEMPLATE } from "../unit/container/fixtures";

describe("plain-HTTP endpoints carrying credentials (real host)", function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let listener: http.Server;
  let hits = 0;
  const engines: TestEngine[] = [];

  before(async () => {
    sandbox = await startSandbox();
    // Stands in for any plain-http server: counts what reaches it.
    listener = http.createServer((_req, res) => { hits++; res.end("{}"); });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", () => resolve()));
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    listener?.close();
    await sandbox?.close();
  });

  const plainUrl = () => `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
  const checkFailures = async (engine: TestEngine, program: () => void) => {
    engines.push(engine);
    const error = await engine.up(program).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EngineError, String(error));
    return error.failures.flatMap((f) => f.checkFailures ?? []);
  };

  it("refuses http:// for Proxmox from stack config, the environment, or a resource's connection", async () => {
    const before = sandbox.requests.length;
    const token = sandbox.apiToken;
    const cases: Array<[string, TestEngine, Record<string, unknown>]> = [
      ["launchpad:endpoint", new TestEngine({ stack: "cfg", config: { "launchpad:endpoint": plainUrl() }, secretConfig: { "launchpad:apiToken": token } }), {}],
      ["PROXMOX_VE_ENDPOINT", new TestEngine({ stack: "env", env: { PROXMOX_VE_ENDPOINT: plainUrl(), PROXMOX_VE_API_TOKEN: token } }), {}],
      ["connection.endpoint", new TestEngine({ stack: "own" }), { connection: { endpoint: plainUrl(), apiToken: token } }],
    ];
    for (const [field, engine, extra] of cases) {
      const failures = await checkFailures(engine, () => {
        new LaunchpadContainer("ct", { hostname: "plain-1", template: TEMPLATE, ...extra });
        new ProxmoxPermission("perm", { path: "/vms/100", user: "alice@pve", ...extra });
      });
      const named = failures.filter((f) => f.property === field);
      assert.equal(named.length, 2, `${field}: ${JSON.stringify(failures)}`);
      for (const f of named) assert.match(f.reason, /in clear/);
      assert.equal(engine.hostCalls.Create, 0);
    }
    assert.equal(sandbox.requests.length, before, "no request reached a Proxmox endpoint");
    assert.equal(hits, 0, "nothing reached the plain-http endpoint");
  });

  it("refuses a plain-http PowerDNS URL without allowPlainHttp, and uses it with", async () => {
    const server = { kind: "powerdns" as const, url: plainUrl(), apiKey: "pdns-key-123" };
    const failures = await checkFailures(new TestEngine({ stack: "dns" }), () => {
      new DnsRecord("rec", { zone: "plain.test", name: "a", type: "A", values: ["192.0.2.1"], server });
    });
    assert.deepEqual(failures.map((f) => f.property), ["server.url"]);
    assert.match(failures[0].reason, /allowPlainHttp/);
    assert.equal(hits, 0);
    const optedIn = new TestEngine({ stack: "dns-opt-in" });
    const error = await checkFailures(optedIn, () => {
      new DnsRecord("rec", { zone: "plain.test", name: "a", type: "A", values: ["192.0.2.1"], server: { ...server, allowPlainHttp: true } });
    }).catch((e: unknown) => e);
    assert.ok(hits > 0, `with the opt-in the request is sent (${String(error)})`);
  });
});
