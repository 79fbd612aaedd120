// Refresh reads back every field Proxmox holds, through the real dynamic-provider host: each row
// changes one field out of band, refresh must show exactly that value in the outputs, and the next
// up must put the program's value back. One container, all rows applied at once, each row asserted.
import { strict as assert } from "assert";
import { isDeepStrictEqual } from "util";
import { LaunchpadContainer, type LaunchpadContainerArgs } from "../../src/container";
import { ProxmoxClient } from "../../provider/proxmox";
import { startSandbox, type Sandbox } from "../../sandbox";
import { TestEngine, proxmoxConfig } from "../../devstack/engine";
import { TEMPLATE } from "../unit/container/fixtures";

interface Row {
  /** The output field (a.b for one part of an object). */
  field: string;
  /** The out-of-band change, as `PUT /nodes/{node}/lxc/{vmid}/config` parameters, made from the live config and the identity tag. */
  put: Record<string, string | number> | ((live: Record<string, unknown>, identityTag: string) => Record<string, string | number>);
  /** What the refreshed output must hold. */
  drifted: unknown;
  /** The live config key that the next up must restore, and its value then (a pattern where the value holds more than the field). */
  live: [string, unknown];
}

/** The value at `a.b` in `value`. */
const at = (value: Record<string, unknown>, path: string): unknown => path.split(".").reduce<any>((v, k) => v?.[k], value);

const PROGRAM: LaunchpadContainerArgs = {
  hostname: "drift-1", template: TEMPLATE, cores: 2, memory: 512, swap: 256, env: { MODE: "a", KEEP: "k" },
  description: "managed", tags: ["app"], onBoot: false, nameserver: ["1.1.1.1"], searchdomain: ["example.com"],
  features: { nesting: true, keyctl: false, fuse: false }, network: { bridge: "vmbr0", ipv4: "dhcp", firewall: false, mtu: 1500 },
};

const ROWS: Row[] = [
  { field: "cores", put: { cores: 3 }, drifted: 3, live: ["cores", 2] },
  { field: "memory", put: { memory: 1024 }, drifted: 1024, live: ["memory", 512] },
  { field: "swap", put: { swap: 0 }, drifted: 0, live: ["swap", 256] },
  { field: "hostname", put: { hostname: "renamed" }, drifted: "renamed", live: ["hostname", "drift-1"] },
  { field: "env", put: { env: "MODE=b\0KEEP=k" }, drifted: { MODE: "b", KEEP: "k" }, live: ["env", "KEEP=k\0MODE=a"] },
  { field: "description", put: { description: "edited by hand" }, drifted: "edited by hand", live: ["description", "managed"] },
  { field: "onBoot", put: { onboot: 1 }, drifted: true, live: ["onboot", 0] },
  { field: "nameserver", put: { nameserver: "9.9.9.9" }, drifted: ["9.9.9.9"], live: ["nameserver", "1.1.1.1"] },
  { field: "searchdomain", put: { searchdomain: "drift.example" }, drifted: ["drift.example"], live: ["searchdomain", "example.com"] },
  // Flags other than nesting are root@pam's alone, so the token could never restore them: nesting drifts.
  { field: "features", put: { features: "nesting=0" }, drifted: { nesting: false, keyctl: false, fuse: false }, live: ["features", "nesting=1"] },
  // The identity tag stays (without it the container is no longer ours): the user's tags drift.
  { field: "tags", put: (_live, identity) => ({ tags: `${identity};app;added` }), drifted: ["added", "app"], live: ["tags", /^(?!.*added)/] },
  { field: "network.firewall", put: (live) => ({ net0: String(live.net0).replace(/,?firewall=\d/, "").replace(/,mtu=\d+/, "") + ",firewall=1,mtu=1400" }), drifted: true, live: ["net0", /^(?!.*firewall=1)/] },
  { field: "network.mtu", put: {}, drifted: 1400, live: ["net0", /mtu=1500/] },
];

describe("LaunchpadContainer refresh drift, field by field (real host)", function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let client: ProxmoxClient;
  let engine: TestEngine;

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 20, vzstart: 10, vzshutdown: 10, vzstop: 10, vzdestroy: 10, vzreboot: 10 } });
    // The out-of-band changes are an admin's (root@pam's password login), not the provider's token.
    client = new ProxmoxClient({ endpoint: sandbox.endpoint, username: sandbox.username, password: sandbox.password, fingerprint: sandbox.fingerprint });
    engine = new TestEngine({
      project: "launchpad-drift", stack: "ct",
      ...proxmoxConfig(sandbox),
    });
  });
  after(async () => {
    await engine?.close();
    await client?.close();
    await sandbox?.close();
  });

  it("shows every drifted field after refresh, and the next up restores each", async () => {
    const program = () => { new LaunchpadContainer("ct", PROGRAM); };
    await engine.up(program);
    const { vmid, node } = engine.resource("ct")!.plainOutputs as { vmid: number; node: string };
    const before = engine.resource("ct")!.plainOutputs;
    for (const row of ROWS) assert.notDeepEqual(at(before, row.field), row.drifted, `${row.field}: the row must change something`);

    const live = sandbox.containers().find((c) => c.vmid === vmid)!.config as Record<string, unknown>;
    const identityTag = String(before.identityTag);
    await client.put(`/nodes/${node}/lxc/${vmid}/config`, Object.assign({}, ...ROWS.map((r) => (typeof r.put === "function" ? r.put(live, identityTag) : r.put))));
    // `started` drifts by a stop, not a config change.
    await client.runTask("POST", `/nodes/${node}/lxc/${vmid}/status/stop`, {});
    const refreshed = await engine.refresh();
    assert.deepEqual(refreshed.operations.map((o) => `${o.name}:${o.op}`), ["ct:update"]);
    const outputs = engine.resource("ct")!.plainOutputs;
    assert.equal(outputs.started, false, "started: refresh did not read the stop back");
    const missed = ROWS.filter((row) => !isDeepStrictEqual(at(outputs, row.field), row.drifted));
    assert.deepEqual(missed.map((r) => `${r.field}: ${JSON.stringify(at(outputs, r.field))}`), [], "fields whose drift refresh did not read back");

    await engine.up(program);
    const config = sandbox.containers().find((c) => c.vmid === vmid)!.config as Record<string, unknown>;
    assert.equal(sandbox.containers().find((c) => c.vmid === vmid)!.status, "running", "started: the next up did not start it again");
    const restoredValue = (row: Row) => (row.live[0] === "tags" ? sandbox.containers().find((c) => c.vmid === vmid)!.tags.join(";") : String(config[row.live[0]] ?? ""));
    const notRestored = ROWS.filter((row) => (row.live[1] instanceof RegExp ? !row.live[1].test(restoredValue(row)) : restoredValue(row) !== String(row.live[1])));
    assert.deepEqual(notRestored.map((r) => `${r.field}: ${JSON.stringify(config[r.live[0]])}`), [], "fields the next up did not put back");

    await engine.destroy();
    assert.equal(sandbox.containers().length, 0);
  });
});
