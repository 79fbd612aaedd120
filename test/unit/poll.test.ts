import { strict as assert } from "assert";
import { backoff, done, Dues, expecting, LearnedDurations, learnedSchedule, notYet, pacedDelay, pollUntil, shifted, steadyThen } from "../../provider/poll";
import { backoffMs } from "../../provider/retry";

/** A clock that moves only when the poll sleeps: every schedule is checked without real time. */
function fakeClock(start = 1_000_000) {
  let now = start;
  const waits: number[] = [];
  return { now: () => now, wait: async (ms: number) => { waits.push(ms); now += ms; }, waits, advance: (ms: number) => (now += ms) };
}

describe("pollUntil", () => {
  it("probes until done, sleeping what the schedule says between probes", async () => {
    const clock = fakeClock();
    let probes = 0;
    const value = await pollUntil(clock.now() + 10_000, async (n) => (++probes === 4 ? done(`after ${n}`) : notYet()), () => 100, { timeout: () => new Error("late"), ...clock });
    assert.equal(value, "after 4");
    assert.deepEqual(clock.waits, [100, 100, 100]);
  });

  it("never sleeps past the deadline; probes once at it, then throws the timeout with the last reason", async () => {
    const clock = fakeClock();
    let probes = 0;
    await assert.rejects(
      pollUntil(clock.now() + 250, async () => (probes++, notYet("still running")), () => 100, { timeout: (reason) => new Error(`late: ${reason}`), ...clock }),
      /late: still running/,
    );
    assert.deepEqual(clock.waits, [100, 100, 50]);
    assert.equal(probes, 4);
  });

  it("a probe that throws ends the wait with its error", async () => {
    const clock = fakeClock();
    await assert.rejects(pollUntil(clock.now() + 1000, async () => { throw new Error("403"); }, () => 10, { timeout: () => new Error("late"), ...clock }), /403/);
  });
});

