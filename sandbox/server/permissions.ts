// The permission checks PVE makes in code, on top of each endpoint's schema `permissions` entry,
// for the calls that create, clone and reconfigure containers (pve-container src/PVE/LXC.pm
// check_ct_modify_config_perm, src/PVE/API2/LXC.pm create_vm / clone_vm / resize_vm, pve-storage
// PVE/Storage.pm check_volume_access). Each runs before the call changes anything.
import { AccessControl, permissionDenied } from "./access";
import type { Container } from "./cluster";
import { fail, paramError } from "./errors";
import type { Params } from "./cluster";
import { parseBoolean, parsePropertyString, propertyFor, PropertySchema } from "./validate";
import subset = require("../schema/pve-api-subset.json");

const createProps = (subset.endpoints as unknown as Record<string, Record<string, { parameters: { properties: Record<string, PropertySchema> } }>>)[
  "/nodes/{node}/lxc"
].POST.parameters.properties;
const formatOf = (key: string) => propertyFor(createProps, key)?.format as Record<string, PropertySchema>;

// LXC.pm $NEW_DISK_RE: `STORAGE:SIZE_IN_GiB` allocates a new volume.
const NEW_DISK = /^([^:\s]+):(\d+(\.\d+)?)$/;
const VOLUME_ID = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i;

const bool = (value: unknown) => value !== undefined && parseBoolean(String(value)) === 1;

/** PVE::LXC::Config->parse_features */
function features(value: string | undefined): Record<string, string> {
  return value ? parsePropertyString(formatOf("features"), value, "features") : {};
}

/** PVE::Storage::check_volume_access for a volume id (`vztmpl` for templates, `rootdir` for disks). */
export function checkVolumeAccess(access: AccessControl, subject: string, vmid: number, volid: string, type: "vztmpl" | "rootdir"): void {
  const parsed = VOLUME_ID.exec(volid);
  if (!parsed) {
    if (subject !== "root@pam") throw fail("Only root can pass arbitrary filesystem paths.");
    return;
  }
  const sid = parsed[1];
  if (access.check(subject, `/storage/${sid}`, ["Datastore.Allocate"], true)) return;
  const vtype = /^vztmpl\//.test(parsed[2]) ? "vztmpl" : "rootdir";
  const owner = /^(?:\d+\/)?(?:vm|subvol|base)-(\d+)-/.exec(parsed[2])?.[1];
  if (vtype !== type && !(type === "rootdir" && vtype === "rootdir")) throw fail(`unable to use volume ${volid} - content type needs to be '${type}'`);
  if (vtype === "vztmpl") {
    access.checkAny(subject, `/storage/${sid}`, ["Datastore.AllocateSpace", "Datastore.Audit"]);
  } else if (owner !== undefined && Number(owner) === vmid) {
    // the guest's own volume
  } else if (owner !== undefined) {
    access.check(subject, `/storage/${sid}`, ["Datastore.Audit"]);
    access.check(subject, `/vms/${owner}`, ["VM.Config.Disk"]);
  } else {
    throw fail(`missing privileges to access ${volid}`);
  }
}

/** PVE::LXC::check_bridge_access: SDN.Use on the bridge (or the VLAN) of a `netN` value. */
export function checkBridgeAccess(access: AccessControl, subject: string, value: string | undefined): void {
  if (!value || subject === "root@pam") return;
  const net = parsePropertyString(formatOf("net0"), value, "net0");
  if (net.bridge === undefined) return;
  access.checkBridge(subject, net.bridge, net.tag);
}

/**
 * PVE::LXC::check_ct_modify_config_perm: per option the privilege it needs on the guest (or its
 * pool); new volumes need Datastore.AllocateSpace on their storage, bridges SDN.Use; bind mounts,
 * devices, hookscripts and feature flags other than nesting are root@pam's alone.
 */
