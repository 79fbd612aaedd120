// A LaunchpadContainer from a private image through the real dynamic-provider host, on the LXC-backed
// sandbox: the local registry (TLS, htpasswd) refuses the node's anonymous pull; with imageCredentials
// the provider copies the image with skopeo here and uploads it, once per digest; a re-pushed tag
// replaces the container. The password is looked for in the state, the provider text, the logs and `ps`.
import { strict as assert } from "assert";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import { promisify } from "util";
import { appImage, APP_IMAGE_PORT } from "../../devstack/images";
import { Registry, startRegistry } from "../../devstack/registry";
import { ProxmoxClient } from "../../provider/proxmox";
import { startSandbox, type Sandbox } from "../../sandbox";
import { DEFAULT_LXC_PATH } from "../../sandbox/lxc";
import { LaunchpadContainer, type LaunchpadContainerArgs } from "../../src/container";
import { requireBinary } from "../../devstack/binaries";
import { EngineError, TestEngine } from "../../devstack/engine";
import { requireLxc } from "../support/lxc";

const execFileAsync = promisify(execFile);
const PASSWORD = "registry-pass-7f3e9c1d";
const BASE64 = Buffer.from(`ci:${PASSWORD}`).toString("base64");

describe("LaunchpadContainer from a private registry (imageCredentials) on LXC", function () {
  this.timeout(600_000);
  let sandbox: Sandbox | undefined;
  let registry: Registry | undefined;
  let reference = "";
  const engines: TestEngine[] = [];
  const psHits: string[] = [];
  let scanner: NodeJS.Timeout | undefined;
  let scans = 0;
  // The hosts' temporary directories go to one of this file's own: files running beside it (mocha
  // --parallel) make theirs in the shared one, and "no temporary file is left" must mean ours.
  const hostTmpdir = fs.mkdtempSync(`${os.tmpdir()}/launchpad-private-test-`);

  before(async function () {
    requireLxc(this);
    requireBinary(this, "skopeo", "skopeo");
    const app = await appImage();
    registry = await startRegistry({ auth: { username: "ci", password: PASSWORD } });
    reference = await registry.push(app, "v1");
    // The node trusts the registry's CA but holds no credentials for it.
    sandbox = await startSandbox({ backend: "lxc", registryTrust: { certDir: registry.certDir } });
    assert.equal(sandbox.backendKind, "lxc");
    // The process list, every 100 ms while the tests run: no command line may carry the password.
    scanner = setInterval(() => {
      execFile("ps", ["-eo", "args"], { maxBuffer: 8 * 1024 * 1024 }, (error, stdout) => {
        if (error) return;
        scans++;
        for (const line of stdout.split("\n")) if (line.includes(PASSWORD) || line.includes(BASE64)) psHits.push(line);
      });
    }, 100);
  });

  after(async () => {
    if (scanner) clearInterval(scanner);
    for (const engine of engines) {
      await engine.destroy().catch(() => undefined);
      await engine.close();
    }
    await sandbox?.close();
    await registry?.stop();
    fs.rmSync(hostTmpdir, { recursive: true, force: true });
  });

  const newEngine = (stack: string) => {
    const engine = new TestEngine({
      project: "launchpad-private", stack,
      config: { "launchpad:endpoint": sandbox!.endpoint, "launchpad:fingerprint": sandbox!.fingerprint },
      secretConfig: { "launchpad:apiToken": sandbox!.apiToken },
      env: { TMPDIR: hostTmpdir },
    });
    engines.push(engine);
    return engine;
  };
  const credentials = (password = PASSWORD) => ({ username: "ci", password, certDir: registry!.certDir });
  const program = (args: Partial<LaunchpadContainerArgs>, hostname: string) => () => {
    const ct = new LaunchpadContainer("app", { hostname, image: reference, waitForIp: false, ...args });
    return { vmid: ct.vmid, imageDigest: ct.imageDigest, ostemplate: ct.ostemplate };
  };
  const uploads = () => sandbox!.requests.filter((r) => r.method === "POST" && /\/storage\/local\/upload$/.test(r.path));
  /** The tag's manifest digest as the registry serves it, asked independently of the provider. */
  const registryDigest = async () => {
    const { stdout } = await execFileAsync("skopeo", ["inspect", "--format", "{{.Digest}}", "--cert-dir", registry!.certDir, "--authfile", registry!.authFile!, `docker://${reference}`]);
    return stdout.trim();
  };
  const sandboxGet = async <T>(apiPath: string, params?: Record<string, string>): Promise<T> => {
    const client = new ProxmoxClient({ endpoint: sandbox!.endpoint, apiToken: sandbox!.apiToken, fingerprint: sandbox!.fingerprint });
    try {
      return await client.get<T>(apiPath, params);
    } finally {
      await client.close();
    }
  };
  const failureOf = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EngineError, `expected the up to fail, got ${error}`);
    return error.failures.map((f) => f.message).join("\n");
  };

  it("without credentials the node's pull fails with the registry's refusal; wrong credentials fail the same way", async () => {
    const anonymous = await failureOf(newEngine("anonymous").up(program({}, "anon")));
    assert.match(anonymous, /unauthorized|authentication required/i, anonymous);
    assert.ok(anonymous.includes("launchpad-app"), anonymous);

    const wrong = await failureOf(newEngine("wrong").up(program({ imageCredentials: credentials("not-the-password") }, "wrong")));
    assert.match(wrong, /unauthorized|authentication required/i, wrong);
    assert.match(wrong, /(reading the manifest of|copying) .*launchpad-app:v1 from its registry failed/, wrong);
    assert.ok(!wrong.includes("not-the-password"), "the wrong password is not echoed");
    assert.equal(uploads().length, 0);
    assert.equal(sandbox!.containers().length, 0);
  });

  let firstDigest = "";
  let engine: TestEngine;

  it("with credentials: copied here, uploaded once with its checksum, the container runs the image, imageDigest is the registry's", async () => {
    engine = newEngine("private");
    const result = await engine.up(program({ imageCredentials: credentials() }, "private-app"));
    firstDigest = String(result.outputs.imageDigest);
    assert.equal(firstDigest, await registryDigest());
    assert.equal(result.outputs.ostemplate, `local:vztmpl/127.0.0.1_${registry!.host.split(":")[1]}_launchpad-app_v1_${firstDigest.slice(7)}.tar`);
    assert.equal(uploads().length, 1);
    const [container] = sandbox!.containers();
    assert.equal(container.status, "running");
    assert.equal(container.config.entrypoint, `/bin/busybox httpd -f -v -p ${APP_IMAGE_PORT} -h /www`);
    const name = execFileSync("lxc-ls", ["-P", DEFAULT_LXC_PATH, "-1"], { encoding: "utf8" }).split(/\s+/).find((n) => n.startsWith("lpsb") && n.endsWith(`-${container.vmid}`))!;
    const processes = execFileSync("lxc-attach", ["-P", DEFAULT_LXC_PATH, "-n", name, "--clear-env", "--", "/bin/ps"], { encoding: "utf8" });
    assert.match(processes.split("\n")[1], /^\s*1 +\S+ +\/bin\/busybox httpd/, processes);
    // The upload's parameters hold the checksum; the password never reached Proxmox.
    assert.equal(uploads()[0].params["checksum-algorithm"], "sha256");
    assert.ok(!JSON.stringify(sandbox!.requests).includes(PASSWORD));
  });

  it("a second stack with the same digest uploads nothing and uses the same archive", async () => {
    const second = newEngine("private-two");
    const result = await second.up(program({ imageCredentials: { username: "ci", password: PASSWORD, certDir: registry!.certDir } }, "private-two"));
    assert.equal(result.outputs.imageDigest, firstDigest);
    assert.equal(uploads().length, 1, "one upload for two containers of one digest");
    await second.destroy();
  });

  it("a re-pushed tag replaces the container at the next up, and imageDigest changes", async () => {
    // Same content, other manifest format: a new digest under the same tag.
    await execFileAsync("skopeo", ["copy", "--quiet", "--format", "v2s2", "--src-cert-dir", registry!.certDir, "--src-authfile", registry!.authFile!, "--dest-cert-dir", registry!.certDir, "--dest-authfile", registry!.authFile!, `docker://${reference}`, `docker://${reference}`]);
    const moved = await registryDigest();
    assert.notEqual(moved, firstDigest);
    const result = await engine.up(program({ imageCredentials: credentials() }, "private-app"));
    assert.deepEqual(result.operations.filter((o) => o.name === "app").map((o) => o.op), ["replace"]);
    assert.equal(result.outputs.imageDigest, moved, JSON.stringify(engine.resource("app")?.plainOutputs));
    assert.equal(uploads().length, 2);
    assert.equal(sandbox!.containers().length, 1);
    // The cleanup policy: one archive per repository and tag; the older digest's was deleted (imgdel).
    // On the node the replacement was placed on (placement spreads creates over the nodes).
    const node = String(engine.resource("app")!.plainOutputs.node);
    const listed = await sandboxGet<Array<{ volid: string }>>(`/nodes/${node}/storage/local/content`, { content: "vztmpl" });
    const archives = listed.map((item) => item.volid).filter((volid) => volid.includes("launchpad-app_v1_"));
    assert.deepEqual(archives, [String(result.outputs.ostemplate)], JSON.stringify({ listed, deletes: sandbox!.requests.filter((r) => r.method === "DELETE").map((r) => [r.path, r.status]) }));
    assert.ok(sandbox!.requests.some((r) => r.method === "DELETE" && r.path.includes(firstDigest.slice(7)) && r.status === 200));
  });

  it("the password is in no state, provider text, log or command line, and no temporary file is left", async () => {
    for (const e of engines) {
      const state = e.stateText();
      const providers = e.state.map((r) => r.provider ?? "").join("\n");
      const logs = e.hostLogs.join("\n");
      for (const [what, body] of [["state", state], ["provider text", providers], ["logs", logs]] as const) {
        assert.ok(!body.includes(PASSWORD) && !body.includes(BASE64), `${what} of ${e.stateFile} holds the password`);
      }
    }
    assert.ok(scans > 0, "the process list was scanned");
    assert.deepEqual(psHits, []);
    assert.deepEqual(fs.readdirSync(hostTmpdir), []);
  });
});
