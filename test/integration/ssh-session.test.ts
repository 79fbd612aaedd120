// The SSH session layer (provider/ssh) against a real OpenSSH server, in this process: what its errors
// say (a refused login, no credentials, a lost connection, a lock not granted), file modes, streamed
// output. Each test stands alone. The basics (exec, files, the flock, agents, pinning) are in proxy-ssh.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isLaunchpadError, type LaunchpadError, type SshExecError } from "../../provider/errors";
import { shellCommand, withSshSession, type SshTarget } from "../../provider/ssh";
import { generateDeployKey } from "../../provider/deploy/keyPair";
import { startSshd, type TestSshd } from "../../devstack/sshd";

describe("SSH session layer: errors, modes and streams on a real OpenSSH server (integration)", function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  let dir: string;
  const target = (extra: Partial<SshTarget> = {}): SshTarget => ({
    host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint, ...extra,
  });
  const where = () => `${sshd.user}@${sshd.host}:${sshd.port}`;

  before(async function () {
    sshd = await startSshd(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-ssh-session-"));
  });
  after(async () => {
    await sshd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("says a key or an agent is needed when neither is given, before connecting", async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      await assert.rejects(withSshSession(target({ privateKey: undefined }), async () => undefined), (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
        assert.strictEqual(error.message, `cannot log in to ${where()}: give a privateKey, or an SSH agent (agent or SSH_AUTH_SOCK)`);
        return true;
      });
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });

  it("names the host and says so, not retried, when the login is refused", async () => {
    const stranger = generateDeployKey("stranger").privateKey;
    await assert.rejects(withSshSession(target({ privateKey: stranger }), async () => undefined), (error: LaunchpadError) => {
      assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
      assert.ok(error.message.startsWith(`cannot connect to ${where()}: `), error.message);
      assert.match(error.message, /authentication/i);
      assert.strictEqual(error.context.transient, false);
      assert.ok(!error.message.includes(stranger.split("\n")[1]), "the key is not in the message");
      return true;
    });
  });

  it("accepts a pinned fingerprint with its base64 padding, and refuses another naming both", async () => {
    assert.strictEqual((await withSshSession(target({ hostKeyFingerprint: `${sshd.hostKeyFingerprint}=` }), (s) => s.exec("echo ok"))).stdout, "ok\n");
    const wrong = `SHA256:${"B".repeat(43)}`;
    await assert.rejects(withSshSession(target({ hostKeyFingerprint: wrong }), async () => undefined), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
      assert.strictEqual(error.message, `host key of ${sshd.host}:${sshd.port} does not match: expected ${wrong}, got ${sshd.hostKeyFingerprint}`);
      return true;
    });
  });

  it("names a connection lost under a command for what it is", async () => {
    await withSshSession(target(), async (session) => {
      // The shell's parent is this connection's sshd session process: killing it drops the connection.
      await assert.rejects(session.exec("kill -9 $PPID; sleep 5"), (error: LaunchpadError) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
        assert.ok(error.message.startsWith(`SSH connection to ${where()} was lost while running kill -9 $PPID; sleep 5: `), error.message);
        assert.deepStrictEqual([error.context.lost, error.context.transient], [true, false]);
        return true;
      });
    });
  });

  it("says which exit code was bad, and streams output to the callbacks as it comes", async () => {
    const out: string[] = [];
    const err: string[] = [];
    await withSshSession(target(), async (session) => {
      const result = await session.exec("echo one; echo two >&2; exit 2", { okExitCodes: [2], onStdout: (c) => out.push(c.toString()), onStderr: (c) => err.push(c.toString()) });
      assert.deepStrictEqual(result, { stdout: "one\n", stderr: "two\n", code: 2 });
      await assert.rejects(session.exec("printf '  spaced  \\n\\n'; exit 1"), (error: SshExecError) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_EXEC"), String(error));
        assert.deepStrictEqual([error.exitCode, error.stdout], [1, "  spaced  \n\n"], "output is not trimmed");
        return true;
      });
    });
    assert.deepStrictEqual([out.join(""), err.join("")], ["one\n", "two\n"]);
  });

  it("writes a file with the mode asked (0644 unless told), and reads an empty file as empty, not missing", async () => {
    const secret = path.join(dir, "key.pem");
    const plain = path.join(dir, "plain.txt");
    const empty = path.join(dir, "empty");
    await withSshSession(target(), async (session) => {
      await session.writeFileAtomic(secret, "k\n", { mode: "0600" });
      await session.writeFileAtomic(plain, "p\n");
      await session.writeFileAtomic(empty, "");
      assert.strictEqual(await session.readFile(empty), "");
      assert.strictEqual(await session.readFile(path.join(dir, "it's missing")), undefined);
    });
    assert.strictEqual(fs.statSync(secret).mode & 0o777, 0o600);
    assert.strictEqual(fs.statSync(plain).mode & 0o777, 0o644);
  });

  it("says which lock it could not get and how long it waited", async () => {
    const lockFile = path.join(dir, "held", "x.lock");
    await withSshSession(target(), async (holder) => {
      await holder.withLock(lockFile, async () => {
        await withSshSession(target(), async (waiter) => {
          await assert.rejects(waiter.withLock(lockFile, async () => assert.fail("got the lock"), { timeoutSeconds: 1 }), (error: SshExecError) => {
            assert.ok(isLaunchpadError(error, "ERR_SSH_EXEC"), String(error));
            assert.strictEqual(error.stderr, `could not lock ${lockFile} within 1 s`);
            assert.match(error.message, /flock -x -w 1 /);
            return true;
          });
        });
      });
    });
    assert.ok(fs.existsSync(lockFile), "the lock's directory was made");
  });

  it("quotes a command line word by word, empty words included", async () => {
    const words = ["printf", "%s|", "a b", "", "it's", "$HOME"];
    const { stdout } = await withSshSession(target(), (session) => session.exec(shellCommand(words)));
    assert.strictEqual(stdout, "a b||it's|$HOME|");
  });
});
