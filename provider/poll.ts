// The one wait: `pollUntil(deadline, probe, schedule)`. Every wait of the provider (a Proxmox task, a
// container's address, an SSH host key, a lock) is a probe and a schedule; the schedules are pure
// functions of the poll count and the elapsed time, built on the retry module's backoff.

import { backoffMs, sleep } from "./retry";

/** Delay before the next probe, given how many probes ran (from 1) and the ms since the wait began. */
export type PollSchedule = (probes: number, elapsedMs: number) => number;

/** A probe's answer: `{ done: true, value }` ends the wait; anything else polls again. */
export type ProbeResult<T> = { done: true; value: T } | { done: false; reason?: string };

export const done = <T>(value: T): ProbeResult<T> => ({ done: true, value });
export const notYet = (reason?: string): ProbeResult<never> => ({ done: false, reason });

export interface PollOptions {
  /** The error to throw once `deadline` passed without a done probe; it gets the last probe's reason. */
  timeout: (lastReason: string | undefined) => Error;
  /** @default Date.now */
  now?: () => number;
  /** @default sleep from ./retry */
  wait?: (ms: number) => Promise<void>;
  /**
   * The schedule's delay counts from each probe's start, not its answer, so a slow answer (PVE runs `ip` in
   * a container's namespace for `/interfaces`) does not stretch the gap; the API still gets at least a
   * quarter of the delay after a slow answer. @default false
   */
  paced?: boolean;
}

/**
 * Probes until one says done, sleeping `schedule(...)` between probes, never past `deadline` (ms since
 * the epoch). A probe that throws ends the wait with its error (probes decide what is worth retrying).
 * The last probe runs at the deadline, not after it.
 */
export async function pollUntil<T>(deadline: number, probe: (probes: number) => Promise<ProbeResult<T>>, schedule: PollSchedule, options: PollOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const wait = options.wait ?? sleep;
  const started = now();
  for (let probes = 1; ; probes++) {
    const probedAt = now();
    const result = await probe(probes);
    if (result.done) return result.value;
    const remaining = deadline - now();
    if (remaining <= 0) throw options.timeout(result.reason);
    const delay = options.paced ? pacedDelay(schedule(probes, probedAt - started), probedAt, now()) : schedule(probes, now() - started);
    await wait(Math.max(1, Math.min(delay, remaining)));
  }
}

/**
 * The sleep after a probe sent at `sentAt` and answered at `answeredAt` for its next one to go `delayMs` after
 * it: never less than a quarter of `delayMs` after the answer (see PollOptions.paced).
 */
export function pacedDelay(delayMs: number, sentAt: number, answeredAt: number): number {
  return Math.max(sentAt + delayMs, answeredAt + delayMs / 4) - answeredAt;
}

export interface BackoffSchedule {
  /** Delay after the first probe. */
  readonly initialMs: number;
  /** Growth per probe. */
  readonly factor: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
}

/** Growing delays: `initialMs x factor^(probes - 1)`, capped. For waits with no idea of when they end. */
export function backoff(policy: BackoffSchedule): PollSchedule {
  return (probes) => backoffMs(probes, { baseDelayMs: policy.initialMs, factor: policy.factor, maxDelayMs: policy.maxMs, jitter: 0 });
}

/**
 * A probe every `intervalMs` for the first `forMs`, then `after`'s backoff: for a wait whose end is as likely
 * at any moment of a first stretch (its lag is then at most `intervalMs`), and probably broken after it.
 * Stateful: make one per wait.
 */
export function steadyThen(intervalMs: number, forMs: number, after: BackoffSchedule): PollSchedule {
  const later = backoff(after);
  let lateProbes = 0;
  return (_probes, elapsedMs) => (elapsedMs < forMs ? intervalMs : later(++lateProbes, elapsedMs));
}

/** What a wait expects: it ends about `expectedMs` after it began, give or take `spreadMs`. */
export interface Expectation {
  expectedMs: number;
  spreadMs: number;
}

export interface ExpectingSchedule {
  /** Delay inside the window around the expected end. @default 40 */
  readonly denseMs: number;
  /** Longest delay anywhere (sparse probes before the window, so a failure is still seen). @default 2000 */
  readonly sparseMs: number;
  /** After the window: backoff from `denseMs` by this factor up to `sparseMs`. @default 1.5 */
  readonly factor: number;
  /** Probes a window gets at most: a wide window (little known) is probed less densely. @default 12 */
  readonly windowProbes: number;
}

export const DEFAULT_EXPECTING: ExpectingSchedule = { denseMs: 40, sparseMs: 2_000, factor: 1.5, windowProbes: 12 };

/**
 * Dense probes around the expected end, sparse ones elsewhere: before the window, every `sparseMs`
 * (the last one landing on the window's opening); inside it, every `denseMs`; after it, back off from `denseMs`.
 */