export function checkCtModifyConfigPerm(
  access: AccessControl,
  subject: string,
  vmid: number,
  pool: string | undefined,
  oldconf: Record<string, string> | undefined,
  newconf: Record<string, string>,
  deletes: readonly string[],
  unprivileged: boolean,
): void {
  if (subject === "root@pam") return;
  const check = (opt: string, isDelete: boolean) => {
    if (opt === "cores" || opt === "cpuunits" || opt === "cpulimit") {
      access.checkVm(subject, vmid, pool, ["VM.Config.CPU"]);
    } else if (opt === "rootfs" || /^mp\d+$/.test(opt)) {
      access.checkVm(subject, vmid, pool, ["VM.Config.Disk"]);
      if (isDelete) return;
      const mount = parsePropertyString(formatOf(opt === "rootfs" ? "rootfs" : "mp0"), newconf[opt], opt);
      const volume = mount.volume ?? "";
      const type = volume.startsWith("/") ? (volume.startsWith("/dev/") ? "device" : "bind") : "volume";
      if (type !== "volume") throw permissionDenied(`mount point type ${type} is only allowed for root@pam`);
      const fresh = NEW_DISK.exec(volume);
      if (fresh) access.check(subject, `/storage/${fresh[1]}`, ["Datastore.AllocateSpace"]);
      else checkVolumeAccess(access, subject, vmid, volume, "rootdir");
    } else if (opt === "memory" || opt === "swap") {
      access.checkVm(subject, vmid, pool, ["VM.Config.Memory"]);
    } else if (/^net\d+$/.test(opt)) {
      access.checkVm(subject, vmid, pool, ["VM.Config.Network"]);
      checkBridgeAccess(access, subject, oldconf?.[opt]);
      checkBridgeAccess(access, subject, newconf[opt]);
    } else if (/^dev\d+$/.test(opt)) {
      throw permissionDenied("configuring device passthrough is only allowed for root@pam");
    } else if (opt === "nameserver" || opt === "searchdomain" || opt === "hostname") {
      access.checkVm(subject, vmid, pool, ["VM.Config.Network"]);
    } else if (opt === "features") {
      if (!unprivileged) throw permissionDenied("changing feature flags for privileged container is only allowed for root@pam");
      let nesting = false;
      let other = false;
      if (!isDelete) {
        const next = features(newconf[opt]);
        if (oldconf?.[opt]) {
          const old = features(oldconf[opt]);
          for (const feature of [...Object.keys(old), ...Object.keys(next)]) {
            if ((old[feature] ?? "") === (next[feature] ?? "")) continue;
            if (feature === "nesting") nesting = true;
            else {
              other = true;
              break;
            }
          }
        } else {
          const keys = Object.keys(next);
          if (keys.length === 1 && keys[0] === "nesting") nesting = true;
          else if (keys.length > 0) other = true;
        }
      } else {
        const keys = Object.keys(features(oldconf?.[opt]));
        if (keys.length === 1 && keys[0] === "nesting") nesting = true;
        else if (keys.length > 0) other = true;
      }
      if (other) throw permissionDenied("changing feature flags (except nesting) is only allowed for root@pam");
      if (nesting) access.checkVm(subject, vmid, pool, ["VM.Allocate"]);
    } else if (opt === "hookscript") {
      throw permissionDenied("changing the hookscript is only allowed for root@pam");
    } else if (opt === "tags") {
      // PVE::GuestHelpers::assert_tag_permissions with the default `user-tag-access: free`.
      if ((oldconf?.tags ?? "") !== (isDelete ? "" : newconf.tags ?? "")) access.checkVm(subject, vmid, undefined, ["VM.Config.Options"]);
    } else {
      access.checkVm(subject, vmid, pool, ["VM.Config.Options"]);
    }
  };
  for (const opt of Object.keys(newconf)) check(opt, false);
  for (const opt of deletes) check(opt, true);
}

// Parameters create_vm takes out before check_ct_modify_config_perm sees the rest.
const CREATE_EXTRACTED = new Set([
  "node", "vmid", "ignore-unpack-errors", "bwlimit", "start", "ha-managed", "unprivileged", "restore", "unique", "force",
  "password", "ssh-public-keys", "pool", "ostemplate", "storage",
]);

