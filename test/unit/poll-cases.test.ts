// provider/poll.ts with exact figures, through its public functions only: the wait's bounds, each part of
// the `expecting` schedule at its edges, what LearnedDurations keeps and estimates, when learnedSchedule
// switches from its backoff. A fake clock: no real time anywhere.
import { strict as assert } from "assert";
import { backoff, DEFAULT_EXPECTING, done, expecting, LearnedDurations, learnedSchedule, notYet, pollUntil, shifted, type PollSchedule } from "../../provider/poll";

function fakeClock(start = 5_000) {
  let now = start;
  const waits: number[] = [];
  return { now: () => now, wait: async (ms: number) => { waits.push(ms); now += ms; }, waits };
}

describe("poll, case by case", () => {
  describe("pollUntil", () => {
    it("numbers the probes from 1, gives the schedule the elapsed time, and never sleeps less than 1 ms", async () => {
      const clock = fakeClock();
      const calls: Array<[number, number]> = [];
      const probes: number[] = [];
      const value = await pollUntil(clock.now() + 10_000, async (n) => (probes.push(n), n === 4 ? done("v") : notYet()), (n, elapsed) => {
        calls.push([n, elapsed]);
        return n === 1 ? 0 : 100;
      }, { timeout: () => new Error("timeout"), now: clock.now, wait: clock.wait });
      assert.equal(value, "v");
      assert.deepEqual(probes, [1, 2, 3, 4]);
      assert.deepEqual(calls, [[1, 0], [2, 1], [3, 101]]);
      assert.deepEqual(clock.waits, [1, 100, 100]);
    });

    it("at the deadline exactly: the timeout, with the last probe's reason", async () => {
      const clock = fakeClock();
      const reasons: Array<string | undefined> = [];
      await assert.rejects(
        pollUntil(clock.now(), async () => notYet("still locked"), () => 100, { timeout: (r) => (reasons.push(r), new Error(`gave up: ${r}`)), now: clock.now, wait: clock.wait }),
        /gave up: still locked/,
      );
      assert.deepEqual(reasons, ["still locked"]);
      assert.deepEqual(clock.waits, []);
    });

    it("a sleep is cut to what is left before the deadline, and the last probe runs at it", async () => {
      const clock = fakeClock();
      let probes = 0;
      await assert.rejects(pollUntil(clock.now() + 250, async () => (probes++, notYet()), () => 100, { timeout: () => new Error("late"), now: clock.now, wait: clock.wait }), /late/);
      assert.deepEqual(clock.waits, [100, 100, 50]);
      assert.equal(probes, 4);
    });

    it("done on the first probe: no sleep", async () => {
      const clock = fakeClock();
      assert.equal(await pollUntil(0, async () => done(7), () => 100, { timeout: () => new Error("x"), now: clock.now, wait: clock.wait }), 7);
      assert.deepEqual(clock.waits, []);
    });

    it("done and notYet build the probe answers", () => {
      assert.deepEqual(done(3), { done: true, value: 3 });
      assert.deepEqual(notYet("r"), { done: false, reason: "r" });
      assert.deepEqual(notYet(), { done: false, reason: undefined });
    });
  });

  describe("backoff", () => {
    it("initialMs x factor^(probes-1), capped, no jitter", () => {
      const schedule = backoff({ initialMs: 50, factor: 2, maxMs: 300 });
      assert.deepEqual([1, 2, 3, 4, 5].map((n) => schedule(n, 0)), [50, 100, 200, 300, 300]);
      const slow = backoff({ initialMs: 100, factor: 1.5, maxMs: 10_000 });
      assert.deepEqual([1, 2, 3].map((n) => slow(n, 0)), [100, 150, 225]);
    });
  });

  describe("expecting", () => {
    it("before the window: sparse steps, then the rest of the way when it is within one step plus dense", () => {
      const schedule = expecting({ expectedMs: 10_000, spreadMs: 1_000 });
      // window 9000..11000, dense = round(2000 / 12) = 167
      assert.equal(schedule(1, 0), 2_000);
      assert.equal(schedule(2, 6_832), 2_000);
      assert.equal(schedule(3, 6_833), 2_167);
      assert.equal(schedule(4, 8_999), 1);
      assert.equal(schedule(5, 9_000), 167);
      assert.equal(schedule(6, 11_000), 167);
    });

    it("after the window: backs off from dense by factor, up to sparse", () => {
      const schedule = expecting({ expectedMs: 10_000, spreadMs: 1_000 });
      assert.deepEqual([11_001, 11_300, 11_700, 12_300, 13_000, 14_000, 16_000, 20_000].map((t, i) => schedule(i + 1, t)), [251, 376, 564, 845, 1_268, 1_902, 2_000, 2_000]);
    });

    it("a narrow window is probed every denseMs; a window cannot open before the wait", () => {
      const narrow = expecting({ expectedMs: 1_000, spreadMs: 100 });
      assert.equal(narrow(1, 0), 900);
      assert.equal(narrow(2, 900), DEFAULT_EXPECTING.denseMs);
      const early = expecting({ expectedMs: 100, spreadMs: 500 });
      assert.equal(early(1, 0), 50, "window 0..600: 600 / 12");
    });

    it("follows the policy given", () => {
      const schedule = expecting({ expectedMs: 1_000, spreadMs: 500 }, { denseMs: 10, sparseMs: 200, factor: 2, windowProbes: 4 });
      assert.equal(schedule(1, 0), 200);
      assert.equal(schedule(2, 260), 240, "within sparse + dense of the window: straight to it");
      assert.equal(schedule(3, 500), 250);
      assert.equal(schedule(4, 1_501), 200, "500 x 2 capped at sparse");
    });
  });

  describe("shifted", () => {
    it("hands the schedule the time since the offset, never negative", () => {
      const seen: Array<[number, number]> = [];
      const schedule: PollSchedule = (n, t) => (seen.push([n, t]), 5);
      const later = shifted(schedule, 1_000);
      assert.equal(later(1, 300), 5);
      later(2, 1_000);
      later(3, 1_750);
      assert.deepEqual(seen, [[1, 0], [2, 0], [3, 750]]);
    });
  });

  describe("LearnedDurations", () => {
    it("median (odd and even counts) and half the range plus the coarsest resolution", () => {
      const d = new LearnedDurations();
      d.observe("k", 1_000);
      d.observe("k", 3_000);
      d.observe("k", 2_000, 1_000);
      assert.deepEqual(d.expectation("k"), { expectedMs: 2_000, spreadMs: 2_000 });
      d.observe("k", 4_000);
      assert.deepEqual(d.expectation("k"), { expectedMs: 2_500, spreadMs: 2_500 });
      assert.equal(d.count("k"), 4);
      assert.equal(d.count("other"), 0);
    });

    it("the spread is at least a tenth of the median and 50 ms", () => {
      const d = new LearnedDurations();
      d.observe("big", 10_000);
      assert.deepEqual(d.expectation("big"), { expectedMs: 10_000, spreadMs: 1_000 });
      d.observe("small", 100);
      assert.deepEqual(d.expectation("small"), { expectedMs: 100, spreadMs: 50 });
      d.observe("zero", 0);
      assert.deepEqual(d.expectation("zero"), { expectedMs: 0, spreadMs: 50 });
    });

    it("ignores what is not a duration, keeps the newest 50, falls back per kind", () => {
      const d = new LearnedDurations((kind) => (kind === "known" ? { expectedMs: 1, spreadMs: 2 } : undefined));
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) d.observe("k", bad);
      assert.equal(d.count("k"), 0);
      assert.equal(d.expectation("k"), undefined);
      assert.deepEqual(d.expectation("known"), { expectedMs: 1, spreadMs: 2 });
      d.observe("k", 100_000);
      for (let i = 0; i < LearnedDurations.KEEP; i++) d.observe("k", 1_000);
      assert.equal(LearnedDurations.KEEP, 50);
      assert.equal(d.count("k"), 50);
      assert.deepEqual(d.expectation("k"), { expectedMs: 1_000, spreadMs: 100 }, "the oldest (100 s) was dropped");
    });
  });

  describe("learnedSchedule", () => {
    it("the backoff while nothing is known; what is learned meanwhile takes over, and then stays", () => {
      const d = new LearnedDurations();
      const schedule = learnedSchedule(d, "vzcreate", { initialMs: 10, factor: 2, maxMs: 1_000 }, { denseMs: 20, sparseMs: 500, factor: 2, windowProbes: 12 });
      assert.equal(schedule(1, 0), 10);
      assert.equal(schedule(2, 10), 20);
      d.observe("vzcreate", 2_000);
      // window 1800..2200 (spread 200), dense = max(20, round(400 / 12)) = 33
      assert.equal(schedule(3, 30), 500);
      assert.equal(schedule(4, 1_900), 33);
      d.observe("vzcreate", 60_000);
      assert.equal(schedule(5, 1_950), 33, "chosen once");
      d.observe("other", 1);
      const fresh = learnedSchedule(d, "vzstart", { initialMs: 7, factor: 3, maxMs: 100 });
      assert.deepEqual([fresh(1, 0), fresh(2, 0), fresh(3, 0)], [7, 21, 63]);
    });

    it("uses DEFAULT_EXPECTING when no policy is given", () => {
      const d = new LearnedDurations();
      d.observe("t", 1_000);
      const schedule = learnedSchedule(d, "t", { initialMs: 10, factor: 2, maxMs: 100 });
      assert.equal(schedule(1, 900), DEFAULT_EXPECTING.denseMs);
      assert.deepEqual(DEFAULT_EXPECTING, { denseMs: 40, sparseMs: 2_000, factor: 1.5, windowProbes: 12 });
    });
  });
});
