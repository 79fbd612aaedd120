import { strict as assert } from "assert";
import { parseFlags } from "../../bench/index";
import { createAttemptsByHostname, createPhases, criticalPathMs, duplicates, median, refusedCreates, requestBreakdown, wallRatio } from "../../bench/stats";

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
    assert.deepEqual([defaults.createMs, defaults.startMs, defaults.ipMs, defaults.pullMs, defaults.parallel], [8000, 2000, 3000, 20000, [10, 50]]);
    const quick = parseFlags(["--quick", "--parallel", "5,20", "--create-ms=4000", "--stacks", "none"]);
    assert.deepEqual([quick.createMs, quick.startMs, quick.ipMs, quick.pullMs, quick.parallel, quick.stacks], [200, 100, 150, 1000, [5, 20], []]);
    assert.throws(() => parseFlags(["--parallel", "10,x"]), /--parallel needs a whole number/);
    assert.throws(() => parseFlags(["--fast"]), /unknown flag --fast/);
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
