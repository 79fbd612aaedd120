// The servers an in-process integration file starts in `before`, started once per process under Stryker.
// Stryker's mocha runner loads the files once and reruns their hooks for every mutant: starting nginx, sshd,
// PowerDNS and Pebble each time added seconds to every mutant run, on top of the tests'. Its workers carry
// STRYKER_MUTATOR_WORKER; there the servers are kept on globalThis, put back to a clean state before each run
// (`reset`, so no test leans on what an earlier run left, and a broken leftover cannot fail an unrelated
// mutant), and stopped when the worker is told to end. Under mocha they start in `before` and stop in `after`.
import * as fs from "fs";
import * as path from "path";
import { exec } from "child_process";
import { promisify } from "util";
import type { TestNginx } from "../../devstack/nginx";

const underStryker = process.env.STRYKER_MUTATOR_WORKER !== undefined;

type Stop = () => Promise<void>;
/** Registers a started server's stop (run in reverse order) and hands the server back. */
export type StopLater = <S extends { stop(): Promise<void> }>(server: S) => S;

interface Kept { servers: unknown; stops: Stop[] }
const KEPT = Symbol.for("pulumi-launchpad.test.serversOnce");
const kept: Map<string, Kept> = ((globalThis as Record<symbol, unknown>)[KEPT] ??= new Map()) as Map<string, Kept>;

async function stopAll(stops: Stop[]): Promise<void> {
  for (const stop of [...stops].reverse()) await stop().catch(() => undefined);
}

async function startKept<T>(context: Mocha.Context, start: (context: Mocha.Context, stopLater: StopLater) => Promise<T>): Promise<Kept> {
  const stops: Stop[] = [];
  try {
    const servers = await start(context, (server) => { stops.push(() => server.stop()); return server; });
    return { servers, stops };
  } catch (error) {
    await stopAll(stops); // a failed or skipped start leaves nothing running
    throw error;
  }
}

/** This process's own children (the kept servers), from /proc: at `exit` only synchronous work runs. */
function ownChildren(): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

let stopOnExit = false;
/**
 * Stryker ends a worker with SIGTERM (tree-kill), or the worker loses its parent: stop what was kept
 * (their directories removed too); at `exit`, whatever still runs gets SIGTERM.
 */
function stopKeptOnExit(): void {
  if (stopOnExit) return;
  stopOnExit = true;
  const end = () => {
    setTimeout(() => process.exit(143), 10_000);
    void Promise.all([...kept.values()].map((k) => stopAll(k.stops))).finally(() => process.exit(143));
  };
  process.once("SIGTERM", end);
  process.once("disconnect", end);
  process.once("exit", () => {
    for (const pid of ownChildren()) {
      try { process.kill(pid, "SIGTERM"); } catch { /* already gone */ }
    }
  });
}

/**
 * The servers of one file: `start(this)` in `before`, `stop()` in `after`. `key` names the set (one per
 * file); `reset` puts reused servers back to a clean state, and throwing from it starts them afresh.
 */
export function serversOnce<T>(
  key: string,
  start: (context: Mocha.Context, stopLater: StopLater) => Promise<T>,
  reset: (servers: T) => Promise<void>,
): { start(context: Mocha.Context): Promise<T>; stop(): Promise<void> } {
  let current: Kept | undefined;
  return {
    async start(context) {
      if (!underStryker) {
        current = await startKept(context, start);
        return current.servers as T;
      }
      stopKeptOnExit();
      const reused = kept.get(key);
      if (reused) {
        try {
          await reset(reused.servers as T);
          return reused.servers as T;
        } catch {
          kept.delete(key);
          await stopAll(reused.stops);
        }
      }
      const fresh = await startKept(context, start);
      kept.set(key, fresh);
      return fresh.servers as T;
    },
    async stop() {
      if (underStryker || !current) return;
      const { stops } = current;
      current = undefined;
      await stopAll(stops);
    },
  };
}

/** An nginx with no route, certificate or challenge file in its confDir, serving that (throws if it cannot). */
export async function emptyNginx(nginx: TestNginx): Promise<void> {
  for (const entry of fs.readdirSync(nginx.confDir)) fs.rmSync(path.join(nginx.confDir, entry), { recursive: true, force: true });
  for (const sub of ["http", "stream"]) fs.mkdirSync(path.join(nginx.confDir, sub));
  await promisify(exec)(nginx.reloadCommand);
}
