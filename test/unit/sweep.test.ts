// The sweep's pure parts: its tags, its judgement, reading a file backend, its arguments.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gzipSync } from "zlib";
import { parseSweepArgs, readBranches } from "../../src/sweep/cli";
import { judge, type ListedContainer } from "../../src/sweep/plan";
import { upstreamOf } from "../../src/sweep/remove";
import { fileBackendDir, readFileBackend, readTrackedState } from "../../src/sweep/state";
import { parseDuration, parseTagTime, readSweepTags, renderSweepTags, tagTime } from "../../src/sweep/tags";

const ID_A = "lp-0123456789-abcdef";
const ID_B = "lp-abcdef0123-000001";
const ID_C = "lp-fedcba9876-zzzzzz";
const NOW = new Date("2026-12-01T12:00:00Z");
const ct = (vmid: number, tags: string[]): ListedContainer => ({ node: "pve1", vmid, name: `ct${vmid}`, status: "running", tags });

describe("sweep tags", () => {
  it("write times, stacks and branches in Proxmox's pve-tag charset, and read them back", () => {
    const tags = renderSweepTags({ stack: "Feature/Login_2", branch: "feature-login", renewedAt: new Date("2026-12-01T14:00:00Z"), expiresAt: new Date("2026-12-08T14:05:00Z") });
    assert.deepStrictEqual(tags, ["lp-stack-feature-login_2", "lp-branch-feature-login", "lp-renewed-20261201t1400z", "lp-expires-20261208t1405z"]);
    for (const tag of tags) assert.match(tag, /^[a-z0-9_][a-z0-9_\-+.]*$/);
    const labels = readSweepTags([...tags, ID_A, "team-a"]);
    assert.strictEqual(labels.identity, ID_A);
    assert.strictEqual(labels.stack, "feature-login_2");
    assert.strictEqual(labels.expiresAt!.toISOString(), "2026-12-08T14:05:00.000Z");
    assert.strictEqual(parseTagTime(tagTime(NOW))!.getTime(), NOW.getTime());
    assert.strictEqual(parseTagTime("20261332t0000z"), undefined);
  });

  it("parses durations and refuses anything else", () => {
    assert.strictEqual(parseDuration("90m"), 90 * 60_000);
    assert.strictEqual(parseDuration("7d"), 7 * 86_400_000);
    assert.strictEqual(parseDuration("2w"), 14 * 86_400_000);
    for (const bad of ["", "7", "0d", "1 week", "-1d", "1.5h"]) assert.strictEqual(parseDuration(bad), undefined, bad);
  });
});

describe("sweep judgement", () => {
  const containers = [
    ct(100, ["team-a"]), // not ours: never judged
    ct(101, [ID_A, "lp-stack-live", "lp-branch-live", "lp-expires-20261208t1200z"]),
    ct(102, [ID_B, "lp-stack-old", "lp-branch-old", "lp-expires-20261130t1200z"]),
    ct(103, [ID_C, "lp-stack-gone", "lp-branch-gone", "lp-renewed-20261101t1200z"]),
  ];

  it("leaves a container without our identity tag out, whatever else holds", () => {
    const verdicts = judge(containers, { now: NOW, branches: new Set(), tracked: new Set() });
    assert.ok(!verdicts.some((v) => v.container.vmid === 100));
  });

  it("removes previews past their expiry, not renewed for --older-than, whose branch is gone, or untracked", () => {
    const verdicts = judge(containers, { now: NOW, olderThanMs: 14 * 86_400_000, branches: new Set(["live", "old"]), tracked: new Set([ID_A, ID_B, ID_C]) });
    assert.deepStrictEqual(verdicts.map((v) => [v.container.vmid, v.reasons]), [[101, []], [102, ["expired"]], [103, ["not-renewed", "branch-gone"]]]);
    const untracked = judge(containers, { now: NOW, tracked: new Set([ID_A]) });
    assert.deepStrictEqual(untracked.map((v) => [v.container.vmid, v.reasons]), [[101, []], [102, ["expired", "untracked"]], [103, ["untracked"]]]);
  });

  it("judges nothing untracked when the backend is unknown, and spares a stack with an operation in progress", () => {
    assert.deepStrictEqual(judge([containers[3]], { now: NOW }).map((v) => v.reasons), [[]]);
    const [verdict] = judge([containers[3]], { now: NOW, tracked: new Set(), busyStacks: new Set(["gone"]) });
    assert.deepStrictEqual(verdict.reasons, []);
    assert.match(verdict.spared!, /gone has an operation in progress/);
  });
});

