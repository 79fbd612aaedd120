// This process's creates in flight. One provider host serves a whole `pulumi up`, so the parallel
// creates of a program share these: where the others are going and which VMIDs they are about to take,
// which `/cluster/resources` and `/cluster/nextid` cannot know yet. Keyed by endpoint (a resource may
// point at another cluster through `connection`).

import type { PlacementsInFlight } from "./cluster";

interface HeldPlacement {
  node: string;
  memoryBytes: number;
  /** `templateStorage|reference` of an image create: its node is getting (or has) the image. */
  image?: string;
}

const placements = new Map<string, Set<HeldPlacement>>();
const claims = new Map<string, Set<number>>();

const entry = <T>(map: Map<string, Set<T>>, endpoint: string): Set<T> => {
  let set = map.get(endpoint);
  if (!set) map.set(endpoint, (set = new Set()));
  return set;
};

/** Creates in flight per node, for `pickNode`. */
export function placementsInFlight(endpoint: string): Map<string, PlacementsInFlight> {
  const byNode = new Map<string, PlacementsInFlight>();
  for (const held of placements.get(endpoint) ?? []) {
    const sum = byNode.get(held.node) ?? { creates: 0, memoryBytes: 0 };
    byNode.set(held.node, { creates: sum.creates + 1, memoryBytes: sum.memoryBytes + held.memoryBytes });
  }
  return byNode;
}

/** Nodes an in-flight create of the same image went to. */
export function nodesGettingImage(endpoint: string, image: string): Set<string> {
  return new Set([...(placements.get(endpoint) ?? [])].filter((held) => held.image === image).map((held) => held.node));
}

/** Records a placement until the returned release is called (when the create ends, either way). */
export function holdPlacement(endpoint: string, placement: HeldPlacement): () => void {
  const held = { ...placement };
  entry(placements, endpoint).add(held);
  return () => void placements.get(endpoint)?.delete(held);
}

/** VMIDs claimed by creates in flight. */
export function claimedVmids(endpoint: string): ReadonlySet<number> {
  return claims.get(endpoint) ?? new Set();
}

/** Claims `vmid` until the returned release is called. */
export function claimVmid(endpoint: string, vmid: number): () => void {
  entry(claims, endpoint).add(vmid);
  return () => void claims.get(endpoint)?.delete(vmid);
}
