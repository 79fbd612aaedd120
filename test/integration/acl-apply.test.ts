// ProxmoxPermission's apply layer (provider/acl/apply.ts) against the sandbox on loopback, in-process so that
// mutation testing reaches it: one ACL entry set, re-set, found and removed through `PUT /access/acl`, with
// the entries around it (another path, role or subject) left alone, and the removal of an entry whose user
// is gone. What PVE holds is read back through the API, never from the sandbox's memory.
import { strict as assert } from "assert";
import { startSandbox, type Sandbox } from "../../sandbox";
import { isLaunchpadError, type PveHttpError } from "../../provider/errors";
import { ProxmoxClient } from "../../provider/proxmox";
import { permissionId, readPermission, removePermission, setPermission } from "../../provider/acl/apply";
import { parseStoredInputs, type PermissionInputs } from "../../provider/acl/schema";
import { provider } from "../../provider/acl";

interface AclEntry { path: string; roleid: string; type: string; ugid: string; propagate: number }

describe("ProxmoxPermission's apply layer against the sandbox (integration, in process)", function () {
  let sandbox: Sandbox;
  let admin: ProxmoxClient;

  before(async () => {
    sandbox = await startSandbox({
      access: { users: [{ userid: "dev@pve" }, { userid: "ops@pve" }, { userid: "gone@pve" }], groups: ["devs"] },
    });
    admin = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint });
  });
  after(async () => {
    await admin?.close();
    try {
      assert.deepEqual(sandbox?.schemaViolations ?? [], [], "a request the official schema rejects was sent");
    } finally {
      await sandbox?.close();
    }
  });

  const inputs = (fields: Partial<PermissionInputs>): PermissionInputs =>
    parseStoredInputs({ connection: { endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint }, ...fields });
  const acl = () => admin.get<AclEntry[]>("/access/acl");
  const held = async (path: string) => (await acl()).filter((e) => e.path === path).map((e) => `${e.roleid} ${e.type}:${e.ugid} ${e.propagate}`).sort();

  it("sets one entry, re-sets propagate in place, reads it back, and removes only it", async () => {
    const entry = inputs({ path: "/vms/101", role: "PVEAuditor", user: "dev@pve" });
    assert.equal(permissionId(entry), "/vms/101|PVEAuditor|user:dev@pve");
    assert.equal(await readPermission(entry), undefined, "nothing is there before the set");
    await setPermission(entry);
    assert.deepEqual(await held("/vms/101"), ["PVEAuditor user:dev@pve 1"], "propagate defaults to on");
    assert.deepEqual(await readPermission(entry), { propagate: true });

    await setPermission({ ...entry, propagate: false });
    assert.deepEqual(await held("/vms/101"), ["PVEAuditor user:dev@pve 0"], "re-set in place, not added beside");
    assert.deepEqual(await readPermission(entry), { propagate: false });

    // Neighbours differing in one part each: the path, the role, the user, a group.
    const neighbours = [
      inputs({ path: "/vms/102", role: "PVEAuditor", user: "dev@pve" }),
      inputs({ path: "/vms/101", role: "PVEVMUser", user: "dev@pve" }),
      inputs({ path: "/vms/101", role: "PVEAuditor", user: "ops@pve" }),
      inputs({ path: "/vms/101", role: "PVEAuditor", group: "devs" }),
    ];
    for (const other of neighbours) await setPermission(other);
    await removePermission(entry);
    assert.equal(await readPermission(entry), undefined, "gone, though entries like it remain");
    assert.deepEqual(await held("/vms/101"), ["PVEAuditor group:devs 1", "PVEAuditor user:ops@pve 1", "PVEVMUser user:dev@pve 1"]);
    assert.deepEqual(await held("/vms/102"), ["PVEAuditor user:dev@pve 1"]);
    for (const other of neighbours) assert.deepEqual(await readPermission(other), { propagate: true }, permissionId(other));

    // A second removal (a retried delete) is no error: PVE removes an absent entry silently.
    await removePermission(entry);
    for (const other of neighbours) await removePermission(other);
    assert.deepEqual([...(await held("/vms/101")), ...(await held("/vms/102"))], []);
  });

  it("a group entry is its own: a user of the same name is another subject", async () => {
    const group = inputs({ path: "/pool", role: "PVEAuditor", group: "devs" });
    assert.equal(permissionId(group), "/pool|PVEAuditor|group:devs");
    await setPermission(group);
    assert.deepEqual(await held("/pool"), ["PVEAuditor group:devs 1"]);
    assert.equal(await readPermission(inputs({ path: "/pool", role: "PVEAuditor", user: "devs@pve" })), undefined);
    await removePermission(group);
    assert.deepEqual(await held("/pool"), []);
  });

  it("removing an entry whose user was deleted succeeds (the user took its entries along)", async () => {
    const entry = inputs({ path: "/storage/local", role: "PVEAuditor", user: "gone@pve" });
    await setPermission(entry);
    await admin.request("DELETE", "/access/users/gone@pve");
    assert.deepEqual(await held("/storage/local"), []);
    await removePermission(entry);
  });

  // The hooks in this process, as acme-apply drives acme/index.ts: the provider tests drive them through
  // the real host (test/host), whose child process mutation testing cannot see.
  it("the hooks: check names fields and adds defaults; create, diff, update, read (drift, gone) and delete", async () => {
    const connection = { endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint };
    const bad = await provider.check!({}, { path: "/vms/..", user: "dev", connection });
    assert.deepEqual(bad.failures!.map((f) => f.property).sort(), ["path", "user"]);
    const previous = process.env.PROXMOX_VE_ENDPOINT;
    process.env.PROXMOX_VE_ENDPOINT = "http://pve.example:8006";
    try {
      const inherited = await provider.check!({}, { path: "/vms/104", user: "dev@pve" });
      assert.equal(inherited.failures!.length, 1);
      assert.equal(inherited.failures![0].property, "PROXMOX_VE_ENDPOINT");
      assert.match(inherited.failures![0].reason, /http:\/\/ would send the API token or password in clear/);
      assert.deepEqual((await provider.check!({}, { path: "/vms/104", user: "dev@pve", connection })).failures, [], "a connection of its own is not the inherited one");
    } finally {
      if (previous === undefined) delete process.env.PROXMOX_VE_ENDPOINT; else process.env.PROXMOX_VE_ENDPOINT = previous;
    }
    const { inputs, failures } = await provider.check!({}, { path: "/vms/104", user: "dev@pve", connection, __provider: "serialized" });
    assert.deepEqual([failures, inputs.role, inputs.propagate, "__provider" in inputs], [[], "PVEVMUser", true, false]);

    const { id, outs } = await provider.create(inputs);
    assert.equal(id, "/vms/104|PVEVMUser|user:dev@pve");
    assert.deepEqual({ ...outs, connection: undefined }, { ...inputs, connection: undefined, schemaVersion: 1 });
    assert.deepEqual(await held("/vms/104"), ["PVEVMUser user:dev@pve 1"]);

    assert.deepEqual(await provider.diff!(id, outs!, { ...inputs, propagate: false }), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual(await provider.diff!(id, outs!, { ...inputs, role: "PVEAuditor" }), { changes: true, replaces: ["role"], deleteBeforeReplace: false });
    assert.deepEqual((await provider.diff!(id, outs!, inputs)).changes, false);

    const updated = (await provider.update!(id, outs!, { ...inputs, propagate: false })).outs!;
    assert.deepEqual([updated.propagate, updated.schemaVersion], [false, 1]);
    assert.deepEqual(await held("/vms/104"), ["PVEVMUser user:dev@pve 0"]);

    // Someone turned propagation back on: refresh reads it as drift, keeping the rest of the state.
    await admin.request("PUT", "/access/acl", { path: "/vms/104", roles: "PVEVMUser", users: "dev@pve", propagate: 1 });
    const read = await provider.read!(id, { ...updated, __provider: "serialized" });
    assert.deepEqual(read, { id, props: { ...updated, propagate: true } });

    await provider.delete!(id, updated);
    assert.deepEqual(await held("/vms/104"), []);
    assert.deepEqual(await provider.read!(id, updated), { id: "", props: {} }, "gone: the engine drops it from state");
  });

  it("a role or user Proxmox does not know fails at once with PVE's message, and nothing is written", async () => {
    sandbox.resetRequests();
    await assert.rejects(setPermission(inputs({ path: "/vms/103", role: "NoSuchRole", user: "dev@pve" })), (error: unknown) => {
      assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"), String(error));
      assert.match((error as PveHttpError).pveMessage, /role 'NoSuchRole' does not exist/);
      return true;
    });
    await assert.rejects(setPermission(inputs({ path: "/vms/103", role: "PVEAuditor", user: "nobody@pve" })), /user 'nobody@pve' does not exist/);
    // Removing for a role that does not exist is not the "user is gone" case: it still fails.
    await assert.rejects(removePermission(inputs({ path: "/vms/103", role: "NoSuchRole", user: "dev@pve" })), /role 'NoSuchRole' does not exist/);
    assert.equal(sandbox.requests.filter((r) => r.method === "PUT" && r.path === "/access/acl").length, 3, "each answer is final: not sent again");
    assert.deepEqual(await held("/vms/103"), []);
  });
});
