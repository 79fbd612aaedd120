// `npm run bench -- [flags]`: figures for humans on stdout, then one JSON line (the last line) for
// machines. Progress goes to stderr. Figures only: nothing here passes or fails on speed.

import * as fs from "fs";
import * as os from "os";
import { parseArgs } from "node:util";
import { runContainerBench, type ContainerBenchReport, type ParallelFigures } from "./container";
import { runReplaceBench } from "./replace";
import { cpuExcessMs, engineExcessMs, engineLegs, lateProbeWaitMs, loneCpu, meanPhaseOverheads, median, phaseIntegratedMedian, phaseShare, phaseShareZ, probeCadenceMs, round, spread, type CriticalContention, type LoneCpu, type LoneEngine, type OverheadSplit, type TaskTimes } from "./stats";

const USAGE = `Usage: npm run bench -- [flags]
  --create-ms N    mean vzcreate task duration (default 8000)
  --start-ms N     mean vzstart task duration (default 2000)
  --ip-ms N        mean delay from start until the DHCP address shows (default 3000)
  --pull-ms N      mean OCI pull (ociregistrypull) task duration (default 20000)
                   (each create draws its own durations within +-25% of these means)
  --seed N         seed of those draws (default: random, printed; the same seed draws the same durations)
  --quick          divide every duration by 20
  --parallel LIST  sizes of the parallel runs, N resources in one program (default 10,50)
  --stacks LIST    sizes to run also as N separate stacks at once (default 10,50; "none" to skip)
  --stack-runs N   runs of each separate-stacks size, each on a fresh sandbox with its own draws (default 5)
  --runs N         single creates to take the median of (default 30: that median is the separate stacks'
                   ratio's denominator, and each address falls anywhere in a 150 ms probe gap)
  --ansible-runs N single runs that also create+start with Ansible, alternating with ours (default 5; 0 for none)
  --baseline DIR   a checkout of an older build (built, node_modules linked): its single creates alternate with ours
  --nodes N        cluster nodes (default 3)
  --no-image       skip the OCI image figures
  --no-replace     skip the image-replace figures on LXC (minutes of real containers)
  --report FILE    also write every create's own figures (the whole report, JSON) to FILE, to look into a median
`;

export interface BenchParameters extends TaskTimes {
  seed: number;
  baseline?: string;
  /** Where to write the whole report (every create's own figures), if anywhere. */
  report?: string;
  ansibleRuns: number;
  quick: boolean;
  parallel: number[];
  stacks: number[];
  stackRuns: number;
  runs: number;
  nodes: number;
  image: boolean;
  replace: boolean;
}

