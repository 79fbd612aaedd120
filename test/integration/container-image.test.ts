// Copying an image from a private registry (provider/container/image.ts) in-process: skopeo against a real
// docker-registry on loopback (TLS from its own CA, htpasswd auth), uploads into the in-memory sandbox. What
// the copy reads from the registry, what it uploads (once per digest), what it prunes, and how it fails.
// Relative imports on purpose: mutation testing reaches only in-process code. The resource itself, through
// the provider host on LXC, is test/host/image-credentials.test.ts.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import { promisify } from "util";
import { appImage } from "../../devstack/images";
import { startRegistry, type Registry } from "../../devstack/registry";
import { requireBinary } from "../../devstack/binaries";
import { startSandbox, type Sandbox } from "../../sandbox";
import { ProxmoxClient } from "../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../provider/retry";
import { isLaunchpadError } from "../../provider/errors";
import { vztmplContent } from "../../provider/container/cluster";
import { archiveName, remoteDigest, uploadImage } from "../../provider/container/image";

const execFileAsync = promisify(execFile);
const PASSWORD = "image-copy-pass-4b2d";
const STEM = "app_v1";

describe("private image copy (skopeo, docker-registry, sandbox upload) in-process", function () {
  this.timeout(120_000);
  let registry: Registry | undefined;
  let sandbox: Sandbox | undefined;
  let client: ProxmoxClient;
  let reference = "";
  let node = "";

  // The code's temporary directories go to a directory of this file's own: files running beside it
  // (mocha --parallel) make theirs in the shared one, and "nothing left" must mean ours.
  const sharedTmpdir = process.env.TMPDIR;
  let ownTmpdir = "";

  before(async function () {
    requireBinary(this, "skopeo", "skopeo");
    requireBinary(this, "docker-registry", "docker-registry");
    ownTmpdir = fs.mkdtempSync(`${os.tmpdir()}/launchpad-image-test-`);
    process.env.TMPDIR = ownTmpdir;
    registry = await startRegistry({ auth: { username: "ci", password: PASSWORD } });
    reference = await registry.push(await appImage(), "v1");
    sandbox = await startSandbox({ taskDurationsMs: { imgcopy: 5 } });
    client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint }, { retry: { ...DEFAULT_RETRY_POLICY, limit: 0 } });
    node = (await client.get<Array<{ node: string }>>("/nodes"))[0].node;
  });
  after(async () => {
    await client?.close();
    await sandbox?.close();
    await registry?.stop();
    if (sharedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = sharedTmpdir;
    if (ownTmpdir) fs.rmSync(ownTmpdir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sandbox!.faults.clear();
    sandbox!.resetRequests();
  });

  const credentials = (password = PASSWORD) => ({ username: "ci", password, certDir: registry!.certDir });
  /** The tag's digest as the registry serves it, asked without the provider's code. */
  const registryDigest = async () => {
    const { stdout } = await execFileAsync("skopeo", ["inspect", "--format", "{{.Digest}}", "--cert-dir", registry!.certDir, "--authfile", registry!.authFile!, `docker://${reference}`]);
    return stdout.trim();
  };
  const uploads = () => sandbox!.requests.filter((r) => r.method === "POST" && /\/storage\/local\/upload$/.test(r.path));
  const listed = async () => (await vztmplContent(client, node, "local")).map((item) => item.volid).filter((volid) => volid.includes(`/${STEM}_`)).sort();
  const ourTempDirs = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("launchpad-image-")).sort();
  const target = (lines: string[]) => ({ node, storage: "local", stem: STEM, timeoutSeconds: 60, list: () => vztmplContent(client, node, "local"), progress: (line: string) => void lines.push(line) });
  /** The same image pushed again in another manifest format: the tag now names another digest. */
  const repushAsDockerV2 = () => execFileAsync("skopeo", [
    "copy", "--quiet", "--format", "v2s2", "--src-cert-dir", registry!.certDir, "--dest-cert-dir", registry!.certDir,
    "--src-authfile", registry!.authFile!, "--dest-authfile", registry!.authFile!, `docker://${reference}`, `docker://${reference}`,
  ]);

  it("reads the tag's manifest digest as the registry computes it, leaving no auth file behind", async () => {
    const before = ourTempDirs();
    assert.equal(await remoteDigest(reference, credentials()), await registryDigest());
    assert.deepEqual(ourTempDirs(), before);
  });

  it("a wrong password: an ImageCopyError naming the reference and skopeo's reason, without the password", async () => {
    const before = ourTempDirs();
    const error = await remoteDigest(reference, credentials("wrong-pass-91c")).catch((e) => e);
    assert.equal(isLaunchpadError(error, "ERR_IMAGE_COPY"), true, String(error));
    assert.ok(error.message.startsWith(`reading the manifest of ${reference} from its registry failed: `), error.message);
    assert.match(error.message, /unauthorized|authentication required/i);
    assert.ok(!error.message.includes("wrong-pass-91c"));
    assert.equal(error.message.split("\n").length <= 3, true, "at most skopeo's last three lines");
    assert.deepEqual(ourTempDirs(), before, "the auth directory is removed after a failure too");
  });

  it("without the registry's CA: refused on TLS (verification stays on)", async () => {
    const error = await remoteDigest(reference, { username: "ci", password: PASSWORD }).catch((e) => e);
    assert.equal(isLaunchpadError(error, "ERR_IMAGE_COPY"), true, String(error));
    assert.match(error.message, /certificate|x509/i);
  });

  it("skopeo missing where `pulumi up` runs: a config error naming the Debian package", async () => {
    const path = process.env.PATH;
    process.env.PATH = fs.mkdtempSync(`${os.tmpdir()}/launchpad-empty-path-`);
    try {
      const error = await remoteDigest(reference, credentials()).catch((e) => e);
      assert.equal(isLaunchpadError(error, "ERR_CONFIG"), true, String(error));
      assert.match(error.message, /apt-get install skopeo/);
    } finally {
      fs.rmdirSync(process.env.PATH!);
      process.env.PATH = path;
    }
  });

  it("uploads the archive once per digest, with its sha256; parallel and later copies reuse it; a new digest replaces the older archive", async () => {
    const digest = await registryDigest();
    const lines: string[] = [];
    const [first, second] = await Promise.all([
      uploadImage(client, target(lines), reference, credentials()),
      uploadImage(client, target(lines), reference, credentials()),
    ]);
    const volid = `local:vztmpl/${archiveName(STEM, digest)}`;
    assert.deepEqual(first, { volid, digest, uploaded: true });
    assert.deepEqual(second, first, "the parallel copy shares the one upload");
    const [upload] = uploads();
    assert.equal(uploads().length, 1);
    assert.equal(upload.params.content, "vztmpl");
    assert.equal(upload.params["checksum-algorithm"], "sha256");
    assert.match(String(upload.params.checksum), /^[0-9a-f]{64}$/);
    assert.deepEqual(await listed(), [volid]);
    assert.ok(lines.includes(`copying ${reference} (${digest}) and uploading it to local on ${node}`), lines.join("\n"));

    lines.length = 0;
    assert.deepEqual(await uploadImage(client, target(lines), reference, credentials()), { volid, digest, uploaded: false });
    assert.equal(uploads().length, 1, "no second upload");
    assert.deepEqual(lines, [`reusing ${volid} for ${reference}`]);

    await repushAsDockerV2();
    const moved = await registryDigest();
    assert.notEqual(moved, digest);
    lines.length = 0;
    const next = await uploadImage(client, target(lines), reference, credentials());
    assert.deepEqual(next, { volid: `local:vztmpl/${archiveName(STEM, moved)}`, digest: moved, uploaded: true });
    assert.deepEqual(await listed(), [next.volid], "the older digest's archive is removed");
    assert.ok(lines.includes(`removed ${volid}: an older digest of the same tag`), lines.join("\n"));
  });

  it("an older archive that cannot be removed stays, with a warning; other stems and pulls are never touched", async () => {
    const digest = await registryDigest();
    const current = `local:vztmpl/${archiveName(STEM, digest)}`;
    // Someone else's file and an older digest of ours, uploaded as plain archives.
    const archive = fs.mkdtempSync(`${os.tmpdir()}/launchpad-test-archive-`);
    const older = archiveName(STEM, `sha256:${"1".repeat(64)}`);
    const foreign = archiveName("other_v1", `sha256:${"2".repeat(64)}`);
    try {
      for (const name of [older, foreign]) {
        fs.writeFileSync(`${archive}/${name}`, "not an image");
        const upid = await client.upload<string>(`/nodes/${node}/storage/local/upload`, { content: "vztmpl" }, { path: `${archive}/${name}`, name });
        await client.waitForTask(upid);
      }
    } finally {
      fs.rmSync(archive, { recursive: true, force: true });
    }
    // Run alone or after the test above: the current digest's archive is not there yet either way.
    if ((await listed()).includes(current)) await client.runTask("DELETE", `/nodes/${node}/storage/local/content/${encodeURIComponent(current)}`);
    sandbox!.faults.endpoint({ method: "DELETE", path: "^/nodes/[^/]+/storage/local/content/", status: 403, message: "Permission check failed (/storage/local, Datastore.Allocate)", count: 1 });
    const lines: string[] = [];
    const result = await uploadImage(client, target(lines), reference, credentials());
    assert.deepEqual(result, { volid: current, digest, uploaded: true }, "a failed prune does not fail the copy");
    assert.deepEqual(await listed(), [current, `local:vztmpl/${older}`].sort());
    assert.ok((await vztmplContent(client, node, "local")).some((item) => item.volid === `local:vztmpl/${foreign}`));
    assert.ok(lines.some((line) => line.startsWith(`warning: could not remove local:vztmpl/${older} (`) && line.includes("Datastore.Allocate") && line.endsWith("it stays until removed by hand")), lines.join("\n"));
  });

  it("an upload Proxmox refuses fails the copy with its answer, and nothing is listed", async () => {
    sandbox!.faults.endpoint({ method: "POST", path: "^/nodes/[^/]+/storage/local/upload$", status: 403, message: "Permission check failed (/storage/local, Datastore.AllocateTemplate)", count: 1 });
    const other = `${registry!.host}/app:v2`;
    await execFileAsync("skopeo", ["copy", "--quiet", "--src-cert-dir", registry!.certDir, "--dest-cert-dir", registry!.certDir,
      "--src-authfile", registry!.authFile!, "--dest-authfile", registry!.authFile!, `docker://${reference}`, `docker://${other}`]);
    const lines: string[] = [];
    const error = await uploadImage(client, { ...target(lines), stem: "app_v2" }, other, credentials()).catch((e) => e);
    assert.equal(isLaunchpadError(error, "ERR_PVE_HTTP"), true, String(error));
    assert.equal(error.status, 403);
    assert.ok(!(await vztmplContent(client, node, "local")).some((item) => item.volid.includes("app_v2_")));
  });
});
