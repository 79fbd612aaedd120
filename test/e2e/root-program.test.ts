// The root program (Pulumi.yaml + index.ts), as `pulumi up --stack <branch>` runs it, through the
// test engine and the real dynamic-provider host, against the Proxmox sandbox, a real nginx proxy
// host over real OpenSSH, and a real PowerDNS: up, a new revision (deploy step only), a new image
// (create-before-delete, routes follow), refresh, destroy (nothing left anywhere).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lxcAvailability } from "../../sandbox/lxc";
import { isSecretWire, moduleProgram } from "../../devstack/engine";
import { requireLxc } from "../support/lxc";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { PROVIDER_CALLS } from "../../sandbox/leastPrivilege";
import { aclEntries, ciToken, DOMAIN, getThroughProxy, leastPrivilegeRole, newEngine, ops, proxyConfig, routeFile, routeFiles, served, startWorld, stopWorld, type World } from "../../devstack/world";

const BRANCH = "feature/E2E-Root";
const NAME = "acme-shop-feature-e2e-root";
const FQDN = `${NAME}.${DOMAIN}`;
const program = moduleProgram(path.join(__dirname, "..", "..", "index.ts"));

/** The config a CI job sets: everything as `preview:*` and `launchpad:*` keys. */
function stackConfig(world: World, image: string, revision: string, deploy: Record<string, unknown>, container: Record<string, unknown> = {}) {
  // The memory backend runs no sshd behind the SSH route: it cannot wait for a banner there.
  const ssh = world.sandbox.backendKind === "memory" ? { timeoutSeconds: 0 } : true;
  return {
    "preview:branch": BRANCH,
    "preview:repository": "acme/shop",
    "preview:image": image,
    "preview:domain": DOMAIN,
    "preview:container": JSON.stringify({ memory: 256, ...container }),
    "preview:services": JSON.stringify({ http: 8080, tcp: { db: 5432 }, ssh }),
    "preview:proxy": JSON.stringify(proxyConfig(world)),
    "preview:dns": JSON.stringify({ kind: "self-hosted", server: { kind: "powerdns", url: world.pdns.apiUrl, allowPlainHttp: true } }),
    "preview:deploy": JSON.stringify(deploy),
    "preview:revision": revision,
    "preview:owner": "alice@pve",
  };
}

function upstreamOf(conf: string): string[] {
  return [...conf.matchAll(/proxy_pass\s+(?:https?:\/\/)?([\d.]+):\d+/g)].map((m) => m[1]);
}

