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
