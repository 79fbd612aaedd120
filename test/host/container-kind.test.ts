// What PVE sets on a container stays set, and the container says which kind it is: through the real
// dynamic-provider host, against the sandbox, with an OCI app image (entrypoint, host-managed NICs)
// next to a template (a system container).
import { strict as assert } from "assert";
import { LaunchpadContainer, type LaunchpadContainerArgs } from "../../src/container";
import { parsePropertyString } from "../../provider/container/render";
import { ProxmoxClient } from "../../provider/proxmox";
import { startSandbox, type Sandbox } from "../../sandbox";
import { TestEngine, proxmoxConfig } from "../../devstack/engine";
import { TEMPLATE } from "../unit/container/fixtures";

const APP_IMAGE = "registry.test/acme/web:1.0";
const APP_ENTRYPOINT = "node /srv/server.js";

describe("LaunchpadContainer keeps the keys PVE set, and reports its kind", function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  const engines: TestEngine[] = [];

  before(async () => {
    sandbox = await startSandbox({
      taskDurationsMs: { vzcreate: 30, vzstart: 10, vzshutdown: 10, vzstop: 10, vzdestroy: 10, ociregistrypull: 30, vzreboot: 20 },
      ociImages: { [APP_IMAGE]: { digest: `sha256:${"ab".repeat(32)}`, entrypoint: APP_ENTRYPOINT, env: { NODE_ENV: "production" } } },
    });
  });
  after(async () => {
    try {
      assert.deepEqual(sandbox?.schemaViolations ?? [], [], "the provider sent a request the official schema rejects");
    } finally {
      for (const engine of engines) await engine.close();
      await sandbox?.close();
    }
  });

  const newEngine = (stack: string) => {
    const engine = new TestEngine({
      project: "launchpad-kind", stack,
      ...proxmoxConfig(sandbox),
    });
    engines.push(engine);
    return engine;
  };
  const one = (args: LaunchpadContainerArgs) => () => {
    const ct = new LaunchpadContainer("app", args);
    return { kind: ct.kind, initCommand: ct.initCommand };
  };
  const net0Of = (vmid: unknown) => parsePropertyString(String(sandbox.containers().find((c) => c.vmid === Number(vmid))!.config.net0), "name");
  const ops = (result: { operations: Array<{ name: string; op: string }> }) => result.operations.map((o) => `${o.name}:${o.op}`);

  it("an app image: kind application, its entrypoint as initCommand; host-managed=1 survives every net0 rewrite; refresh sees no drift", async () => {
    const engine = newEngine("app");
    const base: LaunchpadContainerArgs = { hostname: "web", image: APP_IMAGE, env: { PORT: "8080" } };
    const created = await engine.up(one(base));
    assert.deepEqual(created.outputs, { kind: "application", initCommand: APP_ENTRYPOINT });
    const vmid = engine.resource("app")!.plainOutputs.vmid;
    assert.equal(net0Of(vmid)["host-managed"], "1", "PVE's create set host-managed=1; the provider's first PUT kept it");

    // A VLAN, a firewall, another MTU: net0 is rewritten in place.
    sandbox.resetRequests();
    await engine.up(one({ ...base, network: { vlan: 20, firewall: true, mtu: 1450 } }));
    const puts = sandbox.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/config"));
    assert.equal(puts.length, 1);
    assert.match(String(puts[0].params.net0), /host-managed=1/, "the PUT of net0 carries host-managed=1");
    let net0 = net0Of(vmid);
    assert.deepEqual([net0.tag, net0.firewall, net0.mtu, net0["host-managed"]], ["20", "1", "1450", "1"]);

    // A static address (a restart-class change) and back to DHCP: still host-managed.
    await engine.up(one({ ...base, network: { ipv4: { address: "10.99.0.5/24", gateway: "10.99.0.1" } } }));
    assert.equal(net0Of(vmid)["host-managed"], "1");
    await engine.up(one({ ...base, features: { nesting: true } }));
    net0 = net0Of(vmid);
    assert.deepEqual([net0.ip, net0.tag, net0["host-managed"]], ["dhcp", undefined, "1"], "the VLAN the inputs dropped is gone, host-managed stays");

    const refreshed = await engine.refresh();
    assert.deepEqual(ops(refreshed), ["app:same"], "PVE-owned keys (host-managed, type) are not drift");
    assert.equal(engine.resource("app")!.plainOutputs.kind, "application");
    await engine.destroy();
  });

  it("keeps feature flags an admin set (mount=nfs) when the inputs change theirs", async () => {
    const engine = newEngine("features");
    // Stopped, so the admin's change is in the config itself, not pending: PVE checks a token's change of
    // `features` against the current value (API2/LXC/Config.pm passes the loaded conf to check_ct_modify_config_perm).
    await engine.up(one({ hostname: "feat", template: TEMPLATE, features: { nesting: false }, started: false }));
    const vmid = engine.resource("app")!.plainOutputs.vmid;
    const node = engine.resource("app")!.plainOutputs.node;
    // Proxmox keeps a `features` string whole; root@pam added a flag the inputs do not describe.
    const root = new ProxmoxClient({ endpoint: sandbox.endpoint, username: sandbox.username, password: sandbox.password, fingerprint: sandbox.fingerprint });
    try {
      await root.put(`/nodes/${node}/lxc/${vmid}/config`, { features: "mount=nfs" });
    } finally {
      await root.close();
    }
    // A token may change only `nesting` (pve-container check_ct_modify_config_perm); the admin's flag stays.
    await engine.up(one({ hostname: "feat", template: TEMPLATE, features: { nesting: true }, started: false }));
    const features = parsePropertyString(String(sandbox.containers().find((c) => c.vmid === Number(vmid))!.config.features), "unused");
    assert.deepEqual(features, { nesting: "1", mount: "nfs" });
    await engine.destroy();
  });

  it("a template: kind system, /sbin/init; an entrypoint of your own makes it an application container", async () => {
    const engine = newEngine("system");
    const created = await engine.up(one({ hostname: "sys", template: TEMPLATE }));
    assert.deepEqual(created.outputs, { kind: "system", initCommand: "/sbin/init" });
    // With an entrypoint of its own the template's init (and its DHCP client) no longer runs, and the NIC
    // is not host-managed: a node gives it no address, so this up does not wait for one.
    const changed = await engine.up(one({ hostname: "sys", template: TEMPLATE, entrypoint: "/usr/bin/python3 -m http.server", waitForIp: false }));
    assert.deepEqual(changed.outputs, { kind: "application", initCommand: "/usr/bin/python3 -m http.server" });
    await engine.destroy();
  });
});
