// ProxyRoute through the real dynamic-provider host (serialized provider, secrets, state), against
// a real nginx over a real OpenSSH server: create, update, refresh after out-of-band removal,
// destroy; and 20 routes created at once by four separate host processes.
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ProxyRoute } from "../../src/proxyRoute";
import { EngineError, isSecretWire, TestEngine } from "../../devstack/engine";
import { DynamicProviderHost } from "../../devstack/host";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { eventually, tcpEcho } from "../../devstack/probes";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";
import { reservePortBlock, type PortBlock } from "../support/ports";

describe("ProxyRoute through the real dynamic-provider host", function () {
  this.timeout(600_000);
  let nginx: TestNginx | undefined;
  let sshd: TestSshd | undefined;
  let engine: TestEngine | undefined;
  const echoServers: net.Server[] = [];
  const hosts: DynamicProviderHost[] = [];
  let ports: PortBlock;

  async function echoServer(): Promise<number> {
    const server = net.createServer((socket) => socket.pipe(socket));
    echoServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return (server.address() as net.AddressInfo).port;
  }

  before(async function () {
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    ports = await reservePortBlock();
  });
  after(async () => {
    ports?.release();
    await engine?.close();
    await Promise.all(hosts.map((h) => h.stop()));
    for (const server of echoServers) server.close();
    await nginx?.stop();
    await sshd?.stop();
  });

  const proxyArgs = () => ({
    ...proxyHost(sshd!, nginx!), privateKey: pulumi.secret(sshd!.privateKey),
  });

  it("creates, updates, refreshes an out-of-band removal, and destroys, keeping the key and local paths out of state", async () => {
    const [first, second] = [await echoServer(), await echoServer()];
    const program = (targetPort: number) => () => {
      const app = new ProxyRoute("app", {
        proxy: proxyArgs(),
        http: { hostname: "app.preview.test", target: { host: "127.0.0.1", port: targetPort }, tls: "none" },
      });
      const ssh = new ProxyRoute("ssh", {
        proxy: proxyArgs(),
        stream: { protocol: "tcp", portRange: { from: ports.from, to: ports.from + 49 }, target: { host: "127.0.0.1", port: targetPort } },
      });
      return { url: app.url, sshPort: ssh.port };
    };
    engine = new TestEngine({ project: "launchpad-proxy", stack: "host" });

    const created = await engine.up(program(first));
    assert.deepStrictEqual(created.operations.map((o) => `${o.name}:${o.op}`).sort(), ["app:create", "ssh:create"]);
    assert.strictEqual(engine.resource("app")!.type, "pulumi-nodejs:dynamic/launchpad:ProxyRoute");
    assert.strictEqual(engine.resource("app")!.id, `127.0.0.1:${nginx!.confDir}/http/app.preview.test.conf`);
    assert.strictEqual(created.outputs.url, `http://app.preview.test:${nginx!.httpPort}`);
    const sshPort = created.outputs.sshPort as number;
    assert.ok(Number.isInteger(sshPort));
    assert.strictEqual(await eventually(() => tcpEcho(sshPort, "first")), "first");

    const unchanged = await engine.up(program(first));
    assert.deepStrictEqual(unchanged.operations.map((o) => `${o.name}:${o.op}`).sort(), ["app:same", "ssh:same"]);

    const updated = await engine.up(program(second));
    assert.deepStrictEqual(updated.operations.map((o) => `${o.name}:${o.op}`).sort(), ["app:update", "ssh:update"]);
    assert.strictEqual(updated.outputs.sshPort, sshPort, "an update keeps the allocated port");
    assert.match(fs.readFileSync(engine.resource("app")!.plainOutputs.configPath as string, "utf8"), new RegExp(`127\\.0\\.0\\.1:${second};`));

    // Someone removes the HTTP route by hand: refresh drops it, the next up puts it back.
    fs.rmSync(engine.resource("app")!.plainOutputs.configPath as string);
    const refreshed = await engine.refresh();
    assert.deepStrictEqual(refreshed.operations.map((o) => `${o.name}:${o.op}`).sort(), ["app:delete", "ssh:same"]);
    const restored = await engine.up(program(second));
    assert.deepStrictEqual(restored.operations.map((o) => `${o.name}:${o.op}`).sort(), ["app:create", "ssh:same"]);
    assert.ok(fs.existsSync(`${nginx!.confDir}/http/app.preview.test.conf`));

    for (const r of engine.state.filter((x) => x.custom)) {
      assert.ok(isSecretWire(r.inputs.proxy) && isSecretWire(r.outputs.proxy), `${r.name}: proxy settings are stored as a secret`);
    }
    const keyBody = sshd!.privateKey.split("\n")[1];
    const state = engine.stateText();
    const providers = engine.state.map((r) => r.provider ?? "").join("\n");
    assert.ok(providers.includes("pulumi-launchpad/provider/"), "the serialized provider loads the installed package by name");
    for (const [what, text] of [["state", state], ["provider text", providers], ["host output", engine.hostLogs.join("\n")]]) {
      assert.ok(!text.includes(keyBody) && !text.includes("PRIVATE KEY"), `${what} holds the private key`);
    }
    for (const [what, text] of [["state", state], ["provider text", providers]]) {
      assert.ok(!text.includes(path.resolve(__dirname, "../..")), `${what} holds the repository's absolute path`);
    }
    assert.ok(!providers.includes(nginx!.dir) && !providers.includes("/tmp/"), "provider text holds a temp path");

    const destroyed = await engine.destroy();
    assert.deepStrictEqual(destroyed.operations.map((o) => `${o.name}:${o.op}`).sort(), ["app:delete", "ssh:delete"]);
    assert.deepStrictEqual(fs.readdirSync(`${nginx!.confDir}/http`).filter((f) => !f.startsWith("_")), []);
    assert.deepStrictEqual(fs.readdirSync(`${nginx!.confDir}/stream`), []);
    assert.strictEqual((await nginx!.test()).ok, true);
  });

  it("lands 20 routes created at once by four separate host processes on distinct ports", async () => {
    const target = await echoServer();
    // The serialized provider text, as a program registering a ProxyRoute produces it.
    const probe = new TestEngine({ project: "launchpad-proxy", stack: "parallel" });
    const range = { from: ports.from + 50, to: ports.from + 149 };
    await probe.up(() => { new ProxyRoute("probe", { proxy: proxyArgs(), stream: { protocol: "tcp", portRange: range, target: { host: "127.0.0.1", port: target } } }); });
    const providerText = probe.state.find((r) => r.name === "probe")!.provider!;
    const probePort = probe.resource("probe")!.plainOutputs.port as number;

    for (let i = 0; i < 4; i++) hosts.push(await DynamicProviderHost.start({ project: "launchpad-proxy", stack: "parallel" }));
    await Promise.all(hosts.map((h) => h.configure({})));
    const raw = {
      __provider: providerText,
      proxy: { ...proxyArgs(), privateKey: sshd!.privateKey },
      stream: { protocol: "tcp", portRange: range, target: { host: "127.0.0.1", port: target } },
    };
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const host = hosts[i % hosts.length];
      const urn = `urn:pulumi:parallel::launchpad-proxy::pulumi-nodejs:dynamic/launchpad:ProxyRoute::route-${i}`;
      const checked = await host.check(urn, {}, raw);
      assert.deepStrictEqual(checked.failures, []);
      return { host, urn, ...(await host.create(urn, checked.inputs)) };
    }));
    try {
      const ports = results.map((r) => r.outs.port as number);
      assert.strictEqual(new Set([...ports, probePort]).size, 21, `ports: ${ports.join(",")} and ${probePort}`);
      assert.strictEqual((await nginx!.test()).ok, true);
      for (const port of ports) assert.strictEqual(await eventually(() => tcpEcho(port, `via ${port}`)), `via ${port}`);
    } finally {
      for (const r of results) await r.host.delete(r.urn, r.id, r.outs, r.outs);
      await probe.destroy();
      await probe.close();
    }
    assert.deepStrictEqual(fs.readdirSync(`${nginx!.confDir}/stream`), []);
  });

  it("an SSH route counts as created only once an SSH server answers through it; a dead one stays tracked; an app container is refused before any write", async () => {
    const silent = await echoServer(); // accepts, but sends no banner
    const range = { from: ports.from + 150, to: ports.to };
    const sshEngine = new TestEngine({ project: "launchpad-proxy", stack: "ssh-route" });
    const route = (name: string, target: { host: string; port: number }, ssh: Record<string, unknown>) =>
      new ProxyRoute(name, { proxy: proxyArgs(), stream: { protocol: "tcp", portRange: range, target, ssh } });
    try {
      // A real sshd behind the route: the banner comes through nginx, the create returns.
      const live = await sshEngine.up(() => { route("live", { host: sshd!.host, port: sshd!.port }, { containerKind: "system", containerInitCommand: "/sbin/init" }); });
      assert.deepStrictEqual(live.operations.map((o) => `${o.name}:${o.op}`), ["live:create"]);

      // Nothing speaks SSH behind it: the create fails after its deadline, and the route file, which
      // is in place, stays in state (ErrorResourceInitFailed) for the next up or destroy.
      const dead = await sshEngine.up(() => {
        route("live", { host: sshd!.host, port: sshd!.port }, { containerKind: "system", containerInitCommand: "/sbin/init" });
        route("dead", { host: "127.0.0.1", port: silent }, { timeoutSeconds: 2 });
      }).then(() => undefined, (e: unknown) => e as EngineError);
      assert.ok(dead instanceof EngineError, "the up fails");
      assert.match(dead.message, /no SSH server answered through 127\.0\.0\.1:\d+ \(routed to 127\.0\.0\.1:\d+\) within 2 s/);
      const tracked = sshEngine.state.find((r) => r.name === "dead");
      assert.ok(tracked?.id && tracked.initErrors?.length, "the route that exists is tracked");
      assert.ok(fs.existsSync(String((sshEngine.resource("dead")!.plainOutputs as Record<string, unknown>).configPath)));

      // An application container behind it: refused in check, nothing written, nothing waited for.
      const before = fs.readdirSync(`${nginx!.confDir}/stream`).sort();
      const refused = await sshEngine.up(() => {
        route("live", { host: sshd!.host, port: sshd!.port }, { containerKind: "system", containerInitCommand: "/sbin/init" });
        route("app", { host: "127.0.0.1", port: 22 }, { containerKind: "application", containerInitCommand: "node server.js" });
      }).then(() => undefined, (e: unknown) => e as EngineError);
      assert.ok(refused instanceof EngineError);
      const failure = refused.failures.find((f) => f.urn.endsWith("::app"));
      assert.deepStrictEqual(failure?.checkFailures?.map((f) => f.property), ["stream.ssh.containerKind"]);
      assert.match(failure!.message, /`services\.ssh`.*application container.*`node server\.js`.*system image/);
      assert.deepStrictEqual(fs.readdirSync(`${nginx!.confDir}/stream`).sort(), before, "no file for the refused route");
    } finally {
      await sshEngine.destroy().catch(() => undefined);
      await sshEngine.close();
    }
    assert.deepStrictEqual(fs.readdirSync(`${nginx!.confDir}/stream`), []);
  });
});
