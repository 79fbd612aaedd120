// Where the sandbox follows real Proxmox VE closely enough for third-party clients: the OCI pull task
// (pve-storage), unknown paths and methods and auth failures (pve-http-server, pve-manager), token
// wording (pve-access-control), the endpoints clients read first, schema-violation records, and a
// container whose entrypoint exited reading as stopped.
import { strict as assert } from "assert";
import { MemoryBackend, Sandbox, startSandbox } from "../../sandbox";
import { createParams, SandboxClient } from "./helpers";

describe("sandbox fidelity to Proxmox VE", function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let client: SandboxClient;
  const backend = new MemoryBackend();
  let nextVmid = 500;
  const vmid = () => nextVmid++;

  before(async () => {
    sandbox = await startSandbox({ backend, ociImages: { "docker.io/library/nginx:1.27": { digest: "sha256:" + "cd".repeat(32) } } });
    client = new SandboxClient(sandbox);
  });
  after(async () => {
    await client?.close();
    await sandbox?.close();
  });

  async function created(id: number, extra: Record<string, unknown> = {}): Promise<void> {
    const reply = await client.call("POST", "/nodes/pve1/lxc", createParams(id, extra));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal((await client.waitTask("pve1", reply.body.data)).exitstatus, "OK");
    if (extra.start) assert.equal((await client.waitStartAfterCreate("pve1", id)).exitstatus, "OK");
  }

  describe("OCI pull (PVE::API2::Storage::Status oci_registry_pull)", () => {
    it("runs an `ociregistrypull` task named after the file, whose log is skopeo's", async () => {
      const pull = await client.call("POST", "/nodes/pve1/storage/local/oci-registry-pull", { reference: "docker.io/library/nginx:1.27" });
      assert.equal(pull.status, 200, JSON.stringify(pull.body));
      assert.match(pull.body.data, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:ociregistrypull:nginx_1\.27\.tar:root@pam!launchpad:$/);
      assert.equal((await client.waitTask("pve1", pull.body.data)).exitstatus, "OK");
      const log = (await client.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(pull.body.data)}/log`)).body.data.map((line: { t: string }) => line.t);
      assert.equal(log[0], "Getting image source signatures");
      assert.match(log[1], /^Copying blob sha256:[0-9a-f]{64}$/);
      assert.match(log[2], /^Copying config sha256:[0-9a-f]{64}$/);
      assert.equal(log[3], "Writing manifest to image destination");
      assert.equal(log.at(-1), "TASK OK");
      assert.ok(!log.some((line: string) => /digest:/.test(line)), "skopeo copy prints no digest line");
    });
    it("appends `.tar` to the given filename itself, normalized, even when it already ends in .tar", async () => {
      for (const [filename, volid] of [["web app", "local:vztmpl/web_app.tar"], ["base.tar", "local:vztmpl/base.tar.tar"]]) {
        const pull = await client.call("POST", "/nodes/pve2/storage/local/oci-registry-pull", { reference: "docker.io/library/nginx:1.27", filename });
        assert.equal(pull.status, 200, JSON.stringify(pull.body));
        await client.waitTask("pve2", pull.body.data);
        const content = (await client.call("GET", "/nodes/pve2/storage/local/content", { content: "vztmpl" })).body.data;
        assert.ok(content.some((v: { volid: string }) => v.volid === volid), `${volid} in ${JSON.stringify(content)}`);
      }
    });
    it("refuses to override an existing file before starting a task", async () => {
      const reply = await client.call("POST", "/nodes/pve1/storage/local/oci-registry-pull", { reference: "docker.io/library/nginx:1.27" });
      assert.equal(reply.status, 500);
      assert.equal(reply.reason, "refusing to override existing file 'nginx_1.27.tar'");
      assert.deepEqual(reply.body, { data: null, message: "refusing to override existing file 'nginx_1.27.tar'\n" });
    });
    it("refuses a storage that is not file based", async () => {
      const reply = await client.call("POST", "/nodes/pve1/storage/local-lvm/oci-registry-pull", { reference: "docker.io/library/nginx:1.27" });
      assert.equal(reply.status, 500);
      assert.equal(reply.reason, "can't upload to storage type 'lvmthin', not a file based storage!");
    });
  });

  describe("unknown paths, methods and credentials (pve-http-server, PVE::HTTPServer)", () => {
    it("answers an unknown path with 501 `Method '<METHOD> <path>' not implemented` and that message in the body", async () => {
      const reply = await client.call("GET", "/nodes/pve1/foo");
      assert.equal(reply.status, 501);
      assert.equal(reply.reason, "Method 'GET /nodes/pve1/foo' not implemented");
      assert.deepEqual(reply.body, { data: null, message: "Method 'GET /nodes/pve1/foo' not implemented" });
      assert.equal(reply.contentType, "application/json;charset=UTF-8");
    });
    it("answers a method the path does not have the same way", async () => {
      const reply = await client.call("PUT", "/nodes/pve1/lxc");
      assert.equal(reply.status, 501);
      assert.deepEqual(reply.body, { data: null, message: "Method 'PUT /nodes/pve1/lxc' not implemented" });
    });
    it("authenticates before it looks for a handler: an unknown path without credentials is 401", async () => {
      const reply = await client.call("GET", "/nodes/pve1/foo", undefined, { auth: null });
      assert.equal(reply.status, 401);
      assert.equal(reply.reason, "No ticket");
    });
    it("answers an HTTP method outside GET/POST/PUT/DELETE with 501 `method 'X' not available` and no body", async () => {
      const reply = await client.call("PATCH", "/nodes");
      assert.equal(reply.status, 501);
      assert.equal(reply.reason, "method 'PATCH' not available");
      assert.equal(reply.body, null);
    });
    it("refuses a path parameter repeated in the query with another value", async () => {
      const reply = await client.call("GET", "/nodes/pve1/lxc", { node: "pve2" });
      assert.equal(reply.status, 400);
      assert.deepEqual(reply.body.errors, { node: "duplicate parameter (already defined in URI) with conflicting values!" });
    });
  });

  describe("API tokens (PVE::AccessControl::verify_token)", () => {
    const secret = () => sandbox.apiToken.split("=")[1];
    const token = (value: string) => ({ Authorization: `PVEAPIToken=${value}` });
    for (const [name, value, reason] of [
      ["an unknown token", () => `root@pam!nope=${secret()}`, "no such token 'nope' for user 'root@pam'"],
      ["an unknown user", () => `ghost@pve!ci=${secret()}`, "no such user ('ghost@pve')"],
      ["a token without a secret", () => "root@pam!launchpad", "no tokenid specified"],
      ["a malformed token id", () => `root!launchpad=${secret()}`, "'root!launchpad' is not a valid token ID - not able to split into user and token parts"],
      ["a wrong secret", () => "root@pam!launchpad=00000000-0000-0000-0000-000000000000", "invalid token value!"],
    ] as Array<[string, () => string, string]>) {
      it(`refuses ${name} with 401 \`${reason}\` and no body`, async () => {
        const reply = await client.call("GET", "/nodes", undefined, { auth: token(value()) });
        assert.equal(reply.status, 401);
        assert.equal(reply.reason, reason);
        assert.equal(reply.body, null);
      });
    }
    it("takes the API token also as `PVEAPIToken <id>=<secret>` (space instead of `=`)", async () => {
      const reply = await client.call("GET", "/version", undefined, { auth: { Authorization: `PVEAPIToken ${sandbox.apiToken}` } });
      assert.equal(reply.status, 200);
    });
  });

  describe("endpoints clients read first", () => {
    it("GET /nodes/{node}: the node's subdirectory index", async () => {
      const names = (await client.call("GET", "/nodes/pve1")).body.data.map((entry: { name: string }) => entry.name);
      for (const name of ["lxc", "qemu", "status", "storage", "network", "tasks", "version"]) assert.ok(names.includes(name), name);
    });
    it("GET /nodes/{node}/qemu: an empty list, validated", async () => {
      assert.deepEqual((await client.call("GET", "/nodes/pve2/qemu", { full: 1 })).body.data, []);
      assert.equal((await client.call("GET", "/nodes/pve2/qemu", { full: "maybe" })).status, 400);
    });
    it("GET /cluster/resources without a type: nodes, guests and storages", async () => {
      const id = vmid();
      await created(id);
      const types = new Set((await client.call("GET", "/cluster/resources")).body.data.map((entry: { type: string }) => entry.type));
      assert.deepEqual([...types].sort(), ["lxc", "node", "storage"]);
    });
    it("GET /access/permissions: the caller's privileges by path, or one path", async () => {
      const all = (await client.call("GET", "/access/permissions")).body.data;
      assert.equal(all["/vms"]["VM.Allocate"], 1);
      assert.equal(all["/storage"]["Datastore.AllocateTemplate"], 1);
      const one = (await client.call("GET", "/access/permissions", { path: "/nodes/pve1" })).body.data;
      assert.deepEqual(Object.keys(one), ["/nodes/pve1"]);
      assert.equal(one["/nodes/pve1"]["Sys.AccessNetwork"], 1);
      assert.equal((await client.call("GET", "/access/permissions", { userid: "not a user" })).status, 400);
    });
    it("GET /nodes/{node}/network: the vmbr0 bridge, filtered by type", async () => {
      const bridges = (await client.call("GET", "/nodes/pve1/network", { type: "any_bridge" })).body.data;
      assert.deepEqual(bridges.map((entry: { iface: string }) => entry.iface), ["vmbr0"]);
      assert.equal(bridges[0].type, "bridge");
      assert.equal(bridges[0].active, 1);
      const reply = await client.call("GET", "/nodes/pve1/network", { type: "wifi" });
      assert.equal(reply.status, 400);
      assert.match(reply.body.errors!.type, /enumeration/);
    });
    it("GET /storage: the storage configuration, filtered by type", async () => {
      const all = (await client.call("GET", "/storage")).body.data;
      assert.deepEqual(all.map((entry: { storage: string }) => entry.storage), ["local", "local-lvm"]);
      assert.deepEqual((await client.call("GET", "/storage", { type: "lvmthin" })).body.data.map((entry: { storage: string }) => entry.storage), ["local-lvm"]);
      assert.equal((await client.call("GET", "/storage", { type: "floppy" })).status, 400);
    });
    it("GET /pools and GET /cluster/nextid answer", async () => {
      assert.ok(Array.isArray((await client.call("GET", "/pools")).body.data));
      assert.match((await client.call("GET", "/cluster/nextid")).body.data, /^\d+$/);
    });
    it("GET .../lxc/{vmid}/status: the subdirectory index; .../snapshot: only `current`", async () => {
      const id = vmid();
      await created(id);
      const status = (await client.call("GET", `/nodes/pve1/lxc/${id}/status`)).body.data.map((entry: { subdir: string }) => entry.subdir);
      assert.ok(status.includes("current") && status.includes("start"), JSON.stringify(status));
      const snapshots = (await client.call("GET", `/nodes/pve1/lxc/${id}/snapshot`)).body.data;
      assert.equal(snapshots.length, 1);
      assert.equal(snapshots[0].name, "current");
      assert.equal(snapshots[0].running, 0);
      assert.equal(snapshots[0].digest, (await client.call("GET", `/nodes/pve1/lxc/${id}/config`)).body.data.digest);
    });
  });

  describe("interfaces of a stopped container (PVE::LXC::get_interfaces)", () => {
    it("answers 200 with data null, as find_lxc_pid fails", async () => {
      const id = vmid();
      await created(id);
      const reply = await client.call("GET", `/nodes/pve1/lxc/${id}/interfaces`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { data: null });
    });

    it("answers data null for a CT that does not exist, or is on another node: get_interfaces reads no config", async () => {
      const missing = await client.call("GET", `/nodes/pve1/lxc/${vmid()}/interfaces`);
      assert.equal(missing.status, 200);
      assert.deepEqual(missing.body, { data: null });
      const id = vmid();
      await created(id);
      const elsewhere = await client.call("GET", `/nodes/pve2/lxc/${id}/interfaces`);
      assert.equal(elsewhere.status, 200);
      assert.deepEqual(elsewhere.body, { data: null });
      // Config reads still refuse a CT that is not there.
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${vmid()}/config`)).status, 500);
    });
  });

  describe("schema violations", () => {
    it("records each request the schema rejects, and nothing else", async () => {
      sandbox.resetSchemaViolations();
      await client.call("GET", "/version");
      const taken = vmid();
      await created(taken);
      const race = await client.call("GET", "/cluster/nextid", { vmid: taken });
      assert.equal(race.status, 400, "a semantic 400 from the handler");
      assert.equal(sandbox.schemaViolations.length, 0, JSON.stringify(sandbox.schemaViolations));

      await client.call("POST", "/nodes/pve1/lxc", createParams(vmid(), { net0: "bogus", colour: "red" }));
      await client.call("GET", "/nodes/pve1/lxc/12/status/current");
      assert.deepEqual(sandbox.schemaViolations.map((v) => [v.method, v.path, v.template, Object.keys(v.errors).sort()]), [
        ["POST", "/nodes/pve1/lxc", "/nodes/{node}/lxc", ["colour", "net0"]],
        ["GET", "/nodes/pve1/lxc/12/status/current", "/nodes/{node}/lxc/{vmid}/status/current", ["vmid"]],
      ]);
      sandbox.resetSchemaViolations();
      assert.deepEqual(sandbox.schemaViolations, []);
    });
  });

  describe("a container whose entrypoint exited", () => {
    it("reads as stopped in status/current, the node's list and cluster/resources, and starts again", async () => {
      const id = vmid();
      await created(id, { start: 1 });
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${id}/status/current`)).body.data.status, "running");
      backend.exit(id);
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${id}/status/current`)).body.data.status, "stopped");
      const listed = (await client.call("GET", "/nodes/pve1/lxc")).body.data.find((entry: { vmid: number }) => entry.vmid === id);
      assert.equal(listed.status, "stopped");
      const resource = (await client.call("GET", "/cluster/resources", { type: "vm" })).body.data.find((entry: { vmid: number }) => entry.vmid === id);
      assert.equal(resource.status, "stopped");
      const stop = await client.call("POST", `/nodes/pve1/lxc/${id}/status/stop`);
      assert.equal(stop.reason, `CT ${id} not running`);
      const start = await client.call("POST", `/nodes/pve1/lxc/${id}/status/start`);
      assert.equal(start.status, 200, JSON.stringify(start.body));
      await client.waitTask("pve1", start.body.data);
      assert.equal((await client.call("GET", `/nodes/pve1/lxc/${id}/status/current`)).body.data.status, "running");
    });
  });
});
