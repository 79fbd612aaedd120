// The sandbox's HTTP API behaves as Proxmox VE does: auth and its 401 wording, tasks and locks,
// VMID races, config pending/digest/delete/read-only, interfaces after start, and faults.
import { strict as assert } from "assert";
import { startSandbox, Sandbox } from "../../sandbox";
import { createParams, SandboxClient, TEMPLATE } from "./helpers";

describe("sandbox API", function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let client: SandboxClient;
  let nextVmid = 200;
  const vmid = () => nextVmid++;

  before(async () => {
    sandbox = await startSandbox({ ipDelayMs: 150, taskDurationsMs: { vzcreate: 40 } });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await client?.close();
    await sandbox?.close();
  });
  afterEach(() => sandbox.faults.clear());

  async function created(id: number, extra: Record<string, unknown> = {}, node = "pve1"): Promise<void> {
    const reply = await client.call("POST", `/nodes/${node}/lxc`, createParams(id, extra));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const task = await client.waitTask(node, reply.body.data);
    assert.equal(task.exitstatus, "OK");
    if (extra.start) assert.equal((await client.waitStartAfterCreate(node, id)).exitstatus, "OK");
  }

  describe("responses", () => {
    it("answers /version with Proxmox's content type and {data}", async () => {
      const reply = await client.call("GET", "/version");
      assert.equal(reply.status, 200);
      assert.equal(reply.contentType, "application/json;charset=UTF-8");
      assert.equal(reply.body.data.release, "9.1");
    });
    it("lists the nodes", async () => {
      const reply = await client.call("GET", "/nodes");
      assert.deepEqual(reply.body.data.map((n: { node: string }) => n.node), ["pve1", "pve2", "pve3"]);
    });
    it("puts the message in the reason phrase and the body for errors", async () => {
      const reply = await client.call("GET", "/nodes/pve1/lxc/999/config");
      assert.equal(reply.status, 500);
      assert.equal(reply.reason, "Configuration file 'nodes/pve1/lxc/999.conf' does not exist");
      assert.deepEqual(reply.body, { data: null, message: "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n" });
    });
    it("rejects an unknown create parameter and net0=bogus with 400 and errors naming them", async () => {
      const reply = await client.call("POST", "/nodes/pve1/lxc", createParams(vmid(), { net0: "bogus", colour: "red" }));
      assert.equal(reply.status, 400);
      assert.equal(reply.reason, "Parameter verification failed.");
      assert.equal(reply.body.message, "Parameter verification failed.\n");
      assert.deepEqual(Object.keys(reply.body.errors!).sort(), ["colour", "net0"]);
      assert.equal(sandbox.containers().length, 0, "nothing was created");
    });
    it("validates path parameters too", async () => {
      const reply = await client.call("GET", "/nodes/pve1/lxc/12/status/current");
      assert.equal(reply.status, 400);
      assert.equal(reply.body.errors!.vmid, "invalid format - value does not look like a valid VM ID\n");
    });
    it("accepts JSON bodies, with JSON booleans", async () => {
      const id = vmid();
      const reply = await client.call("POST", "/nodes/pve2/lxc", { ...createParams(id), unprivileged: true, memory: 256 }, { json: true });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      await client.waitTask("pve2", reply.body.data);
      const config = await client.call("GET", `/nodes/pve2/lxc/${id}/config`);
      assert.equal(config.body.data.unprivileged, 1);
      assert.equal(config.body.data.memory, 256);
    });
    it("answers 501 for a method PVE does not have", async () => {
      const reply = await client.call("PUT", "/nodes/pve1/lxc");
      assert.equal(reply.status, 501);
    });
  });

  describe("authentication", () => {
    it("refuses a wrong token secret with 401 `invalid token value!`", async () => {
      const [id] = sandbox.apiToken.split("=");
      const reply = await client.call("GET", "/nodes", undefined, { auth: { Authorization: `PVEAPIToken=${id}=00000000-0000-0000-0000-000000000000` } });
      assert.equal(reply.status, 401);
      assert.equal(reply.reason, "invalid token value!");
    });
    it("refuses an unknown token with 401", async () => {
      const reply = await client.call("GET", "/nodes", undefined, { auth: { Authorization: `PVEAPIToken=root@pam!nope=${sandbox.apiToken.split("=")[1]}` } });
      assert.equal(reply.status, 401);
    });
    it("refuses requests without credentials", async () => {
      const reply = await client.call("GET", "/nodes", undefined, { auth: null });
      assert.equal(reply.status, 401);
      assert.equal(reply.reason, "No ticket");
    });
    it("GET /access/ticket needs no credentials (clients probe it first)", async () => {
      const reply = await client.call("GET", "/access/ticket", undefined, { auth: null });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.data, null);
    });
    it("logs in with a password, reads with the cookie, writes only with the CSRF token", async () => {
      const login = await client.call("POST", "/access/ticket", { username: "root@pam", password: sandbox.password }, { auth: null });
      assert.equal(login.status, 200);
      const { ticket, CSRFPreventionToken, username } = login.body.data;
      assert.equal(username, "root@pam");
      assert.match(ticket, /^PVE:root@pam:[0-9A-F]{8}::/);
      const cookie = { Cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}` };
      assert.equal((await client.call("GET", "/nodes", undefined, { auth: cookie })).status, 200);

      const noCsrf = await client.call("POST", "/nodes/pve1/lxc", createParams(vmid()), { auth: cookie });
      assert.equal(noCsrf.status, 401);
      assert.equal(noCsrf.reason, "Permission denied - invalid csrf token");

      const id = vmid();
      const withCsrf = await client.call("POST", "/nodes/pve1/lxc", createParams(id), { auth: { ...cookie, CSRFPreventionToken } });
      assert.equal(withCsrf.status, 200, JSON.stringify(withCsrf.body));
      assert.match(withCsrf.body.data, /:vzcreate:\d+:root@pam:$/);
      await client.waitTask("pve1", withCsrf.body.data);

      const renewed = await client.call("POST", "/access/ticket", { username: "root@pam", password: ticket }, { auth: null });
      assert.equal(renewed.status, 200, "a valid ticket renews itself");
    });
    it("refuses a wrong password with 401 authentication failure", async () => {
      const reply = await client.call("POST", "/access/ticket", { username: "root@pam", password: "wrong-password" }, { auth: null });
      assert.equal(reply.status, 401);
      assert.equal(reply.reason, "authentication failure");
    });
    it("refuses a forged ticket with `permission denied - invalid PVE ticket`", async () => {
      const reply = await client.call("GET", "/nodes", undefined, { auth: { Cookie: "PVEAuthCookie=PVE:root@pam:65F0A1B2::Zm9yZ2Vk" } });
      assert.equal(reply.status, 401);
      assert.equal(reply.reason, "permission denied - invalid PVE ticket");
    });
    it("refuses an expired ticket", async () => {
      const shortLived = await startSandbox({ ticketLifetimeMs: 1 });
      const shortClient = new SandboxClient(shortLived);
      try {
        const login = await shortClient.call("POST", "/access/ticket", { username: "root@pam", password: shortLived.password }, { auth: null });
        await new Promise((resolve) => setTimeout(resolve, 20));
        const reply = await shortClient.call("GET", "/nodes", undefined, { auth: { Cookie: `PVEAuthCookie=${encodeURIComponent(login.body.data.ticket)}` } });
        assert.equal(reply.status, 401);
        assert.equal(reply.reason, "permission denied - invalid PVE ticket");
      } finally {
        await shortClient.close();
        await shortLived.close();
      }
    });
  });

  describe("tasks and locks", () => {
    it("returns a UPID at once; the config is locked (create) until the task ends", async () => {
      const id = vmid();
      const slow = await startSandbox({ taskDurationsMs: { vzcreate: 400 } });
      const slowClient = new SandboxClient(slow);
      try {
        const reply = await slowClient.call("POST", "/nodes/pve1/lxc", createParams(id));
        const upid: string = reply.body.data;
        assert.match(upid, new RegExp(`^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzcreate:${id}:root@pam!launchpad:$`));
        const running = await slowClient.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`);
        assert.equal(running.body.data.status, "running");
        assert.equal((await slowClient.call("GET", `/nodes/pve1/lxc/${id}/status/current`)).body.data.lock, "create");
        const put = await slowClient.call("PUT", `/nodes/pve1/lxc/${id}/config`, { memory: 1024 });
        assert.equal(put.status, 500);
        assert.equal(put.reason, "CT is locked (create)");
        const resources = await slowClient.call("GET", "/cluster/resources", { type: "vm" });
        assert.equal(resources.body.data.find((r: { vmid: number }) => r.vmid === id).lock, "create");

        const done = await slowClient.waitTask("pve1", upid);
        assert.equal(done.exitstatus, "OK");
        assert.equal((await slowClient.call("GET", `/nodes/pve1/lxc/${id}/status/current`)).body.data.lock, undefined);
        const log = await slowClient.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { start: 0, limit: 50 });
        assert.deepEqual(log.body.data.at(-1), { n: log.body.data.length, t: "TASK OK" });
      } finally {
        await slowClient.close();
        await slow.close();
      }
    });
    it("a task's pstart is when its worker began, in clock ticks: a create's vzstart is 40 ms (4 ticks) or more after it", async () => {
      const id = vmid();
      await created(id, { start: 1 });
      const listed = (await client.call("GET", "/nodes/pve1/tasks", { vmid: id, source: "all" })).body.data as Array<{ upid: string; type: string; pstart: number }>;
      const [create, start] = ["vzcreate", "vzstart"].map((type) => listed.find((task) => task.type === type)!);
      for (const task of [create, start]) assert.equal(task.pstart, parseInt(task.upid.split(":")[3], 16), "the UPID carries the same pstart");
      // pve-common ProcFSTools read_proc_starttime: ticks since boot (USER_HZ 100), whatever the pids.
      assert.ok(start.pstart - create.pstart >= 4 && start.pstart - create.pstart < 500, `${create.pstart} then ${start.pstart}`);
    });
    it("fails a task by fault injection and rolls the create back", async () => {
      sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - disk full", count: 1 });
      const id = vmid();
      const reply = await client.call("POST", "/nodes/pve1/lxc", createParams(id));
      const task = await client.waitTask("pve1", reply.body.data);
      assert.equal(task.exitstatus, "unable to create CT - disk full");
      const log = await client.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(reply.body.data)}/log`);
      assert.equal(log.body.data.at(-1).t, "TASK ERROR: unable to create CT - disk full");
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${id}/config`)).status, 500, "the failed CT is gone");
    });
    it("reports a missing template as the task's failure", async () => {
      const reply = await client.call("POST", "/nodes/pve1/lxc", createParams(vmid(), { ostemplate: "local:vztmpl/nope.tar.zst" }));
      const task = await client.waitTask("pve1", reply.body.data);
      assert.match(task.exitstatus, /^unable to create CT \d+ - volume 'local:vztmpl\/nope.tar.zst' does not exist$/);
    });
    it("a lock timeout fault gives PVE's `can't lock file` 500", async () => {
      const id = vmid();
      await created(id);
      sandbox.faults.lockTimeout(1, id);
      const put = await client.call("PUT", `/nodes/pve1/lxc/${id}/config`, { memory: 1024 });
      assert.equal(put.status, 500);
      assert.equal(put.reason, `can't lock file '/run/lock/lxc/pve-config-${id}.lock' - got timeout`);
      assert.equal((await client.call("PUT", `/nodes/pve1/lxc/${id}/config`, { memory: 1024 })).status, 200, "only once");
    });
    it("a lock timeout on start or destroy fails the worker task, not the call (lock_config runs in the worker)", async () => {
      const id = vmid();
      await created(id);
      sandbox.faults.lockTimeout(1, id);
      const start = await client.call("POST", `/nodes/pve1/lxc/${id}/status/start`);
      assert.equal(start.status, 200, "the call itself is accepted: the worker takes the lock");
      const task = await client.waitTask("pve1", start.body.data);
      assert.equal(task.exitstatus, `can't lock file '/run/lock/lxc/pve-config-${id}.lock' - got timeout`);
      sandbox.faults.lockTimeout(1, id);
      const destroy = await client.call("DELETE", `/nodes/pve1/lxc/${id}`);
      assert.equal((await client.waitTask("pve1", destroy.body.data)).exitstatus, `can't lock file '/run/lock/lxc/pve-config-${id}.lock' - got timeout`);
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${id}/config`)).status, 200, "the container is still there");
    });
    it("a lock timeout on create is create_vm's `unable to create CT` 500", async () => {
      const id = vmid();
      sandbox.faults.lockTimeout(1, id);
      const create = await client.call("POST", "/nodes/pve1/lxc", createParams(id));
      assert.equal(create.status, 500);
      assert.equal(create.reason, `unable to create CT ${id} - can't lock file '/run/lock/lxc/pve-config-${id}.lock' - got timeout`);
    });
    it("a destroy whose container went while its worker waited for the lock fails as load_config does", async () => {
      const id = vmid();
      await created(id);
      // The first destroy holds the lock long enough for the second call to find the CT still there,
      // however slow the machine: with 30 ms, a loaded one answered the second DELETE after the CT was gone.
      sandbox.faults.task({ type: "vzdestroy", delayMs: 1_000, count: 1 });
      const first = await client.call("DELETE", `/nodes/pve1/lxc/${id}`);
      const second = await client.call("DELETE", `/nodes/pve1/lxc/${id}`);
      assert.equal(second.status, 200, `the second DELETE finds the CT and forks its worker: ${JSON.stringify(second.body)}`);
      assert.equal((await client.waitTask("pve1", first.body.data)).exitstatus, "OK");
      assert.equal((await client.waitTask("pve1", second.body.data)).exitstatus, `Configuration file 'nodes/pve1/lxc/${id}.conf' does not exist`);
    });
    it("a config change collides with a running start task: got timeout", async () => {
      const busy = await startSandbox({ taskDurationsMs: { vzstart: 500 }, lockWaitMs: 50 });
      const busyClient = new SandboxClient(busy);
      try {
        const create = await busyClient.call("POST", "/nodes/pve1/lxc", createParams(300));
        await busyClient.waitTask("pve1", create.body.data);
        const start = await busyClient.call("POST", "/nodes/pve1/lxc/300/status/start");
        const put = await busyClient.call("PUT", "/nodes/pve1/lxc/300/config", { description: "x" });
        assert.equal(put.status, 500);
        assert.equal(put.reason, "can't lock file '/run/lock/lxc/pve-config-300.lock' - got timeout");
        await busyClient.waitTask("pve1", start.body.data);
        assert.equal((await busyClient.call("PUT", "/nodes/pve1/lxc/300/config", { description: "x" })).status, 200);
      } finally {
        await busyClient.close();
        await busy.close();
      }
    });
    it("stops a running task with DELETE .../tasks/{upid}", async () => {
      const slow = await startSandbox({ taskDurationsMs: { vzcreate: 5_000 } });
      const slowClient = new SandboxClient(slow);
      try {
        const reply = await slowClient.call("POST", "/nodes/pve1/lxc", createParams(301));
        const stop = await slowClient.call("DELETE", `/nodes/pve1/tasks/${encodeURIComponent(reply.body.data)}`);
        assert.equal(stop.status, 200);
        const task = await slowClient.waitTask("pve1", reply.body.data);
        assert.equal(task.exitstatus, "interrupted by signal");
        assert.equal(slow.containers().length, 0);
      } finally {
        await slowClient.close();
        await slow.close();
      }
    });
    it("start=1: the create task ends, then a vzstart task of its own starts the CT (PVE::API2::LXC create_vm)", async () => {
      const timed = await startSandbox({ taskDurationsMs: { vzcreate: 120, vzstart: 200 } });
      const timedClient = new SandboxClient(timed);
      try {
        const reply = await timedClient.call("POST", "/nodes/pve1/lxc", createParams(310, { start: 1 }));
        assert.equal((await timedClient.waitTask("pve1", reply.body.data)).exitstatus, "OK");
        const listed = await timedClient.call("GET", "/nodes/pve1/tasks", { vmid: 310, source: "all" });
        assert.deepEqual(listed.body.data.map((task: { type: string; status: string }) => [task.type, task.status]), [["vzstart", "RUNNING"], ["vzcreate", "OK"]]);
        assert.equal((await timedClient.waitStartAfterCreate("pve1", 310)).exitstatus, "OK");
        assert.equal((await timedClient.call("GET", "/nodes/pve1/lxc/310/status/current")).body.data.status, "running");
        const [create, start] = timed.timeline().tasks;
        assert.deepEqual([create.type, start.type], ["vzcreate", "vzstart"]);
        // One timer per task: each ends at its deadline, not steps of sleeps later (Node may fire a timer up
        // to 1 ms before Date.now() says it is due: the clocks round differently).
        assert.ok(create.endedMs! - create.startedMs >= 119 && start.endedMs! - start.startedMs >= 199, JSON.stringify(timed.timeline().tasks));
        assert.ok(start.startedMs >= create.startedMs + 120, "the start begins when the create is done");
      } finally {
        await timedClient.close();
        await timed.close();
      }
    });
    it("setTimings perContainer: each container's tasks and address take its own durations, the others the type's (the bench's separate stacks)", async () => {
      const timed = await startSandbox({ taskDurationsMs: { vzcreate: 60, vzstart: 60 }, ipDelayMs: 40 });
      const timedClient = new SandboxClient(timed);
      try {
        timed.setTimings({ perContainer: (id) => (id === 321 ? { taskDurationsMs: { vzcreate: 300, vzstart: 150 }, ipDelayMs: 250 } : undefined) });
        const [own, other] = await Promise.all([321, 322].map((id) => timedClient.call("POST", "/nodes/pve1/lxc", createParams(id, { start: 1 }))));
        await Promise.all([timedClient.waitTask("pve1", own.body.data), timedClient.waitTask("pve1", other.body.data)]);
        await Promise.all([321, 322].map((id) => timedClient.waitStartAfterCreate("pve1", id)));
        const ran = (id: number, type: string) => timed.timeline().tasks.find((task) => task.id === String(id) && task.type === type)!;
        const ms = (id: number, type: string) => ran(id, type).endedMs! - ran(id, type).startedMs;
        assert.ok(ms(321, "vzcreate") >= 299 && ms(321, "vzstart") >= 149, JSON.stringify(timed.timeline().tasks));
        assert.ok(ms(322, "vzcreate") < 250 && ms(322, "vzstart") < 150, JSON.stringify(timed.timeline().tasks));
        const lease = (id: number) => timed.timeline().starts.find((start) => start.vmid === id)!;
        assert.equal(lease(321).leasedMs - lease(321).startedMs, 250);
        assert.equal(lease(322).leasedMs - lease(322).startedMs, 40);
        // null drops it: the next container takes the type's durations again.
        timed.setTimings({ perContainer: null });
        const again = await timedClient.call("POST", "/nodes/pve1/lxc", createParams(323));
        await timedClient.waitTask("pve1", again.body.data);
        assert.ok(ms(323, "vzcreate") < 250, JSON.stringify(timed.timeline().tasks));
      } finally {
        await timedClient.close();
        await timed.close();
      }
    });
    it("start=1 with a start that fails: the create task is OK, the vzstart task fails, the CT stays", async () => {
      sandbox.faults.task({ type: "vzstart", fail: "startup for container '311' failed", count: 1 });
      const reply = await client.call("POST", "/nodes/pve1/lxc", createParams(311, { start: 1 }));
      assert.equal((await client.waitTask("pve1", reply.body.data)).exitstatus, "OK");
      assert.equal((await client.waitStartAfterCreate("pve1", 311)).exitstatus, "startup for container '311' failed");
      assert.equal((await client.call("GET", "/nodes/pve1/lxc/311/status/current")).body.data.status, "stopped");
    });
    it("lists tasks per node, newest first, with their end status", async () => {
      const reply = await client.call("GET", "/nodes/pve1/tasks", { typefilter: "vzcreate", limit: 2 });
      assert.equal(reply.status, 200);
      assert.ok(reply.body.data.length >= 1 && reply.body.data.length <= 2);
      assert.ok(reply.body.data.every((task: { type: string; status: string }) => task.type === "vzcreate" && task.status));
    });
  });

  describe("VMIDs", () => {
    it("two parallel creates of the same VMID: one wins, the other fails `already exists`", async () => {
      const id = vmid();
      const [a, b] = await Promise.all([
        client.call("POST", "/nodes/pve1/lxc", createParams(id)),
        client.call("POST", "/nodes/pve2/lxc", createParams(id)),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 500]);
      const loser = a.status === 500 ? a : b;
      assert.match(loser.reason, new RegExp(`^CT ${id} already exists on node 'pve[12]'$`));
      assert.equal(sandbox.containers().filter((ct) => ct.vmid === id).length, 1);
    });
    it("nextid skips taken VMIDs and refuses a taken one with errors.vmid", async () => {
      const id = vmid();
      await created(id);
      const next = await client.call("GET", "/cluster/nextid");
      assert.notEqual(Number(next.body.data), id);
      const taken = await client.call("GET", "/cluster/nextid", { vmid: id });
      assert.equal(taken.status, 400);
      assert.deepEqual(taken.body.errors, { vmid: `VM ${id} already exists` });
    });
    it("an unknown VMID on DELETE is `does not exist`", async () => {
      const reply = await client.call("DELETE", "/nodes/pve3/lxc/98765", { purge: 1 });
      assert.equal(reply.status, 500);
      assert.match(reply.reason, /does not exist$/);
    });
  });

  describe("config", () => {
    it("stores tags lower-cased and sorted, fills in hwaddr, hides write-only keys", async () => {
      const id = vmid();
      await created(id, { tags: "Zeta;alpha,Beta", password: "secret-pw", "ssh-public-keys": "ssh-ed25519 AAAA test" });
      const config = (await client.call("GET", `/nodes/pve1/lxc/${id}/config`)).body.data;
      assert.equal(config.tags, "alpha;beta;zeta");
      assert.match(config.net0, /hwaddr=[0-9A-F]{2}(:[0-9A-F]{2}){5}/);
      assert.equal(config.password, undefined);
      assert.equal(config["ssh-public-keys"], undefined);
      assert.match(config.digest, /^[0-9a-f]{40}$/);
      assert.match(config.rootfs, /^local-lvm:vm-\d+-disk-0,size=8G$/);
      const logged = sandbox.requests.find((entry) => entry.method === "POST" && entry.params.vmid === String(id));
      assert.equal(logged!.params.password, "<redacted>");
    });
    it("delete=, digest mismatch, empty PUT, read-only unprivileged", async () => {
      const id = vmid();
      await created(id, { description: "hello", unprivileged: 1 });
      const path = `/nodes/pve1/lxc/${id}/config`;
      const { digest } = (await client.call("GET", path)).body.data;
      assert.equal((await client.call("PUT", path, { delete: "description", digest })).status, 200);
      assert.equal((await client.call("GET", path)).body.data.description, undefined);

      const stale = await client.call("PUT", path, { memory: 1024, digest });
      assert.equal(stale.status, 500);
      assert.equal(stale.reason, "detected modified configuration - file changed by other user? Try again.");

      const empty = await client.call("PUT", path, {});
      assert.equal(empty.status, 500);
      assert.equal(empty.reason, "no options specified");

      const readOnly = await client.call("PUT", path, { unprivileged: 0 });
      assert.equal(readOnly.status, 500);
      assert.equal(readOnly.reason, "unable to modify read-only option: 'unprivileged'");
    });
    it("on a running CT, non-hotplug changes go to pending until restart; current=1 shows the running values", async () => {
      const id = vmid();
      await created(id, { start: 1 });
      const path = `/nodes/pve1/lxc/${id}`;
      assert.equal((await client.call("PUT", `${path}/config`, { entrypoint: "/usr/bin/app", cores: 2 })).status, 200);
      const pending = (await client.call("GET", `${path}/pending`)).body.data;
      assert.deepEqual(pending.find((entry: { key: string }) => entry.key === "entrypoint"), { key: "entrypoint", pending: "/usr/bin/app" });
      assert.deepEqual(pending.find((entry: { key: string }) => entry.key === "cores"), { key: "cores", value: 2 });
      assert.equal((await client.call("GET", `${path}/config`)).body.data.entrypoint, "/usr/bin/app");
      assert.equal((await client.call("GET", `${path}/config`, { current: 1 })).body.data.entrypoint, undefined);

      const reboot = await client.call("POST", `${path}/status/reboot`);
      await client.waitTask("pve1", reboot.body.data);
      assert.equal((await client.call("GET", `${path}/config`, { current: 1 })).body.data.entrypoint, "/usr/bin/app");
      assert.equal((await client.call("GET", `${path}/pending`)).body.data.some((entry: { pending?: string }) => entry.pending), false);
      // cleanup_pending: setting what is already there leaves nothing pending, so nothing to restart for.
      assert.equal((await client.call("PUT", `${path}/config`, { entrypoint: "/usr/bin/app" })).status, 200);
      assert.equal((await client.call("GET", `${path}/pending`)).body.data.some((entry: { pending?: string }) => entry.pending), false);
    });
    it("resizes rootfs up, never down", async () => {
      const id = vmid();
      await created(id);
      const path = `/nodes/pve1/lxc/${id}`;
      const grow = await client.call("PUT", `${path}/resize`, { disk: "rootfs", size: "+2G" });
      await client.waitTask("pve1", grow.body.data);
      assert.match((await client.call("GET", `${path}/config`)).body.data.rootfs, /size=10G$/);
      const shrink = await client.call("PUT", `${path}/resize`, { disk: "rootfs", size: "4G" });
      assert.equal(shrink.status, 500);
    });
  });

  describe("power and interfaces", () => {
    it("start -> DHCP address appears after ipDelayMs -> shutdown -> delete", async () => {
      const id = vmid();
      await created(id);
      const path = `/nodes/pve1/lxc/${id}`;
      assert.equal((await client.call("GET", `${path}/interfaces`)).body.data, null, "no interfaces while stopped");
      const start = await client.call("POST", `${path}/status/start`);
      assert.match(start.body.data, /:vzstart:/);
      await client.waitTask("pve1", start.body.data);
      assert.equal((await client.call("GET", `${path}/status/current`)).body.data.status, "running");
      const again = await client.call("POST", `${path}/status/start`);
      assert.equal(again.status, 500);
      assert.equal(again.reason, `CT ${id} already running`);

      let eth0: { inet?: string; hwaddr: string } | undefined;
      const seen: Array<string | undefined> = [];
      for (let attempt = 0; attempt < 100 && !eth0?.inet; attempt++) {
        const interfaces = (await client.call("GET", `${path}/interfaces`)).body.data as Array<{ name: string; inet?: string; hwaddr: string }>;
        eth0 = interfaces.find((entry) => entry.name === "eth0");
        seen.push(eth0?.inet);
        if (!eth0?.inet) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(seen[0], undefined, "no lease right after start");
      assert.match(eth0!.inet!, /^10\.99\.\d+\.\d+\/16$/);

      const busyDelete = await client.call("DELETE", path);
      assert.equal(busyDelete.status, 500);
      assert.equal(busyDelete.reason, `unable to destroy CT ${id} - container is running`);
      const shutdown = await client.call("POST", `${path}/status/shutdown`, { timeout: 10, forceStop: 1 });
      await client.waitTask("pve1", shutdown.body.data);
      const destroy = await client.call("DELETE", path, { purge: 1, "destroy-unreferenced-disks": 1 });
      assert.match(destroy.body.data, /:vzdestroy:/);
      await client.waitTask("pve1", destroy.body.data);
      assert.equal(sandbox.containers().some((ct) => ct.vmid === id), false);
    });
    it("clones a stopped container", async () => {
      const id = vmid();
      const copy = vmid();
      await created(id);
      const clone = await client.call("POST", `/nodes/pve1/lxc/${id}/clone`, { newid: copy, hostname: "copy", full: 1, storage: "local-lvm" });
      assert.match(clone.body.data, /:vzclone:/);
      assert.equal((await client.waitTask("pve1", clone.body.data)).exitstatus, "OK");
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${copy}/config`)).body.data.hostname, "copy");
    });
  });

  describe("storage and OCI", () => {
    it("lists vztmpl content with the debian template", async () => {
      const reply = await client.call("GET", "/nodes/pve2/storage/local/content", { content: "vztmpl" });
      assert.deepEqual(reply.body.data.map((v: { volid: string }) => v.volid), [TEMPLATE]);
      const storages = await client.call("GET", "/nodes/pve2/storage", { content: "rootdir" });
      assert.deepEqual(storages.body.data.map((s: { storage: string }) => s.storage), ["local-lvm"]);
    });
    it("pulls an OCI image into local:vztmpl and creates from it with entrypoint, env and host-managed net", async () => {
      const images = await startSandbox({ ociImages: { "docker.io/library/nginx:1.27": { digest: "sha256:" + "ab".repeat(32), entrypoint: "/docker-entrypoint.sh nginx -g 'daemon off;'", env: { NGINX_VERSION: "1.27.0" } } } });
      const imagesClient = new SandboxClient(images);
      try {
        const pull = await imagesClient.call("POST", "/nodes/pve1/storage/local/oci-registry-pull", { reference: "docker.io/library/nginx:1.27" });
        assert.equal(pull.status, 200, JSON.stringify(pull.body));
        assert.equal((await imagesClient.waitTask("pve1", pull.body.data)).exitstatus, "OK");
        const content = await imagesClient.call("GET", "/nodes/pve1/storage/local/content", { content: "vztmpl" });
        const volid = "local:vztmpl/nginx_1.27.tar";
        assert.ok(content.body.data.some((v: { volid: string }) => v.volid === volid), JSON.stringify(content.body.data));
        const create = await imagesClient.call("POST", "/nodes/pve1/lxc", createParams(400, { ostemplate: volid }));
        await imagesClient.waitTask("pve1", create.body.data);
        const config = (await imagesClient.call("GET", "/nodes/pve1/lxc/400/config")).body.data;
        // Create.pm restore_oci_archive: the entrypoint is cmd2string of Entrypoint+Cmd, and the image's halt signal is a raw key.
        assert.equal(config.entrypoint, "/docker-entrypoint.sh nginx -g 'daemon off;'");
        assert.equal(config.cmode, "console");
        assert.equal(config.env, "NGINX_VERSION=1.27.0");
        assert.match(config.net0, /host-managed=1/);
        assert.deepEqual(config.lxc, [["lxc.signal.halt", "SIGTERM"]]);
        // An app container gets an address only on a host-managed NIC: without it, nothing in the image configures one.
        const addressOf = async () => ((await imagesClient.call("GET", "/nodes/pve1/lxc/400/interfaces")).body.data as Array<{ name: string; inet?: string }>)
          .find((entry) => entry.name === "eth0")?.inet;
        await imagesClient.waitTask("pve1", (await imagesClient.call("POST", "/nodes/pve1/lxc/400/status/start")).body.data);
        assert.match(String(await addressOf()), /^10\.99\./);
        await imagesClient.waitTask("pve1", (await imagesClient.call("POST", "/nodes/pve1/lxc/400/status/stop")).body.data);
        await imagesClient.call("PUT", "/nodes/pve1/lxc/400/config", { net0: config.net0.replace("host-managed=1,", "") });
        await imagesClient.waitTask("pve1", (await imagesClient.call("POST", "/nodes/pve1/lxc/400/status/start")).body.data);
        assert.equal(await addressOf(), undefined);
      } finally {
        await imagesClient.close();
        await images.close();
      }
    });
  });

  describe("ACLs", () => {
    it("adds and removes an ACL entry", async () => {
      const put = await client.call("PUT", "/access/acl", { path: "/vms", roles: "PVEVMAdmin", tokens: "root@pam!launchpad", propagate: 1 });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const acl = (await client.call("GET", "/access/acl")).body.data;
      assert.deepEqual(acl, [{ path: "/vms", roleid: "PVEVMAdmin", type: "token", ugid: "root@pam!launchpad", propagate: 1 }]);
      await client.call("PUT", "/access/acl", { path: "/vms", roles: "PVEVMAdmin", tokens: "root@pam!launchpad", delete: 1 });
      assert.deepEqual((await client.call("GET", "/access/acl")).body.data, []);
    });
  });

  describe("faults and the request log", () => {
    it("an error fault answers with its status and message, per method and path", async () => {
      sandbox.faults.endpoint({ method: "GET", path: /^\/cluster\/nextid$/, status: 503, message: "busy", count: 1 });
      const reply = await client.call("GET", "/cluster/nextid");
      assert.equal(reply.status, 503);
      assert.equal(reply.reason, "busy");
      assert.equal((await client.call("GET", "/cluster/nextid")).status, 200);
    });
    it("drop-before: no response and nothing happened", async () => {
      const id = vmid();
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", action: "drop-before", count: 1 });
      await assert.rejects(client.call("POST", "/nodes/pve1/lxc", createParams(id)));
      assert.equal(sandbox.containers().some((ct) => ct.vmid === id), false);
      assert.equal(sandbox.requests.at(-1)!.dropped, "before");
    });
    it("drop-after: no response, but the create happened", async () => {
      const id = vmid();
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", action: "drop-after", count: 1 });
      await assert.rejects(client.call("POST", "/nodes/pve1/lxc", createParams(id)));
      assert.equal(sandbox.containers().filter((ct) => ct.vmid === id).length, 1);
      assert.equal(sandbox.requests.at(-1)!.dropped, "after");
      const again = await client.call("POST", "/nodes/pve1/lxc", createParams(id));
      assert.match(again.reason, new RegExp(`CT ${id} already exists`));
    });
    it("counts requests, and shows when none arrived", async () => {
      sandbox.resetRequests();
      assert.equal(sandbox.requests.length, 0);
      await client.call("GET", "/version");
      await client.call("GET", "/nodes");
      assert.deepEqual(sandbox.requests.map((entry) => [entry.method, entry.path, entry.status, entry.template]), [
        ["GET", "/version", 200, "/version"],
        ["GET", "/nodes", 200, "/nodes"],
      ]);
      assert.equal(sandbox.requests[0].user, "root@pam!launchpad");
    });
  });
});
