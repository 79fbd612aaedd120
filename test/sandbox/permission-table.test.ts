// One row per Proxmox call the provider makes: the privilege it needs (from the official schema's
// `permissions` entry and PVE's code checks, as sandbox/leastPrivilege.ts derives them), a 403 in
// PVE's exact words when a token lacks it, and success when the token has it. Also holds the
// README's least-privilege role to the derived one.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PveHttpError } from "../../provider/errors";
import { ProxmoxClient } from "../../provider/proxmox";
import { startSandbox, Sandbox } from "../../sandbox";
import { deriveRole, needsOf, OWNER_ROLE, PROVIDER_CALLS } from "../../sandbox/leastPrivilege";
import { createParams, SandboxClient, TEMPLATE } from "./helpers";

interface Row {
  call: string;
  /** The request: path and parameters; `vmid` rows use the running CT 500 unless they say otherwise. */
  path: string;
  params?: Record<string, unknown>;
  /** Privilege taken away, and the refusal PVE gives without it (undefined: the result is filtered instead). */
  without: string | string[];
  refusal?: string;
  /** For filtered reads: what the answer lacks without the privilege. */
  filtered?: (data: any) => void;
  /** Caller is root for the success probe setup (tasks of another user). */
  ok?: (data: any) => void;
}

describe("permission table: every call the provider makes", function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  let root: SandboxClient;
  let token: string;
  let role: string[];
  let rootUpid: string;

  const as = () => ({ auth: { Authorization: `PVEAPIToken=${token}` } });

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: {} });
    root = new SandboxClient(sandbox);
    const owner = (await root.call("GET", `/access/roles/${OWNER_ROLE}`)).body.data;
    role = deriveRole(PROVIDER_CALLS, Object.keys(owner));
    assert.equal((await root.call("POST", "/access/roles", { roleid: "Table", privs: role.join(",") })).status, 200);
    await root.call("POST", "/access/users", { userid: "table@pve" });
    await root.call("POST", "/access/users", { userid: "alice@pve" });
    const created = (await root.call("POST", "/access/users/table@pve/token/ci", { privsep: 1 })).body.data;
    token = `${created["full-tokenid"]}=${created.value}`;
    await root.call("PUT", "/access/acl", { path: "/", roles: "Table", users: "table@pve" });
    await root.call("PUT", "/access/acl", { path: "/", roles: "Table", tokens: "table@pve!ci" });
    const make = async (vmid: number, extra: Record<string, unknown>) => {
      const upid = (await root.call("POST", "/nodes/pve1/lxc", createParams(vmid, extra))).body.data;
      assert.equal((await root.waitTask("pve1", upid)).exitstatus, "OK");
      return upid as string;
    };
    rootUpid = await make(500, { start: 1 });
    await make(900, { template: 1 });
  });
  after(async () => {
    await root?.close();
    await sandbox?.close();
  });

  /** The token's role with `privs` taken out (the ACL on / stays). */
  async function roleWithout(privs: string[]): Promise<void> {
    const reply = await root.call("PUT", "/access/roles/Table", { privs: role.filter((priv) => !privs.includes(priv)).join(",") });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  }

  const rows: Row[] = [
    { call: "GET /cluster/resources", path: "/cluster/resources", without: "VM.Audit", filtered: (data) => assert.ok(!data.some((r: any) => r.vmid === 500)), ok: (data) => assert.ok(data.some((r: any) => r.vmid === 500)) },
    { call: "GET /cluster/nextid", path: "/cluster/nextid", without: [], ok: (data) => assert.equal(data, "100") },
    { call: "GET /nodes/{node}/storage", path: "/nodes/pve1/storage", without: ["Datastore.Audit", "Datastore.AllocateSpace"], filtered: (data) => assert.deepEqual(data, []), ok: (data) => assert.ok(data.length > 0) },
    { call: "GET /nodes/{node}/storage/{storage}/content", path: "/nodes/pve1/storage/local/content", params: { content: "vztmpl" }, without: ["Datastore.Audit", "Datastore.AllocateSpace"], refusal: "/storage/local, Datastore.Audit|Datastore.AllocateSpace" },
    { call: "GET /nodes/{node}/lxc/{vmid}/config", path: "/nodes/pve1/lxc/500/config", without: "VM.Audit", refusal: "/vms/500, VM.Audit" },
    { call: "PUT /nodes/{node}/lxc/{vmid}/config", path: "/nodes/pve1/lxc/500/config", params: { memory: 1024 }, without: "VM.Config.Memory", refusal: "/vms/500, VM.Config.Memory" },
    { call: "PUT /nodes/{node}/lxc/{vmid}/config", path: "/nodes/pve1/lxc/500/config", params: { net0: "name=eth0,bridge=vmbr0,ip=dhcp" }, without: "SDN.Use", refusal: "/sdn/zones/localnetwork/vmbr0, SDN.Use" },
    { call: "PUT /nodes/{node}/lxc/{vmid}/config", path: "/nodes/pve1/lxc/500/config", params: { tags: "a;b", description: "x" }, without: "VM.Config.Options", refusal: "/vms/500, VM.Config.Options" },
    { call: "GET /nodes/{node}/lxc/{vmid}/pending", path: "/nodes/pve1/lxc/500/pending", without: "VM.Audit", refusal: "/vms/500, VM.Audit" },
    { call: "PUT /nodes/{node}/lxc/{vmid}/resize", path: "/nodes/pve1/lxc/500/resize", params: { disk: "rootfs", size: "+1G" }, without: "VM.Config.Disk", refusal: "/vms/500, VM.Config.Disk" },
    { call: "PUT /nodes/{node}/lxc/{vmid}/resize", path: "/nodes/pve1/lxc/500/resize", params: { disk: "rootfs", size: "+1G" }, without: "Datastore.AllocateSpace", refusal: "/storage/local-lvm, Datastore.AllocateSpace" },
    { call: "GET /nodes/{node}/lxc/{vmid}/status/current", path: "/nodes/pve1/lxc/500/status/current", without: "VM.Audit", refusal: "/vms/500, VM.Audit" },
    { call: "GET /nodes/{node}/lxc/{vmid}/interfaces", path: "/nodes/pve1/lxc/500/interfaces", without: "VM.Audit", refusal: "/vms/500, VM.Audit" },
    { call: "POST /nodes/{node}/lxc/{vmid}/status/reboot", path: "/nodes/pve1/lxc/500/status/reboot", without: "VM.PowerMgmt", refusal: "/vms/500, VM.PowerMgmt" },
    { call: "POST /nodes/{node}/lxc/{vmid}/status/shutdown", path: "/nodes/pve1/lxc/500/status/shutdown", params: { forceStop: 1, timeout: 5 }, without: "VM.PowerMgmt", refusal: "/vms/500, VM.PowerMgmt" },
    { call: "POST /nodes/{node}/lxc/{vmid}/status/start", path: "/nodes/pve1/lxc/500/status/start", without: "VM.PowerMgmt", refusal: "/vms/500, VM.PowerMgmt" },
    { call: "POST /nodes/{node}/lxc/{vmid}/clone", path: "/nodes/pve1/lxc/900/clone", params: { newid: 520, hostname: "clone", full: 1 }, without: "VM.Clone", refusal: "/vms/900, VM.Clone" },
    { call: "POST /nodes/{node}/lxc/{vmid}/clone", path: "/nodes/pve1/lxc/900/clone", params: { newid: 521, hostname: "clone", full: 1 }, without: "VM.Allocate", refusal: "" },
    { call: "POST /nodes/{node}/lxc", path: "/nodes/pve1/lxc", params: createParams(510, { memory: 256, features: "nesting=1" }), without: "VM.Allocate", refusal: "" },
    { call: "POST /nodes/{node}/lxc", path: "/nodes/pve1/lxc", params: createParams(511, { memory: 256 }), without: "VM.Config.Memory", refusal: "/vms/511, VM.Config.Memory" },
    { call: "POST /nodes/{node}/lxc", path: "/nodes/pve1/lxc", params: createParams(512), without: "VM.Config.Network", refusal: "/vms/512, VM.Config.Network" },
    { call: "POST /nodes/{node}/lxc", path: "/nodes/pve1/lxc", params: createParams(513), without: "SDN.Use", refusal: "/sdn/zones/localnetwork/vmbr0, SDN.Use" },
    { call: "POST /nodes/{node}/lxc", path: "/nodes/pve1/lxc", params: createParams(514), without: "Datastore.AllocateSpace", refusal: "/storage/local-lvm, Datastore.AllocateSpace" },
    { call: "POST /nodes/{node}/storage/{storage}/oci-registry-pull", path: "/nodes/pve1/storage/local/oci-registry-pull", params: { reference: "docker.io/library/nginx:1.27" }, without: "Datastore.AllocateTemplate", refusal: "/storage/local, Datastore.AllocateTemplate" },
    { call: "POST /nodes/{node}/storage/{storage}/oci-registry-pull", path: "/nodes/pve1/storage/local/oci-registry-pull", params: { reference: "docker.io/library/nginx:1.28" }, without: "Sys.AccessNetwork", refusal: "/nodes/pve1, Sys.AccessNetwork" },
    // Every user may list tasks; a caller without Sys.Audit on the node sees only its own.
    { call: "GET /nodes/{node}/tasks", path: "/nodes/pve1/tasks", without: [], ok: (data) => assert.ok(Array.isArray(data)) },
    { call: "PUT /access/acl", path: "/access/acl", params: { path: "/vms/500", roles: OWNER_ROLE, users: "alice@pve" }, without: "VM.Allocate", refusal: "/vms/500, Permissions.Modify|VM.Allocate" },
    { call: "GET /access/acl", path: "/access/acl", without: "VM.Allocate", filtered: (data) => assert.ok(!data.some((e: any) => e.path === "/vms/500")), ok: (data) => assert.ok(data.some((e: any) => e.path === "/vms/500")) },
    { call: "DELETE /nodes/{node}/lxc/{vmid}", path: "/nodes/pve1/lxc/510", params: { purge: 1, "destroy-unreferenced-disks": 1 }, without: "VM.Allocate", refusal: "/vms/510, VM.Allocate" },
  ];

  for (const row of rows) {
    const without = Array.isArray(row.without) ? row.without : [row.without];
    const method = row.call.split(" ")[0];
    const label = `${row.call} ${row.params ? JSON.stringify(row.params).slice(0, 60) : ""}: needs ${without.join(" or ") || "nothing"}`;
    it(label, async () => {
      // The privilege the row takes away is one the derivation asks for (so the README's role has it).
      for (const priv of without) assert.ok(role.includes(priv), `${priv} is in the derived role`);
      const needed = needsOf(row.call).flatMap((need) => need.privs);
      if (row.refusal !== undefined) assert.ok(without.some((priv) => needed.includes(priv)), `${row.call}: the schema or a code check names ${without.join("|")}`);

      await roleWithout(without);
      const before = sandbox.containers().length;
      const refused = await root.call(method, row.path, row.params, as());
      if (row.refusal !== undefined) {
        const message = row.refusal ? `Permission check failed (${row.refusal})` : "Permission check failed";
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        assert.equal(refused.reason, message);
        assert.deepEqual(refused.body, { data: null, message: `${message}\n` });
        assert.equal(sandbox.containers().length, before, "refused before any effect");
      } else if (row.filtered) {
        assert.equal(refused.status, 200);
        row.filtered(refused.body.data);
      }

      await roleWithout([]);
      const allowed = await root.call(method, row.path, row.params, as());
      assert.equal(allowed.status, 200, `${row.call} with the whole role: ${JSON.stringify(allowed.body)}`);
      if (typeof allowed.body.data === "string" && allowed.body.data.startsWith("UPID:")) {
        const node = allowed.body.data.split(":")[1];
        // The token polls its own task: no privilege needed (API2/Tasks.pm check_task_user).
        const status = await root.call("GET", `/nodes/${node}/tasks/${encodeURIComponent(allowed.body.data)}/status`, undefined, as());
        assert.equal(status.status, 200);
        for (;;) {
          const polled = (await root.call("GET", `/nodes/${node}/tasks/${encodeURIComponent(allowed.body.data)}/status`, undefined, as())).body.data;
          if (polled.status === "stopped") {
            assert.equal(polled.exitstatus, "OK", JSON.stringify(polled));
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const log = await root.call("GET", `/nodes/${node}/tasks/${encodeURIComponent(allowed.body.data)}/log`, undefined, as());
        assert.equal(log.status, 200);
      }
      row.ok?.(allowed.body.data);
    });
  }

  it("GET /nodes/{node}/tasks/{upid}/status and /log: its own tasks need nothing, another user's need Sys.Audit on the node", async () => {
    for (const what of ["status", "log"]) {
      const reply = await root.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(rootUpid)}/${what}`, undefined, as());
      assert.equal(reply.status, 403);
      assert.equal(reply.body.message, "Permission check failed (/nodes/pve1, Sys.Audit)\n");
    }
  });

  it("POST /nodes/{node}/storage/{storage}/upload: needs Datastore.AllocateTemplate on the storage", async () => {
    // The multipart body goes through the provider's own client (the table's client sends forms only).
    assert.ok(needsOf("POST /nodes/{node}/storage/{storage}/upload").some((need) => need.privs.includes("Datastore.AllocateTemplate")));
    assert.ok(role.includes("Datastore.AllocateTemplate"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "perm-upload-"));
    const file = path.join(dir, "page.tar");
    fs.writeFileSync(file, Buffer.alloc(10_240));
    const client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: token, fingerprint: sandbox.fingerprint });
    const upload = () => client.upload<string>("/nodes/pve1/storage/local/upload", { content: "vztmpl" }, { path: file, name: "perm-page.tar" });
    try {
      await roleWithout(["Datastore.AllocateTemplate"]);
      const refused = await upload().then(() => undefined, (e: unknown) => e);
      assert.ok(refused instanceof PveHttpError, String(refused));
      assert.equal(refused.status, 403);
      assert.match(refused.message, /Permission check failed \(\/storage\/local, Datastore\.AllocateTemplate\)/);
      const listed = async () => (await root.call("GET", "/nodes/pve1/storage/local/content", { content: "vztmpl" })).body.data.map((e: any) => e.volid);
      assert.ok(!(await listed()).includes("local:vztmpl/perm-page.tar"), "refused before any effect");
      await roleWithout([]);
      const upid = await upload();
      assert.match(upid, /^UPID:pve1:.*:imgcopy:/);
      assert.equal((await client.waitForTask(upid)).exitstatus, "OK");
      assert.ok((await listed()).includes("local:vztmpl/perm-page.tar"));
    } finally {
      await roleWithout([]);
      await client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("covers every call the provider makes", () => {
    const covered = new Set([...rows.map((row) => row.call), "GET /nodes/{node}/tasks/{upid}/status", "GET /nodes/{node}/tasks/{upid}/log", "POST /nodes/{node}/storage/{storage}/upload"]);
    assert.deepEqual(PROVIDER_CALLS.filter((call) => !covered.has(call)), []);
  });

  it("the README gives exactly the derived role", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const match = /pveum role add LaunchpadCI -privs "([^"]+)"/.exec(readme);
    assert.ok(match, "the README has the pveum role command");
    assert.deepEqual(match[1].split(","), role);
  });

  void TEMPLATE;
});
