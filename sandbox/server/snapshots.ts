// Container snapshots and templates as pve-container does them (src/PVE/API2/LXC/Snapshot.pm,
// API2/LXC.pm template, LXC.pm template_create; the snapshot bookkeeping of pve-guest-common's
// AbstractConfig: snapshot_create/_delete/_rollback with the `snapshot`, `snapshot-delete` and
// `rollback` config locks, `parent` links and `snapstate` while a snapshot is being taken).
import type { Cluster, Container, Params } from "./cluster";
import { fail } from "./errors";
import { parseBoolean } from "./validate";

interface Snapshot {
  /** The config at snapshot time (without `lock`, `parent` handled apart). */
  conf: Record<string, string>;
  snaptime: number;
  description?: string;
  parent?: string;
  snapstate?: "prepare" | "delete";
}

const snapshots = new WeakMap<Container, Map<string, Snapshot>>();
const of = (ct: Container) => {
  let map = snapshots.get(ct);
  if (!map) snapshots.set(ct, (map = new Map()));
  return map;
};

/** Hooks the snapshot list into the cluster (clone's `snapname` check). */
export function attachSnapshots(cluster: Cluster): void {
  cluster.snapshotNames = (ct) => [...of(ct).keys()];
}

/** Storage::volume_has_feature('snapshot'): LVM-thin volumes have it, raw files on a directory storage do not. */
function snapshotCapable(cluster: Cluster, ct: Container): boolean {
  for (const [key, value] of Object.entries(ct.conf)) {
    if (key !== "rootfs" && !/^mp\d+$/.test(key)) continue;
    const sid = /^([^:,]+):/.exec(value)?.[1];
    if (!sid || cluster.storageOf(ct.node, sid)?.type !== "lvmthin") return false;
  }
  return true;
}

/** GET .../snapshot: each snapshot, then `current` ("You are here!") with its parent. */
export async function listSnapshots(cluster: Cluster, node: string, vmid: number): Promise<unknown[]> {
  const ct = await cluster.live(cluster.container(node, vmid));
  const result: unknown[] = [...of(ct)].map(([name, snap]) => {
    const item: Record<string, unknown> = { name, snaptime: snap.snaptime, description: snap.description ?? "" };
    if (snap.parent !== undefined) item.parent = snap.parent;
    if (snap.snapstate) item.snapstate = snap.snapstate;
    return item;
  });
  const current: Record<string, unknown> = { name: "current", digest: ct.digest, running: ct.running ? 1 : 0, description: "You are here!" };
  if (ct.conf.parent !== undefined) current.parent = ct.conf.parent;
  result.push(current);
  return result;
}

/** POST .../snapshot: reserved names refused at once; the rest in the `vzsnapshot` worker. */
export function createSnapshot(cluster: Cluster, node: string, vmid: number, params: Params, user: string): string {
  const ct = cluster.container(node, vmid);
  const name = String(params.snapname);
  if (name === "current" || name === "vzdump") throw fail(`unable to use snapshot name '${name}' (reserved name)`);
  return cluster.runTask(node, "vzsnapshot", vmid, user, async (task) => {
    // __snapshot_prepare
    if (ct.conf.template === "1") throw new Error("you can't take a snapshot if it's a template");
    cluster.assertUnlocked(ct);
    if (of(ct).has(name)) throw new Error(`snapshot name '${name}' already used`);
    if (!snapshotCapable(cluster, ct)) throw new Error("snapshot feature is not available");
    const { lock: _lock, parent, ...conf } = ct.conf;
    const snap: Snapshot = { conf, snaptime: Math.floor(Date.now() / 1000), snapstate: "prepare", parent };
    if (params.description !== undefined) snap.description = String(params.description);
    of(ct).set(name, snap);
    cluster.saveConf(ct, { ...ct.conf, lock: "snapshot" });
    task.log.push(`snapshot container ${vmid}: ${name}`);
    // __snapshot_commit
    delete snap.snapstate;
    const next: Record<string, string> = { ...ct.conf, parent: name };
    delete next.lock;
    cluster.saveConf(ct, next);
  });
}

