// Pure arithmetic over what a benchmark run observed: no clocks, no I/O, so it is unit-tested directly.

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Task durations as the sandbox runs them, in ms. */
export interface TaskTimes {
  createMs: number;
  startMs: number;
  /** How long after start the address shows up. */
  ipMs: number;
  pullMs: number;
}

/**
 * The sandbox's own time on one create's critical path: pull (only when it really pulls), create
 * task, start task, address delay. Nothing a provider does can make a create faster than this.
 */
export function criticalPathMs(times: TaskTimes, pulls: boolean): number {
  return (pulls ? times.pullMs : 0) + times.createMs + times.startMs + times.ipMs;
}

/** Values that occur more than once, each listed once, ascending. */
export function duplicates(values: readonly number[]): number[] {
  const seen = new Map<number, number>();
  for (const value of values) seen.set(value, (seen.get(value) ?? 0) + 1);
  return [...seen].filter(([, count]) => count > 1).map(([value]) => value).sort((a, b) => a - b);
}

/** Wall time of a parallel run over that of one create, rounded to 2 decimals. */
export function wallRatio(parallelMs: number, singleMs: number): number {
  return singleMs > 0 ? Math.round((parallelMs / singleMs) * 100) / 100 : NaN;
}

export interface LoggedRequest {
  method: string;
  path: string;
  template?: string;
  status: number;
}

