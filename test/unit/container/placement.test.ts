import { strict as assert } from "assert";
import { pickNode, pickVmid, templateStoragesByNode, vmidJump } from "../../../provider/container/cluster";
import { claimedVmids, claimVmid, holdPlacement, nodesGettingImage, placementsInFlight } from "../../../provider/container/inflight";
import type { ClusterResource } from "../../../provider/proxmox/types";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const node = (name: string, mem = 2 * GiB, extra: Partial<ClusterResource> = {}): ClusterResource =>
  ({ id: `node/${name}`, type: "node", node: name, status: "online", mem, maxmem: 32 * GiB, ...extra });
const guest = (vmid: number, on: string): ClusterResource => ({ id: `lxc/${vmid}`, type: "lxc", vmid, node: on });
const storage = (on: string, name: string, content: string, extra: Record<string, unknown> = {}): ClusterResource =>
  ({ id: `storage/${on}/${name}`, type: "storage", node: on, storage: name, content, status: "available", ...extra } as ClusterResource);
const CLUSTER = [node("pve1"), node("pve2"), node("pve3")];

describe("placement", () => {
  describe("pickNode", () => {
    it("takes the node with the lowest memory share, then the fewest guests", () => {
      assert.equal(pickNode([node("pve1", 8 * GiB), node("pve2", 4 * GiB), node("pve3", 6 * GiB)]), "pve2");
      assert.equal(pickNode([...CLUSTER, guest(100, "pve1"), guest(101, "pve2"), guest(102, "pve1")]), "pve3");
    });

    it("skips offline nodes and answers undefined when none is online", () => {
      assert.equal(pickNode([node("pve1", 0, { status: "offline" }), node("pve2", 30 * GiB)]), "pve2");
      assert.equal(pickNode([node("pve1", 0, { status: "offline" })]), undefined);
      assert.equal(pickNode([]), undefined);
    });

    it("breaks exact ties at random, never by name alone", () => {
      const picks = [0, 0.34, 0.67, 0.99].map((r) => pickNode(CLUSTER, { random: () => r }));
      assert.deepEqual(picks, ["pve1", "pve2", "pve3", "pve3"]);
    });

    it("adds the creates in flight to a node's load, so parallel creates from one snapshot spread out", () => {
      const endpoint = `https://spread-${process.pid}.invalid:8006`;
      const releases: Array<() => void> = [];
      const placed: Record<string, number> = {};
      for (let i = 0; i < 30; i++) {
        const picked = pickNode(CLUSTER, { inFlight: placementsInFlight(endpoint), random: () => 0 })!;
        placed[picked] = (placed[picked] ?? 0) + 1;
        releases.push(holdPlacement(endpoint, { node: picked, memoryBytes: 512 * MiB }));
      }
      assert.deepEqual(placed, { pve1: 10, pve2: 10, pve3: 10 });
      releases.forEach((release) => release());
      assert.equal(placementsInFlight(endpoint).size, 0, "released placements no longer count");
    });

    it("weighs in-flight creates by the memory they were given", () => {
      const inFlight = new Map([["pve1", { creates: 1, memoryBytes: 8 * GiB }], ["pve2", { creates: 3, memoryBytes: 3 * 512 * MiB }]]);
      assert.equal(pickNode([node("pve1"), node("pve2")], { inFlight }), "pve2");
      // Equal memory: the guest count (in flight included) decides.
      assert.equal(pickNode([node("pve1"), node("pve2")], { inFlight: new Map([["pve1", { creates: 2, memoryBytes: 0 }]]) }), "pve2");
    });

    it("prefers a node holding the image unless it is more than the margin fuller", () => {
      const holders = new Set(["pve3"]);
      assert.equal(pickNode(CLUSTER, { holders, random: () => 0 }), "pve3");
      assert.equal(pickNode([node("pve1", 2 * GiB), node("pve3", 5 * GiB)], { holders }), "pve3", "3 GiB of 32 is within 10 points");
      assert.equal(pickNode([node("pve1", 2 * GiB), node("pve3", 6 * GiB)], { holders }), "pve1", "4 GiB of 32 is 12.5 points: load wins");
      assert.equal(pickNode([node("pve1", 2 * GiB), node("pve3", 6 * GiB)], { holders, affinityMargin: 0.2 }), "pve3");
      assert.equal(pickNode(CLUSTER, { holders: new Set(["pve9"]), random: () => 0 }), "pve1", "a holder that is not online is ignored");
    });

    it("counts VMs and containers as a node's guests, nothing else", () => {
      const qemu = (vmid: number, on: string) => ({ id: `qemu/${vmid}`, type: "qemu", vmid, node: on }) as ClusterResource;
      const cluster = [...CLUSTER, qemu(200, "pve1"), qemu(201, "pve1"), guest(100, "pve2"), storage("pve3", "a", "rootdir"), storage("pve3", "b", "rootdir"), storage("pve3", "c", "vztmpl")];
      assert.equal(pickNode(cluster), "pve3");
      assert.equal(pickNode([node("pve1"), node("pve2"), qemu(200, "pve1"), qemu(201, "pve1"), guest(100, "pve2")]), "pve2", "two VMs are more guests than one container");
    });

    it("a holder exactly the margin fuller still wins", () => {
      assert.equal(pickNode([node("pve1", 2 * GiB), node("pve3", 6 * GiB)], { holders: new Set(["pve3"]), affinityMargin: 0.125 }), "pve3");
    });

    it("among several holders, the least loaded one", () => {
      const holders = new Set(["pve2", "pve3"]);
      assert.equal(pickNode([node("pve1", 1 * GiB), node("pve2", 3 * GiB), node("pve3", 2 * GiB)], { holders }), "pve3");
    });
  });

  describe("pickVmid", () => {
    it("takes nextid when nothing is claimed, else the first free id above it", () => {
      assert.equal(pickVmid(105, () => false), 105);
      const taken = new Set([105, 106, 108]);
      assert.equal(pickVmid(105, (id) => taken.has(id)), 107);
      assert.equal(pickVmid(105, (id) => taken.has(id), 3), 109);
    });

    it("gives every create of a process its own id from one nextid answer", () => {
      const endpoint = `https://claims-${process.pid}.invalid:8006`;
      const releases: Array<() => void> = [];
      const picked: number[] = [];
      for (let i = 0; i < 50; i++) {
        const claimed = claimedVmids(endpoint);
        const vmid = pickVmid(100, (id) => claimed.has(id));
        picked.push(vmid);
        releases.push(claimVmid(endpoint, vmid));
      }
      assert.deepEqual(picked, Array.from({ length: 50 }, (_, i) => 100 + i));
      releases[10]();
      const claimed = claimedVmids(endpoint);
      assert.equal(pickVmid(100, (id) => claimed.has(id)), 110, "a released id is free again");
      releases.forEach((release) => release());
      assert.equal(claimedVmids(endpoint).size, 0);
      assert.equal(claimedVmids(`https://other-${process.pid}.invalid:8006`).size, 0, "claims are per endpoint");
    });

    it("jumps nowhere on the first attempt, then ever wider at random, capped", () => {
      assert.equal(vmidJump(1, () => 0.99), 0);
      assert.equal(vmidJump(2, () => 0), 1, "never the id that just collided");
      assert.equal(vmidJump(2, () => 0.999), 25);
      assert.equal(vmidJump(5, () => 0.999), 100);
      assert.equal(vmidJump(25, () => 0.999), 250);
    });
  });

  describe("image holders", () => {
    it("remembers which nodes in-flight creates of an image went to, until released", () => {
      const endpoint = `https://images-${process.pid}.invalid:8006`;
      const release = holdPlacement(endpoint, { node: "pve2", memoryBytes: 0, image: "|docker.io/library/nginx:1.27" });
      holdPlacement(endpoint, { node: "pve3", memoryBytes: 0 })();
      assert.deepEqual([...nodesGettingImage(endpoint, "|docker.io/library/nginx:1.27")], ["pve2"]);
      assert.deepEqual([...nodesGettingImage(endpoint, "|docker.io/library/redis:7")], []);
      release();
      assert.deepEqual([...nodesGettingImage(endpoint, "|docker.io/library/nginx:1.27")], []);
    });

    it("finds each node's template storage: the named one, else local, else the first with vztmpl", () => {
      const resources = [
        ...CLUSTER,
        storage("pve1", "local-lvm", "rootdir,images"), storage("pve1", "local", "vztmpl,iso"), storage("pve1", "nfs", "vztmpl", { shared: 1 }),
        storage("pve2", "nfs", "vztmpl", { shared: 1 }),
        storage("pve3", "local", "vztmpl", { status: "unknown" }),
      ];
      assert.deepEqual(Object.fromEntries(templateStoragesByNode(resources)), {
        pve1: { storage: "local", shared: false },
        pve2: { storage: "nfs", shared: true },
      });
      assert.deepEqual(Object.fromEntries(templateStoragesByNode(resources, "nfs")), {
        pve1: { storage: "nfs", shared: true },
        pve2: { storage: "nfs", shared: true },
      });
    });
  });
});
