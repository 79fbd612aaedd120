// LaunchpadContainer through the real dynamic-provider host (serialized provider, configure,
// secrets, state), against the Proxmox sandbox with short task durations.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LaunchpadContainer, type LaunchpadContainerArgs } from "../../src/container";
import { ProxmoxClient } from "../../provider/proxmox";
import { startSandbox, type Sandbox } from "../../sandbox";
import { EngineError, isSecretWire, TestEngine, proxmoxConfig } from "../../devstack/engine";
import { MALFORMED, PUBLIC_KEY, TEMPLATE } from "../unit/container/fixtures";

const PASSWORD = "correct-horse-battery-staple";

describe("LaunchpadContainer through the real dynamic-provider host", function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let client: ProxmoxClient;
  const engines: TestEngine[] = [];

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 40, vzstart: 20, vzshutdown: 20, vzstop: 10, vzdestroy: 20, ociregistrypull: 60, vzclone: 40, vzreboot: 30 } });
    client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint });
  });
  after(async () => {
    try {
      // Invalid input must fail in check, so the provider never sends what the official schema rejects.
      assert.deepEqual(sandbox?.schemaViolations ?? [], [], "the provider sent a request the official schema rejects");
    } finally {
      for (const engine of engines) await engine.close();
      await client?.close();
      await sandbox?.close();
    }
  });

  /** An engine configured the way a user would: stack config, token as a secret. */
  const newEngine = (stack: string, extra: Partial<ConstructorParameters<typeof TestEngine>[0]> = {}) => {
    const engine = new TestEngine({
      project: "launchpad-ct", stack,
      ...proxmoxConfig(sandbox),
      ...extra,
    });
    engines.push(engine);
    return engine;
  };
  const one = (args: LaunchpadContainerArgs, name = "app") => () => {
    const ct = new LaunchpadContainer(name, args);
    return { vmid: ct.vmid, ipv4: ct.ipv4, node: ct.node };
  };
  const count = (method: string, pattern: RegExp) => sandbox.requests.filter((r) => r.method === method && pattern.test(r.path)).length;
  const ops = (result: { operations: Array<{ name: string; op: string }> }) => result.operations.map((o) => `${o.name}:${o.op}`).sort();
  const live = (vmid: unknown) => sandbox.containers().find((c) => c.vmid === Number(vmid));

  it("rejects 30+ malformed inputs in check, each naming its field, before any request", async () => {
    sandbox.resetRequests();
    const engine = newEngine("malformed");
    // Env names are refused by the class itself (Pulumi's serialization would drop `__proto__` before
    // check could see it): those cases fail in the program, naming the field, and never reach the host.
    const refusedInProgram = new Map<number, unknown>();
    const program = () => {
      MALFORMED.forEach((c, i) => {
        try {
          new LaunchpadContainer(`bad${i}`, c.inputs as unknown as LaunchpadContainerArgs);
        } catch (refusal) {
          refusedInProgram.set(i, refusal);
        }
      });
    };
    const error = await engine.up(program).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EngineError, `expected the up to fail, got ${error}`);
    for (const [i, c] of MALFORMED.entries()) {
      const refusal = refusedInProgram.get(i) as { problems?: Array<{ property: string }> } | undefined;
      if (refusal) {
        assert.ok(refusal.problems?.some((p) => p.property === c.field), `${c.name}: expected ${c.field} in ${String(refusal)}`);
        continue;
      }
      const failure = error.failures.find((f) => f.urn.endsWith(`::bad${i}`));
      assert.ok(failure?.checkFailures?.some((p) => p.property === c.field), `${c.name}: expected ${c.field} in ${JSON.stringify(failure)}`);
    }
    assert.ok([...refusedInProgram.keys()].every((i) => MALFORMED[i].field.startsWith("env.")), "only env names are refused before check");
    assert.deepEqual(sandbox.requests, [], "no request reached Proxmox");
    assert.equal(sandbox.containers().length, 0);
  });

  it("previews with unknown inputs: no failure, no request", async () => {
    sandbox.resetRequests();
    const engine = newEngine("preview");
    const result = await engine.preview(() => {
      const a = new LaunchpadContainer("a", { hostname: "prev-a", template: TEMPLATE });
      new LaunchpadContainer("b", { hostname: a.hostname.apply((h) => `${h}-b`), template: TEMPLATE, env: { PEER: a.ipv4.apply((ip) => ip ?? "") } });
    });
    assert.deepEqual(ops(result), ["a:create", "b:create"]);
    assert.deepEqual(sandbox.requests, []);
  });

  it("creates from a template, updates by class with the fewest calls, refreshes drift, deletes twice", async () => {
    const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-ct-")), "state.json");
    const engine = newEngine("lifecycle", { stateFile });
    const base: LaunchpadContainerArgs = { hostname: "web-1", template: TEMPLATE, tags: ["Preview", "app"], sshPublicKeys: [PUBLIC_KEY], password: PASSWORD, env: { MODE: "a" } };

    const created = await engine.up(one(base));
    assert.deepEqual(ops(created), ["app:create"]);
    const state = engine.resource("app")!;
    assert.equal(state.type, "pulumi-nodejs:dynamic/launchpad:Container");
    const out = state.plainOutputs;
    assert.equal(String(out.vmid), state.id);
    assert.equal(out.status, "running");
    assert.match(String(out.ipv4), /^\d+\.\d+\.\d+\.\d+$/);
    // The stack travels as a Proxmox tag too, for `pulumi-launchpad sweep`.
    assert.deepEqual(out.tags, ["app", "lp-stack-lifecycle", "preview"]);
    assert.equal(out.ostemplate, TEMPLATE);
    assert.equal(out.schemaVersion, 1);
    const ct = live(out.vmid)!;
    assert.ok(ct.tags.includes(String(out.identityTag)), "the container carries its identity tag");
    assert.ok(ct.tags.includes("lp-stack-lifecycle"), "and its stack tag");
    assert.ok(isSecretWire(state.outputs.password), "password output is a secret");

    // No change: no update call at all.
    sandbox.resetRequests();
    assert.deepEqual(ops(await engine.up(one(base))), ["app:same"]);
    assert.equal(sandbox.requests.length, 0, "a no-op up makes no Proxmox request");

    // In place: one PUT with every change, no restart.
    sandbox.resetRequests();
    const inPlace = { ...base, cores: 2, memory: 1024, tags: ["app"], description: "branch main" };
    assert.deepEqual(ops(await engine.up(one(inPlace))), ["app:update"]);
    assert.equal(count("PUT", /\/config$/), 1, "one PUT /config");
    assert.equal(count("POST", /\/status\/(reboot|stop|shutdown|start)$/), 0, "no restart");
    assert.equal(live(out.vmid)!.config.cores, 2);
    assert.equal(live(out.vmid)!.config.memory, 1024);

    // Restart class: one PUT, one restart.
    sandbox.resetRequests();
    const restart = { ...inPlace, env: { MODE: "b", EXTRA: "1" } };
    assert.deepEqual(ops(await engine.up(one(restart))), ["app:update"]);
    assert.equal(count("PUT", /\/config$/), 1);
    assert.equal(count("POST", /\/status\/(reboot|stop|shutdown|start)$/), 1, "exactly one restart");
    assert.equal(String(live(out.vmid)!.config.env), "EXTRA=1\0MODE=b");

    // Disk growth in place by resize.
    sandbox.resetRequests();
    const grown = { ...restart, diskSize: 12 };
    assert.deepEqual(ops(await engine.up(one(grown))), ["app:update"]);
    assert.equal(count("PUT", /\/resize$/), 1);
    assert.equal(count("PUT", /\/config$/), 0, "no empty PUT /config");

    // Out-of-band change: refresh reports it.
    await client.put(`/nodes/${ct.node}/lxc/${ct.vmid}/config`, { cores: 6 });
    const refreshed = await engine.refresh();
    assert.deepEqual(ops(refreshed), ["app:update"]);
    assert.equal(engine.resource("app")!.plainOutputs.cores, 6);
    assert.equal(engine.resource("app")!.plainInputs.cores, 2, "the inputs stay the program's; drift is in the outputs");
    assert.equal(engine.resource("app")!.plainInputs.node, undefined, "a node Proxmox chose does not become a pinned input");
    // ... and the next up puts the program's value back, in place.
    assert.deepEqual(ops(await engine.up(one(grown))), ["app:update"]);
    assert.equal(live(out.vmid)!.config.cores, 2);

    // Replace: a new container, the old one destroyed.
    // A privileged container without feature flags: with a token only root@pam's flags are refused (see below).
    const replaced = await engine.up(one({ ...grown, unprivileged: false, features: { nesting: false } }));
    assert.deepEqual(ops(replaced), ["app:replace"]);
    const newVmid = engine.resource("app")!.plainOutputs.vmid;
    assert.notEqual(newVmid, out.vmid);
    assert.equal(live(out.vmid), undefined, "the old container is gone");
    assert.ok(live(newVmid));

    const text = engine.stateText();
    const providers = engine.state.map((r) => r.provider ?? "").join("\n");
    const tokenSecret = sandbox.apiToken.split("=").pop()!;
    for (const [what, body] of [["state", text], ["provider text", providers]]) {
      assert.ok(!body.includes(tokenSecret), `${what} holds the token secret`);
      assert.ok(!body.includes(PASSWORD), `${what} holds the password`);
      assert.ok(!body.includes(path.resolve(__dirname, "../..")), `${what} holds the repository path`);
      assert.ok(!body.includes(os.tmpdir() + "/"), `${what} holds a temp path`);
    }
    assert.ok(providers.includes("pulumi-launchpad/provider/"), "the provider loads the installed package by name");

    // Delete twice: a second destroy from a copy of the old state finds it gone and succeeds.
    const copy = path.join(path.dirname(stateFile), "copy.json");
    fs.copyFileSync(stateFile, copy);
    assert.deepEqual(ops(await engine.destroy()), ["app:delete"]);
    assert.equal(live(newVmid), undefined);
    const again = newEngine("lifecycle", { stateFile: copy });
    assert.deepEqual(ops(await again.destroy()), ["app:delete"]);
    assert.equal(sandbox.containers().length, 0);
  });

  it("refresh after an out-of-band delete reports the container gone", async () => {
    const engine = newEngine("oob-delete");
    await engine.up(one({ hostname: "gone-1", template: TEMPLATE, waitForIp: false }));
    const { vmid, node } = engine.resource("app")!.plainOutputs as { vmid: number; node: string };
    await client.runTask("POST", `/nodes/${node}/lxc/${vmid}/status/stop`);
    await client.runTask("DELETE", `/nodes/${node}/lxc/${vmid}`, { purge: 1 });
    assert.deepEqual(ops(await engine.refresh()), ["app:delete"]);
    assert.equal(engine.state.filter((r) => r.custom).length, 0);
  });

  it("pulls an image once: a second container from the same image reuses the pull", async () => {
    sandbox.resetRequests();
    const engine = newEngine("image");
    await engine.up(one({ hostname: "img-1", image: "ghcr.io/acme/app:1.0", node: "pve2", env: { PORT: "8080" } }, "first"));
    const first = engine.resource("first")!.plainOutputs;
    assert.equal(first.ostemplate, "local:vztmpl/ghcr.io_acme_app_1.0.tar");
    assert.equal(count("POST", /oci-registry-pull$/), 1);
    assert.match(String(live(first.vmid)!.config.env), /PORT=8080/);
    await engine.up(() => {
      new LaunchpadContainer("first", { hostname: "img-1", image: "ghcr.io/acme/app:1.0", node: "pve2", env: { PORT: "8080" } });
      new LaunchpadContainer("second", { hostname: "img-2", image: "ghcr.io/acme/app:1.0", node: "pve2" });
    });
    assert.equal(count("POST", /oci-registry-pull$/), 1, "no second pull");
    assert.equal(engine.resource("second")!.plainOutputs.ostemplate, first.ostemplate);
    await engine.destroy();
  });

  it("places a freely placed image create on the node that already holds the image, so it is not pulled again", async () => {
    sandbox.resetRequests();
    const engine = newEngine("image-affinity");
    const image = "ghcr.io/acme/affinity:2.0";
    await engine.up(one({ hostname: "aff-1", image, node: "pve3", waitForIp: false }, "first"));
    assert.equal(count("POST", /oci-registry-pull$/), 1);
    await engine.up(() => {
      new LaunchpadContainer("first", { hostname: "aff-1", image, node: "pve3", waitForIp: false });
      new LaunchpadContainer("second", { hostname: "aff-2", image, waitForIp: false });
    });
    assert.equal(engine.resource("second")!.plainOutputs.node, "pve3", "pve3 holds the image (and the other nodes are no less loaded)");
    assert.equal(count("POST", /oci-registry-pull$/), 1, "no second pull");
    await engine.destroy();
  });

  it("spreads 10 parallel creates of one program over the nodes, with distinct VMIDs and no refused create", async () => {
    sandbox.resetRequests();
    const before = sandbox.containers().length;
    const engine = newEngine("spread");
    const names = Array.from({ length: 10 }, (_, i) => `spread-${i}`);
    await engine.up(() => {
      for (const name of names) new LaunchpadContainer(name, { hostname: name, template: TEMPLATE, waitForIp: false });
    });
    const vmids = names.map((name) => Number(engine.resource(name)!.id));
    assert.equal(new Set(vmids).size, 10, `distinct VMIDs: ${vmids}`);
    const refused = sandbox.requests.filter((r) => r.method === "POST" && /^\/nodes\/[^/]+\/lxc$/.test(r.path) && r.status !== 200);
    assert.deepEqual(refused.map((r) => `${r.status} ${r.path}`), [], "no create refused: this process's creates never race each other for a VMID");
    const perNode: Record<string, number> = {};
    for (const name of names) perNode[String(engine.resource(name)!.plainOutputs.node)] = (perNode[String(engine.resource(name)!.plainOutputs.node)] ?? 0) + 1;
    for (const node of ["pve1", "pve2", "pve3"]) assert.ok((perNode[node] ?? 0) >= 2, `every node gets some: ${JSON.stringify(perNode)}`);
    assert.equal(sandbox.containers().length, before + 10);
    await engine.destroy();
    assert.equal(sandbox.containers().length, before);
  });

  it("gives up on a VMID race with a clear error, leaving no container", async () => {
    const before = sandbox.containers().length;
    const engine = newEngine("vmid-race");
    const clear = sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", status: 500, message: "CT 4242 already exists on node 'pve1'" });
    const error = await engine.up(one({ hostname: "race-1", template: TEMPLATE, waitForIp: false })).then(() => undefined, (e: unknown) => e);
    clear();
    assert.ok(error instanceof EngineError, String(error));
    const message = error.failures.map((f) => f.message).join("\n");
    assert.match(message, /gave up finding a free VMID after 26 attempts \(last: CT 4242 already exists on node 'pve1'\)/);
    assert.equal(sandbox.containers().length, before, "nothing created");
    assert.equal(engine.state.filter((r) => r.custom).length, 0, "nothing tracked");
  });

  it("creates from a clone of a template container", async () => {
    await client.runTask("POST", "/nodes/pve1/lxc", { vmid: 9000, ostemplate: TEMPLATE, hostname: "tmpl", rootfs: "local-lvm:4", template: 1 });
    const engine = newEngine("clone");
    await engine.up(one({ hostname: "cloned", clone: 9000, tags: ["c"], cores: 2 }));
    const out = engine.resource("app")!.plainOutputs;
    const ct = live(out.vmid)!;
    assert.equal(ct.config.hostname, "cloned");
    assert.equal(ct.config.cores, 2);
    assert.ok(ct.tags.includes(String(out.identityTag)));
    assert.equal(count("POST", /\/9000\/clone$/) >= 1, true);
    // The template's disk is on local storage: PVE refuses a clone to another node, so it stays on pve1.
    assert.equal(out.node, "pve1");
    assert.equal(sandbox.requests.filter((r) => /\/9000\/clone$/.test(r.path)).some((r) => r.params.target !== undefined), false, "no target sent");
    await engine.destroy();
    await client.runTask("DELETE", "/nodes/pve1/lxc/9000", { purge: 1 });
  });

  it("refuses in check, naming the field, feature flags only root@pam may set when the credentials are a token", async () => {
    sandbox.resetRequests();
    const engine = newEngine("root-only");
    const error = await engine.up(() => {
      new LaunchpadContainer("keyctl", { hostname: "keyctl", template: TEMPLATE, features: { keyctl: true } });
      new LaunchpadContainer("privileged", { hostname: "privileged", template: TEMPLATE, unprivileged: false });
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EngineError, `expected the up to fail, got ${error}`);
    const problems = (name: string) => error.failures.find((f) => f.urn.endsWith(`::${name}`))?.checkFailures?.map((p) => p.property) ?? [];
    assert.deepEqual(problems("keyctl"), ["features.keyctl"]);
    assert.deepEqual(problems("privileged"), ["features.nesting"], "nesting is on by default, and on a privileged CT only root@pam may set it");
    assert.equal(sandbox.requests.filter((r) => r.method !== "GET").length, 0, "nothing was sent to change");
  });

  it("gives 10 parallel creates (10 host processes) 10 distinct VMIDs and no failure", async () => {
    const before = sandbox.containers().length;
    const runs = Array.from({ length: 10 }, (_, i) => newEngine(`parallel-${i}`));
    const results = await Promise.allSettled(runs.map((engine, i) => engine.up(one({ hostname: `par-${i}`, template: TEMPLATE, waitForIp: false }))));
    const failed = results.filter((r) => r.status === "rejected");
    assert.deepEqual(failed.map((r) => String((r as PromiseRejectedResult).reason)), []);
    const vmids = runs.map((engine) => Number(engine.resource("app")!.id));
    assert.equal(new Set(vmids).size, 10, `distinct VMIDs: ${vmids}`);
    assert.equal(sandbox.containers().length, before + 10, "no extra container");
    await Promise.all(runs.map((engine) => engine.destroy()));
    assert.equal(sandbox.containers().length, before);
  });

  it("a start that fails after the create leaves the container tracked in state, never orphaned", async () => {
    const engine = newEngine("fault-start");
    const clear = sandbox.faults.task({ type: "vzstart", fail: "injected: start failed", count: 1 });
    const error = await engine.up(one({ hostname: "fault-1", template: TEMPLATE })).then(() => undefined, (e: unknown) => e);
    clear();
    assert.ok(error instanceof EngineError, String(error));
    const tracked = engine.state.find((r) => r.name === "app");
    assert.ok(tracked?.id, "the container is in state with its id");
    assert.ok(live(tracked!.id), "and it exists");
    assert.equal(sandbox.containers().length, 1, "no untracked container");
    // The next up finishes it (Pulumi updates a resource left with init errors).
    await engine.up(one({ hostname: "fault-1", template: TEMPLATE }));
    assert.equal(engine.resource("app")!.id, tracked!.id);
    assert.equal(engine.resource("app")!.plainOutputs.status, "running");
    assert.equal(live(tracked!.id)!.status, "running");
    assert.equal(sandbox.containers().length, 1);
    await engine.destroy();
    assert.equal(sandbox.containers().length, 0);
  });

  it("a create whose answer is lost is reconciled: one container, in state", async () => {
    const engine = newEngine("fault-drop");
    const clear = sandbox.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/lxc$", action: "drop-after", count: 1 });
    const result = await engine.up(one({ hostname: "drop-1", template: TEMPLATE })).then((r) => r, (e: unknown) => e);
    clear();
    assert.ok(!(result instanceof Error), `the create carries on with the container Proxmox made: ${result instanceof Error ? result.message : ""}`);
    const tracked = engine.state.find((r) => r.name === "app");
    assert.ok(tracked?.id, "the container is in state");
    assert.equal(engine.resource("app")!.plainOutputs.status, "running");
    assert.equal(sandbox.containers().length, 1, "exactly one container");
    assert.equal(sandbox.containers()[0].vmid, Number(tracked!.id));
    await engine.destroy();
    assert.equal(sandbox.containers().length, 0);
  });

  it("adopts the container of an interrupted create instead of making a second", async () => {
    const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-ct-")), "state.json");
    const engine = newEngine("adopt", { stateFile });
    // The first run is "killed": its state never records the container.
    await engine.up(one({ hostname: "adopt-1", template: TEMPLATE }));
    const first = engine.resource("app")!;
    fs.rmSync(stateFile);
    const rerun = newEngine("adopt", { stateFile });
    await rerun.up(one({ hostname: "adopt-1", template: TEMPLATE }));
    assert.equal(rerun.resource("app")!.id, first.id, "the same container");
    assert.equal(sandbox.containers().length, 1);
    // The stale state's identity claim no longer matches: destroying it leaves the adopted container alone.
    assert.notEqual(rerun.resource("app")!.plainOutputs.identityTag, first.plainOutputs.identityTag);
    await rerun.destroy();
    assert.equal(sandbox.containers().length, 0);
  });

  it("takes credentials from PROXMOX_VE_* and a per-resource connection, keeping them secret", async () => {
    const envEngine = new TestEngine({
      project: "launchpad-ct", stack: "env",
      env: { PROXMOX_VE_ENDPOINT: sandbox.endpoint, PROXMOX_VE_API_TOKEN: sandbox.apiToken, PROXMOX_VE_FINGERPRINT: sandbox.fingerprint },
    });
    engines.push(envEngine);
    await envEngine.up(one({ hostname: "env-1", template: TEMPLATE, waitForIp: false }));
    await envEngine.destroy();

    const overrideEngine = new TestEngine({ project: "launchpad-ct", stack: "override" });
    engines.push(overrideEngine);
    const connection = { endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint };
    await overrideEngine.up(one({ hostname: "ovr-1", template: TEMPLATE, waitForIp: false, connection }));
    const r = overrideEngine.state.find((x) => x.name === "app")!;
    assert.ok(isSecretWire(r.inputs.connection) && isSecretWire(r.outputs.connection), "connection stored as a secret");
    assert.ok(!overrideEngine.stateText().includes(sandbox.apiToken.split("=").pop()!), "no token secret in state");
    await overrideEngine.destroy();
    assert.equal(sandbox.containers().length, 0);
  });
});
