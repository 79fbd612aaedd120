// What a ProxmoxClient learns and tolerates while it waits on tasks, against the sandbox on loopback,
// in-process so that mutation testing reaches provider/proxmox/client.ts: the node's history read once and
// read right (whole seconds, successes only), the create+start pair's expectation, the 400 a status read
// can get right after a fork (and only then), a failed task's context, and which dispatches are resent.
// Each test has a sandbox of its own: the history is read once per endpoint and node in a process.
// Each sandbox listens on a loopback address of its own (127.41.0.N): an ephemeral port alone can come back
// in the same mocha worker, whose earlier sandbox on it would already have taught this process its tasks.
import { strict as assert } from "assert";
import { startSandbox, type Sandbox } from "../../sandbox";
import { isLaunchpadError, type PveHttpError, type PveTaskError } from "../../provider/errors";
import { ProxmoxClient, taskDurations } from "../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../provider/retry";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const FAST_RETRY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 5, maxDelayMs: 20 };

describe("ProxmoxClient waits: history, expectations, early status reads (sandbox, in process)", function () {
  this.timeout(60_000);
  const opened: Array<{ sandbox: Sandbox; client: ProxmoxClient }> = [];
  let worlds = 0;
  async function world(taskDurationsMs: Record<string, number>): Promise<{ sandbox: Sandbox; client: ProxmoxClient; node: string; kind: (type: string) => string }> {
    const sandbox = await startSandbox({ taskDurationsMs, host: `127.41.0.${++worlds}` });
    const client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint }, { retry: FAST_RETRY });
    opened.push({ sandbox, client });
    const kind = (type: string) => `${client.connection.endpoint}|${type}`;
    // The premise of every test here: a node this process has learned nothing of.
    assert.equal(taskDurations.count(kind("vzcreate")), 0, `${sandbox.endpoint} is new to this process`);
    return { sandbox, client, node: sandbox.nodes[0], kind };
  }
  afterEach(async () => {
    for (const { sandbox, client } of opened.splice(0)) {
      await client.close();
      try {
        assert.deepEqual(sandbox.schemaViolations, [], "the client sent a request the official schema rejects");
      } finally {
        await sandbox.close();
      }
    }
  });
  const createParams = (vmid: number, extra: Record<string, unknown> = {}) => ({ vmid, ostemplate: TEMPLATE, hostname: `t${vmid}`, rootfs: "local-lvm:4", ...extra });
  const historyReads = (sandbox: Sandbox) => sandbox.requests.filter((r) => r.method === "GET" && /^\/nodes\/[^/]+\/tasks$/.test(r.path) && r.params?.source === undefined);
  /** Dispatched without the client's wait (which would learn them), then left to end. */
  async function endedUnwatched(sandbox: Sandbox, client: ProxmoxClient, node: string, calls: Array<() => Promise<unknown>>): Promise<void> {
    for (const call of calls) await call();
    const running = async () => (await client.get<Array<{ status?: string }>>(`/nodes/${node}/tasks`, { source: "active" })).length;
    while ((await running()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  it("learns a type's duration from the history in whole seconds, in one read per node, and not again for a type it lacks", async () => {
    const { sandbox, client, node, kind } = await world({ vzcreate: 1_300 });
    await endedUnwatched(sandbox, client, node, [4000, 4001].map((vmid) => () => client.post(`/nodes/${node}/lxc`, createParams(vmid))));
    sandbox.resetRequests();
    await client.learnTaskDurations(node, "vzcreate");
    assert.deepEqual(historyReads(sandbox).map((r) => r.params), [{ limit: "100" }]);
    const learned = taskDurations.expectation(kind("vzcreate"));
    // 1.3 s, read from whole-second start and end times: 1 or 2 s, never milliseconds or a sum.
    assert.ok(learned && learned.expectedMs >= 1_000 && learned.expectedMs <= 2_000, JSON.stringify(learned));
    assert.ok(learned!.spreadMs >= 1_000, "known only to within a second");
    // The node's history was read: a type it holds none of is not read for again.
    await client.learnTaskDurations(node, "vzdestroy");
    await client.learnTaskDurations(node, "vzcreate");
    assert.equal(historyReads(sandbox).length, 1);
    assert.equal(taskDurations.count(kind("vzdestroy")), 0);
  });

  it("a wait of a type not known yet reads the history once, after its first status probe", async () => {
    const { sandbox, client, node } = await world({ vzcreate: 1_500 });
    await client.runTask("POST", `/nodes/${node}/lxc`, createParams(4010));
    const reads = sandbox.requests.filter((r) => r.method === "GET" && /\/tasks(\/[^/]+\/status)?$/.test(r.path));
    const firstHistory = reads.findIndex((r) => r.params?.source === undefined && r.path.endsWith("/tasks"));
    const statusProbes = reads.filter((r) => r.path.endsWith("/status")).length;
    assert.ok(statusProbes >= 2, `the task ran across probes (${statusProbes})`);
    assert.equal(historyReads(sandbox).length, 1, "one history read for the whole wait");
    assert.ok(firstHistory > 0 && reads[firstHistory - 1].path.endsWith("/status"), "after the first probe");
  });

  it("expects a create with start=1 from the pair once seen, else from the sum of its two tasks", async () => {
    const { sandbox, client, node, kind } = await world({ vzcreate: 1_200, vzstart: 1_100 });
    assert.equal(client.chainExpectation("vzcreate", "vzstart"), undefined, "nothing known of either");
    await endedUnwatched(sandbox, client, node, [
      () => client.post(`/nodes/${node}/lxc`, createParams(4020)),
    ]);
    await endedUnwatched(sandbox, client, node, [() => client.post(`/nodes/${node}/lxc/4020/status/start`)]);
    await client.learnTaskDurations(node, "vzcreate");
    const [create, start] = [taskDurations.expectation(kind("vzcreate"))!, taskDurations.expectation(kind("vzstart"))!];
    assert.ok(create && start, "both learned from the history");
    assert.deepEqual(client.chainExpectation("vzcreate", "vzstart"), { expectedMs: create.expectedMs + start.expectedMs, spreadMs: create.spreadMs + start.spreadMs });
    taskDurations.observe(`${kind("vzcreate")}>vzstart`, 2_600, 100);
    const pair = client.chainExpectation("vzcreate", "vzstart")!;
    assert.equal(pair.expectedMs, 2_600, "the pair as seen, not the sum");
  });

  it("tolerates a status read's 400 only right after the fork: later it is the error, and a 500 is never waited out", async () => {
    const { sandbox, client, node } = await world({ vzcreate: 200 });
    // A running task whose status never becomes readable: given up once the grace after dispatch (10 s) is over.
    sandbox.faults.taskStatusNotReadyMs = 60_000;
    sandbox.faults.task({ type: "vzcreate", delayMs: 15_000, count: 1 });
    const error = await client.runTask("POST", `/nodes/${node}/lxc`, createParams(4030)).catch((e) => e);
    assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"), String(error));
    assert.equal((error as PveHttpError).status, 400);
    sandbox.faults.taskStatusNotReadyMs = 0;

    // Another status a read can get is not "not readable yet": it ends the wait after the request's own retries.
    sandbox.resetRequests();
    const remove = sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 500, message: "got no answer" });
    const failed = await client.runTask("POST", `/nodes/${node}/lxc`, createParams(4031)).catch((e) => e);
    remove();
    assert.equal((failed as PveHttpError).status, 500, String(failed));
    const statusReads = sandbox.requests.filter((r) => r.path.endsWith("/status")).length;
    assert.equal(statusReads, 1 + FAST_RETRY.limit, "one read and its retries, not a wait");
  });

  it("a failed task's error carries its node, type and id", async () => {
    const { sandbox, client, node } = await world({ vzcreate: 50 });
    sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT 4040 - no space left", count: 1 });
    const error = (await client.runTask("POST", `/nodes/${node}/lxc`, createParams(4040)).catch((e) => e)) as PveTaskError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"), String(error));
    assert.deepEqual(error.context, { node, type: "vzcreate", id: "4040" });
  });

  it("resends an idempotent dispatch (a destroy) answered 500, never a create", async () => {
    const { sandbox, client, node } = await world({ vzcreate: 50, vzdestroy: 50 });
    await client.runTask("POST", `/nodes/${node}/lxc`, createParams(4050));
    sandbox.faults.endpoint({ method: "DELETE", path: "^/nodes/[^/]+/lxc/4050$", status: 500, message: "temporary failure", count: 1 });
    const destroyed = await client.runTask("DELETE", `/nodes/${node}/lxc/4050`, { purge: 1 }, { idempotent: true });
    assert.equal(destroyed.type, "vzdestroy");
    assert.equal(sandbox.containers().some((ct) => ct.vmid === 4050), false);

    sandbox.resetRequests();
    sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", status: 500, message: "temporary failure", count: 1 });
    const refused = await client.runTask("POST", `/nodes/${node}/lxc`, createParams(4051)).catch((e) => e);
    assert.equal((refused as PveHttpError).status, 500, String(refused));
    assert.equal(sandbox.requests.filter((r) => r.method === "POST" && r.path.endsWith("/lxc")).length, 1, "a create is sent once");
  });
});
