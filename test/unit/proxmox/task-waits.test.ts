// The client's task waits against a loopback HTTPS server that answers the task calls as PVE does
// (pve-manager PVE/API2/Tasks.pm: node_tasks newest first, cut at `limit`, filtered by `since`, `vmid`,
// `typefilter`; a task's status; its log), with task states each test sets: what the sandbox cannot
// arrange on cue, a node so busy that our tasks fall past the list's 500 entries, a status that stops
// without an exit status. Counts requests, never times them.
import { strict as assert } from "assert";
import * as https from "https";
import type { AddressInfo } from "net";
import { loopbackCertificate } from "../../support/loopback-cert";
import { isLaunchpadError, PveTaskError } from "../../../provider/errors";
import { ProxmoxClient, taskDurations } from "../../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../../provider/retry";

const FAST_RETRY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 4, limit: 3 };
const TOKEN = "ci@pve!launchpad=6f1e2d3c-4b5a-4968-8776-655443322110";
const T = 1_780_000_000;

interface FakeTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  starttime: number;
  /** Undefined while running, else the exit status. */
  status?: string;
}
interface Seen {
  path: string;
  params: URLSearchParams;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
let nextPid = 0x1000;
function task(node: string, type: string, id: string | number, starttime: number, status?: string, pstart = 0x5678): FakeTask {
  const upid = `UPID:${node}:${hex8(nextPid++)}:${hex8(pstart)}:${hex8(starttime)}:${type}:${id}:ci@pve!launchpad:`;
  return { upid, node, type, id: String(id), starttime, status };
}

describe("ProxmoxClient task waits against a scripted PVE", function () {
  let server: https.Server;
  let endpoint: string;
  let fingerprint: string;
  let tasks: FakeTask[];
  /**
   * Answers of `tasks/{upid}/status`, in turn (the last one repeats); the task's own state when none.
   * `notYet`: the 400 PVE can answer right after the fork, before the task is readable.
   */
  let statuses: Map<string, Array<{ status: string; exitstatus?: string } | "notYet">>;
  let seen: Seen[];
  /** How many of the next shared node lists (`source=all`, no `vmid`) answer 400 first. */
  let listRefusals = 0;
  const clients: ProxmoxClient[] = [];
  const client = () => {
    const made = new ProxmoxClient({ endpoint, apiToken: TOKEN, fingerprint }, { retry: FAST_RETRY });
    clients.push(made);
    return made;
  };
  const nodeLists = () => seen.filter((s) => /^\/nodes\/[^/]+\/tasks$/.test(s.path) && s.params.get("source") === "all");
  const statusReads = () => seen.filter((s) => s.path.endsWith("/status"));

  function answer(path: string, params: URLSearchParams): { data: unknown; total?: number; errors?: unknown } | "notYet" {
    const list = /^\/nodes\/([^/]+)\/tasks$/.exec(path);
    if (list && params.get("source") === "all" && !params.has("vmid") && listRefusals > 0) {
      listRefusals--;
      return "notYet";
    }
    if (list) {
      const source = params.get("source") ?? "archive";
      const since = params.get("since");
      const matching = tasks
        .filter((t) => t.node === list[1])
        .filter((t) => source === "all" || (source === "active") === (t.status === undefined))
        .filter((t) => !params.get("typefilter") || t.type === params.get("typefilter"))
        .filter((t) => !params.get("vmid") || t.id === params.get("vmid"))
        .filter((t) => since === null || t.starttime >= Number(since))
        .sort((a, b) => b.starttime - a.starttime);
      const entries = matching.slice(0, Number(params.get("limit") ?? 50)).map((t) => ({
        upid: t.upid, node: t.node, type: t.type, id: t.id, starttime: t.starttime, user: "ci@pve", tokenid: "launchpad",
        ...(t.status === undefined ? { status: "RUNNING" } : { status: t.status, endtime: t.starttime + 1 }),
      }));
      return { data: entries, total: matching.length };
    }
    const one = /^\/nodes\/([^/]+)\/tasks\/([^/]+)\/(status|log)$/.exec(path);
    const upid = decodeURIComponent(one?.[2] ?? "");
    const found = tasks.find((t) => t.upid === upid);
    if (one?.[3] === "log") return { data: [{ n: 1, t: "starting" }, { n: 2, t: "TASK ERROR: interrupted" }], total: 2 };
    const scripted = statuses.get(upid);
    if (scripted?.length) {
      const next = scripted.length > 1 ? scripted.shift()! : scripted[0];
      return next === "notYet" ? next : { data: next };
    }
    return { data: found?.status === undefined ? { status: "running" } : { status: "stopped", exitstatus: found.status } };
  }

  before(async () => {
    const pems = await loopbackCertificate("pve-tasks.invalid");
    fingerprint = pems.fingerprint;
    server = https.createServer({ key: pems.key, cert: pems.cert }, (req, res) => {
      const url = new URL(req.url!, "https://x");
      const path = url.pathname.replace(/^\/api2\/json/, "");
      seen.push({ path, params: url.searchParams });
      const reply = () => {
        const body = answer(path, url.searchParams);
        const notYet = body === "notYet";
        res.writeHead(notYet ? 400 : 200, notYet ? "Parameter verification failed." : "OK", { "content-type": "application/json;charset=UTF-8" });
        res.end(JSON.stringify(notYet ? { data: null, errors: { upid: "unable to parse worker upid" } } : body));
      };
      req.resume();
      req.on("end", reply);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    tasks = [];
    statuses = new Map();
    seen = [];
    listRefusals = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("waits on one node share one read of its task list, since the oldest one's start, and read no task status", async () => {
    const creates = [task("pve1", "vzcreate", 101, T + 7, "OK"), task("pve1", "vzcreate", 102, T, "OK"), task("pve1", "vzcreate", 103, T + 3, "WARNINGS: 2")];
    tasks.push(...creates, ...creates.map((c, i) => task("pve1", "vzstart", c.id, c.starttime + 1, i === 1 ? "WARNINGS: 1" : "OK")));
    // A process that knows vzcreate already: no history read before the first probe.
    taskDurations.observe(`${endpoint}|vzcreate`, 50);
    const startsLearned = taskDurations.count(`${endpoint}|vzstart`);
    const one = client();
    const outcomes = await Promise.all(creates.map((c) => one.waitForTaskThen(c.upid, "vzstart")));
    assert.deepEqual(outcomes.map((o) => [o.task.id, o.task.exitstatus, o.task.warnings, o.next?.type, o.next?.id, o.next?.warnings]), [
      ["101", "OK", 0, "vzstart", "101", 0],
      ["102", "OK", 0, "vzstart", "102", 1],
      ["103", "WARNINGS: 2", 2, "vzstart", "103", 0],
    ]);
    // Never seen running, a start's own duration is not known to better than the gap between two probes.
    assert.equal(taskDurations.count(`${endpoint}|vzstart`), startsLearned, "the starts are not learned alone");
    assert.deepEqual(nodeLists().map((s) => [s.params.get("since"), s.params.get("vmid")]), [[String(T), null]], "one node list for all three");
    assert.equal(statusReads().length, 0);
  });

  it("waitForTask: waiters after the first read their states from one node list, since the oldest one's start", async () => {
    const creates = [task("pve2", "vzcreate", 111, T + 7, "OK"), task("pve2", "vzcreate", 112, T, "OK"), task("pve2", "vzcreate", 113, T + 3, "OK")];
    tasks.push(...creates);
    const one = client();
    const results = await Promise.all(creates.map((c) => one.waitForTask(c.upid)));
    assert.deepEqual(results.map((r) => r.id), ["111", "112", "113"]);
    // The first waiter was alone on the node when it asked: its own status read; the two others share a list.
    assert.deepEqual(statusReads().map((s) => s.path), [`/nodes/pve2/tasks/${encodeURIComponent(creates[0].upid)}/status`]);
    assert.deepEqual(nodeLists().map((s) => s.params.get("since")), [String(T)]);
  });

  it("on a busy node, tasks past the list's 500 entries are read alone, and the follow-up by a read of its type", async () => {
    const creates = [task("pve3", "vzcreate", 121, T, "OK"), task("pve3", "vzcreate", 122, T + 1, "OK")];
    const starts = creates.map((c) => task("pve3", "vzstart", c.id, c.starttime + 1, "OK"));
    // Other guests' tasks since, more than one list read holds: ours fall past its end.
    const busy = Array.from({ length: 500 }, (_, i) => task("pve3", "vzstart", 1000 + i, T + 5, "OK"));
    tasks.push(...creates, ...starts, ...busy);
    const one = client();
    const outcomes = await Promise.all(creates.map((c) => one.waitForTaskThen(c.upid, "vzstart")));
    assert.deepEqual(outcomes.map((o) => [o.task.id, o.task.exitstatus, o.next?.upid, o.nextError]), [
      ["121", "OK", starts[0].upid, undefined],
      ["122", "OK", starts[1].upid, undefined],
    ]);
    assert.ok(nodeLists().some((s) => !s.params.has("vmid")), "the node's list was read");
    assert.deepEqual(nodeLists().filter((s) => s.params.has("typefilter")).map((s) => [s.params.get("vmid"), s.params.get("typefilter")]).sort(), [["121", "vzstart"], ["122", "vzstart"]]);
    assert.equal(statusReads().length, 2, "each create's state read alone");
  });

  it("a vmid reused within one second: the start the create forked is followed, not the previous container's, wherever the list puts it", async () => {
    // The previous container of each vmid started in the same second, a few ticks before this create (pstart,
    // clock ticks since boot); this create's own start failed. The fake lists ties in the order pushed.
    const [old1, create1, start1] = [task("pve4", "vzstart", 131, T, "OK", 0x5000), task("pve4", "vzcreate", 131, T, "OK", 0x5010), task("pve4", "vzstart", 131, T, "startup for container '131' failed", 0x5020)];
    const [start2, create2, old2] = [task("pve4", "vzstart", 132, T, "startup for container '132' failed", 0x5120), task("pve4", "vzcreate", 132, T, "OK", 0x5110), task("pve4", "vzstart", 132, T, "OK", 0x5100)];
    tasks.push(old1, create1, start1, start2, create2, old2);
    const outcomes = await Promise.all([create1, create2].map((c) => client().waitForTaskThen(c.upid, "vzstart")));
    assert.deepEqual(outcomes.map((o) => [o.next?.upid, (o.nextError as PveTaskError | undefined)?.exitstatus]), [
      [undefined, "startup for container '131' failed"],
      [undefined, "startup for container '132' failed"],
    ]);
    // A start that began before the create, alone in the list, is no follow-up of it.
    tasks = [task("pve4", "vzstart", 133, T, "OK", 0x5200), task("pve4", "vzcreate", 133, T, "OK", 0x5210)];
    const alone = await client().waitForTaskThen(tasks[1].upid, "vzstart");
    assert.deepEqual([alone.task.exitstatus, alone.next, alone.nextError], ["OK", undefined, undefined]);
  });

  it("a task read alone that answers running is asked again; one stopped without an exit status is a failure saying so", async () => {
    const running = task("pve4", "vzcreate", 131, T, "OK");
    const silent = task("pve4", "vzcreate", 132, T, "OK");
    const busy = Array.from({ length: 500 }, (_, i) => task("pve4", "vzstart", 2000 + i, T + 5, "OK"));
    tasks.push(running, silent, ...busy);
    statuses.set(running.upid, [{ status: "running" }, { status: "stopped", exitstatus: "OK" }]);
    statuses.set(silent.upid, [{ status: "stopped" }]);
    const one = client();
    const [ok, failed] = await Promise.allSettled([one.waitForTaskThen(running.upid, "vzstart"), one.waitForTaskThen(silent.upid, "vzstart")]);
    assert.equal(ok.status === "fulfilled" && ok.value.task.exitstatus, "OK", String((ok as PromiseRejectedResult).reason));
    const error = (failed as PromiseRejectedResult).reason as PveTaskError;
    assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"), String(error));
    assert.equal(error.exitstatus, "stopped without an exit status");
    assert.deepEqual(error.log, ["starting", "TASK ERROR: interrupted"]);
  });

  it("a task read alone whose status answers 400 right after dispatch is asked again, as waitForTask does", async () => {
    const create = task("pve6", "vzcreate", 151, T, "OK");
    const other = task("pve6", "vzcreate", 152, T, "OK");
    const busy = Array.from({ length: 500 }, (_, i) => task("pve6", "vzstart", 3000 + i, T + 5, "OK"));
    tasks.push(create, other, task("pve6", "vzstart", 151, T + 1, "OK"), ...busy);
    statuses.set(create.upid, ["notYet", { status: "stopped", exitstatus: "OK" }]);
    const one = client();
    const [outcome] = await Promise.all([one.waitForTaskThen(create.upid, "vzstart"), one.waitForTaskThen(other.upid, "vzstart")]);
    assert.deepEqual([outcome.task.exitstatus, outcome.next?.id], ["OK", "151"]);
    assert.equal(statusReads().filter((s) => s.path.includes(encodeURIComponent(create.upid))).length, 1, "it answered the 400; the next probe, alone on the node, found it in its guest's list");
    statuses.set(create.upid, ["notYet", { status: "stopped", exitstatus: "OK" }]);
    assert.equal((await one.waitForTask(create.upid)).exitstatus, "OK", "waitForTask, alone, reads it the same way");
  });

  it("a shared node list that failed is not handed to the next probes: they read it again", async () => {
    const creates = [task("pve7", "vzcreate", 161, T, "OK"), task("pve7", "vzcreate", 162, T, "OK")];
    tasks.push(...creates);
    listRefusals = 1;
    const one = client();
    const outcomes = await Promise.all(creates.map((c) => one.waitForTaskThen(c.upid, "vzstart", { timeoutMs: 2000 })));
    assert.deepEqual(outcomes.map((o) => [o.task.id, o.task.exitstatus, o.next]), [["161", "OK", undefined], ["162", "OK", undefined]]);
    assert.ok(nodeLists().filter((s) => !s.params.has("vmid")).length >= 2, "read again after the 400");
  });

  it("a wait that begins while another is still waited on shares its node list, after a third one ended", async () => {
    const [first, second, third] = [task("pve8", "vzrestore", 171, T, "OK"), task("pve8", "vzrestore", 172, T), task("pve8", "vzrestore", 173, T)];
    tasks.push(first, second, third);
    const one = client();
    const firstWait = one.waitForTaskThen(first.upid, "vzstart");
    const secondWait = one.waitForTaskThen(second.upid, "vzstart");
    assert.equal((await firstWait).task.exitstatus, "OK");
    const from = seen.length;
    const thirdWait = one.waitForTaskThen(third.upid, "vzstart");
    // Both still running for a few probes, then both end.
    await new Promise((resolve) => setTimeout(resolve, 200));
    second.status = "OK";
    third.status = "OK";
    assert.deepEqual((await Promise.all([secondWait, thirdWait])).map((o) => [o.task.id, o.task.exitstatus]), [["172", "OK"], ["173", "OK"]]);
    assert.ok(seen.slice(from).some((s) => /^\/nodes\/pve8\/tasks$/.test(s.path) && s.params.get("source") === "all" && !s.params.has("vmid")), "the two waits shared the node's list");
  });
});
