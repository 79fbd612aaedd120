// ProxyRoute against a real nginx reached over a real OpenSSH server, both started here on
// loopback. The provider hooks run as the dynamic-provider host would call them.

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
import { provider } from "../../provider/proxy";
import { sha256 } from "../../provider/proxy/render";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { eventually, tcpEcho } from "../../devstack/probes";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";
import { reservePortBlock, type PortBlock } from "../support/ports";

type Raw = Record<string, any>;

interface Reply { status: number; body: string; headers: http.IncomingHttpHeaders }

function httpsGet(port: number, hostname: string, ca: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: "/probe?x=1", servername: hostname, headers: { host: hostname }, ca, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

function httpGet(port: number, hostname: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/plain", headers: { host: hostname }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

function udpEcho(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const timer = setTimeout(() => { socket.close(); reject(new Error("udp timeout")); }, 1000);
    socket.on("message", (msg) => { clearTimeout(timer); socket.close(); resolve(msg.toString()); });
    socket.on("error", (e) => { clearTimeout(timer); socket.close(); reject(e); });
    socket.send(text, port, "127.0.0.1");
  });
}

/** A WebSocket-style upgrade through nginx; resolves with what the upgraded stream echoes back. */
function upgradeAndEcho(port: number, hostname: string, ca: string, text: string): Promise<{ status: number; accept: string; echoed: string; key: string }> {
  const key = crypto.randomBytes(16).toString("base64");
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1", port, path: "/socket", servername: hostname, ca, agent: false,
      headers: { host: hostname, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": key },
    });
    req.on("upgrade", (res, socket) => {
      let echoed = "";
      socket.on("data", (c) => { echoed += c; if (echoed.length >= text.length) { socket.end(); resolve({ status: res.statusCode!, accept: String(res.headers["sec-websocket-accept"]), echoed, key }); } });
      socket.write(text);
    });
    req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
}

const websocketAccept = (key: string) => crypto.createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");

async function checkAndCreate(raw: Raw): Promise<{ id: string; outs: Raw }> {
  const checked = await provider.check!({}, raw);
  assert.deepStrictEqual(checked.failures ?? [], []);
  const { id, outs } = await provider.create(checked.inputs);
  return { id, outs: outs ?? {} };
}

