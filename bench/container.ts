// LaunchpadContainer on the sandbox with a real cluster's task durations: what the provider adds on
// top of Proxmox's own time, how many requests it makes, and how it behaves under parallel creates.
// Every create goes through the real dynamic-provider host (TestEngine), as `pulumi up` runs it.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { monitorEventLoopDelay, performance } from "perf_hooks";
import type { RequestLogEntry, SchemaViolation } from "../sandbox";
import { sandboxTimings, startSandboxThread, type ThreadSandbox } from "./sandbox-thread";
import { DEFAULT_TEMPLATE } from "../sandbox/server/cluster";
import { LaunchpadContainer } from "../src/container";
import { EngineError, TestEngine, proxmoxConfig } from "../devstack/engine";
import { ansibleCreateStart, ansibleSkipReason } from "./ansible";
import { CreateGate } from "./gate";
import { DynamicProviderHost } from "../devstack/host";
import {
  actualCriticalPathMs, apiOverheadMs, chainBounds, criticalContention, type CriticalContention, type HostEvent, overheadSplit, type OverheadSplit, createAttemptsByHostname, createPhases, criticalPathMs, drawFor, duplicates, median, refusedCreates, requestBreakdown, round,
  spread, wallRatio, type CreatePhases, type TaskTimes, type WaitSample,
} from "./stats";

export interface ContainerBenchOptions {
  /** Mean task durations; each create draws its own around them from `seed`. */
  times: TaskTimes;
  seed: number;
  /** A checkout of an older build (its `dist/` built, its node_modules linked): single creates alternate between it and this one. */
  baselineRoot?: string;
  /** Single runs that also create+start one container with Ansible (alternating with ours); 0 for none. */
  ansibleRuns: number;
  /** Single creates to take the median of. */
  runs: number;
  /** Sizes of the parallel runs (N resources in one program, one host). */
  parallel: number[];
  /** Sizes to run also as N separate stacks (N engines and hosts at once, like N CI jobs). */
  stacks: number[];
  /** How many times each separate-stacks size runs, each on a fresh sandbox with its own draws. */
  stackRuns: number;
  nodes: string[];
  image: boolean;
  log: (line: string) => void;
}

export interface SingleCreateFigures {
  /** Median of the drawn critical paths (create + start + address). */
  criticalPathMs: number;
  /** Per run: Create RPC minus what the sandbox really spent on that container (its tasks and address delay). */
  overheadMs: number[];
  /** Per run: the API's view, create POST received to last answer, minus the same actual time (see `apiOverheadMs`). */
  apiOverheadMs: number[];
  /** Per run: run-queue wait of the provider host during its Create call (local CPU contention). */
  hostWaitMs: number[];
  /** Per run: the part of that wait on the create's critical path (see `criticalContention`). */
  contention: CriticalContention[];
  /** Per run: the overhead with that part taken out, what the create costs with the CPU to itself. */
  freeOverheadMs: number[];
  /** Per run, the overhead in parts (see `overheadSplit`). */
  split: OverheadSplit[];
  /** Per run, the durations drawn for it. */
  drawn: TaskTimes[];
  /** The Create RPC through the host, per run. */
  createRpcMs: number[];
  /** `engine.up` per run: host start, configure, program, check, create. */
  upWallMs: number[];
  requests: number[];
  breakdown: Array<{ request: string; count: number }>;
  /** Per run, where the create's time went (server's view). */
  phases: CreatePhases[];
  /** Per run, CPU time of the provider host process (its start-up included). */
  hostCpuMs: number[];
  /**
   * Per run, what its figures were read from, for `--report` (never in the JSON line): the Create RPC's begin and
   * return, every request the sandbox read (when, how long it took, its status), the container's tasks and when
   * its address showed, all on this machine's clock: to see which probe found each address, and where it fell.
   */
  trace: LoneTrace[];
}

export interface LoneTrace {
  vmid: number;
  begunAt: number;
  returnedAt: number;
  requests: Array<{ method: string; path: string; status: number; at: number; durationMs: number }>;
  tasks: Array<{ type: string; startedMs: number; endedMs?: number }>;
  started?: { startedMs: number; leasedMs: number };
}

