// Deployment failures on a real OpenSSH server, in this process: what a failed command's error keeps (the
// tail of both streams, the cause), a lost connection named as one, a jump host's errors with their cause,
// and the hooks' log lines under `deploy <host>` on stderr (the host's log passthrough). Each test stands alone.
import * as assert from "assert";
import * as crypto from "crypto";
import { isLaunchpadError, type SshExecError } from "../../provider/errors";
import { provider } from "../../provider/deploy";
import { runDeployment } from "../../provider/deploy/apply";
import { openTunnel } from "../../provider/deploy/tunnel";
import { parseStoredInputs } from "../../provider/deploy/schema";
import { startSshd, type TestSshd } from "../../devstack/sshd";

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("deployment failures over a real OpenSSH server (integration)", function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  before(async function () { sshd = await startSshd(this); });
  after(async () => { await sshd?.stop(); });

  const raw = (extra: Raw = {}): Raw => ({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, commands: ["true"], ...extra });
  const quiet = () => undefined;

  it("keeps the last 4000 characters of both streams of a failed command, and the failure it wraps", async () => {
    await assert.rejects(runDeployment(parseStoredInputs(raw({ commands: ["head -c 5000 /dev/zero | tr '\\0' o; head -c 4500 /dev/zero | tr '\\0' e >&2; exit 5"] })), undefined, "app", quiet),
      (error: SshExecError) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_EXEC"), String(error));
        assert.deepStrictEqual([error.stdout, error.stderr, error.exitCode], ["o".repeat(4000), "e".repeat(4000), 5]);
        const cause = (error as Error & { cause?: SshExecError }).cause;
        assert.ok(cause && isLaunchpadError(cause, "ERR_SSH_EXEC"), "the command's own error is the cause");
        assert.strictEqual(cause.stdout.length, 5000);
        return true;
      });
  });

  it("reports a connection lost under a command as a lost connection, not a failed command", async () => {
    await assert.rejects(runDeployment(parseStoredInputs(raw({ commands: ["kill -9 $PPID; sleep 5"] })), undefined, "app", quiet), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
      assert.match(error.message, /was lost while running sh -s/);
      return true;
    });
  });

  it("gives a jump host's connection errors their cause", async () => {
    const jump = { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeyFingerprint: `SHA256:${"C".repeat(43)}` };
    await assert.rejects(openTunnel(jump, { host: sshd.host, port: sshd.port }), (error: Error & { cause?: unknown }) => error.cause instanceof Error);
    const closed = { ...jump, port: 1, hostKeyFingerprint: sshd.hostKeyFingerprint };
    await assert.rejects(openTunnel(closed, { host: sshd.host, port: sshd.port }), (error: Error & { cause?: unknown }) =>
      isLaunchpadError(error, "ERR_SSH_CONNECT") && error.message.startsWith(`cannot connect to jump host ${sshd.user}@${sshd.host}:1: `) && error.cause instanceof Error);
  });

  it("logs the hooks' deployments to stderr under `deploy <host>`", async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    const marker = `marker-${crypto.randomBytes(4).toString("hex")}`;
    try {
      const checked = (await provider.check!({}, raw({ commands: [`echo ${marker}`] }))).inputs;
      const created = await provider.create(checked);
      await provider.update!(created.id, created.outs, checked);
    } finally {
      process.stderr.write = write;
    }
    const lines = written.join("").split("\n");
    assert.strictEqual(lines.filter((line) => line === `[deploy ${sshd.host}] ${marker}`).length, 2, written.join(""));
    assert.ok(lines.includes(`[deploy ${sshd.host}] 1 command(s) done`));
  });
});
