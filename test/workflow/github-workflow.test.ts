// The example GitHub workflows, parsed and held to their rules, and their `run:` steps executed
// with bash (as GitHub's runner does: `bash --noprofile --norc -eo pipefail`) against a fake
// `pulumi` that records its argv and stdin: hostile branch names, a real multi-line OpenSSH key,
// quotes in every JSON variable. Nothing here reaches the network.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { stackName } from "../../src/naming";
import { requireBinary } from "../../devstack/binaries";

const ROOT = path.resolve(__dirname, "../..");

interface Step { name?: string; id?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown>; if?: string }
interface Job { if?: string; "runs-on": string; steps: Step[]; concurrency?: { group: string; "cancel-in-progress": boolean } }
interface Workflow { on: Record<string, unknown>; env?: Record<string, string>; jobs: Record<string, Job> }

const load = (file: string): { text: string; workflow: Workflow } => {
  const text = fs.readFileSync(path.join(ROOT, "examples", file), "utf8");
  return { text, workflow: parse(text) as Workflow };
};
const stepNamed = (job: Job, name: RegExp): Step => {
  const step = job.steps.find((s) => name.test(s.name ?? ""));
  assert.ok(step?.run, `a run step named ${name}`);
  return step!;
};

/** A `pulumi` on PATH that appends {argv, stdin} per call to $FAKE_PULUMI_LOG; `stack select` without --create fails unless the stack is in $FAKE_PULUMI_STACKS. */
const FAKE_PULUMI = `#!/usr/bin/env node
const fs = require("fs");
const argv = process.argv.slice(2);
const stdin = fs.readFileSync(0, "utf8");
fs.appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify({ argv, stdin }) + "\\n");
if (argv[0] === "stack" && argv[1] === "select" && !argv.includes("--create")) {
  const stack = argv[argv.indexOf("--stack") + 1];
  if (!(process.env.FAKE_PULUMI_STACKS || "").split(",").includes(stack)) {
    process.stderr.write("error: no stack named '" + stack + "' found\\n");
    process.exit(255);
  }
}
if (argv[0] === "stack" && argv[1] === "output") process.stdout.write(argv.at(-1) === "url" ? "https://x.preview.example.com" : "ssh -p 2001 root@proxy");
`;

interface Call { argv: string[]; stdin: string }

