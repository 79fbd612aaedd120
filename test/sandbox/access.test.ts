// The sandbox's access model against PVE's: users, privsep tokens, roles, ACL propagation, the
// 403 wording, filtered reads, root@pam-only rules, and the PVE refusals and shapes around them.
import { strict as assert } from "assert";
import { request } from "https";
import { startSandbox, Sandbox } from "../../sandbox";
import { createParams, SandboxClient } from "./helpers";

describe("sandbox access control", function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let root: SandboxClient;

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: {} });
    root = new SandboxClient(sandbox);
  });
  after(async () => {
    await root?.close();
    await sandbox?.close();
  });

  const as = (token: string) => ({ auth: { Authorization: `PVEAPIToken=${token}` } });

  async function create(vmid: number, extra: Record<string, unknown> = {}, node = "pve1"): Promise<void> {
    const reply = await root.call("POST", `/nodes/${node}/lxc`, createParams(vmid, extra));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal((await root.waitTask(node, reply.body.data)).exitstatus, "OK");
  }

  /** A user with a privsep token, created through the access API as pveum does. */
  async function tokenFor(userid: string, tokenid = "ci", privsep = 1): Promise<string> {
    assert.equal((await root.call("POST", "/access/users", { userid })).status, 200);
    const reply = await root.call("POST", `/access/users/${userid}/token/${tokenid}`, { privsep });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.data["full-tokenid"], `${userid}!${tokenid}`);
    return `${userid}!${tokenid}=${reply.body.data.value}`;
  }

  async function acl(path: string, roles: string, subject: Record<string, string>, extra: Record<string, unknown> = {}): Promise<void> {
    const reply = await root.call("PUT", "/access/acl", { path, roles, ...subject, ...extra });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  }

  it("lists the built-in roles with pve-access-control's privileges, and refuses a custom role in the PVE namespace or with an unknown privilege", async () => {
    const roles = (await root.call("GET", "/access/roles")).body.data as Array<{ roleid: string; privs: string; special: number }>;
    const byId = Object.fromEntries(roles.map((role) => [role.roleid, role]));
    assert.equal(byId.PVETemplateUser.privs, "VM.Audit,VM.Clone");
    assert.equal(byId.PVEAuditor.privs, "Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,VM.Audit,VM.GuestAgent.Audit");
    assert.ok(!byId.PVEAdmin.privs.split(",").includes("Mapping.Modify"));
    assert.ok(!byId.PVEAdmin.privs.split(",").includes("Sys.Modify"));
    assert.equal(byId.NoAccess.privs, "");
    assert.equal(byId.Administrator.special, 1);

    const reserved = await root.call("POST", "/access/roles", { roleid: "PVEMine", privs: "VM.Audit" });
    assert.equal(reserved.status, 400);
    assert.equal(reserved.body.errors!.roleid, "cannot use role ID starting with the (case-insensitive) 'PVE' namespace");
    const bogus = await root.call("POST", "/access/roles", { roleid: "Mine", privs: "VM.Fly" });
    assert.equal(bogus.status, 500);
    assert.equal(bogus.body.message, "create role failed: invalid privilege 'VM.Fly'\n");
    assert.equal((await root.call("GET", "/access/roles/Mine")).body.message, "role 'Mine' does not exist\n");
    const builtin = await root.call("DELETE", "/access/roles/PVEAuditor");
    assert.equal(builtin.body.message, "auto-generated role 'PVEAuditor' cannot be deleted\n");
  });

  it("refuses an ACL for a role or a user that does not exist, as API2/ACL.pm does", async () => {
    await root.call("POST", "/access/users", { userid: "acl@pve" });
    const role = await root.call("PUT", "/access/acl", { path: "/vms", roles: "Nope", users: "acl@pve" });
    assert.equal(role.status, 500);
    assert.equal(role.body.message, "ACL update failed: role 'Nope' does not exist\n");
    const user = await root.call("PUT", "/access/acl", { path: "/vms", roles: "PVEAuditor", users: "ghost@pve" });
    assert.equal(user.status, 500);
    assert.equal(user.body.message, "ACL update failed: user 'ghost@pve' does not exist\n");
    const path = await root.call("PUT", "/access/acl", { path: "/nowhere", roles: "PVEAuditor", users: "acl@pve" });
    assert.equal(path.status, 400);
    assert.equal(path.body.errors!.path, "invalid ACL path '/nowhere'");
    const nobody = await root.call("PUT", "/access/acl", { path: "/vms", roles: "PVEAuditor" });
    assert.equal(nobody.status, 400);
    assert.equal(nobody.body.errors!.users, "either 'users', 'groups' or 'tokens' is required.");
  });

  it("returns a token's secret once, and the token authenticates as its token id", async () => {
    const token = await tokenFor("once@pve");
    const read = await root.call("GET", "/access/users/once@pve/token/ci");
    assert.deepEqual(read.body.data, { privsep: 1, expire: 0 });
    const again = await root.call("POST", "/access/users/once@pve/token/ci", {});
    assert.equal(again.status, 400);
    assert.equal(again.body.errors!.tokenid, "Token already exists.");
    const perms = await root.call("GET", "/access/permissions", undefined, as(token));
    assert.equal(perms.status, 200);
    assert.deepEqual(perms.body.data, {}, "a fresh privsep token has no privileges");
  });

  it("refuses with 403 'Permission check failed (<path>, <privilege>)' before any effect", async () => {
    await create(300);
    const token = await tokenFor("nobody@pve");
    const read = await root.call("GET", "/nodes/pve1/lxc/300/config", undefined, as(token));
    assert.equal(read.status, 403);
    assert.equal(read.reason, "Permission check failed (/vms/300, VM.Audit)");
    assert.deepEqual(read.body, { data: null, message: "Permission check failed (/vms/300, VM.Audit)\n" });
    const start = await root.call("POST", "/nodes/pve1/lxc/300/status/start", {}, as(token));
    assert.equal(start.body.message, "Permission check failed (/vms/300, VM.PowerMgmt)\n");
    const config = await root.call("PUT", "/nodes/pve1/lxc/300/config", { memory: 1024 }, as(token));
    assert.equal(config.body.message, "Permission check failed (/vms/300, VM.Config.Disk|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.Options)\n");
    // Permissions come before parameter verification (pve-manager PVE/HTTPServer.pm rest_handler).
    const bad = await root.call("PUT", "/nodes/pve1/lxc/300/config", { colour: "red" }, as(token));
    assert.equal(bad.status, 403);
    const createRefused = await root.call("POST", "/nodes/pve1/lxc", createParams(301), as(token));
    assert.equal(createRefused.body.message, "Permission check failed\n", "create_vm: neither /vms/301 nor a pool allows VM.Allocate");
    assert.equal(sandbox.containers().some((ct) => ct.vmid === 301), false);
    assert.equal((await root.call("GET", "/nodes/pve1/lxc/300/config")).body.data.memory, 512, "nothing changed");
  });

  it("gives a privsep token the intersection of its own ACLs and its user's", async () => {
    await create(310);
    const token = await tokenFor("both@pve");
    await acl("/vms", "PVEVMAdmin", { users: "both@pve" });
    await acl("/", "PVEAuditor", { tokens: "both@pve!ci" });
    assert.equal((await root.call("GET", "/nodes/pve1/lxc/310/config", undefined, as(token))).status, 200, "VM.Audit: user and token");
    const start = await root.call("POST", "/nodes/pve1/lxc/310/status/start", {}, as(token));
    assert.equal(start.body.message, "Permission check failed (/vms/310, VM.PowerMgmt)\n", "the user may, the token may not");
    const user = await root.call("GET", "/access/permissions", { path: "/vms/310", userid: "both@pve!ci" });
    assert.deepEqual(Object.keys(user.body.data["/vms/310"]).sort(), ["VM.Audit", "VM.GuestAgent.Audit"]);
  });

  it("a token without privsep has its user's privileges", async () => {
    await create(315);
    const token = await tokenFor("full@pve", "ci", 0);
    await acl("/vms", "PVEVMUser", { users: "full@pve" });
    assert.equal((await root.call("GET", "/nodes/pve1/lxc/315/status/current", undefined, as(token))).status, 200);
  });

  it("propagates ACLs down the path unless propagate=0, and NoAccess wins", async () => {
    await create(320);
    const token = await tokenFor("prop@pve", "ci", 0);
    await acl("/vms", "PVEAuditor", { users: "prop@pve" }, { propagate: 0 });
    const below = await root.call("GET", "/nodes/pve1/lxc/320/config", undefined, as(token));
    assert.equal(below.body.message, "Permission check failed (/vms/320, VM.Audit)\n");
    await acl("/", "PVEAuditor", { users: "prop@pve" });
    assert.equal((await root.call("GET", "/nodes/pve1/lxc/320/config", undefined, as(token))).status, 200);
    await acl("/vms/320", "NoAccess", { users: "prop@pve" });
    assert.equal((await root.call("GET", "/nodes/pve1/lxc/320/config", undefined, as(token))).status, 403);
  });

  it("filters /cluster/resources, /nodes/{node}/lxc and /nodes/{node}/storage to what the caller may see", async () => {
    await create(330);
    await create(331);
    const token = await tokenFor("see@pve", "ci", 0);
    await acl("/vms/331", "PVEAuditor", { users: "see@pve" });
    await acl("/storage/local", "PVEDatastoreUser", { users: "see@pve" });
    const resources = (await root.call("GET", "/cluster/resources", undefined, as(token))).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(resources.filter((r) => r.type === "lxc").map((r) => r.vmid), [331]);
    assert.deepEqual([...new Set(resources.filter((r) => r.type === "storage").map((r) => r.storage))], ["local"]);
    assert.equal(resources.find((r) => r.type === "node")!.maxmem, undefined, "no Sys.Audit on the node: no stats");
    const listed = (await root.call("GET", "/nodes/pve1/lxc", undefined, as(token))).body.data as Array<{ vmid: number }>;
    assert.deepEqual(listed.map((ct) => ct.vmid), [331]);
    const storages = (await root.call("GET", "/nodes/pve1/storage", undefined, as(token))).body.data as Array<{ storage: string }>;
    assert.deepEqual(storages.map((s) => s.storage), ["local"]);
  });

  it("keeps feature flags of privileged containers for root@pam: even the all-powerful token is refused", async () => {
    const privileged = await root.call("POST", "/nodes/pve1/lxc", createParams(340, { unprivileged: 0, features: "nesting=1" }));
    assert.equal(privileged.status, 403);
    assert.equal(privileged.body.message, "Permission check failed (changing feature flags for privileged container is only allowed for root@pam)\n");
    const keyctl = await root.call("POST", "/nodes/pve1/lxc", createParams(341, { features: "keyctl=1" }));
    assert.equal(keyctl.body.message, "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)\n");
    const nesting = await root.call("POST", "/nodes/pve1/lxc", createParams(342, { features: "nesting=1" }));
    assert.equal(nesting.status, 200, "nesting on an unprivileged CT needs VM.Allocate only");
    await root.waitTask("pve1", nesting.body.data);

    const login = await root.call("POST", "/access/ticket", { username: "root@pam", password: sandbox.password }, { auth: null });
    const ticket = { auth: { Cookie: `PVEAuthCookie=${login.body.data.ticket}`, CSRFPreventionToken: login.body.data.CSRFPreventionToken } };
    const asRoot = await root.call("POST", "/nodes/pve1/lxc", createParams(343, { unprivileged: 0, features: "nesting=1,keyctl=1" }), ticket);
    assert.equal(asRoot.status, 200, JSON.stringify(asRoot.body));
    await root.waitTask("pve1", asRoot.body.data);
  });

  it("creates unprivileged containers by default and stores type=veth on every NIC", async () => {
    await create(350);
    const config = (await root.call("GET", "/nodes/pve1/lxc/350/config")).body.data;
    assert.equal(config.unprivileged, 1);
    assert.match(config.net0, /(^|,)type=veth(,|$)/);
  });

  it("reports a token's task with user and tokenid apart, and total on task lists and logs", async () => {
    const reply = await root.call("POST", "/nodes/pve1/lxc", createParams(360));
    const upid = reply.body.data as string;
    assert.match(upid, /:root@pam!launchpad:$/);
    const status = await root.waitTask("pve1", upid);
    assert.equal((status as unknown as { user: string }).user, "root@pam");
    assert.equal((status as unknown as { tokenid: string }).tokenid, "launchpad");
    const tasks = await root.call("GET", "/nodes/pve1/tasks", { limit: 1 });
    assert.equal(tasks.body.data.length, 1);
    assert.ok((tasks.body as unknown as { total: number }).total > 1);
    const ok = await root.call("GET", "/nodes/pve1/tasks", { statusfilter: "error" });
    assert.equal(ok.body.data.length, 0, "no task failed");
    const log = await root.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { limit: 1 });
    const whole = await root.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { limit: 0 });
    assert.equal(log.body.data.length, 1);
    assert.equal((log.body as unknown as { total: number }).total, whole.body.data.length);
    assert.ok(whole.body.data.length > 1);
    const unknown = upid.replace(/:[0-9A-F]{8}:vzcreate/, ":0000ABCD:vzcreate");
    const missing = await root.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(unknown)}/status`);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errors!.upid, "no such task");
  });

  it("refuses to clone a CT on local storage to another node, and a full clone of a running CT, in PVE's words", async () => {
    await create(370);
    const elsewhere = await root.call("POST", "/nodes/pve1/lxc/370/clone", { newid: 371, target: "pve2" });
    assert.equal(elsewhere.status, 500);
    assert.equal(elsewhere.body.message, "can't clone CT to node 'pve2' (CT uses local storage)\n");
    await root.waitTask("pve1", (await root.call("POST", "/nodes/pve1/lxc/370/status/start", {})).body.data);
    const running = await root.call("POST", "/nodes/pve1/lxc/370/clone", { newid: 372 });
    assert.equal(running.body.message, "Cannot do full clones on a running container without snapshots\n");
    const destroy = await root.call("DELETE", "/nodes/pve1/lxc/370");
    assert.equal(destroy.body.message, "unable to destroy CT 370 - container is running\n");
    assert.equal(sandbox.containers().some((ct) => ct.vmid === 371 || ct.vmid === 372), false);
  });

  it("removes the guest's ACL entries on destroy even without purge (API2/LXC.pm destroy_vm: remove_vm_access)", async () => {
    await create(380);
    await root.call("POST", "/access/users", { userid: "owner@pve" });
    await acl("/vms/380", "PVEVMUser", { users: "owner@pve" });
    const upid = (await root.call("DELETE", "/nodes/pve1/lxc/380")).body.data;
    assert.equal((await root.waitTask("pve1", upid)).exitstatus, "OK");
    const entries = (await root.call("GET", "/access/acl")).body.data as Array<{ path: string }>;
    assert.equal(entries.some((entry) => entry.path === "/vms/380"), false);
  });

  it("refuses a rootfs on a storage that holds no container disks, as a parameter error (API2/LXC.pm create_vm)", async () => {
    const reply = await root.call("POST", "/nodes/pve1/lxc", createParams(395, { rootfs: "local:8" }));
    assert.equal(reply.status, 400);
    assert.deepEqual(reply.body.errors, { storage: "storage 'local' does not support container directories" });
    assert.equal(sandbox.containers().some((ct) => ct.vmid === 395), false);
  });

  it("refuses to resize a disk to the size it has", async () => {
    await create(390);
    const same = await root.call("PUT", "/nodes/pve1/lxc/390/resize", { disk: "rootfs", size: "8G" });
    assert.equal(same.status, 500);
    assert.equal(same.body.message, "disk is already at specified size\n");
  });

  it("answers a path outside /api2 with 'no such uri' in the reason phrase and the body", async () => {
    const { status, reason, body } = await new Promise<{ status: number; reason: string; body: string }>((resolve, reject) => {
      const url = new URL(`${sandbox.endpoint}/elsewhere`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, ca: sandbox.caCert }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, reason: res.statusMessage!, body: text }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 501);
    assert.equal(reason, "no such uri");
    assert.equal(body, "no such uri");
  });
});