describe("poll schedules", () => {
  it("backoff is the retry module's backoff without jitter", () => {
    const schedule = backoff({ initialMs: 50, factor: 1.5, maxMs: 1000 });
    assert.deepEqual([1, 2, 3, 4, 10].map((n) => schedule(n, 0)), [50, 75, 113, 169, 1000]);
    assert.equal(backoffMs(3, { baseDelayMs: 200, maxDelayMs: 5000, jitter: 0 }), 800, "factor 2 by default");
  });

  it("expecting: sparse steps up to the window (the last one landing on it), dense inside it, backs off after it", () => {
    const schedule = expecting({ expectedMs: 8000, spreadMs: 500 }, { denseMs: 40, sparseMs: 2000, factor: 2, windowProbes: 100 });
    assert.equal(schedule(1, 0), 2000, "far away: sparseMs");
    assert.equal(schedule(2, 5000), 2000, "2500 ms to go: a sparse step");
    assert.equal(schedule(3, 5490), 2010, "a remainder of 10 ms is not worth a probe: straight to the window");
    assert.equal(schedule(4, 7450), 50, "never sleeping into the window");
    assert.equal(schedule(5, 7600), 40);
    assert.equal(schedule(6, 8500), 40, "the window's end is still dense");
    assert.deepEqual([8600, 8700, 8900, 9300, 20000].map((t, i) => schedule(7 + i, t)), [80, 160, 320, 640, 1280]);
  });

  it("expecting: an 8 s task with a 1 s window gets 4 probes before the window, one on its opening and one every 1/12 of it inside", async () => {
    const clock = fakeClock();
    const schedule = expecting({ expectedMs: 8000, spreadMs: 1000 });
    const at: number[] = [];
    const start = clock.now();
    await pollUntil(start + 60_000, async () => (at.push(clock.now() - start), clock.now() - start >= 8500 ? done(true) : notYet()), schedule, { timeout: () => new Error("late"), ...clock });
    assert.deepEqual(at.slice(0, 6), [0, 2000, 4000, 6000, 7000, 7167]);
    assert.ok(at.at(-1)! - 8500 <= 167, `noticed ${at.at(-1)! - 8500} ms late`);
  });

  it("probes a task that ends inside the window within denseMs, with few probes before", async () => {
    const clock = fakeClock();
    const endsAt = clock.now() + 8123;
    const schedule = expecting({ expectedMs: 8000, spreadMs: 400 });
    let probes = 0;
    await pollUntil(clock.now() + 60_000, async () => (probes++, clock.now() >= endsAt ? done(true) : notYet()), schedule, { timeout: () => new Error("late"), ...clock });
    assert.ok(clock.now() - endsAt <= 40, `noticed ${clock.now() - endsAt} ms late`);
    assert.ok(probes <= 25, `${probes} probes`);
  });

  it("learned durations: median and half the range, at least a tenth of the median; the fallback before any", () => {
    const learned = new LearnedDurations((kind) => (kind === "vzstart" ? { expectedMs: 2000, spreadMs: 1000 } : undefined));
    assert.equal(learned.expectation("vzcreate"), undefined);
    assert.deepEqual(learned.expectation("vzstart"), { expectedMs: 2000, spreadMs: 1000 });
    learned.observe("vzcreate", 8000);
    assert.deepEqual(learned.expectation("vzcreate"), { expectedMs: 8000, spreadMs: 800 });
    learned.observe("vzcreate", 6000);
    learned.observe("vzcreate", 10000);
    assert.deepEqual(learned.expectation("vzcreate"), { expectedMs: 8000, spreadMs: 2000 });
    learned.observe("vzcreate", 9000, 1000);
    assert.deepEqual(learned.expectation("vzcreate"), { expectedMs: 8500, spreadMs: 3000 }, "whole-second history widens the window by a second");
    learned.observe("vzcreate", NaN);
    assert.equal(learned.count("vzcreate"), 4, "nonsense is not learned");
    for (let i = 0; i < 60; i++) learned.observe("vzcreate", 100);
    assert.equal(learned.count("vzcreate"), LearnedDurations.KEEP);
    assert.deepEqual(learned.expectation("vzcreate"), { expectedMs: 100, spreadMs: 50 }, "the oldest are forgotten");
  });

  it("learnedSchedule: a backoff when nothing was seen, dense around what was", () => {
    const learned = new LearnedDurations();
    assert.equal(learnedSchedule(learned, "vzcreate", { initialMs: 50, factor: 2, maxMs: 1000 })(3, 0), 200);
    learned.observe("vzcreate", 3000);
    assert.equal(learnedSchedule(learned, "vzcreate", { initialMs: 50, factor: 2, maxMs: 1000 })(3, 3000), 50, "a 600 ms window in 12 probes");
  });

  it("steadyThen: one probe every interval for the first stretch, then the backoff from its start", async () => {
    const clock = fakeClock();
    let probes = 0;
    await pollUntil(clock.now() + 10_000, async () => (++probes === 9 ? done(true) : notYet()), steadyThen(150, 1000, { initialMs: 300, factor: 2, maxMs: 1000 }), { ...clock, timeout: () => new Error("timeout") });
    // 150 ms until 1 s had passed (7 probes, the last at 1050 ms), then 300, 600 from the backoff's start.
    assert.deepEqual(clock.waits, [150, 150, 150, 150, 150, 150, 150, 300]);
    assert.equal(probes, 9);
    const fresh = steadyThen(150, 1000, { initialMs: 300, factor: 2, maxMs: 1000 });
    assert.deepEqual([fresh(1, 0), fresh(2, 1100), fresh(3, 1400), fresh(4, 2000), fresh(5, 3000)], [150, 300, 600, 1000, 1000]);
  });

  it("paced: the delay counts from each probe's start, so slow answers do not stretch the gap; at least a quarter of it after a very slow one", async () => {
    const answerTimes = [100, 100, 20, 400, 100];
    const run = async (paced: boolean) => {
      const clock = fakeClock();
      const sent: number[] = [];
      let probes = 0;
      await pollUntil(clock.now() + 10_000, async () => {
        sent.push(clock.now());
        clock.advance(answerTimes[probes]);
        return ++probes === answerTimes.length ? done(true) : notYet();
      }, () => 150, { ...clock, paced, timeout: () => new Error("timeout") });
      return sent.slice(1).map((at, i) => at - sent[i]);
    };
    // 100 ms answers: sent every 150 ms; a 400 ms answer: 37.5 ms (a quarter of 150) after it.
    assert.deepEqual(await run(true), [150, 150, 150, 437.5]);
    assert.deepEqual(await run(false), [250, 250, 170, 550], "unpaced: the answer's time is added to every gap");
    assert.equal(pacedDelay(150, 1000, 1001), 149);
    assert.equal(pacedDelay(150, 1000, 1200), 37.5);
    assert.equal(pacedDelay(150, 1000, 1070), 80, "a 70 ms answer: the next probe 150 ms after this one was sent");
  });

  it("learnedSchedule: a given schedule when nothing was seen, dense around what was", () => {
    const learned = new LearnedDurations();
    assert.equal(learnedSchedule(learned, "ip", steadyThen(150, 6000, { initialMs: 300, factor: 1.5, maxMs: 2000 }))(9, 1200), 150);
    learned.observe("ip", 3000);
    assert.equal(learnedSchedule(learned, "ip", steadyThen(150, 6000, { initialMs: 300, factor: 1.5, maxMs: 2000 }))(9, 3000), 50, "a 600 ms window in 12 probes");
  });

  it("shifted: the second task's schedule, counted from where the first one ended", () => {
    const start = expecting({ expectedMs: 2000, spreadMs: 500 }, { denseMs: 40, sparseMs: 2000, factor: 1.5, windowProbes: 10 });
    const schedule = shifted(start, 8000);
    assert.equal(schedule(9, 8000), 1500, "at the first task's end: straight to the start's window");
    assert.equal(schedule(10, 9500), 100, "inside it: dense");
    assert.equal(shifted(backoff({ initialMs: 50, factor: 2, maxMs: 1000 }), 8000)(1, 3000), 50, "before the offset counts as its beginning");
  });

  it("a wide window gets at most windowProbes probes, not one every denseMs", () => {
    const schedule = expecting({ expectedMs: 8000, spreadMs: 1200 }, { denseMs: 40, sparseMs: 2000, factor: 1.5, windowProbes: 12 });
    assert.equal(schedule(5, 8000), 200);
  });
});

describe("Dues (probes on separate clocks in one wait)", () => {
  it("sleeps to the soonest due probe, and says which are due then", () => {
    const dues = new Dues<"check" | "address">();
    dues.set("check", 3_000);
    dues.set("address", 1_500);
    assert.equal(dues.delay(1_000, 999), 500);
    assert.equal(dues.due("address", 1_500), true);
    assert.equal(dues.due("check", 1_500), false);
    assert.equal(dues.due("check", 3_000 - Dues.SLACK_MS), true, "a probe a few ms early still counts as due");
    assert.equal(dues.due("check", 3_000 - Dues.SLACK_MS - 1), false);
  });

  it("a probe set to undefined is never due again; none due sleeps idleMs; never less than 1 ms", () => {
    const dues = new Dues<"check" | "address">();
    assert.equal(dues.delay(0, 250), 250);
    dues.set("check", 100);
    dues.set("check", undefined);
    assert.equal(dues.due("check", 1_000), false);
    assert.equal(dues.delay(0, 250), 250);
    dues.set("address", 100);
    assert.equal(dues.delay(500, 250), 1, "overdue: at once");
  });
});
