import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { acrossRuns, loneOf, parseFlags, summary } from "../../bench/index";
import { scratchRoot, type ParallelFigures } from "../../bench/container";
import {
  actualCriticalPathMs, apiOverheadMs, cpuExcessMs, criticalContention, engineExcessMs, lateProbeWaitMs, meanPhaseOverheads, phaseIntegratedMedian, phaseShare, phaseShareZ, probeCadenceMs, type OverheadSplit, threadWaitWithin, type CriticalContention, type HostEvent, overheadSplit, createAttemptsByHostname, createPhases, criticalPathMs, drawFor, drawTimes, duplicates, median, refusedCreates, requestBreakdown, seededRandom, spread, wallRatio,
} from "../../bench/stats";

describe("bench statistics", () => {
  it("median of odd and even counts, NaN for none", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it("critical path counts the pull only when the create pulls", () => {
    const times = { createMs: 8000, startMs: 2000, ipMs: 3000, pullMs: 20000 };
    assert.equal(criticalPathMs(times, false), 13000);
    assert.equal(criticalPathMs(times, true), 33000);
  });

  it("duplicates lists each repeated vmid once", () => {
    assert.deepEqual(duplicates([101, 100, 101, 102, 101, 100]), [100, 101]);
    assert.deepEqual(duplicates([100, 101]), []);
  });

  it("wall ratio rounds to two decimals and refuses a zero baseline", () => {
    assert.equal(wallRatio(15000, 13000), 1.15);
    assert.ok(Number.isNaN(wallRatio(1, 0)));
  });

  it("counts refused creates and groups requests by route", () => {
    const requests = [
      { method: "POST", path: "/nodes/pve1/lxc", template: "/nodes/{node}/lxc", status: 500 },
      { method: "POST", path: "/nodes/pve1/lxc", template: "/nodes/{node}/lxc", status: 200 },
      { method: "POST", path: "/nodes/pve1/lxc/100/clone", template: "/nodes/{node}/lxc/{vmid}/clone", status: 500 },
      { method: "POST", path: "/nodes/pve1/lxc/100/status/start", template: "/nodes/{node}/lxc/{vmid}/status/start", status: 500 },
      { method: "GET", path: "/cluster/nextid", status: 200 },
    ];
    assert.equal(refusedCreates(requests), 2);
    const posts = [
      { method: "POST", path: "/nodes/pve1/lxc", status: 500, params: { hostname: "a" } },
      { method: "POST", path: "/nodes/pve2/lxc", status: 200, params: { hostname: "a" } },
      { method: "POST", path: "/nodes/pve1/lxc", status: 200, params: { hostname: "b" } },
      { method: "POST", path: "/nodes/pve1/lxc/100/status/start", status: 200, params: { hostname: "b" } },
    ];
    assert.deepEqual(createAttemptsByHostname(posts), [2, 1]);
    assert.deepEqual(requestBreakdown(requests)[0], { request: "POST /nodes/{node}/lxc", count: 2 });
  });

  it("parses flags: defaults, --quick divides by 20, lists, bad values rejected", () => {
    const defaults = parseFlags([]);
    assert.deepEqual([defaults.createMs, defaults.startMs, defaults.ipMs, defaults.pullMs, defaults.parallel, defaults.stacks, defaults.runs], [8000, 2000, 3000, 20000, [10, 50], [10, 50], 30]);
    assert.ok(Number.isInteger(defaults.seed));
    assert.equal(parseFlags(["--seed", "42"]).seed, 42);
    const quick = parseFlags(["--quick", "--parallel", "5,20", "--create-ms=4000", "--stacks", "none"]);
    assert.deepEqual([quick.createMs, quick.startMs, quick.ipMs, quick.pullMs, quick.parallel, quick.stacks], [200, 100, 150, 1000, [5, 20], []]);
    assert.equal(defaults.stackRuns, 5);
    assert.equal(parseFlags(["--stack-runs", "3"]).stackRuns, 3);
    assert.throws(() => parseFlags(["--stack-runs", "0"]), /--stack-runs needs a whole number >= 1/);
    assert.throws(() => parseFlags(["--parallel", "10,x"]), /--parallel needs a whole number/);
    assert.throws(() => parseFlags(["--fast"]), /Unknown option '--fast'/);
    assert.equal(defaults.report, undefined);
    assert.equal(parseFlags(["--report", "/tmp/every-create.json"]).report, "/tmp/every-create.json");
  });
});

describe("separate stacks over their runs", () => {
  const runOf = (free: number[], raw: number[], extra: Partial<ParallelFigures> = {}) => ({
    n: free.length, mode: "separate stacks", freeOverheadMs: free, overheadMs: raw, contention: [], split: [], hostWaitMs: [], benchWaitMs: [], apiOverheadMs: [],
    failures: 0, duplicateVmids: [], refusedCreates: 0, ...extra,
  }) as unknown as ParallelFigures;

  it("takes each run's median per stack, then the median of the runs with their min and max, over the lone stack's", () => {
    const noCpu = { beforeCreateMs: NaN, lastAnswerMs: NaN };
    const noEngine = { beginMs: NaN, returnMs: NaN };
    const a = acrossRuns([runOf([100, 300, 200], [150, 350, 250]), runOf([500, 400, 600], [550, 450, 650], { failures: 1, refusedCreates: 2 }), runOf([90, 110, 100], [140, 160, 150], { duplicateVmids: [7] })], { netMs: 100, meanPhaseMs: 100, phaseIntegratedMs: 100, lateInMs: 100, engineInMs: 100, freeMs: 80, rawMs: 150, cpu: noCpu, engine: noEngine, cadenceMs: NaN, phaseShare: NaN, phaseShareZ: NaN });
    assert.deepEqual(a.runFreeMs, [200, 500, 100]);
    assert.deepEqual(a.runNetMs, [200, 500, 100], "no host CPU record: nothing more taken out");
    assert.deepEqual(a.freeMs, { median: 200, min: 100, max: 500 });
    assert.deepEqual([a.ratio, a.ratioMin, a.ratioMax], [2, 1, 5]);
    assert.deepEqual([a.freeRatio, a.freeRatioMin, a.freeRatioMax], [2.5, 1.25, 6.25]);
    assert.deepEqual(a.rawMs, { median: 250, min: 150, max: 550 });
    assert.equal(a.rawRatio, 1.67);
    assert.deepEqual([a.runs, a.failures, a.duplicates, a.refused], [3, 1, 1, 2], "summed over the runs");
  });

  it("has no ratio over a lone stack without a figure", () => {
    assert.equal(acrossRuns([runOf([100], [150])], { netMs: NaN, meanPhaseMs: NaN, phaseIntegratedMs: NaN, lateInMs: NaN, engineInMs: NaN, freeMs: NaN, rawMs: 0, cpu: { beforeCreateMs: 10, lastAnswerMs: 2 }, engine: { beginMs: 1, returnMs: 1 }, cadenceMs: 150, phaseShare: NaN, phaseShareZ: NaN }).ratio, null);
  });

  // A contention record with only what `cpuExcessMs` reads: the host's CPU time on each stretch, the wait taken
  // there, each stretch's length.
  const used = (before: number, last: number, taken = [0, 0], span = [100, 100]) => ({
    hostCpuBeforeCreateMs: before, hostCpuLastAnswerMs: last, takenBeforeCreateMs: taken[0], takenLastAnswerMs: taken[1], beforeCreateSpanMs: span[0], lastAnswerSpanMs: span[1],
  }) as CriticalContention;

  it("takes a host's CPU time beyond a lone host's out of each stack, and a lone stack's beyond its own median the same way", () => {
    // Lone hosts: 10, 12 and 14 ms of CPU before the POST (median 12), 2, 3 and 4 at the end (median 3).
    const lone = loneOf({ freeOverheadMs: [100, 110, 120], overheadMs: [130, 140, 150], contention: [used(10, 2), used(12, 3), used(14, 4)], split: [] });
    assert.deepEqual(lone.cpu, { beforeCreateMs: 12, lastAnswerMs: 3 });
    assert.deepEqual([lone.netMs, lone.freeMs, lone.rawMs], [110, 110, 140], "the slowest lone host's 2 + 1 ms over the median: 120 - 3 = 117, still the largest");
    // A run of three stacks: hosts 8 and 1 ms over the lone median, one under it (nothing given back), one with no record.
    const run = runOf([150, 130, 140], [200, 180, 190], { contention: [used(20, 4), used(11, 2), used(NaN, NaN)] });
    const a = acrossRuns([run], lone);
    assert.deepEqual(a.runNetMs, [140], "150 - 9 = 141, 130, 140: median 140");
    assert.deepEqual(a.runFreeMs, [140]);
    assert.equal(a.cpuExcessMs, 0, "median over the three stacks: 9, 0, 0");
    assert.equal(a.ratio, 1.27);
  });

  // A contention record with the engine's legs too: each leg, the wait taken on it, and the stretches as `used`.
  const legs = (begin: number, ret: number, legWaits = [0, 0], extra: Partial<CriticalContention> = {}) => ({
    ...used(NaN, NaN, [legWaits[0], legWaits[1]]), engineBeginMs: begin, engineMs: ret, takenEngineBeginMs: legWaits[0], takenEngineReturnMs: legWaits[1], ...extra,
  }) as CriticalContention;

  it("takes the engine's legs beyond a lone stack's out of each stack, their waits first, and leaves them in beside", () => {
    // Lone engines: 3, 4 and 5 ms to the handler (median 4), 6, 8 and 10 ms back (median 8), no wait on either.
    const lone = loneOf({ freeOverheadMs: [100, 110, 120], overheadMs: [100, 110, 120], contention: [legs(3, 6), legs(4, 8), legs(5, 10)], split: [] });
    assert.deepEqual(lone.engine, { beginMs: 4, returnMs: 8 });
    assert.deepEqual([lone.netMs, lone.engineInMs], [110, 110], "the slowest lone stack's 1 + 2 ms over the medians: 117, still the largest");
    // Three stacks: legs 14 / 58 (10 + 50 over), one whose 20 ms return leg was a wait already taken (nothing
    // more), one under the lone's (nothing given back).
    const run = runOf([160, 150, 140], [160, 150, 140], { contention: [legs(14, 58), legs(4, 28, [0, 20]), legs(2, 5)] });
    const a = acrossRuns([run], lone);
    assert.deepEqual(a.runNetMs, [140], "160 - 60 = 100, 150, 140: median 140");
    assert.deepEqual(a.engineInMs.median, 150, "the engine's legs left in");
    assert.equal(a.engineExcessMs, 0, "median over the three stacks: 60, 0, 0");
    assert.deepEqual([a.engineBeginMs, a.engineReturnMs], [4, 8], "each leg with its wait out, median over every stack: 14, 4, 2 and 58, 8, 5");
    assert.deepEqual([a.ratio, a.engineInRatio], [1.27, 1.36]);
  });

  it("never takes out more of an engine leg than is left of its stretch after the wait and the host's CPU excess there", () => {
    const cpu = { beforeCreateMs: 10, lastAnswerMs: 3 };
    const engine = { beginMs: 4, returnMs: 8 };
    const c = (extra: Partial<CriticalContention>) => legs(14, 58, [0, 0], extra);
    assert.equal(engineExcessMs(c({}), { beforeCreateMs: NaN, lastAnswerMs: NaN }, engine), 10 + 50);
    assert.equal(engineExcessMs(c({ hostCpuBeforeCreateMs: 15, hostCpuLastAnswerMs: 3 }), cpu, engine), 10 + 50, "5 ms of CPU excess leaves 95 of the 100 ms stretch");
    assert.equal(engineExcessMs(c({ hostCpuBeforeCreateMs: 15, takenBeforeCreateMs: 90 }), cpu, engine), 5 + 50, "90 waited and 5 CPU excess: 5 left before the POST");
    assert.equal(engineExcessMs(c({ lastAnswerSpanMs: 30 }), cpu, engine), 10 + 30, "a 30 ms stretch at the end holds the return leg's 50 to 30");
    assert.equal(engineExcessMs(c({ engineBeginMs: NaN, engineMs: NaN }), cpu, engine), 0, "no legs recorded: nothing taken");
    assert.equal(engineExcessMs(c({}), cpu, { beginMs: NaN, returnMs: NaN }), 0, "no lone reference: nothing taken");
  });

  it("puts each address's phase in its probe gap at its mean, lone and separate stacks alike, and leaves a create without a gap as it is", () => {
    const split = (phaseMs: number, probeGapMs: number) => ({ phaseMs, probeGapMs }) as OverheadSplit;
    assert.deepEqual(meanPhaseOverheads([100, 200, 150, 90], [split(20, 150), split(140, 150), split(NaN, NaN), split(10, 40)]), [100 - 20 + 75, 200 - 140 + 75, 150, 90 - 10 + 20]);
    // Lone creates whose addresses showed early in their gaps: their median rises to the mean phase's.
    const lone = loneOf({ freeOverheadMs: [60, 70, 80], overheadMs: [60, 70, 80], contention: [], split: [split(5, 150), split(10, 150), split(15, 150)] });
    assert.deepEqual([lone.netMs, lone.meanPhaseMs], [70, 135]);
    const run = runOf([150, 160, 170], [150, 160, 170], { split: [split(75, 150), split(100, 150), split(50, 150)] });
    const a = acrossRuns([run], lone);
    assert.deepEqual([a.runNetMs, a.runMeanPhaseMs], [[160], [150]], "150, 135, 195: median 150");
    assert.deepEqual([a.ratio, a.meanPhaseRatio], [2.29, 1.11]);
  });

  it("integrates each address's phase over its probe gap: the mixture's median, the spread kept where the mean phase drops it", () => {
    const split = (phaseMs: number, probeGapMs: number) => ({ phaseMs, probeGapMs }) as OverheadSplit;
    // Without gaps, the plain median, odd and even.
    assert.equal(phaseIntegratedMedian([30, 10, 20], []), 20);
    assert.equal(phaseIntegratedMedian([40, 10, 30, 20], [split(NaN, NaN)]), 25);
    assert.ok(Number.isNaN(phaseIntegratedMedian([], [])));
    // One create: even over [100 - 30, 100 - 30 + 150], its middle 145 wherever its phase fell.
    assert.ok(Math.abs(phaseIntegratedMedian([100], [split(30, 150)]) - 145) < 1e-6);
    assert.ok(Math.abs(phaseIntegratedMedian([200], [split(130, 150)]) - 145) < 1e-6);
    // Rests 0, 0, 0, 300 with a 100 ms gap: three even over [0, 100], one over [300, 400]. Half the mixture lies
    // below 2/3 x 100, where the mean phase would say 50 and the drawn phases anything from 0 to 100.
    const rests = [0, 0, 0, 300];
    const phases = [10, 50, 90, 20];
    const overheads = rests.map((rest, i) => rest + phases[i]);
    const splits = phases.map((phase) => split(phase, 100));
    assert.ok(Math.abs(phaseIntegratedMedian(overheads, splits) - 200 / 3) < 1e-6);
    assert.deepEqual(meanPhaseOverheads(overheads, splits).sort((a, b) => a - b), [50, 50, 50, 350], "the mean phase: median 50");
    // The gap's own wait comes out of the gap first, as the mean phase takes it: [100 - 30, 100 - 30 + 100].
    assert.ok(Math.abs(phaseIntegratedMedian([100], [split(30, 150)], [50]) - 120) < 1e-6);
    // 100 creates on the same rests (75 at 0, 25 at 300), their phases drawn afresh 2000 times: the integrated
    // median is 200/3 whatever was drawn, and the drawn medians average it (66.4 expected): the draw's noise is what goes.
    const many = Array.from({ length: 100 }, (_, i) => (i < 75 ? 0 : 300));
    const random = seededRandom(7);
    const medians = Array.from({ length: 2000 }, () => {
      const drawn = many.map(() => random() * 100);
      const integrated = phaseIntegratedMedian(many.map((rest, i) => rest + drawn[i]), drawn.map((phase) => split(phase, 100)));
      assert.ok(Math.abs(integrated - 200 / 3) < 1e-6);
      return median(many.map((rest, i) => rest + drawn[i]));
    });
    assert.ok(Math.abs(medians.reduce((a, b) => a + b, 0) / medians.length - 200 / 3) < 1.5, "the drawn medians average the integrated one");
    assert.ok(Math.max(...medians) - Math.min(...medians) > 20, "while each drawn median moves with its draw");
  });

  it("carries the phase-integrated median per run and over a lone stack's", () => {
    const split = (phaseMs: number, probeGapMs: number) => ({ phaseMs, probeGapMs }) as OverheadSplit;
    const lone = loneOf({ freeOverheadMs: [60, 70, 80], overheadMs: [60, 70, 80], contention: [], split: [split(5, 150), split(10, 150), split(15, 150)] });
    assert.equal(lone.phaseIntegratedMs, 135, "rests 55, 60, 65, each over 150: the middle one's middle");
    const run = runOf([150, 160, 170], [150, 160, 170], { split: [split(75, 150), split(100, 150), split(50, 150)] });
    const a = acrossRuns([run], lone);
    // Rests 75, 60, 120, each over 150: (3m - 255) / 450 = 1/2 at 160.
    assert.deepEqual([a.runPhaseIntegratedMs, a.phaseIntegratedMs.median, a.phaseIntegratedRatio], [[160], 160, 1.19]);
  });

  it("leads the JSON line with the phase-integrated figures, the measured ones beside them under their own keys", () => {
    const split = (phaseMs: number, probeGapMs: number) => ({ phaseMs, probeGapMs }) as OverheadSplit;
    const lone = [60, 70, 80];
    const single = {
      criticalPathMs: 13_000, overheadMs: lone, apiOverheadMs: lone, hostWaitMs: [0, 0, 0], contention: [], freeOverheadMs: lone, split: [split(5, 150), split(10, 150), split(15, 150)],
      drawn: [], createRpcMs: [13_060, 13_070, 13_080], upWallMs: [14_000, 14_000, 14_000], requests: [28, 28, 28], breakdown: [], phases: [], hostCpuMs: [1500, 1500, 1500],
    };
    const stacks = (n: number, phases: number[]) => ({
      ...runOf([150, 160, 170], [150, 160, 170], { n, split: phases.map((phase) => split(phase, 150)) }),
      run: 1, wallMs: 1, ratio: 1, containers: n, tracked: n, createAttempts: n, maxCreateAttempts: 1, requests: 28 * n, nodes: {},
    });
    const report = {
      single, noop: { requests: 0, operations: [], hostCalls: {} }, deleteRequests: 8, schemaViolations: 0, createOverheadMs: 70,
      parallel: [stacks(50, [75, 100, 50]), stacks(10, [140, 145, 130])],
    } as unknown as Parameters<typeof summary>[1];
    const line = summary(parseFlags(["--seed", "1"]), report);
    // Lone: rests 55, 60, 65 each over 150, 135 ms; measured 70. The 50: rests 75, 60, 120, 160 ms; measured 160.
    assert.deepEqual([line.stacks50OverheadMs, line.stacks50RunOverheadMs, line.loneOverheadMs, line.stacks50OverheadRatio], [160, [160], 135, 1.19]);
    assert.deepEqual([line.stacks50MeasuredOverheadMs, line.stacks50RunMeasuredOverheadMs, line.loneMeasuredOverheadMs, line.stacks50MeasuredOverheadRatio], [160, [160], 70, 2.29]);
    // The 10: rests 10, 15, 40, each over 150: (3m - 65) / 450 = 1/2 at 96.67.
    assert.deepEqual([line.stacks10OverheadRatio, line.stacks10MeasuredOverheadRatio], [0.72, 2.29]);
    // Where the addresses fell: (5 + 10 + 15) / 3 of 150 lone, (75 + 100 + 50) / 3 of 150 for the 50.
    assert.deepEqual([line.lonePhaseShare, line.stacks50PhaseShare], [0.07, 0.5]);
    // Their distance from 0.5: (0.0667 - 0.5) x √(12 x 3) lone, none for the 50.
    assert.deepEqual([line.lonePhaseShareZ, line.stacks50PhaseShareZ], [-2.6, 0]);
  });

  it("takes where each address fell in its probe gap as a share of the gap, and leaves out a create without a gap", () => {
    const split = (phaseMs: number, probeGapMs: number) => ({ phaseMs, probeGapMs }) as OverheadSplit;
    assert.equal(phaseShare([split(0, 150), split(150, 150), split(30, 60), split(NaN, NaN), split(5, 0)]), 0.5, "(0 + 1 + 0.5) / 3");
    assert.ok(Number.isNaN(phaseShare([split(NaN, 150)])));
  });

  it("measures how far the phases' mean share is from even in standard errors of that many even draws", () => {
    const split = (phaseMs: number, probeGapMs: number) => ({ phaseMs, probeGapMs }) as OverheadSplit;
    assert.equal(phaseShareZ([split(0, 150), split(150, 150), split(30, 60), split(5, 0)]), 0, "a mean of 0.5");
    // Four at a quarter: (0.25 - 0.5) x √(12 x 4) = -1.73; twelve at 0.75: 0.25 x 12 = 3.
    assert.equal(phaseShareZ(Array.from({ length: 4 }, () => split(25, 100))), -1.7);
    assert.equal(phaseShareZ(Array.from({ length: 12 }, () => split(75, 100))), 3);
    assert.ok(Number.isNaN(phaseShareZ([split(NaN, 150)])));
  });

  // A contention record with only the found probe: the one before it sent at 1000, this one at `sentAt`, the
  // address showing at `addressAt`; the host read its wait, CPU time and times put on a CPU at the one's sending,
  // at its answer (3 ms on) and at this one's sending, where it had waited `wait` more, used 1 ms more CPU, and
  // been put on a CPU `slices` more times.
  const late = (sentAt: number, addressAt: number, wait: number, slices = 1) => ({
    ...used(NaN, NaN),
    probe: {
      previousAt: 1000, sentAt, addressAt,
      waits: [{ at: 1000, waitMs: 10, cpuMs: 50, slices: 7 }, { at: 1003, waitMs: 10, cpuMs: 51, slices: 7 }, { at: sentAt, waitMs: 10 + wait, cpuMs: 52, slices: 7 + slices }],
    },
  }) as CriticalContention;

  it("takes the wait that held back the probe that found the address, only where the probe due would have found it", () => {
    // Due at 1150; sent at 1210 after one wake-up with 50 ms of wait and 1 ms of CPU before the sending: the wait
    // lay within 1159 to 1209, all after the due time.
    assert.equal(lateProbeWaitMs(late(1210, 1100, 50), 150), 50);
    assert.equal(lateProbeWaitMs(late(1210, 1100, 80), 150), 59, "80 ms of wait ending at 1209: only the 59 after the due time");
    assert.equal(lateProbeWaitMs(late(1210, 1180, 50), 150), 0, "the address showed after the due time: a probe on time would have missed it");
    assert.equal(lateProbeWaitMs(late(1210, 1180, 50), 150, true), 50, "any phase: what the gap held of waits");
    assert.equal(lateProbeWaitMs(late(1210, 1100, 50, 2), 150), 0, "put on a CPU twice: the wait may have come before the due time (the reading 147 ms before it)");
    assert.equal(lateProbeWaitMs(late(1210, 1100, 190, 2), 150), 43, "190 ms of wait in the 207 since the last reading: at least 43 after the due time");
    assert.equal(lateProbeWaitMs(late(1140, 1100, 50), 150), 0, "sent before it was due: not late");
    assert.equal(lateProbeWaitMs(late(1210, 1100, 50), NaN), 0, "no lone cadence: nothing taken");
    assert.equal(lateProbeWaitMs(used(NaN, NaN), 150), 0, "no probe on record: nothing taken");
    const unread = late(1210, 1100, 50);
    unread.probe!.waits = unread.probe!.waits.map((w) => ({ ...w, slices: null, cpuMs: null }));
    assert.equal(lateProbeWaitMs(unread, 150), 0, "no CPU readings: the wait is placed only by its readings");
  });

  it("takes the late probe's wait out of each stack and the lone stack alike, and leaves it in beside; the mean phase takes it from the gap", () => {
    // Lone hosts' probes 149, 150 and 151 ms apart, none late: a cadence of 150, nothing taken.
    const lone = loneOf({ freeOverheadMs: [100, 110, 120], overheadMs: [100, 110, 120], contention: [late(1149, 1100, 0), late(1150, 1100, 0), late(1151, 1100, 0)], split: [] });
    assert.equal(lone.cadenceMs, 150);
    assert.deepEqual([lone.netMs, lone.lateInMs, lone.meanPhaseMs], [110, 110, 110]);
    // Three stacks: 50 ms of wait held the first back, the second's address showed after its due time (its 30 ms
    // stays in), 40 ms held the third back.
    const split = (phaseMs: number) => ({ phaseMs, probeGapMs: 210 }) as OverheadSplit;
    const run = runOf([200, 220, 240], [200, 220, 240], { contention: [late(1210, 1100, 50), late(1210, 1180, 30), late(1210, 1100, 40)], split: [split(100), split(30), split(100)] });
    const a = acrossRuns([run], lone);
    assert.deepEqual([a.runNetMs, a.lateInMs.median], [[200], 220], "150, 220, 200: median 200; left in, 220");
    assert.deepEqual([a.ratio, a.lateInRatio], [1.82, 2]);
    assert.deepEqual([a.lateProbeMs, a.lateProbeTakenShare], [40, 0.67], "50, 0, 40");
    // Mean phase, from the overheads with the late wait in: 200 - 100 + (210 - 50) / 2, 220 - 30 + (210 - 30) / 2, 240 - 100 + (210 - 40) / 2.
    assert.deepEqual(a.runMeanPhaseMs, [225], "180, 280, 225");
    assert.ok(Number.isNaN(probeCadenceMs([used(NaN, NaN)])), "no probe on record: no cadence");
  });

  it("never takes out more CPU time than is left of a stretch after its wait, nor any without both records", () => {
    const lone = { beforeCreateMs: 10, lastAnswerMs: 3 };
    assert.equal(cpuExcessMs(used(25, 8), lone), 15 + 5);
    assert.equal(cpuExcessMs(used(25, 8, [95, 0]), lone), 5 + 5, "95 of the 100 ms stretch taken as a wait: 5 left");
    assert.equal(cpuExcessMs(used(25, 8, [120, 0], [100, 100]), lone), 0 + 5);
    assert.equal(cpuExcessMs(used(25, 8, [NaN, NaN]), lone), 15 + 5, "no wait figure: the stretch is the bound");
    assert.equal(cpuExcessMs(used(25, 8, [0, 0], [NaN, 4]), lone), 0 + 4, "no stretch: nothing taken there");
    assert.equal(cpuExcessMs(used(5, 1), lone), 0, "under the lone host's: nothing given back");
    assert.equal(cpuExcessMs(used(25, 8), { beforeCreateMs: NaN, lastAnswerMs: NaN }), 0);
  });
});

describe("bench create phases", () => {
  it("splits a create at the create POST, the start POST and the first /interfaces read", () => {
    const r = (method: string, path: string, startMs: number, durationMs = 5, status = 200) => ({ method, path, startMs, durationMs, status });
    const phases = createPhases([
      r("GET", "/cluster/resources", 1000),
      r("POST", "/nodes/pve1/lxc", 1020, 5, 500),
      r("POST", "/nodes/pve1/lxc", 1040),
      r("GET", "/nodes/pve1/tasks/UPID/status", 1100),
      r("POST", "/nodes/pve1/lxc/100/status/start", 9200),
      r("GET", "/nodes/pve1/lxc/100/interfaces", 12300),
      r("GET", "/nodes/pve1/lxc/100/interfaces", 15400, 10),
    ]);
    assert.deepEqual(phases, { prepareMs: 40, createMs: 8160, startMs: 3100, ipMs: 3110 });
  });
});

describe("bench durations and overheads", () => {
  /** What the sandbox recorded: CT 100 created, started, its address 3050 ms after; CT 101 created, never started. */
  const timeline = {
    tasks: [
      { type: "vzcreate", id: "100", startedMs: 1040, endedMs: 9100 },
      { type: "vzcreate", id: "101", startedMs: 500, endedMs: 900 },
      { type: "vzstart", id: "100", startedMs: 9101, endedMs: 11150 },
    ],
    starts: [{ vmid: 100, startedMs: 11150, leasedMs: 14200 }],
  };

  it("the same seed draws the same durations, within +-25% of the means and not round", () => {
    const means = { createMs: 8000, startMs: 2000, ipMs: 3000, pullMs: 20000 };
    const draw = (seed: number) => { const random = seededRandom(seed); return [1, 2, 3].map(() => drawTimes(means, random)); };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
    for (const times of draw(123)) {
      assert.ok(times.createMs >= 6000 && times.createMs <= 10000 && times.ipMs >= 2250 && times.ipMs <= 3750, JSON.stringify(times));
    }
  });

  it("a rerun with the printed seed draws every run's durations again, whichever runs it skips or reorders", () => {
    const means = { createMs: 8000, startMs: 2000, ipMs: 3000, pullMs: 20000 };
    const labels = ["single-1", "ansible-1", "single-2", "one-program-10", "separate-stacks-50"];
    const first = labels.map((label) => drawFor(means, 20261201, label));
    // Ansible missing, the parallel runs first: the same run still gets the same durations.
    const again = [...labels].reverse().filter((label) => !label.startsWith("ansible")).map((label) => [label, drawFor(means, 20261201, label)] as const);
    for (const [label, times] of again) assert.deepEqual(times, first[labels.indexOf(label)], label);
    assert.notDeepEqual(drawFor(means, 20261201, "single-1"), drawFor(means, 20261202, "single-1"), "another seed, other durations");
    assert.notDeepEqual(first[0], first[2], "each run its own draw");
    for (const times of first) assert.ok(times.createMs >= 6000 && times.createMs <= 10000, JSON.stringify(times));
  });

  it("the API's view of a create: its create POST received to its last answer, minus the actual time; other containers' requests ignored", () => {
    const r = (method: string, path: string, startMs: number, params: Record<string, unknown> = {}, durationMs = 2, status = 200) => ({ method, path, startMs, durationMs, status, params });
    const requests = [
      r("GET", "/cluster/resources", 900),
      r("POST", "/nodes/pve1/lxc", 1000, { vmid: 100001 }),
      r("GET", "/nodes/pve1/tasks", 1050, { vmid: 100001, source: "all" }),
      r("GET", "/nodes/pve1/lxc/100002/interfaces", 20000, {}, 5),
      r("GET", "/nodes/pve1/lxc/100001/interfaces", 14100, {}, 3),
    ];
    assert.equal(apiOverheadMs(requests, 100001, 13000), 14103 - 1000 - 13000);
    assert.ok(Number.isNaN(apiOverheadMs(requests, 100003, 13000)), "no create POST seen: no figure");
  });

  it("the overhead in parts: to the create task, behind the address, the way back; the parts add up to the overhead", () => {
    const r = (path: string, startMs: number, durationMs = 2, params: Record<string, unknown> = {}) => ({ method: path === "/nodes/pve1/lxc" ? "POST" : "GET", path, startMs, durationMs, status: 200, params });
    const requests = [
      r("/cluster/resources", 1010),
      r("/nodes/pve1/lxc", 1038, 1, { vmid: 100 }),
      r("/nodes/pve1/lxc/100/interfaces", 14100),
      r("/nodes/pve1/lxc/100/interfaces", 14250, 3),
      r("/nodes/pve1/lxc/101/interfaces", 14400, 5),
    ];
    const split = overheadSplit(timeline, requests, 100, { begunAt: 1000, returnedAt: 14263 });
    assert.deepEqual(split, { beforeCreateMs: 40, addressLagMs: 53, returnMs: 10, gapsMs: 1, probeGapMs: 150, phaseMs: 50 });
    const overhead = 14263 - 1000 - actualCriticalPathMs(timeline, 100);
    assert.equal(split.beforeCreateMs + split.addressLagMs + split.returnMs + split.gapsMs, overhead);
    const none = overheadSplit({ tasks: [], starts: [] }, [], 100, { begunAt: 1000, returnedAt: 2000 });
    assert.ok(Number.isNaN(none.beforeCreateMs) && Number.isNaN(none.addressLagMs) && Number.isNaN(none.probeGapMs) && Number.isNaN(none.phaseMs), "no record: no figure, not zero");
    // Found by the first probe: no gap, so no phase either.
    assert.ok(Number.isNaN(overheadSplit(timeline, requests.filter((x) => x.startMs !== 14100), 100, { begunAt: 1000, returnedAt: 14263 }).phaseMs));
  });

  it("the actual critical path is the container's own create, start and address times as recorded", () => {
    assert.equal(actualCriticalPathMs(timeline, 100), 8060 + 2049 + 3050);
    assert.ok(Number.isNaN(actualCriticalPathMs(timeline, 101)), "no start: unknown, not zero");
    assert.deepEqual(spread([300, 100, 200, NaN]), { median: 200, min: 100, max: 300 });
  });

  it("with start=1 the start phase begins at the task-list read that finds the vzstart task", () => {
    const r = (method: string, path: string, startMs: number) => ({ method, path, startMs, durationMs: 5, status: 200 });
    const phases = createPhases([r("GET", "/cluster/resources", 1000), r("POST", "/nodes/pve1/lxc", 1010), r("GET", "/nodes/pve1/tasks", 9100), r("GET", "/nodes/pve1/lxc/100/interfaces", 11200)]);
    assert.deepEqual(phases, { prepareMs: 10, createMs: 8090, startMs: 2100, ipMs: 5 });
    // With the create's end from the timeline: the first request after it is the probe that saw it.
    const probes = [r("GET", "/cluster/resources", 1000), r("POST", "/nodes/pve1/lxc", 1010), r("GET", "/nodes/pve1/tasks", 7000), r("GET", "/nodes/pve1/tasks", 9150), r("GET", "/nodes/pve1/tasks", 11100), r("GET", "/nodes/pve1/lxc/100/interfaces", 11200)];
    assert.deepEqual(createPhases(probes, 9050), { prepareMs: 10, createMs: 8140, startMs: 2050, ipMs: 5 });
  });

  it("an /interfaces read before the create ended (null: not running) does not open the address phase", () => {
    const r = (method: string, path: string, startMs: number) => ({ method, path, startMs, durationMs: 5, status: 200 });
    const probes = [r("GET", "/cluster/resources", 1000), r("POST", "/nodes/pve1/lxc", 1010), r("GET", "/nodes/pve1/tasks", 1100), r("GET", "/nodes/pve1/lxc/100/interfaces", 8800), r("GET", "/nodes/pve1/lxc/100/interfaces", 9600), r("GET", "/nodes/pve1/lxc/100/interfaces", 14000)];
    assert.deepEqual(createPhases(probes, 9050), { prepareMs: 10, createMs: 8590, startMs: 0, ipMs: 4405 });
  });

  describe("local CPU contention on a create's critical path", () => {
    const e = (kind: HostEvent["kind"], at: number, waitMs: number, method = "GET", path = "/api2/json/cluster/resources"): HostEvent => ({ kind, at, waitMs, method, path });
    const call = { begunAt: 1000, returnedAt: 14300, waitAtBeginMs: 50 };
    const events = [
      e("sent", 900, 40), // an earlier call's: outside this one
      e("begun", 1030, 70, "RPC", "Create"),
      e("sent", 1040, 75),
      e("answered", 1200, 200),
      e("sent", 1300, 260, "POST", "/api2/json/nodes/pve1/lxc"),
      e("answered", 1310, 262, "POST", "/api2/json/nodes/pve1/lxc"),
      e("sent", 9000, 900, "GET", "/api2/json/nodes/pve1/lxc/100/interfaces"), // a late poll: not on the path
      e("answered", 9002, 900, "GET", "/api2/json/nodes/pve1/lxc/100/interfaces"),
      e("sent", 14200, 1500, "GET", "/api2/json/nodes/pve1/lxc/100/interfaces"),
      e("answered", 14240, 1530, "GET", "/api2/json/nodes/pve1/lxc/100/interfaces"),
      e("done", 14250, 1534, "RPC", "Create"),
    ];

    it("takes the wait from the call's begin to the create POST, and from the last request to the answer", () => {
      const c = criticalContention(call, events);
      // Wake-up 20 (70 - 50, within the 30 ms to the handler), then 190 to the POST; the last request's 34.
      assert.deepEqual([c.beforeCreateMs, c.lastAnswerMs, c.totalMs, c.engineMs], [210, 34, 244, 50]);
      assert.ok(Number.isNaN(c.benchTotalMs) && Number.isNaN(c.takenMs), "no figure without the engine+sandbox thread's readings (not zero)");
    });

    it("counts the host's wait to the create POST on the wire: put off a CPU after undici's \"sent\", it still held the request", () => {
      // 120 ms between undici beginning to send the POST and its body going to the socket, 110 of them a wait.
      const POST = "/api2/json/nodes/pve1/lxc";
      const late = [...events.slice(0, 5), e("written", 1420, 370, "POST", POST), ...events.slice(5).map((x) => (x.method === "POST" ? { ...x, at: 1430, waitMs: 372 } : x))];
      const c = criticalContention(call, late, samples, { createStartedAt: 1425 });
      assert.equal(c.beforeCreateMs, 20 + 300, "the wake-up's, then to the POST on the wire");
      // The sandbox's wait from the POST on the wire to the task's start (1420 to 1425: none of its readings);
      // the host's 110 before the write is the host's, outside the read.
      assert.equal(c.takenBeforeCreateMs, 20 + (65 + 110) + 125 + 0);
      // The same lines without the write recorded: the wait is counted to undici's "sent", as before.
      const unrecorded = late.filter((x) => x.kind !== "written");
      assert.equal(criticalContention(call, unrecorded, samples, { createStartedAt: 1425 }).beforeCreateMs, 20 + 190);
      // A write recorded for an earlier POST (a refused one's) is not this POST's.
      const earlier = [...events.slice(0, 4), e("sent", 1250, 240, "POST", POST), e("written", 1251, 240, "POST", POST), ...events.slice(4)];
      assert.equal(criticalContention(call, earlier).beforeCreateMs, 20 + 190);
    });

    it("never takes more wake-up wait than the time to the handler: a wait under way at the begin started before it", () => {
      const c = criticalContention({ ...call, waitAtBeginMs: 0 }, events);
      assert.equal(c.beforeCreateMs, 30 + 190);
    });

    it("takes the last create POST (a refused one's retry) and, without a handler record, counts the wait from the begin, bounded the same way", () => {
      const retried = [...events.slice(0, 5), e("sent", 1400, 300, "POST", "/api2/json/nodes/pve1/lxc"), ...events.slice(5)];
      assert.equal(criticalContention(call, retried).beforeCreateMs, 20 + 230);
      const noHandler = events.filter((x) => x.kind !== "begun" && x.kind !== "done");
      const c = criticalContention({ ...call, waitAtBeginMs: 0 }, noHandler);
      assert.equal(c.beforeCreateMs, 260, "260 ms of wait in the 300 ms to the POST");
      const early = noHandler.map((x) => (x.method === "POST" && x.kind === "sent" ? { ...x, at: 1200 } : x));
      assert.equal(criticalContention({ ...call, waitAtBeginMs: 0 }, early).beforeCreateMs, 200, "never more than the 200 ms to the POST");
      assert.equal(c.lastAnswerMs, 30, "to the last answer when the handler's end is not recorded");
      assert.ok(Number.isNaN(c.engineMs));
    });

    // The engine+sandbox thread's own readings (at each request it receives and answers, and at the call's begin
    // and return): it waited 15 ms while the read was pending, 8 while the POST was, 77 between the POST's
    // answer and the last probe (other stacks' time: not this create's), 8 in the last probe, 12 on the way back.
    const samples = [
      { at: 1000, waitMs: 500 }, { at: 1040, waitMs: 500 }, { at: 1120, waitMs: 505 }, { at: 1199, waitMs: 515 }, { at: 1300, waitMs: 515 }, { at: 1309, waitMs: 523 },
      { at: 1320, waitMs: 523 }, { at: 9001, waitMs: 600 }, { at: 14200, waitMs: 640 }, { at: 14239, waitMs: 648 }, { at: 14250, waitMs: 650 }, { at: 14300, waitMs: 662 },
    ];

    it("takes the engine+sandbox thread's wait only while this create waited on it; where both threads waited, the larger", () => {
      const c = criticalContention(call, events, samples);
      assert.equal(c.benchBeforeCreateMs, 0 + 15 + 8, "the call's leg, the read, the POST");
      assert.equal(c.benchLastAnswerMs, 8 + 12, "the last probe, the way back");
      // Before the POST: the wake-up's 20, the host's 65 outside the read, the larger of the read's two waits
      // (the host's 125 over the thread's 15), the POST's 8. At the end: the probe's larger (the host's 30), the
      // host's 4 after it, the way back's 12.
      assert.deepEqual([c.takenBeforeCreateMs, c.takenLastAnswerMs, c.takenMs], [20 + 65 + 125 + 8, 30 + 4 + 12, 264]);
      // The engine's legs: 30 ms to the handler, of which the host's wake-up's 20 was a wait; 50 back, 12 of it the thread's.
      assert.deepEqual([c.engineBeginMs, c.takenEngineBeginMs, c.engineMs, c.takenEngineReturnMs], [30, 20, 50, 12]);
      // Sparse readings: a wait counted since a reading before the stretch may have begun before it, so the time
      // from that reading on is not taken: less, never more.
      const sparse = samples.filter((x) => x.at !== 14200 && x.at !== 14250);
      assert.equal(criticalContention(call, events, sparse).benchLastAnswerMs, 0 + (662 - 648 - (14250 - 14239)));
      // The thread waited 150 of the read's 160 ms: now the larger of the two.
      const starved = samples.map((x) => (x.at >= 1199 ? { ...x, waitMs: x.waitMs + 135 } : x));
      assert.equal(criticalContention(call, events, starved).benchBeforeCreateMs, 150 + 8);
      assert.equal(criticalContention(call, events, starved).takenBeforeCreateMs, 20 + 65 + 150 + 8);
    });

    it("with the sandbox on its own thread, takes the engines' thread's wait over the call's legs and the sandbox's while a request is out", () => {
      // The same readings split: the sandbox's thread waited as above while requests were out; the engines' thread
      // read at the call's begin, as the host answered and at the return, and waited 12 ms on the way back.
      const engine = [{ at: 1000, waitMs: 100 }, { at: 14250, waitMs: 100 }, { at: 14300, waitMs: 112 }];
      const sandbox = samples.filter((x) => x.at !== 1000 && x.at !== 14300).map((x) => ({ ...x, waitMs: x.waitMs + 1000 }));
      const c = criticalContention(call, events, { engine, sandbox });
      assert.equal(c.benchBeforeCreateMs, 0 + 15 + 8, "the read's and the POST's from the sandbox's readings");
      // The last probe's 8 from the sandbox's readings; the way back's 12 from the engines'.
      assert.equal(c.benchLastAnswerMs, 8 + 12);
      assert.equal(c.takenEngineReturnMs, 12);
      // One series for both: the engines' readings alone put no wait in the read (no reading of theirs in it).
      assert.equal(criticalContention(call, events, engine).benchBeforeCreateMs, 0);
      assert.equal(criticalContention(call, events, { engine: sandbox, sandbox: engine }).benchLastAnswerMs, 0 + 0, "swapped: neither stretch has its thread's readings");
    });

    it("takes a new connection's handshakes as a round trip to the sandbox, like a request", () => {
      const connecting = [
        ...events.slice(0, 2),
        e("connect", 1031, 70, "CONNECT", "https://127.0.0.1:8006"),
        e("connected", 1039, 71, "CONNECT", "https://127.0.0.1:8006"),
        ...events.slice(2),
      ];
      // The thread waited 6 ms during the handshake (readings as it accepted the connection and at 1039).
      const readings = [...samples.filter((x) => x.at < 1039), { at: 1031, waitMs: 500 }, { at: 1039, waitMs: 506 }, ...samples.filter((x) => x.at >= 1039).map((x) => ({ ...x, waitMs: x.waitMs + 6 }))].sort((a, b) => a.at - b.at);
      const c = criticalContention(call, connecting, readings);
      assert.equal(c.benchBeforeCreateMs, 6 + 15 + 8);
      // The host's 1 ms in the handshake gives way to the thread's 6: 20 + 64 + 6 + 125 + 8.
      assert.equal(c.takenBeforeCreateMs, 223);
      assert.equal(criticalContention(call, events, readings).takenBeforeCreateMs, 218, "without the handshake's record, its wait is not taken");
    });

    it("takes nothing past the sandbox's record: before the create task's start, after the address showed", () => {
      const early = criticalContention(call, events, samples, { createStartedAt: 1200 });
      assert.equal(early.takenBeforeCreateMs, 200, "never more than the 200 ms to the create task");
      // A probe sent before the address showed (at 14280): only the 20 ms from then on can be taken.
      const late = criticalContention(call, events, samples, { createStartedAt: 1305, addressAt: 14280 });
      assert.equal(late.takenLastAnswerMs, 20);
      assert.equal(late.benchBeforeCreateMs, 15 + 0, "the POST's wait after its task began is the task's time");
    });

    it("a thread's wait within stretches: merged, from its own readings, a lower bound", () => {
      const readings = [{ at: 0, waitMs: 0 }, { at: 10, waitMs: 5 }, { at: 20, waitMs: 5 }, { at: 30, waitMs: 20 }, { at: 40, waitMs: 20 }];
      assert.equal(threadWaitWithin(readings, [[10, 20]]), 0);
      assert.equal(threadWaitWithin(readings, [[20, 30], [25, 40]]), 15, "merged to [20, 40], counted once");
      assert.equal(threadWaitWithin(readings, [[12, 30]]), 13, "15 since the reading at 10, less the 2 ms before the stretch");
      assert.equal(threadWaitWithin(readings, [[0, 10], [20, 30]]), 5 + 10, "the 15 of [20, 30] held to its 10 ms");
      assert.equal(threadWaitWithin(readings, [[5, 5]]), 0, "an empty stretch");
      assert.ok(Number.isNaN(threadWaitWithin(readings, [[-5, 10]])), "no reading before the stretch: no figure");
      assert.ok(Number.isNaN(threadWaitWithin([], [[0, 10]])));
    });

    it("reads the host's CPU time on each stretch from its own readings, and each stretch's length", () => {
      // The host's CPU so far at each event: 3 ms at the handler, 17 at its create POST, 40 at its last probe, 43 as it answers.
      const cpu: Record<number, number> = { 1030: 3, 1040: 4, 1200: 9, 1300: 17, 1310: 18, 9000: 30, 9002: 31, 14200: 40, 14240: 42, 14250: 43 };
      const timed = events.map((x) => ({ ...x, cpuMs: cpu[x.at] ?? 0 }));
      const c = criticalContention(call, timed, samples);
      assert.deepEqual([c.hostCpuBeforeCreateMs, c.hostCpuLastAnswerMs], [17 - 3, 43 - 40]);
      assert.deepEqual([c.beforeCreateSpanMs, c.lastAnswerSpanMs], [1310 - 1000, 14300 - 14200], "to the POST's answer; from the last probe to the return");
      const bounded = criticalContention(call, timed, samples, { createStartedAt: 1305, addressAt: 14280 });
      assert.deepEqual([bounded.beforeCreateSpanMs, bounded.lastAnswerSpanMs], [305, 20]);
      const older = criticalContention(call, events, samples);
      assert.ok(Number.isNaN(older.hostCpuBeforeCreateMs) && Number.isNaN(older.hostCpuLastAnswerMs), "lines without a CPU reading: no figure (not zero)");
    });

    it("records the probe that found the address with the one before it and the host's readings between", () => {
      const c = criticalContention(call, events, samples, { addressAt: 14150 });
      assert.deepEqual(c.probe, {
        previousAt: 9000, sentAt: 14200, addressAt: 14150,
        waits: [{ at: 9000, waitMs: 900, cpuMs: undefined, slices: undefined }, { at: 9002, waitMs: 900, cpuMs: undefined, slices: undefined }, { at: 14200, waitMs: 1500, cpuMs: undefined, slices: undefined }],
      });
      assert.equal(criticalContention(call, events, samples).probe, undefined, "no record of the address");
      const onlyOne = events.filter((x) => x.at !== 9000 && x.at !== 9002);
      assert.equal(criticalContention(call, onlyOne, samples, { addressAt: 14150 }).probe, undefined, "no probe before it");
      const taskLast = [...events.slice(0, -1), e("sent", 14245, 1534, "GET", "/api2/json/nodes/pve1/tasks"), events.at(-1)!];
      assert.equal(criticalContention(call, taskLast, samples, { addressAt: 14150 }).probe, undefined, "the last request not an address probe");
    });

    it("has no figure without a create POST or a record (not zero)", () => {
      assert.ok(Number.isNaN(criticalContention(call, events.filter((x) => x.method !== "POST")).beforeCreateMs));
      const none = criticalContention(call, []);
      assert.ok(Number.isNaN(none.totalMs) && Number.isNaN(none.lastAnswerMs));
      const offLinux = criticalContention(call, events.map((x) => ({ ...x, waitMs: null })));
      assert.ok(Number.isNaN(offLinux.totalMs));
    });
  });

  describe("scratchRoot", () => {
    it("keeps the bench's files on a tmpfs when there is one, else in the temp directory", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scratch-root-"));
      try {
        assert.equal(scratchRoot(dir), dir);
        assert.equal(scratchRoot(path.join(dir, "absent")), os.tmpdir());
        const file = path.join(dir, "file");
        fs.writeFileSync(file, "");
        assert.equal(scratchRoot(file), os.tmpdir(), "a file is no directory");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
