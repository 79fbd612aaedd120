// The one way this backend runs a host command: argv only (no shell), a timeout, and errors that
// carry the command's stderr, so a failed lxc-start says why.
import { spawn, spawnSync } from "child_process";

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
}

const DEFAULT_TIMEOUT_MS = 20_000;
/** Daemonizing commands (lxc-start) may leave a child holding our pipes: stop reading this long after exit. */
const PIPE_GRACE_MS = 300;
const STDERR_TAIL_CHARS = 2_000;

export class LxcCommandError extends Error {
  readonly command: string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string[], exitCode: number | null, stderr: string, reason: string) {
    const tail = stderr.trim().slice(-STDERR_TAIL_CHARS);
    super(`${command.join(" ")}: ${reason}${tail ? `: ${tail}` : ""}`);
    this.name = "LxcCommandError";
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export function run(command: string[], options: RunOptions = {}): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let settled = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));

    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(() => reject(new LxcCommandError(command, null, stderr, `timed out after ${timeoutMs} ms`)));
    }, timeoutMs);

    function finish(settle: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle();
    }

    child.on("error", (error) =>
      finish(() => reject(new LxcCommandError(command, null, stderr, `cannot run: ${error.message}`))),
    );
    child.on("exit", (code, signal) => {
      const complete = (): void =>
        finish(() => {
          const exitCode = code ?? -1;
          if (exitCode === 0 || options.allowFailure) resolve({ stdout, stderr, exitCode });
          else reject(new LxcCommandError(command, code, stderr, signal ? `killed by ${signal}` : `exit ${exitCode}`));
        });
      child.once("close", complete);
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        complete();
      }, PIPE_GRACE_MS).unref();
    });
  });
}

/** Synchronous variant for the availability probe, which must answer before anything is started. */
export function runSync(command: string[], timeoutMs = 5_000): CommandResult {
  const result = spawnSync(command[0], command.slice(1), { encoding: "utf8", timeout: timeoutMs });
  return {
    stdout: result.stdout ?? "",
    stderr: result.error ? String(result.error.message) : (result.stderr ?? ""),
    exitCode: result.status ?? -1,
  };
}
