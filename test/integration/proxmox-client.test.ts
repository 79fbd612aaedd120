// The Proxmox client against the sandbox (a PVE-API-compatible server started here on loopback):
// both auth modes, TLS trust, tasks, retries, and the create that must not happen twice.
import { strict as assert } from "assert";
import { startSandbox, type Sandbox } from "../../sandbox";
import { randomUUID } from "node:crypto";
import { isLaunchpadError, PveHttpError, PveNetworkError, PveTaskError, redact } from "../../provider/errors";
import { ProxmoxClient, resolveConnection, type ProxmoxConnection, type RequestInfo, type TaskResult } from "../../provider/proxmox";
import type { ClusterResource, LxcConfig, LxcCreateParams, NodeSummary, OciRegistryPullParams, StorageContentItem } from "../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../provider/retry";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const FAST_RETRY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 5, maxDelayMs: 50 };

describe("ProxmoxClient against the sandbox", function () {
  let sandbox: Sandbox;
  let nextVmid = 900;
  const clients: ProxmoxClient[] = [];

  const connect = (connection: Partial<ProxmoxConnection> = {}, options: ConstructorParameters<typeof ProxmoxClient>[1] = {}) => {
    const client = new ProxmoxClient(
      { endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint, ...connection },
      { retry: FAST_RETRY, ...options },
    );
    clients.push(client);
    return client;
  };
  const create = (client: ProxmoxClient, vmid: number, extra: Record<string, string | number> = {}): Promise<TaskResult> =>
    client.runTask("POST", `/nodes/${sandbox.nodes[0]}/lxc`, { vmid, ostemplate: TEMPLATE, hostname: `ct${vmid}`, rootfs: "local-lvm:8", ...extra });
  const creates = () => sandbox.requests.filter((r) => r.method === "POST" && /^\/nodes\/[^/]+\/lxc$/.test(r.path));

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 40, vzstart: 40 } });
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
      // Only the test below that sends bad requests on purpose may cause these, and it takes its own back.
      assert.deepEqual(sandbox?.schemaViolations ?? [], [], "the client sent a request the official schema rejects");
    } finally {
      await sandbox?.close();
    }
  });

  describe("auth", () => {
    it("with an API token lists the nodes, and a wrong token gets 401 without a retry", async () => {
      const nodes = await connect().get<NodeSummary[]>("/nodes");
      assert.deepEqual(nodes.map((n) => n.node).sort(), [...sandbox.nodes].sort());
      sandbox.resetRequests();
      const wrong = sandbox.apiToken.replace(/=.*/, "=00000000-0000-4000-8000-000000000000");
      const error = (await connect({ apiToken: wrong }).get("/nodes").catch((e) => e)) as PveHttpError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"), String(error));
      assert.equal(error.status, 401);
      assert.equal(sandbox.requests.length, 1);
    });

    it("takes an endpoint written with trailing slashes", async () => {
      const nodes = await connect({ endpoint: `${sandbox.endpoint}//` }).get<NodeSummary[]>("/nodes");
      assert.equal(nodes.length, sandbox.nodes.length);
      assert.deepEqual(sandbox.requests.map((r) => r.path), ["/nodes"]);
    });

    it("redacts the token's secret even where it appears alone, without its id", () => {
      const secret = randomUUID();
      connect({ apiToken: `root@pam!ci=${secret}` });
      assert.equal(redact(`answer mentions ${secret} here`).includes(secret), false);
      assert.equal(redact("root@pam!ci is the token id"), "root@pam!ci is the token id", "the id is no secret");
    });

    it("with user and password logs in for a ticket and writes with the CSRF token", async () => {
      const client = connect({ apiToken: undefined, username: sandbox.username, password: sandbox.password });
      const vmid = nextVmid++;
      await create(client, vmid);
      await client.put(`/nodes/${sandbox.nodes[0]}/lxc/${vmid}/config`, { cores: 2, memory: 1024 });
      const config = await client.get<LxcConfig>(`/nodes/${sandbox.nodes[0]}/lxc/${vmid}/config`);
      assert.equal(config.cores, 2);
      assert.equal(config.memory, 1024);
      assert.equal(sandbox.requests.filter((r) => r.path === "/access/ticket").length, 1);
      assert.ok(sandbox.requests.filter((r) => r.path !== "/access/ticket").every((r) => r.user === "root@pam"));
    });

    it("with a wrong password fails with 401 and names no password", async () => {
      const password = "definitely-wrong-password";
      const error = (await connect({ apiToken: undefined, username: "root@pam", password }).get("/nodes").catch((e) => e)) as PveHttpError;
      assert.equal(error.status, 401);
      assert.ok(!error.message.includes(password));
      assert.ok(!error.message.includes(sandbox.password));
    });

    it("logs in again when the server has expired the ticket, and goes on", async () => {
      // Ticket stamps have whole seconds, as in PVE: 2 s of life leaves a fresh ticket at least 1 s.
      const shortLived = await startSandbox({ ticketLifetimeMs: 2_000, nodes: ["pve1"] });
      try {
        const client = new ProxmoxClient(
          { endpoint: shortLived.endpoint, username: shortLived.username, password: shortLived.password, fingerprint: shortLived.fingerprint },
          { retry: FAST_RETRY },
        );
        clients.push(client);
        await client.get("/nodes");
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        assert.ok(Array.isArray(await client.get("/nodes")));
        assert.deepEqual(
          shortLived.requests.map((r) => `${r.path} ${r.status}`),
          ["/access/ticket 200", "/nodes 200", "/nodes 401", "/access/ticket 200", "/nodes 200"],
        );
      } finally {
        await shortLived.close();
      }
    });

    it("resolves a connection from the environment the way users of the Proxmox provider set it", async () => {
      const env = { PROXMOX_VE_ENDPOINT: `${sandbox.endpoint}/api2/json/`, PROXMOX_VE_API_TOKEN: sandbox.apiToken, PROXMOX_VE_FINGERPRINT: sandbox.fingerprint.replace(/:/g, "").toLowerCase() };
      const client = new ProxmoxClient(resolveConnection({ env, stackConfig: {} }));
      clients.push(client);
      assert.ok(Array.isArray(await client.get("/nodes")));
    });
  });

  describe("TLS", () => {
    it("trusts the server through a pinned CA", async () => {
      assert.ok(Array.isArray(await connect({ fingerprint: undefined, caCert: sandbox.caCert }).get("/nodes")));
    });

    it("trusts the server through its pinned fingerprint", async () => {
      assert.ok(Array.isArray(await connect().get("/nodes")));
    });

    it("refuses a wrong fingerprint before sending, naming expected and got", async () => {
      const wrong = sandbox.fingerprint.replace(/^../, sandbox.fingerprint.startsWith("00") ? "11" : "00");
      const error = (await connect({ fingerprint: wrong }).get("/nodes").catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
      assert.equal(error.notSent, true);
      assert.ok(error.message.includes(`expected ${wrong}, got ${sandbox.fingerprint}`), error.message);
      assert.equal(sandbox.requests.length, 0);
    });

    it("refuses the self-signed certificate when nothing is pinned, saying how to pin", async () => {
      const error = (await connect({ fingerprint: undefined }).get("/nodes").catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
      assert.equal(error.notSent, true);
      assert.match(error.message, /TLS verification failed/);
      assert.match(error.message, /launchpad:caCert/);
      assert.match(error.message, /launchpad:fingerprint/);
      assert.equal(sandbox.requests.length, 0);
    });

    it("connects without verification only when insecure is asked for", async () => {
      assert.ok(Array.isArray(await connect({ fingerprint: undefined, insecure: true }).get("/nodes")));
    });
  });

  describe("tasks", () => {
    it("creates a container and waits for the task to end OK", async () => {
      const vmid = nextVmid++;
      const result = await create(connect(), vmid);
      assert.equal(result.exitstatus, "OK");
      assert.equal(result.type, "vzcreate");
      assert.equal(result.id, String(vmid));
      assert.equal(result.node, sandbox.nodes[0]);
      assert.equal(sandbox.containers().filter((ct) => ct.vmid === vmid).length, 1);
    });

    it("tolerates the 400 a status poll can get right after dispatch", async () => {
      sandbox.faults.taskStatusNotReadyMs = 1_500;
      // Still running when the first poll comes, however slow a loaded machine makes the connection.
      sandbox.faults.task({ type: "vzcreate", delayMs: 1_000, count: 1 });
      const result = await create(connect(), nextVmid++);
      assert.equal(result.exitstatus, "OK");
      assert.ok(sandbox.requests.some((r) => r.template === "/nodes/{node}/tasks/{upid}/status" && r.status === 400), "the fault fired");
    });

    it("reports a failed task with its exit status and the log's last lines", async () => {
      sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - storage 'local-lvm' is full", count: 1 });
      const error = (await create(connect(), nextVmid++).catch((e) => e)) as PveTaskError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"), String(error));
      assert.match(error.exitstatus, /storage 'local-lvm' is full/);
      assert.ok(error.log.length > 0 && error.log.length <= 20);
      assert.match(error.log[error.log.length - 1]!, /TASK ERROR: .*storage 'local-lvm' is full/);
      assert.match(error.message, /TASK ERROR/);
    });

    it("gives up on a task past its deadline with PveTimeoutError", async () => {
      const client = connect();
      const vmid = nextVmid++;
      await create(client, vmid);
      sandbox.faults.task({ type: "vzstart", delayMs: 1_500, count: 1 });
      const upid = await client.post<string>(`/nodes/${sandbox.nodes[0]}/lxc/${vmid}/status/start`);
      const error = await client.waitForTask(upid, { timeoutMs: 300 }).catch((e) => e);
      assert.ok(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), String(error));
      assert.match(error.message, /did not finish within 300 ms/);
      assert.match(error.message, new RegExp(`vzstart ${vmid}`));
      // The message says the task may still be running: it is, and it ends on its own.
      assert.equal((await client.waitForTask(upid)).exitstatus, "OK");
    });

    it("runTask, runTaskThen and the client's own default honour the deadline they are given", async () => {
      const client = connect();
      const vmid = nextVmid++;
      await create(client, vmid);
      const start = `/nodes/${sandbox.nodes[0]}/lxc/${vmid}/status/start`;
      const stop = `/nodes/${sandbox.nodes[0]}/lxc/${vmid}/status/stop`;
      sandbox.faults.task({ type: "vzstart", delayMs: 1_500, count: 1 });
      const error = await client.runTask("POST", start, undefined, { timeoutMs: 200 }).catch((e) => e);
      assert.ok(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), String(error));
      assert.match(error.message, /did not finish within 200 ms/);
      await client.waitForTask(String(error.context.upid));
      await client.runTask("POST", stop);
      const other = nextVmid++;
      sandbox.faults.task({ type: "vzcreate", delayMs: 1_500, count: 1 });
      const params = { vmid: other, ostemplate: TEMPLATE, hostname: `ct${other}`, rootfs: "local-lvm:8", start: 1 };
      const late = await client.runTaskThen("POST", `/nodes/${sandbox.nodes[0]}/lxc`, params, "vzstart", { timeoutMs: 200 }).catch((e) => e);
      assert.match(late.message, /did not finish within 200 ms/);
      sandbox.faults.task({ type: "vzstart", delayMs: 1_500, count: 1 });
      const impatient = connect({}, { taskTimeoutMs: 250 });
      await impatient.runTask("POST", start).then(
        () => assert.fail("no deadline"),
        (e) => assert.match(e.message, /did not finish within 250 ms/),
      );
      // The late create forks its vzstart when it ends: drained here, or a later test's vzstart fault goes to it.
      const active = () => client.get<unknown[]>(`/nodes/${sandbox.nodes[0]}/tasks`, { source: "active" });
      while ((await active()).length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    });

    it("waits for a create with start=1 and the vzstart it forks in one wait, reading the task list only", async () => {
      const vmid = nextVmid++;
      const client = connect();
      const { task, next, nextError } = await client.runTaskThen("POST", `/nodes/${sandbox.nodes[0]}/lxc`, { vmid, ostemplate: TEMPLATE, hostname: `ct${vmid}`, rootfs: "local-lvm:8", start: 1 }, "vzstart");
      assert.equal(nextError, undefined);
      assert.deepEqual([task.type, next?.type, next?.id, next?.exitstatus], ["vzcreate", "vzstart", String(vmid), "OK"]);
      assert.equal(sandbox.containers().find((ct) => ct.vmid === vmid)?.status, "running");
      assert.equal(sandbox.requests.filter((r) => r.template === "/nodes/{node}/tasks/{upid}/status").length, 0, "no per-task status read");
    });

    it("returns a failed follow-up (the caller reports it, the container exists) and throws a failed create", async () => {
      const client = connect();
      const started = nextVmid++;
      sandbox.faults.task({ type: "vzstart", fail: "injected: start failed", count: 1 });
      const { next, nextError } = await client.runTaskThen("POST", `/nodes/${sandbox.nodes[0]}/lxc`, { vmid: started, ostemplate: TEMPLATE, hostname: `ct${started}`, rootfs: "local-lvm:8", start: 1 }, "vzstart");
      assert.equal(next, undefined);
      assert.ok(isLaunchpadError(nextError, "ERR_PVE_TASK"), String(nextError));
      assert.match((nextError as PveTaskError).exitstatus, /injected: start failed/);
      assert.ok(sandbox.containers().some((ct) => ct.vmid === started), "the container was made");

      sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - storage 'local-lvm' is full", count: 1 });
      const vmid = nextVmid++;
      const error = await client.runTaskThen("POST", `/nodes/${sandbox.nodes[0]}/lxc`, { vmid, ostemplate: TEMPLATE, hostname: `ct${vmid}`, rootfs: "local-lvm:8", start: 1 }, "vzstart").catch((e) => e);
      assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"), String(error));
      assert.match((error as PveTaskError).exitstatus, /storage 'local-lvm' is full/);
    });
  });

  describe("retries", () => {
    it("retries a config change through lock contention", async () => {
      const client = connect();
      const vmid = nextVmid++;
      await create(client, vmid);
      sandbox.resetRequests();
      sandbox.faults.lockTimeout(2, vmid);
      await client.put(`/nodes/${sandbox.nodes[0]}/lxc/${vmid}/config`, { memory: 1024 });
      const puts = sandbox.requests.filter((r) => r.method === "PUT");
      assert.deepEqual(puts.map((r) => r.status), [500, 500, 200]);
    });

    it("re-sends a create refused for lock contention (the server did nothing), making one container", async () => {
      const vmid = nextVmid++;
      sandbox.faults.lockTimeout(1, vmid);
      await create(connect(), vmid);
      assert.deepEqual(creates().map((r) => r.status), [500, 200]);
      assert.equal(sandbox.containers().filter((ct) => ct.vmid === vmid).length, 1);
    });

    it("dispatches a start again when its worker died taking the config lock, only when asked to", async () => {
      const client = connect();
      const vmid = nextVmid++;
      await create(client, vmid);
      const node = sandbox.nodes[0];
      sandbox.faults.lockTimeout(1, vmid, "vzstart");
      await assert.rejects(client.runTask("POST", `/nodes/${node}/lxc/${vmid}/status/start`), /can't lock file .* got timeout/);
      sandbox.resetRequests();
      sandbox.faults.lockTimeout(1, vmid, "vzstart");
      await client.runTask("POST", `/nodes/${node}/lxc/${vmid}/status/start`, undefined, { redispatchOnLockTimeout: true });
      assert.equal(sandbox.requests.filter((r) => r.method === "POST" && r.path.endsWith("/status/start")).length, 2);
      assert.equal(sandbox.containers().find((ct) => ct.vmid === vmid)?.status, "running");
    });

    it("retries a GET answered with 5xx", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/cluster/resources$", status: 503, message: "service unavailable", count: 2 });
      const resources = await connect().get<ClusterResource[]>("/cluster/resources", { type: "vm" });
      assert.ok(Array.isArray(resources));
      assert.deepEqual(sandbox.requests.filter((r) => r.path === "/cluster/resources").map((r) => r.status), [503, 503, 200]);
    });

    it("never re-sends a create whose connection dropped after the server accepted it", async () => {
      const vmid = nextVmid++;
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", action: "drop-after", count: 1 });
      const error = (await create(connect(), vmid).catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
      assert.equal(error.notSent, false);
      assert.equal(creates().length, 1, "dispatched once");
      assert.equal(sandbox.containers().filter((ct) => ct.vmid === vmid).length, 1, "exactly one container");
    });

    it("does not re-send a create dropped before the server acted either: the client cannot tell the two apart", async () => {
      const vmid = nextVmid++;
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", action: "drop-before", count: 1 });
      const error = (await create(connect(), vmid).catch((e) => e)) as PveNetworkError;
      assert.equal(error.notSent, false);
      assert.equal(creates().length, 1);
      assert.equal(sandbox.containers().filter((ct) => ct.vmid === vmid).length, 0);
    });

    it("re-sends a read whose connection dropped", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes$", action: "drop-after", count: 1 });
      assert.ok(Array.isArray(await connect().get("/nodes")));
      assert.equal(sandbox.requests.filter((r) => r.path === "/nodes").length, 2);
    });
  });

  describe("errors", () => {
    it("names the parameter Proxmox rejected: a bad net0, an unknown parameter", async () => {
      const client = connect();
      const earlier = sandbox.schemaViolations.length;
      const bad = (await create(client, nextVmid++, { net0: "bogus" }).catch((e) => e)) as PveHttpError;
      assert.ok(isLaunchpadError(bad, "ERR_PVE_HTTP"), String(bad));
      assert.equal(bad.status, 400);
      assert.match(bad.pveMessage, /Parameter verification failed/);
      assert.ok(bad.errors.net0, JSON.stringify(bad.errors));
      assert.match(bad.message, /net0: /);
      const unknown = (await create(client, nextVmid++, { colour: "blue" }).catch((e) => e)) as PveHttpError;
      assert.equal(unknown.status, 400);
      assert.ok(unknown.errors.colour, JSON.stringify(unknown.errors));
      assert.equal(creates().length, 2, "a 400 is not retried");
      // Both were sent on purpose: take them out of the record the final check reads.
      const own = sandbox.schemaViolations.splice(earlier);
      assert.deepEqual(own.map((violation) => Object.keys(violation.errors)), [["net0"], ["colour"]]);
    });

    it("reports an unknown container as Proxmox words it", async () => {
      const error = (await connect().get(`/nodes/${sandbox.nodes[0]}/lxc/999999/status/current`).catch((e) => e)) as PveHttpError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"), String(error));
      assert.match(error.pveMessage, /does not exist/);
    });

    it("asks once for a config that does not exist (a 500 no retry can change); another 500 on it is retried", async () => {
      const path = `/nodes/${sandbox.nodes[0]}/lxc/999998/config`;
      const error = (await connect().get(path).catch((e) => e)) as PveHttpError;
      assert.equal(error.status, 500);
      assert.equal(error.pveMessage.trim(), `Configuration file 'nodes/${sandbox.nodes[0]}/lxc/999998.conf' does not exist`);
      assert.equal(sandbox.requests.filter((r) => r.path === path).length, 1);
      sandbox.resetRequests();
      sandbox.faults.endpoint({ method: "GET", path: "/lxc/999998/config$", status: 500, message: "got unexpected EOF", count: 1 });
      await connect().get(path).catch((e) => e);
      assert.deepEqual(sandbox.requests.filter((r) => r.path === path).map((r) => r.status), [500, 500]);
    });
  });

  describe("PVE 9 types", () => {
    it("pulls an OCI image and creates a container with entrypoint and env, typed from the 9.1 schema", async () => {
      const client = connect();
      const node = sandbox.nodes[1]!;
      const pull: OciRegistryPullParams = { reference: "docker.io/library/nginx:1.27", filename: "nginx_1.27" };
      const pulled = await client.runTask("POST", `/nodes/${node}/storage/local/oci-registry-pull`, pull);
      assert.equal(pulled.exitstatus, "OK");
      const templates = await client.get<StorageContentItem[]>(`/nodes/${node}/storage/local/content`, { content: "vztmpl" });
      const image = templates.find((item) => item.volid === "local:vztmpl/nginx_1.27.tar");
      assert.ok(image, JSON.stringify(templates.map((item) => item.volid)));

      const vmid = nextVmid++;
      const params: LxcCreateParams = {
        vmid,
        ostemplate: image.volid,
        rootfs: "local-lvm:4",
        hostname: "oci-app",
        entrypoint: "/docker-entrypoint.sh nginx -g 'daemon off;'",
        env: "PORT=8080\0GREETING=hello world",
        net0: "name=eth0,bridge=vmbr0,ip=dhcp",
        unprivileged: true,
      };
      await client.runTask("POST", `/nodes/${node}/lxc`, params);
      const config = await client.get<LxcConfig>(`/nodes/${node}/lxc/${vmid}/config`);
      assert.equal(config.entrypoint, params.entrypoint);
      assert.equal(config.env, params.env);
    });
  });

  describe("surface", () => {
    it("counts requests and reports each one", async () => {
      const seen: RequestInfo[] = [];
      const client = connect({}, { onRequest: (info) => seen.push(info) });
      await create(client, nextVmid++);
      assert.equal(client.requestCount, seen.length);
      assert.equal(client.requestCount, sandbox.requests.length);
      assert.deepEqual(seen[0] && { method: seen[0].method, path: seen[0].path, status: seen[0].status }, { method: "POST", path: `/nodes/${sandbox.nodes[0]}/lxc`, status: 200 });
      assert.ok(seen.slice(1).every((info) => info.method === "GET" && /\/tasks\/.+\/status$/.test(info.path)));
    });

    it("serves proxmox-api's typed proxy over the same transport", async () => {
      const client = connect();
      const nodes = await client.api.nodes.$get();
      assert.deepEqual(nodes.map((n) => n.node).sort(), [...sandbox.nodes].sort());
      assert.equal(client.requestCount, 1);
    });
  });
});
