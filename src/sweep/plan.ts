// Which containers the sweep removes, and why: a pure judgement over what Proxmox lists, the
// branches that still exist, and what the state backend tracks. Creates and removes nothing.

import { readSweepTags, type SweepLabels } from "./tags";

/** One container as `/cluster/resources?type=vm` lists it. */
export interface ListedContainer {
  node: string;
  vmid: number;
  name?: string;
  status?: string;
  tags: string[];
}

export type SweepReason = "expired" | "not-renewed" | "branch-gone" | "untracked";

export interface SweepFacts {
  now: Date;
  /** `--older-than`: a preview not renewed for this long goes, whatever its ttl. */
  olderThanMs?: number;
  /** Branches that exist, as `stackName(branch)` (the `lp-branch-` tag's form); undefined: not asked. */
  branches?: ReadonlySet<string>;
  /** Identity tags some stack's state holds; undefined when the backend cannot be read. */
  tracked?: ReadonlySet<string>;
  /** Stacks with an operation in progress: their untracked containers may be a create in flight. */
  busyStacks?: ReadonlySet<string>;
}

export interface Verdict {
  container: ListedContainer;
  labels: SweepLabels;
  /** Why it goes; empty: it stays. */
  reasons: SweepReason[];
  /** Why a container that would go stays (a stack busy with an `up`). */
  spared?: string;
}

/**
 * Judges every container that carries our identity tag; the others are not ours and are left out
 * entirely, so nothing below can ever act on them.
 */
export function judge(containers: readonly ListedContainer[], facts: SweepFacts): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const container of containers) {
    const labels = readSweepTags(container.tags);
    if (labels.identity === undefined) continue;
    const reasons: SweepReason[] = [];
    if (labels.expiresAt && labels.expiresAt.getTime() <= facts.now.getTime()) reasons.push("expired");
    if (facts.olderThanMs !== undefined && labels.renewedAt && facts.now.getTime() - labels.renewedAt.getTime() > facts.olderThanMs) reasons.push("not-renewed");
    if (facts.branches && labels.branch !== undefined && !facts.branches.has(labels.branch)) reasons.push("branch-gone");
    if (facts.tracked && !facts.tracked.has(labels.identity)) reasons.push("untracked");
    const verdict: Verdict = { container, labels, reasons };
    if (reasons.length > 0 && labels.stack !== undefined && facts.busyStacks?.has(labels.stack)) {
      verdict.spared = `stack ${labels.stack} has an operation in progress`;
      verdict.reasons = [];
    }
    verdicts.push(verdict);
  }
  return verdicts.sort((a, b) => a.container.vmid - b.container.vmid);
}
