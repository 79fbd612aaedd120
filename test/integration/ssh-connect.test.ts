// Connecting with the SSH layer when the far side is not (yet) an SSH server: a refused or dropped
// connection is transient and tried again before it fails, naming the address; a command killed by a
// signal on a live connection is a failed command, not a lost connection. Each test stands alone.
import * as assert from "assert";
import * as net from "net";
import { isLaunchpadError, type LaunchpadError, type SshExecError } from "../../provider/errors";
import { withSshSession } from "../../provider/ssh";
import { startSshd, type TestSshd } from "../../devstack/sshd";

describe("SSH layer connecting to what is not an SSH server yet (integration)", function () {
  this.timeout(120_000);
  let sshd: TestSshd;
  before(async function () { sshd = await startSshd(this); });
  after(async () => { await sshd?.stop(); });

  it("tries a connection dropped before the handshake again, then fails naming the address, as transient", async () => {
    let attempts = 0;
    const dropper = net.createServer((socket) => { attempts++; socket.destroy(); });
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", () => resolve()));
    const port = (dropper.address() as net.AddressInfo).port;
    try {
      await assert.rejects(withSshSession({ host: "127.0.0.1", port, username: "u", privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint }, async () => undefined),
        (error: LaunchpadError) => {
          assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
          assert.ok(error.message.startsWith(`cannot connect to u@127.0.0.1:${port}: `), error.message);
          assert.strictEqual(error.context.transient, true);
          return true;
        });
      assert.ok(attempts > 1, `connected ${attempts} time(s): not tried again`);
    } finally {
      dropper.close();
    }
  });

  it("says a refused connection is transient, naming the address", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", () => resolve()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(withSshSession({ host: "127.0.0.1", port, username: "u", privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint }, async () => undefined),
      (error: LaunchpadError) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
        assert.ok(error.message.startsWith(`cannot connect to u@127.0.0.1:${port}: `), error.message);
        assert.match(error.message, /ECONNREFUSED/);
        assert.strictEqual(error.context.transient, true);
        return true;
      });
  });

  it("reports a command killed by a signal on a live connection as a failed command", async () => {
    await withSshSession({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint }, async (session) => {
      await assert.rejects(session.exec("kill -9 $$"), (error: SshExecError) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_EXEC"), String(error));
        assert.strictEqual(error.exitCode, null);
        return true;
      });
      assert.strictEqual((await session.exec("echo still-here")).stdout, "still-here\n", "the connection is still there");
    });
  });
});
