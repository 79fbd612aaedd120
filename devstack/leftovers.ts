// Clean restarts for the demo and the e2e tests. Every run keeps its temp dirs (nginx, sshd,
// PowerDNS, engine state) under one well-known parent, `<tmp>/launchpad-runs/<pid>-<n>`, and marks
// every process it starts with `LAUNCHPAD_RUN_DIR=<that dir>` in the environment. A later run finds
// the dirs whose owner is dead (a SIGKILL, a Ctrl-C during setup, an OOM), ends the processes that
// carry their mark and removes the dirs: nginx (and its route files), sshd, pdns_server (and its
// records, which live in its sqlite file there), provider hosts. LXC containers and bridges are the
// LXC backend's own business: its cleanup() runs when a sandbox starts.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processStart } from "../sandbox/lxc/host";

/** The environment variable that marks a run's processes. */
export const RUN_MARK = "LAUNCHPAD_RUN_DIR";
const ROOT_VARIABLE = "LAUNCHPAD_RUNS_ROOT";
const OWNER_FILE = "owner.json";
const TERM_GRACE_MS = 5_000;

/** Where runs live. Children inherit it, so a run started from inside another run's temp dir still agrees. */
export function runsRoot(): string {
  return process.env[ROOT_VARIABLE] ?? path.join(os.tmpdir(), "launchpad-runs");
}

interface Owner {
  pid: number;
  /** /proc/<pid>/stat's start time: a recycled pid is not the same run. */
  pidStart: string;
  label: string;
  startedAt: string;
}

function ownerAlive(owner: Owner | undefined): boolean {
  return owner !== undefined && processStart(owner.pid) === owner.pidStart;
}

function readOwner(dir: string): Owner | undefined {
  try { return JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), "utf8")) as Owner; } catch { return undefined; }
}

/** One run's temp space. While `activate()`d, os.tmpdir() points into it and children carry the mark. */
export class Run {
  private saved?: { tmpdir: string | undefined; mark: string | undefined; root: string | undefined };

  private constructor(readonly dir: string) {}

  static open(label: string): Run {
    const root = runsRoot();
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    for (let n = 0; ; n++) {
      const dir = path.join(root, `${process.pid}-${n}`);
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw error;
      }
      const owner: Owner = { pid: process.pid, pidStart: processStart(process.pid) ?? "", label, startedAt: new Date().toISOString() };
      fs.writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(owner) + "\n");
      return new Run(dir);
    }
  }

  /** The environment a child of this run gets on top of process.env (for hosts spawned with their own env). */
  get env(): Record<string, string> {
    return { [RUN_MARK]: this.dir, TMPDIR: this.dir, [ROOT_VARIABLE]: path.dirname(this.dir) };
  }

  /** From now on temp dirs land in this run's dir and spawned processes carry its mark. */
  activate(): void {
    if (this.saved) return;
    this.saved = { tmpdir: process.env.TMPDIR, mark: process.env[RUN_MARK], root: process.env[ROOT_VARIABLE] };
    Object.assign(process.env, this.env);
  }

  /** Undoes activate(), then removes the dir (call after every process of the run has stopped). */
  close(): void {
    if (this.saved) {
      restore("TMPDIR", this.saved.tmpdir);
      restore(RUN_MARK, this.saved.mark);
      restore(ROOT_VARIABLE, this.saved.root);
      this.saved = undefined;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Processes whose environment carries `mark` or whose command line names `dir` (nginx rewrites its environ). */
export function processesOf(dir: string): number[] {
  const mark = Buffer.from(`${RUN_MARK}=${dir}\0`);
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      // LXC's monitors inherit the mark, but their containers are stopped and destroyed by the LXC backend's cleanup().
      if (cmdline.startsWith("[lxc monitor]") || cmdline.startsWith("lxc-start ")) continue;
      if (environ.includes(mark) || cmdline.includes(`${dir}/`)) found.push(pid);
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

async function terminate(pids: number[]): Promise<void> {
  for (const pid of pids) { try { process.kill(pid, "SIGTERM"); } catch { /* already gone */ } }
  const deadline = Date.now() + TERM_GRACE_MS;
  let alive = pids;
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter((pid) => processStart(pid) !== undefined && !isZombie(pid));
  }
  for (const pid of alive) { try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ } }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

export interface StaleRunsReport {
  /** Run dirs removed. */
  runs: string[];
  /** Processes ended (nginx, sshd, pdns_server, provider hosts, a stray app). */
  processes: number[];
}

/** Ends what dead runs left running and removes their dirs; live runs (other tests, other demos) are untouched. */
export async function cleanStaleRuns(): Promise<StaleRunsReport> {
  const root = runsRoot();
  const report: StaleRunsReport = { runs: [], processes: [] };
  let entries: string[];
  try { entries = fs.readdirSync(root); } catch { return report; }
  for (const entry of entries) {
    if (!/^\d+-\d+$/.test(entry)) continue;
    const dir = path.join(root, entry);
    const owner = readOwner(dir);
    // A dir without an owner file is one being created right now, unless it is older than a minute.
    if (owner === undefined && Date.now() - fs.statSync(dir).mtimeMs < 60_000) continue;
    if (ownerAlive(owner)) continue;
    const pids = processesOf(dir);
    await terminate(pids);
    report.processes.push(...pids);
    fs.rmSync(dir, { recursive: true, force: true });
    report.runs.push(dir);
  }
  return report;
}