describe("root program (index.ts) end to end, memory sandbox", function () {
  this.timeout(600_000);
  let world: World | undefined;
  let standIn: TestSshd | undefined;
  let work: string;

  before(async function () {
    world = await startWorld(this, "memory");
    // The memory backend runs no container: a real sshd stands in for it as the deploy target.
    standIn = await startSshd(this);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-root-e2e-"));
  });
  after(async () => {
    await stopWorld(world);
    await standIn?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("up, new revision, new image, refresh, destroy, with a token holding only the README's role", async () => {
    const w = world!;
    const apiToken = await ciToken(w, "CI", await leastPrivilegeRole(w));
    const tokenid = apiToken.split("=")[0];
    const deploy = { commands: [`echo "deployed $REVISION on $(hostname)" >> ${work}/deploys.log`], env: { REVISION: "see preview:revision" }, via: "direct", address: standIn!.host, port: standIn!.port, user: standIn!.user };
    const config = (image: string, revision: string) => stackConfig(w, image, revision, { ...deploy, env: { REVISION: revision } });
    const secretConfig = { "preview:proxyPrivateKey": w.proxySshd.privateKey, "preview:dnsSecret": w.pdns.apiKey, "preview:deployPrivateKey": standIn!.privateKey };
    const engineFor = (image: string, revision: string) =>
      newEngine(w, { project: "pulumi-launchpad-preview", stack: "feature-e2e-root", stateFile, config: config(image, revision), secretConfig, apiToken });
    const stateFile = path.join(work, "state.json");
    const deploys = () => fs.readFileSync(path.join(work, "deploys.log"), "utf8").trim().split("\n");

    // 1. up
    const up = await engineFor("ghcr.io/acme/shop:1", "aaa111").up(program);
    const created = ops(up);
    for (const child of ["preview-container", "preview-http", "preview-tcp-db", "preview-ssh", "preview-dns", "preview-deploy", "preview-owner"]) {
      assert.strictEqual(created[child], "create", `${child} is created`);
    }
    assert.strictEqual(up.outputs.name, NAME);
    assert.strictEqual(up.outputs.url, `https://${FQDN}:${w.nginx.httpsPort}`, "the proxy's HTTPS port is not 443 here");
    assert.strictEqual(up.outputs.hostname, NAME);
    const ports = up.outputs.ports as Record<string, number>;
    assert.strictEqual(up.outputs.sshCommand, `ssh -p ${ports.ssh} root@127.0.0.1`);
    assert.ok(ports.db >= w.portRange.from && ports.db <= w.portRange.to);
    const [container] = w.sandbox.containers();
    assert.strictEqual(w.sandbox.containers().length, 1);
    assert.strictEqual(up.outputs.vmid, container.vmid);
    assert.strictEqual(up.outputs.node, container.node);
    const firstIp = up.outputs.ipv4 as string;
    assert.match(firstIp, /^\d+\.\d+\.\d+\.\d+$/);
    assert.deepStrictEqual(routeFiles(w).http, [`${FQDN}.conf`]);
    assert.strictEqual(routeFiles(w).stream.length, 2);
    assert.deepStrictEqual(upstreamOf(routeFile(w, "http", `${FQDN}.conf`)), [firstIp]);
    assert.deepStrictEqual(await served(w, FQDN), ["127.0.0.1"]);
    assert.ok((await aclEntries(w)).some((e) => e.path === `/vms/${container.vmid}` && e.roleid === "PVEVMUser" && e.ugid === "alice@pve"));
    assert.deepStrictEqual(deploys(), ["deployed aaa111 on " + os.hostname()]);
    const text = fs.readFileSync(stateFile, "utf8");
    for (const secret of [apiToken.split("=")[1], w.pdns.apiKey, w.proxySshd.privateKey.split("\n")[1], standIn!.privateKey.split("\n")[1]]) {
      assert.ok(!text.includes(secret), "no secret in the state file");
    }

    // 2. a new revision: only the deploy step runs, nothing is replaced.
    const revised = ops(await engineFor("ghcr.io/acme/shop:1", "bbb222").up(program));
    assert.strictEqual(revised["preview-deploy"], "update");
    for (const child of ["preview-container", "preview-http", "preview-tcp-db", "preview-ssh", "preview-dns", "preview-owner"]) {
      assert.strictEqual(revised[child], "same", `${child} stays as it is`);
    }
    assert.strictEqual(deploys().length, 2);
    assert.strictEqual(w.sandbox.containers()[0].vmid, container.vmid);

    // 3. a new image: the container is replaced create-before-delete and the routes follow it.
    w.sandbox.resetRequests();
    const imaged = await engineFor("ghcr.io/acme/shop:2", "ccc333").up(program);
    const replaced = ops(imaged);
    assert.strictEqual(replaced["preview-container"], "replace");
    for (const route of ["preview-http", "preview-tcp-db", "preview-ssh"]) assert.strictEqual(replaced[route], "update", `${route} follows`);
    assert.strictEqual(replaced["preview-owner"], "replace", "the permission moves to the new VMID");
    const creates = w.sandbox.requests.findIndex((r) => r.method === "POST" && /\/lxc$/.test(r.path));
    const deletes = w.sandbox.requests.findIndex((r) => r.method === "DELETE" && new RegExp(`/lxc/${container.vmid}$`).test(r.path));
    assert.ok(creates >= 0 && deletes > creates, "the new container was created before the old one was deleted");
    assert.strictEqual(w.sandbox.containers().length, 1);
    const newIp = imaged.outputs.ipv4 as string;
    assert.notStrictEqual(imaged.outputs.vmid, container.vmid);
    assert.deepStrictEqual(upstreamOf(routeFile(w, "http", `${FQDN}.conf`)), [newIp]);
    for (const file of routeFiles(w).stream) assert.deepStrictEqual(upstreamOf(routeFile(w, "stream", file)), [newIp]);
    assert.ok((await aclEntries(w)).some((e) => e.path === `/vms/${imaged.outputs.vmid}`));
    assert.ok(!(await aclEntries(w)).some((e) => e.path === `/vms/${container.vmid}`), "the old permission is gone");
    assert.strictEqual(deploys().length, 3, "a new container gets a new deployment");

    // 4. refresh: nothing drifted.
    const engine = engineFor("ghcr.io/acme/shop:2", "ccc333");
    const refreshed = ops(await engine.refresh());
    for (const [name, op] of Object.entries(refreshed)) assert.strictEqual(op, "same", `${name} after refresh`);
    assert.ok(isSecretWire(engine.resource("preview-deploy")!.outputs.privateKey));

    // 5. destroy: nothing left on the sandbox, the proxy host or the DNS server. The owner's ACL is
    // removed by the provider before the container goes (PVE would drop it with the container too).
    w.sandbox.resetRequests();
    await engine.destroy();
    const aclDelete = w.sandbox.requests.findIndex((r) => r.method === "PUT" && r.path === "/access/acl" && String(r.params.delete) !== "undefined" && r.status === 200);
    const ctDelete = w.sandbox.requests.findIndex((r) => r.method === "DELETE" && /\/lxc\/\d+$/.test(r.path));
    assert.ok(aclDelete >= 0 && ctDelete > aclDelete, "the provider removed the owner ACL itself, before destroying the container");
    assert.deepStrictEqual(w.sandbox.containers(), []);
    assert.deepStrictEqual(routeFiles(w), { http: [], stream: [] });
    assert.deepStrictEqual(await served(w, FQDN), []);
    assert.ok(!(await aclEntries(w)).some((e) => e.ugid === "alice@pve"));
    assert.deepStrictEqual(engine.state.filter((r) => r.custom), []);
    const calls = new Set(w.sandbox.requests.filter((r) => r.user === tokenid && r.template).map((r) => `${r.method} ${r.template}`));
    for (const call of calls) assert.ok(PROVIDER_CALLS.includes(call), `${call} is missing from PROVIDER_CALLS (sandbox/leastPrivilege.ts): the README's role would not cover it`);
  });

  it("the same run with one privilege taken from the role fails with a 403 naming it, and never retries it", async () => {
    const w = world!;
    const privileges = await leastPrivilegeRole(w);
    const apiToken = await ciToken(w, "Short", privileges);
    const deploy = { commands: ["true"], via: "direct", address: standIn!.host, port: standIn!.port, user: standIn!.user };
    const engine = newEngine(w, {
      project: "pulumi-launchpad-preview", stack: "feature-e2e-short", config: stackConfig(w, "ghcr.io/acme/shop:1", "ddd444", deploy),
      secretConfig: { "preview:proxyPrivateKey": w.proxySshd.privateKey, "preview:dnsSecret": w.pdns.apiKey, "preview:deployPrivateKey": standIn!.privateKey },
      apiToken,
    });
    await engine.up(program);
    const [container] = w.sandbox.containers();
    // Take VM.Allocate away: the owner ACL can no longer be removed, nor the container destroyed.
    await w.client.put("/access/roles/LaunchpadShort", { privs: privileges.filter((priv) => priv !== "VM.Allocate").join(",") });
    w.sandbox.resetRequests();
    await assert.rejects(engine.destroy(), new RegExp(`403 Permission check failed \\(/vms/${container.vmid}, Permissions\\.Modify\\|VM\\.Allocate\\) - the credentials lack Permissions\\.Modify or VM\\.Allocate on /vms/${container.vmid}`));
    const refused = w.sandbox.requests.filter((r) => r.status === 403);
    assert.deepStrictEqual(refused.map((r) => `${r.method} ${r.path}`), ["PUT /access/acl"], "refused once, not retried");
    assert.strictEqual(w.sandbox.containers().length, 1, "nothing destroyed behind the refusal");
    await w.client.put("/access/roles/LaunchpadShort", { privs: privileges.join(",") });
    await engine.destroy();
    assert.deepStrictEqual(w.sandbox.containers(), []);
  });

  it("stops bad config before anything exists, naming the field", async () => {
    const w = world!;
    const before = w.sandbox.containers().length;
    const engine = newEngine(w, {
      project: "pulumi-launchpad-preview", stack: "bad",
      config: { "preview:image": "nginx", "preview:template": "local:vztmpl/x.tar.zst", "preview:services": JSON.stringify({ http: 80 }) },
    });
    await assert.rejects(engine.up(program), /Only one of `image`, `template` and `clone` can be given.*domain: is required/s);
    assert.strictEqual(w.sandbox.containers().length, before);
    assert.deepStrictEqual(engine.state.filter((r) => r.custom), []);
  });
});

describe("root program (index.ts) end to end, LXC sandbox (real containers)", function () {
  this.timeout(900_000);
  let world: World | undefined;
  let work: string;

  before(async function () {
    requireLxc(this);
    world = await startWorld(this, "lxc");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-root-lxc-"));
  });
  after(async () => {
    await stopWorld(world);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("deploys into the real container through the proxy host, serves it at its URL, and follows a new image, with a token holding only the README's role", async function () {
    if (!lxcAvailability().ok) this.skip();
    const w = world!;
    const stateFile = path.join(work, "state.json");
    // The system image boots its own init and sshd (an entrypoint would replace them, as on a node): the
    // deploy step writes the revision to /srv and starts a file server there once, over SSH through the proxy host.
    const server = `require("http").createServer((q, s) => require("fs").readFile("/srv" + q.url, (e, d) => { s.statusCode = e ? 404 : 200; s.end(e ? "" : d); })).listen(8080)`;
    const deploy = { commands: [
      'mkdir -p /srv && echo up > /srv/health && printf "%s" "$REVISION" > /srv/revision',
      // On a rerun the new server cannot bind and exits; the running one serves the new file.
      `setsid -f node -e '${server}' >/tmp/app.log 2>&1 </dev/null; sleep 1`,
      "hostname",
    ] };
    // CI's token, as the README sets it up: privilege-separated, holding only the derived role.
    const apiToken = await ciToken(w, "CI", await leastPrivilegeRole(w));
    const engineFor = (image: string, revision: string) => newEngine(w, {
      project: "pulumi-launchpad-preview", stack: "feature-e2e-root", stateFile,
      config: stackConfig(w, image, revision, { ...deploy, env: { REVISION: revision } }),
      secretConfig: { "preview:proxyPrivateKey": w.proxySshd.privateKey, "preview:dnsSecret": w.pdns.apiKey },
      apiToken,
    });
    const revisionServed = async (expected: string) => {
      for (let attempt = 0; ; attempt++) {
        const response = await getThroughProxy(w, FQDN, "/revision").catch((e: Error) => ({ status: 0, body: e.message }));
        if (response.status === 200) return assert.strictEqual(response.body, expected);
        if (attempt > 50) assert.fail(`https://${FQDN}/revision never answered: ${response.status} ${response.body}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    const up = await engineFor(w.images.one, "aaa111").up(program);
    assert.strictEqual(ops(up)["preview-deploy"], "create");
    await revisionServed("aaa111");
    assert.ok(w.sandbox.containers().length === 1 && w.sandbox.containers()[0].status === "running");

    const revised = ops(await engineFor(w.images.one, "bbb222").up(program));
    assert.strictEqual(revised["preview-deploy"], "update");
    assert.strictEqual(revised["preview-container"], "same");
    await revisionServed("bbb222");

    const imaged = await engineFor(w.images.two, "bbb222").up(program);
    assert.strictEqual(ops(imaged)["preview-container"], "replace");
    assert.strictEqual(ops(imaged)["preview-deploy"], "replace", "the new container is deployed to");
    assert.deepStrictEqual(upstreamOf(routeFile(w, "http", `${FQDN}.conf`)), [imaged.outputs.ipv4]);
    await revisionServed("bbb222");

    const engine = engineFor(w.images.two, "bbb222");
    const refreshedLxc = ops(await engine.refresh()); for (const [name, op] of Object.entries(refreshedLxc)) assert.strictEqual(op, "same", `${name} after refresh`);
    await engine.destroy();
    assert.deepStrictEqual(w.sandbox.containers(), []);
    assert.deepStrictEqual(routeFiles(w), { http: [], stream: [] });
    assert.deepStrictEqual(await served(w, FQDN), []);
  });
});
