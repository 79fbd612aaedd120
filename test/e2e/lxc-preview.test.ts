// The root program (index.ts) from stack config, on the LXC-backed sandbox with a real nginx proxy
// host over OpenSSH and a real PowerDNS (the demo's setup, shared): the URL answers through nginx
// from the app inside the container, SSH through the allocated port lands in it, a new revision
// redeploys in place, a new image replaces the container create-before-delete with the route
// following, and destroy leaves no container, route or record.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TestEngineRunner } from "../../devstack/engines";
import { DOMAIN, PreviewSettings, PreviewStack, fakeRevision, startPreviewStack } from "../../devstack/preview-stack";
import { requireLxc } from "../support/lxc";

const BRANCH = "feature/LXC-e2e";

function lxcNames(lxcPath: string, prefix: string): string[] {
  return execFileSync("lxc-ls", ["-P", lxcPath, "-1"], { encoding: "utf8" }).split(/\s+/).filter((name) => name.startsWith(prefix));
}

function routeFiles(confDir: string): string[] {
  return ["http", "stream"].flatMap((kind) => fs.readdirSync(path.join(confDir, kind)).filter((f) => f.endsWith(".conf") && !f.startsWith("_")).map((f) => path.join(confDir, kind, f)));
}

describe("e2e: the root program's preview on real LXC containers", function () {
  // A replace pulls, extracts and boots a real system image: minutes on a loaded 2-core machine.
  this.timeout(900_000);
  let stack: PreviewStack | undefined;
  let runner: TestEngineRunner | undefined;
  const progress: string[] = [];
  let settings: PreviewSettings;
  let outputs: Record<string, unknown> = {};

  before(async function () {
    // Skips locally without root/LXC; fails under CI=true, which runs as root with lxc installed.
    requireLxc(this);
    stack = await startPreviewStack({ backend: "lxc", context: this, log: (line) => progress.push(line) });
    assert.equal(stack.backend, "lxc", progress.join("\n"));
    runner = new TestEngineRunner(stack, "feature-lxc-e2e", (line) => progress.push(line));
    // The system image from the local registry: its own init and sshd, so the deploy step and the SSH port work as on a node.
    settings = { branch: BRANCH, revision: fakeRevision(), image: stack.images.system };
  });

  after(async function () {
    // A failed test still destroys what it made; the stack's close removes any container left anyway.
    if (runner && stack && stack.sandbox.containers().length > 0) await runner.destroy().catch(() => undefined);
    await runner?.close();
    await stack?.close();
  });

  const lxcPrefix = () => `${stack!.lxc!.namePrefix}${stack!.lxc!.runId}-`;
  const ops = () => Object.fromEntries(runner!.lastRun!.operations.map((o) => [o.name, o.op]));
  const up = async (next: PreviewSettings) => {
    settings = next;
    outputs = await runner!.up(stack!.stackConfig(next));
    return outputs;
  };
  const sshPort = () => (outputs.ports as Record<string, number>).ssh;

  it("up: the URL answers through nginx from the app in the container, SSH through the allocated port lands in it, DNS names the proxy", async () => {
    await up(settings);
    const name = String(outputs.name);
    assert.equal(outputs.url, `https://${name}.${DOMAIN}:${stack!.nginx.httpsPort}`);
    assert.equal(outputs.sshCommand, `ssh -p ${sshPort()} root@127.0.0.1`);
    const ipv4 = String(outputs.ipv4);
    assert.match(ipv4, /^10\.213\.\d+\.\d+$/, "an address on the sandbox's bridge");

    const [container] = stack!.sandbox.containers();
    assert.equal(stack!.sandbox.containers().length, 1);
    assert.deepEqual(lxcNames(stack!.lxc!.lxcPath, lxcPrefix()), [stack!.lxc!.containerName(container.vmid)], "one real LXC container");

    const page = await stack!.fetch(String(outputs.url));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.body, `hello from ${outputs.hostname} (${ipv4}), revision ${settings.revision}\n`);

    const hostKey = await runner!.deployHostKey();
    assert.match(String(hostKey), /^SHA256:/);
    const answer = await stack!.ssh(sshPort(), "hostname; cat /opt/app/app.pid");
    assert.equal(answer.code, 0, answer.stderr);
    assert.equal(answer.stdout.split("\n")[0], outputs.hostname);
    assert.equal(answer.hostKey, hostKey, "the container behind the port is the one the deploy step pinned");

    const record = await stack!.pdns.query(`${name}.${DOMAIN}`, "A");
    assert.deepEqual(record.answers.map((a) => (a as { data?: unknown }).data), ["127.0.0.1"]);
  });

  it("a new revision reruns the deploy step in the same container: deployment update, container same, new content", async () => {
    const before = { vmid: outputs.vmid, hostKey: await runner!.deployHostKey(), pid: (await stack!.ssh(sshPort(), "cat /opt/app/app.pid")).stdout.trim() };
    await up({ ...settings, revision: fakeRevision() });
    const operations = ops();
    assert.equal(operations["preview-deploy"], "update", JSON.stringify(operations));
    assert.equal(operations["preview-container"], "same", JSON.stringify(operations));
    assert.equal(operations["preview-http"], "same", JSON.stringify(operations));
    assert.equal(outputs.vmid, before.vmid);
    assert.equal(outputs.deployedRevision, settings.revision);

    const page = await stack!.fetch(String(outputs.url));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.body, `hello from ${outputs.hostname} (${outputs.ipv4}), revision ${settings.revision}\n`);
    const after = await stack!.ssh(sshPort(), "cat /opt/app/app.pid", before.hostKey);
    assert.notEqual(after.stdout.trim(), before.pid, "the app was restarted");
  });

  it("a new image replaces the container create-before-delete; the routes follow the new address and the URL answers from it", async () => {
    const old = { vmid: Number(outputs.vmid), ipv4: String(outputs.ipv4), hostKey: await runner!.deployHostKey() };
    const oldName = stack!.lxc!.containerName(old.vmid);
    stack!.sandbox.resetRequests();
    // A new tag per push, as CI pushes a new image per revision.
    await up({ ...settings, image: await stack!.pushSystemImage("second") });
    const operations = ops();
    assert.equal(operations["preview-container"], "replace", JSON.stringify(operations));
    assert.equal(operations["preview-deploy"], "replace", JSON.stringify(operations));
    assert.equal(operations["preview-http"], "update", JSON.stringify(operations));
    const vmid = Number(outputs.vmid);
    assert.notEqual(vmid, old.vmid);

    // Create-before-delete: the new container was created (and started) before the old one was deleted.
    const requests = stack!.sandbox.requests;
    const created = requests.findIndex((r) => r.method === "POST" && r.path.endsWith("/lxc") && Number(r.params.vmid) === vmid);
    const deleted = requests.findIndex((r) => r.method === "DELETE" && r.path.endsWith(`/lxc/${old.vmid}`));
    assert.ok(created >= 0 && deleted > created, `create of ${vmid} at ${created}, delete of ${old.vmid} at ${deleted}`);

    assert.deepEqual(lxcNames(stack!.lxc!.lxcPath, lxcPrefix()), [stack!.lxc!.containerName(vmid)], `${oldName} is gone, the new one runs`);
    assert.deepEqual(stack!.sandbox.containers().map((c) => c.vmid), [vmid]);

    const ipv4 = String(outputs.ipv4);
    const routes = routeFiles(stack!.nginx.confDir);
    assert.equal(routes.length, 2);
    for (const file of routes) {
      const text = fs.readFileSync(file, "utf8");
      assert.ok(text.includes(ipv4), `${file} points at ${ipv4}:\n${text}`);
      if (ipv4 !== old.ipv4) assert.ok(!text.includes(`${old.ipv4}:`), `${file} no longer points at ${old.ipv4}`);
    }

    const page = await stack!.fetch(String(outputs.url));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.body, `hello from ${outputs.hostname} (${ipv4}), revision ${settings.revision}\n`);
    const newHostKey = await runner!.deployHostKey();
    assert.notEqual(newHostKey, old.hostKey, "a new container has a new host key");
    const answer = await stack!.ssh(sshPort(), "hostname", newHostKey);
    assert.equal(answer.stdout.trim(), outputs.hostname);
  });

  it("destroy leaves no LXC container, route file or DNS record", async () => {
    const name = String(outputs.name);
    await runner!.destroy();
    assert.ok(runner!.lastRun!.operations.every((o) => o.op === "delete"));
    assert.deepEqual(lxcNames(stack!.lxc!.lxcPath, lxcPrefix()), []);
    assert.deepEqual(stack!.sandbox.containers(), []);
    assert.deepEqual(routeFiles(stack!.nginx.confDir), []);
    assert.deepEqual(await stack!.leftovers(), { containers: 0, routes: 0, records: 0, challenges: 0, certificates: 0 });
    const record = await stack!.pdns.query(`${name}.${DOMAIN}`, "A");
    assert.deepEqual(record.answers, []);
    const refused = await stack!.fetch(`https://${name}.${DOMAIN}:${stack!.nginx.httpsPort}/`, 0);
    assert.equal(refused.status, 404, "the proxy's catch-all answers for a name it no longer routes");
  });
});
