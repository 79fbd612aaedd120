// The ProxyRoute rows of the fault matrix (issue #15), through the real dynamic-provider host,
// against a real nginx over a real OpenSSH server. Faults: the SSH connection dropped mid-session
// (a TCP relay in front of sshd cuts it the moment the route file changes on the host, or after a
// number of bytes for a read), and `nginx -t` failing (someone else's broken file in the conf dir).
// Each cell: the faulted run fails by name (or converges, where the fault does not touch it), no
// route file is left that state does not know, the next run converges and serves, a bystander
// route and a hand-written route keep serving, and the hand-written file is never touched.
import { strict as assert } from "assert";
import { execSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { ProxyRoute } from "../../src/proxyRoute";
import { EngineError, TestEngine } from "../../devstack/engine";
import { cell, type Operation } from "../support/fault-matrix";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { eventually } from "../../devstack/probes";
import { startTcpRelay, type TcpRelay } from "../support/relays";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";

const USER = { name: "fm", password: "fault-matrix-pw" };
const AUTH = `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString("base64")}`;

describe("fault matrix: ProxyRoute through the real host", function () {
  this.timeout(120_000);
  let nginx: TestNginx;
  let sshd: TestSshd;
  let relay: TcpRelay;
  let backend: http.Server;
  let bystander: TestEngine;
  const engines: TestEngine[] = [];
  let foreignFile: string;
  let foreignText: string;

  const proxy = (port: number) => ({
    ...proxyHost(sshd, nginx), port, privateKey: sshd.privateKey, lockTimeoutSeconds: 10,
  });
  const target = () => ({ host: "127.0.0.1", port: (backend.address() as net.AddressInfo).port });
  /** Status and body nginx answers for `hostname` (with the route's basic-auth user). */
  const answer = (hostname: string) => new Promise<string>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: nginx.httpPort, path: "/", headers: { host: hostname, authorization: AUTH }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c)).on("end", () => resolve(`${res.statusCode} ${body}`));
    }).on("error", reject);
  });

  before(async function () {
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    relay = await startTcpRelay({ host: sshd.host, port: sshd.port });
    backend = http.createServer((req, res) => res.end(`backend ${req.headers.host}`));
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", () => resolve()));
    // Someone else's hand-written route: it must serve throughout and never change.
    foreignFile = path.join(nginx.confDir, "http", "foreign.fm.test.conf");
    foreignText = `server { listen 127.0.0.1:${nginx.httpPort}; server_name foreign.fm.test; return 200 "foreign"; }\n`;
    fs.writeFileSync(foreignFile, foreignText);
    // Another stack's route, straight to sshd (not through the relay).
    bystander = new TestEngine({ project: "launchpad-fm-proxy", stack: "bystander" });
    await bystander.up(() => { new ProxyRoute("other", { proxy: proxy(sshd.port), http: { hostname: "other.fm.test", target: target(), tls: "none" } }); });
    assert.equal(await eventually(() => answer("other.fm.test")), "200 backend other.fm.test");
    assert.equal(await answer("foreign.fm.test"), "200 foreign");
  });
  after(async () => {
    await bystander?.destroy().catch(() => undefined);
    for (const engine of [bystander, ...engines]) await engine?.close();
    await relay?.close();
    backend?.close();
    await nginx?.stop();
    await sshd?.stop();
  });

  /** What other parties have on the host still serves, unchanged. */
  async function othersIntact(): Promise<void> {
    assert.equal(await answer("other.fm.test"), "200 backend other.fm.test", "the bystander route keeps serving");
    assert.equal(await answer("foreign.fm.test"), "200 foreign", "the hand-written route keeps serving");
    assert.equal(fs.readFileSync(foreignFile, "utf8"), foreignText, "the hand-written route file is untouched");
  }

  /** Route and htpasswd files on the host: only those state knows of, no temp file, nginx -t passes. */
  async function noOrphans(): Promise<void> {
    const tracked = new Set([bystander, ...engines].flatMap((e) => e.state.filter((r) => r.custom && r.id)
      .map((r) => path.basename(String(e.resource(r.urn)!.plainOutputs.configPath)))));
    const routes = fs.readdirSync(path.join(nginx.confDir, "http")).filter((f) => !f.startsWith("_") && f !== path.basename(foreignFile));
    assert.deepEqual(routes.filter((f) => !tracked.has(f)), [], "a route file (or temp file) state does not know of");
    const authDir = path.join(nginx.confDir, "auth");
    const auth = fs.existsSync(authDir) ? fs.readdirSync(authDir) : [];
    const wanted = engines.flatMap((e) => e.state.filter((r) => r.custom && r.id && (e.resource(r.urn)!.plainOutputs.http as { access?: unknown } | undefined)?.access)
      .map((r) => `${new URL(String(e.resource(r.urn)!.plainOutputs.url)).hostname}.htpasswd`));
    assert.deepEqual(auth.filter((f) => !wanted.includes(f)), [], "an htpasswd file (or temp file) no route owns");
    assert.equal((await nginx.test()).ok, true, "nginx -t passes");
  }

  interface Fault {
    name: string;
    /** Start the fault for a run of `operation` on `hostname`. */
    arm(hostname: string, operation: Operation): void;
    disarm(): void;
    /** The named error a faulted run must fail with; undefined: the fault does not touch this operation. */
    error(operation: Operation): RegExp | undefined;
  }

  let watcher: fs.FSWatcher | undefined;
  let refreshBytes = 0;
  const sshDropped: Fault = {
    name: "SSH dropped mid-session",
    arm(hostname, operation) {
      if (operation === "refresh") {
        // A read only reads: cut it shortly before its answer is complete (measured on a clean refresh).
        relay.cutAfter(refreshBytes - 600);
        return;
      }
      // Cut the moment the route file changes on the host: after the write, before `nginx -t` and the reload.
      watcher = fs.watch(path.join(nginx.confDir, "http"), (_event, file) => {
        if (file === `${hostname}.conf`) relay.cutAll();
      });
    },
    disarm() { watcher?.close(); watcher = undefined; relay.cutAfter(undefined); },
    error: () => /SSH connection to .* was lost/,
  };
  const planted = () => path.join(nginx.confDir, "http", "zz-planted.conf");
  const nginxTestFails: Fault = {
    name: "nginx -t failing",
    arm() { fs.writeFileSync(planted(), "this is not nginx syntax\n"); },
    disarm() { fs.rmSync(planted(), { force: true }); },
    error: (operation) => (operation === "refresh" ? undefined : /nginx -t rejected the configuration.*zz-planted\.conf/s),
  };

  // Routes under the nginx fault carry basic auth (an htpasswd file to leave behind). Routes under
  // the SSH fault do not: a fresh htpasswd hash (new salt) on every write would hide a skipped reload.
  const route = (hostname: string, version: string) => () => {
    new ProxyRoute("route", {
      proxy: proxy(relay.port),
      http: {
        hostname, target: target(), tls: "none",
        ...(hostname.includes("-ngx.") ? { access: { basicAuth: { users: [USER] } } } : {}),
        responseHeaders: { "X-Version": version },
      },
    });
  };

  async function faulted<T>(fault: Fault, hostname: string, operation: Operation, run: () => Promise<T>): Promise<Error | undefined> {
    const cutsBefore = relay.cuts;
    fault.arm(hostname, operation);
    let failure: Error | undefined;
    try {
      failure = await run().then(() => undefined, (e: Error) => e);
    } finally {
      fault.disarm();
    }
    const expected = fault.error(operation);
    if (expected) {
      assert.ok(failure instanceof EngineError, `the faulted ${operation} must fail, not succeed`);
      assert.match(failure.message, expected);
      if (fault === sshDropped) assert.ok(relay.cuts > cutsBefore, "the relay cut the session");
    } else {
      assert.equal(failure, undefined, `a ${operation} the fault does not touch converges`);
    }
    return failure;
  }

  // A cell that failed half-way must not leave its route to the next: fault off, its stack destroyed.
  afterEach(async () => {
    sshDropped.disarm();
    nginxTestFails.disarm();
    for (const engine of engines) if (engine.state.some((r) => r.custom)) await engine.destroy().catch(() => undefined);
    // What a failed cell left untracked goes too (and nginx reloads), so each cell is judged on its own.
    let removed = false;
    for (const dir of ["http", "auth"].map((d) => path.join(nginx.confDir, d)).filter((d) => fs.existsSync(d))) {
      for (const file of fs.readdirSync(dir).filter((f) => /^\.?(create|update|refresh|delete)-(drop|ngx)\.fm\.test\./.test(f))) {
        fs.rmSync(path.join(dir, file));
        removed = true;
      }
    }
    if (removed) execSync(nginx.reloadCommand);
  });

  for (const fault of [sshDropped, nginxTestFails]) {
    const slug = fault === sshDropped ? "drop" : "ngx";
    const newEngine = (operation: Operation) => {
      const engine = new TestEngine({ project: "launchpad-fm-proxy", stack: `${slug}-${operation}` });
      engines.push(engine);
      return engine;
    };
    const host = (operation: Operation) => `${operation}-${slug}.fm.test`;

    cell({ resource: "ProxyRoute", operation: "create", fault: fault.name }, async () => {
      const engine = newEngine("create");
      const hostname = host("create");
      await othersIntact();
      await faulted(fault, hostname, "create", () => engine.up(route(hostname, "v1")));
      await noOrphans();
      await othersIntact();

      await engine.up(route(hostname, "v1"));
      assert.equal(await eventually(() => answer(hostname)), `200 backend ${hostname}`, "the next up serves the route");
      await engine.destroy();
      assert.match(await answer(hostname), /^404 /, "gone after destroy");
      await noOrphans();
      await othersIntact();
    });

    cell({ resource: "ProxyRoute", operation: "update", fault: fault.name }, async () => {
      const engine = newEngine("update");
      const hostname = host("update");
      await engine.up(route(hostname, "v1"));
      await faulted(fault, hostname, "update", () => engine.up(route(hostname, "v2")));
      await noOrphans();
      await othersIntact();
      assert.equal(await answer(hostname), `200 backend ${hostname}`, "the route keeps serving");

      await engine.up(route(hostname, "v2"));
      const served = await new Promise<string | undefined>((resolve, reject) => {
        http.get({ host: "127.0.0.1", port: nginx.httpPort, path: "/", headers: { host: hostname, authorization: AUTH }, agent: false }, (res) => {
          res.resume();
          resolve(res.headers["x-version"] as string | undefined);
        }).on("error", reject);
      });
      assert.equal(served, "v2", "the next up serves the new version");
      await engine.destroy();
      await noOrphans();
      await othersIntact();
    });

    cell({ resource: "ProxyRoute", operation: "refresh", fault: fault.name }, async () => {
      const engine = newEngine("refresh");
      const hostname = host("refresh");
      await engine.up(route(hostname, "v1"));
      const before = engine.stateText();
      const connections = relay.transferred.length;
      assert.deepEqual((await engine.refresh()).operations.map((o) => o.op), ["same"]);
      refreshBytes = relay.transferred.slice(connections).reduce((a, b) => a + b, 0);
      await faulted(fault, hostname, "refresh", () => engine.refresh());
      assert.ok(engine.resource("route"), "the route stays in state");
      assert.equal(engine.stateText().length, before.length, "state unchanged by the faulted refresh");
      await othersIntact();

      assert.deepEqual((await engine.refresh()).operations.map((o) => o.op), ["same"], "the next refresh converges");
      await engine.destroy();
      await noOrphans();
      await othersIntact();
    });

    cell({ resource: "ProxyRoute", operation: "delete", fault: fault.name }, async () => {
      const engine = newEngine("delete");
      const hostname = host("delete");
      await engine.up(route(hostname, "v1"));
      await faulted(fault, hostname, "delete", () => engine.destroy());
      assert.ok(engine.resource("route"), "a delete that failed keeps the route in state");
      await noOrphans();
      await othersIntact();

      await engine.destroy();
      assert.equal(engine.state.filter((r) => r.custom).length, 0);
      assert.match(await answer(hostname), /^404 /, "the next destroy stops the route being served");
      await noOrphans();
      await othersIntact();
    });
  }
});
