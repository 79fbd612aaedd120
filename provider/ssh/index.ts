// The one SSH session layer: the proxy routes and the container's deploy step both run their
// commands through `withSshSession`. One connection per unit of work; host keys are pinned by
// their SHA256 fingerprint; every message that leaves here is redacted.

import { createHash } from "crypto";
import { posix as path } from "path";
import { PassThrough } from "stream";
import { NodeSSH } from "node-ssh";
import { SshConnectError, SshExecError, registerSecret } from "../errors";
import { retrying } from "../retry";

// node-ssh quotes with `shell-escape`; reuse it so that quoting rules live in one library.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shellEscape: (words: string[]) => string = require("shell-escape");

/** Where and how to log in. */
export interface SshTarget {
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  readonly username: string;
  /** PEM or OpenSSH private key text. A secret: registered for redaction, never echoed. */
  readonly privateKey?: string;
  readonly passphrase?: string;
  /** SSH agent socket path. @default $SSH_AUTH_SOCK when no privateKey is given */
  readonly agent?: string;
  /** "SHA256:<base64>" as `ssh-keygen -lf` prints it. Required unless insecureIgnoreHostKey. */
  readonly hostKeyFingerprint?: string;
  /** Only for a host that was created moments ago and whose key cannot be known yet. @default false */
  readonly insecureIgnoreHostKey?: boolean;
  /** @default 20000 */
  readonly readyTimeoutMs?: number;
}

export interface ExecOptions {
  /** Sent to the command's standard input, then closed. */
  readonly stdin?: string;
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  /** Exit codes that count as success. @default [0] */
  readonly okExitCodes?: readonly number[];
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface SshSession {
  /** Runs one command line (the login shell parses it); throws SshExecError on a bad exit. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** The file's text, or undefined when it does not exist. */
  readFile(filePath: string): Promise<string | undefined>;
  /** Writes a sibling temp file and renames it over `filePath`, so readers never see half a file. */
  writeFileAtomic(filePath: string, content: string, options?: { mode?: string }): Promise<void>;
  /** Holds an exclusive `flock` on `lockFile` on the remote host while `work` runs. */
  withLock<T>(lockFile: string, work: () => Promise<T>, options?: { timeoutSeconds?: number }): Promise<T>;
}

/** Quotes one word for a POSIX shell. The only place in the project that quotes for a shell. */
export function shellQuote(word: string): string {
  // shell-escape turns the empty string into nothing at all, which would drop an argument.
  return word === "" ? "''" : shellEscape([word]);
}

/** A command line from words, each quoted. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/** A POSIX `sh` script as one command line, whatever the login shell is. */
export function shScript(script: string): string {
  return `sh -c ${shellQuote(script)}`;
}

/** The fingerprint of a raw SSH public key blob, formatted as `ssh-keygen -lf` prints it. */
export function sha256Fingerprint(publicKey: Buffer): string {
  return `SHA256:${createHash("sha256").update(publicKey).digest("base64").replace(/=+$/, "")}`;
}

const MISSING_FILE_EXIT = 44;

/**
 * The connection died under a command (reset, closed, "Not connected"): the command may or may not
 * have run, so this is not retried, but it is named for what it is rather than ssh2's bare words.
 */
function connectionLost(where: string, command: string, error: unknown): SshConnectError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SshConnectError(`SSH connection to ${where} was lost while running ${command}: ${reason}`, {
    cause: error,
    context: { transient: false, lost: true },
  });
}

