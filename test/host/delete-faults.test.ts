// Faults on the way out, through the real dynamic-provider host: a failed stop, shutdown or destroy
// task, a 5xx or a dropped connection on the DELETE. Each destroy must fail with a named error and
// keep the container in state (never swallow the failure); the next destroy, fault gone, converges
// with 0 containers left.
import { strict as assert } from "assert";
import { LaunchpadContainer } from "../../src/container";
import { startSandbox, type EndpointFault, type Sandbox, type TaskFault } from "../../sandbox";
import { TestEngine } from "../../devstack/engine";
import { TEMPLATE } from "../unit/container/fixtures";

const CELLS: Array<{ name: string; task?: TaskFault[]; endpoint?: EndpointFault; error: RegExp }> = [
  { name: "shutdown and stop tasks fail", task: [{ type: "vzshutdown", fail: "injected shutdown failure" }, { type: "vzstop", fail: "injected stop failure" }], error: /(shutdown|stop) failure/ },
  { name: "shutdown task fails", task: [{ type: "vzshutdown", fail: "injected shutdown failure" }], error: /shutdown failure/ },
  { name: "destroy task fails", task: [{ type: "vzdestroy", fail: "injected destroy failure" }], error: /destroy failure/ },
  { name: "DELETE answers 500", endpoint: { method: "DELETE", path: "^/nodes/[^/]+/lxc/\\d+$", status: 500, message: "injected 500" }, error: /500|injected/ },
  { name: "DELETE connection dropped before the server acted", endpoint: { method: "DELETE", path: "^/nodes/[^/]+/lxc/\\d+$", action: "drop-before" }, error: /socket|closed|network|ECONNRESET|other side|terminated/i },
];

describe("LaunchpadContainer delete under faults (real host)", function () {
  this.timeout(600_000);
  let sandbox: Sandbox;
  const engines: TestEngine[] = [];
  const table: string[] = [];

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 20, vzstart: 10, vzshutdown: 10, vzstop: 10, vzdestroy: 10 } });
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    await sandbox?.close();
    if (table.length) console.log(`\n  delete fault cells:\n${table.map((l) => `    ${l}`).join("\n")}\n  ${table.filter((l) => l.endsWith("pass")).length}/${CELLS.length} cells passing`);
  });

  for (const cell of CELLS) {
    it(`${cell.name}: destroy fails by name, keeps the container tracked, and the next destroy converges`, async () => {
      const engine = new TestEngine({
        project: "launchpad-faults", stack: cell.name.replace(/\W+/g, "-"),
        config: { "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint },
        secretConfig: { "launchpad:apiToken": sandbox.apiToken },
      });
      engines.push(engine);
      await engine.up(() => { new LaunchpadContainer("ct", { hostname: "fault-1", template: TEMPLATE, waitForIp: false, timeouts: { delete: 20 } }); });
      const vmid = engine.resource("ct")!.plainOutputs.vmid;
      // A fault that fires every time: retries cannot hide it.
      const removers = cell.task ? cell.task.map((t) => sandbox.faults.task(t)) : [sandbox.faults.endpoint(cell.endpoint!)];
      const remove = () => removers.forEach((r) => r());
      let failure: Error | undefined;
      try {
        failure = await engine.destroy().then(() => undefined, (e: Error) => e);
      } finally {
        remove();
      }
      assert.ok(failure, "a destroy that really failed must be an error");
      assert.match(failure.message, cell.error);
      assert.equal(engine.resource("ct")?.plainOutputs.vmid, vmid, "the container stays in state");
      assert.ok(sandbox.containers().some((c) => c.vmid === vmid), "and it still exists");
      await engine.destroy();
      assert.equal(sandbox.containers().filter((c) => c.vmid === vmid).length, 0, "0 orphans after the next destroy");
      assert.equal(engine.state.filter((r) => r.custom).length, 0);
      table.push(`${cell.name.padEnd(52)} pass`);
    });
  }
});