export interface ParallelFigures {
  n: number;
  /** Per create: its own Create RPC minus its container's real critical path. */
  overheadMs: number[];
  /** Per create: the API's view, its create POST received to its last answer, minus the actual time. */
  apiOverheadMs: number[];
  /**
   * Local CPU contention, apart: per create, the run-queue wait of its provider host during the call; and of
   * this process (engine + sandbox) over the call. Not subtracted from anything: the waits overlap each
   * other and the sleeps between polls, so overhead minus them is no figure.
   */
  hostWaitMs: number[];
  benchWaitMs: number[];
  /** Per create: the host's run-queue wait on its critical path, exact (see `criticalContention`). */
  contention: CriticalContention[];
  /** Per create: its overhead with that wait taken out. */
  freeOverheadMs: number[];
  /** Per create, its overhead in parts (see `overheadSplit`). */
  split: OverheadSplit[];
  /** `fixed vmids`: one program with a `vmid` per resource, the control run without allocation races. */
  mode: "one program" | "separate stacks" | "fixed vmids";
  /** Which run of this size and mode (1-based; separate stacks repeat, see `stackRuns`). */
  run: number;
  wallMs: number;
  ratio: number;
  /** Separate stacks: from the start to every host at its create call (the creates are let go together then). */
  hostsUpMs?: number;
  failures: number;
  failureMessages: string[];
  containers: number;
  tracked: number;
  duplicateVmids: number[];
  refusedCreates: number;
  createAttempts: number;
  /** Create POSTs of the unluckiest container (the vmid race policy gives up after 25). */
  maxCreateAttempts: number;
  requests: number;
  createRpcMedianMs: number;
  createRpcMaxMs: number;
  /** How long the sandbox took to answer, p50 / p95 (it shares this process with the engine). */
  serverMsP50: number;
  serverMsP95: number;
  /** CPU time of this process (engine + sandbox) and of the provider host processes, during the run. */
  benchCpuMs: number;
  hostCpuMs: number;
  /** This process's event-loop delay, p99: high means the engine and sandbox were starved of CPU. */
  eventLoopDelayP99Ms: number;
  nodes: Record<string, number>;
  /**
   * Separate stacks: what the figures above were read from, for `--report` (never in the JSON line): each create's
   * call and its host's probe lines, the sandbox's log of every request (when it read it, how long it took) and its
   * thread's own readings (run-queue wait, time on a CPU, times put on one), all on this machine's clock.
   */
  trace?: {
    creates: Array<{ urn: string; vmid: number; begunAt: number; returnedAt: number; events: HostEvent[] }>;
    requests: Array<{ method: string; path: string; vmid?: unknown; status: number; at: number; durationMs: number }>;
    sandboxReadings: WaitSample[];
  };
}

export interface ImageFigures {
  criticalPathMs: number;
  first: { createRpcMs: number; requests: number; pulls: number; node: string };
  second: { createRpcMs: number; requests: number; pulls: number; node: string };
  /** Second create pinned to the first one's node, so only reuse (not per-node storage) is measured. */
  samenode: { createRpcMs: number; requests: number; pulls: number; node: string };
}

export interface ContainerBenchReport {
  single: SingleCreateFigures;
  /** The same single creates by the baseline build, alternating with ours (when `baselineRoot` is given). */
  baseline?: SingleCreateFigures;
  createOverheadMs: number;
  noop: { requests: number; operations: string[]; hostCalls: Record<string, number> };
  deleteRequests: number;
  parallel: ParallelFigures[];
  /** Ansible's `community.general.proxmox` create+start on the same sandbox, alternating with ours; `skipped` says why not. */
  ansible?: { overheadMs?: number; ratio?: number; runs?: number[]; skipped?: string };
  image?: ImageFigures;
  /** Requests the official schema rejected, over every sandbox of the run (should be 0), and the first few. */
  schemaViolations: number;
  schemaViolationSamples: string[];
}

const PROJECT = "launchpad-bench";

/**
 * CPU time of this process's children (the provider hosts), sampled from /proc while they live:
 * a host's time is gone from /proc once it exits. Linux only; NaN elsewhere.
 */
function childCpu(): { stop(): number } {
  if (!fs.existsSync("/proc/self/stat")) return { stop: () => NaN };
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  const last = new Map<number, number>();
  // The main thread's children (the hosts are spawned from it), not every process: this runs on the thread
  // that answers as the sandbox, and a scan of all /proc every 200 ms held it a few ms each time.
  const childrenFile = `/proc/${process.pid}/task/${process.pid}/children`;
  const candidates = () => {
    try {
      return fs.readFileSync(childrenFile, "utf8").split(/\s+/).filter(Boolean);
    } catch {
      return fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
    }
  };
  const sample = () => {
    for (const entry of candidates()) {
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[1]) !== process.pid) continue; // ppid
        last.set(Number(entry), Number(fields[11]) + Number(fields[12])); // utime + stime
      } catch {
        // The process ended between listing and reading.
      }
    }
  };
  sample();
  const before = new Map(last);
  const timer = setInterval(sample, 200);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      let ticks = 0;
      for (const [pid, now] of last) ticks += now - (before.get(pid) ?? 0);
      return ticks / ticksPerMs;
    },
  };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Time (ms) the main thread of process `pid` (its event loop) has spent runnable but waiting for a CPU:
 * `/proc/PID/task/PID/schedstat`, field 2. That wait delays every request and answer it handles. NaN off Linux.
 */
function runQueueWaitMs(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return NaN;
  }
}

