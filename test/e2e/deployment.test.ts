// ContainerDeployment through the real dynamic-provider host against a real OpenSSH server standing
// in for a container: create runs the commands, a new revision reruns them in place, output is
// streamed line by line, a failing command fails the update with its output, the host key is
// trusted on first use and then pinned, the jump host path works, and no secret reaches state.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ContainerDeployment, DeployKey } from "../../src/deploy";
import { EngineError, TestEngine, isSecretWire } from "../../devstack/engine";
import { startSshd, TestSshd } from "../../devstack/sshd";

describe("ContainerDeployment (real host, real sshd)", function () {
  this.timeout(300_000);
  let target: TestSshd | undefined;
  let jump: TestSshd | undefined;
  let work: string;
  const engines: TestEngine[] = [];

  before(async function () {
    target = await startSshd(this);
    jump = await startSshd(this);
  });
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-deploy-"));
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    fs.rmSync(work, { recursive: true, force: true });
  });
  after(async () => {
    await target?.stop();
    await jump?.stop();
  });

  const newEngine = () => {
    const engine = new TestEngine({ project: "launchpad-deploy", stack: "e2e" });
    engines.push(engine);
    return engine;
  };
  const log = () => (fs.existsSync(path.join(work, "deploys.log")) ? fs.readFileSync(path.join(work, "deploys.log"), "utf8").trim().split("\n") : []);
  const ops = (result: { operations: Array<{ name: string; op: string }> }) => Object.fromEntries(result.operations.map((o) => [o.name, o.op]));

  it("runs on create and on each new revision, in place, streaming output; pins the host key; keeps secrets out of state", async () => {
    const engine = newEngine();
    const secretValue = "s3cr3t-deploy-value";
    const program = (revision: string, host: string = target!.host) => () => {
      const deployment = new ContainerDeployment("app-deploy", {
        host, port: target!.port, user: target!.user, privateKey: target!.privateKey, revision,
        env: { REVISION: revision, API_KEY: secretValue },
        commands: [
          `echo "deploying $REVISION" && echo "to stderr" >&2`,
          `echo "$REVISION key=$API_KEY rev=$LAUNCHPAD_REVISION" >> ${work}/deploys.log`,
        ],
      });
      return { knownHostKey: deployment.knownHostKey, deployedRevision: deployment.deployedRevision };
    };

    const created = await engine.up(program("r1"));
    assert.deepStrictEqual(ops(created), { "app-deploy": "create" });
    assert.deepStrictEqual(log(), [`r1 key=${secretValue} rev=r1`], "the env and LAUNCHPAD_REVISION arrive in the command");
    assert.strictEqual(created.outputs.knownHostKey, target!.hostKeyFingerprint, "trusted on first use and recorded");
    assert.ok(engine.hostLogs.some((l) => l.includes("deploying r1")), "stdout is streamed to the log");
    assert.ok(engine.hostLogs.some((l) => l.includes("to stderr")), "stderr is streamed to the log");
    assert.ok(!engine.hostLogs.join("\n").includes(secretValue), "secret values are masked in the log");

    const same = await engine.up(program("r1"));
    assert.deepStrictEqual(ops(same), { "app-deploy": "same" });
    assert.strictEqual(log().length, 1, "an unchanged revision runs nothing");

    const updated = await engine.up(program("r2"));
    assert.deepStrictEqual(ops(updated), { "app-deploy": "update" });
    assert.deepStrictEqual(log(), [`r1 key=${secretValue} rev=r1`, `r2 key=${secretValue} rev=r2`]);
    assert.strictEqual(updated.outputs.deployedRevision, "r2");

    const state = engine.stateText();
    for (const secret of [secretValue, target!.privateKey.split("\n")[1]]) assert.ok(!state.includes(secret), "no secret in the state file");
    const stored = engine.state.find((r) => r.name === "app-deploy")!;
    assert.ok(isSecretWire(stored.outputs.privateKey) && isSecretWire(stored.outputs.env), "privateKey and env are secret outputs");

    // Another address is another container: the deployment is replaced, and runs there.
    const replaced = await engine.up(program("r2", "localhost"));
    assert.deepStrictEqual(ops(replaced), { "app-deploy": "replace" });
    assert.strictEqual(log().length, 3);

    const refreshed = await engine.refresh();
    assert.deepStrictEqual(ops(refreshed), { "app-deploy": "same" });
    await engine.destroy();
    assert.deepStrictEqual(engine.state.filter((r) => r.name === "app-deploy"), []);
  });

  it("a failing command fails the update with its output; the next up runs again", async () => {
    const engine = newEngine();
    const program = (revision: string, fail: boolean) => () => {
      new ContainerDeployment("app-deploy", {
        host: target!.host, port: target!.port, user: target!.user, privateKey: target!.privateKey, revision,
        commands: [`echo "start ${revision}" >> ${work}/deploys.log`, fail ? `echo "migration 42 failed" >&2; exit 3` : "true"],
      });
    };
    await engine.up(program("r1", false));
    await assert.rejects(engine.up(program("r2", true)), (error: EngineError) => {
      assert.match(error.message, /exit 3/);
      assert.match(error.message, /deploy command 2 of 2/);
      assert.match(error.message, /migration 42 failed/);
      return true;
    });
    assert.strictEqual(engine.resource("app-deploy")!.plainOutputs.deployedRevision, "r1", "state keeps the last good run");
    const retried = await engine.up(program("r2", false));
    assert.deepStrictEqual(ops(retried), { "app-deploy": "update" });
    assert.deepStrictEqual(log(), ["start r1", "start r2", "start r2"]);
  });

  it("refuses a host whose key changed since it was trusted", async () => {
    const engine = newEngine();
    const program = (revision: string, hostKeyFingerprint?: string) => () => {
      new ContainerDeployment("app-deploy", {
        host: target!.host, port: target!.port, user: target!.user, privateKey: target!.privateKey, revision, hostKeyFingerprint,
        commands: [`echo ${revision} >> ${work}/deploys.log`],
      });
    };
    await assert.rejects(engine.up(program("r1", `SHA256:${"A".repeat(43)}`)), /host key .* does not match/);
    assert.deepStrictEqual(log(), [], "nothing ran on a host with the wrong key");
    assert.deepStrictEqual(engine.state.filter((r) => r.name === "app-deploy"), []);
  });

  it("reaches the container through a jump host, with a key generated once by DeployKey", async () => {
    const engine = newEngine();
    const program = (revision: string) => () => {
      const key = new DeployKey("app-key", { comment: "launchpad-e2e" });
      // The stand-in container accepts the generated key (as sshPublicKeys would make it).
      key.publicKey.apply((line) => fs.appendFileSync(path.join(path.dirname(targetAuthorizedKeys()), "authorized_keys"), `${line}\n`));
      new ContainerDeployment("app-deploy", {
        host: "127.0.0.1", port: target!.port, user: target!.user, privateKey: key.privateKey, revision,
        jump: { host: jump!.host, port: jump!.port, user: jump!.user, privateKey: jump!.privateKey, hostKeyFingerprint: jump!.hostKeyFingerprint },
        commands: [`echo "via jump ${revision}" >> ${work}/deploys.log`],
      }, { dependsOn: [key] });
      return { publicKey: key.publicKey };
    };
    const first = await engine.up(program("r1"));
    const second = await engine.up(program("r2"));
    assert.strictEqual(first.outputs.publicKey, second.outputs.publicKey, "the key is generated once and kept");
    assert.deepStrictEqual(log(), ["via jump r1", "via jump r2"]);
    assert.ok(isSecretWire(engine.state.find((r) => r.name === "app-key")!.outputs.privateKey), "the private key is a secret output");
    assert.ok(!engine.stateText().includes("OPENSSH PRIVATE KEY"), "no private key in the state file");
    // Closing the tunnel while a session says goodbye used to reset its socket: an uncaught error in the host.
    assert.ok(!engine.hostLogs.some((l) => /ECONNRESET|Uncaught|unhandled/i.test(l)), `no uncaught error in the host:\n${engine.hostLogs.join("\n")}`);
  });

  it("refuses a jump host whose key does not match its pin: nothing runs, nothing is recorded", async () => {
    const engine = newEngine();
    const wrongPin = `SHA256:${"B".repeat(43)}`;
    await assert.rejects(engine.up(() => {
      new ContainerDeployment("app-deploy", {
        host: "127.0.0.1", port: target!.port, user: target!.user, privateKey: target!.privateKey, revision: "r1",
        jump: { host: jump!.host, port: jump!.port, user: jump!.user, privateKey: jump!.privateKey, hostKeyFingerprint: wrongPin },
        commands: [`echo "via a wrong jump" >> ${work}/deploys.log`],
      });
    }), (e: Error) => {
      assert.match(e.message, /host key of jump host .* does not match/);
      assert.ok(e.message.includes(wrongPin) && e.message.includes(jump!.hostKeyFingerprint), e.message);
      return true;
    });
    assert.deepStrictEqual(log(), [], "nothing ran through an unverified jump host");
    assert.deepStrictEqual(engine.state.filter((r) => r.name === "app-deploy"), []);
  });

  /** The stand-in's authorized_keys: sshd's temp dir holds it beside its host key (devstack/sshd). */
  function targetAuthorizedKeys(): string {
    const dirs = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("launchpad-sshd-")).map((d) => path.join(os.tmpdir(), d));
    const mine = dirs.find((d) => {
      try { return fs.readFileSync(path.join(d, "sshd_config"), "utf8").includes(`Port ${target!.port}\n`); } catch { return false; }
    });
    if (!mine) throw new Error("the target sshd's directory was not found");
    return path.join(mine, "authorized_keys");
  }
});