describe("ProxyRoute on a real nginx over real SSH", function () {
  // 20 provider processes compile and connect at once; on two busy cores that takes minutes.
  this.timeout(600_000);
  let nginx: TestNginx;
  let sshd: TestSshd;
  const servers: { close(cb?: () => void): unknown }[] = [];
  let backendPort = 0;
  let secondBackendPort = 0;
  let tcpTargetPort = 0;
  let udpTargetPort = 0;
  let portBase = 0;
  let ports: PortBlock | undefined;
  const created: { id: string; outs: Raw }[] = [];

  const proxy = (): Raw => ({
    ...proxyHost(sshd, nginx), privateKey: sshd.privateKey,
  });
  const httpRoute = (hostname: string, extra: Raw = {}): Raw => ({
    proxy: proxy(),
    http: { hostname, target: { host: "127.0.0.1", port: backendPort }, tls: { certificate: nginx.certificate, key: nginx.key }, ...extra },
  });
  // Below Linux's ephemeral range, so that other tests' freePort() never lands in it.
  const streamRoute = (protocol: "tcp" | "udp", targetPort: number): Raw => ({
    proxy: proxy(), stream: { protocol, portRange: { from: portBase, to: portBase + 199 }, target: { host: "127.0.0.1", port: targetPort } },
  });

  function listen<T extends net.Server | http.Server>(server: T): Promise<number> {
    servers.push(server);
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
  }

  function backend(name: string): http.Server {
    const server = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ backend: name, host: req.headers.host, proto: req.headers["x-forwarded-proto"], forwardedFor: req.headers["x-forwarded-for"], url: req.url, branch: req.headers["x-preview-branch"] }));
    });
    server.on("upgrade", (req, socket) => {
      const accept = websocketAccept(String(req.headers["sec-websocket-key"]));
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.pipe(socket);
    });
    return server;
  }

  before(async function () {
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    backendPort = await listen(backend("first"));
    secondBackendPort = await listen(backend("second"));
    tcpTargetPort = await listen(net.createServer((socket) => socket.pipe(socket)));
    const udp = dgram.createSocket("udp4");
    udp.on("message", (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
    udpTargetPort = udp.address().port;
    servers.push({ close: (cb?: () => void) => udp.close(cb) });
    ports = await reservePortBlock();
    portBase = ports.from;
  });

  after(async () => {
    ports?.release();
    for (const server of servers) await new Promise<void>((resolve) => { try { server.close(() => resolve()); } catch { resolve(); } });
    await nginx?.stop();
    await sshd?.stop();
  });

  let app: { id: string; outs: Raw };
  let tcp: { id: string; outs: Raw };
  let udp: { id: string; outs: Raw };

  async function everyRouteAnswers(): Promise<void> {
    const reply = await httpsGet(nginx.httpsPort, "app.preview.test", fs.readFileSync(nginx.certificate, "utf8"));
    assert.strictEqual(reply.status, 200);
    assert.strictEqual(await tcpEcho(tcp.outs.port, "still-there"), "still-there");
    assert.strictEqual(await eventually(() => udpEcho(udp.outs.port, "still-there")), "still-there");
  }

  it("routes an HTTPS hostname to a local backend with the right Host and forwarded headers", async () => {
    app = await checkAndCreate(httpRoute("app.preview.test", { headers: { "X-Preview-Branch": "feature/x" } }));
    created.push(app);
    assert.strictEqual(app.id, `127.0.0.1:${nginx.confDir}/http/app.preview.test.conf`);
    assert.strictEqual(app.outs.url, `https://app.preview.test:${nginx.httpsPort}`);
    const ca = fs.readFileSync(nginx.certificate, "utf8");
    // No waiting here: create returns only once nginx runs workers with the new configuration.
    const reply = await httpsGet(nginx.httpsPort, "app.preview.test", ca);
    assert.strictEqual(reply.status, 200);
    const seen = JSON.parse(reply.body);
    assert.deepStrictEqual(
      { backend: seen.backend, host: seen.host, proto: seen.proto, forwardedFor: seen.forwardedFor, url: seen.url, branch: seen.branch },
      { backend: "first", host: "app.preview.test", proto: "https", forwardedFor: "127.0.0.1", url: "/probe?x=1", branch: "feature/x" },
    );
    const redirect = await httpGet(nginx.httpPort, "app.preview.test");
    assert.strictEqual(redirect.status, 301);
    assert.strictEqual(redirect.headers.location, `https://app.preview.test:${nginx.httpsPort}/plain`);
    const unknown = await httpsGet(nginx.httpsPort, "other.preview.test", ca);
    assert.strictEqual(unknown.status, 404, "unknown names go to the catch-all");
  });

  it("passes a WebSocket upgrade through", async () => {
    const result = await upgradeAndEcho(nginx.httpsPort, "app.preview.test", fs.readFileSync(nginx.certificate, "utf8"), "ws-frame-bytes");
    assert.strictEqual(result.status, 101);
    assert.strictEqual(result.accept, websocketAccept(result.key));
    assert.strictEqual(result.echoed, "ws-frame-bytes");
  });

  it("routes TCP through an allocated port", async () => {
    tcp = await checkAndCreate(streamRoute("tcp", tcpTargetPort));
    created.push(tcp);
    assert.ok(tcp.outs.port >= portBase && tcp.outs.port <= portBase + 199, `port ${tcp.outs.port} outside the range`);
    assert.strictEqual(tcp.outs.configPath, `${nginx.confDir}/stream/tcp-${tcp.outs.port}.conf`);
    assert.strictEqual(await tcpEcho(tcp.outs.port, "hello over tcp"), "hello over tcp", "served as soon as create returns");
  });

  it("carries a UDP datagram through an allocated port", async () => {
    udp = await checkAndCreate(streamRoute("udp", udpTargetPort));
    created.push(udp);
    assert.strictEqual(await eventually(() => udpEcho(udp.outs.port, "hello over udp")), "hello over udp");
  });

  it("fails a route nginx rejects with nginx's own message, and every other route keeps answering", async () => {
    await everyRouteAnswers();
    const bad = httpRoute("broken.preview.test", { tls: { certificate: `${nginx.dir}/missing.crt`, key: nginx.key } });
    await assert.rejects(checkAndCreate(bad), (error: unknown) => {
      assert.ok(isLaunchpadError(error, "ERR_NGINX_TEST"), String(error));
      assert.match((error as Error).message, /missing\.crt/);
      assert.match((error as Error).message, /cannot load certificate|BIO_new_file|No such file/);
      return true;
    });
    assert.ok(!fs.existsSync(`${nginx.confDir}/http/broken.preview.test.conf`), "the rejected file was removed");
    assert.deepStrictEqual((await nginx.test()).ok, true);
    await everyRouteAnswers();
  });

  it("refuses a hostname another route already serves, and a fixed port already in use", async () => {
    const other = httpRoute("app.preview.test", { target: { host: "127.0.0.1", port: secondBackendPort } });
    await assert.rejects(checkAndCreate(other), (error: any) => error.code === "ERR_VALIDATION" && error.problems[0].property === "http.hostname");
    const fixed = streamRoute("tcp", tcpTargetPort);
    fixed.stream = { ...fixed.stream, portRange: undefined, listenPort: sshd.port };
    await assert.rejects(checkAndCreate(fixed), (error: any) => error.code === "ERR_VALIDATION" && error.problems[0].property === "stream.listenPort");
  });

  it("adopts its own file left by an interrupted create instead of failing", async () => {
    const again = await checkAndCreate(httpRoute("app.preview.test", { headers: { "X-Preview-Branch": "feature/x" } }));
    assert.strictEqual(again.id, app.id);
  });

  it("updates a route in place", async () => {
    const checked = await provider.check!(app.outs, httpRoute("app.preview.test", { target: { host: "127.0.0.1", port: secondBackendPort } }));
    const diff = await provider.diff!(app.id, app.outs, checked.inputs);
    assert.deepStrictEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
    const { outs } = await provider.update!(app.id, app.outs, checked.inputs);
    app = { id: app.id, outs: outs! };
    const ca = fs.readFileSync(nginx.certificate, "utf8");
    assert.strictEqual(JSON.parse((await httpsGet(nginx.httpsPort, "app.preview.test", ca)).body).backend, "second", "served as soon as update returns");
  });

  it("notices a route changed or removed on the host", async () => {
    fs.appendFileSync(app.outs.configPath, "# edited by hand\n");
    const read = await provider.read!(app.id, app.outs);
    assert.strictEqual(read.id, app.id);
    assert.strictEqual(read.props!.configSha256, sha256(fs.readFileSync(app.outs.configPath, "utf8")));
    const checked = await provider.check!(read.props!, httpRoute("app.preview.test", { target: { host: "127.0.0.1", port: secondBackendPort } }));
    assert.strictEqual((await provider.diff!(app.id, read.props!, checked.inputs)).changes, true, "drift shows as a change");
    const { outs } = await provider.update!(app.id, read.props!, checked.inputs);
    assert.ok(!fs.readFileSync(app.outs.configPath, "utf8").includes("edited by hand"), "update rewrote the file");
    app = { id: app.id, outs: outs! };

    const gone = await checkAndCreate(httpRoute("gone.preview.test"));
    fs.rmSync(gone.outs.configPath);
    assert.strictEqual((await provider.read!(gone.id, gone.outs)).id, "", "a removed route reads as gone");
  });

  it("creates 20 routes in parallel from separate provider processes: distinct ports, nginx -t passes", async function () {
    const script = [
      "const { provider } = require(process.env.LAUNCHPAD_PROXY_MODULE);",
      "let data = ''; process.stdin.on('data', (c) => { data += c; }).on('end', async () => {",
      "  try {",
      "    const checked = await provider.check({}, JSON.parse(data));",
      "    if (checked.failures && checked.failures.length) throw new Error(JSON.stringify(checked.failures));",
      "    const r = await provider.create(checked.inputs);",
      "    process.stdout.write(JSON.stringify({ ok: true, id: r.id, outs: r.outs }));",
      "  } catch (e) { process.stdout.write(JSON.stringify({ ok: false, message: String(e && e.message) })); }",
      "});",
    ].join("\n");
    const runOne = (route: Raw) => new Promise<Raw>((resolve, reject) => {
      // The compiled module, as the provider host loads it: 20 TypeScript compilations at once would
      // spend the test's minute on two cores transpiling, not on the routes.
      const child = spawn(process.execPath, ["-e", script], {
        cwd: path.resolve(__dirname, "../.."),
        env: { ...process.env, LAUNCHPAD_PROXY_MODULE: require.resolve("pulumi-launchpad/provider/proxy") },
        stdio: ["pipe", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (c) => { out += c; });
      child.on("error", reject);
      child.on("exit", () => { try { resolve(JSON.parse(out)); } catch { reject(new Error(`worker said: ${out}`)); } });
      child.stdin.end(JSON.stringify(route));
    });
    const results = await Promise.all(Array.from({ length: 20 }, () => runOne(streamRoute("tcp", tcpTargetPort))));
    const failures = results.filter((r) => !r.ok);
    for (const r of results) if (r.ok) created.push({ id: r.id, outs: r.outs });
    assert.deepStrictEqual(failures, []);
    const ports = results.map((r) => r.outs.port);
    assert.strictEqual(new Set(ports).size, 20, `ports: ${ports.join(",")}`);
    assert.ok(!ports.includes(tcp.outs.port), "no port given twice");
    assert.strictEqual(fs.readdirSync(`${nginx.confDir}/stream`).filter((f) => f.startsWith("tcp-")).length, 21);
    assert.strictEqual((await nginx.test()).ok, true);
    for (const port of ports) assert.strictEqual(await eventually(() => tcpEcho(port, `via ${port}`)), `via ${port}`);
  });

  it("deletes a route, and deleting it again succeeds", async () => {
    await provider.delete!(app.id, app.outs);
    assert.ok(!fs.existsSync(app.outs.configPath));
    const ca = fs.readFileSync(nginx.certificate, "utf8");
    await eventually(async () => assert.strictEqual((await httpsGet(nginx.httpsPort, "app.preview.test", ca)).status, 404));
    await provider.delete!(app.id, app.outs);
    for (const route of created.splice(0).filter((r) => r.id !== app.id)) await provider.delete!(route.id, route.outs);
    assert.deepStrictEqual(fs.readdirSync(`${nginx.confDir}/stream`), []);
    assert.strictEqual((await nginx.test()).ok, true);
  });

  it("refuses to connect when the host key does not match, naming both fingerprints", async () => {
    const wrong = "SHA256:" + crypto.createHash("sha256").update("not the host key").digest("base64").replace(/=+$/, "");
    const raw = httpRoute("never.preview.test");
    raw.proxy.hostKeyFingerprint = wrong;
    await assert.rejects(checkAndCreate(raw), (error: unknown) => {
      assert.ok(isLaunchpadError(error, "ERR_SSH_CONNECT"), String(error));
      assert.ok((error as Error).message.includes(wrong), (error as Error).message);
      assert.ok((error as Error).message.includes(sshd.hostKeyFingerprint), (error as Error).message);
      assert.ok(!(error as Error).message.includes("PRIVATE KEY"));
      return true;
    });
    assert.ok(!fs.existsSync(`${nginx.confDir}/http/never.preview.test.conf`));
  });
});