/** `GET /nodes/{node}/tasks/{upid}/status`-style keys, counted, most frequent first. */
export function requestBreakdown(requests: readonly LoggedRequest[]): Array<{ request: string; count: number }> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const key = `${r.method} ${r.template ?? r.path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([request, count]) => ({ request, count })).sort((a, b) => b.count - a.count || a.request.localeCompare(b.request));
}

/** The path of a create call, `POST /nodes/{node}/lxc` or `.../lxc/{vmid}/clone`, relative to `/api2/json`. */
const CREATE_PATH = /^\/nodes\/[^/]+\/lxc(\/\d+\/clone)?$/;

/** Create calls (`POST /nodes/{node}/lxc` or `.../clone`) the server refused, e.g. `CT 104 already exists`. */
export function refusedCreates(requests: readonly LoggedRequest[]): number {
  return requests.filter((r) => r.method === "POST" && CREATE_PATH.test(r.path) && r.status !== 200).length;
}

/** Rounds to whole milliseconds, or to `digits` decimals. */
export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export interface TimedRequest extends LoggedRequest {
  /** When the server received it, ms since the epoch. */
  startMs: number;
  durationMs: number;
}

/** Where one create's time went, as the server saw its requests; NaN for a phase it did not see. */
export interface CreatePhases {
  /** First request to the create POST: reading the cluster, storages, the next vmid. */
  prepareMs: number;
  /** Create POST to start POST (or, with start=1, to the first request after the create task ended): the create task and noticing it finished. */
  createMs: number;
  /** Start POST to the first `/interfaces` read: the start task and noticing it finished. */
  startMs: number;
  /** First `/interfaces` read to the end of the last request: waiting for the address. */
  ipMs: number;
}

/**
 * Splits one template/clone create (the only create in `requests`) into phases at its milestone requests.
 * `createEndedMs`, when the sandbox's timeline gives it: with start=1 (no start POST) the create phase
 * ends at the first request after the create task ended, the probe that saw it.
 */
export function createPhases(requests: readonly TimedRequest[], createEndedMs?: number): CreatePhases {
  const at = (match: (r: TimedRequest) => boolean) => requests.find(match)?.startMs ?? NaN;
  const first = requests.length ? Math.min(...requests.map((r) => r.startMs)) : NaN;
  const end = requests.length ? Math.max(...requests.map((r) => r.startMs + r.durationMs)) : NaN;
  const createPost = at((r) => r.method === "POST" && CREATE_PATH.test(r.path) && r.status === 200);
  // A create with start=1 has no start POST: its milestone is the task-list read that finds the vzstart task.
  const firstInterfaces = at((r) => r.method === "GET" && /\/interfaces$/.test(r.path));
  // The last task-list read before the first address read (a history read may come earlier).
  const lookup = requests.filter((r) => r.method === "GET" && /^\/nodes\/[^/]+\/tasks$/.test(r.path) && !(r.startMs > firstInterfaces)).at(-1)?.startMs ?? NaN;
  const startPostAt = at((r) => r.method === "POST" && /\/status\/start$/.test(r.path) && r.status === 200);
  const seenEnded = createEndedMs === undefined ? NaN : at((r) => r.startMs >= createEndedMs);
  const startPost = !Number.isNaN(startPostAt) ? startPostAt : !Number.isNaN(seenEnded) ? seenEnded : lookup;
  // `/interfaces` may be probed before the start ended (it answers null then): the address phase begins at the first read after.
  const addressFrom = at((r) => r.method === "GET" && /\/interfaces$/.test(r.path) && !(r.startMs < startPost));
  return { prepareMs: createPost - first, createMs: startPost - createPost, startMs: addressFrom - startPost, ipMs: end - addressFrom };
}

/** Create POSTs per container (by the `hostname` parameter each one sends), highest first. */
export function createAttemptsByHostname(requests: ReadonlyArray<LoggedRequest & { params?: Record<string, unknown> }>): number[] {
  const counts = new Map<string, number>();
  for (const r of requests) {
    if (r.method !== "POST" || !/^\/nodes\/[^/]+\/lxc$/.test(r.path) || typeof r.params?.hostname !== "string") continue;
    counts.set(r.params.hostname, (counts.get(r.params.hostname) ?? 0) + 1);
  }
  return [...counts.values()].sort((a, b) => b - a);
}

/** A seeded PRNG (mulberry32): the same seed gives the same durations on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The durations of the run named `label` (`single-3`, `stacks-50`, ...) under `seed`: drawn from a stream of
 * their own, so a rerun with the same seed draws the same durations for every run, whichever runs it
 * skips or adds (Ansible missing, other --parallel sizes).
 */
export function drawFor(means: TaskTimes, seed: number, label: string): TaskTimes {
  let hash = 0x811c9dc5; // FNV-1a over the label
  for (const char of label) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return drawTimes(means, seededRandom((seed ^ hash) >>> 0));
}

/**
 * What the API saw of one create beyond the sandbox's own time: from the server receiving the create POST
 * to it answering the create's last request (its last address read), minus the actual critical path.
 * Local CPU contention delays these requests too, but not the engine-to-host hops around them.
 */
export function apiOverheadMs(requests: ReadonlyArray<TimedRequest & { params?: Record<string, unknown> }>, vmid: number, actualMs: number): number {
  const mine = requests.filter((r) => String(r.params?.vmid) === String(vmid) || r.path.split("/").includes(String(vmid)));
  const post = mine.find((r) => r.method === "POST" && CREATE_PATH.test(r.path) && r.status === 200);
  if (!post) return NaN;
  const end = Math.max(...mine.map((r) => r.startMs + r.durationMs));
  return end - post.startMs - actualMs;
}

/**
 * One create's overhead in parts, each from the sandbox's own record and the Create RPC's begin and return:
 * - `beforeCreateMs`: the RPC's begin to its create task's start (host wake-up, reads, the POST);
 * - `addressLagMs`: the address showing to the answer that reported it (the probe gap, at a random phase);
 * - `returnMs`: that answer to the RPC's return in the engine;
 * - `gapsMs`: what is left (between the tasks, and between the start and the address delay's own start).
 * NaN where the timeline lacks a piece.
 */
export interface OverheadSplit {
  beforeCreateMs: number;
  addressLagMs: number;
  returnMs: number;
  gapsMs: number;
  /** The gap between the last address probe before the address showed and the one that found it. */
  probeGapMs: number;
  /**
   * Where in that gap the address showed: from its showing to the server receiving the probe that found it. The
   * drawn durations put the address at a random moment, so this is a draw in [0, probeGapMs] (see
   * `meanPhaseOverheads`). NaN without a gap.
   */
  phaseMs: number;
}

export function overheadSplit(timeline: Timeline, requests: ReadonlyArray<TimedRequest & { params?: Record<string, unknown> }>, vmid: number, call: { begunAt: number; returnedAt: number }): OverheadSplit {
  const id = String(vmid);
  const create = timeline.tasks.filter((t) => (t.type === "vzcreate" || t.type === "vzclone") && t.id === id).at(-1);
  const lease = timeline.starts.filter((s) => s.vmid === vmid).at(-1);
  const mine = requests.filter((r) => String(r.params?.vmid) === id || r.path.split("/").includes(id));
  const lastAnswer = mine.length ? Math.max(...mine.map((r) => r.startMs + r.durationMs)) : NaN;
  const beforeCreateMs = create ? create.startedMs - call.begunAt : NaN;
  const addressLagMs = lease ? lastAnswer - lease.leasedMs : NaN;
  const returnMs = call.returnedAt - lastAnswer;
  const probes = mine.filter((r) => r.method === "GET" && /\/interfaces$/.test(r.path)).map((r) => r.startMs);
  const found = lease ? probes.filter((at) => at >= lease.leasedMs) : [];
  const before = lease ? probes.filter((at) => at < lease.leasedMs) : [];
  const probeGapMs = found.length && before.length ? Math.min(...found) - Math.max(...before) : NaN;
  const phaseMs = found.length && before.length ? Math.min(...found) - lease!.leasedMs : NaN;
  const overhead = call.returnedAt - call.begunAt - actualCriticalPathMs(timeline, vmid);
  return { beforeCreateMs, addressLagMs, returnMs, gapsMs: overhead - beforeCreateMs - addressLagMs - returnMs, probeGapMs, phaseMs };
}

/**
 * Overheads with each address's phase in its probe gap at its mean: less where the address happened to show
 * (`phaseMs`), plus half the gap. The provider's probe cadence is still charged in full, on average; what goes
 * is the draw. A lone median of n creates moves by about gap/(2√n) with that draw alone (14 ms at n = 30 and a
 * 150 ms gap), as much as the 50 stacks' excess it is compared with. A create without a gap is left as it is.
 * `gapWaitMs`: per create, the host's wait for a CPU that stretched its gap (`lateProbeWaitMs` with `anyPhase`),
 * out of the gap before it is halved.
 */
export function meanPhaseOverheads(overheadMs: readonly number[], split: readonly OverheadSplit[], gapWaitMs: readonly number[] = []): number[] {
  return overheadMs.map((ms, i) => {
    const s = split[i];
    return s && Number.isFinite(s.phaseMs) && Number.isFinite(s.probeGapMs) ? ms - s.phaseMs + (s.probeGapMs - (gapWaitMs[i] ?? 0)) / 2 : ms;
  });
}

/**
 * The median of overheads with each address's phase in its probe gap integrated over rather than drawn: each
 * create counts as spread evenly over [its overhead less its phase, that plus its gap] (the gap less
 * `gapWaitMs`, as in `meanPhaseOverheads`), every place the address could have fallen; the median of that mixture.
 * The address delay is drawn continuous over a range many gaps wide, so the phase is even over the gap and
 * apart from everything else in the overhead: this is the same median, less the draw's noise. Unlike putting
 * each phase at its mean it keeps the spread the phase adds, so a skewed rest still lifts the median as the
 * drawn phases would on average. A create without a gap counts where it is; with none, this is `median`.
 */
export function phaseIntegratedMedian(overheadMs: readonly number[], split: readonly OverheadSplit[], gapWaitMs: readonly number[] = []): number {
  const pieces = overheadMs.map((ms, i) => {
    const s = split[i];
    return s && Number.isFinite(s.phaseMs) && Number.isFinite(s.probeGapMs) ? { from: ms - s.phaseMs, width: Math.max(0, s.probeGapMs - (gapWaitMs[i] ?? 0)) } : { from: ms, width: 0 };
  });
  if (!pieces.length) return NaN;
  // The share of the mixture at or below m (`strict`: strictly below, for the point masses).
  const share = (m: number, strict: boolean) =>
    pieces.reduce((sum, p) => sum + (p.width > 0 ? Math.min(1, Math.max(0, (m - p.from) / p.width)) : (strict ? m > p.from : m >= p.from) ? 1 : 0), 0) / pieces.length;
  // The lowest m with half at or below it, and the highest with half at or above it: their midpoint, as `median`
  // takes the middle two's when the half falls between two point masses.
  const search = (half: (m: number) => boolean) => {
    let [lo, hi] = [Math.min(...pieces.map((p) => p.from)) - 1, Math.max(...pieces.map((p) => p.from + p.width)) + 1];
    for (let k = 0; k < 64; k++) {
      const mid = (lo + hi) / 2;
      if (half(mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  };
  const low = search((m) => share(m, false) >= 0.5);
  const high = search((m) => share(m, true) > 0.5);
  return (low + high) / 2;
}

/**
 * Where the addresses fell in their probe gaps, as a share of each gap (0: the address showed just as the probe
 * that found it arrived, 1: just after the one before it): the mean over the creates with a gap, to 2 decimals.
 * Integrating the phase over its gap (`phaseIntegratedMedian`) holds it even, a mean of 0.5; the bench prints this
 * beside it so a run shows whether its own phases were. NaN without a gap.
 */
export function phaseShare(split: readonly OverheadSplit[]): number {
  const shares = gapShares(split);
  return shares.length ? round(mean(shares), 2) : NaN;
}

/**
 * How far the mean share (`phaseShare`) is from the even 0.5, in standard errors of a mean of that many shares
 * drawn evenly (each has standard deviation √(1/12)), to 1 decimal: beyond about ±2, the phases of this run do
 * not look even, and integrating them over their gaps (`phaseIntegratedMedian`) should not be trusted. NaN without a gap.
 */
export function phaseShareZ(split: readonly OverheadSplit[]): number {
  const shares = gapShares(split);
  // `|| 0`: a mean a hair under 0.5 rounds to -0, which JSON prints as 0 but deepEqual tells apart.
  return shares.length ? round((mean(shares) - 0.5) * Math.sqrt(12 * shares.length), 1) || 0 : NaN;
}

const gapShares = (split: readonly OverheadSplit[]) =>
  split.filter((s) => Number.isFinite(s.phaseMs) && Number.isFinite(s.probeGapMs) && s.probeGapMs > 0).map((s) => s.phaseMs / s.probeGapMs);
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** How far a drawn duration may stray from its mean: uniform in [mean x (1 - SPREAD), mean x (1 + SPREAD)]. */
export const DURATION_SPREAD = 0.25;

/** One run's task durations, drawn around the means (whole ms), so no poll schedule can be tuned to round numbers. */
export function drawTimes(means: TaskTimes, random: () => number): TaskTimes {
  const draw = (mean: number) => Math.round(mean * (1 - DURATION_SPREAD + 2 * DURATION_SPREAD * random()));
  return { createMs: draw(means.createMs), startMs: draw(means.startMs), ipMs: draw(means.ipMs), pullMs: draw(means.pullMs) };
}

/** What the sandbox recorded (see `Sandbox.timeline`): tasks with their real start and end, starts with their address time. */
export interface Timeline {
  tasks: ReadonlyArray<{ type: string; id: string; startedMs: number; endedMs?: number }>;
  starts: ReadonlyArray<{ vmid: number; startedMs: number; leasedMs: number }>;
}

/**
 * The time the sandbox really spent on one container's create-to-address path: its (last) create task,
 * its start task and the delay until its address showed, as they happened. NaN when one is missing.
 */
export function actualCriticalPathMs(timeline: Timeline, vmid: number, pulls = 0): number {
  const last = <T>(items: readonly T[]) => items[items.length - 1];
  const id = String(vmid);
  const create = last(timeline.tasks.filter((t) => (t.type === "vzcreate" || t.type === "vzclone") && t.id === id && t.endedMs !== undefined));
  const start = last(timeline.tasks.filter((t) => t.type === "vzstart" && t.id === id && t.endedMs !== undefined));
  const lease = last(timeline.starts.filter((s) => s.vmid === vmid));
  if (!create || !start || !lease) return NaN;
  return pulls + (create.endedMs! - create.startedMs) + (start.endedMs! - start.startedMs) + (lease.leasedMs - lease.startedMs);
}

/** Where one container's (last) create task started and its address showed, as the sandbox recorded them. */
export function chainBounds(timeline: Timeline, vmid: number): { createStartedAt?: number; addressAt?: number } {
  const create = timeline.tasks.filter((t) => (t.type === "vzcreate" || t.type === "vzclone") && t.id === String(vmid)).at(-1);
  const lease = timeline.starts.filter((s) => s.vmid === vmid).at(-1);
  return { createStartedAt: create?.startedMs, addressAt: lease?.leasedMs };
}

/** Median, min and max, rounded to whole ms. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return { median: NaN, min: NaN, max: NaN };
  return { median: round(median(finite)), min: round(Math.min(...finite)), max: round(Math.max(...finite)) };
}

/** One line of what a provider host recorded (`bench/host-probe.js`). */
export interface HostEvent {
  /**
   * A request sent, its answer read; a request's bytes, body and all, handed to the socket ("written": on the
   * wire, where "sent" is read just before undici writes anything); a new connection begun and its handshakes
   * done or failed ("connect", "connected"; method CONNECT); the Create handler entered ("begun"), its answer
   * handed back ("done").
   */
  kind: "sent" | "written" | "answered" | "connect" | "connected" | "begun" | "done";
  /** ms since the epoch, the host's clock (the machine's). */
  at: number;
  method: string;
  path: string;
  /** Its main thread's run-queue wait so far, ms, read by that thread itself (exact); null off Linux. */
  waitMs: number | null;
  /** Its main thread's time on a CPU so far, ms, read the same way; null off Linux (absent in older lines). */
  cpuMs?: number | null;
  /** How many times its main thread has been put on a CPU so far (schedstat's third field); null off Linux (absent in older lines). */
  slices?: number | null;
}

/** A thread's run-queue wait so far, ms, read by that thread itself at `at` (ms since the epoch): exact then. */
export interface WaitSample {
  at: number;
  waitMs: number;
  /** The thread's time on a CPU so far, and times put on one, read with it: where known, they place a wait (see `lateProbeWaitMs`). */
  cpuMs?: number | null;
  slices?: number | null;
}

/**
 * The run-queue wait of one thread within the union of `intervals`, from its own readings `samples` (ascending
 * by `at`). A thread takes a reading only while it runs, so no wait is under way at a reading: for each merged
 * stretch [from, to], the waits counted between the last reading at or before `from` (p) and the last at or
 * before `to` began after p and ended by `to`. Less the time from p to `from` (the part of a wait before the
 * stretch, at most), and never more than the stretch: a lower bound that is exact when readings are dense. A
 * wait still under way at `to` is left out. NaN when a stretch has no reading at or before its `from`.
 */
export function threadWaitWithin(samples: readonly WaitSample[], intervals: ReadonlyArray<readonly [number, number]>): number {
  const lastAtOrBefore = (t: number) => {
    let [lo, hi] = [0, samples.length - 1];
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (samples[mid].at <= t) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : samples[found];
  };
  const merged: Array<[number, number]> = [];
  for (const [from, to] of [...intervals].filter(([from, to]) => to > from).sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  let total = 0;
  for (const [from, to] of merged) {
    const [p, q] = [lastAtOrBefore(from), lastAtOrBefore(to)];
    if (!p || !q) return NaN;
    total += Math.min(Math.max(q.waitMs - p.waitMs - (from - p.at), 0), to - from);
  }
  return total;
}

/** Local CPU contention on one create's critical path, ms (see `criticalContention`). */
export interface CriticalContention {
  /**
   * The host's wait: the Create call's begin to its last create POST on the wire (handed to the socket,
   * "written"; where not recorded, as undici began to send it).
   */
  beforeCreateMs: number;
  /** The host's wait: the host sending its last request to it answering the Create call. */
  lastAnswerMs: number;
  /** The host's, both stretches. */
  totalMs: number;
  /**
   * The host handing its answer back to the engine seeing the call return: the engine's side, which here shares
   * one thread with the sandbox and every other stack's engine. NaN unknown.
   */
  engineMs: number;
  /**
   * The engine's leg of the call: its begin to the host entering the Create handler (the engine's send, gRPC,
   * the host's wake-up). NaN unknown.
   */
  engineBeginMs: number;
  /** The wait taken on each engine leg: the larger of the two threads' over the begin leg, the engine's over the return. */
  takenEngineBeginMs: number;
  takenEngineReturnMs: number;
  /**
   * The engine+sandbox thread's wait while this create waited on it: before its create task, over the engine's
   * leg of the call and each request the host sent; at the end, over the last request from the address showing,
   * and the engine's side of the return. Its CPU time (answering every stack) stays in the overhead.
   */
  benchBeforeCreateMs: number;
  benchLastAnswerMs: number;
  benchTotalMs: number;
  /** What the figure net of contention takes out of each stretch, and in all (see `criticalContention`). */
  takenBeforeCreateMs: number;
  takenLastAnswerMs: number;
  takenMs: number;
  /**
   * The host's main thread's time on a CPU over each stretch, from its own readings: the handler's start to its
   * create POST on the wire, its last request to its answer to the call. The same steps for every create (see
   * `cpuExcessMs`).
   */
  hostCpuBeforeCreateMs: number;
  hostCpuLastAnswerMs: number;
  /** Each stretch's length, what anything taken out of it is held to: the call's begin to the create task's start; the last request (or the address showing) to the call's return. */
  beforeCreateSpanMs: number;
  lastAnswerSpanMs: number;
  /**
   * The address probe that found the address and the probe before it, as the host sent them (its clock), the
   * host's own wait readings from the one to the other, and where the address showed (the sandbox's record):
   * what `lateProbeWaitMs` reads. `waits` runs from the one's sending to the other's, in the order read.
   * Undefined when the last request was not an address probe, or had none before it.
   */
  probe?: { previousAt: number; sentAt: number; addressAt: number; waits: WaitSample[] };
}

/** The engines' thread's readings and the sandbox's, each read by that thread itself. */
export interface ThreadWaits {
  engine: readonly WaitSample[];
  sandbox: readonly WaitSample[];
}

const isThreadWaits = (samples: readonly WaitSample[] | ThreadWaits): samples is ThreadWaits => !Array.isArray(samples);

/**
 * The run-queue wait on the two stretches of a create where nothing else goes on but this create's own chain:
 * - the Create call's begin to its create task's start (the host's wake-up, its reads, the POST);
 * - the host sending its last request (the probe that found the address; from the address showing, if later)
 *   to the engine seeing the call return.
 * Three threads carry that chain: the provider host's main thread, this process's main thread (the engines: in
 * life, the stack's own runner) and the sandbox's (in life, the Proxmox node). Given one series of `samples`,
 * the engines and the sandbox share one thread, as they did before the sandbox had its own.
 * - The host's wait: the host reads its own wait at each of its events, which is exact: a wait is counted when
 *   it ends, and a running thread has none in progress. Only the reading at the call's begin is taken from
 *   outside, where a wait may be in progress; the wake-up's wait is therefore taken as at most the time from
 *   the call's begin to the handler's start. Its wait runs to the create POST on the wire ("written"), not to
 *   undici's "sent": between the two the request is still the host's to write.
 * - The engines' and the sandbox's threads' waits, from their own readings (`samples`; see `threadWaitWithin`),
 *   only while the chain was with them: the engines' over the engine's leg of the call and its side of the
 *   return; the sandbox's over each request from its sending to its answer (the POST's from its being on the wire
 *   to the create task's start) and each new connection's handshakes before the POST. The sandbox answers every
 *   stack at once: its wait at other times held others back.
 * While a request is out, both threads may wait at once (the answer sits unread while the host waits), so only
 * the larger of the two waits is taken there; elsewhere each stretch has one thread's. Each stretch's take is
 * held to the stretch's length (its part of the overhead), given `bounds` (the sandbox's record). Waits elsewhere
 * (a poll sent late) are not taken here: they may or may not have moved the end. The probe that found the address
 * is recorded with the one before it (`probe`), for `lateProbeWaitMs` to take its lateness where it did. NaN where
 * a record is missing.
 */
export function criticalContention(
  call: { begunAt: number; returnedAt: number; waitAtBeginMs: number },
  events: readonly HostEvent[],
  samples: readonly WaitSample[] | ThreadWaits = [],
  bounds: { createStartedAt?: number; addressAt?: number } = {},
): CriticalContention {
  const threads: ThreadWaits = isThreadWaits(samples) ? samples : { engine: samples, sandbox: samples };
  const mine = events.filter((e) => e.at >= call.begunAt && e.at <= call.returnedAt && e.waitMs !== null);
  const begun = mine.find((e) => e.kind === "begun");
  const done = mine.filter((e) => e.kind === "done").at(-1);
  const post = mine.filter((e) => e.kind === "sent" && e.method === "POST" && CREATE_PATH.test(e.path.replace(/^\/api2\/json/, "").split("?")[0])).at(-1);
  // The POST on the wire: a host put off a CPU between undici's "sent" (read before any byte is written) and the
  // write, as 50 hosts on 2 cores often are, holds the request back itself; the node has nothing to read yet.
  const onWire = post && (mine.find((e) => e.kind === "written" && e.method === post.method && e.path === post.path && e.at >= post.at) ?? post);
  const last = mine.filter((e) => e.kind === "sent").at(-1);
  const answerTo = (sent: HostEvent) => mine.find((e) => e.kind === (sent.kind === "connect" ? "connected" : "answered") && e.at >= sent.at && e.method === sent.method && e.path === sent.path);
  const hostWait = (from: HostEvent, to: HostEvent) => to.waitMs! - from.waitMs!;
  // The engines' thread over the call's legs, the sandbox's while a request is out.
  const engineWait = (from: number, to: number) => threadWaitWithin(threads.engine, [[from, to]]);
  const sandboxWait = (from: number, to: number) => threadWaitWithin(threads.sandbox, [[from, to]]);
  const wake = (to: HostEvent) => Math.min(Math.max(to.waitMs! - call.waitAtBeginMs, 0), to.at - call.begunAt);
  const handler = begun && post && begun.at <= post.at ? begun : undefined;
  const beforeCreateMs = !onWire ? NaN : handler ? wake(handler) + hostWait(handler, onWire) : wake(onWire);
  const end = done ?? (last && answerTo(last));
  const lastAnswerMs = last && end ? hostWait(last, end) : NaN;
  const engineMs = done ? call.returnedAt - done.at : NaN;
  const engineBeginMs = handler ? handler.at - call.begunAt : NaN;
  let takenEngineBeginMs = NaN;
  const takenEngineReturnMs = done ? Math.min(engineWait(done.at, call.returnedAt), engineMs) : NaN;

  // Before the create task: the call's leg, then the requests before the POST (overlapping ones merged), the POST.
  let benchBeforeCreateMs = NaN;
  let takenBeforeCreateMs = NaN;
  let beforeCreateSpanMs = NaN;
  const hostCpu = (from: HostEvent | undefined, to: HostEvent | undefined) => (from && to && typeof from.cpuMs === "number" && typeof to.cpuMs === "number" ? to.cpuMs - from.cpuMs : NaN);
  const hostCpuBeforeCreateMs = hostCpu(handler, onWire);
  if (post && onWire && handler) {
    const postAnswer = answerTo(post);
    const taskAt = Math.min(bounds.createStartedAt ?? Infinity, postAnswer?.at ?? Infinity);
    const groups: Array<{ sent: HostEvent; answered: HostEvent }> = [];
    for (const sent of mine.filter((e) => (e.kind === "sent" || e.kind === "connect") && e.at >= handler.at && e.at < post.at)) {
      const answered = answerTo(sent);
      if (!answered || answered.at > post.at) continue;
      const group = groups.at(-1);
      if (group && sent.at <= group.answered.at) {
        if (answered.at > group.answered.at) group.answered = answered;
      } else {
        groups.push({ sent, answered });
      }
    }
    const leg = { host: wake(handler), bench: engineWait(call.begunAt, handler.at) };
    takenEngineBeginMs = Math.min(Math.max(leg.host, leg.bench), engineBeginMs);
    const reads = groups.map((g) => ({ host: hostWait(g.sent, g.answered), bench: sandboxWait(g.sent.at, g.answered.at) }));
    const postBench = Number.isFinite(taskAt) ? sandboxWait(onWire.at, taskAt) : NaN;
    const hostElsewhere = beforeCreateMs - leg.host - reads.reduce((sum, r) => sum + r.host, 0);
    benchBeforeCreateMs = leg.bench + reads.reduce((sum, r) => sum + r.bench, 0) + postBench;
    beforeCreateSpanMs = taskAt - call.begunAt;
    takenBeforeCreateMs = Math.min(
      Math.max(leg.host, leg.bench) + hostElsewhere + reads.reduce((sum, r) => sum + Math.max(r.host, r.bench), 0) + postBench,
      beforeCreateSpanMs,
    );
  }
  // After the address showed: the last request, the host's answer, the engine's side of the return.
  let benchLastAnswerMs = NaN;
  let takenLastAnswerMs = NaN;
  let lastAnswerSpanMs = NaN;
  const lastAnswered = last && answerTo(last);
  if (last && lastAnswered && done) {
    const from = Math.max(last.at, bounds.addressAt ?? -Infinity);
    const probe = { host: hostWait(last, lastAnswered), bench: sandboxWait(from, lastAnswered.at) };
    const engine = engineWait(done.at, call.returnedAt);
    benchLastAnswerMs = probe.bench + engine;
    lastAnswerSpanMs = call.returnedAt - from;
    takenLastAnswerMs = Math.min(Math.max(probe.host, probe.bench) + hostWait(lastAnswered, done) + engine, lastAnswerSpanMs);
  }
  // The probe that found the address, the one before it, and the host's readings between: see `lateProbeWaitMs`.
  const isProbe = (e: HostEvent) => e.kind === "sent" && e.method === "GET" && ADDRESS_PROBE_PATH.test(e.path.split("?")[0]);
  const previous = last && isProbe(last) ? mine.filter((e) => isProbe(e) && e.at < last.at).at(-1) : undefined;
  const probe = last && previous && bounds.addressAt !== undefined
    ? { previousAt: previous.at, sentAt: last.at, addressAt: bounds.addressAt, waits: mine.slice(mine.indexOf(previous), mine.indexOf(last) + 1).map((e) => ({ at: e.at, waitMs: e.waitMs!, cpuMs: e.cpuMs, slices: e.slices })) }
    : undefined;
  return {
    beforeCreateMs, lastAnswerMs, totalMs: beforeCreateMs + lastAnswerMs, engineMs, engineBeginMs, takenEngineBeginMs, takenEngineReturnMs,
    benchBeforeCreateMs, benchLastAnswerMs, benchTotalMs: benchBeforeCreateMs + benchLastAnswerMs,
    takenBeforeCreateMs, takenLastAnswerMs, takenMs: takenBeforeCreateMs + takenLastAnswerMs,
    hostCpuBeforeCreateMs, hostCpuLastAnswerMs: hostCpu(last, done), beforeCreateSpanMs, lastAnswerSpanMs, probe,
  };
}

const ADDRESS_PROBE_PATH = /\/lxc\/\d+\/interfaces$/;

/**
 * A lone host's address-probe cadence: the median, over the lone creates, of the time from the probe before the
 * address showed to the one that found it, as the host sent them. What a probe is due after the one before it.
 */
export function probeCadenceMs(contention: readonly CriticalContention[]): number {
  return median(contention.flatMap((c) => (c.probe ? [c.probe.sentAt - c.probe.previousAt] : [])));
}

/**
 * The probe that found the address, sent late because its host waited for a CPU: its host's run-queue wait from
 * when it was due (`cadenceMs` after the probe before it, a lone host's cadence) to its sending, read by the host
 * itself, never more than that lateness. Taken only when the address had shown by the time the probe was due, so
 * that the probe sent on time would have found it: the end moved by that wait. When the address showed later, a
 * probe sent on time would have missed it and the next come a whole cadence later; the lateness did not delay the
 * end, and nothing is taken. Waits elsewhere in the probe train (each probe is paced from the last one's sending,
 * so a late one shifts the rest) are left in. With `anyPhase`, the same wait wherever the address showed: what a
 * probe gap held of waits, for the gap with its phase at its mean (`meanPhaseOverheads`). 0 without a record.
 *
 * Where the wait lay: the host's readings are sparse between probes (it sleeps until the next is due), so a wait
 * since the last reading might have come before the due time (`threadWaitWithin`, a lower bound, counts none of it
 * then). But when the thread was put on a CPU only once between its last reading and the probe's sending
 * (`slices`), it neither was preempted after that reading nor woke before: its whole wait since then came just
 * before that one run, which ended at the sending and used at most the CPU time read between the two. So the
 * wait lay within the `wait + CPU time` before the sending, and at least what of it falls after the due time is
 * taken. Either way a lower bound: the larger of the two is taken.
 */
export function lateProbeWaitMs(c: CriticalContention, cadenceMs: number, anyPhase = false): number {
  const p = c.probe;
  if (!p || !Number.isFinite(cadenceMs)) return 0;
  const due = p.previousAt + cadenceMs;
  if (due >= p.sentAt || (!anyPhase && !(p.addressAt <= due))) return 0;
  const bounded = threadWaitWithin(p.waits, [[due, p.sentAt]]);
  const [before, sent] = p.waits.slice(-2);
  let woken = NaN;
  if (before && sent && before.at <= due && typeof before.slices === "number" && typeof sent.slices === "number" && sent.slices - before.slices === 1
    && typeof before.cpuMs === "number" && typeof sent.cpuMs === "number") {
    const wait = sent.waitMs - before.waitMs;
    woken = Math.min(wait, Math.max(0, sent.at - (sent.cpuMs - before.cpuMs) - due));
  }
  const taken = Math.max(Number.isFinite(bounded) ? bounded : 0, Number.isFinite(woken) ? woken : 0);
  return Math.min(taken, p.sentAt - due);
}

/** A lone host's CPU time on each stretch, the median over the lone creates: what the steps cost it with the CPUs to itself. */
export interface LoneCpu {
  beforeCreateMs: number;
  lastAnswerMs: number;
}

export function loneCpu(contention: readonly CriticalContention[]): LoneCpu {
  const of = (values: number[]) => median(values.filter(Number.isFinite));
  return { beforeCreateMs: of(contention.map((c) => c.hostCpuBeforeCreateMs)), lastAnswerMs: of(contention.map((c) => c.hostCpuLastAnswerMs)) };
}

/**
 * Local CPU contention that is not a wait: the host's CPU time on a create's two stretches beyond a lone host's
 * for the same steps (the same code sending the same requests), what sharing 2 cores with 49 other processes
 * cost it (caches and TLBs cold after each switch). Neither Proxmox's time nor the provider's own: taken out
 * with the wait. Each stretch's excess is held so that it and the wait taken there never pass the stretch's
 * length; none when the host's CPU time or the lone reference is unknown. The engine+sandbox thread's CPU
 * time stays in: answering every stack at once is the node's load, not this machine's.
 */
export function cpuExcessMs(c: CriticalContention, lone: LoneCpu): number {
  const [before, last] = cpuExcessByStretch(c, lone);
  return before + last;
}

/** What is beyond `reference`, held to what is left of the stretch (`span` less what was `taken` there); 0 where unknown. */
const excessWithin = (used: number, reference: number, taken: number, span: number) => {
  const over = used - reference;
  if (!Number.isFinite(over) || over <= 0) return 0;
  const room = Number.isFinite(span) ? span - (Number.isFinite(taken) ? taken : 0) : 0;
  return Math.max(0, Math.min(over, room));
};

function cpuExcessByStretch(c: CriticalContention, lone: LoneCpu): [number, number] {
  return [
    excessWithin(c.hostCpuBeforeCreateMs, lone.beforeCreateMs, c.takenBeforeCreateMs, c.beforeCreateSpanMs),
    excessWithin(c.hostCpuLastAnswerMs, lone.lastAnswerMs, c.takenLastAnswerMs, c.lastAnswerSpanMs),
  ];
}

/** The engine's two legs of a call, their waits taken out: one create's, or a median over creates. */
export interface EngineLegs {
  beginMs: number;
  returnMs: number;
}
/** A lone stack's engine legs, the median over the lone creates: the reference of every stack's excess. */
export type LoneEngine = EngineLegs;

const freeLegs = (c: CriticalContention): EngineLegs => ({ beginMs: c.engineBeginMs - c.takenEngineBeginMs, returnMs: c.engineMs - c.takenEngineReturnMs });

/** Each engine leg's median over `contention`, its wait taken out; creates without a record left aside. */
export function engineLegs(contention: readonly CriticalContention[]): EngineLegs {
  const legs = contention.map(freeLegs);
  const of = (values: number[]) => median(values.filter(Number.isFinite));
  return { beginMs: of(legs.map((l) => l.beginMs)), returnMs: of(legs.map((l) => l.returnMs)) };
}

/**
 * The engine's legs of the call beyond a lone stack's, their waits taken out: the engine sending the call to the
 * host entering its handler, and the host handing its answer back to the engine seeing the call return. No request
 * to the API is out over either, and the host has not begun, or has answered: what is in them is the engine's work
 * and gRPC's. Here every stack's engine shares one thread with the sandbox, busy with the other 49 stacks; in life
 * each stack's engine is on its own runner. So what a leg takes beyond a lone stack's is this machine's, like the
 * host's CPU time beyond a lone host's, and is taken out with it. Each is held to what is left of its stretch after
 * the wait and the host's CPU excess there; none where a record is missing.
 */
export function engineExcessMs(c: CriticalContention, cpu: LoneCpu, lone: LoneEngine): number {
  const [cpuBefore, cpuLast] = cpuExcessByStretch(c, cpu);
  const taken = (wait: number, excess: number) => (Number.isFinite(wait) ? wait : 0) + excess;
  const legs = freeLegs(c);
  return excessWithin(legs.beginMs, lone.beginMs, taken(c.takenBeforeCreateMs, cpuBefore), c.beforeCreateSpanMs)
    + excessWithin(legs.returnMs, lone.returnMs, taken(c.takenLastAnswerMs, cpuLast), c.lastAnswerSpanMs);
}
