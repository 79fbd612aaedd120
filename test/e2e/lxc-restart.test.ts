// Clean restarts: a run killed with SIGKILL in the middle of a deployed preview leaves an LXC
// container and bridge, nginx with its route files, sshd, PowerDNS with its record, and their temp
// dirs. The next start of the stack (demo or tests) removes all of it, and nothing of a live run.
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PreviewStack, startPreviewStack } from "../../devstack/preview-stack";
import { createLxcBackend } from "../../sandbox/lxc";
import { RUN_MARK, cleanStaleRuns, processesOf } from "../../devstack/leftovers";
import { requireLxc } from "../support/lxc";

interface Crashed {
  runDir: string; backend: string; lxcPath: string; container: string; bridge: string;
  confDir: string; routes: string[]; pdnsDir: string; name: string; url: string; httpsPort: number;
}

const REPO = path.resolve(__dirname, "..", "..");

function bridgeExists(bridge: string): boolean {
  return execFileSync("ip", ["-br", "link"], { encoding: "utf8" }).split("\n").some((line) => line.split(/\s+/)[0] === bridge);
}

function lxcExists(lxcPath: string, name: string): boolean {
  return execFileSync("lxc-ls", ["-P", lxcPath, "-1"], { encoding: "utf8" }).split(/\s+/).includes(name);
}

/** The process state letter from /proc/<pid>/stat, or "gone". */
function stateOf(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

/** Ended processes may linger as zombies until whoever inherited them reaps them. */
function running(pid: number): boolean {
  const state = stateOf(pid);
  return state !== "gone" && state !== "Z" && state !== "X";
}

/** Starts the crashing child and resolves with what it reports once its preview is up. */
function startCrashingRun(): Promise<{ child: ChildProcess; crashed: Crashed; stderr: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // It is its own run, not part of this test's.
  for (const name of [RUN_MARK, "LAUNCHPAD_RUNS_ROOT"]) delete env[name];
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(REPO, "test/support/crashed-run.ts")], {
    cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.includes("\n")) resolve({ child, crashed: JSON.parse(stdout.split("\n")[0]) as Crashed, stderr: () => stderr });
    });
    child.once("exit", (code, signal) => reject(new Error(`the crashing run ended early (${code ?? signal}):\n${stderr}`)));
  });
}

describe("e2e: clean restart after a crashed run", function () {
  // The crashed run boots a real system image (pull, extract, init, sshd, deploy): minutes on a loaded machine.
  this.timeout(900_000);
  let child: ChildProcess | undefined;
  let stack: PreviewStack | undefined;

  before(function () {
    requireLxc(this);
  });

  after(async function () {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await stack?.close();
    // When a check failed before the restart did its work, do it here: nothing of the crash outlives the test.
    await cleanStaleRuns();
    const lxc = await createLxcBackend();
    await lxc.cleanup();
    await lxc.close();
  });

  it("removes the container, bridge, nginx and its routes, sshd, PowerDNS and its record, and their dirs, left by a SIGKILLed run", async function () {
    const started = await startCrashingRun();
    child = started.child;
    const { crashed } = started;
    assert.equal(crashed.backend, "lxc", started.stderr());
    child.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));

    // What the crash left behind.
    const orphans = processesOf(crashed.runDir);
    const commands = orphans.map((pid) => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "); } catch { return ""; } });
    for (const program of ["nginx", "sshd", "pdns_server"]) {
      assert.ok(commands.some((command) => command.includes(program)), `${program} still runs after the crash: ${commands.join(" | ")}`);
    }
    assert.equal(crashed.routes.length, 2, "an https route and the ssh port");
    for (const file of crashed.routes) assert.ok(fs.existsSync(file), `${file} is still there after the crash`);
    assert.ok(lxcExists(crashed.lxcPath, crashed.container), `${crashed.container} exists after the crash`);
    assert.ok(bridgeExists(crashed.bridge), `${crashed.bridge} exists after the crash`);
    assert.ok(fs.existsSync(crashed.pdnsDir));

    // The next run starts clean.
    const progress: string[] = [];
    stack = await startPreviewStack({ backend: "lxc", context: this, log: (line) => progress.push(line) });
    assert.ok(progress.some((line) => line.includes(crashed.runDir)), `says what it cleaned:\n${progress.join("\n")}`);
    assert.deepEqual(processesOf(crashed.runDir), [], "no process of the crashed run is left");
    for (const pid of orphans) assert.ok(!running(pid), `pid ${pid} (${commands[orphans.indexOf(pid)]}) is gone: ${stateOf(pid)}`);
    assert.ok(!fs.existsSync(crashed.runDir), "its temp dirs (nginx routes, sshd keys, the PowerDNS database) are removed");
    assert.ok(!lxcExists(crashed.lxcPath, crashed.container), `${crashed.container} is removed`);
    assert.ok(!bridgeExists(crashed.bridge), `${crashed.bridge} is removed`);
    assert.ok(!fs.existsSync(path.join(crashed.lxcPath, crashed.container)));

    // The new run is untouched by its own start, and works.
    assert.equal(stack.backend, "lxc");
    assert.deepEqual(await stack.leftovers(), { containers: 0, routes: 0, records: 0, challenges: 0, certificates: 0 });
    const answer = await stack.fetch(`https://${crashed.name}.preview.test:${stack.nginx.httpsPort}/`, 0);
    assert.equal(answer.status, 404, "the new proxy knows nothing of the crashed run's preview");
  });

  it("leaves a live run alone", async function () {
    const live = await startPreviewStack({ backend: "memory", context: this, log: () => undefined });
    try {
      const before = processesOf(live.run.dir).sort();
      assert.ok(before.length >= 3, "its nginx, sshd and pdns_server run");
      const other = await startPreviewStack({ backend: "memory", context: this, log: () => undefined });
      await other.close();
      assert.ok(fs.existsSync(live.run.dir), "the live run's dir survives another run's start");
      assert.deepEqual(processesOf(live.run.dir).sort(), before, "and so do its processes");
      assert.equal((await live.fetch(`https://x.preview.test:${live.nginx.httpsPort}/`, 0)).status, 404);
    } finally {
      await live.close();
    }
    assert.ok(!fs.existsSync(live.run.dir), "a run removes its own dir when it closes");
  });
});
