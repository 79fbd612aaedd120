// Every example program, loaded by path as `pulumi up` loads it (importing "pulumi-launchpad" by
// package name, i.e. the built dist/), through the test engine against the sandbox, a real nginx
// over real OpenSSH and a real PowerDNS: up, update, refresh, destroy with nothing left behind.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { APP_IMAGE_PORT, appImage } from "../../devstack/images";
import { moduleProgram } from "../../devstack/engine";
import { requireLxc } from "../support/lxc";
import { DOMAIN, getThroughProxy, newEngine, ops, proxyConfig, routeFile, routeFiles, startWorld, stopWorld, type World } from "../../devstack/world";

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

  it("oci-app: an app image per revision behind an HTTPS route; a new image replaces the container, the route follows", async () => {
    const w = world!;
    const program = moduleProgram(path.join(EXAMPLES, "oci-app", "index.ts"));
    const stateFile = path.join(work, "oci.json");
    const fqdn = `acme-shop-feature-oci.${DOMAIN}`;
    // devstack's app image (busybox httpd as the entrypoint, no init, no sshd), one per revision.
    const image = async (revision: string) => w.registry!.push(await appImage(`${revision}\n`), revision);
    const [r1, r2] = [await image("r1"), await image("r2")];
    const engine = (reference: string) => newEngine(w, {
      project: projectOf("oci-app"), stack: "feature-oci", stateFile,
      config: {
        "preview:branch": "feature/oci", "preview:repository": "acme/shop", "preview:image": reference, "preview:domain": DOMAIN,
        "preview:port": String(APP_IMAGE_PORT), "preview:proxy": JSON.stringify(proxyConfig(w)),
      },
      secretConfig: { "preview:proxyPrivateKey": w.proxySshd.privateKey },
    });
    const servedRevision = async (expected: string) => {
      for (let attempt = 0; ; attempt++) {
        const response = await getThroughProxy(w, fqdn, "/").catch((e: Error) => ({ status: 0, body: e.message }));
        if (response.status === 200 && response.body === `${expected}\n`) return;
        if (attempt > 150) assert.fail(`https://${fqdn}/: ${response.status} ${response.body}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    const up = await engine(r1).up(program);
    assert.deepStrictEqual(ops(up), { app: "create", "app-container": "create", "app-http": "create" });
    assert.strictEqual(up.outputs.url, `https://${fqdn}:${w.nginx.httpsPort}`);
    assert.strictEqual(up.outputs.kind, "application");
    assert.deepStrictEqual(routeFiles(w), { http: [`${fqdn}.conf`], stream: [] }, "no SSH port for an app image");
    await servedRevision("r1");

    const imaged = await engine(r2).up(program);
    assert.deepStrictEqual([ops(imaged)["app-container"], ops(imaged)["app-http"]], ["replace", "update"]);
    assert.notStrictEqual(imaged.outputs.vmid, up.outputs.vmid);
    await servedRevision("r2");

    const last = engine(r2);
    for (const [name, op] of Object.entries(ops(await last.refresh()))) assert.strictEqual(op, "same", `${name} after refresh`);
    await last.destroy();
    assert.deepStrictEqual(w.sandbox.containers(), []);
    assert.deepStrictEqual(routeFiles(w), { http: [], stream: [] });
  });
});
