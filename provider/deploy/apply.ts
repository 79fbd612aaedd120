// Running a deployment: reach the container (directly or through the jump host), learn or check its
// host key, then run each command in order with the output streamed to Pulumi's log. Nothing is
// left behind remotely by the provider itself, so delete has nothing to do.

import { StringDecoder } from "string_decoder";
import { Client } from "ssh2";
import { SshConnectError, SshExecError, ValidationError, escapeControl, isLaunchpadError, pendingSecretStart, redact, registerSecret } from "../errors";
import { backoff, done, notYet, pollUntil } from "../poll";
import { sha256Fingerprint, withSshSession } from "../ssh";
import { renderScript } from "./render";
import { applicationContainerProblem, type DeploymentInputs } from "./schema";
import { openTunnel } from "./tunnel";

/** Where a line of command output goes: the host's console passthrough ends up in Pulumi's log. */
export type LogSink = (line: string) => void;

/** The dynamic-provider host forwards what the provider writes to stderr into the engine's log. */
export const consoleSink: LogSink = (line) => {
  process.stderr.write(`${line}\n`);
};

/** How much of a failed command's output goes into the error (the whole output was streamed already). */
const ERROR_OUTPUT_TAIL = 4000;
/** sshd of a container started a moment ago: probed from 250 ms, doubling, at most every 3 s. */
const HOST_KEY_POLL = backoff({ initialMs: 250, factor: 2, maxMs: 3000 });

export interface DeploymentRun {
  /** The host key that was trusted (given, recorded before, or seen now for the first time). */
  knownHostKey: string;
}

/**
 * Runs the deployment. `trusted` is the key recorded in state for this container (update), if any;
 * on create without a pinned key, the key presented now is trusted and recorded (TOFU).
 */
export async function runDeployment(inputs: DeploymentInputs, trusted: string | undefined, rawLabel: string, log: LogSink = consoleSink): Promise<DeploymentRun> {
  // `check` refuses it already; this holds for any caller, before the first connection.
  const refusal = applicationContainerProblem(inputs);
  if (refusal) throw new ValidationError([refusal]);
  registerSecret(inputs.privateKey);
  registerSecret(inputs.passphrase);
  for (const value of Object.values(inputs.env)) registerSecret(value);
  const tunnel = inputs.jump ? await openTunnel(inputs.jump, { host: inputs.host, port: inputs.port }) : undefined;
  const endpoint = tunnel ? { host: tunnel.host, port: tunnel.port } : { host: inputs.host, port: inputs.port };
  const where = escapeControl(`${inputs.user}@${inputs.host}:${inputs.port}${inputs.jump ? ` via ${inputs.jump.host}` : ""}`);
  // The label and every value put into our own log lines are escaped: a newline cannot forge a line.
  const label = escapeControl(rawLabel);
  // The commands can check out what is being deployed: `git checkout "$LAUNCHPAD_REVISION"`.
  const scriptEnv = { ...(inputs.revision === undefined ? {} : { LAUNCHPAD_REVISION: inputs.revision }), ...inputs.env };
  try {
    const presented = await waitForHostKey(endpoint, inputs.connectTimeoutSeconds * 1000, where);
    const expected = inputs.hostKeyFingerprint ?? trusted ?? presented;
    if (presented !== expected) {
      throw new SshConnectError(`host key of ${where} does not match: expected ${expected}, got ${presented} (a new container gets a new deployment; pin hostKeyFingerprint if it was rebuilt on purpose)`);
    }
    log(`[${label}] connected to ${where} (host key ${expected}${inputs.hostKeyFingerprint || trusted ? "" : ", trusted on first use"})`);
    await withSshSession(
      { host: endpoint.host, port: endpoint.port, username: inputs.user, privateKey: inputs.privateKey, passphrase: inputs.passphrase, hostKeyFingerprint: expected },
      async (session) => {
        for (const [index, command] of inputs.commands.entries()) {
          log(`[${label}] $ ${escapeControl(redact(command))}`);
          const stdout = lineWriter((line) => log(`[${label}] ${line}`));
          const stderr = lineWriter((line) => log(`[${label}] ${line}`));
          try {
            // The script (env included) goes over stdin: values never appear on a command line.
            await session.exec("sh -s", { stdin: renderScript(command, scriptEnv), onStdout: stdout.write, onStderr: stderr.write });
          } catch (error) {
            if (!isLaunchpadError(error, "ERR_SSH_EXEC")) throw error;
            const failed = error as SshExecError;
            throw new SshExecError({
              command: `deploy command ${index + 1} of ${inputs.commands.length} on ${where}: ${command}`,
              exitCode: failed.exitCode,
              stdout: failed.stdout.slice(-ERROR_OUTPUT_TAIL),
              stderr: failed.stderr.slice(-ERROR_OUTPUT_TAIL),
            }, { cause: error });
          } finally {
            stdout.end();
            stderr.end();
          }
        }
      },
    );
    log(`[${label}] ${inputs.commands.length} command(s) done${inputs.revision ? ` at revision ${escapeControl(redact(inputs.revision))}` : ""}`);
    return { knownHostKey: expected };
  } finally {
    await tunnel?.close();
  }
}

/**
 * The SHA256 fingerprint of the host key `endpoint` presents, polling until sshd answers (a
 * container started a moment ago) or `timeoutMs` has passed. Only the key exchange happens: the
 * connection is dropped before authentication.
 */
export async function waitForHostKey(endpoint: { host: string; port: number }, timeoutMs: number, where: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  return pollUntil(deadline, async () => {
    try {
      return done(await presentedHostKey(endpoint, Math.min(10_000, Math.max(1000, deadline - Date.now()))));
    } catch (error) {
      lastError = error;
      return notYet((error as Error).message);
    }
  }, HOST_KEY_POLL, {
    timeout: (reason) => new SshConnectError(`${where} did not answer SSH within ${Math.round(timeoutMs / 1000)} s: ${reason}`, { cause: lastError }),
  });
}

function presentedHostKey(endpoint: { host: string; port: number }, readyTimeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    client.on("error", (error) => {
      client.end();
      if (presented) resolve(presented);
      else reject(error);
    });
    client.on("ready", () => {
      client.end();
      if (presented) resolve(presented);
      else reject(new Error("no host key was presented"));
    });
    client.connect({
      host: endpoint.host,
      port: endpoint.port,
      username: "launchpad-host-key-probe",
      readyTimeout: readyTimeoutMs,
      // Refusing the key ends the handshake here: nothing is authenticated, nothing runs.
      hostVerifier: (key: Buffer) => {
        presented = sha256Fingerprint(key);
        return false;
      },
    });
  });
}

/**
 * Splits a byte stream into lines and redacts the stream as a whole: a secret spanning several lines,
 * or cut by a chunk boundary (even inside a UTF-8 character), is masked before any of it is emitted.
 */
export function lineWriter(emit: (line: string) => void): { write: (chunk: Buffer) => void; end: () => void } {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  const flush = (final: boolean) => {
    pending = redact(pending);
    // Only whole lines go out, and none that may be the start of a secret still arriving.
    const cut = final ? pending.length : pending.lastIndexOf("\n", pendingSecretStart(pending) - 1) + 1;
    const lines = pending.slice(0, cut).split(/\r?\n/);
    pending = pending.slice(cut);
    if (!final || lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) emit(line);
  };
  return {
    write: (chunk) => {
      pending += decoder.write(chunk);
      flush(false);
    },
    end: () => {
      pending += decoder.end();
      if (pending) flush(true);
    },
  };
}
