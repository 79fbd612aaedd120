// `npm run bench` end to end, at --quick durations: its real provider hosts, the separate stacks' gate, the
// warmed cluster; it must end with the one JSON line the README documents, and print the seed's own draws.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { drawFor } from "../../bench/stats";

const ROOT = path.resolve(__dirname, "../..");

describe("bench (quick)", function () {
  this.timeout(240_000);
  let stdout = "";
  let stderr = "";
  let summary: Record<string, unknown>;
  const reportFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-report-")), "every-create.json");
  after(() => fs.rmSync(path.dirname(reportFile), { recursive: true, force: true }));

  before(() => {
    const run = spawnSync(process.execPath, [
      "-r", "ts-node/register/transpile-only", "bench/index.ts",
      "--quick", "--seed", "7", "--runs", "1", "--ansible-runs", "0", "--parallel", "2", "--stacks", "2", "--stack-runs", "2", "--no-image", "--no-replace", "--report", reportFile,
    ], { cwd: ROOT, encoding: "utf8", timeout: 200_000, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" } });
    stdout = run.stdout;
    stderr = run.stderr;
    assert.equal(run.status, 0, `bench exited ${run.status}: ${stderr.slice(-2000)}`);
    const lines = stdout.trim().split("\n");
    summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  });

  it("ends with one JSON line carrying the documented keys", () => {
    for (const key of ["seed", "createOverheadMs", "overheadMsMin", "overheadMsMax", "requestsPerCreate", "noopRequests", "ansibleOverheadMs", "ansibleRatio",
      "stacks50Failures", "stacks50Duplicates", "stacks50Refused", "stacks50OverheadRatio", "stacks50OverheadRatioMin", "stacks50OverheadRatioMax", "stacks50Runs",
      "stacks50RawOverheadRatio", "stacks50ContentionMs", "stacks50WaitFreeOverheadRatio", "stacks50MeanPhaseOverheadRatio", "stacks50CpuExcessMs",
      "stacks50EngineInOverheadRatio", "stacks50EngineExcessMs", "stacks50EngineLegsMs", "loneEngineLegsMs", "stacks10OverheadRatio", "overheadSplitMs",
      "stacks50LateProbeInOverheadRatio", "stacks50LateProbeMs", "loneProbeCadenceMs",
      "stacks50OverheadMs", "stacks50RunOverheadMs", "loneOverheadMs", "stacks50MeasuredOverheadMs", "stacks50RunMeasuredOverheadMs", "stacks50MeasuredOverheadRatio",
      "stacks50MeasuredOverheadRatioMin", "stacks50MeasuredOverheadRatioMax", "loneMeasuredOverheadMs", "stacks10MeasuredOverheadRatio", "stacks50PhaseShare", "lonePhaseShare", "stacks50PhaseShareZ", "lonePhaseShareZ",
      "freeOverheadMs", "contentionMs", "parallel"]) {
      assert.ok(key in summary, `key ${key}`);
    }
    assert.equal(summary.seed, 7);
    assert.equal(summary.noopRequests, 0);
    assert.ok(Number(summary.hostCpuMs) > 0, "a lone host's CPU time is sampled");
    // The lone host's probe read its CPU time at its handler, its create POST, its last request and its answer.
    const loneCpu = summary.loneHostCpuMs as Record<string, number>;
    assert.ok(loneCpu.beforeCreate > 0 && loneCpu.lastAnswer > 0, JSON.stringify(loneCpu));
    // And the lone engine's two legs of the call, the references of the stacks' engine excess.
    const loneEngine = summary.loneEngineLegsMs as Record<string, number>;
    assert.ok(typeof loneEngine.begin === "number" && typeof loneEngine.return === "number" && loneEngine.begin >= 0 && loneEngine.return >= 0, JSON.stringify(loneEngine));
    assert.ok(Number(summary.createOverheadMs) >= Number(summary.overheadMsMin) && Number(summary.createOverheadMs) <= Number(summary.overheadMsMax));
  });

  it("runs both kinds of parallel create without a failure, a duplicate or a refused create; the stacks' creates go after every host is up", () => {
    const parallel = summary.parallel as Array<Record<string, unknown>>;
    const modes = parallel.map((p) => `${p.mode} ${p.run}`).sort();
    assert.deepEqual(modes, ["fixed vmids 1", "one program 1", "separate stacks 1", "separate stacks 2"], "the separate stacks run twice (--stack-runs 2)");
    for (const p of parallel) {
      assert.equal(p.failures, 0, `${p.mode}: failures`);
      assert.deepEqual(p.duplicateVmids, [], `${p.mode}: duplicates`);
      assert.equal(p.refusedCreates, 0, `${p.mode}: refused`);
      assert.equal(p.containers, 2, `${p.mode}: containers left by the run (the warm-up's are destroyed)`);
      assert.ok(Number(p.hostCpuMs) > 0, `${p.mode}: the provider hosts' CPU time is sampled (${p.hostCpuMs})`);
    }
    const stacks = parallel.find((p) => p.mode === "separate stacks")!;
    assert.equal(typeof stacks.hostsUpMs, "number");
    // Every host's probe (bench/host-probe.js) recorded its create: the wait on its critical path is a figure.
    for (const p of parallel.filter((p) => p.mode === "separate stacks")) {
      const contention = p.contentionMs as Record<string, number>;
      assert.ok(contention.totalMs >= 0 && contention.beforeCreateMs >= 0 && contention.lastAnswerMs >= 0, `${p.mode}: ${JSON.stringify(contention)}`);
      assert.ok(contention.engineMs >= 0, `${p.mode}: the engine's side of the return`);
      assert.ok(typeof contention.engineBeginMs === "number" && contention.engineBeginMs >= 0 && contention.takenEngineBeginMs <= contention.engineBeginMs && contention.takenEngineReturnMs <= contention.engineMs, `${p.mode}: the engine's legs and their waits: ${JSON.stringify(contention)}`);
      // The engine+sandbox thread's wait is read too (its own readings at every request it answers).
      assert.ok(contention.benchTotalMs >= 0 && contention.takenMs >= contention.totalMs, `${p.mode}: ${JSON.stringify(contention)}`);
      // And the host's own CPU time on both stretches, within each stretch's length.
      assert.ok(contention.hostCpuBeforeCreateMs > 0 && contention.hostCpuBeforeCreateMs <= contention.beforeCreateSpanMs, `${p.mode}: ${JSON.stringify(contention)}`);
      assert.ok(contention.hostCpuLastAnswerMs >= 0 && contention.hostCpuLastAnswerMs <= contention.lastAnswerSpanMs, `${p.mode}: ${JSON.stringify(contention)}`);
      const [raw, free] = [p.overheadMs, p.freeOverheadMs] as Array<Record<string, number>>;
      assert.ok(free.max <= raw.max && free.min <= raw.min && Number.isFinite(free.median), `${p.mode}: ${JSON.stringify({ raw, free })}`);
    }
    assert.equal((parallel.find((p) => p.mode === "one program")!.contentionMs as Record<string, unknown>).totalMs, null, "one host serving N creates: no per-create figure");
    assert.ok(Number(summary.contentionMs) >= 0 && Number(summary.freeOverheadMs) <= Number(summary.overheadMsMax));
    assert.equal(parallel.find((p) => p.mode === "one program")!.hostsUpMs, null);
  });

  it("prints the separate stacks over their runs: each run's median, the median of the runs, the ratio to a lone stack's", () => {
    const across = /2 separate stacks over 2 run\(s\)[^\n]*\n(?:.*\n){0,15}/.exec(stdout);
    assert.ok(across, stdout.slice(-3000));
    const runs = /per-stack overhead, local CPU contention taken out, each address's phase integrated over its probe gap\s+(-?\d+) ms median of runs \(min (-?\d+), max (-?\d+)\); runs: (-?\d+), (-?\d+)/.exec(across[0]);
    assert.ok(runs, across[0]);
    const [median, min, max, first, second] = runs.slice(1).map(Number);
    assert.deepEqual([min, max], [Math.min(first, second), Math.max(first, second)]);
    assert.equal(median, Math.round((first + second) / 2));
    assert.match(across[0], /over a lone stack's \(the same way\)\s+[\d.]+x \(min [\d.]+, max [\d.]+\); lone -?\d+ ms/);
    assert.match(across[0], /the same measured, each address's phase as drawn\s+-?\d+ ms median of runs \(min -?\d+, max -?\d+\); runs: -?\d+, -?\d+; [\d.]+x \(min [\d.]+, max [\d.]+\) a lone stack's -?\d+ ms/);
    // At --quick a create may find its address on its first probe, with no gap to fall in: NaN, not a share.
    const share = String.raw`(?:0(?:\.\d+)?|1|NaN), (?:-?\d+(?:\.\d)?|NaN) standard errors from even`;
    assert.match(across[0], new RegExp(String.raw`where the addresses fell in their gaps, mean share of the gap\s+${share} \(lone ${share.replace(" standard errors from even", "")}\); 0\.5 and within about ±2 where they fell evenly`));
    assert.match(across[0], /per-stack overhead, the found probe's late wait left in\s+-?\d+ ms median of runs/);
    assert.match(across[0], /per-stack overhead, the engine's legs left in too\s+-?\d+ ms median of runs/);
    assert.match(across[0], /the wait that held back the probe that found the address, taken out\s+-?\d+ ms median over every stack, taken for \d+% of them/);
    assert.match(across[0], /per-stack overhead, only the critical-path wait taken out\s+-?\d+ ms median of runs/);
    assert.match(across[0], /the engine's legs beyond a lone stack's, taken out, median over every stack\s+-?\d+ ms/);
    assert.match(across[0], /failures \/ duplicate vmids \/ refused creates, all runs\s+0 \/ 0 \/ 0/);
  });

  it("writes every create's own figures to --report, the figures the medians are taken of", () => {
    const { parameters, report } = JSON.parse(fs.readFileSync(reportFile, "utf8"));
    assert.equal(parameters.seed, 7);
    assert.equal(report.single.overheadMs.length, 1);
    assert.equal(report.single.split.length, 1);
    const stacks = report.parallel.filter((p: { mode: string }) => p.mode === "separate stacks");
    assert.equal(stacks.length, 2);
    for (const p of stacks) assert.deepEqual([p.freeOverheadMs.length, p.contention.length, p.split.length], [2, 2, 2]);
  });

  it("prints the durations the seed draws for each run", () => {
    const quick = { createMs: 400, startMs: 100, ipMs: 150, pullMs: 1000 };
    const single = drawFor(quick, 7, "single-1");
    assert.match(stdout + stderr, new RegExp(`single create 1/1: drawn ${single.createMs}/${single.startMs}/${single.ipMs} ms`));
    // Separate stacks: each container its own draw, seeded by its VMID, the same on every run of the seed.
    for (const [run, label] of [[1, "separate-stacks-2"], [2, "separate-stacks-2-r2"]] as const) {
      const perContainer = new RegExp(`2 parallel creates \\(separate stacks, run ${run}/2\\): drawn per container, create/start/address ms: (.*)`).exec(stdout + stderr);
      assert.ok(perContainer, `run ${run}: the separate stacks' draws are printed`);
      const printed = [...perContainer[1].matchAll(/CT (\d+) (\d+)\/(\d+)\/(\d+)/g)];
      assert.equal(printed.length, 2);
      for (const [, vmid, createMs, startMs, ipMs] of printed) {
        const own = drawFor(quick, 7, `${label}-ct-${vmid}`);
        assert.deepEqual([createMs, startMs, ipMs].map(Number), [own.createMs, own.startMs, own.ipMs], `run ${run}, CT ${vmid}`);
      }
      assert.notDeepEqual(printed[0].slice(2), printed[1].slice(2), "two containers, two draws");
    }
  });
});