export interface CreateCall {
  urn: string;
  ms: number;
  /** When the call began and returned (ms since the epoch, this process's clock: the sandbox's too). */
  begunAt: number;
  returnedAt: number;
  /** Run-queue wait of the provider host and of this process (engine + sandbox) during the call. */
  hostWaitMs: number;
  selfWaitMs: number;
  /** The provider host's process, and its main thread's run-queue wait so far when the call began (it was idle). */
  pid: number;
  waitAtBeginMs: number;
}

/** The gate of the separate-stacks run in progress, if any. */
let createGate: CreateGate | undefined;

/**
 * Provider hosts run their creates at nice 19 (any user may lower a child's priority): the sandbox stands in
 * for Proxmox, in life another machine, and 50 hosts on 2 cores must not starve it, nor the engine (in life,
 * each stack's own, on its own runner). The hosts still contend with one another: their run-queue wait is shown
 * apart, and the overhead in parts shows where it lands. A lone host, with the CPUs idle, runs as fast.
 */
function yieldToSandbox(pid: number): void {
  // Linux keeps a nice value per thread: every thread of the host (V8's compiler and GC workers too).
  let threads: number[];
  try {
    threads = fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    threads = [pid];
  }
  for (const tid of threads) {
    try {
      os.setPriority(tid, 19);
    } catch {
      // Gone, or not permitted here: the figures then carry the sandbox's starvation as well.
    }
  }
}

/**
 * This thread's own run-queue wait (the engines'; the sandbox has its own thread, `bench/sandbox-thread.ts`, and
 * reads its own), read by itself at each Create call's begin and return: exact at each reading (see
 * `threadWaitWithin`). Kept from `runContainerBench`'s start to its end.
 */
const ownWaits: WaitSample[] = [];
const sampleOwnWait = () => {
  const waitMs = runQueueWaitMs(process.pid);
  if (Number.isFinite(waitMs)) ownWaits.push({ at: Date.now(), waitMs });
};

/** Times every Create RPC any engine sends, by wrapping the host class the engine uses; CPU contention sampled around each. */
function timeCreates(): { calls: CreateCall[]; restore(): void } {
  const calls: CreateCall[] = [];
  const original = DynamicProviderHost.prototype.create;
  DynamicProviderHost.prototype.create = async function (this: DynamicProviderHost, ...args: Parameters<typeof original>) {
    const pid = this.pid!;
    yieldToSandbox(pid);
    if (createGate) await createGate.arrive(args[0]);
    const [hostBefore, selfBefore] = [runQueueWaitMs(pid), runQueueWaitMs(process.pid)];
    const started = performance.now();
    const begunAt = Date.now();
    if (Number.isFinite(selfBefore)) ownWaits.push({ at: begunAt, waitMs: selfBefore });
    try {
      return await original.apply(this, args);
    } finally {
      sampleOwnWait();
      calls.push({ urn: args[0], ms: performance.now() - started, begunAt, returnedAt: Date.now(), hostWaitMs: runQueueWaitMs(pid) - hostBefore, selfWaitMs: runQueueWaitMs(process.pid) - selfBefore, pid, waitAtBeginMs: hostBefore });
    }
  };
  return { calls, restore: () => { DynamicProviderHost.prototype.create = original; } };
}


const describeSplit = (split: OverheadSplit) =>
  `to the create task ${round(split.beforeCreateMs)} ms, address lag ${round(split.addressLagMs)} ms of a ${round(split.probeGapMs)} ms probe gap, return ${round(split.returnMs)} ms`;

type Source = { template: string } | { image: string };

function program(names: string[], source: Source, pin: { node?: string; firstVmid?: number } = {}) {
  return () => {
    const vmids: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const args = { hostname: name, ...source, node: pin.node, vmid: pin.firstVmid === undefined ? undefined : pin.firstVmid + i };
      vmids[name] = new LaunchpadContainer(name, args).vmid;
    });
    return vmids;
  };
}

/**
 * A cluster in use has finished tasks in each node's history, which a new provider process reads to learn how
 * long its tasks take (ProxmoxClient's learnTaskDurations); a new sandbox has none. Each sandbox of the bench
 * first runs one create and destroy per node, with durations drawn for it, so that every figure, the lone
 * stack's and the 50 stacks' alike, is taken on a cluster that has run a create before.
 */
async function warmHistory(sandbox: ThreadSandbox, options: ContainerBenchOptions, label: string): Promise<void> {
  const drawn = drawFor(options.times, options.seed, `warm-${label}`);
  await sandbox.setTimings(sandboxTimings(drawn));
  const engine = engineFor(sandbox, `warm-${label}`);
  try {
    await engine.up(() => {
      options.nodes.forEach((node, i) => new LaunchpadContainer(`bench-warm-${i + 1}`, { hostname: `bench-warm-${i + 1}`, template: DEFAULT_TEMPLATE, node }));
      return {};
    });
    await engine.destroy();
  } finally {
    await engine.close();
  }
  await sandbox.resetRequests();
}

