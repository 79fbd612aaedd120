// The Proxmox client's task waits and request surface against the sandbox on loopback (memory backend,
// tasks of a few ms), in-process so that mutation testing reaches provider/proxmox/client.ts: parallel
// waits sharing one task-list read, the history read of a new endpoint, follow-up tasks, answers that are
// no task, ticket renewal, what onRequest reports, shared clients. Asserts what is sent and returned only.
import { strict as assert } from "assert";
import { startSandbox, type Sandbox } from "../../sandbox";
import { isLaunchpadError, PveHttpError, PveTaskError, PveTimeoutError } from "../../provider/errors";
import { encodeParams, ProxmoxClient, sharedClient, taskDurations, type RequestInfo } from "../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../provider/retry";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const FAST_RETRY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 5, maxDelayMs: 20 };

describe("ProxmoxClient tasks and surface against the sandbox", function () {
  let sandbox: Sandbox;
  let node: string;
  let nextVmid = 2000;
  const clients: ProxmoxClient[] = [];
  const connect = (options: ConstructorParameters<typeof ProxmoxClient>[1] = {}) => {
    const client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint }, { retry: FAST_RETRY, ...options });
    clients.push(client);
    return client;
  };
  const createParams = (vmid: number, extra: Record<string, unknown> = {}) => ({ vmid, ostemplate: TEMPLATE, hostname: `t${vmid}`, rootfs: "local-lvm:4", ...extra });
  const taskLists = () => sandbox.requests.filter((r) => r.method === "GET" && /^\/nodes\/[^/]+\/tasks$/.test(r.path));

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 30, vzstart: 10, vzdestroy: 5 } });
    node = sandbox.nodes[0];
  });
  beforeEach(() => {
    sandbox.faults.clear();
    sandbox.resetRequests();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  after(async () => {
    try {
      assert.deepEqual(sandbox?.schemaViolations ?? [], [], "the client sent a request the official schema rejects");
    } finally {
      await sandbox?.close();
    }
  });

  it("parallel waits on one node share the task-list reads, and each gets its own result", async () => {
    const client = connect();
    const vmids = [nextVmid++, nextVmid++, nextVmid++];
    const results = await Promise.all(vmids.map((vmid) => client.runTask("POST", `/nodes/${node}/lxc`, createParams(vmid))));
    assert.deepEqual(results.map((r) => r.id), vmids.map(String));
    assert.ok(results.every((r) => r.type === "vzcreate" && r.exitstatus === "OK" && r.warnings === 0 && r.node === node));
    const shared = taskLists().filter((r) => r.params?.source === "all" && r.params?.vmid === undefined);
    assert.ok(shared.length > 0, "a shared node task list was read");
    for (const vmid of vmids) assert.equal((await client.get<{ status: string }>(`/nodes/${node}/lxc/${vmid}/status/current`)).status, "stopped");
  });

  it("runTaskThen: a create without start=1 has no follow-up; with it, the vzstart's result", async () => {
    const client = connect();
    const alone = await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(nextVmid++), "vzstart");
    assert.equal(alone.task.type, "vzcreate");
    assert.equal(alone.next, undefined);
    assert.equal(alone.nextError, undefined);
    const vmid = nextVmid++;
    const both = await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(vmid, { start: 1 }), "vzstart");
    assert.equal(both.task.type, "vzcreate");
    assert.equal(both.next?.type, "vzstart");
    assert.equal(both.next?.id, String(vmid));
    assert.equal((await client.get<{ status: string }>(`/nodes/${node}/lxc/${vmid}/status/current`)).status, "running");
  });

  it("runTaskThen: a failed follow-up is returned with the task log, not thrown", async () => {
    const client = connect();
    sandbox.faults.task({ type: "vzstart", fail: "startup for container failed", count: 1 });
    const outcome = await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(nextVmid++, { start: 1 }), "vzstart");
    assert.equal(outcome.task.exitstatus, "OK");
    assert.ok(isLaunchpadError(outcome.nextError, "ERR_PVE_TASK"), String(outcome.nextError));
    assert.match((outcome.nextError as PveTaskError).exitstatus, /startup for container failed/);
  });

  it("runTaskThen: waits out a start seen running, and learns the create, the start and the pair once each, none longer than the wait", async () => {
    // A sandbox of its own: a new endpoint, so what is learned here is (almost always) all there is of it.
    const other = await startSandbox({ taskDurationsMs: { vzcreate: 40, vzstart: 300 } });
    try {
      const otherNode = other.nodes[0];
      const client = new ProxmoxClient({ endpoint: other.endpoint, apiToken: other.apiToken, fingerprint: other.fingerprint }, { retry: FAST_RETRY });
      clients.push(client);
      const kind = `${client.connection.endpoint}|vzcreate`;
      const nextKind = `${client.connection.endpoint}|vzstart`;
      const kinds = [kind, nextKind, `${kind}>vzstart`];
      // Known a little already (a create of 40 ms): no history read, which could see this create over and learn it too.
      taskDurations.observe(kind, 40);
      const learned = kinds.map((k) => taskDurations.count(k));
      const vmid = nextVmid++;
      const before = Date.now();
      const outcome = await client.runTaskThen("POST", `/nodes/${otherNode}/lxc`, createParams(vmid, { start: 1 }), "vzstart");
      const tookMs = Date.now() - before;
      assert.equal(outcome.nextError, undefined, String(outcome.nextError));
      assert.deepEqual(outcome.next && { type: outcome.next.type, id: outcome.next.id, exitstatus: outcome.next.exitstatus }, { type: "vzstart", id: String(vmid), exitstatus: "OK" });
      assert.equal((await client.get<{ status: string }>(`/nodes/${otherNode}/lxc/${vmid}/status/current`)).status, "running");
      assert.deepEqual(kinds.map((k) => taskDurations.count(k)), learned.map((n) => n + 1), "each learned once");
      const [create, start, pair] = kinds.map((k) => taskDurations.expectation(k)!.expectedMs);
      for (const ms of [create, start, pair]) assert.ok(ms > 0 && ms <= tookMs, `${ms} ms learned from a wait of ${tookMs} ms`);
      assert.ok(pair >= start && pair >= create, "the pair spans both tasks");
      // Alone on its node, the wait reads its own guest's tasks since its start, never the whole node's list.
      const lists = other.requests.filter((r) => r.method === "GET" && /^\/nodes\/[^/]+\/tasks$/.test(r.path) && r.params?.source === "all");
      assert.ok(lists.length > 0);
      assert.ok(lists.every((r) => r.params?.vmid === String(vmid) && r.params?.since !== undefined), JSON.stringify(lists.map((r) => r.params)));
    } finally {
      await other.close();
    }
  });

  it("runTaskThen: waits dispatched together share the node's task list, and a later wait alone reads its own guest's", async () => {
    const client = connect();
    const vmids = [nextVmid++, nextVmid++, nextVmid++];
    const upids = await Promise.all(vmids.map((vmid) => client.post<string>(`/nodes/${node}/lxc`, createParams(vmid, { start: 1 }))));
    sandbox.resetRequests();
    const outcomes = await Promise.all(upids.map((upid) => client.waitForTaskThen(upid, "vzstart")));
    assert.deepEqual(outcomes.map((o) => [o.task.id, o.next?.type, o.next?.id, o.nextError]), vmids.map((vmid) => [String(vmid), "vzstart", String(vmid), undefined]));
    assert.ok(taskLists().some((r) => r.params?.source === "all" && r.params?.vmid === undefined), "a shared node task list was read");
    sandbox.resetRequests();
    const vmid = nextVmid++;
    const alone = await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(vmid, { start: 1 }), "vzstart");
    assert.equal(alone.next?.id, String(vmid));
    assert.ok(taskLists().length > 0 && taskLists().every((r) => r.params?.vmid === String(vmid)), JSON.stringify(taskLists().map((r) => r.params)));
  });

  it("runTaskThen: a create that outlives its own timeout fails naming its UPID, even with the start's time left", async () => {
    const client = connect();
    sandbox.faults.task({ type: "vzcreate", delayMs: 1500, count: 1 });
    const vmid = nextVmid++;
    const upid = await client.post<string>(`/nodes/${node}/lxc`, createParams(vmid, { start: 1 }));
    const error = (await client.waitForTaskThen(upid, "vzstart", { timeoutMs: 100, nextTimeoutMs: 5000 }).catch((e) => e)) as PveTimeoutError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), String(error));
    assert.equal(error.message, `Proxmox task ${upid} (vzcreate ${vmid} on ${node}) did not finish within 100 ms; it may still be running`);
    assert.deepEqual(error.context, { upid, node });
    // It was still running: it ends, and so does the start it forks.
    const outcome = await client.waitForTaskThen(upid, "vzstart");
    assert.deepEqual([outcome.task.exitstatus, outcome.next?.exitstatus], ["OK", "OK"]);
  });

  it("runTaskThen: a start that outlives its timeout is the follow-up's error, the create's result kept", async () => {
    const client = connect();
    sandbox.faults.task({ type: "vzstart", delayMs: 1500, count: 1 });
    const vmid = nextVmid++;
    const outcome = await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(vmid, { start: 1 }), "vzstart", { nextTimeoutMs: 100 });
    assert.equal(outcome.task.exitstatus, "OK");
    assert.equal(outcome.next, undefined);
    const error = outcome.nextError as PveTimeoutError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), String(error));
    assert.match(error.message, new RegExp(`^Proxmox task UPID:${node}:[^ ]*:vzstart:${vmid}:[^ ]* \\(vzstart ${vmid} on ${node}\\) did not finish within 100 ms`));
    assert.match(String(error.context.upid), /:vzstart:/);
    assert.equal((await client.waitForTask(String(error.context.upid))).exitstatus, "OK", "it was still running, and ends");
  });

  it("runTaskThen: a task list answering 400 is asked again until the wait's deadline, which names the UPID", async () => {
    const client = connect();
    const vmid = nextVmid++;
    const upid = await client.post<string>(`/nodes/${node}/lxc`, createParams(vmid));
    sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks$", status: 400 });
    const error = (await client.waitForTaskThen(upid, "vzstart", { timeoutMs: 100, nextTimeoutMs: 150 }).catch((e) => e)) as PveTimeoutError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), String(error));
    assert.equal(error.message, `Proxmox task ${upid} (vzcreate ${vmid} on ${node}) did not finish within 250 ms; it may still be running`);
    assert.ok(taskLists().length > 1, "the list was asked again");
    sandbox.faults.clear();
    const outcome = await client.waitForTaskThen(upid, "vzstart");
    assert.equal(outcome.task.exitstatus, "OK", "the task itself was fine");
  });

  it("runTaskThen: a task list refused otherwise (403) fails the wait at once", async () => {
    const client = connect();
    const vmid = nextVmid++;
    const upid = await client.post<string>(`/nodes/${node}/lxc`, createParams(vmid));
    sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks$", status: 403, message: "Permission check failed (/nodes/pve1, Sys.Audit)" });
    const error = (await client.waitForTaskThen(upid, "vzstart").catch((e) => e)) as PveHttpError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP") && error.status === 403, String(error));
    assert.equal(taskLists().length, 1, "not asked again");
    sandbox.faults.clear();
    assert.equal((await client.waitForTaskThen(upid, "vzstart")).task.exitstatus, "OK", "the task itself was fine");
  });

  it("runTaskThen: a failed create throws with its exit status, the log's last lines and what it was", async () => {
    const client = connect();
    sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - out of space", count: 1 });
    const vmid = nextVmid++;
    const error = (await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(vmid, { start: 1 }), "vzstart").catch((e) => e)) as PveTaskError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"), String(error));
    assert.equal(error.exitstatus, "unable to create CT - out of space");
    assert.equal(error.log[error.log.length - 1], "TASK ERROR: unable to create CT - out of space");
    assert.deepEqual(error.context, { node, type: "vzcreate", id: String(vmid) });
  });

  it("a call that answers no UPID is a task error naming the answer", async () => {
    const client = connect();
    const vmid = nextVmid++;
    await client.runTask("POST", `/nodes/${node}/lxc`, createParams(vmid));
    await assert.rejects(client.runTask("PUT", `/nodes/${node}/lxc/${vmid}/config`, { cores: 2 }), (error: PveTaskError) =>
      isLaunchpadError(error, "ERR_PVE_TASK") && error.upid === "(none)" && /PUT \/nodes\/\w+\/lxc\/\d+\/config started no task: it answered null/.test(error.message));
    await assert.rejects(client.runTaskThen("PUT", `/nodes/${node}/lxc/${vmid}/config`, { cores: 3 }, "vzstart"), /started no task: it answered null/);
    assert.equal((await client.get<{ cores: number }>(`/nodes/${node}/lxc/${vmid}/config`)).cores, 3, "the PUT itself went through");
  });

  it("a failed task throws with its exit status and the log's last lines", async () => {
    const client = connect();
    sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - out of space", count: 1 });
    await assert.rejects(client.runTask("POST", `/nodes/${node}/lxc`, createParams(nextVmid++)), (error: PveTaskError) =>
      isLaunchpadError(error, "ERR_PVE_TASK") && error.exitstatus === "unable to create CT - out of space" && error.log.length > 0 && error.message.includes(error.log[error.log.length - 1]));
  });

  it("learns a task type's duration only from tasks that succeeded: a failed one would narrow the next windows to nothing", async () => {
    const client = connect();
    const kind = `${client.connection.endpoint}|vzcreate`;
    await client.runTask("POST", `/nodes/${node}/lxc`, createParams(nextVmid++));
    const learned = taskDurations.count(kind);
    assert.ok(learned > 0, "a vzcreate that succeeded is learned");
    sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - out of space", count: 1 });
    await assert.rejects(client.runTask("POST", `/nodes/${node}/lxc`, createParams(nextVmid++)), PveTaskError);
    assert.equal(taskDurations.count(kind), learned, "the failed create is not learned");
    const starts = taskDurations.count(`${client.connection.endpoint}|vzstart`);
    const pairs = taskDurations.count(`${kind}>vzstart`);
    sandbox.faults.task({ type: "vzstart", fail: "startup for container failed", count: 1 });
    const outcome = await client.runTaskThen("POST", `/nodes/${node}/lxc`, createParams(nextVmid++, { start: 1 }), "vzstart");
    assert.ok(outcome.nextError, "the start failed");
    assert.equal(taskDurations.count(kind), learned + 1, "the create before the failed start is learned");
    assert.equal(taskDurations.count(`${client.connection.endpoint}|vzstart`), starts, "the failed start is not");
    assert.equal(taskDurations.count(`${kind}>vzstart`), pairs, "nor the pair");
  });

  it("learns from a node's history only the tasks that succeeded", async () => {
    // A sandbox of its own: the history is read once per endpoint and node in a process.
    const other = await startSandbox({ taskDurationsMs: { vzcreate: 30 } });
    try {
      const otherNode = other.nodes[0];
      const raw = new ProxmoxClient({ endpoint: other.endpoint, apiToken: other.apiToken, fingerprint: other.fingerprint }, { retry: FAST_RETRY });
      clients.push(raw);
      const kind = `${raw.connection.endpoint}|vzcreate`;
      // Dispatched without the client's wait (which would learn them), then left to end.
      other.faults.task({ type: "vzcreate", fail: "unable to create CT - out of space", count: 2 });
      for (let vmid = 3000; vmid < 3005; vmid++) await raw.post(`/nodes/${otherNode}/lxc`, createParams(vmid));
      const ended = async () => (await raw.get<Array<{ type: string; status?: string }>>(`/nodes/${otherNode}/tasks`, { limit: 500 }))
        .filter((t) => t.type === "vzcreate" && t.status !== undefined);
      while ((await ended()).length < 5) await new Promise((resolve) => setTimeout(resolve, 20));
      const history = await ended();
      assert.equal(history.filter((t) => t.status === "unable to create CT - out of space").length, 2, "the history holds the failed creates");
      assert.equal(taskDurations.count(kind), 0);
      await raw.learnTaskDurations(otherNode, "vzcreate");
      assert.equal(taskDurations.count(kind), 3, "the three creates that succeeded are learned, the two that failed are not");
    } finally {
      await other.close();
    }
  });

  it("nodeTasks lists the node's tasks with the filter given", async () => {
    const client = connect();
    const vmid = nextVmid++;
    await client.runTask("POST", `/nodes/${node}/lxc`, createParams(vmid));
    sandbox.resetRequests();
    const tasks = await client.nodeTasks(node, { vmid, typefilter: "vzcreate" });
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].type, "vzcreate");
    assert.equal(tasks[0].id, String(vmid));
    assert.deepEqual(sandbox.requests[0].params, { source: "all", limit: "500", vmid: String(vmid), typefilter: "vzcreate" });
  });

  it("renews a ticket once it is older than ticketRenewAfterMs", async () => {
    const client = new ProxmoxClient({ endpoint: sandbox.endpoint, username: sandbox.username, password: sandbox.password, fingerprint: sandbox.fingerprint }, { retry: FAST_RETRY, ticketRenewAfterMs: 1 });
    clients.push(client);
    await client.get("/nodes");
    await new Promise((resolve) => setTimeout(resolve, 5));
    await client.get("/nodes");
    const young = new ProxmoxClient({ endpoint: sandbox.endpoint, username: sandbox.username, password: sandbox.password, fingerprint: sandbox.fingerprint }, { retry: FAST_RETRY });
    clients.push(young);
    await young.get("/nodes");
    await young.get("/nodes");
    assert.equal(sandbox.requests.filter((r) => r.path === "/access/ticket").length, 3);
    const both = await Promise.all([new ProxmoxClient({ endpoint: sandbox.endpoint, username: sandbox.username, password: sandbox.password, fingerprint: sandbox.fingerprint })].map(async (c) => {
      clients.push(c);
      sandbox.resetRequests();
      await Promise.all([c.get("/nodes"), c.get("/version"), c.get("/cluster/resources")]);
      return sandbox.requests.filter((r) => r.path === "/access/ticket").length;
    }));
    assert.deepEqual(both, [1], "concurrent first calls share one login");
  });

  it("onRequest reports every exchange and requestCount counts them", async () => {
    const seen: RequestInfo[] = [];
    const client = connect({ onRequest: (info) => seen.push(info) });
    await client.get("/nodes");
    await client.get("/nodes/nosuchnode/lxc/100/config").catch(() => undefined);
    assert.equal(client.requestCount, seen.length);
    assert.deepEqual(seen[0] && { method: seen[0].method, path: seen[0].path, status: seen[0].status }, { method: "GET", path: "/nodes", status: 200 });
    assert.ok(seen.slice(1).every((info) => info.status >= 400 && info.path === "/nodes/nosuchnode/lxc/100/config"));
    assert.ok(seen.every((info) => typeof info.ms === "number" && info.ms >= 0));
    assert.equal(JSON.stringify(client).includes(sandbox.apiToken), false);
  });

  it("a path without its leading slash is the same call", async () => {
    const client = connect();
    assert.deepEqual(await client.get("nodes"), await client.get("/nodes"));
    assert.ok(sandbox.requests.every((r) => r.path === "/nodes"));
  });

  it("sharedClient: one client per connection, whatever the key order", () => {
    const a = sharedClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint });
    const b = sharedClient({ fingerprint: sandbox.fingerprint, apiToken: sandbox.apiToken, endpoint: sandbox.endpoint });
    const c = sharedClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint, timeoutMs: 1234 });
    assert.equal(a, b);
    assert.notEqual(a, c);
    clients.push(a, c);
  });

  it("encodeParams: booleans as 1/0, arrays repeated, undefined and null left out, objects refused", () => {
    assert.equal(encodeParams({ a: true, b: false, c: [1, "x"], d: undefined, e: null, f: 0, g: "" }).toString(), "a=1&b=0&c=1&c=x&f=0&g=");
    assert.equal(encodeParams(undefined).toString(), "");
    assert.throws(() => encodeParams({ nested: { x: 1 } }), (e: Error) => e instanceof TypeError && e.message === "Proxmox parameter nested must be a string, number, boolean or array");
  });
});
