// Access protection on HTTP routes through the real dynamic-provider host, on a real nginx over a
// real OpenSSH server: basic auth (401 without or with wrong credentials, 200 with them, a health
// path that needs none), and auth_request to a small auth service started here, whose identity
// headers reach the app and replace whatever the client sent. The state holds no password.

import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { ProxyRoute } from "../../src/proxyRoute";
import { isSecretWire, TestEngine } from "../../devstack/engine";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { eventually } from "../../devstack/probes";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";

interface Reply { status: number; body: string; headers: http.IncomingHttpHeaders }

function get(port: number, hostname: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, headers: { host: hostname, ...headers }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

describe("ProxyRoute access protection on a real nginx, through the real provider host", function () {
  this.timeout(600_000);
  let nginx: TestNginx | undefined;
  let sshd: TestSshd | undefined;
  let engine: TestEngine | undefined;
  const servers: http.Server[] = [];
  let appPort = 0;
  let authPort = 0;
  const authCalls: http.IncomingHttpHeaders[] = [];

  async function listen(server: http.Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return (server.address() as net.AddressInfo).port;
  }

  before(async function () {
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    // The app echoes the headers it got.
    appPort = await listen(http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ path: req.url, headers: req.headers }));
    }));
    // oauth2-proxy in miniature: a session cookie names the user; no cookie is a 401.
    authPort = await listen(http.createServer((req, res) => {
      authCalls.push(req.headers);
      const session = /(?:^|; )session=([a-z]+)/.exec(req.headers.cookie ?? "")?.[1];
      if (req.url !== "/oauth2/auth" || !session) { res.statusCode = 401; res.end(); return; }
      res.setHeader("X-Auth-Request-User", session);
      res.setHeader("X-Auth-Request-Email", `${session}@example.test`);
      res.statusCode = 202;
      res.end();
    }));
  });
  after(async () => {
    await engine?.close();
    for (const server of servers) server.close();
    await nginx?.stop();
    await sshd?.stop();
  });

  const proxyArgs = () => ({
    ...proxyHost(sshd!, nginx!), privateKey: pulumi.secret(sshd!.privateKey),
  });

  it("answers 401/200 with basic auth and auth_request, passes identity headers, and keeps passwords out of state and files", async () => {
    const password = "correct-horse-battery-staple-7";
    const program = (alicePassword: string) => () => {
      const team = new ProxyRoute("team", {
        proxy: proxyArgs(),
        http: {
          hostname: "team.preview.test", target: { host: "127.0.0.1", port: appPort }, tls: "none",
          access: {
            basicAuth: { realm: "Preview", users: [{ name: "alice", password: pulumi.secret(alicePassword) }, { name: "bob", password: pulumi.secret("bobs-password-9") }] },
            bypassPaths: ["/healthz"],
          },
        },
      });
      const sso = new ProxyRoute("sso", {
        proxy: proxyArgs(),
        http: {
          hostname: "sso.preview.test", target: { host: "127.0.0.1", port: appPort }, tls: "none",
          access: {
            authRequest: {
              url: `http://127.0.0.1:${authPort}/oauth2/auth`,
              signInUrl: "https://auth.preview.test/oauth2/start",
              identityHeaders: { "X-User-ID": "X-Auth-Request-User", "X-Email": "X-Auth-Request-Email" },
            },
          },
        },
      });
      return { team: team.url, sso: sso.url };
    };
    engine = new TestEngine({ project: "launchpad-access", stack: "access" });
    const created = await engine.up(program(password));
    assert.deepStrictEqual(created.operations.map((o) => `${o.name}:${o.op}`).sort(), ["sso:create", "team:create"]);
    const port = nginx!.httpPort;

    // Basic auth.
    assert.strictEqual((await eventually(() => get(port, "team.preview.test", "/"))).status, 401);
    assert.strictEqual((await get(port, "team.preview.test", "/", basic("alice", "wrong"))).status, 401);
    const ok = await get(port, "team.preview.test", "/x", basic("alice", password));
    assert.strictEqual(ok.status, 200);
    assert.strictEqual(JSON.parse(ok.body).path, "/x");
    assert.strictEqual((await get(port, "team.preview.test", "/", basic("bob", "bobs-password-9"))).status, 200);
    assert.strictEqual((await get(port, "team.preview.test", "/healthz")).status, 200, "the health path needs no credentials");
    const htpasswd = fs.readFileSync(`${nginx!.confDir}/auth/team.preview.test.htpasswd`, "utf8");
    assert.match(htpasswd, /^alice:\$6\$[^\n]+\nbob:\$6\$[^\n]+\n$/, "the htpasswd file holds SHA-512-crypt hashes only");
    assert.ok(!htpasswd.includes(password));

    // auth_request: no session is a redirect to sign in, a session passes its identity to the app.
    const signIn = await get(port, "sso.preview.test", "/page?q=1");
    assert.strictEqual(signIn.status, 302);
    assert.strictEqual(signIn.headers.location, `https://auth.preview.test/oauth2/start?rd=http://sso.preview.test/page?q=1`);
    const spoofed = await get(port, "sso.preview.test", "/page", { cookie: "session=carol", "x-user-id": "mallory" });
    assert.strictEqual(spoofed.status, 200);
    const seen = JSON.parse(spoofed.body).headers;
    assert.strictEqual(seen["x-user-id"], "carol", "the identity comes from the auth service, not the client");
    assert.strictEqual(seen["x-email"], "carol@example.test");
    assert.strictEqual(authCalls.at(-1)!["x-original-uri"], "/page");

    const same = await engine.up(program(password));
    assert.deepStrictEqual(same.operations.map((o) => `${o.name}:${o.op}`).sort(), ["sso:same", "team:same"], "unchanged passwords are no change");
    const changed = await engine.up(program("a-new-password-11"));
    assert.deepStrictEqual(changed.operations.map((o) => `${o.name}:${o.op}`).sort(), ["sso:same", "team:update"]);
    assert.strictEqual((await get(port, "team.preview.test", "/", basic("alice", password))).status, 401);
    assert.strictEqual((await get(port, "team.preview.test", "/", basic("alice", "a-new-password-11"))).status, 200);

    // The scan: no password in clear in the state, the provider's output, or the outputs.
    const team = engine.state.find((r) => r.name === "team")!;
    assert.ok(isSecretWire(team.inputs.http), "a route with passwords keeps its http settings as a secret");
    const state = engine.stateText();
    for (const secret of [password, "a-new-password-11", "bobs-password-9"]) {
      assert.ok(!state.includes(secret), "the state holds a password in clear");
      assert.ok(!engine.hostLogs.join("\n").includes(secret), "the host output holds a password");
    }
    assert.ok(!JSON.stringify(engine.resource("team")!.plainOutputs).includes("a-new-password-11"), "outputs keep a verifier, not the password");

    await engine.destroy();
    assert.deepStrictEqual(fs.readdirSync(`${nginx!.confDir}/auth`), [], "the htpasswd file goes with the route");
    assert.strictEqual((await nginx!.test()).ok, true);
  });
});
