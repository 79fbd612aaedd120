// The deployment layer (provider/deploy) against a real OpenSSH server on loopback, in this process:
// commands run in order with env and revision, output streamed line by line and redacted, host keys
// trusted on first use or pinned, a jump host's tunnel, and failures that name what went wrong.
// The ContainerDeployment resource itself is tested through the provider host (test/e2e/deployment).
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { isLaunchpadError, type SshExecError } from "../../provider/errors";
import { provider } from "../../provider/deploy";
import { runDeployment, waitForHostKey } from "../../provider/deploy/apply";
import { openTunnel } from "../../provider/deploy/tunnel";
import { parseStoredInputs, type DeploymentInputs } from "../../provider/deploy/schema";
import { startSshd, type TestSshd } from "../../devstack/sshd";

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const otherFingerprint = () => "SHA256:" + crypto.createHash("sha256").update(crypto.randomBytes(8)).digest("base64").replace(/=+$/, "");

describe("deployments over a real OpenSSH server (integration)", function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  let dir: string;

  before(async function () {
    sshd = await startSshd(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-deploy-"));
  });
  after(async () => {
    await sshd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const raw = (extra: Raw = {}): Raw => ({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, commands: ["true"], ...extra });
  const inputs = (extra: Raw = {}): DeploymentInputs => parseStoredInputs(raw(extra));
  const jump = () => ({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeyFingerprint: sshd.hostKeyFingerprint });
  const marker = (name: string) => path.join(dir, `${name}-${crypto.randomBytes(4).toString("hex")}`);

  async function deploy(extra: Raw, trusted?: string, label = "app") {
    const lines: string[] = [];
    const run = await runDeployment(inputs(extra), trusted, label, (line) => lines.push(line));
    return { run, lines };
  }

  it("runs the commands in order with env (masked in the log, like every env value) and revision exported, logging each command and output line under the label", async () => {
    const { run, lines } = await deploy({
      commands: ["echo \"one $GREETING\"", "printf 'a\\nb\\n' >&2", "echo \"rev=$LAUNCHPAD_REVISION\""],
      env: { GREETING: "hi there" }, revision: "abc123",
    }, undefined, "web\nforged");
    assert.strictEqual(run.knownHostKey, sshd.hostKeyFingerprint);
    const where = `${sshd.user}@${sshd.host}:${sshd.port}`;
    assert.deepStrictEqual(lines, [
      `[web\\nforged] connected to ${where} (host key ${sshd.hostKeyFingerprint}, trusted on first use)`,
      "[web\\nforged] $ echo \"one $GREETING\"",
      "[web\\nforged] one [secret]",
      "[web\\nforged] $ printf 'a\\nb\\n' >&2",
      "[web\\nforged] a",
      "[web\\nforged] b",
      "[web\\nforged] $ echo \"rev=$LAUNCHPAD_REVISION\"",
      "[web\\nforged] rev=abc123",
      "[web\\nforged] 3 command(s) done at revision abc123",
    ]);
  });

  it("exports no LAUNCHPAD_REVISION without a revision, and says no revision when done", async () => {
    const { lines } = await deploy({ commands: ["echo \"rev=${LAUNCHPAD_REVISION-unset}\""] });
    assert.deepStrictEqual(lines.slice(-2), ["[app] rev=unset", "[app] 1 command(s) done"]);
  });

  it("gives each command an empty stdin, so one that reads it cannot swallow the next", async () => {
    const file = marker("after-cat");
    await deploy({ commands: ["cat", `touch ${file}`] });
    assert.ok(fs.existsSync(file), "the command after `cat` ran");
  });

  it("masks env values and the key in the log lines, even when a command prints them", async () => {
    const secret = "dep-" + crypto.randomBytes(12).toString("hex");
    const { lines } = await deploy({ commands: ["echo \"token=$TOKEN\"", `echo '${secret}'`], env: { TOKEN: secret } });
    assert.ok(lines.every((line) => !line.includes(secret)), lines.join("\n"));
    assert.ok(lines.includes("[app] token=[secret]"), lines.join("\n"));
    assert.ok(lines.includes("[app] $ echo '[secret]'"), "the command line is redacted too");
  });

  it("trusts the recorded or pinned key without 'trusted on first use', and refuses another before running anything", async () => {
    const pinned = await deploy({ hostKeyFingerprint: sshd.hostKeyFingerprint });
    assert.match(pinned.lines[0], new RegExp(`\\(host key ${sshd.hostKeyFingerprint.replace(/\+/g, "\\+")}\\)$`));
    const recorded = await deploy({}, sshd.hostKeyFingerprint);
    assert.ok(!recorded.lines[0].includes("trusted on first use"), recorded.lines[0]);
    assert.strictEqual(recorded.run.knownHostKey, sshd.hostKeyFingerprint);

    const file = marker("never");
    for (const [extra, trusted] of [[{ hostKeyFingerprint: otherFingerprint() }, undefined], [{}, otherFingerprint()]] as const) {
      const expected = (extra as Raw).hostKeyFingerprint ?? trusted;
      await assert.rejects(deploy({ ...extra, commands: [`touch ${file}`] }, trusted), (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
        assert.ok(error.message.includes(`host key of ${sshd.user}@${sshd.host}:${sshd.port} does not match: expected ${expected}, got ${sshd.hostKeyFingerprint}`), error.message);
        return true;
      });
    }
    assert.ok(!fs.existsSync(file), "no command ran");
  });

  it("stops at the first failing command, naming it, its exit code and the tail of its output", async () => {
    const file = marker("after-failure");
    await assert.rejects(deploy({ commands: ["echo fine", "head -c 5000 /dev/zero | tr '\\0' x; echo err >&2; exit 3", `touch ${file}`] }), (error: SshExecError) => {
      assert.ok(isLaunchpadError(error, "ERR_SSH_EXEC"), String(error));
      assert.strictEqual(error.exitCode, 3);
      assert.ok(error.message.includes(`deploy command 2 of 3 on ${sshd.user}@${sshd.host}:${sshd.port}: head -c 5000`), error.message);
      assert.strictEqual(error.stdout, "x".repeat(4000), "only the last 4000 characters of the output");
      assert.strictEqual(error.stderr, "err\n");
      return true;
    });
    assert.ok(!fs.existsSync(file), "the command after the failure did not run");
  });

  it("reaches the target through a jump host's tunnel, and says so", async () => {
    const { lines } = await deploy({ jump: jump(), commands: ["echo via-jump"] });
    assert.strictEqual(lines[0], `[app] connected to ${sshd.user}@${sshd.host}:${sshd.port} via ${sshd.host} (host key ${sshd.hostKeyFingerprint}, trusted on first use)`);
    assert.ok(lines.includes("[app] via-jump"));
  });

  it("refuses a jump host whose key does not match, and one it cannot log in to", async () => {
    const wrong = otherFingerprint();
    await assert.rejects(openTunnel({ ...jump(), hostKeyFingerprint: wrong }, { host: sshd.host, port: sshd.port }), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
      assert.strictEqual(error.message, `host key of jump host ${sshd.host}:${sshd.port} does not match: expected ${wrong}, got ${sshd.hostKeyFingerprint}`);
      return true;
    });
    const savedAgent = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const { privateKey: _key, ...noKey } = jump();
      await assert.rejects(openTunnel(noKey, { host: sshd.host, port: sshd.port }), (error: Error) =>
        isLaunchpadError(error, "ERR_SSH_CONNECT") && error.message === `cannot log in to jump host ${sshd.user}@${sshd.host}:${sshd.port}: give jump.privateKey, or an SSH agent`);
    } finally {
      if (savedAgent !== undefined) process.env.SSH_AUTH_SOCK = savedAgent;
    }
    const stranger = (await import("../../provider/deploy/keyPair")).generateDeployKey("stranger").privateKey;
    await assert.rejects(openTunnel({ ...jump(), privateKey: stranger }, { host: sshd.host, port: sshd.port }), (error: Error) =>
      isLaunchpadError(error, "ERR_SSH_CONNECT") && error.message.startsWith(`cannot connect to jump host ${sshd.user}@${sshd.host}:${sshd.port}: `));
  });

  it("forwards each tunnel connection to the target, and closes its listener on close", async () => {
    const tunnel = await openTunnel(jump(), { host: sshd.host, port: sshd.port });
    assert.strictEqual(tunnel.host, "127.0.0.1");
    const banner = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: tunnel.host, port: tunnel.port });
      socket.once("data", (chunk) => { socket.destroy(); resolve(chunk.toString("latin1")); });
      socket.once("error", reject);
    });
    assert.match(banner, /^SSH-2\.0-/);
    await tunnel.close();
    await assert.rejects(new Promise((resolve, reject) => {
      const socket = net.connect({ host: tunnel.host, port: tunnel.port });
      socket.once("connect", () => { socket.destroy(); resolve(undefined); });
      socket.once("error", reject);
    }), /ECONNREFUSED/);
  });

  it("reads a host key without logging in, and gives up on a port where no SSH server answers, saying how long it waited", async () => {
    assert.strictEqual(await waitForHostKey({ host: sshd.host, port: sshd.port }, 5000, "x"), sshd.hostKeyFingerprint);
    const silent = net.createServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      await assert.rejects(waitForHostKey({ host: "127.0.0.1", port }, 1000, "root@somewhere:22"), (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
        assert.ok(error.message.startsWith("root@somewhere:22 did not answer SSH within 1 s: "), error.message);
        return true;
      });
    } finally {
      silent.close();
    }
  });

  it("refuses an application container before connecting", async () => {
    await assert.rejects(runDeployment(inputs({ containerKind: "application", vmid: 123, port: 1 }), undefined, "app", () => undefined), (error: any) =>
      error.code === "ERR_VALIDATION" && error.problems[0].property === "containerKind");
  });

  describe("the provider's hooks", () => {
    it("checks a deployment: defaults filled in, bad fields named", async () => {
      const checked = await provider.check!({}, { ...raw(), __provider: "text" });
      assert.deepStrictEqual(checked.failures, []);
      assert.deepStrictEqual({ user: checked.inputs.user, env: checked.inputs.env, connectTimeoutSeconds: checked.inputs.connectTimeoutSeconds, provider: checked.inputs.__provider },
        { user: sshd.user, env: {}, connectTimeoutSeconds: 120, provider: undefined });
      const bad = await provider.check!({}, { ...raw(), port: 0, __provider: "text" });
      assert.deepStrictEqual(bad.failures!.map((f) => f.property), ["port"]);
      assert.strictEqual(bad.inputs.__provider, undefined);
    });

    it("creates a deployment (id vmid@host:port, the host key recorded), updates it against that key, and reads it back", async () => {
      const checked = await provider.check!({}, raw({ vmid: 4242, revision: "r1", commands: ["true"] }));
      const created = await provider.create(checked.inputs);
      assert.strictEqual(created.id, `4242@${sshd.host}:${sshd.port}`);
      assert.deepStrictEqual({ key: created.outs.knownHostKey, revision: created.outs.deployedRevision, version: created.outs.schemaVersion },
        { key: sshd.hostKeyFingerprint, revision: "r1", version: 1 });

      const next = (await provider.check!(created.outs, raw({ vmid: 4242, revision: "r2" }))).inputs;
      const diff = await provider.diff!(created.id, { ...created.outs, __provider: "text" }, { ...next, __provider: "text" });
      assert.deepStrictEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
      const updated = await provider.update!(created.id, { ...created.outs, __provider: "text" }, next);
      assert.deepStrictEqual([updated.outs.deployedRevision, updated.outs.knownHostKey], ["r2", sshd.hostKeyFingerprint]);
      await assert.rejects(provider.update!(created.id, { ...created.outs, knownHostKey: otherFingerprint() }, next), /does not match/);

      const read = await provider.read!(created.id, { ...updated.outs, __provider: "text" });
      assert.strictEqual(read.id, created.id);
      assert.strictEqual(read.props!.__provider, undefined);
      assert.strictEqual(read.props!.deployedRevision, "r2");
      await provider.delete!(created.id, updated.outs);

      const noVmid = await provider.create((await provider.check!({}, raw())).inputs);
      assert.strictEqual(noVmid.id, `${sshd.host}:${sshd.port}`);
    });

    it("makes a deploy key once, never changes it, and dispatches by `resource`", async () => {
      const checked = await provider.check!({}, { resource: "deploy-key", comment: "launchpad-web" });
      assert.deepStrictEqual(checked.inputs, { resource: "deploy-key", comment: "launchpad-web" });
      assert.deepStrictEqual((await provider.check!({}, { resource: "deploy-key", comment: 7 })).inputs, { resource: "deploy-key", comment: "launchpad-deploy" });
      const { id, outs } = await provider.create({ resource: "deploy-key", comment: "launchpad-web" });
      assert.match(outs.publicKey, /^ssh-ed25519 \S+ launchpad-web$/);
      assert.match(outs.privateKey, /-----BEGIN OPENSSH PRIVATE KEY-----/);
      assert.strictEqual(id, outs.publicKey.split(" ")[1].slice(-24));
      assert.strictEqual(outs.comment, "launchpad-web");
      assert.strictEqual((await provider.create({ resource: "deploy-key" })).outs.comment, "launchpad-deploy");
      assert.deepStrictEqual(await provider.diff!(id, outs, { resource: "deploy-key", comment: "other" }), { changes: false, replaces: [], deleteBeforeReplace: false });
      const read = await provider.read!(id, { ...outs, __provider: "text" });
      assert.deepStrictEqual(read, { id, props: outs });
      await provider.delete!(id, outs);
    });
  });
});
