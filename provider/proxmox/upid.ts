// Proxmox task ids. Shape as PVE::Tools::upid_decode reads it:
// UPID:<node>:<pid hex 8>:<pstart hex 8-9>:<starttime hex 8>:<type>:<id>:<user>:

/** The parts of a UPID: where the task runs, what it does, and who started it. */
export interface Upid {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  /** `vzcreate`, `vzstart`, `vzdestroy`, `imgcopy`, ... */
  type: string;
  /** Usually the VMID; may be empty. */
  id: string;
  /** `root@pam`, `ci@pve!launchpad` */
  user: string;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

/** True for a string shaped like a UPID (what a task-starting call returns as `data`). */
export function isUpid(value: unknown): value is string {
  return typeof value === "string" && UPID_RE.test(value);
}

/** Splits a UPID into its fields; throws on anything that is not one. */
export function parseUpid(upid: string): Upid {
  const match = UPID_RE.exec(upid);
  if (!match) throw new TypeError(`not a Proxmox task id (UPID): ${JSON.stringify(upid)}`);
  const [, node, pid, pstart, starttime, type, id, user] = match;
  return {
    upid,
    node: node!,
    pid: parseInt(pid!, 16),
    pstart: parseInt(pstart!, 16),
    starttime: parseInt(starttime!, 16),
    type: type!,
    id: id!,
    user: user!,
  };
}
