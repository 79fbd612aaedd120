// `pulumi-launchpad sweep` against the sandbox (LXC containers where LXC runs), a real nginx proxy
// host over OpenSSH and a real PowerDNS: two previews deployed by the root program through the real
// dynamic-provider host, one of them left behind by an `up` whose state was never saved (a killed
// run), plus a container made by hand without our tag. The sweep, run as the CLI users run, lists
// only the orphan, and with --apply removes it with its routes and record set, leaving the rest.
import * as assert from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { fakeRevision, PreviewStack, REPO_ROOT, startPreviewStack, DOMAIN } from "../../devstack/preview-stack";
import { ProxmoxClient } from "../../provider/proxmox";
import { resolveConnection } from "../../provider/proxmox/connection";
import type { SweepSummary } from "../../src/sweep/cli";
import { moduleProgram, TestEngine } from "../../devstack/engine";

// The system image (init, sshd, node) from the run's own registry: the node has no way to docker.io.
const imageOf = (stack: PreviewStack) => stack.images.system;

describe("pulumi-launchpad sweep (sandbox, nginx over OpenSSH, PowerDNS)", function () {
  this.timeout(15 * 60_000);
  let stack: PreviewStack;
  let live: TestEngine | undefined;
  let dir: string;
  let client: ProxmoxClient;
  let handmade: { node: string; vmid: number } | undefined;
  const passphrase = crypto.randomBytes(12).toString("hex");

  const engineFor = (name: string) => {
    const config = stack.stackConfig({ branch: name, revision: fakeRevision(), image: imageOf(stack) });
    return new TestEngine({
      project: stack.project, stack: name, config: config.config, secretConfig: config.secretConfig,
      env: stack.env, stateFile: path.join(dir, `${name}-engine.json`), passphrase,
    });
  };

  /** The CLI as `npx pulumi-launchpad sweep ...` runs it; the JSON line is the last of stdout. Async: the sandbox serves from this process. */
  const runSweep = async (args: string[]): Promise<{ summary: SweepSummary; stdout: string; stderr: string }> => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(REPO_ROOT, "src/sweep/cli.ts"), "sweep", ...args], {
      cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env, ...stack.env,
        PULUMI_BACKEND_URL: "",
        PROXMOX_VE_ENDPOINT: stack.sandbox.endpoint,
        PROXMOX_VE_API_TOKEN: stack.sandbox.apiToken,
        PROXMOX_VE_FINGERPRINT: stack.sandbox.fingerprint,
        LAUNCHPAD_PROXY_PRIVATE_KEY: stack.sshd.privateKey,
        LAUNCHPAD_DNS_SECRET: stack.pdns.apiKey,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.strictEqual(code, 0, `sweep exited ${code}:\n${stdout}\n${stderr}`);
    const lines = stdout.trim().split("\n");
    return { summary: JSON.parse(lines[lines.length - 1]), stdout, stderr };
  };

  const routeFiles = () => ["http", "stream"].flatMap((kind) =>
    fs.readdirSync(path.join(stack.nginx.confDir, kind)).filter((f) => f.endsWith(".conf") && !f.startsWith("_")).map((f) => `${kind}/${f}`)).sort();
  const recordNames = async () => {
    const zone = (await stack.pdns.api("GET", `/zones/${DOMAIN}.`)) as { rrsets: Array<{ name: string; type: string }> };
    return zone.rrsets.filter((r) => r.type !== "SOA" && r.type !== "NS").map((r) => `${r.name} ${r.type}`).sort();
  };
  const vmids = () => stack.sandbox.containers().map((c) => c.vmid).sort();

  before(async function () {
    stack = await startPreviewStack({ backend: "lxc", context: this, log: () => undefined });
    // Locally the logic runs on the in-memory sandbox when LXC cannot; CI runs it on LXC.
    if (stack.backend !== "lxc" && process.env.CI === "true") throw new Error("the sweep test runs on LXC under CI=true, and LXC is unavailable");
    console.log(`      sandbox backend: ${stack.backend}`);
    dir = fs.mkdtempSync(path.join(stack.run.dir, "sweep-"));
    client = new ProxmoxClient(resolveConnection({ override: { endpoint: stack.sandbox.endpoint, apiToken: stack.sandbox.apiToken, fingerprint: stack.sandbox.fingerprint } }));
  });

  after(async () => {
    if (live) await live.destroy().catch(() => undefined).finally(() => live!.close());
    if (handmade) await client.runTask("DELETE", `/nodes/${handmade.node}/lxc/${handmade.vmid}`, { purge: 1 }, { idempotent: true }).catch(() => undefined);
    await client?.close();
    await stack?.close();
  });

  it("lists only the orphan, then removes it with its routes and DNS record; a live preview and an untagged container stay", async () => {
    // The live preview: deployed, and tracked by its stack's checkpoint in a file backend.
    live = engineFor("live");
    await live.up(moduleProgram(path.join(REPO_ROOT, "index.ts")));
    const liveContainer = live.resource("preview-container")!.plainOutputs as { vmid: number; node: string; identityTag: string; ostemplate: string; storage?: string };
    const backend = path.join(dir, "backend");
    fs.mkdirSync(path.join(backend, ".pulumi/stacks", stack.project), { recursive: true });
    fs.writeFileSync(path.join(backend, ".pulumi/stacks", stack.project, "live.json"), JSON.stringify({
      version: 3,
      checkpoint: { stack: `organization/${stack.project}/live`, latest: { resources: live.state.map((r) => ({ urn: r.urn, type: r.type, id: r.id, outputs: { identityTag: (r.outputs as { identityTag?: string }).identityTag } })) } },
    }));

    // The orphan: a complete `up` whose checkpoint was never written (the run was killed).
    const orphanEngine = engineFor("orphan");
    try {
      await orphanEngine.up(moduleProgram(path.join(REPO_ROOT, "index.ts")));
    } finally {
      await orphanEngine.close();
    }
    const orphan = orphanEngine.resource("preview-container")!.plainOutputs as { vmid: number; ipv4: string; hostname: string };
    fs.rmSync(path.join(dir, "orphan-engine.json"), { force: true });

    // A container someone made by hand, without our tag, from the same template.
    const vmid = Number(await client.get<string | number>("/cluster/nextid"));
    handmade = { node: liveContainer.node, vmid };
    await client.runTask("POST", `/nodes/${liveContainer.node}/lxc`, { vmid, ostemplate: liveContainer.ostemplate, hostname: "handmade", ...(liveContainer.storage ? { storage: liveContainer.storage } : {}) });

    const routesBefore = routeFiles();
    const recordsBefore = await recordNames();
    assert.ok(routesBefore.length >= 4, `both previews' routes: ${routesBefore.join(", ")}`);
    assert.ok(recordsBefore.includes(`${orphan.hostname}.${DOMAIN}. A`), recordsBefore.join(", "));
    const orphanRoutes = routesBefore.filter((file) => fs.readFileSync(path.join(stack.nginx.confDir, file), "utf8").includes(`${orphan.ipv4}:`));
    assert.strictEqual(orphanRoutes.length, 2, `the orphan's https and ssh routes: ${orphanRoutes.join(", ")}`);

    const config = path.join(dir, "sweep.json");
    const proxy = JSON.parse(stack.stackConfig({ branch: "x", revision: "x", image: imageOf(stack) }).config["preview:proxy"]);
    fs.writeFileSync(config, JSON.stringify({ proxy, dns: { zone: DOMAIN, server: { kind: "powerdns", url: stack.pdns.apiUrl, allowPlainHttp: true } } }));
    const branches = path.join(dir, "branches");
    fs.writeFileSync(branches, "main\nlive\norphan\n");
    const args = ["--state", backend, "--config", config, "--branches-from", branches, "--older-than", "7d"];

    // Dry run (the default): the table and the JSON name the orphan, and nothing changes.
    const dry = await runSweep(args);
    assert.deepStrictEqual(dry.summary.remove.map((r) => [r.vmid, r.reasons]), [[orphan.vmid, ["untracked"]]]);
    assert.strictEqual(dry.summary.mode, "dry-run");
    assert.strictEqual(dry.summary.considered, 2, "the untagged container is not even considered");
    assert.match(dry.stdout, new RegExp(`^${orphan.vmid}\\s.*\\bremove\\s+untracked$`, "m"));
    assert.match(dry.stdout, new RegExp(`^${liveContainer.vmid}\\s.*\\bkeep\\b`, "m"));
    assert.deepStrictEqual(routeFiles(), routesBefore);
    assert.ok(vmids().includes(orphan.vmid));

    // --apply: the orphan, its two routes and its record set go; everything else stays.
    const applied = await runSweep([...args, "--apply"]);
    assert.deepStrictEqual(applied.summary.failed, []);
    assert.deepStrictEqual(applied.summary.removed.map((r) => [r.vmid, r.routes.length, r.records]), [[orphan.vmid, 2, [`${orphan.hostname}.${DOMAIN} A`]]]);
    assert.deepStrictEqual(vmids(), [liveContainer.vmid, vmid].sort());
    assert.deepStrictEqual(routeFiles(), routesBefore.filter((f) => !orphanRoutes.includes(f)));
    assert.deepStrictEqual(await recordNames(), recordsBefore.filter((r) => r !== `${orphan.hostname}.${DOMAIN}. A`));

    // The live preview still serves through nginx; a second sweep finds nothing.
    const url = String((live.state.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs as { url?: string } | undefined)?.url ?? "");
    if (stack.backend === "lxc" && url) assert.strictEqual((await stack.fetch(url)).status, 200);
    assert.deepStrictEqual((await runSweep([...args, "--apply"])).summary.remove, []);
  });
});
