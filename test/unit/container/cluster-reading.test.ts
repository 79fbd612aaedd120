// The pure choices of provider/container/cluster.ts read from /cluster/resources and storage listings:
// finding a container and our earlier attempts, online nodes, storages, pulled images, clone placement,
// VMID picking. Listings shaped as PVE returns them.
import { strict as assert } from "assert";
import {
  candidateVmid, chooseStorage, cloneNode, digestFromVolid, findByTagPrefix, findContainer, findPulledImage, isNodeOnline, lxcPath, nodePath,
  pickVmid, storagesFromResources, templateStoragesByNode, vmidJump, vmidRange,
} from "../../../provider/container/cluster";
import type { ClusterResource, StorageContentItem, StorageSummary } from "../../../provider/proxmox/types";

const resources = [
  { type: "node", node: "pve1", status: "online" },
  { type: "node", node: "pve2", status: "offline" },
  { type: "node", node: "pve3" },
  { type: "lxc", vmid: 101, node: "pve1", tags: "web;lp-0123456789-abcdef" },
  { type: "qemu", vmid: 102, node: "pve1", tags: "lp-0123456789-zzzzzz" },
  { type: "lxc", vmid: "103", node: "pve3", tags: "lp-0123456789-000001" },
  { type: "lxc", vmid: 104, node: "pve3" },
  { type: "storage", storage: "local", node: "pve1", content: "vztmpl,iso,backup", status: "available", shared: 0 },
  { type: "storage", storage: "local-lvm", node: "pve1", content: "rootdir,images", status: "available" },
  { type: "storage", storage: "nfs", node: "pve1", content: "rootdir, vztmpl", shared: 1 },
  { type: "storage", storage: "gone", node: "pve1", content: "rootdir", status: "unknown" },
  { type: "storage", storage: "nocontent", node: "pve1" },
  { type: "storage", storage: "local", node: "pve3", content: "vztmpl", status: "available" },
] as unknown as ClusterResource[];