describe("examples/github-workflow.yml", function () {
  this.timeout(120_000);
  const { text, workflow } = load("github-workflow.yml");
  let sandbox: string;

  before(function () {
    requireBinary(this, "bash", "bash");
    sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-workflow-"));
    fs.mkdirSync(path.join(sandbox, "bin"));
    fs.writeFileSync(path.join(sandbox, "bin/pulumi"), FAKE_PULUMI, { mode: 0o755 });
  });
  after(() => {
    if (sandbox) fs.rmSync(sandbox, { recursive: true, force: true });
  });

  /** Runs one step's script as GitHub does, with the step's env names filled from `env`; returns the fake pulumi's calls. */
  function runStep(step: Step, env: Record<string, string>, stacks: string[] = []) {
    const log = path.join(sandbox, `calls-${Math.random().toString(36).slice(2)}.jsonl`);
    const output = path.join(sandbox, `output-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(log, "");
    fs.writeFileSync(output, "");
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run!], {
      cwd: ROOT, // `require("pulumi-launchpad")` resolves as in a checkout after `npm ci`
      input: "",
      encoding: "utf8",
      env: {
        PATH: `${path.join(sandbox, "bin")}:${process.env.PATH}`,
        HOME: sandbox,
        GITHUB_OUTPUT: output,
        FAKE_PULUMI_LOG: log,
        FAKE_PULUMI_STACKS: stacks.join(","),
        ...env,
      },
    });
    const calls: Call[] = fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, outputs: fs.readFileSync(output, "utf8") };
  }

  it("passes no value through YAML config-map or a `${{ }}` inside a shell script", () => {
    assert.ok(!/config-map/.test(text), "no config-map");
    for (const [name, job] of Object.entries(workflow.jobs)) {
      for (const step of job.steps) {
        if (step.run) assert.ok(!step.run.includes("${{"), `${name}/${step.name ?? step.run}: expressions reach the script only through env`);
        assert.ok(!step.with || !("config-map" in step.with), `${name}: no config-map`);
      }
    }
    // Secrets appear only as env values.
    for (const line of text.split("\n").filter((l) => l.includes("secrets."))) {
      assert.match(line, /^\s+[A-Z_]+: \$\{\{ secrets\.[A-Z_]+ \}\}$/, `secret outside an env map: ${line}`);
    }
  });

  it("runs `up` once per commit: on push only, never on pull_request", () => {
    const ups = Object.entries(workflow.jobs).filter(([, job]) => job.steps.some((s) => /pulumi up\b/.test(s.run ?? "") || s.with?.command === "up"));
    assert.deepStrictEqual(ups.map(([name]) => name), ["up"]);
    assert.strictEqual(workflow.jobs.up.if, "github.event_name == 'push'");
    assert.ok(workflow.on.push && workflow.on.pull_request && "delete" in workflow.on);
  });

  it("takes runs-on from a variable, documented, for self-hosted runners that reach Proxmox", () => {
    for (const name of ["up", "comment", "destroy"]) {
      assert.match(workflow.jobs[name]["runs-on"], /vars\.PREVIEW_RUNS_ON/, `${name} runs-on`);
    }
    assert.match(text, /#.*PREVIEW_RUNS_ON.*\n#.*\["self-hosted", "proxmox"\]/);
  });

  it("skips fork pull requests with a message, and no job with secrets runs for them", () => {
    const fork = workflow.jobs.fork;
    assert.match(fork.if!, /head\.repo\.full_name != github\.repository/);
    const { status, stdout } = runStep(fork.steps[0], {});
    assert.strictEqual(status, 0);
    assert.match(stdout, /::notice.*forks/);
    for (const name of ["comment", "destroy"]) assert.match(workflow.jobs[name].if!, /head\.repo\.full_name == github\.repository/, name);
  });

  it("keeps `up` and destroy of one branch in one queue, and the comment out of it", () => {
    assert.strictEqual(workflow.jobs.up.concurrency!.group, "preview-${{ github.ref_name }}");
    assert.match(workflow.jobs.destroy.concurrency!.group, /^preview-\$\{\{/);
    assert.match(workflow.jobs.comment.concurrency!.group, /^preview-comment-/);
    for (const name of ["up", "destroy"]) assert.strictEqual(workflow.jobs[name].concurrency!["cancel-in-progress"], false);
  });

  it("derives the stack name from hostile branch names without running any of them", () => {
    const step = stepNamed(workflow.jobs.up, /Stack name/);
    const canary = path.join(sandbox, "pwned");
    const branches = [
      "feature/Login",
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `a'b"c; touch ${canary}`,
      "x\ny=1",
      "refs/heads/--help",
    ];
    for (const branch of branches) {
      const { status, stderr, outputs } = runStep(step, { BRANCH: branch });
      assert.strictEqual(status, 0, stderr);
      assert.strictEqual(outputs, `name=${stackName(branch)}\n`, JSON.stringify(branch));
    }
    assert.ok(!fs.existsSync(canary), "no branch name was executed");
  });

  it("hands a real multi-line OpenSSH key and JSON full of quotes to `pulumi config set` unchanged, through stdin", function () {
    const sshKeygen = requireBinary(this, "ssh-keygen", "openssh-client");
    const keyFile = path.join(sandbox, "id_ed25519");
    execFileSync(sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "launch'pad \"proxy\"", "-f", keyFile]);
    const privateKey = fs.readFileSync(keyFile, "utf8");
    assert.ok(privateKey.split("\n").length > 4, "a multi-line key");
    const values: Record<string, string> = {
      BRANCH: "feature/it's \"quoted\"",
      STACK: "feature-it-s-quoted",
      REPOSITORY: "acme/shop",
      REVISION: "0123456789abcdef0123456789abcdef01234567",
      PREVIEW_IMAGE: "docker.io/library/node:22-bookworm",
      PREVIEW_DOMAIN: "preview.example.com",
      PREVIEW_PROXY: `{"host": "proxy.internal", "user": "launch'pad", "hostKeyFingerprint": "SHA256:abc", "tls": {"certificate": "/etc/ssl/it's.crt", "key": "/etc/ssl/\\"k\\".key"}}`,
      PREVIEW_DEPLOY: `{"commands": ["cd /srv/app && git checkout \\"$LAUNCHPAD_REVISION\\"", "echo 'it''s done' > /tmp/x", "-n"]}`,
      PREVIEW_SERVICES: `{"http": 3000, "ssh": true, "tcp": {"db'x": 5432}}`,
      PREVIEW_TTL: "",
      PREVIEW_PROXY_PRIVATE_KEY: privateKey,
    };
    for (const value of [values.PREVIEW_PROXY, values.PREVIEW_DEPLOY, values.PREVIEW_SERVICES]) JSON.parse(value);
    const step = stepNamed(workflow.jobs.up, /Stack config/);
    assert.deepStrictEqual(Object.keys(step.env!).sort(), Object.keys(values).filter((k) => k !== "BRANCH").sort(), "the step's env names");
    const { status, stderr, calls } = runStep(step, values);
    assert.strictEqual(status, 0, stderr);
    assert.deepStrictEqual(calls[0].argv, ["stack", "select", "--create", "--stack", values.STACK]);
    const sets = new Map(calls.slice(1).map((call) => [call.argv.at(-1)!, call]));
    const expected: Record<string, [string, boolean]> = {
      "preview:branch": [values.BRANCH, false],
      "preview:repository": [values.REPOSITORY, false],
      "preview:revision": [values.REVISION, false],
      "preview:image": [values.PREVIEW_IMAGE, false],
      "preview:domain": [values.PREVIEW_DOMAIN, false],
      "preview:proxy": [values.PREVIEW_PROXY, false],
      "preview:deploy": [values.PREVIEW_DEPLOY, false],
      "preview:services": [values.PREVIEW_SERVICES, false],
      "preview:proxyPrivateKey": [privateKey, true],
    };
    assert.deepStrictEqual([...sets.keys()].sort(), Object.keys(expected).sort(), "an empty PREVIEW_TTL sets nothing");
    for (const [key, [value, secret]] of Object.entries(expected)) {
      const call = sets.get(key)!;
      assert.strictEqual(call.stdin, value, key);
      assert.deepStrictEqual(call.argv, ["config", "set", "--stack", values.STACK, ...(secret ? ["--secret"] : []), "--", key], key);
    }
    for (const call of calls) assert.ok(!call.argv.join(" ").includes("PRIVATE KEY"), "the key never reaches argv");
  });

  it("runs `pulumi up` on the step's stack", () => {
    const { status, calls } = runStep(stepNamed(workflow.jobs.up, /pulumi up/), { STACK: "feature-login" });
    assert.strictEqual(status, 0);
    assert.deepStrictEqual(calls.map((c) => c.argv), [["up", "--yes", "--refresh", "--stack", "feature-login"]]);
  });

  it("destroys and removes an existing stack, and succeeds quietly when there is none (the second of PR-closed + branch-deleted)", () => {
    const step = stepNamed(workflow.jobs.destroy, /destroy/);
    const present = runStep(step, { BRANCH: "feature/login" }, ["feature-login"]);
    assert.strictEqual(present.status, 0, present.stderr);
    assert.deepStrictEqual(present.calls.map((c) => c.argv), [
      ["stack", "select", "--stack", "feature-login"],
      ["destroy", "--yes", "--refresh", "--stack", "feature-login"],
      ["stack", "rm", "--yes", "--stack", "feature-login"],
    ]);
    const absent = runStep(step, { BRANCH: "feature/login" }, []);
    assert.strictEqual(absent.status, 0, absent.stderr);
    assert.match(absent.stdout, /No stack feature-login: nothing to destroy/);
    assert.strictEqual(absent.stderr, "");
    assert.deepStrictEqual(absent.calls.map((c) => c.argv[0]), ["stack"]);
  });

  it("reads the PR comment's URL from the stack, or says there is none yet", () => {
    const step = workflow.jobs.comment.steps.find((s) => s.id === "outputs")!;
    const found = runStep(step, { BRANCH: "feature/login" }, ["feature-login"]);
    assert.strictEqual(found.status, 0, found.stderr);
    assert.strictEqual(found.outputs, "url=https://x.preview.example.com\nssh=ssh -p 2001 root@proxy\n");
    const none = runStep(step, { BRANCH: "feature/login" }, []);
    assert.strictEqual(none.status, 0, none.stderr);
    assert.strictEqual(none.outputs, "");
    assert.match(none.stdout, /::notice::No preview/);
  });
});