describe("sweep state backend", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-sweep-state-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("collects identity tags from project-scoped and gzipped checkpoints, and busy stacks from locks", () => {
    const stacks = path.join(dir, ".pulumi/stacks/shop");
    fs.mkdirSync(stacks, { recursive: true });
    const checkpoint = (tag: string) => JSON.stringify({ version: 3, checkpoint: { latest: { resources: [{ type: "pulumi-nodejs:dynamic/launchpad:Container", outputs: { identityTag: tag } }] } } });
    fs.writeFileSync(path.join(stacks, "live.json"), checkpoint(ID_A));
    fs.writeFileSync(path.join(stacks, "zipped.json.gz"), gzipSync(checkpoint(ID_B)));
    fs.mkdirSync(path.join(dir, ".pulumi/locks/organization/shop/Feature-X"), { recursive: true });
    fs.writeFileSync(path.join(dir, ".pulumi/locks/organization/shop/Feature-X/1.json"), "{}");
    const state = readFileBackend(dir);
    assert.ok(state.known);
    assert.deepStrictEqual([...state.tracked].sort(), [ID_A, ID_B].sort());
    assert.deepStrictEqual([...state.busyStacks], ["feature-x"]);
    assert.strictEqual(state.stacks, 2);
  });

  it("says why when it cannot tell: not a file backend, no backend dir, a checkpoint it cannot read", () => {
    const cloud = readTrackedState(undefined, {});
    assert.ok(!cloud.known && /file backend/.test(cloud.reason));
    const s3 = readTrackedState(undefined, { PULUMI_BACKEND_URL: "s3://user:pw@bucket" });
    assert.ok(!s3.known && !s3.backend.includes("pw"));
    assert.ok(!readFileBackend(dir).known);
    fs.mkdirSync(path.join(dir, ".pulumi/stacks"), { recursive: true });
    fs.writeFileSync(path.join(dir, ".pulumi/stacks/x.json"), "{");
    const broken = readFileBackend(dir);
    assert.ok(!broken.known && /not JSON/.test(broken.reason));
    assert.strictEqual(fileBackendDir("file:///srv/state"), "/srv/state");
    assert.strictEqual(fileBackendDir("https://api.pulumi.com"), undefined);
  });
});

describe("sweep arguments and inputs", () => {
  it("dry run by default; --apply, --older-than, --branches-from, --state, --config", () => {
    assert.deepStrictEqual(parseSweepArgs([]), { apply: false, olderThanMs: undefined, branchesFrom: undefined, state: undefined, config: undefined });
    assert.deepStrictEqual(parseSweepArgs(["--apply", "--older-than", "7d", "--branches-from=origin", "--state", "/s", "--config", "c.json"]), {
      apply: true, olderThanMs: 7 * 86_400_000, branchesFrom: "origin", state: "/s", config: "c.json",
    });
    assert.strictEqual(parseSweepArgs(["--help"]), "help");
  });

  it("refuses conflicting, unknown or malformed options before anything is asked", () => {
    assert.throws(() => parseSweepArgs(["--apply", "--dry-run"]), /Only one of --apply and --dry-run/);
    assert.throws(() => parseSweepArgs(["--older-than", "a week"]), /--older-than: 'a week' is not a duration/);
    assert.throws(() => parseSweepArgs(["--force"]), /Unknown option '--force'/);
    assert.throws(() => parseSweepArgs(["stray"]), /unexpected argument 'stray'/);
  });

  it("reads branches from a file in the tag's form, and refuses an empty list", () => {
    const file = path.join(os.tmpdir(), `launchpad-branches-${process.pid}`);
    fs.writeFileSync(file, "main\nfeature/Login\n\n");
    try {
      assert.deepStrictEqual([...readBranches(file)], ["main", "feature-login"]);
      fs.writeFileSync(file, "\n");
      assert.throws(() => readBranches(file), /no branches listed/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it("finds a route file's upstream", () => {
    assert.strictEqual(upstreamOf("server {\n    listen 2001;\n    proxy_pass 10.0.0.5:22;\n}\n"), "10.0.0.5");
    assert.strictEqual(upstreamOf("    location / {\n        proxy_pass http://10.0.0.7:3000;\n"), "10.0.0.7");
    assert.strictEqual(upstreamOf("        proxy_pass https://[fd00::5]:443;\n"), "fd00::5");
    assert.strictEqual(upstreamOf("# nothing\n"), undefined);
  });
});
