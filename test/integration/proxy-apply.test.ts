// The route layer (provider/proxy's hooks and apply) in this process, against a real nginx reached over
// a real OpenSSH server, both on loopback. Each test makes and removes its own routes, so any one of
// them runs alone (mutation testing runs only the tests that reach a mutant). The ProxyRoute resource
// is tested through the provider host in test/host/proxy*.test.ts.
import * as assert from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as dgram from "dgram";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { isLaunchpadError } from "../../provider/errors";
import { UNKNOWN } from "../../provider/hostValues";
import { provider } from "../../provider/proxy";
import { editProxyHost, readRoute } from "../../provider/proxy/apply";
import { verifies } from "../../provider/proxy/access";
import { renderSharedHttpInclude, sha256 } from "../../provider/proxy/render";
import { parseStoredRoute } from "../../provider/proxy/schema";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";
import { waitForPort } from "../../devstack/ports";
import { reservePortBlock, type PortBlock } from "../support/ports";
import { emptyNginx, serversOnce } from "../support/servers-once";

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Reply { status: number; body: string; headers: http.IncomingHttpHeaders }

function get(port: number, hostname: string, options: { ca?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = options.ca
      ? https.request({ host: "127.0.0.1", port, path: "/", servername: hostname, headers: { host: hostname, ...options.headers }, ca: options.ca, agent: false })
      : http.request({ host: "127.0.0.1", port, path: "/", headers: { host: hostname, ...options.headers }, agent: false });
    request.on("response", (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    request.on("error", reject);
    request.end();
  });
}

/** The first bytes a TCP port sends. */
function firstBytes(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("data", (chunk) => { socket.destroy(); resolve(chunk.toString("latin1")); });
    socket.once("error", reject);
  });
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

// Started once per process under Stryker (one mutant run after another), per file under mocha.
const proxyServers = serversOnce("proxy-apply", async (context, stopLater) => ({
  nginx: stopLater(await startNginx(context)),
  sshd: stopLater(await startSshd(context)),
}), async ({ nginx, sshd }) => {
  await emptyNginx(nginx);
  await waitForPort(sshd.port, sshd.host, 2_000);
});