/** The checks of API2/LXC.pm create_vm before it locks or writes anything (no restore). */
export function checkCreate(access: AccessControl, subject: string, params: Params, pools: Map<string, Set<number>>, storageHasRootdir: (sid: string) => boolean | undefined): void {
  const vmid = Number(params.vmid);
  const unprivileged = params.unprivileged === undefined ? true : bool(params.unprivileged);
  if (!unprivileged) access.check(subject, "/", ["Sys.Modify"]);
  const pool = params.pool !== undefined ? String(params.pool) : undefined;
  if (pool !== undefined && !pools.has(pool)) throw permissionDenied(`pool '${pool}' does not exist`);
  if (!access.check(subject, `/vms/${vmid}`, ["VM.Allocate"], true) && !(pool && access.check(subject, `/pool/${pool}`, ["VM.Allocate"], true))) {
    throw permissionDenied();
  }
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined && !CREATE_EXTRACTED.has(key)) rest[key] = String(value);
  // check_ct_modify_config_perm sees `rootfs: 8` as the volume `8`; PVE's parse passes it as a volume of the default storage later.
  const storage = String(params.storage ?? "local");
  const forPerm = { ...rest };
  for (const key of Object.keys(forPerm)) if ((key === "rootfs" || /^mp\d+$/.test(key)) && /^\d+(\.\d+)?$/.test(forPerm[key])) forPerm[key] = `${storage}:${forPerm[key]}`;
  checkCtModifyConfigPerm(access, subject, vmid, pool, undefined, forPerm, [], unprivileged);
  checkVolumeAccess(access, subject, vmid, String(params.ostemplate), "vztmpl");
  const storages = new Set<string>();
  for (const [key, value] of Object.entries(forPerm)) {
    if (key !== "rootfs" && !/^mp\d+$/.test(key)) continue;
    const volume = parsePropertyString(formatOf(key === "rootfs" ? "rootfs" : "mp0"), value, key).volume ?? "";
    if (volume.startsWith("/")) {
      if (subject !== "root@pam") throw fail("Only root can pass arbitrary filesystem paths.");
      continue;
    }
    const sid = VOLUME_ID.exec(volume)?.[1];
    if (sid) storages.add(sid);
  }
  if (forPerm.rootfs === undefined) storages.add(storage);
  for (const sid of storages) {
    if (storageHasRootdir(sid) === false) throw paramError({ storage: `storage '${sid}' does not support container directories` });
    access.check(subject, `/storage/${sid}`, ["Datastore.AllocateSpace"]);
  }
}

/** The checks of API2/LXC.pm clone_vm: a pool that exists, and per volume Datastore.AllocateSpace; per NIC SDN.Use. */
export function checkClone(access: AccessControl, subject: string, source: Container, params: Params, pools: Map<string, Set<number>>): void {
  if (params.pool !== undefined && !pools.has(String(params.pool))) throw permissionDenied(`pool '${params.pool}' does not exist`);
  for (const key of Object.keys(source.conf).sort()) {
    if (key === "rootfs" || /^mp\d+$/.test(key)) {
      const mount = parsePropertyString(formatOf(key === "rootfs" ? "rootfs" : "mp0"), source.conf[key], key);
      const sid = params.storage !== undefined ? String(params.storage) : VOLUME_ID.exec(mount.volume ?? "")?.[1];
      if (sid) access.check(subject, `/storage/${sid}`, ["Datastore.AllocateSpace"]);
    } else if (/^net\d+$/.test(key)) {
      checkBridgeAccess(access, subject, source.conf[key]);
    }
  }
}

/** API2/LXC/Config.pm update_vm: deletes, reverts, then the new values, each through check_ct_modify_config_perm. */
export function checkUpdate(access: AccessControl, subject: string, ct: Container, params: Params): void {
  const split = (value: unknown) => (value === undefined ? [] : String(value).split(/[,;\s\0]+/).filter(Boolean));
  const unprivileged = ct.conf.unprivileged === "1";
  checkCtModifyConfigPerm(access, subject, ct.vmid, undefined, ct.conf, {}, split(params.delete), unprivileged);
  checkCtModifyConfigPerm(access, subject, ct.vmid, undefined, ct.conf, {}, split(params.revert), unprivileged);
  const changes: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && !["node", "vmid", "digest", "delete", "revert"].includes(key)) changes[key] = String(value);
  }
  checkCtModifyConfigPerm(access, subject, ct.vmid, undefined, ct.conf, changes, [], unprivileged);
}