export function expecting(expectation: Expectation, policy: ExpectingSchedule = DEFAULT_EXPECTING): PollSchedule {
  const opens = Math.max(0, expectation.expectedMs - expectation.spreadMs);
  const closes = expectation.expectedMs + expectation.spreadMs;
  const dense = Math.max(policy.denseMs, Math.round((closes - opens) / policy.windowProbes));
  let late = 0;
  return (_probes, elapsedMs) => {
    // Before the window a probe only catches an early failure: few of them, none sleeping into the window,
    // and no short hop left before it (one sparse step plus the remainder, if that is under `dense`).
    if (elapsedMs < opens) {
      const toWindow = opens - elapsedMs;
      return toWindow <= policy.sparseMs + dense ? toWindow : policy.sparseMs;
    }
    if (elapsedMs <= closes) return dense;
    late++;
    return Math.min(policy.sparseMs, Math.round(dense * policy.factor ** late));
  };
}

/** `schedule` as if its wait had begun `offsetMs` after this one: for the second part of a two-task wait. */
export function shifted(schedule: PollSchedule, offsetMs: number): PollSchedule {
  return (probes, elapsedMs) => schedule(probes, Math.max(0, elapsedMs - offsetMs));
}

/**
 * Durations of one kind of wait (a task type, an address) seen in this process, ms: the expectation
 * is their median, the window their range plus their resolution; nothing seen yet gives `fallback`.
 */
export class LearnedDurations {
  readonly #seen = new Map<string, Array<{ ms: number; resolutionMs: number }>>();
  /** Kept per kind: the newest observations describe the cluster as it is now. */
  static readonly KEEP = 50;

  constructor(private readonly fallback: (kind: string) => Expectation | undefined = () => undefined) {}

  /** `resolutionMs`: how far off `ms` may be (1000 for PVE's whole-second `starttime`/`endtime`). */
  observe(kind: string, ms: number, resolutionMs = 0): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const seen = this.#seen.get(kind) ?? [];
    seen.push({ ms, resolutionMs });
    if (seen.length > LearnedDurations.KEEP) seen.shift();
    this.#seen.set(kind, seen);
  }

  count(kind: string): number {
    return this.#seen.get(kind)?.length ?? 0;
  }

  /**
   * Median, and half the range plus the coarsest resolution seen (at least a tenth of the median and
   * 50 ms); or the fallback, or undefined.
   */
  expectation(kind: string): Expectation | undefined {
    const seen = this.#seen.get(kind);
    if (!seen?.length) return this.fallback(kind);
    const sorted = seen.map((s) => s.ms).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    const halfRange = (sorted[sorted.length - 1] - sorted[0]) / 2;
    const resolution = Math.max(...seen.map((s) => s.resolutionMs));
    return { expectedMs: median, spreadMs: Math.max(halfRange + resolution, median / 10, 50) };
  }
}

/**
 * A schedule for a kind of wait: dense around what was learned, the `unknown` schedule (or backoff) while nothing
 * is; what is learned while the wait runs (a history read in flight) takes over from then on.
 */
export function learnedSchedule(durations: LearnedDurations, kind: string, unknown: BackoffSchedule | PollSchedule, policy: ExpectingSchedule = DEFAULT_EXPECTING): PollSchedule {
  const fallback = typeof unknown === "function" ? unknown : backoff(unknown);
  let chosen: PollSchedule | undefined;
  return (probes, elapsedMs) => {
    if (!chosen) {
      const expectation = durations.expectation(kind);
      if (expectation) chosen = expecting(expectation, policy);
    }
    return (chosen ?? fallback)(probes, elapsedMs);
  };
}

/**
 * Probes of different things in one wait, each on its own clock (a sparse task check beside a dense
 * address probe): each is set due at a time, a probe runs those due, and the wait sleeps to the soonest.
 */
export class Dues<Name extends string> {
  readonly #at = new Map<Name, number>();
  /** How early a probe may run and still count as due: the sleep before it rounds to whole ms. */
  static readonly SLACK_MS = 5;

  /** `name` is next due at `at` (ms since the epoch); undefined: never again. */
  set(name: Name, at: number | undefined): void {
    if (at === undefined) this.#at.delete(name);
    else this.#at.set(name, at);
  }

  due(name: Name, now: number): boolean {
    const at = this.#at.get(name);
    return at !== undefined && at - now <= Dues.SLACK_MS;
  }

  /** The sleep to the soonest due probe, at least 1 ms; `idleMs` when none is due at all. */
  delay(now: number, idleMs: number): number {
    if (this.#at.size === 0) return idleMs;
    return Math.max(1, Math.min(...this.#at.values()) - now);
  }
}
