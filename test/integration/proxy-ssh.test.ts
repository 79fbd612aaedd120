// The shared SSH session layer against a real OpenSSH server: agent login, exit codes, stdin,
// redaction, the remote flock, and refusing unpinned hosts.
import * as assert from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { isLaunchpadError, type SshExecError } from "../../provider/errors";
import { withSshSession, type SshTarget } from "../../provider/ssh";
import { requireBinary } from "../../devstack/binaries";
import { startSshd, type TestSshd } from "../../devstack/sshd";

const run = promisify(execFile);

describe("SSH session layer on a real OpenSSH server", function () {
  let sshd: TestSshd;
  let dir: string;
  const target = (): SshTarget => ({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint });

  before(async function () {
    sshd = await startSshd(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-ssh-"));
  });
  after(async () => {
    await sshd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs commands with stdin, returns exit codes it was told are fine, and throws SshExecError otherwise", async () => {
    await withSshSession(target(), async (session) => {
      assert.strictEqual((await session.exec("tr a-z A-Z", { stdin: "hello\n" })).stdout, "HELLO\n");
      assert.strictEqual((await session.exec("sh -c 'exit 3'", { okExitCodes: [0, 3] })).code, 3);
      await assert.rejects(session.exec("sh -c 'echo out; echo err >&2; exit 4'"), (error: any) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_EXEC"));
        const failed = error as SshExecError;
        assert.strictEqual(failed.exitCode, 4);
        assert.strictEqual(failed.stderr, "err\n");
        return true;
      });
    });
  });

  it("keeps the private key out of error messages even when the remote side prints it", async () => {
    const keyFile = path.join(dir, "leak.key");
    fs.writeFileSync(keyFile, sshd.privateKey);
    await withSshSession(target(), async (session) => {
      await assert.rejects(session.exec(`sh -c 'cat ${keyFile} >&2; exit 1'`), (error: any) => {
        const body = sshd.privateKey.split("\n")[1];
        assert.ok(!error.message.includes(body) && !error.stderr.includes(body), "key body leaked");
        return true;
      });
    });
  });

  it("writes files atomically and reads them back, or undefined when missing", async () => {
    const file = path.join(dir, "sub", "route.conf");
    fs.mkdirSync(path.dirname(file));
    await withSshSession(target(), async (session) => {
      assert.strictEqual(await session.readFile(file), undefined);
      await session.writeFileAtomic(file, "line 'one'\n$two\n");
      assert.strictEqual(await session.readFile(file), "line 'one'\n$two\n");
    });
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ["route.conf"], "no temp file left behind");
  });

  it("serializes work under the remote flock, and gives up after the lock timeout", async () => {
    const lockFile = path.join(dir, "locks", "proxy.lock");
    const order: string[] = [];
    await withSshSession(target(), async (a) => {
      let second: Promise<void> | undefined;
      await a.withLock(lockFile, async () => {
        order.push("a-start");
        second = withSshSession(target(), (b) => b.withLock(lockFile, async () => { order.push("b"); }));
        await assert.rejects(
          withSshSession(target(), (c) => c.withLock(lockFile, async () => { order.push("c"); }, { timeoutSeconds: 1 })),
          (error: unknown) => isLaunchpadError(error, "ERR_SSH_EXEC"),
        );
        for (let i = 0; i < 3; i++) await a.exec("true");
        order.push("a-end");
      });
      await second;
    });
    assert.deepStrictEqual(order, ["a-start", "a-end", "b"]);
  });

  it("logs in through an SSH agent when no key is given", async function () {
    const agentBinary = requireBinary(this, "ssh-agent", "openssh-client");
    const sshAdd = requireBinary(this, "ssh-add", "openssh-client");
    const socket = path.join(dir, "agent.sock");
    const agent: ChildProcess = spawn(agentBinary, ["-D", "-a", socket], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
      const keyFile = path.join(dir, "agent.key");
      fs.writeFileSync(keyFile, sshd.privateKey, { mode: 0o600 });
      await run(sshAdd, [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const { privateKey: _key, ...withoutKey } = target();
      const whoami = await withSshSession({ ...withoutKey, agent: socket }, (session) => session.exec("id -un"));
      assert.strictEqual(whoami.stdout.trim(), sshd.user);
    } finally {
      agent.kill();
    }
  });

  it("refuses a host whose key is not pinned, before connecting", async () => {
    await assert.rejects(withSshSession({ ...target(), hostKeyFingerprint: undefined }, async () => undefined),
      (error: any) => isLaunchpadError(error, "ERR_SSH_CONNECT") && /no hostKeyFingerprint/.test(error.message));
    const insecure = await withSshSession({ ...target(), hostKeyFingerprint: undefined, insecureIgnoreHostKey: true }, (s) => s.exec("echo ok"));
    assert.strictEqual(insecure.stdout, "ok\n");
  });
});