function engineFor(sandbox: ThreadSandbox, stack: string, cwd?: string): TestEngine {
  return new TestEngine({
    project: PROJECT,
    stack,
    cwd,
    tempDir: scratchDir,
    ...proxmoxConfig(sandbox),
    // The bench's own environment must not point the provider at anything else.
    env: { PROXMOX_VE_ENDPOINT: undefined, PROXMOX_VE_API_TOKEN: undefined, PROXMOX_VE_USERNAME: undefined, PROXMOX_VE_PASSWORD: undefined, ...probeEnv() },
  });
}

/**
 * Where the bench keeps what it writes while stacks run, for the run in progress: the hosts' probe lines
 * (`probe/`) and the engines' state files. On a tmpfs when the machine has one, so no write waits for a disk.
 * On a disk, one engine's checkpoint or one probe's line could stall for a journal commit: the thread all the
 * engines and the sandbox share would stop for it, or a host mid-create would, and the stall, neither the
 * provider's time nor Proxmox's nor a wait for a CPU, would be charged to some stack's overhead.
 */
let scratchDir: string | undefined;
/** Where the hosts' probes write (`bench/host-probe.js`), for the run in progress. */
let probeDir: string | undefined;

/** `/dev/shm` (a tmpfs on Linux) when it is a directory the bench may write to, else the system's temp directory. */
export function scratchRoot(shm = "/dev/shm"): string {
  try {
    fs.accessSync(shm, fs.constants.W_OK);
    if (fs.statSync(shm).isDirectory()) return shm;
  } catch {
    // No tmpfs: the disk, as before.
  }
  return os.tmpdir();
}

/** The host probe, preloaded into every provider host the bench starts: the bench's, not the product's. */
function probeEnv(): Record<string, string> {
  if (!probeDir) return {};
  const preload = `--require ${JSON.stringify(path.join(__dirname, "host-probe.js"))}`;
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(" "), LAUNCHPAD_BENCH_PROBE_DIR: probeDir };
}

/** What host `pid` recorded of its requests; none when it had no probe. */
function hostEvents(pid: number): HostEvent[] {
  try {
    return fs.readFileSync(path.join(probeDir!, `${pid}.jsonl`), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as HostEvent);
  } catch {
    return [];
  }
}

const NO_CONTENTION: CriticalContention = {
  beforeCreateMs: NaN, lastAnswerMs: NaN, totalMs: NaN, engineMs: NaN, engineBeginMs: NaN, takenEngineBeginMs: NaN, takenEngineReturnMs: NaN, benchBeforeCreateMs: NaN, benchLastAnswerMs: NaN, benchTotalMs: NaN, takenBeforeCreateMs: NaN, takenLastAnswerMs: NaN, takenMs: NaN,
  hostCpuBeforeCreateMs: NaN, hostCpuLastAnswerMs: NaN, beforeCreateSpanMs: NaN, lastAnswerSpanMs: NaN,
};

/** The run-queue wait on one create call's critical path: its host's, the engines' thread's and the sandbox's (see `criticalContention`). */
const contentionOf = (call: CreateCall, sandbox: ThreadSandbox, vmid: number): CriticalContention =>
  criticalContention(call, hostEvents(call.pid), { engine: ownWaits, sandbox: sandbox.waits }, chainBounds(sandbox.timeline(), vmid));

/** Schema rejections of the sandboxes this run closed. */
const schemaRejections: SchemaViolation[] = [];

async function sandboxFor(options: ContainerBenchOptions): Promise<ThreadSandbox> {
  const { times } = options;
  const sandbox = await startSandboxThread({
    nodes: options.nodes,
    taskDurationsMs: { vzcreate: times.createMs, vzstart: times.startMs, ociregistrypull: times.pullMs },
    ipDelayMs: times.ipMs,
  });
  const close = sandbox.close;
  sandbox.close = async () => {
    try {
      await sandbox.sync();
      schemaRejections.push(...sandbox.schemaViolations);
    } finally {
      await close();
    }
  };
  return sandbox;
}

