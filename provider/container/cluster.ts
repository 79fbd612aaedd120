// Reading the cluster: where a container lives, which node to place one on, which storages to use,
// and whether an image was pulled already. Each function is one or two GETs; the choices are pure.

import type { ProxmoxClient } from "../proxmox";
import type { ClusterResource, StorageContentItem, StorageSummary } from "../proxmox/types";
import { parseTags } from "./render";

export const nodePath = (node: string) => `/nodes/${encodeURIComponent(node)}`;
export const lxcPath = (node: string, vmid: number) => `${nodePath(node)}/lxc/${vmid}`;

/** Every guest and node of the cluster in one call. */
export function clusterResources(client: ProxmoxClient, type?: "vm" | "node"): Promise<ClusterResource[]> {
  return client.get<ClusterResource[]>("/cluster/resources", type ? { type } : undefined);
}

export function findContainer(resources: readonly ClusterResource[], vmid: number): ClusterResource | undefined {
  return resources.find((r) => r.type === "lxc" && Number(r.vmid) === vmid);
}

/** Whether a `tags` value carries a tag that starts with `prefix` (an attempt at the create that prefix names). */
export const carriesTagPrefix = (tags: string | undefined, prefix: string) => parseTags(tags).some((t) => t.startsWith(prefix));

/** Containers carrying a tag that starts with `prefix` (our earlier attempts at this create). */
export function findByTagPrefix(resources: readonly ClusterResource[], prefix: string): ClusterResource[] {
  return resources.filter((r) => r.type === "lxc" && carriesTagPrefix(r.tags, prefix));
}

/** What this process has placed on a node and not finished creating: `/cluster/resources` does not show it yet. */
export interface PlacementsInFlight {
  creates: number;
  /** Memory the in-flight containers were given, in bytes. */
  memoryBytes: number;
}

/** How much fuller (memory share) a node holding the image may be than the least loaded one and still win. */
export const IMAGE_AFFINITY_MARGIN = 0.1;

export interface PlacementHints {
  /** This process's creates in flight, per node. */
  inFlight?: ReadonlyMap<string, PlacementsInFlight>;
  /** Nodes whose template storage already holds the image (or is pulling it): placing there saves a pull. */
  holders?: ReadonlySet<string>;
  /** @default IMAGE_AFFINITY_MARGIN */
  affinityMargin?: number;
  /** For exact ties. @default Math.random */
  random?: () => number;
}

const SAME_LOAD = 1e-9;

/**
 * The least loaded online node: memory share (with this process's in-flight creates added, since
 * the snapshot every parallel create reads is identical), then guests (in flight included), then at
 * random among exact ties. A node that holds the image wins if it is at most `affinityMargin` fuller.
 */
export function pickNode(resources: readonly ClusterResource[], hints: PlacementHints = {}): string | undefined {
  const guests = new Map<string, number>();
  for (const r of resources) if ((r.type === "lxc" || r.type === "qemu") && r.node) guests.set(r.node, (guests.get(r.node) ?? 0) + 1);
  const candidates = resources
    .filter((r) => r.type === "node" && r.node && (r.status ?? "online") === "online")
    .map((r) => {
      const node = r.node!;
      const pending = hints.inFlight?.get(node);
      return {
        node,
        load: r.maxmem ? ((r.mem ?? 0) + (pending?.memoryBytes ?? 0)) / r.maxmem : 0,
        guests: (guests.get(node) ?? 0) + (pending?.creates ?? 0),
      };
    });
  if (candidates.length === 0) return undefined;
  const least = Math.min(...candidates.map((c) => c.load));
  const margin = hints.affinityMargin ?? IMAGE_AFFINITY_MARGIN;
  const holding = candidates.filter((c) => hints.holders?.has(c.node) && c.load <= least + margin + SAME_LOAD);
  const pool = holding.length ? holding : candidates;
  const compare = (a: (typeof pool)[number], b: (typeof pool)[number]) =>
    (Math.abs(a.load - b.load) > SAME_LOAD ? a.load - b.load : 0) || a.guests - b.guests;
  pool.sort((a, b) => compare(a, b) || a.node.localeCompare(b.node));
  const tied = pool.filter((c) => compare(c, pool[0]) === 0);
  const random = hints.random ?? Math.random;
  return tied[Math.min(tied.length - 1, Math.floor(random() * tied.length))].node;
}

/**
 * Where a clone goes when no node is named: PVE refuses to clone onto another node unless every
 * volume lands on shared storage ("can't clone CT to node ... (CT uses local storage)", pve-container
 * API2/LXC.pm clone_vm). So the template's node, unless the named target storage is shared; then
 * undefined (any node will do). The template's own storage is not looked up: staying is always allowed.
 */
export function cloneNode(resources: readonly ClusterResource[], source: number, storage?: string): string | undefined {
  const template = findContainer(resources, source);
  if (!template?.node) return undefined;
  const shared = storage !== undefined && resources.some((r) => r.type === "storage" && r.storage === storage && Boolean(Number((r as { shared?: unknown }).shared)));
  return shared ? undefined : template.node;
}

/** How far past `/cluster/nextid` to look after the `attempt - 1`th collision with another process: 0, then [1, 25 x (attempt - 1)], at most 250. */
export function vmidJump(attempt: number, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  return 1 + Math.floor(random() * Math.min(25 * (attempt - 1), 250));
}

/** The first VMID at or above `next + jump` that is not `taken` (claimed by this process, or a known guest). */
export function pickVmid(next: number, taken: (vmid: number) => boolean, jump = 0): number {
  let vmid = next + jump;
  while (taken(vmid)) vmid++;
  return vmid;
}

