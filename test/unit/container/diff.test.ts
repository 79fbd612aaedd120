import { strict as assert } from "assert";
import { CHANGE_TABLE, diffInputs, strongestClass } from "../../../provider/container/diff";
import { parseInputs, UNKNOWN, type ContainerInputs } from "../../../provider/container/schema";
import { PUBLIC_KEY, TEMPLATE, VALID } from "./fixtures";

const normalized = (raw: Record<string, unknown>) => {
  const { inputs, failures } = parseInputs(raw);
  assert.deepEqual(failures, []);
  return inputs as ContainerInputs;
};
/** Old outputs echo the inputs plus what Proxmox chose. */
const olds = (raw: Record<string, unknown>, chosen: Record<string, unknown> = { node: "pve1", vmid: 105, storage: "local-lvm" }) =>
  ({ ...normalized(raw), ...chosen }) as ContainerInputs;

describe("container diff table", () => {
  it("says changes: false explicitly when nothing changed", () => {
    const d = diffInputs(olds(VALID), normalized(VALID));
    assert.equal(d.changes, false);
    assert.deepEqual(d.replaces, []);
    assert.equal(d.deleteBeforeReplace, false);
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["cores", { cores: 2 }, "inPlace"],
    ["memory", { memory: 1024 }, "inPlace"],
    ["swap", { swap: 0 }, "inPlace"],
    ["tags", { tags: ["x"] }, "inPlace"],
    ["description", { description: "hi" }, "inPlace"],
    ["onBoot", { onBoot: true }, "inPlace"],
    ["started", { started: false }, "inPlace"],
    ["hostname", { hostname: "web-2" }, "inPlace"],
    ["diskSize", { diskSize: 16 }, "inPlace"],
    ["network", { network: { vlan: 20 } }, "inPlace"],
    ["env", { env: { A: "1" } }, "restart"],
    ["entrypoint", { entrypoint: "/usr/bin/app" }, "restart"],
    ["nameserver", { nameserver: ["1.1.1.1"] }, "restart"],
    ["searchdomain", { searchdomain: ["example.com"] }, "restart"],
    ["network", { network: { ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" } } }, "restart"],
    ["features", { features: { keyctl: true } }, "restart"],
    ["template", { template: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" }, "replace"],
    ["unprivileged", { unprivileged: false }, "replace"],
    ["storage", { storage: "ceph" }, "replace"],
    ["password", { password: "hunter22" }, "replace"],
    ["sshPublicKeys", { sshPublicKeys: [PUBLIC_KEY] }, "replace"],
    ["node", { node: "pve2" }, "replace"],
    ["vmid", { vmid: 200 }, "replace"],
    ["diskSize", { diskSize: 4 }, "replace"],
    ["pool", { pool: "previews" }, "replace"],
    ["timeouts", { timeouts: { create: 60 } }, "stateOnly"],
    ["waitForIp", { waitForIp: false }, "stateOnly"],
    ["connection", { connection: { endpoint: "https://127.0.0.1:8006" } }, "stateOnly"],
  ];
  for (const [field, change, expected] of cases) {
    it(`classes a change of ${field} (${JSON.stringify(change)}) as ${expected}`, () => {
      const d = diffInputs(olds(VALID), normalized({ ...VALID, ...change }));
      assert.equal(d.changes, true);
      assert.deepEqual(d.fields, [{ field, class: expected }]);
      assert.deepEqual(d.replaces, expected === "replace" ? [field] : []);
      assert.equal(strongestClass(d.fields), expected);
    });
  }

  it("replaces the container for a new image (a new rootfs): the image row is never in place", () => {
    const fromImage = { hostname: "web-1", image: "docker.io/library/nginx:1.27" };
    const d = diffInputs(olds(fromImage), normalized({ ...fromImage, image: "docker.io/library/nginx:1.28" }));
    assert.deepEqual(d.fields, [{ field: "image", class: "replace" }]);
    assert.deepEqual(d.replaces, ["image"]);
  });

  it("keeps what Proxmox chose when node, vmid or storage are not pinned", () => {
    const d = diffInputs(olds(VALID, { node: "pve3", vmid: 777, storage: "zfs" }), normalized(VALID));
    assert.equal(d.changes, false);
  });

  it("does not replace when the pinned node is where the container already is", () => {
    assert.equal(diffInputs(olds(VALID), normalized({ ...VALID, node: "pve1" })).changes, false);
  });

  it("never diffs identity, __provider or outputs-only fields", () => {
    const before = { ...olds(VALID), identity: "a".repeat(32), ipv4: "10.0.0.9", status: "running", __provider: "x" } as unknown as ContainerInputs;
    const after = { ...normalized(VALID), identity: "b".repeat(32), __provider: "y" } as unknown as ContainerInputs;
    assert.equal(diffInputs(before, after).changes, false);
    assert.equal(CHANGE_TABLE.identity, "ignore");
  });

  it("deletes before replacing only when a fixed vmid or static address forces it", () => {
    const src2 = { template: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" };
    assert.equal(diffInputs(olds(VALID), normalized({ ...VALID, ...src2 })).deleteBeforeReplace, false);
    assert.equal(diffInputs(olds({ ...VALID, vmid: 105 }), normalized({ ...VALID, ...src2, vmid: 105 })).deleteBeforeReplace, true);
    const net = { network: { ipv4: { address: "10.0.0.5/24" } } };
    assert.equal(diffInputs(olds({ ...VALID, ...net }), normalized({ ...VALID, ...src2, ...net })).deleteBeforeReplace, true);
    assert.equal(diffInputs(olds({ ...VALID, vmid: 105 }), normalized({ ...VALID, vmid: 105, cores: 4 })).deleteBeforeReplace, false, "not without a replace");
  });

  it("treats an unknown value as a change of its class", () => {
    const preview = { ...normalized(VALID), template: UNKNOWN, env: { A: UNKNOWN } } as unknown as ContainerInputs;
    const d = diffInputs(olds(VALID), preview);
    assert.deepEqual(d.replaces, ["template"]);
    assert.ok(d.fields.some((f) => f.field === "env" && f.class === "restart"));
  });

  it("a new fixed vmid, or a replace between DHCP containers or between different static addresses, creates the new one first", () => {
    const src2 = { template: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" };
    assert.equal(diffInputs(olds({ ...VALID, vmid: 105 }), normalized({ ...VALID, ...src2, vmid: 106 })).deleteBeforeReplace, false);
    const dhcp = { network: { ipv4: "dhcp", ipv6: "dhcp" } };
    assert.equal(diffInputs(olds({ ...VALID, ...dhcp }), normalized({ ...VALID, ...src2, ...dhcp })).deleteBeforeReplace, false);
    const moved = diffInputs(olds({ ...VALID, network: { ipv4: { address: "10.0.0.5/24" } } }), normalized({ ...VALID, ...src2, network: { ipv4: { address: "10.0.0.6/24" } } }));
    assert.deepEqual([moved.replaces.includes("template"), moved.deleteBeforeReplace], [true, false]);
    const toDhcp = diffInputs(olds({ ...VALID, network: { ipv4: { address: "10.0.0.5/24" } } }), normalized({ ...VALID, ...src2 }));
    assert.equal(toDhcp.deleteBeforeReplace, false, "a static address given up for DHCP does not block the new container");
    assert.equal(diffInputs(olds({ ...VALID, network: { ipv6: { address: "fd00::5/64" } } }), normalized({ ...VALID, ...src2, network: { ipv6: { address: "fd00::5/64" } } })).deleteBeforeReplace, true);
    // State without a network (older state) or a network not known yet: no address to be sure about.
    const { network: _, ...noNetwork } = olds(VALID);
    assert.equal(diffInputs(noNetwork as ContainerInputs, normalized({ ...VALID, ...src2, network: { ipv4: { address: "10.0.0.5/24" } } })).deleteBeforeReplace, false);
    assert.equal(diffInputs(olds({ ...VALID, network: { ipv4: { address: "10.0.0.5/24" } } }), { ...normalized({ ...VALID, ...src2 }), network: UNKNOWN } as unknown as ContainerInputs).deleteBeforeReplace, false);
  });

  it("a network missing from older state or not known yet restarts; a removed description is a change; templateStorage is none", () => {
    const { network: _, ...noNetwork } = olds(VALID);
    assert.deepEqual(diffInputs(noNetwork as ContainerInputs, normalized(VALID)).fields, [{ field: "network", class: "restart" }]);
    assert.deepEqual(diffInputs(olds(VALID), { ...normalized(VALID), network: UNKNOWN } as unknown as ContainerInputs).fields, [{ field: "network", class: "restart" }]);
    assert.deepEqual(diffInputs(olds({ ...VALID, description: "x" }), normalized(VALID)).fields, [{ field: "description", class: "inPlace" }]);
    const image = { hostname: "web-1", image: "nginx:1.27" };
    assert.equal(diffInputs(olds({ ...image, templateStorage: "local" }), normalized({ ...image, templateStorage: "nfs" })).changes, false);
  });

  it("the strongest class of a change set, whatever the order", () => {
    assert.equal(strongestClass([]), undefined);
    assert.equal(strongestClass([{ field: "cores", class: "inPlace" }, { field: "env", class: "restart" }, { field: "timeouts", class: "stateOnly" }]), "restart");
    assert.equal(strongestClass([{ field: "template", class: "replace" }, { field: "cores", class: "inPlace" }]), "replace");
    assert.equal(strongestClass([{ field: "timeouts", class: "stateOnly" }, { field: "cores", class: "inPlace" }, { field: "memory", class: "inPlace" }]), "inPlace");
  });

  it("has a row for every input", () => {
    const { inputs } = parseInputs({ ...VALID, identity: "a".repeat(32) });
    for (const key of Object.keys(inputs)) assert.ok(key in CHANGE_TABLE, key);
  });
  void TEMPLATE;
});
