// The failed-request figure of an image replace: a PreviewEnvironment on real LXC containers moves
// to a new image while a client keeps requesting its URL through nginx (devstack/image-replace.ts
// does the work; the image-replace e2e test asserts 0, this prints what it was). Needs root with LXC, nginx,
// OpenSSH and PowerDNS; without LXC it says so instead of a figure.
import { lxcAvailability } from "../sandbox/lxc";
import { startWorld, stopWorld } from "../devstack/world";
import { measureImageReplace } from "../devstack/image-replace";

export interface ReplaceBenchFigures {
  failedRequests: number | null;
  requests: number | null;
  upMs: number | null;
  longestGapMs?: number;
  pinnedVmid?: { failedRequests: number; requests: number; longestGapMs: number; upMs: number };
  skipped?: string;
}

/** startWorld skips through Mocha when a server's binary is missing; here that is a skipped figure. */
const notMocha = { skip: () => { throw new Error("a server binary is missing (scripts/install-system-deps.sh)"); } } as unknown as Mocha.Context;

export async function runReplaceBench(log: (line: string) => void): Promise<{ figures: ReplaceBenchFigures; text: string }> {
  const availability = lxcAvailability();
  if (!availability.ok) {
    return { figures: { failedRequests: null, requests: null, upMs: null, skipped: availability.reason }, text: `Image replace: skipped (LXC unavailable: ${availability.reason})` };
  }
  const world = await startWorld(notMocha, "lxc");
  try {
    const measured = await measureImageReplace(world, { stack: "bench-replace", log });
    // A fixed vmid forces delete-before-replace: the same replace, for the downtime it costs.
    const pinned = await measureImageReplace(world, { stack: "bench-replace-pinned", vmid: 4242, log });
    const figures = {
      failedRequests: measured.failed, requests: measured.requests, upMs: measured.upMs,
      longestGapMs: measured.longestGapMs,
      pinnedVmid: { failedRequests: pinned.failed, requests: pinned.requests, longestGapMs: pinned.longestGapMs, upMs: pinned.upMs },
    };
    const text = [
      "Image replace on LXC (new image; the URL requested all along, a new connection per request)",
      `  failed requests, create-before-delete   ${measured.failed} of ${measured.requests}${measured.failures.length ? `  (${measured.failures.join(" | ")})` : ""}; longest time without an answer ${measured.longestGapMs} ms; up ${measured.upMs} ms`,
      `  failed requests, fixed vmid (delete first)  ${pinned.failed} of ${pinned.requests}; longest time without an answer ${pinned.longestGapMs} ms; up ${pinned.upMs} ms`,
    ].join("\n");
    return { figures, text };
  } finally {
    await stopWorld(world);
  }
}
