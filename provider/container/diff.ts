// What a change to each input does to the container: a declared table, and a pure `diffInputs`
// over it. The dynamic-provider host forwards only `changes`, `replaces` and
// `deleteBeforeReplace`; the finer classes (restart, state-only) steer the apply code.

import { isDeepStrictEqual } from "node:util";
import { UNKNOWN, type ContainerInputs } from "./schema";

export type ChangeClass =
  /** `PUT /config` applies it to the running container at once. */
  | "inPlace"
  /** `PUT /config` puts it in the pending section: one restart applies it. */
  | "restart"
  /** A new container: the old one is destroyed. */
  | "replace"
  /** No Proxmox call: only the state changes (credentials, timeouts). */
  | "stateOnly"
  /** Never diffed. */
  | "ignore";

type Rule = ChangeClass | ((olds: Partial<ContainerInputs>, news: Partial<ContainerInputs>) => ChangeClass | undefined);

/** When the new input is absent Proxmox chose the value (placement, storage): keep what exists. */
const whenPinned: Rule = () => "replace";

/**
 * One row per input. A function row decides from both sides; `undefined` from it means "no change".
 * Keep this in the README's table.
 */
export const CHANGE_TABLE: Record<keyof ContainerInputs, Rule> = {
  identity: "ignore",
  hostname: "inPlace",
  image: "replace",
  template: "replace",
  clone: "replace",
  node: whenPinned,
  vmid: whenPinned,
  cores: "inPlace",
  memory: "inPlace",
  swap: "inPlace",
  // Growth by `PUT /resize`; Proxmox cannot shrink a volume.
  diskSize: (olds, news) => ((news.diskSize ?? 0) < (olds.diskSize ?? 0) ? "replace" : "inPlace"),
  storage: whenPinned,
  // Where an image is pulled to does not change a container that exists.
  templateStorage: "ignore",
  network: (olds, news) => {
    const o = olds.network;
    const n = news.network;
    if (!o || !n || (n as unknown) === UNKNOWN) return "restart";
    if (!isDeepStrictEqual(o.ipv4, n.ipv4) || !isDeepStrictEqual(o.ipv6, n.ipv6)) return "restart";
    return isDeepStrictEqual(o, n) ? undefined : "inPlace";
  },
  nameserver: "restart",
  searchdomain: "restart",
  // Write-only in Proxmox: they cannot be read back or changed on a running rootfs.
  sshPublicKeys: "replace",
  password: "replace",
  unprivileged: "replace",
  features: "restart",
  env: "restart",
  entrypoint: "restart",
  tags: "inPlace",
  // Pool membership is set at create (PUT /config has no `pool`).
  pool: "replace",
  description: "inPlace",
  onBoot: "inPlace",
  started: "inPlace",
  waitForIp: "stateOnly",
  timeouts: "stateOnly",
  // Rotated credentials must reach the state, or a later delete would use the stale ones.
  connection: "stateOnly",
  // New credentials for the same image change nothing deployed; a moved tag is found by its digest (index.ts diff).
  imageCredentials: "stateOnly",
};

export interface FieldChange {
  field: keyof ContainerInputs;
  class: Exclude<ChangeClass, "ignore">;
}

export interface ContainerDiff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Every changed field with its class, for the apply code. */
  fields: FieldChange[];
}

const ORDER: ChangeClass[] = ["stateOnly", "inPlace", "restart", "replace"];

/** The strongest class among the changes, or undefined when nothing changed. */
export function strongestClass(fields: readonly FieldChange[]): ChangeClass | undefined {
  return fields.reduce<ChangeClass | undefined>((top, f) => (top === undefined || ORDER.indexOf(f.class) > ORDER.indexOf(top) ? f.class : top), undefined);
}

/**
 * `olds`: normalized inputs as echoed in the old outputs (`node`, `vmid`, `storage` hold what
 * Proxmox chose); `news`: what `check` returned, possibly with unknown markers during preview.
 */
export function diffInputs(olds: Partial<ContainerInputs>, news: Partial<ContainerInputs>): ContainerDiff {
  const fields: FieldChange[] = [];
  for (const field of Object.keys(CHANGE_TABLE) as (keyof ContainerInputs)[]) {
    const rule = CHANGE_TABLE[field];
    if (rule === "ignore") continue;
    const before = olds[field];
    const after = news[field];
    if ((rule === whenPinned) && after === undefined) continue;
    if (after !== (UNKNOWN as unknown) && isDeepStrictEqual(before, after)) continue;
    const decided = typeof rule === "function" ? rule(olds, news) : rule;
    if (decided === undefined || decided === "ignore") continue;
    fields.push({ field, class: decided });
  }
  const replaces = fields.filter((f) => f.class === "replace").map((f) => f.field);
  return {
    changes: fields.length > 0,
    replaces,
    deleteBeforeReplace: replaces.length > 0 && holdsUniqueResource(olds, news),
    fields,
  };
}

/** The replacement cannot exist next to the old container: same fixed vmid, or same static address. */
function holdsUniqueResource(olds: Partial<ContainerInputs>, news: Partial<ContainerInputs>): boolean {
  if (news.vmid !== undefined && news.vmid === olds.vmid) return true;
  const oldNet = olds.network;
  const newNet = news.network;
  if (!oldNet || !newNet || (newNet as unknown) === UNKNOWN) return false;
  const sameStatic = (a: unknown, b: unknown) =>
    typeof a === "object" && a !== null && typeof b === "object" && b !== null &&
    (a as { address: string }).address === (b as { address: string }).address;
  return sameStatic(oldNet.ipv4, newNet.ipv4) || sameStatic(oldNet.ipv6, newNet.ipv6);
}