class NodeSshSession implements SshSession {
  constructor(private readonly ssh: NodeSSH, private readonly where: string) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.ssh.execCommand(command, {
      stdin: options.stdin,
      onStdout: options.onStdout,
      onStderr: options.onStderr,
      noTrim: true,
    }).catch((error: unknown) => { throw connectionLost(this.where, command, error); });
    const okExitCodes = options.okExitCodes ?? [0];
    // A channel that closes without an exit status on a dead connection is the connection's fault.
    if (result.code === null && !this.ssh.isConnected()) throw connectionLost(this.where, command, new Error("the channel closed without an exit status"));
    if (result.code === null || !okExitCodes.includes(result.code)) {
      throw new SshExecError({ command, exitCode: result.code, stdout: result.stdout, stderr: result.stderr });
    }
    return { stdout: result.stdout, stderr: result.stderr, code: result.code };
  }

  async readFile(filePath: string): Promise<string | undefined> {
    const quoted = shellQuote(filePath);
    const result = await this.exec(shScript(`if [ -e ${quoted} ]; then exec cat -- ${quoted}; else exit ${MISSING_FILE_EXIT}; fi`), {
      okExitCodes: [0, MISSING_FILE_EXIT],
    });
    return result.code === MISSING_FILE_EXIT ? undefined : result.stdout;
  }

  async writeFileAtomic(filePath: string, content: string, options: { mode?: string } = {}): Promise<void> {
    const dir = path.dirname(filePath);
    // The temp name starts with a dot, so `include dir/*.conf` globs never pick it up.
    const template = shellQuote(`${dir}/.${path.basename(filePath)}.XXXXXX`);
    const mode = shellQuote(options.mode ?? "0644");
    await this.exec(
      shScript(
        `set -e; tmp=$(mktemp ${template}); trap 'rm -f "$tmp"' EXIT; cat > "$tmp"; chmod ${mode} "$tmp"; mv -f "$tmp" ${shellQuote(filePath)}`,
      ),
      { stdin: content },
    );
  }

  async withLock<T>(lockFile: string, work: () => Promise<T>, options: { timeoutSeconds?: number } = {}): Promise<T> {
    const timeoutSeconds = Math.max(1, Math.round(options.timeoutSeconds ?? 120));
    // The lock lives as long as this channel's stdin stays open: closing it (or losing the
    // connection) ends `cat`, and with it the flock, so a crashed deploy cannot leave it held.
    const command = shScript(
      `mkdir -p ${shellQuote(path.dirname(lockFile))} && exec flock -x -w ${timeoutSeconds} ${shellQuote(lockFile)} sh -c 'echo locked; exec cat >/dev/null'`,
    );
    const holder = new PassThrough();
    let stdout = "";
    let onLocked: () => void = () => undefined;
    const locked = new Promise<void>((resolve) => { onLocked = resolve; });
    const holding = this.ssh.execCommand(command, {
      stdin: holder,
      noTrim: true,
      onStdout: (chunk) => {
        stdout += chunk.toString("utf8");
        if (stdout.includes("locked")) onLocked();
      },
    }).catch((error: unknown) => { throw connectionLost(this.where, command, error); });
    const ended = holding.then((result) => {
      throw new SshExecError({
        command,
        exitCode: result.code,
        stdout: result.stdout,
        stderr: result.stderr || `could not lock ${lockFile} within ${timeoutSeconds} s`,
      });
    });
    try {
      await Promise.race([locked, ended]);
      return await work();
    } finally {
      holder.end();
      await holding.catch(() => undefined);
      ended.catch(() => undefined);
    }
  }
}

const TRANSIENT_CONNECT_CODES = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"];

async function connect(target: SshTarget): Promise<NodeSSH> {
  // Messages get trimmed, so a key printed whole loses its final newline: mask both forms.
  for (const secret of [target.privateKey, target.privateKey?.trim(), target.passphrase]) registerSecret(secret);
  const port = target.port ?? 22;
  const where = `${target.username}@${target.host}:${port}`;
  const expected = target.hostKeyFingerprint?.replace(/=+$/, "");
  if (!expected && !target.insecureIgnoreHostKey) {
    throw new SshConnectError(`refusing to connect to ${where}: no hostKeyFingerprint is pinned`);
  }
  const agent = target.privateKey ? undefined : (target.agent ?? process.env.SSH_AUTH_SOCK);
  if (!target.privateKey && !agent) {
    throw new SshConnectError(`cannot log in to ${where}: give a privateKey, or an SSH agent (agent or SSH_AUTH_SOCK)`);
  }
  let presented: string | undefined;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host: target.host,
      port,
      username: target.username,
      privateKey: target.privateKey,
      passphrase: target.passphrase,
      agent,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      hostVerifier: (key: Buffer) => {
        presented = sha256Fingerprint(key);
        return target.insecureIgnoreHostKey === true || presented === expected;
      },
    });
    // node-ssh drops its error listener once connected; a reset after that (say, the socket of a
    // tunnel closing while the goodbye is in flight) would be an uncaught exception in the provider
    // host. Commands still see a lost connection through their own channels.
    ssh.connection?.on("error", () => undefined);
    return ssh;
  } catch (error) {
    ssh.dispose();
    if (expected && presented && presented !== expected && !target.insecureIgnoreHostKey) {
      throw new SshConnectError(`host key of ${target.host}:${port} does not match: expected ${expected}, got ${presented}`, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: string }).code;
    // Refused, reset or timed out before login: nothing ran yet, so connecting again is safe.
    const transient = (code !== undefined && TRANSIENT_CONNECT_CODES.includes(code)) || /handshake|Connection lost before/i.test(reason);
    throw new SshConnectError(`cannot connect to ${where}: ${reason}`, { cause: error, context: { transient } });
  }
}

/** Opens one SSH connection, hands a session to `work`, and always closes the connection. */
export async function withSshSession<T>(target: SshTarget, work: (session: SshSession) => Promise<T>): Promise<T> {
  const ssh = await retrying(() => connect(target), { idempotent: true });
  try {
    return await work(new NodeSshSession(ssh, `${target.username}@${target.host}:${target.port ?? 22}`));
  } finally {
    ssh.dispose();
  }
}