/** Flags to parameters; throws with the usage on anything it does not understand. */
export function parseFlags(argv: readonly string[]): BenchParameters {
  const p: BenchParameters = {
    createMs: 8000, startMs: 2000, ipMs: 3000, pullMs: 20000, seed: Math.floor(Math.random() * 2 ** 31), ansibleRuns: 5, quick: false, parallel: [10, 50], stacks: [10, 50], stackRuns: 5, runs: 30, nodes: 3, image: true, replace: true,
  };
  const number = (flag: string, value: string | undefined, min: number) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number >= ${min}\n${USAGE}`);
    return n;
  };
  const list = (flag: string, value: string | undefined) => {
    if (value === "none" || value === "") return [];
    const sizes = (value ?? "").split(",").map((s) => number(flag, s.trim(), 1));
    return sizes;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        "create-ms": { type: "string" }, "start-ms": { type: "string" }, "ip-ms": { type: "string" }, "pull-ms": { type: "string" },
        seed: { type: "string" }, baseline: { type: "string" }, report: { type: "string" }, "ansible-runs": { type: "string" }, quick: { type: "boolean" },
        parallel: { type: "string" }, stacks: { type: "string" }, "stack-runs": { type: "string" }, runs: { type: "string" }, nodes: { type: "string" },
        "no-image": { type: "boolean" }, "no-replace": { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new Error(USAGE);
  const given = (name: keyof typeof values) => values[name] as string | undefined;
  if (given("create-ms") !== undefined) p.createMs = number("--create-ms", given("create-ms"), 0);
  if (given("start-ms") !== undefined) p.startMs = number("--start-ms", given("start-ms"), 0);
  if (given("ip-ms") !== undefined) p.ipMs = number("--ip-ms", given("ip-ms"), 0);
  if (given("pull-ms") !== undefined) p.pullMs = number("--pull-ms", given("pull-ms"), 0);
  if (given("seed") !== undefined) p.seed = number("--seed", given("seed"), 0);
  if (given("baseline") !== undefined) p.baseline = given("baseline");
  if (given("report") !== undefined) p.report = given("report");
  if (given("ansible-runs") !== undefined) p.ansibleRuns = number("--ansible-runs", given("ansible-runs"), 0);
  if (values.quick) p.quick = true;
  if (given("parallel") !== undefined) p.parallel = list("--parallel", given("parallel"));
  if (given("stacks") !== undefined) p.stacks = list("--stacks", given("stacks"));
  if (given("stack-runs") !== undefined) p.stackRuns = number("--stack-runs", given("stack-runs"), 1);
  if (given("runs") !== undefined) p.runs = number("--runs", given("runs"), 1);
  if (given("nodes") !== undefined) p.nodes = number("--nodes", given("nodes"), 1);
  if (values["no-image"]) p.image = false;
  if (values["no-replace"]) p.replace = false;
  if (p.quick) {
    for (const key of ["createMs", "startMs", "ipMs", "pullMs"] as const) p[key] = Math.round(p[key] / 20);
  }
  return p;
}

/** `a / b` to 2 decimals; null (no figure) when either is not a positive measurement. */
function ratio(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b, 2) : null;
}

function fmtSpread(values: readonly number[]): string {
  const { median, min, max } = spread(values);
  return `${median} ms median (min ${min}, max ${max})`;
}

function table(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join("\n");
}

/**
 * Each create's overhead with the wait on its critical path, its host's CPU time beyond a lone host's and, unless
 * left out, the engine's legs beyond a lone stack's (`engine`) and the wait that held back the probe that found the
 * address (`cadenceMs`, a lone host's probe cadence) taken out.
 */
const netOverheads = (freeOverheadMs: readonly number[], contention: readonly CriticalContention[], cpu: LoneCpu, engine?: LoneEngine, cadenceMs?: number) =>
  freeOverheadMs.map((ms, i) => {
    const c = contention[i];
    if (!c) return ms;
    return ms - cpuExcessMs(c, cpu) - (engine ? engineExcessMs(c, cpu, engine) : 0) - (cadenceMs !== undefined ? lateProbeWaitMs(c, cadenceMs) : 0);
  });

/**
 * With each address's phase in its probe gap at its mean: from the overheads net of all but the late probe's wait
 * (the phase goes, and with it that lateness), each gap less the wait that stretched it (`lateProbeWaitMs`, any phase).
 */
const gapWaits = (lateIn: readonly number[], contention: readonly CriticalContention[], cadenceMs: number) => lateIn.map((_, i) => (contention[i] ? lateProbeWaitMs(contention[i], cadenceMs, true) : 0));
const meanPhaseNet = (lateIn: readonly number[], contention: readonly CriticalContention[], split: readonly OverheadSplit[], cadenceMs: number) =>
  meanPhaseOverheads(lateIn, split, gapWaits(lateIn, contention, cadenceMs));

/** The same overheads' median with each address's phase integrated over its gap (`phaseIntegratedMedian`), rounded. */
const phaseIntegratedNet = (lateIn: readonly number[], contention: readonly CriticalContention[], split: readonly OverheadSplit[], cadenceMs: number) =>
  round(phaseIntegratedMedian(lateIn, split, gapWaits(lateIn, contention, cadenceMs)));

/** The lone stack's references and medians, the ratios' denominators (see `loneOf`). */
export interface Lone {
  netMs: number;
  meanPhaseMs: number;
  /** With each address's phase integrated over its probe gap (`phaseIntegratedMedian`). */
  phaseIntegratedMs: number;
  /** With the engine's legs left in: the wait and the host's CPU excess only. */
  engineInMs: number;
  freeMs: number;
  rawMs: number;
  cpu: LoneCpu;
  engine: LoneEngine;
  /** With the found probe's late wait left in (the headline before it was taken out). */
  lateInMs: number;
  /** A lone host's address-probe cadence (`probeCadenceMs`): when each probe was due. */
  cadenceMs: number;
  /** Where the lone addresses fell in their probe gaps, the mean share of the gap (`phaseShare`). */
  phaseShare: number;
  /** That share's distance from the even 0.5, in standard errors (`phaseShareZ`). */
  phaseShareZ: number;
}

/**
 * N separate stacks over their runs. The per-stack figure of a run is the median of its N stacks; across runs,
 * the median of those and their min and max, since the whole run moves with the machine (how the creates and
 * the 2 cores' time fall), not only each stack in it. Ratios are over the lone stack's median, taken the same way.
 * The per-stack figure is net of local CPU contention: the run-queue wait on each create's critical path, its
 * host's CPU time there beyond a lone host's (`cpuExcessMs`), and the engine's legs of the call beyond a lone
 * stack's (`engineExcessMs`); with the engine's legs left in, with only the wait out, and raw, beside it.
 */
export function acrossRuns(runs: readonly ParallelFigures[], lone: Lone) {
  const perRun = runs.map((p) => netOverheads(p.freeOverheadMs, p.contention, lone.cpu, lone.engine, lone.cadenceMs));
  const net = perRun.map((ms) => spread(ms).median);
  const lateInPerRun = runs.map((p) => netOverheads(p.freeOverheadMs, p.contention, lone.cpu, lone.engine));
  const lateIn = lateInPerRun.map((ms) => spread(ms).median);
  const engineIn = runs.map((p) => spread(netOverheads(p.freeOverheadMs, p.contention, lone.cpu)).median);
  const meanPhase = lateInPerRun.map((ms, i) => spread(meanPhaseNet(ms, runs[i].contention, runs[i].split, lone.cadenceMs)).median);
  const integrated = lateInPerRun.map((ms, i) => phaseIntegratedNet(ms, runs[i].contention, runs[i].split, lone.cadenceMs));
  const free = runs.map((p) => spread(p.freeOverheadMs).median);
  const raw = runs.map((p) => spread(p.overheadMs).median);
  const all = <K extends keyof ParallelFigures>(key: K) => runs.flatMap((p) => p[key] as unknown as number[]);
  const contention = runs.flatMap((p) => p.contention);
  const splits = runs.flatMap((p) => p.split);
  const legs = engineLegs(contention);
  return {
    runs: runs.length,
    failures: runs.reduce((sum, p) => sum + p.failures, 0),
    duplicates: runs.reduce((sum, p) => sum + p.duplicateVmids.length, 0),
    refused: runs.reduce((sum, p) => sum + p.refusedCreates, 0),
    netMs: spread(net),
    runNetMs: net,
    ratio: ratio(median(net), lone.netMs),
    ratioMin: ratio(Math.min(...net), lone.netMs),
    ratioMax: ratio(Math.max(...net), lone.netMs),
    /** The same, each address's phase in its probe gap at its mean (`meanPhaseOverheads`). */
    meanPhaseMs: spread(meanPhase),
    runMeanPhaseMs: meanPhase,
    meanPhaseRatio: ratio(median(meanPhase), lone.meanPhaseMs),
    meanPhaseRatioMin: ratio(Math.min(...meanPhase), lone.meanPhaseMs),
    meanPhaseRatioMax: ratio(Math.max(...meanPhase), lone.meanPhaseMs),
    /** The same, each address's phase integrated over its probe gap (`phaseIntegratedMedian`). */
    phaseIntegratedMs: spread(integrated),
    runPhaseIntegratedMs: integrated,
    phaseIntegratedRatio: ratio(median(integrated), lone.phaseIntegratedMs),
    phaseIntegratedRatioMin: ratio(Math.min(...integrated), lone.phaseIntegratedMs),
    phaseIntegratedRatioMax: ratio(Math.max(...integrated), lone.phaseIntegratedMs),
    /** Over every stack of every run: where the addresses fell in their probe gaps, the mean share of the gap. */
    phaseShare: phaseShare(splits),
    phaseShareZ: phaseShareZ(splits),
    /** The same with the found probe's late wait left in (the headline before it was taken out). */
    lateInMs: spread(lateIn),
    lateInRatio: ratio(median(lateIn), lone.lateInMs),
    /** Over every stack of every run: the wait taken that held back the probe that found the address. */
    lateProbeMs: spread(contention.map((c) => lateProbeWaitMs(c, lone.cadenceMs))).median,
    /** Of every stack with a found probe on record: the share whose late wait was taken (the address had shown when it was due). */
    lateProbeTakenShare: round(contention.filter((c) => lateProbeWaitMs(c, lone.cadenceMs) > 0).length / Math.max(1, contention.filter((c) => c.probe).length), 2),
    /** The same with the engine's legs left in too (the wait and the host's CPU excess taken out only). */
    engineInMs: spread(engineIn),
    engineInRatio: ratio(median(engineIn), lone.engineInMs),
    freeMs: spread(free),
    rawMs: spread(raw),
    runFreeMs: free,
    freeRatio: ratio(median(free), lone.freeMs),
    freeRatioMin: ratio(Math.min(...free), lone.freeMs),
    freeRatioMax: ratio(Math.max(...free), lone.freeMs),
    rawRatio: ratio(median(raw), lone.rawMs),
    /** Over every stack of every run: the host's CPU time beyond a lone host's, and that CPU time on each stretch. */
    cpuExcessMs: spread(contention.map((c) => cpuExcessMs(c, lone.cpu))).median,
    /** Over every stack of every run: the engine's legs beyond a lone stack's, and each leg with its wait taken out. */
    engineExcessMs: spread(contention.map((c) => engineExcessMs(c, lone.cpu, lone.engine))).median,
    engineBeginMs: round(legs.beginMs),
    engineReturnMs: round(legs.returnMs),
    hostCpuBeforeCreateMs: spread(contention.map((c) => c.hostCpuBeforeCreateMs)).median,
    hostCpuLastAnswerMs: spread(contention.map((c) => c.hostCpuLastAnswerMs)).median,
    /** Over every stack of every run. */
    takenMs: spread(contention.map((c) => c.takenMs)).median,
    hostCriticalWaitMs: spread(contention.map((c) => c.totalMs)).median,
    benchCriticalWaitMs: spread(contention.map((c) => c.benchTotalMs)).median,
    hostWaitMs: spread(all("hostWaitMs")).median,
    benchWaitMs: spread(all("benchWaitMs")).median,
    apiOverheadMs: spread(all("apiOverheadMs")).median,
  };
}

/**
 * A lone stack's medians, the ratios' denominators, each taken as the stacks' are: net of local contention (its
 * own CPU time and engine legs beyond the lone medians are taken out as a stack's are), with the engine's legs
 * left in, net of the wait only, and raw. `cpu`, `engine`: the lone host's CPU time on each stretch and the lone
 * engine's legs, the references of every stack's excess.
 */
export function loneOf(single: Pick<ContainerBenchReport["single"], "freeOverheadMs" | "overheadMs" | "contention" | "split">): Lone {
  const cpu = loneCpu(single.contention);
  const engine = engineLegs(single.contention);
  const cadenceMs = probeCadenceMs(single.contention);
  const net = netOverheads(single.freeOverheadMs, single.contention, cpu, engine, cadenceMs);
  const lateIn = netOverheads(single.freeOverheadMs, single.contention, cpu, engine);
  return {
    netMs: spread(net).median, meanPhaseMs: spread(meanPhaseNet(lateIn, single.contention, single.split, cadenceMs)).median,
    phaseIntegratedMs: phaseIntegratedNet(lateIn, single.contention, single.split, cadenceMs),
    lateInMs: spread(lateIn).median,
    engineInMs: spread(netOverheads(single.freeOverheadMs, single.contention, cpu)).median,
    freeMs: spread(single.freeOverheadMs).median, rawMs: spread(single.overheadMs).median, cpu, engine, cadenceMs,
    phaseShare: phaseShare(single.split),
    phaseShareZ: phaseShareZ(single.split),
  };
}

export function summary(parameters: BenchParameters, report: ContainerBenchReport) {
  const oneProgram = (n: number) => report.parallel.find((p) => p.n === n && p.mode === "one program");
  const overhead = spread(report.single.overheadMs);
  const lone = loneOf(report.single);
  const stacks = (n: number) => {
    const runs = report.parallel.filter((p) => p.n === n && p.mode === "separate stacks");
    return runs.length ? acrossRuns(runs, lone) : undefined;
  };
  const stacks50 = stacks(50);
  const stacks10 = stacks(10);
  return {
    benchmark: "container",
    seed: parameters.seed,
    createOverheadMs: overhead.median,
    overheadMsMin: overhead.min,
    overheadMsMax: overhead.max,
    baselineOverheadMs: report.baseline ? spread(report.baseline.overheadMs).median : null,
    createRpcMs: round(median(report.single.createRpcMs)),
    upWallMs: round(median(report.single.upWallMs)),
    criticalPathMs: report.single.criticalPathMs,
    requestsPerCreate: median(report.single.requests),
    baselineRequestsPerCreate: report.baseline ? median(report.baseline.requests) : null,
    hostCpuMs: round(median(report.single.hostCpuMs)),
    overheadSplitMs: splitMedians(report.single.split),
    createPhasesMs: Object.fromEntries((["prepareMs", "createMs", "startMs", "ipMs"] as const).map((key) => [key, round(median(report.single.phases.map((p) => p[key])))])),
    noopRequests: report.noop.requests,
    deleteRequests: report.deleteRequests,
    parallel10WallRatio: oneProgram(10)?.ratio ?? null,
    parallel50WallRatio: oneProgram(50)?.ratio ?? null,
    parallelFailures: report.parallel.reduce((sum, p) => sum + p.failures, 0),
    duplicateVmids: report.parallel.reduce((sum, p) => sum + p.duplicateVmids.length, 0),
    refusedCreates: report.parallel.reduce((sum, p) => sum + p.refusedCreates, 0),
    ansibleOverheadMs: report.ansible?.overheadMs ?? null,
    ansibleRatio: report.ansible?.ratio ?? null,
    ansibleSkipped: report.ansible?.skipped ?? null,
    // Summed over the runs.
    stacks50Failures: stacks50?.failures ?? null,
    stacks50Duplicates: stacks50?.duplicates ?? null,
    stacks50Refused: stacks50?.refused ?? null,
    stacks50Runs: stacks50?.runs ?? null,
    // Each stack's own Create RPC minus its container's actual time and minus local CPU contention on the create's
    // critical path: the run-queue wait there, its host's and the engine+sandbox thread's (see
    // `criticalContention`), its host's CPU time there beyond a lone host's (see `cpuExcessMs`), and the engine's
    // legs of the call beyond a lone stack's (see `engineExcessMs`), with where each address fell in its probe gap
    // integrated over that gap (`phaseIntegratedMedian`); the median of a run's stacks, then the median of the runs
    // (min, max beside), over a lone stack's taken the same way (`loneOverheadMs`). Beside it: the same measured,
    // each phase as drawn (Measured, the headline through session 21: its lone median moves by about 14 ms with where
    // 30 addresses happened to fall, as much as the excess it is compared with), with the phase at its mean (MeanPhase), with
    // the late probe's wait left in (LateProbeIn), the engine's legs left in (EngineIn), only the wait taken out
    // (WaitFree), raw, and the contention apart.
    stacks50OverheadMs: stacks50?.phaseIntegratedMs.median ?? null,
    stacks50OverheadMsMin: stacks50?.phaseIntegratedMs.min ?? null,
    stacks50OverheadMsMax: stacks50?.phaseIntegratedMs.max ?? null,
    stacks50RunOverheadMs: stacks50?.runPhaseIntegratedMs ?? null,
    stacks50OverheadRatio: stacks50?.phaseIntegratedRatio ?? null,
    stacks50OverheadRatioMin: stacks50?.phaseIntegratedRatioMin ?? null,
    stacks50OverheadRatioMax: stacks50?.phaseIntegratedRatioMax ?? null,
    loneOverheadMs: lone.phaseIntegratedMs,
    stacks50MeasuredOverheadMs: stacks50?.netMs.median ?? null,
    stacks50MeasuredOverheadMsMin: stacks50?.netMs.min ?? null,
    stacks50MeasuredOverheadMsMax: stacks50?.netMs.max ?? null,
    stacks50RunMeasuredOverheadMs: stacks50?.runNetMs ?? null,
    stacks50MeasuredOverheadRatio: stacks50?.ratio ?? null,
    stacks50MeasuredOverheadRatioMin: stacks50?.ratioMin ?? null,
    stacks50MeasuredOverheadRatioMax: stacks50?.ratioMax ?? null,
    loneMeasuredOverheadMs: lone.netMs,
    // Where the addresses fell in their probe gaps, the mean share of the gap: 0.5 where they fell evenly, as integrated.
    stacks50PhaseShare: stacks50?.phaseShare ?? null,
    lonePhaseShare: lone.phaseShare,
    // Their distance from 0.5 in standard errors: beyond about ±2, the integrated figures above are not to be trusted.
    stacks50PhaseShareZ: stacks50?.phaseShareZ ?? null,
    lonePhaseShareZ: lone.phaseShareZ,
    // The same with each address's phase in its probe gap at its mean, lone and 50 alike (`meanPhaseOverheads`).
    stacks50MeanPhaseOverheadMs: stacks50?.meanPhaseMs.median ?? null,
    stacks50MeanPhaseOverheadRatio: stacks50?.meanPhaseRatio ?? null,
    stacks50MeanPhaseOverheadRatioMin: stacks50?.meanPhaseRatioMin ?? null,
    stacks50MeanPhaseOverheadRatioMax: stacks50?.meanPhaseRatioMax ?? null,
    stacks50LateProbeInOverheadMs: stacks50?.lateInMs.median ?? null,
    stacks50LateProbeInOverheadRatio: stacks50?.lateInRatio ?? null,
    stacks50LateProbeMs: stacks50?.lateProbeMs ?? null,
    loneProbeCadenceMs: round(lone.cadenceMs, 1),
    stacks50EngineInOverheadMs: stacks50?.engineInMs.median ?? null,
    stacks50EngineInOverheadRatio: stacks50?.engineInRatio ?? null,
    stacks50WaitFreeOverheadMs: stacks50?.freeMs.median ?? null,
    stacks50WaitFreeOverheadRatio: stacks50?.freeRatio ?? null,
    stacks50WaitFreeOverheadRatioMin: stacks50?.freeRatioMin ?? null,
    stacks50WaitFreeOverheadRatioMax: stacks50?.freeRatioMax ?? null,
    stacks50RawOverheadMs: stacks50?.rawMs.median ?? null,
    stacks50RawOverheadRatio: stacks50?.rawRatio ?? null,
    stacks50ContentionMs: stacks50?.takenMs ?? null,
    stacks50CpuExcessMs: stacks50?.cpuExcessMs ?? null,
    stacks50HostCpuMs: stacks50 ? { beforeCreate: stacks50.hostCpuBeforeCreateMs, lastAnswer: stacks50.hostCpuLastAnswerMs } : null,
    loneHostCpuMs: { beforeCreate: round(lone.cpu.beforeCreateMs, 1), lastAnswer: round(lone.cpu.lastAnswerMs, 1) },
    stacks50EngineExcessMs: stacks50?.engineExcessMs ?? null,
    stacks50EngineLegsMs: stacks50 ? { begin: stacks50.engineBeginMs, return: stacks50.engineReturnMs } : null,
    loneEngineLegsMs: { begin: round(lone.engine.beginMs, 1), return: round(lone.engine.returnMs, 1) },
    stacks50HostCriticalWaitMs: stacks50?.hostCriticalWaitMs ?? null,
    stacks50BenchCriticalWaitMs: stacks50?.benchCriticalWaitMs ?? null,
    stacks50HostWaitMs: stacks50?.hostWaitMs ?? null,
    stacks50BenchWaitMs: stacks50?.benchWaitMs ?? null,
    stacks50ApiOverheadMs: stacks50?.apiOverheadMs ?? null,
    stacks50ApiOverheadRatio: stacks50 ? ratio(stacks50.apiOverheadMs, spread(report.single.apiOverheadMs).median) : null,
    stacks10OverheadMs: stacks10?.phaseIntegratedMs.median ?? null,
    stacks10OverheadRatio: stacks10?.phaseIntegratedRatio ?? null,
    stacks10OverheadRatioMin: stacks10?.phaseIntegratedRatioMin ?? null,
    stacks10OverheadRatioMax: stacks10?.phaseIntegratedRatioMax ?? null,
    stacks10MeasuredOverheadRatio: stacks10?.ratio ?? null,
    stacks10WaitFreeOverheadRatio: stacks10?.freeRatio ?? null,
    apiOverheadMs: spread(report.single.apiOverheadMs).median,
    hostWaitMs: spread(report.single.hostWaitMs).median,
    freeOverheadMs: spread(report.single.freeOverheadMs).median,
    netOverheadMs: lone.netMs,
    contentionMs: spread(report.single.contention.map((c) => c.takenMs)).median,
    schemaViolations: report.schemaViolations,
    parallel: report.parallel.map((p) => ({
      n: p.n, mode: p.mode, run: p.run, wallMs: p.wallMs, ratio: p.ratio, hostsUpMs: p.hostsUpMs ?? null, failures: p.failures, containers: p.containers, tracked: p.tracked,
      duplicateVmids: p.duplicateVmids, refusedCreates: p.refusedCreates, createAttempts: p.createAttempts, maxCreateAttempts: p.maxCreateAttempts, requests: p.requests,
      requestsPerCreate: round(p.requests / p.n, 1), createRpcMedianMs: p.createRpcMedianMs, createRpcMaxMs: p.createRpcMaxMs,
      overheadMs: spread(p.overheadMs), freeOverheadMs: spread(p.freeOverheadMs), apiOverheadMs: spread(p.apiOverheadMs), hostWaitMs: spread(p.hostWaitMs), benchWaitMs: spread(p.benchWaitMs),
      contentionMs: contentionMedians(p.contention),
      overheadSplitMs: splitMedians(p.split),
      freeSplitMs: splitMedians(freeSplit(p.split, p.contention)),
      serverMsP95: p.serverMsP95, benchCpuMs: p.benchCpuMs, hostCpuMs: p.hostCpuMs, eventLoopDelayP99Ms: p.eventLoopDelayP99Ms,
    })),
    image: report.image ?? null,
    parameters,
    machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => round(l, 1)) },
  };
}

const SPLIT_LABELS: Record<keyof OverheadSplit, string> = {
  beforeCreateMs: "RPC begin to create task", addressLagMs: "address shown to its answer", returnMs: "answer to RPC return", gapsMs: "between tasks", probeGapMs: "the probe gap it fell in", phaseMs: "where in it",
};

/** Each part's median over the runs (the parts' medians need not add up to the overhead's). */
const describeSplitMedians = (medians: Record<keyof OverheadSplit, number>) =>
  Object.entries(medians).map(([key, ms]) => `${SPLIT_LABELS[key as keyof OverheadSplit]} ${ms} ms`).join(", ");

type ContentionFigure = Exclude<keyof CriticalContention, "probe">;
const CONTENTION_KEYS: ReadonlyArray<ContentionFigure> = [
  "beforeCreateMs", "lastAnswerMs", "totalMs", "engineMs", "engineBeginMs", "takenEngineBeginMs", "takenEngineReturnMs", "benchBeforeCreateMs", "benchLastAnswerMs", "benchTotalMs", "takenBeforeCreateMs", "takenLastAnswerMs", "takenMs",
  "hostCpuBeforeCreateMs", "hostCpuLastAnswerMs", "beforeCreateSpanMs", "lastAnswerSpanMs",
];

/** Each part's median of the critical-path waits. */
function contentionMedians(contention: readonly CriticalContention[]): Record<ContentionFigure, number> {
  const of = (key: ContentionFigure) => spread(contention.map((c) => c[key])).median;
  return Object.fromEntries(CONTENTION_KEYS.map((key) => [key, of(key)])) as Record<ContentionFigure, number>;
}

const describeContention = (medians: Record<ContentionFigure, number>) =>
  `host ${medians.totalMs} ms (${medians.beforeCreateMs} / ${medians.lastAnswerMs}), engine+sandbox ${medians.benchTotalMs} ms (${medians.benchBeforeCreateMs} / ${medians.benchLastAnswerMs})`;

/**
 * The overhead's parts with the critical-path wait taken out of the part it fell in (the last answer's, all from
 * the return); a create without a contention record as it is, as `netOverheads` leaves it.
 */
function freeSplit(split: readonly OverheadSplit[], contention: readonly CriticalContention[]): OverheadSplit[] {
  return split.map((s, i) => (contention[i] ? { ...s, beforeCreateMs: s.beforeCreateMs - contention[i].takenBeforeCreateMs, returnMs: s.returnMs - contention[i].takenLastAnswerMs } : s));
}

function splitMedians(split: readonly OverheadSplit[]): Record<keyof OverheadSplit, number> {
  return Object.fromEntries((Object.keys(SPLIT_LABELS) as Array<keyof OverheadSplit>).map((key) => [key, round(median(split.map((s) => s[key]).filter(Number.isFinite)))])) as Record<keyof OverheadSplit, number>;
}

function render(parameters: BenchParameters, report: ContainerBenchReport): string {
  const { single, noop } = report;
  const lines = [
    `LaunchpadContainer on the sandbox (${parameters.nodes} nodes; means: create ${parameters.createMs} ms, start ${parameters.startMs} ms, ` +
      `IP ${parameters.ipMs} ms after start, pull ${parameters.pullMs} ms${parameters.quick ? ", --quick" : ""}; each create draws +-25%, seed ${parameters.seed})`,
    `load average at the end: ${os.loadavg().map((l) => round(l, 2)).join(", ")} (${os.cpus().length} CPUs, shared)`,
    "",
    "One create, template source, through the provider host (median of " + parameters.runs + ")",
    table([
      ["sandbox critical path (drawn create+start+IP)", `${single.criticalPathMs} ms`],
      ["Create RPC wall time", `${round(median(single.createRpcMs))} ms  (runs: ${single.createRpcMs.map((ms) => round(ms)).join(", ")})`],
      ["provider overhead (RPC - actual task and address times)", `${fmtSpread(single.overheadMs)}  (runs: ${single.overheadMs.map((ms) => round(ms)).join(", ")})`],
      ["overhead in parts, median of each", describeSplitMedians(splitMedians(single.split))],
      ["the same, the run-queue wait on its critical path taken out", `${fmtSpread(single.freeOverheadMs)}; that wait ${fmtSpread(single.contention.map((c) => c.takenMs))} (${describeContention(contentionMedians(single.contention))}); engine's side of the return ${fmtSpread(single.contention.map((c) => c.engineMs))}`],
      ["the host's CPU time on its critical path (before the POST / at the end)", `${fmtSpread(single.contention.map((c) => c.hostCpuBeforeCreateMs))} / ${fmtSpread(single.contention.map((c) => c.hostCpuLastAnswerMs))}`],
      ["API's view (create POST received to last answer - actual)", `${fmtSpread(single.apiOverheadMs)}  (runs: ${single.apiOverheadMs.map((ms) => round(ms)).join(", ")})`],
      ["local CPU contention, apart: host run-queue wait in the call", fmtSpread(single.hostWaitMs)],
      ...(report.baseline ? [["baseline build, same runs: overhead", `${fmtSpread(report.baseline.overheadMs)}; ${median(report.baseline.requests)} requests per create`] as [string, string]] : []),
      ...(report.ansible ? [["Ansible community.general.proxmox create+start", report.ansible.skipped ?? `overhead ${report.ansible.overheadMs} ms (runs: ${report.ansible.runs?.join(", ")}); ours / Ansible's ${report.ansible.ratio}`] as [string, string]] : []),
      ["whole up (host start, check, create)", `${round(median(single.upWallMs))} ms  (runs: ${single.upWallMs.map((ms) => round(ms)).join(", ")})`],
      ["provider host CPU (start-up included)", `${round(median(single.hostCpuMs))} ms`],
      ["requests per create", `${median(single.requests)}  (runs: ${single.requests.join(", ")})`],
      ["no-op up (identical inputs)", `${noop.requests} requests; host calls ${Object.entries(noop.hostCalls).map(([k, v]) => `${k} ${v}`).join(", ")}; ${noop.operations.join(", ")}`],
      ["destroy", `${report.deleteRequests} requests`],
      ["requests the official schema rejected (all runs)", report.schemaViolations + (report.schemaViolationSamples.length ? `  (${report.schemaViolationSamples.join(" | ")})` : "")],
    ]),
    "",
    "Where one create's time goes (median; the server's view of its requests)",
    table(([
      ["prepareMs", "reads before the create POST", 0],
      ["createMs", "create POST -> start POST", parameters.createMs],
      ["startMs", "start POST -> first /interfaces", parameters.startMs],
      ["ipMs", "first /interfaces -> done", parameters.ipMs],
    ] as const).map(([key, label, task]) => {
      const ms = round(median(single.phases.map((p) => p[key])));
      return [label, `${ms} ms  (sandbox ${task} ms, ${ms >= task ? "+" : "-"}${Math.abs(ms - task)} ms)`];
    })),
    "",
    "Requests of one create",
    table(single.breakdown.map(({ request, count }) => [request, count])),
  ];
  for (const p of report.parallel) {
    const how = { "one program": "N resources in one program, one host", "separate stacks": "N stacks at once, N hosts", "fixed vmids": "one program, every vmid given (control: no allocation race)" }[p.mode];
    lines.push("", `${p.n} parallel creates, ${how}${p.mode === "separate stacks" && parameters.stackRuns > 1 ? `, run ${p.run} of ${parameters.stackRuns}` : ""}`);
    lines.push(table([
      ["wall time", `${p.wallMs} ms  (${p.ratio} x one up)`],
      ...(p.hostsUpMs === undefined ? [] : [["hosts started, apart (creates let go together after)", `${p.hostsUpMs} ms`] as [string, string]]),
      ["per-create overhead (own Create RPC - actual)", fmtSpread(p.overheadMs)],
      ["API's view (create POST received to last answer - actual)", fmtSpread(p.apiOverheadMs)],
      ["overhead in parts, median of each", describeSplitMedians(splitMedians(p.split))],
      ...(p.mode !== "separate stacks" ? [] : ([
        ["the same, the run-queue wait on each create's critical path taken out", fmtSpread(p.freeOverheadMs)],
        ["  in parts, median of each", describeSplitMedians(splitMedians(freeSplit(p.split, p.contention)))],
        ["local CPU contention, apart: that wait (before the POST / at the end)", `${fmtSpread(p.contention.map((c) => c.takenMs))}; ${describeContention(contentionMedians(p.contention))}`],
        ["  the engine's side of the return (host's answer to the call's return), its wait taken", fmtSpread(p.contention.map((c) => c.engineMs))],
        ["the host's CPU time on its critical path (before the POST / at the end)", `${fmtSpread(p.contention.map((c) => c.hostCpuBeforeCreateMs))} / ${fmtSpread(p.contention.map((c) => c.hostCpuLastAnswerMs))}`],
      ] as Array<[string, string]>)),
      ["local CPU contention, apart: provider host run-queue wait in the whole call", fmtSpread(p.hostWaitMs)],
      ["local CPU contention, apart: the engines' thread run-queue wait", fmtSpread(p.benchWaitMs)],
      ["Create RPC median / max", `${p.createRpcMedianMs} / ${p.createRpcMaxMs} ms`],
      ["failures", p.failures + (p.failureMessages.length ? `  (${p.failureMessages.join(" | ")})` : "")],
      ["containers in the sandbox / tracked", `${p.containers} / ${p.tracked}`],
      ["duplicate vmids", p.duplicateVmids.length ? p.duplicateVmids.join(", ") : "none"],
      ["creates refused (vmid taken) / attempts", `${p.refusedCreates} / ${p.createAttempts}; unluckiest container ${p.maxCreateAttempts} attempts`],
      ["requests (per create)", `${p.requests} (${round(p.requests / p.n, 1)})`],
      ["sandbox answer time p50 / p95", `${p.serverMsP50} / ${p.serverMsP95} ms`],
      ["CPU: engine+sandbox / provider host(s)", `${p.benchCpuMs} / ${p.hostCpuMs} ms; event-loop delay p99 ${p.eventLoopDelayP99Ms} ms`],
      ["placement", Object.entries(p.nodes).sort().map(([node, count]) => `${node} ${count}`).join(", ")],
    ]));
  }
  const lone = loneOf(single);
  for (const n of parameters.stacks) {
    const runs = report.parallel.filter((p) => p.n === n && p.mode === "separate stacks");
    if (!runs.length) continue;
    const a = acrossRuns(runs, lone);
    lines.push("", `${n} separate stacks over ${a.runs} run(s): each run's median per stack, then the median of the runs`);
    lines.push(table([
      ["per-stack overhead, local CPU contention taken out, each address's phase integrated over its probe gap", `${a.phaseIntegratedMs.median} ms median of runs (min ${a.phaseIntegratedMs.min}, max ${a.phaseIntegratedMs.max}); runs: ${a.runPhaseIntegratedMs.join(", ")}`],
      ["  over a lone stack's (the same way)", `${a.phaseIntegratedRatio}x (min ${a.phaseIntegratedRatioMin}, max ${a.phaseIntegratedRatioMax}); lone ${lone.phaseIntegratedMs} ms`],
      ["  the same measured, each address's phase as drawn", `${a.netMs.median} ms median of runs (min ${a.netMs.min}, max ${a.netMs.max}); runs: ${a.runNetMs.join(", ")}; ${a.ratio}x (min ${a.ratioMin}, max ${a.ratioMax}) a lone stack's ${lone.netMs} ms`],
      ["  where the addresses fell in their gaps, mean share of the gap", `${a.phaseShare}, ${a.phaseShareZ} standard errors from even (lone ${lone.phaseShare}, ${lone.phaseShareZ}); 0.5 and within about ±2 where they fell evenly, as integrated`],
      ["  the same, each address's phase in its probe gap at its mean", `${a.meanPhaseMs.median} ms median of runs (min ${a.meanPhaseMs.min}, max ${a.meanPhaseMs.max}); ${a.meanPhaseRatio}x (min ${a.meanPhaseRatioMin}, max ${a.meanPhaseRatioMax}) a lone stack's ${lone.meanPhaseMs} ms`],
      ["per-stack overhead, the found probe's late wait left in", `${a.lateInMs.median} ms median of runs (min ${a.lateInMs.min}, max ${a.lateInMs.max}); ${a.lateInRatio}x a lone stack's ${lone.lateInMs} ms`],
      ["per-stack overhead, the engine's legs left in too", `${a.engineInMs.median} ms median of runs (min ${a.engineInMs.min}, max ${a.engineInMs.max}); ${a.engineInRatio}x a lone stack's ${lone.engineInMs} ms`],
      ["per-stack overhead, only the critical-path wait taken out", `${a.freeMs.median} ms median of runs (min ${a.freeMs.min}, max ${a.freeMs.max}); ${a.freeRatio}x (min ${a.freeRatioMin}, max ${a.freeRatioMax}) a lone stack's ${lone.freeMs} ms`],
      ["per-stack overhead, raw", `${a.rawMs.median} ms median of runs (min ${a.rawMs.min}, max ${a.rawMs.max}); ${a.rawRatio}x a lone stack's raw ${lone.rawMs} ms`],
      ["the wait taken out, median over every stack", `${a.takenMs} ms (host ${a.hostCriticalWaitMs}, engine+sandbox ${a.benchCriticalWaitMs})`],
      ["the wait that held back the probe that found the address, taken out", `${a.lateProbeMs} ms median over every stack, taken for ${Math.round(a.lateProbeTakenShare * 100)}% of them; due ${round(lone.cadenceMs, 1)} ms after the one before (a lone host's cadence)`],
      ["the host's CPU time beyond a lone host's, taken out, median over every stack", `${a.cpuExcessMs} ms; host CPU before the POST / at the end ${a.hostCpuBeforeCreateMs} / ${a.hostCpuLastAnswerMs} ms, lone ${round(lone.cpu.beforeCreateMs, 1)} / ${round(lone.cpu.lastAnswerMs, 1)} ms`],
      ["the engine's legs beyond a lone stack's, taken out, median over every stack", `${a.engineExcessMs} ms; the call's leg / the return's, wait out, ${a.engineBeginMs} / ${a.engineReturnMs} ms, lone ${round(lone.engine.beginMs, 1)} / ${round(lone.engine.returnMs, 1)} ms`],
      ["failures / duplicate vmids / refused creates, all runs", `${a.failures} / ${a.duplicates} / ${a.refused}`],
    ]));
  }
  if (report.image) {
    const image = report.image;
    lines.push("", "OCI image source (critical path with pull " + image.criticalPathMs + " ms)");
    lines.push(table([
      ["first create", `${image.first.createRpcMs} ms, ${image.first.requests} requests, ${image.first.pulls} pull(s), on ${image.first.node}`],
      ["second create, placed freely", `${image.second.createRpcMs} ms, ${image.second.requests} requests, ${image.second.pulls} pull(s), on ${image.second.node}`],
      ["third create, on the first's node", `${image.samenode.createRpcMs} ms, ${image.samenode.requests} requests, ${image.samenode.pulls} pull(s), on ${image.samenode.node}`],
    ]));
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  let parameters: BenchParameters;
  try {
    parameters = parseFlags(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const started = Date.now();
  log(`seed ${parameters.seed} (rerun with --seed ${parameters.seed} to draw the same durations)`);
  const report = await runContainerBench({
    times: parameters,
    seed: parameters.seed,
    baselineRoot: parameters.baseline,
    ansibleRuns: parameters.ansibleRuns,
    runs: parameters.runs,
    parallel: parameters.parallel,
    stacks: parameters.stacks,
    stackRuns: parameters.stackRuns,
    nodes: Array.from({ length: parameters.nodes }, (_, i) => `pve${i + 1}`),
    image: parameters.image,
    log,
  });
  const replace = parameters.replace ? await runReplaceBench(log) : { figures: { skipped: "--no-replace" }, text: "Image replace: skipped (--no-replace)" };
  log(`done in ${round((Date.now() - started) / 1000, 1)} s`);
  if (parameters.report) {
    fs.writeFileSync(parameters.report, JSON.stringify({ parameters, report }) + "\n");
    log(`every create's figures written to ${parameters.report}`);
  }
  process.stdout.write(render(parameters, report) + "\n\n" + replace.text + "\n\n");
  process.stdout.write(JSON.stringify({ ...summary(parameters, report), imageReplace: replace.figures }) + "\n");
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? error}\n`);
    process.exitCode = 1;
  });
}

