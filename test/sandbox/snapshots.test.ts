// Snapshots and templates as pve-container answers them: tasks, locks, parents, reserved names,
// rollback, template conversion and its refusals, a clone from a snapshot.
import { strict as assert } from "assert";
import { startSandbox, Sandbox } from "../../sandbox";
import { createParams, SandboxClient } from "./helpers";

describe("sandbox snapshots and templates", function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let client: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzsnapshot: 60 } });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await client?.close();
    await sandbox?.close();
  });

  async function task(reply: { status: number; body: { data: any } }): Promise<{ exitstatus: string }> {
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return client.waitTask("pve1", reply.body.data);
  }
  const config = async (vmid: number) => (await client.call("GET", `/nodes/pve1/lxc/${vmid}/config`)).body.data;

  it("takes snapshots in a vzsnapshot task under the `snapshot` lock, links parents, and rolls back the config", async () => {
    assert.equal((await task(await client.call("POST", "/nodes/pve1/lxc", createParams(600, { memory: 256 })))).exitstatus, "OK");
    const first = await client.call("POST", "/nodes/pve1/lxc/600/snapshot", { snapname: "before", description: "clean" });
    assert.match(first.body.data, /:vzsnapshot:600:root@pam!launchpad:$/);
    assert.equal((await task(first)).exitstatus, "OK");
    assert.equal((await config(600)).parent, "before");
    await client.call("PUT", "/nodes/pve1/lxc/600/config", { memory: 1024 });
    assert.equal((await task(await client.call("POST", "/nodes/pve1/lxc/600/snapshot", { snapname: "after" }))).exitstatus, "OK");
    const list = (await client.call("GET", "/nodes/pve1/lxc/600/snapshot")).body.data as Array<Record<string, unknown>>;
    const byName = Object.fromEntries(list.map((item) => [item.name, item]));
    assert.equal(byName.before.description, "clean");
    assert.equal(byName.after.parent, "before");
    assert.equal(byName.current.parent, "after");
    assert.equal(byName.current.description, "You are here!");

    const again = await task(await client.call("POST", "/nodes/pve1/lxc/600/snapshot", { snapname: "after" }));
    assert.equal(again.exitstatus, "snapshot name 'after' already used");
    const reserved = await client.call("POST", "/nodes/pve1/lxc/600/snapshot", { snapname: "current" });
    assert.equal(reserved.body.message, "unable to use snapshot name 'current' (reserved name)\n");

    await client.call("POST", "/nodes/pve1/lxc/600/status/start", {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const rollback = await task(await client.call("POST", "/nodes/pve1/lxc/600/snapshot/before/rollback", {}));
    assert.equal(rollback.exitstatus, "OK");
    const rolled = await config(600);
    assert.equal(rolled.memory, 256);
    assert.equal(rolled.parent, "before");
    assert.equal(sandbox.containers().find((ct) => ct.vmid === 600)!.status, "stopped", "rollback stops the CT; start=1 would start it again");

    assert.equal((await task(await client.call("DELETE", "/nodes/pve1/lxc/600/snapshot/before"))).exitstatus, "OK");
    const after = (await client.call("GET", "/nodes/pve1/lxc/600/snapshot")).body.data as Array<Record<string, unknown>>;
    assert.equal(after.find((item) => item.name === "after")!.parent, undefined, "re-parented to the deleted one's parent");
    assert.equal((await config(600)).parent, undefined);
    const missing = await task(await client.call("DELETE", "/nodes/pve1/lxc/600/snapshot/before"));
    assert.equal(missing.exitstatus, "snapshot 'before' does not exist");
  });

  it("converts a stopped CT without snapshots to a template (answering null), with PVE's refusals", async () => {
    assert.equal((await task(await client.call("POST", "/nodes/pve1/lxc", createParams(620)))).exitstatus, "OK");
    const converted = await client.call("POST", "/nodes/pve1/lxc/620/template", {});
    assert.equal(converted.status, 200);
    assert.equal(converted.body.data, null);
    for (let i = 0; i < 100 && (await config(620)).template !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const conf = await config(620);
    assert.equal(conf.template, 1);
    assert.match(conf.rootfs, /^local-lvm:base-620-disk-0,/);
    const twice = await client.call("POST", "/nodes/pve1/lxc/620/template", {});
    assert.equal(twice.body.message, "you can't convert a template to a template\n");
    const snapshotted = await client.call("POST", "/nodes/pve1/lxc/600/template", {});
    assert.equal(snapshotted.body.message, "unable to create template, because CT contains snapshots\n");
    assert.equal((await task(await client.call("POST", "/nodes/pve1/lxc", createParams(621, { start: 1 })))).exitstatus, "OK");
    assert.equal((await client.waitStartAfterCreate("pve1", 621)).exitstatus, "OK");
    const running = await client.call("POST", "/nodes/pve1/lxc/621/template", {});
    assert.equal(running.body.message, "you can't convert a CT to template if the CT is running\n");
  });

  it("clones from a snapshot of a running CT, and names a missing snapshot", async () => {
    const none = await client.call("POST", "/nodes/pve1/lxc/621/clone", { newid: 631, snapname: "nope" });
    assert.equal(none.body.message, "snapshot 'nope' does not exist\n");
    assert.equal((await task(await client.call("POST", "/nodes/pve1/lxc/621/snapshot", { snapname: "s1" }))).exitstatus, "OK");
    assert.equal((await task(await client.call("POST", "/nodes/pve1/lxc/621/clone", { newid: 632, snapname: "s1", hostname: "from-snap" }))).exitstatus, "OK");
    assert.equal((await config(632)).hostname, "from-snap");
  });
});