/** DELETE .../snapshot/{snapname}: the `vzdelsnapshot` worker, children re-parented. */
export function deleteSnapshot(cluster: Cluster, node: string, vmid: number, params: Params, user: string): string {
  const ct = cluster.container(node, vmid);
  const name = String(params.snapname);
  const force = params.force !== undefined && parseBoolean(String(params.force)) === 1;
  return cluster.runTask(node, "vzdelsnapshot", vmid, user, async () => {
    const snap = of(ct).get(name);
    if (!snap) throw new Error(`snapshot '${name}' does not exist`);
    if (!force) cluster.assertUnlocked(ct);
    if (ct.conf.template === "1") throw new Error("you can't delete a snapshot if vm is a template");
    snap.snapstate = "delete";
    cluster.saveConf(ct, { ...ct.conf, lock: "snapshot-delete" });
    of(ct).delete(name);
    for (const other of of(ct).values()) if (other.parent === name) other.parent = snap.parent;
    const next = { ...ct.conf };
    delete next.lock;
    if (next.parent === name) {
      if (snap.parent !== undefined) next.parent = snap.parent;
      else delete next.parent;
    }
    cluster.saveConf(ct, next);
  });
}

/** POST .../snapshot/{snapname}/rollback: the `vzrollback` worker stops the CT, restores the config, starts it if asked. */
export function rollbackSnapshot(cluster: Cluster, node: string, vmid: number, params: Params, user: string): string {
  const ct = cluster.container(node, vmid);
  const name = String(params.snapname);
  const start = params.start !== undefined && parseBoolean(String(params.start)) === 1;
  return cluster.runTask(node, "vzrollback", vmid, user, async (task) => {
    const snap = of(ct).get(name);
    if (!snap) throw new Error(`snapshot '${name}' does not exist`);
    cluster.assertUnlocked(ct);
    if (snap.snapstate) throw new Error(`unable to rollback to incomplete snapshot (snapstate = ${snap.snapstate})`);
    if (ct.running) await cluster.stopNow(ct);
    cluster.saveConf(ct, { ...ct.conf, lock: "rollback" });
    const restored: Record<string, string> = { ...snap.conf, parent: name };
    ct.pending = {};
    ct.pendingDelete = new Set();
    cluster.saveConf(ct, restored);
    await cluster.applyConf(ct);
    task.log.push(`rollback snapshot LXC ${vmid}: ${name}`);
    if (start) await cluster.startNow(ct);
  });
}

/**
 * POST .../template: checks under the config lock, then a `vztemplate` worker that turns every
 * volume into a base volume; the call itself answers null, as PVE's does.
 */
export function convertToTemplate(cluster: Cluster, node: string, vmid: number, user: string): null {
  const ct = cluster.container(node, vmid);
  cluster.assertUnlocked(ct);
  if (of(ct).size > 0) throw fail("unable to create template, because CT contains snapshots");
  if (ct.conf.template === "1") throw fail("you can't convert a template to a template");
  if (ct.running) throw fail("you can't convert a CT to template if the CT is running");
  cluster.runTask(node, "vztemplate", vmid, user, async () => {
    const conf = { ...ct.conf };
    for (const [key, value] of Object.entries(conf)) {
      if (key !== "rootfs" && !/^mp\d+$/.test(key)) continue;
      const match = /^([^:,]+):(vm-(\d+)-disk-\d+)(.*)$/.exec(value);
      if (!match) continue;
      const storage = cluster.storageOf(ct.node, match[1]);
      if (storage?.type !== "lvmthin") throw new Error(`Template feature is not available for '${match[1]}:${match[2]}'`);
      const base = match[2].replace(/^vm-/, "base-");
      const volume = storage.volumes.get(`${match[1]}:${match[2]}`);
      if (volume) {
        storage.volumes.delete(volume.volid);
        volume.volid = `${match[1]}:${base}`;
        storage.volumes.set(volume.volid, volume);
      }
      conf[key] = `${match[1]}:${base}${match[4]}`;
    }
    conf.template = "1";
    cluster.saveConf(ct, conf);
  });
  return null;
}
