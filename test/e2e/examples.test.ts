// Every example program, loaded by path as `pulumi up` loads it (importing "pulumi-launchpad" by
// package name, i.e. the built dist/), through the test engine against the sandbox, a real nginx
// over real OpenSSH and a real PowerDNS: up, update, refresh, destroy with nothing left behind.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { moduleProgram } from "../support/engine";
import { requireLxc } from "../support/lxc";
import { DOMAIN, getThroughProxy, newEngine, ops, proxyConfig, routeFile, routeFiles, startWorld, stopWorld, type World } from "./harness";

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
/** The project name from an example's Pulumi.yaml (its first `name:` line). */
const projectOf = (example: string) => /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(EXAMPLES, example, "Pulumi.yaml"), "utf8"))![1];

describe("examples end to end, memory sandbox", function () {
  this.timeout(600_000);
  let world: World | undefined;
  let work: string;

  before(async function () {
    world = await startWorld(this, "memory");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-examples-"));
  });
  after(async () => {
    await stopWorld(world);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("examples/ holds the programs these tests run, each with a Pulumi.yaml", () => {
    const dirs = fs.readdirSync(EXAMPLES).filter((d) => fs.statSync(path.join(EXAMPLES, d)).isDirectory()).sort();
    assert.deepStrictEqual(dirs, ["bare-container", "multi-service", "oci-app"]);
    for (const dir of dirs) {
      assert.match(projectOf(dir), /^launchpad-/);
      assert.match(fs.readFileSync(path.join(EXAMPLES, dir, "index.ts"), "utf8"), /from "pulumi-launchpad"/, `${dir} imports the package by name`);
    }
  });

  it("bare-container: one container per branch, refreshed and destroyed", async () => {
    const w = world!;
    const program = moduleProgram(path.join(EXAMPLES, "bare-container", "index.ts"));
    const config = (branch: string) => ({ "preview:branch": branch, "preview:repository": "acme/shop" });
    const stateFile = path.join(work, "bare.json");
    const engine = (branch: string) => newEngine(w, { project: projectOf("bare-container"), stack: "feature-bare", stateFile, config: config(branch) });

    const up = await engine("feature/bare").up(program);
    assert.deepStrictEqual(ops(up), { preview: "create", "preview-container": "create" });
    assert.strictEqual(up.outputs.hostname, "acme-shop-feature-bare");
    assert.strictEqual(up.outputs.sshCommand, `ssh root@${up.outputs.ipv4}`);
    assert.strictEqual(w.sandbox.containers().filter((c) => c.config.hostname === "acme-shop-feature-bare").length, 1);
    assert.deepStrictEqual(ops(await engine("feature/bare").up(program)), { preview: "same", "preview-container": "same" });

    const last = engine("feature/bare");
    for (const [name, op] of Object.entries(ops(await last.refresh()))) assert.strictEqual(op, "same", `${name} after refresh`);
    await last.destroy();
    assert.deepStrictEqual(w.sandbox.containers(), []);
  });

  it("multi-service: web and database containers, the web's env pointing at the database", async () => {
    const w = world!;
    const program = moduleProgram(path.join(EXAMPLES, "multi-service", "index.ts"));
    const stateFile = path.join(work, "multi.json");
    const engine = (image: string) => newEngine(w, {
      project: projectOf("multi-service"), stack: "feature-multi", stateFile,
      config: { "preview:branch": "feature-multi", "preview:repository": "acme/shop", "preview:image": image, "preview:domain": DOMAIN, "preview:proxy": JSON.stringify(proxyConfig(w)) },
      secretConfig: { "preview:proxyPrivateKey": w.proxySshd.privateKey },
    });
    const up = await engine("ghcr.io/acme/web:1").up(program);
    assert.strictEqual(ops(up)["db-container"], "create");
    assert.strictEqual(ops(up)["web-container"], "create");
    assert.strictEqual(ops(up)["web-http"], "create");
    const web = w.sandbox.containers().find((c) => c.config.hostname === "acme-shop-feature-multi")!;
    const db = w.sandbox.containers().find((c) => c.config.hostname === "feature-multi-db")!;
    assert.ok(web && db, "both containers exist");
    assert.ok(String(web.config.env ?? "").includes(`DATABASE_URL=postgres://postgres:preview@${up.outputs.dbAddress}:5432/app`), `web env: ${web.config.env}`);
    assert.deepStrictEqual(routeFiles(w).http, [`acme-shop-feature-multi.${DOMAIN}.conf`], "only the web is published");
    assert.ok(routeFile(w, "http", `acme-shop-feature-multi.${DOMAIN}.conf`).includes(`${up.outputs.webAddress}:8080`));

    // A new web image replaces the web only; the database and its address stay.
    const next = await engine("ghcr.io/acme/web:2").up(program);
    assert.strictEqual(ops(next)["web-container"], "replace");
    assert.strictEqual(ops(next)["db-container"], "same");
    assert.strictEqual(next.outputs.dbAddress, up.outputs.dbAddress);
    assert.ok(routeFile(w, "http", `acme-shop-feature-multi.${DOMAIN}.conf`).includes(`${next.outputs.webAddress}:8080`));

    const last = engine("ghcr.io/acme/web:2");
    for (const [name, op] of Object.entries(ops(await last.refresh()))) assert.strictEqual(op, "same", `${name} after refresh`);
    await last.destroy();
    assert.deepStrictEqual(w.sandbox.containers(), []);
    assert.deepStrictEqual(routeFiles(w), { http: [], stream: [] });
  });
});

describe("examples end to end, LXC sandbox (real containers)", function () {
  this.timeout(900_000);
  let world: World | undefined;
  let work: string;

  before(async function () {
    requireLxc(this);
    world = await startWorld(this, "lxc");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-examples-lxc-"));
  });
  after(async () => {
    await stopWorld(world);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("oci-app: HTTPS route, SSH port, deploy on every revision through the proxy host, new image replaces", async () => {
    const w = world!;
    const program = moduleProgram(path.join(EXAMPLES, "oci-app", "index.ts"));
    const stateFile = path.join(work, "oci.json");
    const fqdn = `acme-shop-feature-oci.${DOMAIN}`;
    // The deploy step writes the revision and starts a tiny server on the app's port (on a rerun
    // the new one cannot bind and exits; the running one serves the new file).
    // The system image has node, not python: a static file server in one line.
    const server = `require("http").createServer((q, s) => require("fs").readFile("/srv" + q.url, (e, d) => { s.statusCode = e ? 404 : 200; s.end(e ? "" : d); })).listen(3000)`;
    const serve = `setsid -f node -e '${server}' >/tmp/app.log 2>&1 </dev/null; sleep 1`;
    let current: ReturnType<typeof newEngine> | undefined;
    const engine = (image: string, revision: string) => (current = newEngine(w, {
      project: projectOf("oci-app"), stack: "feature-oci", stateFile,
      config: {
        "preview:branch": "feature/oci", "preview:repository": "acme/shop", "preview:image": image, "preview:domain": DOMAIN,
        "preview:proxy": JSON.stringify(proxyConfig(w)), "preview:revision": revision,
        "preview:deployCommands": JSON.stringify([`mkdir -p /srv && echo ${revision} > /srv/revision`, serve]),
      },
      secretConfig: { "preview:proxyPrivateKey": w.proxySshd.privateKey },
    }));
    const servedRevision = async (expected: string) => {
      for (let attempt = 0; ; attempt++) {
        const response = await getThroughProxy(w, fqdn, "/revision").catch((e: Error) => ({ status: 0, body: e.message }));
        if (response.status === 200 && response.body.trim() === expected) return;
        if (attempt > 50) assert.fail(`https://${fqdn}/revision: ${response.status} ${response.body}\ndeploy log:\n${current?.hostLogs.filter((l) => l.includes("[deploy")).join("\n")}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    const up = await engine(w.images.one, "r1").up(program);
    assert.strictEqual(ops(up)["app-deploy"], "create");
    assert.strictEqual(up.outputs.url, `https://${fqdn}:${w.nginx.httpsPort}`);
    assert.match(String(up.outputs.sshCommand), /^ssh -p \d+ root@127\.0\.0\.1$/);
    await servedRevision("r1");

    const revised = ops(await engine(w.images.one, "r2").up(program));
    assert.deepStrictEqual([revised["app-deploy"], revised["app-container"], revised["app-http"], revised["app-ssh"]], ["update", "same", "same", "same"]);
    await servedRevision("r2");

    const imaged = await engine(w.images.two, "r2").up(program);
    assert.deepStrictEqual([ops(imaged)["app-container"], ops(imaged)["app-http"], ops(imaged)["app-deploy"]], ["replace", "update", "replace"]);
    await servedRevision("r2");

    const last = engine(w.images.two, "r2");
    for (const [name, op] of Object.entries(ops(await last.refresh()))) assert.strictEqual(op, "same", `${name} after refresh`);
    await last.destroy();
    assert.deepStrictEqual(w.sandbox.containers(), []);
    assert.deepStrictEqual(routeFiles(w), { http: [], stream: [] });
  });
});