describe("ProxyRoute's route layer on a real nginx over real SSH (integration, in process)", function () {
  this.timeout(120_000);
  let nginx: TestNginx;
  let sshd: TestSshd;
  let ca: string;
  const servers: net.Server[] = [];
  let first = 0;
  let second = 0;
  let httpish = 0;
  let portBase = 0;
  let ports: PortBlock | undefined;

  function listen(server: net.Server): Promise<number> {
    servers.push(server);
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
  }
  const backend = (name: string) => http.createServer((req, res) => res.end(`${name} ${req.headers.host}`));

  before(async function () {
    ({ nginx, sshd } = await proxyServers.start(this));
    ca = fs.readFileSync(nginx.certificate, "utf8");
    first = await listen(backend("first"));
    second = await listen(backend("second"));
    httpish = await listen(net.createServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")));
    ports = await reservePortBlock();
    portBase = ports.from;
  });
  after(async () => {
    ports?.release();
    for (const server of servers.splice(0)) server.close();
    await proxyServers.stop();
  });

  const unique = (label: string) => `${label}-${crypto.randomBytes(3).toString("hex")}.preview.test`;
  const proxy = (extra: Raw = {}): Raw => ({ ...proxyHost(sshd, nginx), privateKey: sshd.privateKey, ...extra });
  const httpRoute = (hostname: string, extra: Raw = {}): Raw => ({
    proxy: proxy(), __provider: "provider-text",
    http: { hostname, target: { host: "127.0.0.1", port: first }, tls: { certificate: nginx.certificate, key: nginx.key }, ...extra },
  });
  const streamRoute = (stream: Raw): Raw => ({ proxy: proxy(), stream: { protocol: "tcp", target: { host: "127.0.0.1", port: first }, ...stream } });

  async function checked(raw: Raw): Promise<Raw> {
    const result = await provider.check!({}, raw);
    assert.deepStrictEqual(result.failures ?? [], []);
    return result.inputs;
  }
  async function create(raw: Raw): Promise<{ id: string; outs: Raw }> {
    const { id, outs } = await provider.create(await checked(raw));
    return { id, outs: outs! };
  }
  const validation = (property: string, reason: RegExp) => (error: any) => {
    assert.strictEqual(error.code, "ERR_VALIDATION", String(error));
    assert.strictEqual(error.problems[0].property, property);
    assert.match(error.problems[0].reason, reason);
    return true;
  };

  // The quick ones first: mutation testing stops at the first test that fails.
  it("refuses inputs that are not complete or not valid before connecting, naming the field", async () => {
    const hostname = unique("check");
    const bad = await provider.check!({}, httpRoute(hostname, { target: { host: "127.0.0.1", port: 0 } }));
    assert.deepStrictEqual(bad.failures!.map((f) => f.property), ["http.target.port"]);
    await assert.rejects(provider.create(httpRoute(hostname, { target: { host: "127.0.0.1", port: 0 } })), validation("http.target.port", /./));
    const { proxy: { lockFile: _lockFile, ...noLockFile }, ...good } = httpRoute(hostname);
    const normalized = await provider.check!({}, { ...good, proxy: noLockFile });
    assert.deepStrictEqual([normalized.failures, normalized.inputs.proxy.lockFile], [undefined, `${nginx.confDir}/.launchpad.lock`],
      "check hands back the inputs with their defaults, as state and diff see them");
    const unknown = httpRoute(hostname, { target: { host: UNKNOWN, port: first } });
    assert.deepStrictEqual((await provider.check!({}, unknown)).failures ?? [], []);
    await assert.rejects(provider.create(unknown), validation("(inputs)", /^values are still unknown$/));
    await assert.rejects(provider.update!("x", {}, unknown), validation("(inputs)", /still unknown/));
    assert.ok(!fs.existsSync(`${nginx.confDir}/http/${hostname}.conf`));
  });

  it("refuses a proxy host whose key does not match, naming both fingerprints, before writing anything", async () => {
    const hostname = unique("never");
    const wrong = "SHA256:" + crypto.createHash("sha256").update("not the host key").digest("base64").replace(/=+$/, "");
    const raw = httpRoute(hostname);
    raw.proxy.hostKeyFingerprint = wrong;
    await assert.rejects(create(raw), (error: any) => {
      assert.strictEqual(error.code, "ERR_SSH_CONNECT", String(error));
      assert.ok(error.message.includes(wrong) && error.message.includes(sshd.hostKeyFingerprint), error.message);
      assert.strictEqual(error.properties, undefined, "nothing was written, so nothing is tracked");
      return true;
    });
    assert.ok(!fs.existsSync(`${nginx.confDir}/http/${hostname}.conf`));
  });
  it("gives up waiting for the proxy lock another stack holds after the route's lockTimeoutSeconds, naming the lock, and writes nothing", async () => {
    const hostname = unique("locked");
    const raw = httpRoute(hostname);
    raw.proxy.lockTimeoutSeconds = 1;
    const lockFile = `${nginx.confDir}/.launchpad.lock`;
    // One process holds the lock (sh execs into sleep with the locked descriptor), so killing it frees the lock.
    const holder = spawn("sh", ["-c", `exec 9>'${lockFile}'; flock -x 9; echo held; exec sleep 60`], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => { holder.stdout!.once("data", () => resolve()); holder.once("error", reject); });
      await assert.rejects(create(raw), (error: any) => {
        assert.strictEqual(error.code, "ERR_SSH_EXEC", String(error));
        assert.ok(error.message.includes(`could not lock ${lockFile} within 1 s`), error.message);
        return true;
      });
      assert.ok(!fs.existsSync(`${nginx.confDir}/http/${hostname}.conf`));
    } finally {
      holder.kill();
    }
  });

  it("serves an HTTPS route as soon as create returns, with the file, url and hash in its outputs, and removes it on delete", async () => {
    const hostname = unique("app");
    const { id, outs } = await create(httpRoute(hostname));
    const file = `${nginx.confDir}/http/${hostname}.conf`;
    assert.strictEqual(id, `${sshd.host}:${file}`);
    assert.deepStrictEqual({ url: outs.url, configPath: outs.configPath, configSha256: outs.configSha256, schemaVersion: outs.schemaVersion, port: outs.port, provider: outs.__provider },
      { url: `https://${hostname}:${nginx.httpsPort}`, configPath: file, configSha256: sha256(fs.readFileSync(file, "utf8")), schemaVersion: 1, port: undefined, provider: undefined });
    assert.strictEqual(fs.readFileSync(`${nginx.confDir}/http/_launchpad-shared.conf`, "utf8"), renderSharedHttpInclude());
    assert.deepStrictEqual(await get(nginx.httpsPort, hostname, { ca }).then((r) => [r.status, r.body]), [200, `first ${hostname}`]);
    const redirect = await get(nginx.httpPort, hostname);
    assert.deepStrictEqual([redirect.status, redirect.headers.location], [301, `https://${hostname}:${nginx.httpsPort}/`]);

    await provider.delete!(id, outs);
    assert.ok(!fs.existsSync(file));
    assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).status, 404, "not served once delete returns");
    await provider.delete!(id, outs); // already gone: still fine
  });

  it("adopts its own file left by an interrupted create, and refuses a hostname another route serves", async () => {
    const hostname = unique("taken");
    const { id, outs } = await create(httpRoute(hostname));
    try {
      assert.strictEqual((await create(httpRoute(hostname))).id, id, "the same text is adopted");
      await assert.rejects(create(httpRoute(hostname, { target: { host: "127.0.0.1", port: second } })),
        validation("http.hostname", new RegExp(`^${hostname.replace(/\./g, "\\.")} is already routed on 127\\.0\\.0\\.1 by another route \\(${outs.configPath}\\)$`)));
      assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).body, `first ${hostname}`, "the first route is untouched");
    } finally {
      await provider.delete!(id, outs);
    }
  });

  it("updates a route in place and serves the new target as soon as update returns", async () => {
    const hostname = unique("upd");
    const { id, outs } = await create(httpRoute(hostname));
    const news = await checked(httpRoute(hostname, { target: { host: "127.0.0.1", port: second } }));
    assert.deepStrictEqual(await provider.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
    const { outs: updated } = await provider.update!(id, outs, news);
    assert.strictEqual(updated!.configSha256, sha256(fs.readFileSync(outs.configPath, "utf8")));
    assert.notStrictEqual(updated!.configSha256, outs.configSha256);
    assert.strictEqual(updated!.url, outs.url);
    assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).body, `second ${hostname}`);
    await provider.delete!(id, updated!);
  });

  it("fails a route nginx rejects with nginx's own message, putting back what was there on create and on update", async () => {
    const hostname = unique("bad");
    const missing = `${nginx.dir}/missing.crt`;
    const raw = httpRoute(hostname, { tls: { certificate: missing, key: nginx.key } });
    const nginxRejects = (error: unknown) => {
      assert.ok(isLaunchpadError(error, "ERR_NGINX_TEST"), String(error));
      assert.match((error as Error).message, /missing\.crt/);
      assert.strictEqual((error as { context: Record<string, unknown> }).context.command, nginx.testCommand, "the error says which command refused");
      return true;
    };
    await assert.rejects(create(raw), nginxRejects);
    const file = `${nginx.confDir}/http/${hostname}.conf`;
    assert.ok(!fs.existsSync(file), "the rejected file was removed");

    const { id, outs } = await create(httpRoute(hostname));
    const before = fs.readFileSync(file, "utf8");
    await assert.rejects(provider.update!(id, outs, await checked(raw)), nginxRejects);
    assert.strictEqual(fs.readFileSync(file, "utf8"), before, "the previous file is back");
    assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).status, 200, "and still served");
    assert.strictEqual((await nginx.test()).ok, true);
    await provider.delete!(id, outs);
  });

  it("reloads nothing and puts the file back when the reload command fails", async () => {
    const hostname = unique("reload");
    const raw = httpRoute(hostname);
    raw.proxy.reloadCommand = "false";
    await assert.rejects(create(raw), (error: unknown) => isLaunchpadError(error, "ERR_SSH_EXEC") && (error as Error).message.includes("false"));
    assert.ok(!fs.existsSync(`${nginx.confDir}/http/${hostname}.conf`));
  });

  it("fails a route whose reload starts no new nginx workers (the route would not be served), naming the pid file, and puts the file back", async () => {
    const hostname = unique("noreload");
    const raw = httpRoute(hostname);
    raw.proxy.reloadCommand = "true"; // exits 0 and signals nothing, like a reload aimed at another master
    await assert.rejects(create(raw), (error: unknown) => {
      assert.ok(isLaunchpadError(error, "ERR_NGINX_TEST"), String(error));
      assert.ok((error as Error).message.includes(`nginx did not take the configuration on reload: nginx (master in ${nginx.pidFile}) did not start workers with the new configuration`), (error as Error).message);
      assert.ok(!(error as Error).message.includes("nginx -t"), "nginx -t passed: the message does not blame it");
      assert.strictEqual((error as { context: Record<string, unknown> }).context.command, "true", "the reload command that had no effect");
      return true;
    });
    assert.ok(!fs.existsSync(`${nginx.confDir}/http/${hostname}.conf`));
    assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).status, 404);
  });

  it("fails a reload after which the pid file names no running nginx (a restart that did not come back), naming the pid file; the other routes keep serving", async () => {
    const { id, outs } = await create(httpRoute(unique("other")));
    const saved = `${nginx.pidFile}.saved-${crypto.randomBytes(3).toString("hex")}`;
    // Like `systemctl restart nginx` whose new master never came up: its pid file is gone, or names a process that died.
    const restarts = [`mv -f '${nginx.pidFile}' '${saved}'`, `cp '${nginx.pidFile}' '${saved}' && sh -c 'echo $$' > '${nginx.pidFile}'`];
    try {
      for (const [index, restart] of restarts.entries()) {
        const hostname = unique("gone");
        const raw = httpRoute(hostname);
        raw.proxy.reloadCommand = path.join(nginx.dir, `restart-${index}-${crypto.randomBytes(3).toString("hex")}.sh`);
        fs.writeFileSync(raw.proxy.reloadCommand, `#!/bin/sh\n${restart}\n`, { mode: 0o755 });
        await assert.rejects(create(raw), (error: unknown) => {
          assert.ok(isLaunchpadError(error, "ERR_NGINX_TEST"), String(error));
          assert.ok((error as Error).message.includes(`nginx (master in ${nginx.pidFile}) did not start workers with the new configuration`), (error as Error).message);
          return true;
        });
        fs.renameSync(saved, nginx.pidFile);
        assert.ok(!fs.existsSync(`${nginx.confDir}/http/${hostname}.conf`), "the route file was put back");
        assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).status, 404);
        assert.deepStrictEqual(await get(nginx.httpsPort, outs.http.hostname, { ca }).then((r) => [r.status, r.body]), [200, `first ${outs.http.hostname}`], "the other route keeps serving");
      }
    } finally {
      if (fs.existsSync(saved)) fs.renameSync(saved, nginx.pidFile);
      await provider.delete!(id, outs);
    }
  });

  it("puts a route in place and reloads on a host whose pid file names no nginx master (nothing to confirm the reload by)", async () => {
    const hostname = unique("nopid");
    const raw = httpRoute(hostname);
    raw.proxy.pidFile = path.join(nginx.dir, "elsewhere", "nginx.pid"); // a distribution that keeps it in another place
    const marker = path.join(nginx.dir, `reloaded-${crypto.randomBytes(3).toString("hex")}`);
    raw.proxy.reloadCommand = `${marker}.sh`;
    fs.writeFileSync(raw.proxy.reloadCommand, `#!/bin/sh\ntouch '${marker}'\nexec ${nginx.reloadCommand}\n`, { mode: 0o755 });
    const { id, outs } = await create(raw);
    assert.deepStrictEqual([fs.existsSync(outs.configPath), fs.existsSync(marker)], [true, true], "the file is in place and nginx was told to reload");
    // Unconfirmed, the reload may still be under way when create returns: the route is served soon after.
    let status = 0;
    for (let tries = 0; tries < 100 && status !== 200; tries++) {
      status = (await get(nginx.httpsPort, hostname, { ca })).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.strictEqual(status, 200);
    await provider.delete!(id, outs);
  });

  it("waits for a reload that takes effect a moment after its command returns, and serves the route once create returns", async () => {
    const hostname = unique("late");
    const raw = httpRoute(hostname);
    // Like a service manager that queues the reload and returns: nginx gets its signal a second later.
    const lateReload = path.join(nginx.dir, `late-reload-${crypto.randomBytes(3).toString("hex")}.sh`);
    fs.writeFileSync(lateReload, `#!/bin/sh\n(sleep 1; ${nginx.reloadCommand}) </dev/null >/dev/null 2>&1 &\n`, { mode: 0o755 });
    raw.proxy.reloadCommand = lateReload;
    const { id, outs } = await create(raw);
    assert.deepStrictEqual(await get(nginx.httpsPort, hostname, { ca }).then((r) => [r.status, r.body]), [200, `first ${hostname}`]);
    await provider.delete!(id, outs);
    assert.strictEqual((await get(nginx.httpsPort, hostname, { ca })).status, 404, "and gone once delete returns");
  });

  it("tracks a route whose connection dropped after its file was written (the id comes back), and the next create finishes it", async () => {
    const hostname = unique("dropped");
    const raw = httpRoute(hostname);
    // The first `nginx -t` kills the SSH session it runs in (its nearest sshd ancestor); later ones test for real.
    const marker = path.join(nginx.dir, `dropped-${crypto.randomBytes(3).toString("hex")}`);
    const dropOnce = `${marker}.sh`;
    fs.writeFileSync(dropOnce, [
      "#!/bin/sh", `if [ -e '${marker}' ]; then exec ${nginx.testCommand}; fi`, `touch '${marker}'`, "p=$$",
      "while [ \"$p\" -gt 1 ]; do", "  p=$(ps -o ppid= -p \"$p\" | tr -d ' ')",
      "  case \"$(ps -o comm= -p \"$p\")\" in sshd*) kill -9 \"$p\"; exit 1;; esac", "done", "exit 1", "",
    ].join("\n"), { mode: 0o755 });
    raw.proxy.testCommand = dropOnce;
    const file = `${nginx.confDir}/http/${hostname}.conf`;
    // The host adds the provider's text to the inputs after check; a failed create must hand it back.
    await assert.rejects(provider.create({ ...(await checked(raw)), __provider: "provider-text" }), (error: any) => {
      assert.strictEqual(error.code, "ERR_SSH_CONNECT", String(error));
      assert.match(error.message, /was lost while running/);
      assert.strictEqual(error.id, `${sshd.host}:${file}`, "the route is tracked");
      assert.deepStrictEqual([error.properties.configPath, error.properties.url, error.properties.__provider], [file, `https://${hostname}:${nginx.httpsPort}`, "provider-text"]);
      assert.strictEqual(error.properties.configSha256, sha256(fs.readFileSync(file, "utf8")), "the file it left is the one its outputs describe");
      return true;
    });
    const { id, outs } = await create(raw);
    assert.strictEqual(id, `${sshd.host}:${file}`);
    assert.deepStrictEqual(await get(nginx.httpsPort, hostname, { ca }).then((r) => [r.status, r.body]), [200, `first ${hostname}`], "served once the next create returns");
    await provider.delete!(id, outs);
  });

  it("gives a stream route the lowest port in its range that no route file claims and nothing listens on", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(portBase, "127.0.0.1", () => resolve()));
    const claimedBy = `${nginx.confDir}/stream/hand-written.conf`;
    fs.writeFileSync(claimedBy, `server {\n    listen 127.0.0.1:${portBase + 1};\n    proxy_pass 127.0.0.1:${first};\n}\n`);
    try {
      const { id, outs } = await create(streamRoute({ portRange: { from: portBase, to: portBase + 5 } }));
      assert.strictEqual(outs.port, portBase + 2);
      assert.strictEqual(id, `${sshd.host}:${nginx.confDir}/stream/tcp-${portBase + 2}.conf`);
      assert.strictEqual(outs.url, undefined);
      await assert.rejects(create(streamRoute({ portRange: { from: portBase, to: portBase + 2 } })),
        validation("stream.portRange", new RegExp(`^no free tcp port in ${portBase}-${portBase + 2} on 127\\.0\\.0\\.1$`)));
      await assert.rejects(create(streamRoute({ listenPort: portBase })), validation("stream.listenPort", new RegExp(`^tcp port ${portBase} is already in use on 127\\.0\\.0\\.1$`)));
      await assert.rejects(create(streamRoute({ listenPort: portBase + 1 })), validation("stream.listenPort", /already in use/));
      await provider.delete!(id, outs);
    } finally {
      fs.rmSync(claimedBy, { force: true });
      busy.close();
    }
  });

  it("serves a fixed listen port on a host with no stream directory yet, reads it back, adopts its own file there, and keeps the port on update", async () => {
    const port = portBase + 10;
    fs.rmSync(`${nginx.confDir}/stream`, { recursive: true, force: true }); // a freshly set up proxy host
    const { id, outs } = await create(streamRoute({ listenPort: port }));
    assert.strictEqual(outs.port, port);
    assert.strictEqual((await get(port, "any")).body, "first any");
    assert.deepStrictEqual(await provider.read!(id, outs), { id, props: outs }, "a stream route reads back as it was made");
    assert.strictEqual((await create(streamRoute({ listenPort: port }))).id, id, "its own file is no conflict");
    const news = await checked(streamRoute({ listenPort: port, target: { host: "127.0.0.1", port: second } }));
    const { outs: updated } = await provider.update!(id, outs, news);
    assert.strictEqual(updated!.port, port);
    assert.strictEqual((await get(port, "any")).body, "second any");
    await provider.delete!(id, updated!);
    assert.deepStrictEqual(fs.readdirSync(`${nginx.confDir}/stream`).filter((f) => f.includes(String(port))), []);
  });

  it("allocates UDP ports apart from TCP ones, skipping those in use", async () => {
    const busy = net.createServer();
    const busyUdp = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => busy.listen(portBase + 20, "127.0.0.1", () => resolve()));
    try {
      const { id, outs } = await create(streamRoute({ protocol: "udp", portRange: { from: portBase + 20, to: portBase + 21 } }));
      assert.strictEqual(outs.port, portBase + 20, "a TCP listener does not take the UDP port");
      assert.strictEqual(outs.configPath, `${nginx.confDir}/stream/udp-${portBase + 20}.conf`);
      await provider.delete!(id, outs);
      // A UDP port something already listens on is skipped.
      await new Promise<void>((resolve) => busyUdp.bind(portBase + 22, "127.0.0.1", () => resolve()));
      const next = await create(streamRoute({ protocol: "udp", portRange: { from: portBase + 22, to: portBase + 23 } }));
      assert.strictEqual(next.outs.port, portBase + 23);
      await provider.delete!(next.id, next.outs);
    } finally {
      busy.close();
      busyUdp.close();
    }
  });

  it("waits for an SSH server to answer through an SSH route, and reports one that does not with the route's id", async () => {
    const good = await create(streamRoute({ portRange: { from: portBase + 30, to: portBase + 39 }, target: { host: "127.0.0.1", port: sshd.port }, ssh: { timeoutSeconds: 20 } }));
    assert.match(await firstBytes(good.outs.port), /^SSH-2\.0-/);
    await provider.delete!(good.id, good.outs);

    const raw = { ...streamRoute({ portRange: { from: portBase + 40, to: portBase + 49 }, target: { host: "127.0.0.1", port: httpish }, ssh: { timeoutSeconds: 3 } }) };
    // The host adds the provider's text to the inputs after check; a failed create must hand it back.
    await assert.rejects(provider.create({ ...(await checked(raw)), __provider: "provider-text" }), (error: any) => {
      assert.strictEqual(error.code, "ERR_SSH_CONNECT", String(error));
      assert.ok(error.message.startsWith(`no SSH server answered through 127.0.0.1:${portBase + 40} (routed to 127.0.0.1:${httpish}) within 3 s: `), error.message);
      // What the last probe saw: the answer that is no banner, or (on a slow machine) the deadline cut it short.
      assert.match(error.message, /within 3 s: (the first bytes were "HTTP", not an SSH banner|closed after|nothing came within)/);
      assert.strictEqual(error.id, `${sshd.host}:${nginx.confDir}/stream/tcp-${portBase + 40}.conf`, "the route is tracked");
      assert.deepStrictEqual([error.properties.port, error.properties.__provider], [portBase + 40, "provider-text"]);
      assert.deepStrictEqual(error.reasons, [error.message]);
      // The last probe's own error is chained as the cause (the host prints it as "Caused by").
      assert.ok(error.cause instanceof Error && error.message.endsWith(`: ${error.cause.message}`), String(error.cause));
      return true;
    });
    await provider.delete!("", parseStoredRoute({ ...raw, port: portBase + 40, configPath: `${nginx.confDir}/stream/tcp-${portBase + 40}.conf`, configSha256: "x" }) as unknown as Raw);

    const noWait = await create(streamRoute({ portRange: { from: portBase + 50, to: portBase + 59 }, target: { host: "127.0.0.1", port: httpish }, ssh: { timeoutSeconds: 0 } }));
    assert.strictEqual(noWait.outs.port, portBase + 50, "timeoutSeconds 0 does not probe");
    await provider.delete!(noWait.id, noWait.outs);
  });

  it("probes an SSH route on the address the proxy host's routes listen on (here ::1), where nothing else answers", async () => {
    const raw = streamRoute({ portRange: { from: portBase + 60, to: portBase + 69 }, target: { host: "127.0.0.1", port: sshd.port }, ssh: { timeoutSeconds: 10 } });
    raw.proxy.listenAddress = "::1";
    const { id, outs } = await create(raw);
    assert.strictEqual(outs.port, portBase + 60);
    assert.match(fs.readFileSync(outs.configPath, "utf8"), new RegExp(`listen \\[::1\\]:${portBase + 60};`));
    await provider.delete!(id, outs);
  });

  it("reads a route back: its hash, drift by hand, and gone", async () => {
    const hostname = unique("read");
    const { id, outs } = await create(httpRoute(hostname));
    const same = await provider.read!(id, outs);
    assert.deepStrictEqual(same, { id, props: outs });
    assert.strictEqual((await provider.read!("", outs)).id, id, "an import without id gets the natural key");
    fs.appendFileSync(outs.configPath, "# edited by hand\n");
    const drifted = (await provider.read!(id, outs)).props!;
    assert.strictEqual(drifted.configSha256, sha256(fs.readFileSync(outs.configPath, "utf8")));
    // The next up with the same inputs sees the drift and writes the route's own file again.
    const news = await checked(httpRoute(hostname));
    assert.deepStrictEqual(await provider.diff!(id, drifted, news), { changes: true, replaces: [], deleteBeforeReplace: false });
    const { outs: repaired } = await provider.update!(id, drifted, news);
    assert.strictEqual(repaired!.configSha256, outs.configSha256);
    assert.strictEqual(sha256(fs.readFileSync(outs.configPath, "utf8")), outs.configSha256, "the hand edit is gone");
    assert.deepStrictEqual(await provider.diff!(id, repaired, news), { changes: false, replaces: [], deleteBeforeReplace: false });
    await provider.delete!(id, outs);
    assert.deepStrictEqual(await provider.read!(id, outs), { id: "", props: {} });
  });

  it("protects a route with basic auth: hashed on the host, verifiers in state, drift when the file changes or goes", async () => {
    const hostname = unique("auth");
    const password = "pw-" + crypto.randomBytes(8).toString("hex");
    const raw = httpRoute(hostname, { tls: "none", redirectHttp: false, access: { basicAuth: { users: [{ name: "alice", password }, { name: "bob", password: password + "2" }] } } });
    const { id, outs } = await create(raw);
    assert.strictEqual(outs.url, `http://${hostname}:${nginx.httpPort}`);
    const htpasswd = `${nginx.confDir}/auth/${hostname}.htpasswd`;
    const text = fs.readFileSync(htpasswd, "utf8");
    assert.match(text, /^alice:\$6\$\S+\nbob:\$6\$\S+\n$/);
    assert.ok(!JSON.stringify(outs).includes(password), "no password in the outputs");
    assert.strictEqual(outs.htpasswdSha256, sha256(text));
    const users = outs.http.access.basicAuth.users;
    assert.ok(verifies(users[0].passwordVerifier, password) && verifies(users[1].passwordVerifier, password + "2"));
    assert.strictEqual((await get(nginx.httpPort, hostname)).status, 401);
    assert.strictEqual((await get(nginx.httpPort, hostname, { headers: basic("alice", password) })).status, 200);

    const stored = parseStoredRoute(outs);
    assert.strictEqual((await readRoute(stored))!.configSha256, outs.configSha256, "no drift");
    fs.appendFileSync(htpasswd, "mallory:$6$x$y\n");
    assert.strictEqual((await readRoute(stored))!.configSha256, "htpasswd-changed");
    fs.rmSync(htpasswd);
    assert.strictEqual((await readRoute(stored))!.configSha256, "htpasswd-missing");

    const { outs: updated } = await provider.update!(id, outs, await checked(raw));
    assert.strictEqual(fs.existsSync(htpasswd), true, "update writes the file again");
    assert.strictEqual(updated!.http.access.basicAuth.users[0].passwordVerifier, users[0].passwordVerifier, "an unchanged password keeps its verifier");
    await provider.delete!(id, updated!);
    assert.ok(!fs.existsSync(htpasswd), "delete removes the htpasswd file");
  });

  it("removes the htpasswd file when an update drops basic auth", async () => {
    const hostname = unique("noauth");
    const raw = httpRoute(hostname, { tls: "none", access: { basicAuth: { users: [{ name: "alice", password: "secret-pass" }] } } });
    const { id, outs } = await create(raw);
    const htpasswd = `${nginx.confDir}/auth/${hostname}.htpasswd`;
    assert.ok(fs.existsSync(htpasswd));
    const { access: _access, ...withoutAccess } = raw.http;
    const { outs: updated } = await provider.update!(id, outs, await checked({ ...raw, http: withoutAccess }));
    assert.ok(!fs.existsSync(htpasswd));
    assert.strictEqual(updated!.htpasswdSha256, undefined);
    assert.strictEqual((await get(nginx.httpPort, hostname)).status, 200, "served without credentials now");
    await provider.delete!(id, updated!);
  });

  it("edits the proxy host for other resources: files and moves in place together, or all put back when nginx refuses", async () => {
    const dir = path.join(nginx.dir, `edit-${crypto.randomBytes(3).toString("hex")}`);
    fs.mkdirSync(dir);
    const [from, to] = [path.join(dir, "key.next"), path.join(dir, "key.pem")];
    fs.writeFileSync(to, "old key");
    fs.writeFileSync(from, "new key");
    const bad = `${nginx.confDir}/http/zz-bad-${crypto.randomBytes(3).toString("hex")}.conf`;
    const note = path.join(dir, "note.txt");
    await assert.rejects(editProxyHost(parseStoredRoute({ proxy: proxy() } as Raw).proxy, new Map([[note, "written"], [bad, "this is not nginx;\n"]]), [{ from, to }]),
      (error: unknown) => isLaunchpadError(error, "ERR_NGINX_TEST"));
    assert.strictEqual(fs.readFileSync(to, "utf8"), "old key", "the move was undone");
    assert.deepStrictEqual([fs.existsSync(bad), fs.existsSync(note)], [false, false], "the files were removed again");

    fs.writeFileSync(from, "new key");
    await editProxyHost(parseStoredRoute({ proxy: proxy() } as Raw).proxy, new Map([[note, "written"]]), [{ from, to }]);
    assert.strictEqual(fs.readFileSync(to, "utf8"), "new key");
    assert.strictEqual(fs.readFileSync(note, "utf8"), "written");
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["key.pem", "note.txt"], "nothing left of the previous key");
  });

  it("edits a freshly set up proxy host for other resources (a certificate's challenge server): the route directories are made first", async () => {
    for (const sub of ["http", "stream"]) fs.rmSync(`${nginx.confDir}/${sub}`, { recursive: true, force: true });
    const file = `${nginx.confDir}/http/_acme-fresh-${crypto.randomBytes(3).toString("hex")}.conf`;
    const host = parseStoredRoute({ proxy: proxy() } as Raw).proxy;
    await editProxyHost(host, new Map([[file, "# a challenge server\n"]]));
    assert.deepStrictEqual([fs.readFileSync(file, "utf8"), fs.existsSync(`${nginx.confDir}/stream`)], ["# a challenge server\n", true]);
    await editProxyHost(host, new Map([[file, undefined]]));
    assert.ok(!fs.existsSync(file));
  });

  it("edits the proxy host with files alone, and removes again what it wrote when a later write fails", async () => {
    const dir = path.join(nginx.dir, `edit-${crypto.randomBytes(3).toString("hex")}`);
    fs.mkdirSync(dir);
    const host = parseStoredRoute({ proxy: proxy() } as Raw).proxy;
    const [note, kept] = [path.join(dir, "note.txt"), path.join(dir, "kept.txt")];
    fs.writeFileSync(kept, "before");
    fs.writeFileSync(path.join(dir, "plain-file"), "");
    // The last write's directory is a plain file: it fails after the first two are in place.
    await assert.rejects(editProxyHost(host, new Map([[note, "written"], [kept, "after"], [path.join(dir, "plain-file", "x.conf"), "x"]])),
      (error: unknown) => isLaunchpadError(error, "ERR_SSH_EXEC"));
    assert.deepStrictEqual([fs.existsSync(note), fs.readFileSync(kept, "utf8")], [false, "before"], "both writes undone");

    await editProxyHost(host, new Map([[note, "written"]]));
    assert.strictEqual(fs.readFileSync(note, "utf8"), "written");
  });
});