/** API2/LXC.pm resize_vm: check_ct_modify_config_perm on `{disk}` (VM.Config.Options), then Datastore.AllocateSpace on the volume's storage. */
export function checkResize(access: AccessControl, subject: string, ct: Container, disk: string): void {
  checkCtModifyConfigPerm(access, subject, ct.vmid, undefined, ct.conf, { disk }, [], ct.conf.unprivileged === "1");
  const value = ct.conf[disk];
  if (!value) return;
  const volume = parsePropertyString(formatOf(disk === "rootfs" ? "rootfs" : "mp0"), value, disk).volume ?? "";
  const sid = VOLUME_ID.exec(volume)?.[1];
  if (sid && subject !== "root@pam") access.check(subject, `/storage/${sid}`, ["Datastore.AllocateSpace"]);
}

/**
 * The privileges these code checks ask for, per endpoint, beyond the schema's `check` (and the
 * read filters of `user: all` endpoints), for the least-privilege role derivation. Each is tested
 * against the implementation above by the sandbox's permission-table test.
 */
export const CODE_CHECKS: Record<string, Array<{ path: string; privs: string[]; any?: boolean; source: string }>> = {
  "GET /cluster/resources": [
    { path: "/vms/{vmid}", privs: ["VM.Audit"], source: "pve-manager PVE/API2/Cluster.pm resources: guests without VM.Audit are left out" },
    { path: "/storage/{storage}", privs: ["Datastore.Audit"], source: "pve-manager PVE/API2/Cluster.pm resources: storages without Datastore.Audit are left out" },
  ],
  "GET /nodes/{node}/lxc": [{ path: "/vms/{vmid}", privs: ["VM.Audit"], source: "pve-container API2/LXC.pm vmlist" }],
  "GET /nodes/{node}/storage": [
    { path: "/storage/{storage}", privs: ["Datastore.Audit", "Datastore.AllocateSpace"], any: true, source: "pve-storage API2/Storage/Status.pm index" },
  ],
  "POST /nodes/{node}/lxc": [
    { path: "/vms/{vmid}", privs: ["VM.Allocate"], source: "pve-container API2/LXC.pm create_vm" },
    { path: "/vms/{vmid}", privs: ["VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Disk", "VM.Config.Options"], source: "pve-container LXC.pm check_ct_modify_config_perm (per option given)" },
    { path: "/storage/{storage}", privs: ["Datastore.AllocateSpace"], source: "pve-container API2/LXC.pm create_vm: storage of every new volume" },
    { path: "/storage/{storage}", privs: ["Datastore.AllocateSpace", "Datastore.Audit"], any: true, source: "pve-storage Storage.pm check_volume_access: the vztmpl" },
    { path: "/sdn/zones/localnetwork/{bridge}", privs: ["SDN.Use"], source: "pve-container LXC.pm check_bridge_access" },
  ],
  "POST /nodes/{node}/lxc/{vmid}/clone": [
    { path: "/storage/{storage}", privs: ["Datastore.AllocateSpace"], source: "pve-container API2/LXC.pm clone_vm: every volume's storage" },
    { path: "/sdn/zones/localnetwork/{bridge}", privs: ["SDN.Use"], source: "pve-container API2/LXC.pm clone_vm: check_bridge_access per NIC" },
  ],
  "PUT /nodes/{node}/lxc/{vmid}/config": [
    { path: "/vms/{vmid}", privs: ["VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Disk", "VM.Config.Options"], source: "pve-container LXC.pm check_ct_modify_config_perm (per option changed)" },
    { path: "/vms/{vmid}", privs: ["VM.Allocate"], source: "pve-container LXC.pm check_ct_modify_config_perm: features nesting" },
    { path: "/sdn/zones/localnetwork/{bridge}", privs: ["SDN.Use"], source: "pve-container LXC.pm check_bridge_access (netN)" },
  ],
  "PUT /nodes/{node}/lxc/{vmid}/resize": [
    { path: "/vms/{vmid}", privs: ["VM.Config.Options"], source: "pve-container API2/LXC.pm resize_vm: check_ct_modify_config_perm on {disk}" },
    { path: "/storage/{storage}", privs: ["Datastore.AllocateSpace"], source: "pve-container API2/LXC.pm resize_vm" },
  ],
};