describe("cluster reading (pure)", () => {
  it("paths escape the node name", () => {
    assert.equal(nodePath("pve1"), "/nodes/pve1");
    assert.equal(lxcPath("a b", 100), "/nodes/a%20b/lxc/100");
  });

  it("findContainer: an lxc guest by number, never a VM", () => {
    assert.equal(findContainer(resources, 101)?.node, "pve1");
    assert.equal(findContainer(resources, 103)?.node, "pve3", "vmid as a string");
    assert.equal(findContainer(resources, 102), undefined);
    assert.equal(findContainer(resources, 999), undefined);
  });

  it("findByTagPrefix: containers carrying a tag with the prefix", () => {
    assert.deepEqual(findByTagPrefix(resources, "lp-0123456789-").map((r) => Number(r.vmid)), [101, 103]);
    assert.deepEqual(findByTagPrefix(resources, "lp-9999999999-"), []);
  });

  it("isNodeOnline: online or without a status", () => {
    assert.equal(isNodeOnline(resources, "pve1"), true);
    assert.equal(isNodeOnline(resources, "pve2"), false);
    assert.equal(isNodeOnline(resources, "pve3"), true);
    assert.equal(isNodeOnline(resources, "pve9"), false);
  });

  it("storagesFromResources: the node's available storages that list content", () => {
    assert.deepEqual(storagesFromResources(resources, "pve1").map((s) => [s.storage, s.content]), [
      ["local", "vztmpl,iso,backup"], ["local-lvm", "rootdir,images"], ["nfs", "rootdir, vztmpl"],
    ]);
    assert.deepEqual(storagesFromResources(resources, "pve2"), []);
  });

  it("chooseStorage: the named one when it holds the content, else the preferred, else the first", () => {
    const storages = storagesFromResources(resources, "pve1") as StorageSummary[];
    assert.equal(chooseStorage(storages, "rootdir", "nfs"), "nfs");
    assert.equal(chooseStorage(storages, "rootdir", "local"), undefined);
    assert.equal(chooseStorage(storages, "rootdir", "nosuch"), undefined);
    assert.equal(chooseStorage(storages, "rootdir", undefined, ["local-zfs", "local-lvm"]), "local-lvm");
    assert.equal(chooseStorage(storages, "rootdir"), "local-lvm");
    assert.equal(chooseStorage(storages, "vztmpl", undefined, ["nfs", "local"]), "nfs", "content with a space after the comma");
    assert.equal(chooseStorage([], "vztmpl"), undefined);
  });

  it("templateStoragesByNode: local first, else the first with vztmpl; the named one only; shared read from 0/1", () => {
    const all = templateStoragesByNode(resources);
    assert.deepEqual([...all.entries()], [["pve1", { storage: "local", shared: false }], ["pve3", { storage: "local", shared: false }]]);
    assert.deepEqual([...templateStoragesByNode(resources, "nfs").entries()], [["pve1", { storage: "nfs", shared: true }]]);
    assert.deepEqual([...templateStoragesByNode(resources, "gone").entries()], []);
  });

  it("cloneNode: the source's node, unless the target storage is shared", () => {
    assert.equal(cloneNode(resources, 101), "pve1");
    assert.equal(cloneNode(resources, 101, "local-lvm"), "pve1");
    assert.equal(cloneNode(resources, 101, "nfs"), undefined);
    assert.equal(cloneNode(resources, 999), undefined);
  });

  it("findPulledImage and digestFromVolid: the stem with or without a digest suffix", () => {
    const content = [
      { volid: "local:vztmpl/debian-12.tar.zst" },
      { volid: "local:vztmpl/docker.io_library_nginx_1.27_0123456789abcdef.tar" },
      { volid: "local:vztmpl/docker.io_library_redis_7.tar" },
      { volid: "local:vztmpl/docker.io_library_node_20" },
    ] as StorageContentItem[];
    assert.equal(findPulledImage(content, "local", "docker.io_library_nginx_1.27")?.volid, "local:vztmpl/docker.io_library_nginx_1.27_0123456789abcdef.tar");
    assert.equal(findPulledImage(content, "local", "docker.io_library_redis_7")?.volid, "local:vztmpl/docker.io_library_redis_7.tar");
    assert.equal(findPulledImage(content, "local", "docker.io_library_node_20")?.volid, "local:vztmpl/docker.io_library_node_20");
    assert.equal(findPulledImage(content, "nfs", "docker.io_library_redis_7"), undefined);
    assert.equal(findPulledImage(content, "local", "docker.io_library_nginx"), undefined, "another image's archive is not this one");
    const tagged = [{ volid: "local:vztmpl/docker.io_library_nginx_1_alpine.tar" }, { volid: "local:vztmpl/docker.io_library_nginx_1_0123456789ab.tar" }] as StorageContentItem[];
    assert.equal(findPulledImage(tagged, "local", "docker.io_library_nginx_1")?.volid, "local:vztmpl/docker.io_library_nginx_1_0123456789ab.tar", "nginx:1 is not nginx:1_alpine");
    assert.equal(findPulledImage(tagged.slice(0, 1), "local", "docker.io_library_nginx_1"), undefined);
    assert.equal(findPulledImage([{ volid: "local:vztmpl/docker.io_library_redis_7_x.tar.zst" }] as StorageContentItem[], "local", "docker.io_library_redis_7"), undefined);
    assert.equal(digestFromVolid("local:vztmpl/docker.io_library_nginx_1.27_0123456789abcdef.tar", "docker.io_library_nginx_1.27"), "sha256:0123456789abcdef");
    assert.equal(digestFromVolid("local:vztmpl/docker.io_library_nginx_1.27.tar", "docker.io_library_nginx_1.27"), undefined);
    assert.equal(digestFromVolid("local:vztmpl/docker.io_library_nginx_1x27_0123456789ab.tar", "docker.io_library_nginx_1.27"), undefined, "the stem's dot is literal");
    assert.equal(digestFromVolid("local:vztmpl/x_0123456789a.tar", "x"), undefined, "under 12 hex digits");
  });

  it("vmidJump and pickVmid: no jump first, then a bounded random one; the first id not taken", () => {
    assert.equal(vmidJump(1, () => 0.99), 0);
    assert.equal(vmidJump(0, () => 0.99), 0);
    assert.equal(vmidJump(2, () => 0), 1);
    assert.equal(vmidJump(2, () => 0.999), 25);
    assert.equal(vmidJump(3, () => 0.999), 50);
    assert.equal(vmidJump(50, () => 0.999), 250);
    assert.equal(pickVmid(100, () => false), 100);
    assert.equal(pickVmid(100, (id) => id < 103), 103);
    assert.equal(pickVmid(100, (id) => id === 110, 10), 111);
  });

  it("vmidRange and candidateVmid: MIN-MAX bounds, named setting in the error; a stable id inside the range", () => {
    assert.deepEqual(vmidRange(" 100 - 200 "), { min: 100, max: 200 });
    assert.deepEqual(vmidRange("100-100"), { min: 100, max: 100 });
    assert.deepEqual(vmidRange("500-999999999"), { min: 500, max: 999_999_999 });
    for (const bad of ["99-200", "200-100", "100-1000000000", "abc", "100-", "-5-10"]) {
      assert.throws(() => vmidRange(bad, "LAUNCHPAD_VMID_RANGE"), (e: Error) => e instanceof RangeError && e.message === `LAUNCHPAD_VMID_RANGE must be MIN-MAX with 100 <= MIN <= MAX <= 999999999, got ${JSON.stringify(bad)}`, bad);
    }
    assert.throws(() => vmidRange("1-2"), /^RangeError: launchpad:vmidRange must be/);
    const range = { min: 1000, max: 1999 };
    assert.equal(candidateVmid("lp-0000000000-", range), 1000);
    assert.equal(candidateVmid("lp-00000003e8-", range), 1000, "0x3e8 = 1000 wraps to the start");
    assert.equal(candidateVmid("lp-00000003e9-", range), 1001);
    const other = candidateVmid("not-a-prefix", range);
    assert.ok(other >= 1000 && other <= 1999);
    assert.equal(candidateVmid("not-a-prefix", range), other, "stable");
    assert.equal(candidateVmid("a", { min: 0, max: 1_000_000 }), (7 * 31 + 97) % 1_000_001);
  });

  it("findPulledImage: a tag that extends ours with hex digits (a commit id) is another image", () => {
    const content = [{ volid: "local:vztmpl/ghcr.io_acme_app_10123456789abc.tar" }] as StorageContentItem[];
    assert.equal(findPulledImage(content, "local", "ghcr.io_acme_app_1"), undefined);
    assert.equal(findPulledImage(content, "local", "ghcr.io_acme_app_10123456789abc")?.volid, "local:vztmpl/ghcr.io_acme_app_10123456789abc.tar");
  });

  it("cloneNode: a shared storage elsewhere in the cluster does not make a local target shared", () => {
    const cluster = [...resources, { type: "storage", storage: "ceph", node: "pve3", content: "rootdir", shared: 1 }] as unknown as ClusterResource[];
    assert.equal(cloneNode(cluster, 101, "local-lvm"), "pve1");
    assert.equal(cloneNode(cluster, 101, "ceph"), undefined);
  });

  it("vmidRange: blank is the default; anything around MIN-MAX is refused, naming the setting", () => {
    assert.deepEqual(vmidRange("   "), { min: 100_000, max: 999_999 });
    assert.deepEqual(vmidRange(" 200 - 300 "), { min: 200, max: 300 });
    for (const text of ["x200-300", "200-300x", "200-300-400"]) {
      assert.throws(() => vmidRange(text, "LAUNCHPAD_VMID_RANGE"), new RangeError(`LAUNCHPAD_VMID_RANGE must be MIN-MAX with 100 <= MIN <= MAX <= 999999999, got ${JSON.stringify(text)}`), text);
    }
  });

  it("templateStoragesByNode: only available storages listing vztmpl; local preferred over one listed before it", () => {
    const cluster = [
      { type: "storage", storage: "iso-only", node: "pve1", content: "iso", status: "available" },
      { type: "storage", storage: "nfs", node: "pve1", content: "iso, vztmpl", status: "available", shared: 1 },
      { type: "storage", storage: "local", node: "pve1", content: "vztmpl", status: "available" },
      { type: "storage", storage: "broken", node: "pve2", content: "vztmpl", status: "unknown" },
      { type: "storage", storage: "other", node: "pve3", content: "backup,vztmpl" },
      { type: "storage", node: "pve4", content: "vztmpl", status: "available" },
      { type: "lxc", vmid: 101, node: "pve5", storage: "x", content: "vztmpl" },
    ] as unknown as ClusterResource[];
    assert.deepEqual(Object.fromEntries(templateStoragesByNode(cluster)), {
      pve1: { storage: "local", shared: false },
      pve3: { storage: "other", shared: false },
    });
  });
});
