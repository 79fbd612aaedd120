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

/** Containers carrying a tag that starts with `prefix` (our earlier attempts at this create). */
export function findByTagPrefix(resources: readonly ClusterResource[], prefix: string): ClusterResource[] {
  return resources.filter((r) => r.type === "lxc" && parseTags(r.tags).some((t) => t.startsWith(prefix)));
}

/**
 * The online node with the most free memory share, then the fewest guests, then by name: what
 * "least loaded" means with the data `/cluster/resources` gives.
 */
export function pickNode(resources: readonly ClusterResource[]): string | undefined {
  const guests = new Map<string, number>();
  for (const r of resources) if ((r.type === "lxc" || r.type === "qemu") && r.node) guests.set(r.node, (guests.get(r.node) ?? 0) + 1);
  const online = resources.filter((r) => r.type === "node" && r.node && (r.status ?? "online") === "online");
  const load = (r: ClusterResource) => (r.maxmem ? (r.mem ?? 0) / r.maxmem : 0);
  online.sort((a, b) => load(a) - load(b) || (guests.get(a.node!) ?? 0) - (guests.get(b.node!) ?? 0) || a.node!.localeCompare(b.node!));
  return online[0]?.node;
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

/** A pulled image whose file name starts with `stem` (with or without the digest suffix). */
export function findPulledImage(content: readonly StorageContentItem[], storage: string, stem: string): StorageContentItem | undefined {
  const prefix = `${storage}:vztmpl/${stem}`;
  return content.find((item) => item.volid === `${prefix}.tar` || item.volid === prefix || (item.volid.startsWith(`${prefix}_`) && item.volid.endsWith(".tar")));
}

/** `sha256:` + 12 hex digits after the stem, when the file name carries them. */
export function digestFromVolid(volid: string, stem: string): string | undefined {
  const match = new RegExp(`${stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_([0-9a-f]{12,64})\\.tar$`).exec(volid);
  return match ? `sha256:${match[1]}` : undefined;
}