/** Where derived VMIDs go: `launchpad:vmidRange` / LAUNCHPAD_VMID_RANGE, `MIN-MAX`. Far above `nextid`'s lowest-free ids by default. */
export const DEFAULT_VMID_RANGE = { min: 100_000, max: 999_999 } as const;

/** Parses `MIN-MAX` (100 <= MIN <= MAX <= 999999999, as pve-vmid allows); undefined gives the default; throws naming the setting. */
export function vmidRange(text: string | undefined, setting = "launchpad:vmidRange"): { min: number; max: number } {
  if (text === undefined || text.trim() === "") return DEFAULT_VMID_RANGE;
  const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(min >= 100 && max >= min && max <= 999_999_999)) {
    throw new RangeError(`${setting} must be MIN-MAX with 100 <= MIN <= MAX <= 999999999, got ${JSON.stringify(text)}`);
  }
  return { min, max };
}

/**
 * The VMID a create tries first: derived from its identity prefix (stack + URN + generation), so
 * separate stacks do not all race for `/cluster/nextid`'s one lowest free id. Stable across retries.
 */
export function candidateVmid(identityPrefix: string, range: { min: number; max: number }): number {
  const hex = /^lp-([0-9a-f]{10})-$/.exec(identityPrefix)?.[1];
  const hash = hex ? parseInt(hex, 16) : [...identityPrefix].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return range.min + (hash % (range.max - range.min + 1));
}

/**
 * A node's storages as `/cluster/resources` lists them (available ones, with content), saving the
 * `/nodes/{node}/storage` read; empty when the listing carries none for the node.
 */
export function storagesFromResources(resources: readonly ClusterResource[], node: string): StorageSummary[] {
  return resources
    .filter((r) => r.type === "storage" && r.node === node && r.storage && r.content !== undefined && (r.status === undefined || r.status === "available"))
    .map((r) => ({ storage: r.storage!, content: r.content!, active: 1 }) as StorageSummary);
}

export function isNodeOnline(resources: readonly ClusterResource[], node: string): boolean {
  return resources.some((r) => r.type === "node" && r.node === node && (r.status ?? "online") === "online");
}

/** Storages on `node` that are enabled and active, with their content types. */
export async function nodeStorages(client: ProxmoxClient, node: string): Promise<StorageSummary[]> {
  const storages = await client.get<StorageSummary[]>(`${nodePath(node)}/storage`, { enabled: 1 });
  return storages.filter((s) => s.active === undefined || Boolean(s.active));
}

const hasContent = (storage: StorageSummary, content: string) => storage.content.split(",").map((c) => c.trim()).includes(content);

/** The named storage, checked for `content`; or the first one holding it (`preferred` first). */
export function chooseStorage(storages: readonly StorageSummary[], content: "rootdir" | "vztmpl", named?: string, preferred: readonly string[] = []): string | undefined {
  if (named !== undefined) return storages.some((s) => s.storage === named && hasContent(s, content)) ? named : undefined;
  const candidates = storages.filter((s) => hasContent(s, content));
  for (const name of preferred) if (candidates.some((s) => s.storage === name)) return name;
  return candidates[0]?.storage;
}

export function vztmplContent(client: ProxmoxClient, node: string, storage: string): Promise<StorageContentItem[]> {
  return client.get<StorageContentItem[]>(`${nodePath(node)}/storage/${encodeURIComponent(storage)}/content`, { content: "vztmpl" });
}

/** A pulled image whose file name is `stem` (with or without the digest suffix digestFromVolid reads). */
export function findPulledImage(content: readonly StorageContentItem[], storage: string, stem: string): StorageContentItem | undefined {
  const prefix = `${storage}:vztmpl/${stem}`;
  // Only hex after the stem: a tag may hold '_', and `nginx:1` must not take `nginx:1_alpine`'s archive.
  const digestSuffixed = (volid: string) => volid.startsWith(`${prefix}_`) && /^[0-9a-f]{12,64}\.tar$/.test(volid.slice(prefix.length + 1));
  return content.find((item) => item.volid === `${prefix}.tar` || item.volid === prefix || digestSuffixed(item.volid));
}

/** `sha256:` + 12 hex digits after the stem, when the file name carries them. */
export function digestFromVolid(volid: string, stem: string): string | undefined {
  const match = new RegExp(`${stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_([0-9a-f]{12,64})\\.tar$`).exec(volid);
  return match ? `sha256:${match[1]}` : undefined;
}

/** A node's template storage as `/cluster/resources` lists it; `shared` means one copy serves every node. */
export interface TemplateStorage {
  storage: string;
  shared: boolean;
}

/**
 * Per node, the storage an image would be pulled into: the named one, else `local`, else the first
 * available one with `vztmpl` content. Nodes without one are left out.
 */
export function templateStoragesByNode(resources: readonly ClusterResource[], named?: string): Map<string, TemplateStorage> {
  const byNode = new Map<string, TemplateStorage[]>();
  for (const r of resources) {
    if (r.type !== "storage" || !r.node || !r.storage || (r.status !== undefined && r.status !== "available")) continue;
    if (!(r.content ?? "").split(",").map((c) => c.trim()).includes("vztmpl")) continue;
    if (named !== undefined && r.storage !== named) continue;
    const shared = Boolean(Number((r as { shared?: boolean | number }).shared ?? 0));
    byNode.set(r.node, [...(byNode.get(r.node) ?? []), { storage: r.storage, shared }]);
  }
  const chosen = new Map<string, TemplateStorage>();
  for (const [node, storages] of byNode) chosen.set(node, storages.find((s) => s.storage === "local") ?? storages[0]);
  return chosen;
}