const tasksOfType = (requests: RequestLogEntry[], pathTail: RegExp) => requests.filter((r) => r.method === "POST" && pathTail.test(r.path) && r.status === 200).length;
const pullsIn = (requests: RequestLogEntry[]) => tasksOfType(requests, /\/oci-registry-pull$/);

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = performance.now();
  try {
    const value = await run();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

function failuresOf(error: unknown): string[] {
  if (error === undefined) return [];
  if (error instanceof EngineError) return error.failures.map((f) => `${f.urn.split("::").pop()}: ${f.message.split("\n")[0]}`);
  return [String((error as Error)?.message ?? error)];
}

function vmidOf(engine: TestEngine, name: string): number | undefined {
  const vmid = engine.resource(name)?.plainOutputs.vmid;
  return typeof vmid === "number" ? vmid : undefined;
}

const emptySingle = (): SingleCreateFigures => ({ criticalPathMs: NaN, overheadMs: [], apiOverheadMs: [], hostWaitMs: [], contention: [], freeOverheadMs: [], split: [], drawn: [], createRpcMs: [], upWallMs: [], requests: [], breakdown: [], phases: [], hostCpuMs: [], trace: [] });

/**
 * Single creates, one at a time, each with durations drawn for it; with a baseline build, each run
 * creates once with it and once with ours (alternating which goes first), on the same sandbox.
 */
async function singleCreates(options: ContainerBenchOptions, calls: CreateCall[]): Promise<Pick<ContainerBenchReport, "single" | "baseline" | "noop" | "deleteRequests" | "ansible">> {
  const sandbox = await sandboxFor(options);
  await warmHistory(sandbox, options, "single");
  const ansibleSkipped = options.ansibleRuns > 0 ? ansibleSkipReason(options.log) : "Ansible comparison skipped: --ansible-runs 0";
  if (ansibleSkipped) options.log(ansibleSkipped);
  const ansibleOverheads: number[] = [];
  /** Ansible's create+start: from its first request to its last answer (its own start-up excluded), minus the tasks' actual times. */
  const ansibleOnce = async (run: number) => {
    const drawn = drawFor(options.times, options.seed, `ansible-${run}`);
    await sandbox.setTimings({ taskDurationsMs: { vzcreate: drawn.createMs, vzstart: drawn.startMs }, ipDelayMs: drawn.ipMs });
    const vmid = 5000 + run;
    await sandbox.resetRequests();
    await ansibleCreateStart(sandbox, vmid, options.nodes[0]);
    await sandbox.sync();
    const first = Math.min(...sandbox.requests.map((r) => r.time.getTime()));
    const last = Math.max(...sandbox.requests.map((r) => r.time.getTime() + r.durationMs));
    const timeline = sandbox.timeline();
    const task = (type: string) => timeline.tasks.filter((t) => t.type === type && t.id === String(vmid)).at(-1)!;
    const actual = task("vzcreate").endedMs! - task("vzcreate").startedMs + task("vzstart").endedMs! - task("vzstart").startedMs;
    ansibleOverheads.push(last - first - actual);
    options.log(`ansible create+start ${run}: drawn ${drawn.createMs}/${drawn.startMs} ms, ${last - first} ms from first request to last answer, overhead ${round(last - first - actual)} ms, ${sandbox.requests.length} requests`);
  };
  const single = emptySingle();
  const baseline = options.baselineRoot ? emptySingle() : undefined;
  let noop: ContainerBenchReport["noop"] = { requests: NaN, operations: [], hostCalls: {} };
  let deleteRequests = NaN;
  const once = async (run: number, figures: SingleCreateFigures, label: string, cwd?: string) => {
    const drawn = drawFor(options.times, options.seed, `${label}-${run}`);
    await sandbox.setTimings(sandboxTimings(drawn));
    const engine = engineFor(sandbox, `${label}-${run}`, cwd);
    try {
      const name = `bench-${label}-${run}`;
      const deploy = program([name], { template: DEFAULT_TEMPLATE });
      await sandbox.resetRequests();
      const before = calls.length;
      const hostCpu = childCpu();
      const up = await timed(() => engine.up(deploy));
      figures.hostCpuMs.push(round(hostCpu.stop()));
      if (up.error) throw up.error;
      await sandbox.sync();
      const vmid = vmidOf(engine, name)!;
      const rpc = calls[before].ms;
      const actual = actualCriticalPathMs(sandbox.timeline(), vmid);
      figures.drawn.push(drawn);
      figures.upWallMs.push(up.ms);
      figures.createRpcMs.push(rpc);
      figures.overheadMs.push(rpc - actual);
      figures.apiOverheadMs.push(apiOverheadMs(sandbox.requests.map((r) => ({ ...r, startMs: r.time.getTime() })), vmid, actual));
      figures.hostWaitMs.push(calls[before].hostWaitMs);
      figures.contention.push(contentionOf(calls[before], sandbox, vmid));
      figures.freeOverheadMs.push(rpc - actual - figures.contention.at(-1)!.takenMs);
      figures.split.push(overheadSplit(sandbox.timeline(), sandbox.requests.map((r) => ({ ...r, startMs: r.time.getTime() })), vmid, calls[before]));
      figures.requests.push(sandbox.requests.length);
      if (run === 1) figures.breakdown = requestBreakdown(sandbox.requests);
      const timeline = sandbox.timeline();
      const createTask = timeline.tasks.filter((t) => t.type === "vzcreate" && t.id === String(vmid)).at(-1);
      figures.phases.push(createPhases(sandbox.requests.map((r) => ({ ...r, startMs: r.time.getTime() })), createTask?.endedMs));
      const started = timeline.starts.filter((s) => s.vmid === vmid).at(-1);
      figures.trace.push({
        vmid, begunAt: calls[before].begunAt, returnedAt: calls[before].returnedAt,
        requests: sandbox.requests.map((r) => ({ method: r.method, path: r.path, status: r.status, at: r.time.getTime(), durationMs: r.durationMs })),
        tasks: timeline.tasks.filter((t) => t.id === String(vmid)).map((t) => ({ type: t.type, startedMs: t.startedMs, endedMs: t.endedMs })),
        started: started && { startedMs: started.startedMs, leasedMs: started.leasedMs },
      });
      options.log(`${label} create ${run}/${options.runs}: drawn ${drawn.createMs}/${drawn.startMs}/${drawn.ipMs} ms, Create RPC ${round(rpc)} ms, overhead ${round(figures.overheadMs.at(-1)!)} ms (${round(figures.freeOverheadMs.at(-1)!)} ms with the wait on its critical path, host ${round(figures.contention.at(-1)!.totalMs)} + engine/sandbox ${round(figures.contention.at(-1)!.benchTotalMs)} ms, taken out; API side ${round(figures.apiOverheadMs.at(-1)!)} ms, host run-queue wait ${round(figures.hostWaitMs.at(-1)!)} ms; ${describeSplit(figures.split.at(-1)!)}), ${sandbox.requests.length} requests, CT ${vmid}`);

      if (run === 1 && figures === single) {
        const callsBefore = { ...engine.hostCalls };
        await sandbox.resetRequests();
        const again = await engine.up(deploy);
        await sandbox.sync();
        const hostCalls = Object.fromEntries(Object.entries(engine.hostCalls).map(([rpc, n]) => [rpc, n - callsBefore[rpc as keyof typeof callsBefore]]).filter(([, n]) => Number(n) > 0));
        noop = { requests: sandbox.requests.length, operations: again.operations.map((o) => `${o.name}: ${o.op}`), hostCalls };
        options.log(`no-op up: ${noop.requests} requests, ${noop.operations.join(", ")}`);
      }
      await sandbox.resetRequests();
      await engine.destroy();
      if (run === 1 && figures === single) {
        await sandbox.sync();
        deleteRequests = sandbox.requests.length;
        options.log(`destroy: ${deleteRequests} requests`);
      }
    } finally {
      await engine.close();
    }
  };
  try {
    for (let run = 1; run <= options.runs; run++) {
      if (baseline && run % 2 === 0) await once(run, baseline, "before", options.baselineRoot);
      const ansibleHere = !ansibleSkipped && run <= options.ansibleRuns;
      if (ansibleHere && run % 2 === 0) await ansibleOnce(run);
      await once(run, single, "single");
      if (ansibleHere && run % 2 === 1) await ansibleOnce(run);
      if (baseline && run % 2 === 1) await once(run, baseline, "before", options.baselineRoot);
    }
  } finally {
    await sandbox.close();
  }
  for (const figures of [single, baseline]) {
    if (figures) figures.criticalPathMs = round(median(figures.drawn.map((d) => criticalPathMs(d, false))));
  }
  const ansibleMs = spread(ansibleOverheads).median;
  const ansible = ansibleSkipped ? { skipped: ansibleSkipped } : { overheadMs: ansibleMs, ratio: round(spread(single.overheadMs).median / ansibleMs, 2), runs: ansibleOverheads.map((ms) => round(ms)) };
  return { single, baseline, noop, deleteRequests, ansible };
}

async function parallelCreates(options: ContainerBenchOptions, calls: CreateCall[], n: number, mode: ParallelFigures["mode"], singleWallMs: number, run = 1, runs = 1): Promise<ParallelFigures> {
  const sandbox = await sandboxFor(options);
  // Run 1 keeps the label (and so the draws) it had before the runs repeated.
  const label = `${mode.replace(/ /g, "-")}-${n}${run > 1 ? `-r${run}` : ""}`;
  const title = `${n} parallel creates (${mode}${runs > 1 ? `, run ${run}/${runs}` : ""})`;
  await warmHistory(sandbox, options, label);
  const drawn = drawFor(options.times, options.seed, label);
  await sandbox.setTimings(sandboxTimings(drawn));
  // Separate stacks are N CI jobs, each with its own container, whose tasks take their own time on Proxmox:
  // each container draws its own durations (seeded by its VMID), so the N creates start together and end
  // apart. One program's N resources share one draw: its figure is the wall time against one up.
  const perContainer = (vmid: number) => drawFor(options.times, options.seed, `${label}-ct-${vmid}`);
  if (mode === "separate stacks") await sandbox.setTimings({ perContainer: { means: options.times, seed: options.seed, label } });
  const names = Array.from({ length: n }, (_, i) => `bench-p${n}-${i + 1}`);
  const engines = mode !== "separate stacks" ? [engineFor(sandbox, `parallel-${n}`)] : names.map((name) => engineFor(sandbox, name));
  try {
    const before = calls.length;
    options.log(`${title}: started, ${mode === "separate stacks" ? `durations drawn per container (CT N: create/start/address ms from "${label}-ct-N")` : `drawn ${drawn.createMs}/${drawn.startMs}/${drawn.ipMs} ms`}`);
    const cpuBefore = process.cpuUsage();
    const hostCpu = childCpu();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const gate = mode === "separate stacks" ? new CreateGate(n) : undefined;
    createGate = gate;
    const result = await timed(() => !gate
      ? engines[0].up(program(names, { template: DEFAULT_TEMPLATE }, { firstVmid: mode === "fixed vmids" ? 1000 : undefined })).then(() => [])
      : Promise.allSettled(engines.map((engine, i) => engine.up(program([names[i]], { template: DEFAULT_TEMPLATE })).finally(() => gate.ended(names[i])))).then((results) =>
        results.flatMap((r) => (r.status === "rejected" ? failuresOf(r.reason) : []))));
    createGate = undefined;
    loop.disable();
    await sandbox.sync();
    const hostCpuMs = hostCpu.stop();
    const cpu = process.cpuUsage(cpuBefore);
    const serverMs = sandbox.requests.map((r) => r.durationMs);
    const failureMessages = result.error !== undefined ? failuresOf(result.error) : (result.value as string[]);
    const vmids = engines.flatMap((engine) => names.map((name) => vmidOf(engine, name))).filter((v): v is number => v !== undefined);
    const made = calls.slice(before);
    const rpc = made.map((call) => call.ms);
    const timeline = sandbox.timeline();
    const vmidOfUrn = (urn: string) => {
      const name = urn.split("::").pop()!;
      for (const engine of engines) if (vmidOf(engine, name) !== undefined) return vmidOf(engine, name)!;
      return NaN;
    };
    const actual = made.map((call) => actualCriticalPathMs(timeline, vmidOfUrn(call.urn)));
    if (mode === "separate stacks") options.log(`${title}: drawn per container, create/start/address ms: ${vmids.map((vmid) => { const own = perContainer(vmid); return `CT ${vmid} ${own.createMs}/${own.startMs}/${own.ipMs}`; }).join(", ")}`);
    const overheadMs = made.map((call, i) => call.ms - actual[i]);
    // One host per create: its own wait is that create's. One program's host serves all N at once.
    const contention = made.map((call) => (mode === "separate stacks" ? contentionOf(call, sandbox, vmidOfUrn(call.urn)) : NO_CONTENTION));
    const freeOverheadMs = overheadMs.map((ms, i) => ms - contention[i].takenMs);
    const logged = sandbox.requests.map((r) => ({ ...r, startMs: r.time.getTime() }));
    const apiOverhead = made.map((call, i) => apiOverheadMs(logged, vmidOfUrn(call.urn), actual[i]));
    const hostLogs = engines.flatMap((engine) => engine.hostLogs);
    const containers = sandbox.containers();
    const nodes: Record<string, number> = {};
    for (const ct of containers) nodes[ct.node] = (nodes[ct.node] ?? 0) + 1;
    const figures: ParallelFigures = {
      n, mode, run,
      overheadMs: overheadMs.map((ms) => round(ms)),
      apiOverheadMs: apiOverhead.map((ms) => round(ms)),
      hostWaitMs: made.map((call) => round(call.hostWaitMs)),
      contention,
      freeOverheadMs: freeOverheadMs.map((ms) => round(ms)),
      split: made.map((call) => overheadSplit(timeline, logged, vmidOfUrn(call.urn), call)),
      benchWaitMs: made.map((call) => round(call.selfWaitMs)),
      wallMs: round(result.ms),
      ratio: wallRatio(result.ms, singleWallMs),
      hostsUpMs: gate?.openedAt === undefined ? undefined : gate.openedAt - gate.startedAt,
      failures: failureMessages.length,
      failureMessages: failureMessages.slice(0, 5),
      containers: containers.length,
      tracked: vmids.length,
      duplicateVmids: duplicates(vmids),
      refusedCreates: refusedCreates(sandbox.requests),
      createAttempts: hostLogs.filter((line) => /creating CT \d+/.test(line)).length,
      maxCreateAttempts: createAttemptsByHostname(sandbox.requests)[0] ?? 0,
      requests: sandbox.requests.length,
      createRpcMedianMs: round(median(rpc)),
      createRpcMaxMs: round(Math.max(...rpc)),
      serverMsP50: percentile(serverMs, 50),
      serverMsP95: percentile(serverMs, 95),
      benchCpuMs: round((cpu.user + cpu.system) / 1000),
      hostCpuMs: round(hostCpuMs),
      eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6),
      nodes,
      trace: mode !== "separate stacks" ? undefined : {
        creates: made.map((call) => ({ urn: call.urn, vmid: vmidOfUrn(call.urn), begunAt: call.begunAt, returnedAt: call.returnedAt, events: hostEvents(call.pid) })),
        requests: logged.map((r) => ({ method: r.method, path: r.path, vmid: r.params.vmid, status: r.status, at: r.startMs, durationMs: r.durationMs })),
        sandboxReadings: sandbox.waits.filter((w) => w.at >= (gate?.startedAt ?? 0)),
      },
    };
    options.log(`${title}: ${figures.wallMs} ms, ${figures.failures} failures, ${figures.containers} containers, ${figures.refusedCreates} refused creates, overhead median ${spread(overheadMs).median} ms (${mode === "separate stacks" ? `${spread(freeOverheadMs).median} ms with the wait on each create's critical path, median ${spread(contention.map((c) => c.takenMs)).median} ms (host ${spread(contention.map((c) => c.totalMs)).median}, engine/sandbox ${spread(contention.map((c) => c.benchTotalMs)).median}), taken out; ` : ""}API side ${spread(apiOverhead).median} ms; host run-queue wait ${spread(made.map((c) => c.hostWaitMs)).median} ms)`);
    return figures;
  } finally {
    createGate = undefined;
    await Promise.all(engines.map((engine) => engine.close()));
    await sandbox.close();
  }
}

async function imageCreates(options: ContainerBenchOptions, calls: CreateCall[]): Promise<ImageFigures> {
  const sandbox = await sandboxFor(options);
  const image = "docker.io/library/nginx:1.27-alpine";
  const one = async (stack: string, node?: string) => {
    const engine = engineFor(sandbox, stack);
    try {
      await sandbox.resetRequests();
      const before = calls.length;
      const up = await timed(() => engine.up(program([stack], { image }, { node })));
      if (up.error) throw up.error;
      await sandbox.sync();
      const figures = { createRpcMs: round(calls[before].ms), requests: sandbox.requests.length, pulls: pullsIn(sandbox.requests), node: String(engine.resource(stack)?.plainOutputs.node) };
      options.log(`image create ${stack}: Create RPC ${figures.createRpcMs} ms, ${figures.requests} requests, ${figures.pulls} pulls, on ${figures.node}`);
      return figures;
    } finally {
      await engine.close();
    }
  };
  try {
    const first = await one("image-1");
    const second = await one("image-2");
    const samenode = await one("image-3", first.node);
    return { criticalPathMs: criticalPathMs(options.times, true), first, second, samenode };
  } finally {
    await sandbox.close();
  }
}

export async function runContainerBench(options: ContainerBenchOptions): Promise<ContainerBenchReport> {
  const timing = timeCreates();
  scratchDir = fs.mkdtempSync(path.join(scratchRoot(), "launchpad-bench-"));
  probeDir = path.join(scratchDir, "probe");
  fs.mkdirSync(probeDir);
  // As `pulumi`'s own program runner does: a failed registration also rejects the resource's
  // promises; the engine records the failure, the bench must not die of the echo.
  const onRejection = (reason: unknown) => options.log(`program: ${String((reason as Error)?.message ?? reason).split("\n")[0]}`);
  process.on("unhandledRejection", onRejection);
  schemaRejections.splice(0);
  ownWaits.splice(0);
  try {
    const { single, baseline, noop, deleteRequests, ansible } = await singleCreates(options, timing.calls);
    const singleWallMs = median(single.upWallMs);
    const parallel: ParallelFigures[] = [];
    for (const n of options.parallel) parallel.push(await parallelCreates(options, timing.calls, n, "one program", singleWallMs));
    // The same largest run with every vmid given: what the run costs without allocation races.
    if (options.parallel.length) parallel.push(await parallelCreates(options, timing.calls, Math.max(...options.parallel), "fixed vmids", singleWallMs));
    for (const n of options.stacks) {
      for (let run = 1; run <= options.stackRuns; run++) parallel.push(await parallelCreates(options, timing.calls, n, "separate stacks", singleWallMs, run, options.stackRuns));
    }
    const image = options.image ? await imageCreates(options, timing.calls) : undefined;
    return {
      single,
      baseline,
      ansible,
      createOverheadMs: spread(single.overheadMs).median,
      noop,
      deleteRequests,
      parallel,
      image,
      schemaViolations: schemaRejections.length,
      schemaViolationSamples: schemaRejections.slice(0, 3).map((v) => `${v.method} ${v.path}: ${Object.entries(v.errors).map(([key, message]) => `${key}: ${message.trim()}`).join("; ")}`),
    };
  } finally {
    process.off("unhandledRejection", onRejection);
    ownWaits.splice(0);
    timing.restore();
    fs.rmSync(scratchDir, { recursive: true, force: true });
    scratchDir = undefined;
    probeDir = undefined;
  }
}