describe("examples/github-sweep-workflow.yml", () => {
  const { workflow } = load("github-sweep-workflow.yml");

  it("runs the sweep nightly, applying on schedule and only listing on a manual run unless asked", () => {
    const schedule = workflow.on.schedule as { cron: string }[];
    assert.match(schedule[0].cron, /^\d+ \d+ \* \* \*$/, "once a day");
    const job = workflow.jobs.sweep;
    assert.match(job["runs-on"], /vars\.PREVIEW_RUNS_ON/);
    const step = job.steps.find((s) => /sweep/.test(s.run ?? ""))!;
    assert.ok(!step.run!.includes("${{"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-sweep-workflow-"));
    try {
      fs.mkdirSync(path.join(dir, "bin"));
      // A fake npx: prints its argv as JSON.
      fs.writeFileSync(path.join(dir, "bin/npx"), "#!/usr/bin/env node\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n", { mode: 0o755 });
      const run = (apply: string, olderThan = "") => {
        const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run!], {
          encoding: "utf8", input: "",
          env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, RUNNER_TEMP: dir, APPLY: apply, SWEEP_CONFIG: `{"proxy": {"user": "it's"}}`, SWEEP_OLDER_THAN: olderThan },
        });
        assert.strictEqual(result.status, 0, result.stderr);
        return JSON.parse(result.stdout) as string[];
      };
      assert.deepStrictEqual(run("true"), ["pulumi-launchpad", "sweep", "--apply", "--branches-from", "origin", "--config", path.join(dir, "sweep.json")]);
      assert.deepStrictEqual(run("false").slice(0, 3), ["pulumi-launchpad", "sweep", "--dry-run"]);
      assert.deepStrictEqual(run("true", "14d").slice(-2), ["--older-than", "14d"]);
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, "sweep.json"), "utf8")), { proxy: { user: "it's" } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
