import { strict as assert } from "assert";
import { candidateVmid, DEFAULT_VMID_RANGE, storagesFromResources, vmidRange } from "../../../provider/container/cluster";

describe("VMIDs derived from the identity", () => {
  it("the range: MIN-MAX within what pve-vmid allows, the default when unset, an error naming the setting", () => {
    assert.deepEqual(vmidRange(undefined), DEFAULT_VMID_RANGE);
    assert.deepEqual(vmidRange(" 2000 - 2999 "), { min: 2000, max: 2999 });
    assert.throws(() => vmidRange("99-200"), /launchpad:vmidRange must be MIN-MAX with 100 <= MIN/);
    assert.throws(() => vmidRange("3000-2000"), /launchpad:vmidRange/);
    assert.throws(() => vmidRange("abc", "LAUNCHPAD_VMID_RANGE"), /LAUNCHPAD_VMID_RANGE must be/);
  });

  it("one identity prefix always gives the same id, inside the range; 50 stacks rarely share one", () => {
    const range = { min: 100_000, max: 999_999 };
    assert.equal(candidateVmid("lp-0123456789-", range), candidateVmid("lp-0123456789-", range));
    const ids = Array.from({ length: 50 }, (_, i) => candidateVmid(`lp-${(i * 2654435761 % 2 ** 40).toString(16).padStart(10, "0").slice(-10)}-`, range));
    assert.ok(ids.every((id) => id >= range.min && id <= range.max));
    assert.equal(new Set(ids).size, 50);
    assert.equal(candidateVmid("lp-ffffffffff-", { min: 500, max: 500 }), 500);
  });

  it("storages come from /cluster/resources when it lists them for the node", () => {
    const resources = [
      { type: "storage", node: "pve1", storage: "local", content: "vztmpl,iso", status: "available" },
      { type: "storage", node: "pve1", storage: "local-lvm", content: "rootdir,images", status: "available" },
      { type: "storage", node: "pve1", storage: "nfs", content: "rootdir", status: "unknown" },
      { type: "storage", node: "pve2", storage: "local", content: "vztmpl", status: "available" },
    ];
    assert.deepEqual(storagesFromResources(resources as never, "pve1").map((s) => s.storage), ["local", "local-lvm"]);
    assert.deepEqual(storagesFromResources(resources as never, "pve3"), []);
  });
});
