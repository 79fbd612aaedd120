// The container's apply layer (provider/container/apply.ts) called in-process against the sandbox on
// loopback, memory backend, tasks of a few ms: what create, read, update and delete send to a PVE-compatible
// API and what they return. An integration test of that layer, so that mutation testing (which runs only
// in-process code) reaches it; the provider itself is tested through the dynamic-provider host in
// test/provider/. Relative imports on purpose: `pulumi-launchpad/...` would load the un-mutated build.
import { strict as assert } from "assert";
import { isIP } from "node:net";
import { startSandbox, type Sandbox } from "../../sandbox";
import { createContainer, deleteContainer, destroyContainer, readContainer, updateContainer, addressesOf, outputsOf } from "../../provider/container/apply";
import { parseInputs, SCHEMA_VERSION, type ContainerInputs, type ContainerOutputs } from "../../provider/container/schema";
import { setStackConfig } from "../../provider/stackConfig";
import { ProxmoxClient } from "../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../provider/retry";
import { isLaunchpadError } from "../../provider/errors";
import { TEMPLATE } from "../unit/container/fixtures";

const IMAGE_DIGEST = "sha256:" + "ab".repeat(32);

describe("container apply layer in-process against the sandbox", function () {
  let sandbox: Sandbox;
  let client: ProxmoxClient;
  let seq = 0;
  const made: Array<{ id: string; outs: ContainerOutputs; inputs: ContainerInputs }> = [];

  /** A sandbox of the test's own (its nodes, timings or address delay), closed afterwards; `connection` reaches it. */
  const withOwnSandbox = async (options: Parameters<typeof startSandbox>[0], run: (connection: ContainerInputs["connection"], own: Sandbox) => Promise<void>) => {
    const own = await startSandbox(options);
    try {
      await run({ endpoint: own.endpoint, apiToken: own.apiToken, fingerprint: own.fingerprint }, own);
    } finally {
      await own.close();
    }
  };
  const inputsOf = (raw: Record<string, unknown>): ContainerInputs => {
    const { inputs, failures } = parseInputs(raw);
    assert.deepEqual(failures, []);
    return inputs as ContainerInputs;
  };
  const create = async (raw: Record<string, unknown>) => {
    const inputs = inputsOf({ hostname: `ct-${++seq}`, ...raw });
    const result = await createContainer(inputs);
    made.push({ ...result, inputs });
    return { ...result, inputs };
  };
  const config = (outs: ContainerOutputs) => client.get<Record<string, unknown>>(`/nodes/${outs.node}/lxc/${outs.vmid}/config`);
  const requestsTo = (pattern: RegExp, method?: string) => sandbox.requests.filter((r) => pattern.test(r.path) && (!method || r.method === method));

  before(async () => {
    sandbox = await startSandbox({
      taskDurationsMs: { vzcreate: 5, vzstart: 5, vzshutdown: 5, vzstop: 5, vzdestroy: 5, vzreboot: 5, resize: 5, imgcopy: 5, vzclone: 5 },
      ociImages: { "nginx:1.27": { digest: IMAGE_DIGEST, entrypoint: "/docker-entrypoint.sh nginx", env: { NGINX_VERSION: "1.27.0", PATH: "/usr/bin" } } },
    });
    setStackConfig({ "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint, "launchpad:apiToken": sandbox.apiToken });
    client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint }, { retry: { ...DEFAULT_RETRY_POLICY, limit: 0 } });
  });
  // The progress lines the host forwards to the engine's log (console.error), captured per test.
  let logged: string[] = [];
  const realError = console.error;
  const log = () => logged.map((line) => line.replace(/^\[launchpad:container\] /, ""));
  beforeEach(() => {
    sandbox.faults.clear();
    sandbox.resetRequests();
    logged = [];
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  });
  afterEach(() => {
    console.error = realError;
  });
  after(async () => {
    try {
      assert.deepEqual(sandbox?.schemaViolations ?? [], [], "the apply layer sent a request the official schema rejects");
    } finally {
      setStackConfig({});
      await client?.close();
      await sandbox?.close();
    }
  });

  describe("create", () => {
    it("from a template, started: one create with start=1, the address and MAC in the outputs, tagged with its claim", async () => {
      const { id, outs } = await create({ template: TEMPLATE, cores: 2, memory: 256, tags: ["web"] });
      assert.equal(id, String(outs.vmid));
      assert.equal(outs.status, "running");
      assert.ok(sandbox.nodes.includes(outs.node));
      assert.equal(outs.storage, "local-lvm");
      assert.equal(outs.ostemplate, TEMPLATE);
      assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.match(outs.mac ?? "", /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/);
      assert.match(outs.identityTag!, /^lp-0000000000-[0-9a-z]{6}$/);
      const creates = requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST");
      assert.equal(creates.length, 1);
      assert.equal(requestsTo(/\/status\/start$/).length, 0, "the start came with the create");
      assert.deepEqual(sandbox.requests.filter((r) => r.method !== "GET").map((r) => r.path), [creates[0].path], "no config written after the create: a PUT on a running CT only makes pending changes");
      const cfg = await config(outs);
      assert.equal(cfg.cores, 2);
      assert.equal(cfg.memory, 256);
      assert.equal(cfg.hostname, outs.hostname);
      assert.deepEqual(String(cfg.tags).split(";").sort(), [outs.identityTag!, "web"].sort());
      const status = await client.get<{ status: string }>(`/nodes/${outs.node}/lxc/${outs.vmid}/status/current`);
      assert.equal(status.status, "running");
      assert.equal(outs.mac, (await addressesFor(outs)).mac);
      assert.ok(logged.every((line) => line.startsWith("[launchpad:container] ")));
      assert.deepEqual(log(), [`creating CT ${outs.vmid} on ${outs.node}`, `CT ${outs.vmid} ready on ${outs.node} at ${outs.ipv4} (system container)`]);
    });

    it("stopped: reads the config for the MAC, starts nothing, no address", async () => {
      const { outs } = await create({ template: TEMPLATE, started: false });
      assert.equal(outs.status, "stopped");
      assert.equal(outs.ipv4, undefined);
      assert.match(outs.mac ?? "", /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/);
      assert.equal(requestsTo(/\/interfaces$/).length, 0);
      const status = await client.get<{ status: string }>(`/nodes/${outs.node}/lxc/${outs.vmid}/status/current`);
      assert.equal(status.status, "stopped");
      assert.deepEqual(log().slice(-1), [`CT ${outs.vmid} ready on ${outs.node} (system container)`]);
    });

    it("with a static address, not waited for: the address from the inputs", async () => {
      const { outs } = await create({ template: TEMPLATE, waitForIp: false, network: { ipv4: { address: "10.9.8.7/24", gateway: "10.9.8.1" } } });
      assert.equal(outs.ipv4, "10.9.8.7");
      const cfg = await config(outs);
      assert.match(String(cfg.net0), /ip=10\.9\.8\.7\/24/);
      assert.match(String(cfg.net0), /gw=10\.9\.8\.1/);
    });

    it("on the node and VMID asked for", async () => {
      const node = sandbox.nodes[1];
      const { outs } = await create({ template: TEMPLATE, node, vmid: 4242, started: false });
      assert.equal(outs.node, node);
      assert.equal(outs.vmid, 4242);
      assert.equal(requestsTo(/^\/cluster\/nextid$/).length, 0);
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").map((r) => r.path), [`/nodes/${node}/lxc`]);
    });

    it("a fixed VMID wins over the one an identity would derive", async () => {
      const { outs } = await create({ template: TEMPLATE, started: false, vmid: 4343, identity: "99aabbccddeeff00112233445566778a" });
      assert.equal(outs.vmid, 4343);
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").map((r) => Number(r.params.vmid)), [4343]);
    });

    it("refuses a node that is not in the cluster, before any create", async () => {
      const error = await createContainer(inputsOf({ hostname: "nowhere", template: TEMPLATE, node: "pve9" })).catch((e) => e);
      assert.equal(error.message, "Proxmox GET /cluster/resources failed: 400 node pve9 is not an online node of this cluster");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
    });

    it("refuses a storage that does not hold container disks, naming it", async () => {
      const error = await createContainer(inputsOf({ hostname: "nostore", template: TEMPLATE, storage: "nosuch" })).catch((e) => e);
      assert.match(String(error.message), /^Proxmox GET \/nodes\/pve\d\/storage failed: 400 storage nosuch on pve\d does not hold container disks \(rootdir\)$/);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
    });

    it("a fixed VMID that exists already fails with Proxmox's message and leaves the other container alone", async () => {
      const { outs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      const error = await createContainer(inputsOf({ hostname: "taker", template: TEMPLATE, vmid: outs.vmid, started: false })).catch((e) => e);
      assert.match(String(error.message), /already exists/);
      assert.doesNotMatch(String(error.message), /gave up/);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 1, "a VMID asked for is not retried");
      const cfg = await config(outs);
      assert.equal(cfg.hostname, outs.hostname);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
    });

    it("picks another VMID when another create took it first", async () => {
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", status: 500, message: "CT 100 already exists on node 'pve1'", count: 2 });
      const { outs } = await create({ template: TEMPLATE, started: false });
      const creates = requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST");
      assert.equal(creates.length, 3);
      const cfg = await config(outs);
      assert.equal(cfg.hostname, outs.hostname);
    });

    it("a VMID taken every time: gives up after 26 attempts (25 retries), with Proxmox's last answer, and nothing to track", async () => {
      // PVE's die message ends with a newline (PVE::Cluster::check_vmid_unused), and its JSON answer keeps it.
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", status: 500, message: "CT 100 already exists on node 'pve1'\n", count: 26 });
      const error = await createContainer(inputsOf({ hostname: "crowded", template: TEMPLATE, started: false })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_HTTP"), true, `${error?.code}: ${error?.message}`);
      assert.equal(error.status, 500);
      const node = requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST")[0].path.split("/")[2];
      assert.equal(error.message, `Proxmox POST /nodes/${node}/lxc failed: 500 gave up finding a free VMID after 26 attempts (last: CT 100 already exists on node 'pve1')`);
      assert.equal(error.cause?.status, 500, "Proxmox's last answer is kept as the cause");
      assert.equal(error.id, undefined);
      const vmids = requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").map((r) => Number(r.params.vmid));
      assert.equal(vmids.length, 26);
      assert.equal(new Set(vmids).size, 26, "a refused id is never tried again");
      assert.deepEqual(sandbox.containers().filter((c) => c.config.hostname === "crowded"), []);
      // The last VMID tried is someone else's: not read as possibly ours, never removed.
      assert.deepEqual([...requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+\/config$/, "GET"), ...requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE")], []);
    });

    it("a failed start keeps the container tracked: the error carries its id and outputs", async () => {
      sandbox.faults.task({ type: "vzstart", fail: "injected: start failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "nostart", template: TEMPLATE })).catch((e) => e);
      assert.match(String(error.message), /start failed/);
      assert.match(String(error.id), /^\d+$/);
      assert.equal(error.properties.vmid, Number(error.id));
      assert.equal(error.properties.status, "unknown");
      assert.deepEqual(error.reasons, [error.message]);
      const cfg = await client.get<Record<string, unknown>>(`/nodes/${error.properties.node}/lxc/${error.id}/config`);
      assert.equal(cfg.hostname, "nostart");
    });

    it("from an OCI image: pulls once, merges its env with ours, keeps its entrypoint", async () => {
      const { outs } = await create({ image: "nginx:1.27", env: { MODE: "preview" } });
      assert.match(outs.ostemplate ?? "", /^local:vztmpl\/.*\.tar$/);
      assert.equal(outs.kind, "application");
      assert.equal(outs.initCommand, "/docker-entrypoint.sh nginx");
      assert.equal(outs.status, "running");
      assert.equal(requestsTo(/oci-registry-pull$/).length, 1);
      const cfg = await config(outs);
      const env = String(cfg.env).split("\0").sort();
      assert.deepEqual(env, ["MODE=preview", "NGINX_VERSION=1.27.0", "PATH=/usr/bin"]);
      assert.equal(cfg.entrypoint, "/docker-entrypoint.sh nginx");
      // A second container of the same image reuses the pulled archive.
      sandbox.resetRequests();
      const second = await create({ image: "nginx:1.27", started: false, node: outs.node });
      assert.equal(second.outs.ostemplate, outs.ostemplate);
      assert.equal(requestsTo(/oci-registry-pull$/).length, 0);
      assert.ok(log().includes(`reusing ${outs.ostemplate} for nginx:1.27`), log().join("\n"));
      assert.ok(log().some((line) => /^pulling nginx:1\.27 into local on pve\d$/.test(line)), log().join("\n"));
      assert.ok(log().includes(`CT ${outs.vmid} ready on ${outs.node} at ${outs.ipv4} (application container)`), log().join("\n"));
    });

    it("from an OCI image, started: created with start=0, our config written, then started, so the app never runs without our env", async () => {
      const { outs } = await create({ image: "nginx:1.27", env: { MODE: "first" } });
      const writes = sandbox.requests.filter((r) => r.method !== "GET" && r.path.startsWith(`/nodes/${outs.node}/lxc`));
      assert.deepEqual(writes.map((r) => `${r.method} ${r.path}`), [
        `POST /nodes/${outs.node}/lxc`,
        `PUT /nodes/${outs.node}/lxc/${outs.vmid}/config`,
        `POST /nodes/${outs.node}/lxc/${outs.vmid}/status/start`,
      ]);
      assert.equal(writes[0].params.start, "0");
      assert.match(String(writes[1].params.env), /MODE=first/);
    });

    it("from an OCI image, started, not waiting for an address: running, no address asked for", async () => {
      const { outs } = await create({ image: "nginx:1.27", waitForIp: false });
      assert.equal(outs.status, "running");
      assert.equal(outs.ipv4, undefined);
      assert.equal(outs.kind, "application");
      assert.match(outs.mac ?? "", /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/);
      assert.equal(requestsTo(/\/interfaces$/).length, 0);
    });

    it("started without waiting for an address: one create with start=1 and no separate start; stopped: start=0", async () => {
      const { outs } = await create({ template: TEMPLATE, waitForIp: false });
      assert.equal(outs.status, "running");
      // Not waited for, but the lease the sandbox hands out at once is read and reported, with the MAC.
      const leased = await addressesFor(outs);
      assert.deepEqual([outs.ipv4, outs.mac], [leased.ipv4, leased.mac]);
      assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").map((r) => r.params.start), ["1"]);
      assert.equal(requestsTo(/\/status\/start$/).length, 0);
      assert.equal((await client.get<{ status: string }>(`/nodes/${outs.node}/lxc/${outs.vmid}/status/current`)).status, "running");
      sandbox.resetRequests();
      await create({ template: TEMPLATE, started: false });
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").map((r) => r.params.start), ["0"]);
    });

    it("an image with a template storage that holds no templates: an error naming the storage, before any pull or create", async () => {
      const error = await createContainer(inputsOf({ hostname: "notmpl", image: "nginx:1.27", templateStorage: "local-lvm", node: sandbox.nodes[0] })).catch((e) => e);
      assert.equal(error.message, `Proxmox GET /nodes/${sandbox.nodes[0]}/storage failed: 400 storage local-lvm on ${sandbox.nodes[0]} does not hold templates (vztmpl)`);
      assert.equal(sandbox.requests.filter((r) => r.method !== "GET").length, 0);
    });

    it("with an identity, an earlier attempt's container is adopted instead of a second create", async () => {
      const identity = "0123456789abcdef0123456789abcdef";
      const first = await create({ template: TEMPLATE, identity, started: false });
      assert.match(first.outs.identityTag!, /^lp-[0-9a-f]{10}-[0-9a-z]{6}$/);
      sandbox.resetRequests();
      const again = await create({ template: TEMPLATE, identity, started: false });
      assert.equal(again.outs.vmid, first.outs.vmid);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
      assert.equal(again.outs.status, "stopped");
      assert.equal(requestsTo(/\/status\/start$/).length, 0, "not started: the inputs say stopped");
      assert.notEqual(again.outs.identityTag!, first.outs.identityTag!, "a new claim");
      assert.equal(again.outs.identityTag!.slice(0, 14), first.outs.identityTag!.slice(0, 14));
      const cfg = await config(again.outs);
      assert.ok(String(cfg.tags).split(";").includes(again.outs.identityTag!));
      assert.ok(log().includes(`adopting CT ${again.outs.vmid} on ${again.outs.node}: it carries this resource's identity tag`), log().join("\n"));
    });

    it("an adopted image container, started without waiting for an address: still an application container with the image's entrypoint, its MAC kept", async () => {
      const identity = "3a3b3c3d3e3f3a3b3c3d3e3f3a3b3c3d";
      const first = await create({ image: "nginx:1.27", identity, started: false });
      sandbox.resetRequests();
      const again = await create({ image: "nginx:1.27", identity, waitForIp: false });
      assert.equal(again.outs.vmid, first.outs.vmid);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
      assert.deepEqual([again.outs.status, again.outs.kind, again.outs.initCommand], ["running", "application", "/docker-entrypoint.sh nginx"]);
      assert.equal(again.outs.mac, first.outs.mac);
    });

    it("an adopted earlier attempt whose start fails stays tracked: the error carries its id and outputs", async () => {
      const identity = "4a4b4c4d4e4f4a4b4c4d4e4f4a4b4c4d";
      const first = await create({ template: TEMPLATE, identity, started: false });
      sandbox.faults.task({ type: "vzstart", fail: "injected: start failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: first.outs.hostname, template: TEMPLATE, identity })).catch((e) => e);
      assert.match(String(error.message), /start failed/);
      assert.equal(error.id, String(first.outs.vmid));
      assert.deepEqual([error.properties.vmid, error.properties.status], [first.outs.vmid, "unknown"]);
      assert.match(String((await config(first.outs)).tags), new RegExp(`^${error.properties.identityTag}$`), "claimed by this create, so the state entry matches");
    });

    it("from a template: the env and entrypoint given go into the create", async () => {
      const { outs } = await create({ template: TEMPLATE, started: false, env: { MODE: "tmpl" }, entrypoint: "/sbin/init --log-level=info" });
      const [post] = requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST");
      assert.equal(post.params.env, "MODE=tmpl");
      const cfg = await config(outs);
      assert.equal(cfg.env, "MODE=tmpl");
      assert.equal(cfg.entrypoint, "/sbin/init --log-level=info");
    });

    it("a clone keeps its source's env, ours merged over it", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0], env: { FROM: "source", MODE: "old" } });
      const { outs } = await create({ clone: source.outs.vmid, started: false, env: { MODE: "clone" } });
      assert.deepEqual(String((await config(outs)).env).split("\0").sort(), ["FROM=source", "MODE=clone"]);
    });

    it("an address that never comes: a timeout naming the CT and the bridge, the container kept tracked", async () => {
      await withOwnSandbox({ nodes: ["pve1"], ipDelayMs: 600_000, taskDurationsMs: { vzcreate: 5, vzstart: 5 } }, async (connection, slow) => {
        const error = await createContainer(inputsOf({ hostname: "no-dhcp", template: TEMPLATE, connection, timeouts: { ip: 0.3 } })).catch((e) => e);
        assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
        assert.equal(error.message, `CT ${error.id} on pve1 has no address on eth0 after 0.3 s (is DHCP answering on vmbr0?)`);
        assert.equal(error.properties.status, "unknown");
        assert.equal(error.properties.vmid, Number(error.id));
        assert.equal(slow.containers().find((c) => c.vmid === Number(error.id))?.status, "running");
      });
    });

    it("an address that never comes to an image container (started after its config): the address wait's own timeout, the container kept tracked", async () => {
      await withOwnSandbox({ nodes: ["pve1"], ipDelayMs: 600_000, taskDurationsMs: { vzcreate: 5, vzstart: 5 } }, async (connection, slow) => {
        const error = await createContainer(inputsOf({ hostname: "no-dhcp-image", image: "nginx:1.27", connection, timeouts: { ip: 0.3 } })).catch((e) => e);
        assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
        assert.equal(error.message, `CT ${error.id} on pve1 has no address on eth0 after 0.3 s (is DHCP answering on vmbr0?)`);
        assert.deepEqual([error.properties.vmid, error.properties.status], [Number(error.id), "unknown"]);
        assert.equal(slow.containers().find((c) => c.vmid === Number(error.id))?.status, "running");
      });
    });

    it("each deadline of the combined wait counts from its own task: a quick create and start whose address comes after both deadlines is no timeout", async () => {
      // create and start may take 1 s each and the address 5 s: the address comes 1.5 s after the start,
      // past `create` seconds from the dispatch and past `start` seconds from the create's end.
      await withOwnSandbox({ nodes: ["pve1"], ipDelayMs: 1500, taskDurationsMs: { vzcreate: 5, vzstart: 5 } }, async (connection) => {
        const { outs } = await createContainer(inputsOf({ hostname: "late-lease", template: TEMPLATE, connection, timeouts: { create: 1, start: 1, ip: 5 } }));
        assert.equal(outs.status, "running");
        assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      });
    });

    it("an earlier attempt still being created (no tag yet, `lock: create`) is waited for and adopted, not made twice; past the create timeout, an error naming the lock", async () => {
      await withOwnSandbox({ nodes: ["pve1"], taskDurationsMs: { vzcreate: 5, vzstart: 5, vzdestroy: 5 } }, async (connection, own) => {
        const identity = "fedcba9876543210fedcba9876543210";
        const attempt = (create: number) => createContainer(inputsOf({ hostname: "locked-adopt", template: TEMPLATE, connection, identity, started: false, timeouts: { create } }));
        own.faults.task({ type: "vzcreate", delayMs: 2500, count: 1 });
        // The first run gives up on its create (as a killed run would) while PVE goes on making it.
        const first = await attempt(0.2).catch((e) => e);
        assert.equal(isLaunchpadError(first, "ERR_PVE_TIMEOUT"), true, String(first));
        const writes = () => own.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
        own.resetRequests();
        const impatient = await attempt(0.3).catch((e) => e);
        assert.equal(isLaunchpadError(impatient, "ERR_PVE_TIMEOUT"), true, String(impatient));
        assert.equal(impatient.message, `CT ${first.id} on pve1 is still locked (create) after 0.3 s`);
        assert.deepEqual(writes(), [], "no second create, nothing written to the locked container");
        const patient = await attempt(10);
        assert.equal(patient.id, first.id);
        assert.deepEqual(writes(), [`PUT /nodes/pve1/lxc/${first.id}/config`], "adopted: its claim written, no create");
        assert.deepEqual(own.containers().map((c) => c.vmid), [Number(first.id)], "one container");
        assert.ok(log().includes(`adopting CT ${first.id} on pve1: it carries this resource's identity tag`), log().join("\n"));
      });
    });

    it("a DHCP IPv4 lease that comes late while a static IPv6 shows at once: the wait is for the IPv4 lease", async () => {
      await withOwnSandbox({ nodes: ["pve1"], ipDelayMs: 400, taskDurationsMs: { vzcreate: 5, vzstart: 5 } }, async (connection) => {
        const network = { ipv6: { address: "fd00:8::5/64", gateway: "fd00:8::1" } };
        // A template started with the create (the combined wait), then an image started after its config (the address wait alone).
        for (const source of [{ template: TEMPLATE }, { image: "nginx:1.27" }]) {
          const { outs } = await createContainer(inputsOf({ hostname: "late-v4", ...source, connection, network }));
          assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/, JSON.stringify(source));
          assert.equal(outs.ipv6, "fd00:8::5");
        }
      });
    });

    it("on a node slow to answer /interfaces, the address probes still go every 150 ms: an answer's time does not stretch the gap", async () => {
      // A template started with the create (the combined wait), then an image started after its config (the address
      // wait alone), each on a sandbox of its own: nothing learned of the address delay, so the steady probe.
      for (const source of [{ template: TEMPLATE }, { image: "nginx:1.27" }]) {
        await withOwnSandbox({ nodes: ["pve1"], ipDelayMs: 2000, taskDurationsMs: { vzcreate: 5, vzstart: 5 } }, async (connection, own) => {
          // PVE forks `ip` in the CT's namespace for each read (PVE::LXC::get_interfaces): 120 ms here.
          own.faults.endpoint({ method: "GET", path: /\/interfaces$/, action: "delay", delayMs: 120 });
          const { outs } = await createContainer(inputsOf({ hostname: "slow-node", ...source, connection }));
          assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/, JSON.stringify(source));
          const probes = own.requests.filter((r) => r.path.endsWith("/interfaces"));
          const seen = `${JSON.stringify(source)}: ${probes.map((r) => `${r.time.getTime() - probes[0].time.getTime()}+${r.durationMs}`).join(" ")}`;
          assert.ok(probes.every((r) => r.durationMs >= 115), `every answer was slow: ${seen}`);
          // The probes of the last 1.5 s (the lease comes 2 s after the start). Unpaced, each gap would be 150 ms
          // plus the 120 ms answer; paced, 150 ms from one sending to the next.
          const last = probes.at(-1)!.time.getTime();
          const steady = probes.filter((r) => last - r.time.getTime() <= 1500).map((r) => r.time.getTime());
          const gaps = steady.slice(1).map((at, i) => at - steady[i]).sort((a, b) => a - b);
          assert.ok(gaps.length >= 4 && gaps[Math.floor(gaps.length / 2)] < 210, `median gap between sendings under 210 ms: ${seen}`);
        });
      }
    });

    it("a create task past its deadline: a timeout, and the container it may still make is tracked", async () => {
      sandbox.faults.task({ type: "vzcreate", delayMs: 600, count: 1 });
      const error = await createContainer(inputsOf({ hostname: "slow-create", template: TEMPLATE, started: false, timeouts: { create: 0.2 } })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
      assert.match(error.message, /did not finish within 200 ms; it may still be running/);
      assert.match(String(error.id), /^\d+$/);
      assert.equal(error.properties.hostname, "slow-create");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0, "nothing destroyed while the task may still run");
    });

    it("an earlier attempt with a smaller disk is adopted: grown, its config brought to the inputs, started, its address reported", async () => {
      const identity = "0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d";
      const first = await create({ template: TEMPLATE, identity, started: false, diskSize: 4, cores: 1 });
      sandbox.resetRequests();
      const again = await create({ template: TEMPLATE, identity, diskSize: 6, cores: 2 });
      assert.equal(again.outs.vmid, first.outs.vmid);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
      assert.deepEqual(requestsTo(/\/resize$/, "PUT").map((r) => r.params), [{ disk: "rootfs", size: "6G" }]);
      assert.equal(requestsTo(/\/status\/start$/, "POST").length, 1);
      const cfg = await config(again.outs);
      assert.equal(cfg.cores, 2);
      assert.match(String(cfg.rootfs), /size=6G/);
      assert.equal(cfg.tags, again.outs.identityTag!);
      assert.equal(again.outs.status, "running");
      assert.equal(again.outs.storage, "local-lvm");
      assert.equal(again.outs.ostemplate, TEMPLATE);
      assert.equal(again.outs.mac, first.outs.mac);
      assert.equal(again.outs.kind, "system");
      assert.match(again.outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(again.outs.ipv4, (await addressesFor(again.outs)).ipv4);
    });

    it("an earlier attempt that runs already is adopted as it is: no error for the start, no disk change", async () => {
      const identity = "1a1b1c1d1e1f1a1b1c1d1e1f1a1b1c1d";
      const first = await create({ template: TEMPLATE, identity, diskSize: 4 });
      sandbox.resetRequests();
      const again = await create({ template: TEMPLATE, identity, diskSize: 4 });
      assert.equal(again.outs.vmid, first.outs.vmid);
      assert.equal(requestsTo(/\/resize$/).length, 0);
      assert.equal(again.outs.status, "running");
      assert.equal(again.outs.ipv4, first.outs.ipv4);
      assert.equal((await client.get<{ status: string }>(`/nodes/${first.outs.node}/lxc/${first.outs.vmid}/status/current`)).status, "running");
    });

    it("of two earlier attempts, the oldest (lowest VMID) is adopted and the other left as it is", async () => {
      const identity = "2a2b2c2d2e2f2a2b2c2d2e2f2a2b2c2d";
      const first = await create({ template: TEMPLATE, identity, started: false });
      const stray = await create({ template: TEMPLATE, started: false, vmid: first.outs.vmid + 1000 });
      const strayTag = `${first.outs.identityTag!.slice(0, 14)}zzzzzz`;
      await client.put(`/nodes/${stray.outs.node}/lxc/${stray.outs.vmid}/config`, { tags: strayTag });
      sandbox.resetRequests();
      const again = await create({ template: TEMPLATE, identity, started: false });
      assert.equal(again.outs.vmid, first.outs.vmid);
      assert.equal((await config(stray.outs)).tags, strayTag);
      assert.equal(requestsTo(new RegExp(`/lxc/${stray.outs.vmid}/`), "PUT").length, 0);
    });

    it("an adopted earlier attempt loses what the inputs no longer set, in the same PUT that claims it", async () => {
      const identity = "8a8b8c8d8e8f8a8b8c8d8e8f8a8b8c8d";
      const first = await create({ template: TEMPLATE, identity, started: false, description: "from the first attempt", nameserver: ["9.9.9.9"] });
      sandbox.resetRequests();
      const again = await create({ template: TEMPLATE, identity, started: false, features: { nesting: false } });
      assert.equal(again.outs.vmid, first.outs.vmid);
      const puts = requestsTo(new RegExp(`/lxc/${first.outs.vmid}/config$`), "PUT");
      assert.equal(puts.length, 1);
      assert.deepEqual(String(puts[0].params.delete).split(",").sort(), ["description", "features", "nameserver"]);
      assert.equal(puts[0].params.tags, again.outs.identityTag);
      const cfg = await config(again.outs);
      assert.deepEqual([cfg.description, cfg.nameserver, cfg.features, cfg.tags], [undefined, undefined, undefined, again.outs.identityTag]);
      assert.equal(again.outs.mac, first.outs.mac);
    });

    it("of two earlier attempts listed highest first, still the lowest VMID is adopted", async () => {
      const identity = "7a7b7c7d7e7f7a7b7c7d7e7f7a7b7c7d";
      const first = await create({ template: TEMPLATE, identity, started: false });
      const lower = await create({ template: TEMPLATE, started: false, vmid: first.outs.vmid - 1000 });
      const lowerTag = `${first.outs.identityTag!.slice(0, 14)}yyyyyy`;
      await client.put(`/nodes/${lower.outs.node}/lxc/${lower.outs.vmid}/config`, { tags: lowerTag });
      const listed = (await client.get<Array<{ vmid?: number }>>("/cluster/resources", { type: "vm" })).map((r) => Number(r.vmid));
      assert.ok(listed.indexOf(first.outs.vmid) < listed.indexOf(lower.outs.vmid), "the sandbox lists the higher one first");
      const again = await create({ template: TEMPLATE, identity, started: false });
      assert.equal(again.outs.vmid, lower.outs.vmid);
      assert.equal((await config(first.outs)).tags, first.outs.identityTag, "the other one left as it is");
    });

    it("an earlier attempt with a larger disk is not adopted: that is the container a shrink replaces", async () => {
      const identity = "fedcba9876543210fedcba9876543210";
      const first = await create({ template: TEMPLATE, identity, started: false, diskSize: 8 });
      const second = await create({ template: TEMPLATE, identity, started: false, diskSize: 4 });
      assert.notEqual(second.outs.vmid, first.outs.vmid);
      assert.equal(second.outs.identityTag!.slice(0, 14), first.outs.identityTag!.slice(0, 14));
      assert.equal((await config(first.outs)).tags, first.outs.identityTag!, "the larger one untouched");
    });

    it("parallel creates of one new image on one node pull it once", async () => {
      const node = sandbox.nodes[0];
      const [a, b] = await Promise.all([create({ image: "alpine:3.20", started: false, node }), create({ image: "alpine:3.20", started: false, node })]);
      assert.equal(requestsTo(/oci-registry-pull$/).length, 1);
      assert.equal(a.outs.ostemplate, b.outs.ostemplate);
      assert.notEqual(a.outs.vmid, b.outs.vmid);
    });

    it("parallel creates of one new image on two nodes: each node pulls it into its own storage", async () => {
      const [first, second] = sandbox.nodes;
      const [a, b] = await Promise.all([create({ image: "caddy:2.8", started: false, node: first }), create({ image: "caddy:2.8", started: false, node: second })]);
      assert.deepEqual(requestsTo(/oci-registry-pull$/).map((r) => r.path.split("/")[2]).sort(), [first, second].sort());
      assert.deepEqual([a.outs.node, b.outs.node], [first, second]);
      assert.equal(a.outs.ostemplate, b.outs.ostemplate, "the same volume name, on each node's own storage");
    });

    it("a pull refused because the archive appeared meanwhile is taken as done; still missing, it is an error naming the file", async () => {
      sandbox.faults.endpoint({ method: "POST", path: "oci-registry-pull$", status: 500, message: "refusing to override existing file '/var/lib/vz/template/cache/x.tar'", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "raced", image: "debian:13", started: false, node: sandbox.nodes[0] })).catch((e) => e);
      assert.equal(error.message, "Proxmox GET content failed: 500 the pull of debian:13 finished but no docker.io_library_debian_13.tar is listed in local");
      assert.ok(log().includes("docker.io_library_debian_13.tar appeared in local meanwhile: using it"), log().join("\n"));
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
      // The failed pull is not remembered: the next create of that image pulls it.
      sandbox.resetRequests();
      const { outs } = await create({ image: "debian:13", started: false, node: sandbox.nodes[0] });
      assert.equal(requestsTo(/oci-registry-pull$/).length, 1);
      assert.match(outs.ostemplate ?? "", /^local:vztmpl\/docker\.io_library_debian_13\.tar$/);
    });

    it("the VMID range of the stack config: an identity's candidate inside it, taken ids skipped for nextid", async () => {
      const base = { "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint, "launchpad:apiToken": sandbox.apiToken };
      setStackConfig({ ...base, "launchpad:vmidRange": "7000-7000" });
      try {
        const first = await create({ template: TEMPLATE, started: false, identity: "00112233445566778899aabbccddeeff" });
        assert.equal(first.outs.vmid, 7000);
        assert.equal(requestsTo(/^\/cluster\/nextid$/).length, 0);
        const second = await create({ template: TEMPLATE, started: false, identity: "ffeeddccbbaa99887766554433221100" });
        assert.notEqual(second.outs.vmid, 7000);
        assert.equal(requestsTo(/^\/cluster\/nextid$/).length, 1);
        setStackConfig({ ...base, "launchpad:vmidRange": "50-10" });
        sandbox.resetRequests();
        await assert.rejects(createContainer(inputsOf({ hostname: "badrange", template: TEMPLATE })), /^RangeError: launchpad:vmidRange must be MIN-MAX with 100 <= MIN <= MAX <= 999999999, got "50-10"$/);
        assert.equal(sandbox.requests.length, 0, "refused before any request");
      } finally {
        setStackConfig(base);
      }
    });

    it("an image create without a node goes where the image was pulled already", async () => {
      // An image no other test pulls, onto the least loaded node, so that load does not outweigh the image (pickNode's affinity margin).
      const nodes = await client.get<Array<{ node: string; mem: number; maxmem: number }>>("/cluster/resources", { type: "node" });
      const target = nodes.sort((a, b) => a.mem / a.maxmem - b.mem / b.maxmem)[0].node;
      const first = await create({ image: "busybox:1.36", started: false, node: target });
      sandbox.resetRequests();
      const second = await create({ image: "busybox:1.36", started: false });
      assert.equal(second.outs.node, target);
      assert.equal(second.outs.ostemplate, first.outs.ostemplate);
      assert.equal(requestsTo(/oci-registry-pull$/).length, 0);
    });

    it("on a two-node cluster too, an image create without a node goes where the image was pulled already, even the busier node", async () => {
      await withOwnSandbox({ nodes: ["pve1", "pve2"], taskDurationsMs: { vzcreate: 5, vzstart: 5 } }, async (connection, pair) => {
        const first = await createContainer(inputsOf({ hostname: "holder", image: "busybox:1.37", waitForIp: false, node: "pve2", connection }));
        assert.equal(first.outs.status, "running", "pve2 is now the busier node");
        pair.resetRequests();
        const second = await createContainer(inputsOf({ hostname: "follower", image: "busybox:1.37", started: false, connection }));
        assert.equal(second.outs.node, "pve2");
        assert.equal(second.outs.ostemplate, first.outs.ostemplate);
        assert.equal(pair.requests.filter((r) => /oci-registry-pull$/.test(r.path)).length, 0);
        // Each node's template storage listed once, to place the create: the chosen node's listing is not read again.
        assert.deepEqual(pair.requests.filter((r) => /\/storage\/local\/content$/.test(r.path)).map((r) => r.path.split("/")[2]).sort(), ["pve1", "pve2"]);
      });
    });

    it("a clone: POST /clone on the source's node (its storage is local), our config written over it, the disk grown, no ostemplate", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[1], diskSize: 4 });
      sandbox.resetRequests();
      const { outs } = await create({ clone: source.outs.vmid, started: false, cores: 2, diskSize: 6 });
      const clones = requestsTo(/\/clone$/, "POST");
      assert.deepEqual(clones.map((r) => r.path), [`/nodes/${sandbox.nodes[1]}/lxc/${source.outs.vmid}/clone`]);
      assert.equal(clones[0].params?.target, undefined);
      assert.equal(clones[0].params?.hostname, outs.hostname);
      assert.equal(outs.node, sandbox.nodes[1]);
      assert.equal(outs.ostemplate, undefined);
      assert.equal(outs.storage, "local-lvm");
      const cfg = await config(outs);
      assert.equal(cfg.cores, 2);
      assert.equal(cfg.hostname, outs.hostname);
      assert.match(String(cfg.rootfs), /size=6G/);
      assert.equal(requestsTo(/\/resize$/, "PUT").length, 1);
    });

    it("a clone of a CT that does not exist fails before any request that writes", async () => {
      const error = await createContainer(inputsOf({ hostname: "orphan", clone: 99_999 })).catch((e) => e);
      assert.equal(error.message, "Proxmox GET /cluster/resources failed: 404 clone source CT 99999 does not exist");
      assert.equal(sandbox.requests.filter((r) => r.method !== "GET").length, 0);
    });

    it("a create whose answer was lost carries on with the container Proxmox made: one container, started, with its address", async () => {
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", action: "drop-after", count: 1 });
      const { outs } = await create({ template: TEMPLATE });
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 1);
      assert.equal(outs.status, "running");
      assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      const tagged = (await client.get<Array<{ tags?: string }>>("/cluster/resources", { type: "vm" })).filter((r) => String(r.tags ?? "").includes(outs.identityTag!));
      assert.equal(tagged.length, 1);
    });
  });

  describe("create placement and sources", () => {
    it("a clone to a named storage: a full clone onto it, the storage reported; a clone to another node is sent there and PVE's refusal comes back", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      sandbox.resetRequests();
      const { outs } = await create({ clone: source.outs.vmid, storage: "local-lvm", started: false });
      const [clone] = requestsTo(/\/clone$/, "POST");
      assert.equal(clone.params?.storage, "local-lvm");
      assert.equal(String(clone.params?.full), "1");
      assert.equal(clone.params?.target, undefined, "same node: no target");
      assert.deepEqual([outs.node, outs.storage], [sandbox.nodes[0], "local-lvm"]);
      sandbox.resetRequests();
      const error = await createContainer(inputsOf({ hostname: "elsewhere", clone: source.outs.vmid, node: sandbox.nodes[1], started: false })).catch((e) => e);
      assert.equal(requestsTo(/\/clone$/, "POST")[0]?.params?.target, sandbox.nodes[1]);
      assert.match(String(error.message), new RegExp(`can't clone CT to node '${sandbox.nodes[1]}' \\(CT uses local storage\\)`));
      assert.equal(error.id, undefined, "nothing was made");
      assert.deepEqual(sandbox.containers().filter((c) => c.config.hostname === "elsewhere"), []);
    });

    it("a clone into a pool that does not exist: Proxmox's refusal naming it, nothing made", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      sandbox.resetRequests();
      const error = await createContainer(inputsOf({ hostname: "pooled", clone: source.outs.vmid, pool: "nosuchpool", started: false })).catch((e) => e);
      assert.equal(requestsTo(/\/clone$/, "POST")[0]?.params?.pool, "nosuchpool");
      assert.match(String(error.message), /pool 'nosuchpool' does not exist/);
      assert.equal(error.id, undefined, "nothing was made");
      assert.deepEqual(sandbox.containers().filter((c) => c.config.hostname === "pooled"), []);
    });

    it("a clone to run: cloned, our config written, then started, its address reported", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      sandbox.resetRequests();
      const { outs } = await create({ clone: source.outs.vmid, env: { MODE: "clone" } });
      const writes = sandbox.requests.filter((r) => r.method !== "GET" && r.path.startsWith(`/nodes/${outs.node}/lxc`));
      assert.deepEqual(writes.map((r) => `${r.method} ${r.path}`), [
        `POST /nodes/${outs.node}/lxc/${source.outs.vmid}/clone`,
        `PUT /nodes/${outs.node}/lxc/${outs.vmid}/config`,
        `POST /nodes/${outs.node}/lxc/${outs.vmid}/status/start`,
      ]);
      assert.equal(outs.status, "running");
      assert.match(outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(outs.kind, "system");
      assert.equal(outs.storage, "local-lvm", "the storage its rootfs is on");
    });

    it("parallel creates of one new image without a node go where the first is pulling it: one pull", async () => {
      const [a, b] = await Promise.all([create({ image: "redis:7.4", started: false }), create({ image: "redis:7.4", started: false })]);
      assert.equal(a.outs.node, b.outs.node);
      assert.equal(requestsTo(/oci-registry-pull$/).length, 1);
      assert.notEqual(a.outs.vmid, b.outs.vmid);
    });

    it("parallel creates of two different images each get their own image", async () => {
      const node = sandbox.nodes[1];
      const [a, b] = await Promise.all([create({ image: "memcached:1.6", started: false, node }), create({ image: "httpd:2.4", started: false, node })]);
      assert.match(a.outs.ostemplate ?? "", /^local:vztmpl\/docker\.io_library_memcached_1\.6/);
      assert.match(b.outs.ostemplate ?? "", /^local:vztmpl\/docker\.io_library_httpd_2\.4/);
      assert.equal(requestsTo(/oci-registry-pull$/).length, 2);
    });

    it("a pull Proxmox refuses for another reason fails the create with its answer, before any create", async () => {
      sandbox.faults.endpoint({ method: "POST", path: "oci-registry-pull$", status: 403, message: "Permission check failed (/storage/local, Datastore.AllocateTemplate)", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "nopull", image: "postgres:17", started: false, node: sandbox.nodes[0] })).catch((e) => e);
      assert.equal(error.status, 403);
      assert.match(error.message, /Datastore\.AllocateTemplate/);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 0);
    });

    it("an identity's VMID taken by another guest: straight to nextid, one create request; freed after a create ends, the VMID is used again", async () => {
      const base = { "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint, "launchpad:apiToken": sandbox.apiToken };
      const other = await create({ template: TEMPLATE, started: false, vmid: 7200 });
      setStackConfig({ ...base, "launchpad:vmidRange": "7200-7200" });
      try {
        sandbox.resetRequests();
        const moved = await create({ template: TEMPLATE, started: false, identity: "55667788990011aabbccddeeff001122" });
        assert.notEqual(moved.outs.vmid, 7200);
        assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 1);
        await deleteContainer(String(other.outs.vmid), other.outs, other.inputs);
        const again = await create({ template: TEMPLATE, started: false, identity: "66778899001122aabbccddeeff001122" });
        assert.equal(again.outs.vmid, 7200, "the earlier create's claim on 7200 ended with it");
      } finally {
        setStackConfig(base);
      }
    });

    it("someone else's create still running on the identity's VMID: waited for, not ours, so the create goes to nextid and leaves it alone", async () => {
      const base = { "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint, "launchpad:apiToken": sandbox.apiToken };
      sandbox.faults.task({ type: "vzcreate", delayMs: 800, count: 1 });
      const upid = await client.post<string>("/nodes/pve1/lxc", { vmid: 7201, ostemplate: TEMPLATE, hostname: "strangers", storage: "local-lvm" });
      setStackConfig({ ...base, "launchpad:vmidRange": "7201-7201" });
      try {
        sandbox.resetRequests();
        const ours = await create({ template: TEMPLATE, started: false, identity: "77889900112233aabbccddeeff001122" });
        assert.notEqual(ours.outs.vmid, 7201);
        assert.ok(requestsTo(/^\/nodes\/pve1\/lxc\/7201\/status\/current$/).length >= 1, "its lock was waited for");
        assert.deepEqual(sandbox.requests.filter((r) => r.method !== "GET").map((r) => r.path), [`/nodes/${ours.outs.node}/lxc`], "one create, nothing written to theirs");
        await client.waitForTask(upid);
        const theirs = await client.get<Record<string, unknown>>("/nodes/pve1/lxc/7201/config");
        assert.equal(theirs.hostname, "strangers");
        assert.equal(theirs.tags, undefined);
      } finally {
        setStackConfig(base);
        await client.runTask("DELETE", "/nodes/pve1/lxc/7201", { purge: 1 }).catch(() => undefined);
      }
    });

    it("the VMID range from LAUNCHPAD_VMID_RANGE when the stack sets none; malformed, an error naming it before any request", async () => {
      const saved = process.env.LAUNCHPAD_VMID_RANGE;
      process.env.LAUNCHPAD_VMID_RANGE = "7100-7100";
      try {
        const { outs } = await create({ template: TEMPLATE, started: false, identity: "44556677889900aabbccddeeff001122" });
        assert.equal(outs.vmid, 7100);
        process.env.LAUNCHPAD_VMID_RANGE = "7100";
        sandbox.resetRequests();
        await assert.rejects(createContainer(inputsOf({ hostname: "badenv", template: TEMPLATE })), /^RangeError: LAUNCHPAD_VMID_RANGE must be MIN-MAX/);
        assert.equal(sandbox.requests.length, 0);
      } finally {
        if (saved === undefined) delete process.env.LAUNCHPAD_VMID_RANGE;
        else process.env.LAUNCHPAD_VMID_RANGE = saved;
      }
    });

    it("a node whose template storage cannot be listed is only not preferred: the image create goes on", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/storage/local/content$", status: 500, message: "storage 'local' is not online", count: 1 });
      const { outs } = await create({ image: "nginx:1.27", started: false });
      assert.equal(outs.status, "stopped");
      assert.match(outs.ostemplate ?? "", /^local:vztmpl\/docker\.io_library_nginx_1\.27/);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST").length, 1);
    });

    it("static IPv6 not waited for: the address from the inputs, without its prefix", async () => {
      const { outs } = await create({ template: TEMPLATE, waitForIp: false, network: { ipv6: { address: "fd00:9::7/64", gateway: "fd00:9::1" } } });
      assert.equal(outs.ipv6, "fd00:9::7");
      const net0 = String((await config(outs)).net0).split(",");
      assert.ok(net0.includes("ip6=fd00:9::7/64") && net0.includes("gw6=fd00:9::1"), net0.join(","));
    });
  });

  describe("read", () => {
    it("reports the container as it is, drift included", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, cores: 1, memory: 256, description: "first" });
      await client.put(`/nodes/${outs.node}/lxc/${outs.vmid}/config`, { cores: 3, memory: 512, description: "changed", onboot: 1, nameserver: "1.1.1.1 9.9.9.9" });
      const read = await readContainer(id, outs, inputs);
      assert.ok(!read.gone);
      if (read.gone) return;
      assert.equal(read.outs.cores, 3);
      assert.equal(read.outs.memory, 512);
      assert.equal(read.outs.description, "changed");
      assert.equal(read.outs.onBoot, true);
      assert.deepEqual(read.outs.nameserver, ["1.1.1.1", "9.9.9.9"]);
      assert.equal(read.outs.started, true);
      assert.equal(read.outs.status, "running");
      assert.equal(read.outs.ipv4, outs.ipv4);
      assert.equal(read.outs.mac, outs.mac);
      assert.equal(read.outs.node, outs.node);
      assert.equal(read.outs.kind, "system");
      assert.equal(read.outs.initCommand, "/sbin/init");
      assert.equal(read.outs.hostname, outs.hostname);
      assert.equal(read.outs.swap, outs.swap);
      assert.equal(read.outs.diskSize, outs.diskSize);
      assert.equal(read.outs.vmid, outs.vmid);
      assert.equal(read.outs.identityTag!, outs.identityTag!);
      assert.equal(read.outs.schemaVersion, outs.schemaVersion);
      assert.equal(read.outs.searchdomain, undefined);
    });

    it("reads tags (ours left out, sorted), env (only the user's keys), searchdomain, features, entrypoint and privilege", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false, env: { A: "1", B: "2" }, tags: ["web"], entrypoint: "/sbin/init" });
      await client.put(`/nodes/${outs.node}/lxc/${outs.vmid}/config`, {
        tags: `zeta;${outs.identityTag!};alpha`, env: "A=9\0C=3", searchdomain: "a.example b.example", features: "nesting=0", entrypoint: "/bin/sh",
      });
      const read = await readContainer(id, outs, inputs);
      assert.ok(!read.gone);
      if (read.gone) return;
      assert.deepEqual(read.outs.tags, ["alpha", "zeta"]);
      assert.deepEqual(read.outs.env, { A: "9" });
      assert.deepEqual(read.outs.searchdomain, ["a.example", "b.example"]);
      assert.deepEqual(read.outs.features, { nesting: false, keyctl: false, fuse: false });
      assert.equal(read.outs.entrypoint, "/bin/sh");
      assert.equal(read.outs.kind, "application");
      assert.equal(read.outs.unprivileged, true);
      assert.equal(read.outs.onBoot, false);
      assert.equal(read.outs.started, false);
      assert.equal(read.outs.ipv6, undefined);
    });

    it("a stopped container: no interfaces read, the static address from its config", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false, waitForIp: false, network: { ipv4: { address: "10.7.7.7/24", gateway: "10.7.7.1" } } });
      sandbox.resetRequests();
      const read = await readContainer(id, outs, inputs);
      assert.equal(requestsTo(/\/interfaces$/).length, 0);
      assert.ok(!read.gone);
      if (read.gone) return;
      assert.equal(read.outs.status, "stopped");
      assert.equal(read.outs.started, false);
      assert.equal(read.outs.ipv4, "10.7.7.7");
      assert.deepEqual(read.outs.network.ipv4, { address: "10.7.7.7/24", gateway: "10.7.7.1" });
      assert.equal(read.outs.nameserver, undefined);
      assert.deepEqual(read.outs.tags, []);
    });

    it("a container destroyed outside, or one that lost its claim, is gone", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      await client.put(`/nodes/${outs.node}/lxc/${outs.vmid}/config`, { tags: "someone-else" });
      assert.deepEqual(await readContainer(id, outs, inputs), { gone: true });
      await client.runTask("DELETE", `/nodes/${outs.node}/lxc/${outs.vmid}`, { purge: 1 });
      assert.deepEqual(await readContainer(id, outs, inputs), { gone: true });
      assert.ok(log().includes(`CT ${outs.vmid} no longer carries ${outs.identityTag!}: treating this resource as gone`), log().join("\n"));
    });
  });

  describe("update", () => {
    it("an image container's env: ours merged over the image's, a removed key of ours gone, the image's kept", async () => {
      const { id, outs, inputs } = await create({ image: "nginx:1.27", started: false, env: { MODE: "a", OLD: "x" } });
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, env: { MODE: "b" } });
      assert.deepEqual(String((await config(outs)).env).split("\0").sort(), ["MODE=b", "NGINX_VERSION=1.27.0", "PATH=/usr/bin"]);
      assert.deepEqual(after.env, { MODE: "b" });
      assert.equal(after.initCommand, "/docker-entrypoint.sh nginx");
      const { outs: again } = await updateContainer(id, after, { ...inputs, env: { MODE: "b" } }, { ...inputs, env: { MODE: "b" }, entrypoint: "/bin/sh -c 'sleep 1'" });
      assert.equal((await config(outs)).entrypoint, "/bin/sh -c 'sleep 1'");
      assert.equal(again.initCommand, "/bin/sh -c 'sleep 1'");
    });

    it("a pending change on a running container: one reboot applies it", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      // The reboot's worker dies taking the config lock once: nothing happened, so it is dispatched again.
      sandbox.faults.lockTimeout(1, outs.vmid, "vzreboot");
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, cores: 2, nameserver: ["9.9.9.9"], searchdomain: ["example.test"] });
      assert.equal(requestsTo(/\/pending$/).length, 1);
      assert.equal(requestsTo(/\/status\/reboot$/, "POST").length, 2);
      const paths = sandbox.requests.map((r) => r.path);
      const rebootAt = paths.length - 1 - [...paths].reverse().findIndex((p) => /\/status\/reboot$/.test(p));
      assert.ok(paths.slice(rebootAt).some((p) => /\/interfaces$/.test(p)), "the address is read again after the reboot");
      assert.equal((await config(outs)).nameserver, "9.9.9.9");
      assert.equal(after.status, "running");
      assert.match(after.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(log().includes(`restarting CT ${outs.vmid} to apply nameserver, searchdomain`), log().join("\n"));
    });

    it("a stopped container's change that needs a restart: no reboot", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      await updateContainer(id, outs, inputs, { ...inputs, nameserver: ["9.9.9.9"] });
      assert.equal(requestsTo(/\/status\/reboot$/).length, 0);
      assert.equal(requestsTo(/\/pending$/).length, 0);
      assert.equal((await config(outs)).nameserver, "9.9.9.9");
    });

    it("starting a container that runs already, or stopping one that is stopped, is no error", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      const started = await updateContainer(id, { ...outs, status: "stopped" }, { ...inputs, started: false }, inputs);
      assert.equal(started.outs.status, "running");
      await client.runTask("POST", `/nodes/${outs.node}/lxc/${outs.vmid}/status/stop`);
      const stopped = await updateContainer(id, started.outs, inputs, { ...inputs, started: false });
      assert.equal(stopped.outs.status, "stopped");
      assert.equal(stopped.outs.started, false);
    });

    it("only state fields changed on a running container: no request either", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, waitForIp: false });
      assert.equal(sandbox.requests.length, 0);
      assert.equal(after.waitForIp, false);
      assert.equal(after.ipv4, outs.ipv4);
      assert.equal(after.status, "running");
    });

    it("an image container's cores: no config read, and it is still reported as running the image's entrypoint", async () => {
      const { id, outs, inputs } = await create({ image: "nginx:1.27", started: false });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, cores: 2 });
      assert.equal(requestsTo(/\/config$/, "GET").length, 0);
      assert.equal((await config(outs)).cores, 2);
      assert.equal(after.kind, "application");
      assert.equal(after.initCommand, "/docker-entrypoint.sh nginx");
    });

    it("a container destroyed outside: the update fails saying so", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      await client.runTask("DELETE", `/nodes/${outs.node}/lxc/${outs.vmid}`, { purge: 1 });
      const error = await updateContainer(id, outs, inputs, { ...inputs, cores: 3 }).catch((e) => e);
      assert.equal(error.message, `Proxmox GET /cluster/resources failed: 404 CT ${outs.vmid} does not exist`);
    });

    it("only state fields changed: no request at all", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      const next = { ...inputs, timeouts: { ...inputs.timeouts, create: inputs.timeouts.create + 1 } };
      const { outs: after } = await updateContainer(id, outs, inputs, next);
      assert.equal(sandbox.requests.length, 0);
      assert.equal(after.timeouts.create, inputs.timeouts.create + 1);
      assert.equal(after.vmid, outs.vmid);
    });

    it("cores and memory of a running container: one PUT, no restart", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, cores: 1, memory: 256 });
      sandbox.resetRequests();
      // A state-only field changed alongside does not hide the in-place change.
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, cores: 2, memory: 512, timeouts: { ...inputs.timeouts, start: 99 } });
      // The fewest calls: where the CT is, then one PUT; no config read first, no pending check, no address wait.
      assert.deepEqual(sandbox.requests.map((r) => `${r.method} ${r.path}`), [
        `GET /nodes/${outs.node}/lxc/${outs.vmid}/status/current`,
        `PUT /nodes/${outs.node}/lxc/${outs.vmid}/config`,
      ]);
      assert.deepEqual(sandbox.requests[1].params, { cores: "2", memory: "512" });
      assert.equal(after.timeouts.start, 99);
      const cfg = await config(outs);
      assert.equal(cfg.cores, 2);
      assert.equal(cfg.memory, 512);
      assert.equal(after.cores, 2);
      assert.equal(after.status, "running");
      assert.equal(after.ipv4, outs.ipv4);
    });

    it("a grown disk is resized; stopping and starting follow `started`", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, diskSize: 4 });
      const stopped = await updateContainer(id, outs, inputs, { ...inputs, diskSize: 6, started: false });
      assert.equal(stopped.outs.status, "stopped");
      assert.equal(stopped.outs.ipv4, undefined);
      assert.equal(stopped.outs.mac, outs.mac);
      assert.match(String((await config(outs)).rootfs), /size=6G/);
      assert.equal((await client.get<{ status: string }>(`/nodes/${outs.node}/lxc/${outs.vmid}/status/current`)).status, "stopped");
      const next = { ...inputs, diskSize: 6, started: true };
      const started = await updateContainer(id, stopped.outs, { ...inputs, diskSize: 6, started: false }, next);
      assert.equal(started.outs.status, "running");
      assert.match(started.outs.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(log().includes(`growing CT ${outs.vmid}'s root disk to 6 GiB`), log().join("\n"));
    });

    it("a change that needs a restart reboots a running container", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, hostname: `${inputs.hostname}-b` });
      assert.equal((await config(outs)).hostname, `${inputs.hostname}-b`);
      assert.equal(after.hostname, `${inputs.hostname}-b`);
      assert.equal(after.status, "running");
    });

    it("finds the container's node in the cluster when the state has none", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      const elsewhere = { ...outs, node: undefined as unknown as string };
      const { outs: after } = await updateContainer(id, elsewhere, inputs, { ...inputs, cores: 3 });
      assert.equal(after.node, outs.node);
      assert.equal((await config(outs)).cores, 3);
    });
  });

  describe("delete", () => {
    it("stops and destroys a running container; a second delete is a no-op", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      await deleteContainer(id, outs, inputs);
      assert.equal(requestsTo(/\/status\/shutdown$/, "POST").length, 1);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 1);
      assert.ok((await config(outs).catch((e) => e)) instanceof Error);
      sandbox.resetRequests();
      await deleteContainer(id, outs, inputs);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
      assert.deepEqual(log().slice(-2), [`destroying CT ${outs.vmid} on ${outs.node}`, `CT ${outs.vmid} is already gone`]);
    });

    it("the shutdown waits half the delete timeout (1 to 60 s) and forces; the destroy purges", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      await deleteContainer(id, outs, { ...inputs, timeouts: { ...inputs.timeouts, delete: 9 } });
      assert.deepEqual(requestsTo(/\/status\/shutdown$/, "POST").map((r) => r.params), [{ forceStop: "1", timeout: "4" }]);
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").map((r) => r.params), [{ purge: "1", "destroy-unreferenced-disks": "1" }]);
      const other = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      await deleteContainer(other.id, other.outs, { ...other.inputs, timeouts: { ...other.inputs.timeouts, delete: 1 } });
      assert.equal(requestsTo(/\/status\/shutdown$/, "POST")[0].params?.timeout, "1");
    });

    it("a stopped container is destroyed without a shutdown", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      await deleteContainer(id, outs, inputs);
      assert.equal(requestsTo(/\/status\//, "POST").length, 0);
      assert.equal(requestsTo(/\/status\/current$/).length, 0, "the cluster listing's status is used, not read again");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 1);
    });

    it("destroyContainer told no status reads it: a running container is shut down, then destroyed; one already gone is done", async () => {
      const { outs } = await create({ template: TEMPLATE, waitForIp: false });
      sandbox.resetRequests();
      await destroyContainer(client, outs.node, outs.vmid, 10);
      assert.deepEqual(requestsTo(/\/status\/shutdown$/, "POST").map((r) => r.path), [`/nodes/${outs.node}/lxc/${outs.vmid}/status/shutdown`]);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 1);
      assert.deepEqual(sandbox.containers().filter((c) => c.vmid === outs.vmid), []);
      sandbox.resetRequests();
      await destroyContainer(client, outs.node, outs.vmid, 10);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
    });

    it("leaves a container that no longer carries the claim", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      await client.put(`/nodes/${outs.node}/lxc/${outs.vmid}/config`, { tags: "taken-over" });
      await deleteContainer(id, outs, inputs);
      assert.equal((await config(outs)).tags, "taken-over");
      assert.ok(log().includes(`CT ${outs.vmid} no longer carries ${outs.identityTag!} (another container, or adopted by a newer create): leaving it`), log().join("\n"));
    });
  });

  describe("create failures", () => {
    const ctsNamed = (hostname: string) => sandbox.containers().filter((c) => c.config.hostname === hostname);
    // Removes a container a timed-out task went on making, once that task let go of its lock.
    const waitGone = async (error: { id: string; properties: { node: string } }) => {
      for (let i = 0; i < 100 && (await client.get<{ lock?: string }>(`/nodes/${error.properties.node}/lxc/${error.id}/status/current`)).lock; i++) await new Promise((r) => setTimeout(r, 50));
      await client.runTask("DELETE", `/nodes/${error.properties.node}/lxc/${error.id}`, { purge: 1, force: 1 });
    };

    it("a failed create task: Proxmox's task error, untracked; PVE removed its container, so no DELETE is sent", async () => {
      sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - injected: extract failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "badextract", template: TEMPLATE, started: false })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_TASK"), true, String(error));
      assert.match(error.message, /injected: extract failed/);
      assert.equal(error.id, undefined, "nothing to track");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
      assert.deepEqual(ctsNamed("badextract"), []);
    });

    it("started and waiting for an address, a failed create task: Proxmox's task error, untracked, nothing started or deleted", async () => {
      sandbox.faults.task({ type: "vzcreate", fail: "unable to create CT - injected: extract failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "badextract-started", template: TEMPLATE })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_TASK"), true, String(error));
      assert.match(error.message, /injected: extract failed/);
      assert.equal(error.id, undefined, "nothing to track");
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+/).filter((r) => r.method !== "GET"), []);
      assert.deepEqual(ctsNamed("badextract-started"), []);
    });

    // On a fresh sandbox: with nothing learned of the create and its start, the task list is read from the dispatch
    // on, so a deadline is seen as soon as it passes (with the pair's durations known, only every 3 s).
    const onFreshNode = (run: (connection: ContainerInputs["connection"], fresh: Sandbox) => Promise<void>) =>
      withOwnSandbox({ nodes: ["pve1"], taskDurationsMs: { vzcreate: 5, vzstart: 5, vzdestroy: 5 } }, run);

    it("started and waiting for an address, a create past its deadline: a timeout naming the create, the container tracked", async () => {
      await onFreshNode(async (connection, fresh) => {
        fresh.faults.task({ type: "vzcreate", delayMs: 800, count: 1 });
        const error = await createContainer(inputsOf({ hostname: "slow-create-addr", template: TEMPLATE, connection, timeouts: { create: 0.2 } })).catch((e) => e);
        assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
        assert.match(String(error.id), /^\d+$/);
        assert.ok(error.message.includes(`(vzcreate ${error.id} on pve1) did not finish within 200 ms; it may still be running`), error.message);
        assert.deepEqual([error.context.node, String(error.context.upid).split(":").slice(0, 2).join(":")], ["pve1", "UPID:pve1"], "the task it waited for, for whoever handles it");
        assert.equal(error.properties.hostname, "slow-create-addr");
        assert.equal(fresh.requests.filter((r) => r.method === "DELETE").length, 0, "nothing destroyed while the task may still run");
      });
    });

    it("started and waiting for an address, a start past its deadline: a timeout naming the start, the container tracked", async () => {
      await onFreshNode(async (connection, fresh) => {
        fresh.faults.task({ type: "vzstart", delayMs: 1500, count: 1 });
        const error = await createContainer(inputsOf({ hostname: "slow-start-addr", template: TEMPLATE, connection, timeouts: { start: 0.2 } })).catch((e) => e);
        assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
        assert.match(String(error.id), /^\d+$/);
        assert.ok(error.message.includes(`the start of CT ${error.id} on pve1 did not finish within 200 ms; it may still be running`), error.message);
        assert.deepEqual([error.properties.vmid, error.properties.status], [Number(error.id), "unknown"]);
        assert.equal(fresh.requests.filter((r) => r.method === "DELETE").length, 0);
      });
    });

    it("a create whose task cannot be followed (403 on its status): the container it made is ours, so it is destroyed and the error reported", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 403, message: "Permission check failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "unfollowed", template: TEMPLATE, started: false })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_HTTP"), true, String(error));
      assert.equal(error.status, 403);
      assert.equal(error.id, undefined, "removed, so not tracked");
      const [post] = requestsTo(/^\/nodes\/[^/]+\/lxc$/, "POST");
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").map((r) => r.path), [`${post.path}/${post.params.vmid}`]);
      assert.deepEqual(ctsNamed("unfollowed"), []);
      assert.ok(log().some((line) => line.startsWith(`removing CT ${post.params.vmid}: `)), log().join("\n"));
    });

    it("a create that cannot be followed while it still runs: its locked config is waited for, then the container is recognised and removed", async () => {
      sandbox.faults.task({ type: "vzcreate", delayMs: 800, count: 1 });
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 403, message: "Permission check failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "unfollowed-slow", template: TEMPLATE, started: false })).catch((e) => e);
      assert.equal(error.status, 403);
      assert.equal(error.id, undefined, "removed, so not tracked");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 1);
      assert.deepEqual(ctsNamed("unfollowed-slow"), [], "no orphan");
    });

    it("when that removal fails too, the error carries the container's id and outputs so that Pulumi tracks it", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 403, message: "Permission check failed", count: 1 });
      sandbox.faults.endpoint({ method: "DELETE", path: "^/nodes/[^/]+/lxc/\\d+$", status: 403, message: "Permission check failed (/vms/1, VM.Allocate)", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "unremoved", template: TEMPLATE, started: false })).catch((e) => e);
      assert.equal(error.status, 403);
      assert.match(String(error.id), /^\d+$/);
      assert.equal(error.properties.vmid, Number(error.id));
      assert.equal(error.properties.hostname, "unremoved");
      assert.equal(error.properties.status, "unknown");
      assert.equal(sandbox.containers().filter((c) => c.vmid === Number(error.id)).length, 1);
      assert.ok(log().some((line) => line.startsWith(`could not remove CT ${error.id}: `)), log().join("\n"));
      await client.runTask("DELETE", `/nodes/${error.properties.node}/lxc/${error.id}`, { purge: 1 });
    });

    it("a clone whose task cannot be followed: the clone carrying our hostname is ours, so it is destroyed and the error reported", async () => {
      const source = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 403, message: "Permission check failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "lost-clone", clone: source.outs.vmid, started: false })).catch((e) => e);
      assert.equal(error.status, 403);
      assert.equal(error.id, undefined, "removed, so not tracked");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 1);
      assert.deepEqual(ctsNamed("lost-clone"), []);
      assert.equal((await config(source.outs)).hostname, source.outs.hostname, "the source stays");
    });

    it("a create with a fixed VMID refused for another reason leaves the container already holding that VMID alone, even one of the same hostname", async () => {
      const { outs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", status: 500, message: "injected: storage busy", count: 1 });
      // Another stack's container: same hostname, but not our claim's tag.
      const error = await createContainer(inputsOf({ hostname: outs.hostname, template: TEMPLATE, node: outs.node, vmid: outs.vmid, started: false })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_HTTP"), true, String(error));
      assert.match(error.message, /injected: storage busy/);
      assert.equal(error.id, undefined, "not ours to track");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+/).filter((r) => r.method !== "GET").length, 0);
      assert.equal((await config(outs)).hostname, outs.hostname);
    });

    it("a clone whose answer was lost carries on with the clone Proxmox made: one container, our config written, its id reported", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      sandbox.resetRequests();
      sandbox.faults.endpoint({ method: "POST", path: "/clone$", action: "drop-after", count: 1 });
      const { id, outs } = await create({ clone: source.outs.vmid, started: false, cores: 3 });
      assert.equal(requestsTo(/\/clone$/, "POST").length, 1, "not cloned twice");
      assert.equal(id, String(outs.vmid));
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
      assert.deepEqual(sandbox.containers().filter((c) => c.config.hostname === outs.hostname).map((c) => c.vmid), [outs.vmid]);
      assert.equal((await config(outs)).cores, 3);
    });

    it("a clone onto a fixed VMID that is taken leaves its holder alone: Proxmox's refusal, or any other failure, is reported and nothing destroyed", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      const holder = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      sandbox.resetRequests();
      // A clone is recognised by its hostname: the holder has the same one, and must still not be taken for ours.
      const taken = await createContainer(inputsOf({ hostname: holder.outs.hostname, clone: source.outs.vmid, vmid: holder.outs.vmid, started: false })).catch((e) => e);
      assert.match(String(taken.message), new RegExp(`CT ${holder.outs.vmid} already exists`));
      assert.equal(taken.id, undefined);
      sandbox.faults.endpoint({ method: "POST", path: "/clone$", status: 500, message: "injected: clone refused", count: 1 });
      const refused = await createContainer(inputsOf({ hostname: "other-clone", clone: source.outs.vmid, vmid: holder.outs.vmid, started: false })).catch((e) => e);
      assert.match(String(refused.message), /injected: clone refused/);
      assert.equal(refused.id, undefined);
      assert.equal(requestsTo(/\/lxc\/\d+/).filter((r) => r.method !== "GET" && !r.path.endsWith("/clone")).length, 0, "nothing written to the holder");
      assert.equal((await config(holder.outs)).hostname, holder.outs.hostname);
    });

    it("a create on a fixed VMID whose task cannot be followed: the container it made is ours, so it is destroyed, no orphan", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 403, message: "Permission check failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "fixed-unfollowed", template: TEMPLATE, vmid: 7300, started: false })).catch((e) => e);
      assert.equal(error.status, 403);
      assert.equal(error.id, undefined, "removed, so not tracked");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/7300$/, "DELETE").length, 1);
      assert.deepEqual(ctsNamed("fixed-unfollowed"), []);
    });

    it("a clone past its deadline: a timeout, and the clone it may still make is tracked, not destroyed", async () => {
      const source = await create({ template: TEMPLATE, started: false, node: sandbox.nodes[0] });
      sandbox.resetRequests();
      sandbox.faults.task({ type: "vzclone", delayMs: 600, count: 1 });
      const error = await createContainer(inputsOf({ hostname: "slow-clone", clone: source.outs.vmid, started: false, timeouts: { create: 0.2 } })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
      assert.match(String(error.id), /^\d+$/);
      assert.equal(error.properties.hostname, "slow-clone");
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0, "nothing destroyed while the task may still run");
      await waitGone(error);
    });

    it("started without waiting for an address, a create past its deadline: a timeout, the container tracked", async () => {
      sandbox.faults.task({ type: "vzcreate", delayMs: 600, count: 1 });
      const error = await createContainer(inputsOf({ hostname: "slow-start", template: TEMPLATE, waitForIp: false, timeouts: { create: 0.2 } })).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_PVE_TIMEOUT"), true, String(error));
      assert.match(error.message, /did not finish within 200 ms/);
      assert.match(String(error.id), /^\d+$/);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
      await waitGone(error);
    });

    it("when whether the container exists cannot be told, it is kept tracked, not destroyed", async () => {
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/tasks/[^/]+/status$", status: 403, message: "Permission check failed", count: 1 });
      sandbox.faults.endpoint({ method: "GET", path: "^/nodes/[^/]+/lxc/\\d+/config$", status: 403, message: "Permission check failed", count: 1 });
      const error = await createContainer(inputsOf({ hostname: "untold", template: TEMPLATE, started: false })).catch((e) => e);
      assert.equal(error.status, 403);
      assert.match(String(error.id), /^\d+$/);
      assert.deepEqual([error.properties.vmid, error.properties.hostname, error.properties.status], [Number(error.id), "untold", "unknown"]);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 0);
      assert.equal(sandbox.containers().filter((c) => c.vmid === Number(error.id)).length, 1, "still there (its create may still run)");
      // PVE refuses to destroy a CT whose create still holds `lock: create`: let the create end first.
      const [createTask] = await client.nodeTasks(error.properties.node, { vmid: Number(error.id), typefilter: "vzcreate" });
      assert.ok(createTask?.upid, "its create task");
      await client.waitForTask(createTask.upid);
      await client.runTask("DELETE", `/nodes/${error.properties.node}/lxc/${error.id}`, { purge: 1 });
    });
  });

  describe("update classes and state", () => {
    it("a new static address of a running container: applied at once (no reboot) and reported", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, waitForIp: false, network: { ipv4: { address: "10.9.1.1/24", gateway: "10.9.1.254" } } });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, network: { ...inputs.network, ipv4: { address: "10.9.1.2/24", gateway: "10.9.1.254" } } });
      assert.match(String((await config(outs)).net0), /ip=10\.9\.1\.2\/24/);
      assert.equal(requestsTo(/\/status\/reboot$/).length, 0);
      assert.equal(after.ipv4, "10.9.1.2");
      assert.equal(after.mac, outs.mac);
    });

    it("an update keeps the container's claim: read and delete still act on it", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false, identity: "abcdefabcdefabcdefabcdefabcdef01" });
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, cores: 2 });
      assert.equal(after.identityTag, outs.identityTag);
      assert.deepEqual(String((await config(outs)).tags).split(";"), [outs.identityTag!]);
      const read = await readContainer(id, after, inputs);
      assert.equal(read.gone, false);
    });

    it("an entrypoint removed from a system container: the config loses it, the outputs say system again", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false, entrypoint: "/bin/sh" });
      assert.equal(outs.kind, "application");
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, entrypoint: undefined });
      assert.equal((await config(outs)).entrypoint, undefined);
      assert.equal(after.kind, "system");
      assert.equal(after.initCommand, "/sbin/init");
    });

    it("state from before initCommand was recorded: the config is read for what the container runs", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false, entrypoint: "/bin/sh" });
      const older = { ...outs, initCommand: undefined, kind: undefined } as unknown as ContainerOutputs;
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, older, inputs, { ...inputs, cores: 2 });
      assert.equal(requestsTo(/\/config$/, "GET").length, 1);
      assert.equal(after.initCommand, "/bin/sh");
      assert.equal(after.kind, "application");
    });

    it("an application container's NIC keeps PVE's host-managed=1 when the network changes", async () => {
      const { id, outs, inputs } = await create({ image: "nginx:1.27", started: false });
      assert.match(String((await config(outs)).net0), /host-managed=1/);
      await updateContainer(id, outs, inputs, { ...inputs, network: { ...inputs.network, mtu: 1400 } });
      const net0 = String((await config(outs)).net0);
      assert.match(net0, /mtu=1400/);
      assert.match(net0, /host-managed=1/);
    });

    it("a container a failed create left stopped is started by the next update, even with only state fields changed", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, { ...inputs, started: true }, { ...inputs, started: true, timeouts: { ...inputs.timeouts, create: inputs.timeouts.create + 1 } });
      assert.equal(requestsTo(/\/status\/start$/, "POST").length, 1);
      assert.equal(after.status, "running");
      assert.match(after.ipv4 ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal((await client.get<{ status: string }>(`/nodes/${outs.node}/lxc/${outs.vmid}/status/current`)).status, "running");
    });

    it("a system container's env: written, and a running one rebooted to apply it", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, env: { A: "1" } });
      sandbox.resetRequests();
      await updateContainer(id, outs, inputs, { ...inputs, env: { A: "2", B: "3" } });
      assert.deepEqual(String((await config(outs)).env).split("\0").sort(), ["A=2", "B=3"]);
      assert.equal(requestsTo(/\/status\/reboot$/, "POST").length, 1);
    });

    it("a NIC setting of a running DHCP container: applied at once, and its address still reported", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, network: { ...inputs.network, mtu: 1400 } });
      assert.match(String((await config(outs)).net0), /mtu=1400/);
      assert.equal(requestsTo(/\/status\//, "POST").length, 0);
      assert.equal(after.ipv4, outs.ipv4);
      assert.equal(after.mac, outs.mac);
    });

    it("a stopped container that should run, with a change needing a restart: started once, not rebooted", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, { ...inputs, started: true }, { ...inputs, started: true, nameserver: ["9.9.9.9"] });
      assert.equal(requestsTo(/\/status\/reboot$/).length, 0);
      assert.equal(requestsTo(/\/pending$/).length, 0);
      assert.equal(requestsTo(/\/status\/start$/, "POST").length, 1);
      assert.equal(after.status, "running");
    });

    it("a refused status check fails the update with Proxmox's answer, before any write", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.faults.endpoint({ method: "GET", path: `/lxc/${outs.vmid}/status/current$`, status: 403, message: "Permission check failed (/vms/1, VM.Audit)", count: 1 });
      sandbox.resetRequests();
      const error = await updateContainer(id, outs, inputs, { ...inputs, cores: 2 }).catch((e) => e);
      assert.equal(error.status, 403);
      assert.equal(sandbox.requests.filter((r) => r.method !== "GET").length, 0);
    });

    it("a grown disk of a running container: one resize, no restart, the address kept", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, diskSize: 4 });
      sandbox.resetRequests();
      const { outs: after } = await updateContainer(id, outs, inputs, { ...inputs, diskSize: 5 });
      assert.deepEqual(requestsTo(/\/resize$/, "PUT").map((r) => r.params), [{ disk: "rootfs", size: "5G" }]);
      assert.equal(requestsTo(/\/status\//, "POST").length, 0);
      assert.equal(requestsTo(/\/config$/, "PUT").length, 0, "the disk size is not a config key");
      assert.equal(after.diskSize, 5);
      assert.equal(after.ipv4, outs.ipv4);
    });
  });

  describe("read and delete faults", () => {
    it("read: a config that cannot be read is an error, not a vanished container", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.faults.endpoint({ method: "GET", path: `^/nodes/[^/]+/lxc/${outs.vmid}/config$`, status: 403, message: "Permission check failed", count: 1 });
      const error = await readContainer(id, outs, inputs).catch((e) => e);
      assert.equal(error.status, 403);
      assert.match(error.message, /Permission check failed/);
    });

    it("read: an image's own entrypoint and env are not drift; a static address changed outside is drift", async () => {
      const app = await create({ image: "nginx:1.27", started: false, env: { MODE: "x" } });
      const read = await readContainer(app.id, app.outs, app.inputs);
      assert.ok(!read.gone);
      if (read.gone) return;
      assert.equal(read.outs.entrypoint, undefined, "the image's entrypoint is not an input");
      assert.deepEqual(read.outs.env, { MODE: "x" });
      assert.equal(read.outs.kind, "application");
      assert.equal(read.outs.initCommand, "/docker-entrypoint.sh nginx");
      const sys = await create({ template: TEMPLATE, started: false, waitForIp: false, network: { ipv4: { address: "10.6.6.6/24", gateway: "10.6.6.1" } } });
      await client.put(`/nodes/${sys.outs.node}/lxc/${sys.outs.vmid}/config`, { net0: String((await config(sys.outs)).net0).replace("10.6.6.6/24", "10.6.6.7/24") });
      const other = await readContainer(sys.id, sys.outs, sys.inputs);
      assert.ok(!other.gone);
      if (other.gone) return;
      assert.deepEqual(other.outs.network.ipv4, { address: "10.6.6.7/24", gateway: "10.6.6.1" });
      assert.equal(other.outs.ipv4, "10.6.6.7");
      assert.equal(other.outs.mac, sys.outs.mac);
    });

    it("read: a container whose config vanished after the listing is gone", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.faults.endpoint({ method: "GET", path: `/lxc/${outs.vmid}/config$`, status: 500, message: `Configuration file 'nodes/${outs.node}/lxc/${outs.vmid}.conf' does not exist`, count: 1 });
      assert.deepEqual(await readContainer(id, outs, inputs), { gone: true });
    });

    it("delete: a destroy whose worker died taking the lock is dispatched again; one answered 5xx is sent again", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.faults.lockTimeout(1, outs.vmid, "vzdestroy");
      await deleteContainer(id, outs, inputs);
      assert.equal(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").length, 2);
      assert.ok((await config(outs).catch((e) => e)) instanceof Error);
      const other = await create({ template: TEMPLATE, started: false });
      sandbox.resetRequests();
      sandbox.faults.endpoint({ method: "DELETE", path: `/lxc/${other.outs.vmid}$`, status: 502, message: "proxy error", count: 1 });
      await deleteContainer(other.id, other.outs, other.inputs);
      assert.deepEqual(requestsTo(/^\/nodes\/[^/]+\/lxc\/\d+$/, "DELETE").map((r) => r.status), [502, 200]);
    });

    it("delete: a destroy answered 'does not exist' (removed meanwhile) is done", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.faults.endpoint({ method: "DELETE", path: `/lxc/${outs.vmid}$`, status: 500, message: `Configuration file 'nodes/${outs.node}/lxc/${outs.vmid}.conf' does not exist`, count: 1 });
      await deleteContainer(id, outs, inputs);
      await client.runTask("DELETE", `/nodes/${outs.node}/lxc/${outs.vmid}`, { purge: 1 });
    });

    it("read: a running container whose interfaces cannot be read is an error", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE });
      sandbox.faults.endpoint({ method: "GET", path: `^/nodes/[^/]+/lxc/${outs.vmid}/interfaces$`, status: 403, message: "Permission check failed", count: 1 });
      const error = await readContainer(id, outs, inputs).catch((e) => e);
      assert.equal(error.status, 403);
    });

    it("read: a disk grown and swap changed outside are drift", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false, diskSize: 4, swap: 256 });
      await client.put(`/nodes/${outs.node}/lxc/${outs.vmid}/resize`, { disk: "rootfs", size: "7G" });
      await client.put(`/nodes/${outs.node}/lxc/${outs.vmid}/config`, { swap: 128 });
      const read = await readContainer(id, outs, inputs);
      assert.ok(!read.gone);
      if (read.gone) return;
      assert.equal(read.outs.diskSize, 7);
      assert.equal(read.outs.swap, 128);
      assert.equal(read.outs.unprivileged, true);
    });

    it("delete: a destroy refused is an error naming Proxmox's answer, and the container stays", async () => {
      const { id, outs, inputs } = await create({ template: TEMPLATE, started: false });
      sandbox.faults.endpoint({ method: "DELETE", path: `^/nodes/[^/]+/lxc/${outs.vmid}$`, status: 403, message: "Permission check failed (/vms/1, VM.Allocate)", count: 1 });
      await assert.rejects(deleteContainer(id, outs, inputs), /Permission check failed/);
      assert.equal((await config(outs)).hostname, outs.hostname);
      await client.runTask("DELETE", `/nodes/${outs.node}/lxc/${outs.vmid}`, { purge: 1 });
    });

  });

  describe("pure helpers", () => {
    it("addressesOf takes eth0's global addresses and skips lo and link-local", () => {
      assert.deepEqual(addressesOf([
        { name: "lo", inet: "127.0.0.1/8", hwaddr: "00:00:00:00:00:00" },
        { name: "eth1", inet: "10.1.1.1/24", hwaddr: "aa:aa:aa:aa:aa:aa" },
        { name: "eth0", inet: "169.254.1.1/16", inet6: "fe80::1/64", hwaddr: "bc:24:11:00:00:01", "ip-addresses": [{ "ip-address": "10.0.0.9", "ip-address-type": "inet", prefix: 24 }, { "ip-address": "fd00::9", "ip-address-type": "inet6", prefix: 64 }] },
      ] as never), { ipv4: "10.0.0.9", ipv6: "fd00::9", mac: "BC:24:11:00:00:01" });
      assert.deepEqual(addressesOf([{ name: "lo", inet: "127.0.0.1/8" }] as never), {});
      assert.deepEqual(addressesOf(null), {}, "PVE answers null for a CT without a running init");
      assert.deepEqual(addressesOf([{ name: "veth", inet: "10.2.2.2/24", "hardware-address": "aa:bb:cc:dd:ee:ff" }] as never), { ipv4: "10.2.2.2", ipv6: undefined, mac: "AA:BB:CC:DD:EE:FF" });
      // fe80::/10 is link-local (fe80 to febf); 169.254/16 only at the start; the first global address of each family wins.
      const listed = ["fe80::1", "fe9f::2", "fea9::3", "feba::4", "169.254.9.9", "2001:db8::fe80:1", "10.169.254.3", "10.0.0.2", "fd00::2"];
      assert.deepEqual(addressesOf([{ name: "eth0", hwaddr: "bc:24:11:00:00:02", "ip-addresses": listed.map((a) => ({ "ip-address": a, "ip-address-type": isIP(a) === 4 ? "inet" : "inet6", prefix: 64 })) }] as never),
        { ipv4: "10.169.254.3", ipv6: "2001:db8::fe80:1", mac: "BC:24:11:00:00:02" });
      assert.deepEqual(addressesOf([{ name: "eth0", inet: "10.0.0.4/24" }] as never), { ipv4: "10.0.0.4", ipv6: undefined, mac: undefined }, "a link without a MAC");
    });

    it("outputsOf falls back to the static addresses of the inputs and leaves kind out without init", () => {
      const inputs = inputsOf({ hostname: "x", template: TEMPLATE, network: { ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" }, ipv6: { address: "fd00::5/64" } } });
      const outs = outputsOf(inputs, { node: "pve1", vmid: 101, storage: "local-lvm", identityTag: "lp-0000000000-abcdef" }, { status: "stopped" });
      assert.equal(outs.ipv4, "10.0.0.5");
      assert.equal(outs.ipv6, "fd00::5");
      assert.equal("kind" in outs, false);
      assert.equal(outs.schemaVersion, SCHEMA_VERSION);
      const withInit = outputsOf(inputs, { node: "pve1", vmid: 101, storage: "local-lvm", identityTag: "t" }, { status: "running", ipv4: "10.0.0.6" }, { entrypoint: undefined });
      assert.equal(withInit.ipv4, "10.0.0.6");
      assert.equal(withInit.kind, "system");
    });
  });

  async function addressesFor(outs: ContainerOutputs) {
    return addressesOf(await client.get(`/nodes/${outs.node}/lxc/${outs.vmid}/interfaces`));
  }
});
