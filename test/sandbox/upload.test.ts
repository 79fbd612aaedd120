// `POST /nodes/{node}/storage/{storage}/upload` as PVE serves it (pve-storage Status.pm upload,
// pve-http-server AnyEvent.pm file_upload_multipart), sent by the provider's streaming client.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProxmoxClient } from "../../provider/proxmox";
import { startSandbox, Sandbox } from "../../sandbox";
import { SandboxClient } from "./helpers";

const DIGEST = `sha256:${"ab".repeat(32)}`;

/** A minimal OCI archive: oci-layout, index.json naming DIGEST, a blobs directory. */
function ociArchive(dir: string, name: string): string {
  const layout = fs.mkdtempSync(path.join(dir, "layout-"));
  fs.writeFileSync(path.join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: DIGEST, size: 10 }] }));
  fs.mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
  fs.writeFileSync(path.join(layout, "blobs", "sha256", "ab".repeat(32)), crypto.randomBytes(300_000));
  const file = path.join(dir, name);
  execFileSync("tar", ["-cf", file, "-C", layout, "oci-layout", "index.json", "blobs"]);
  return file;
}

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe("sandbox upload (storage content vztmpl)", function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let client: ProxmoxClient;
  let raw: SandboxClient;
  let dir: string;
  const node = "pve1";
  const uploads = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("pveupload-"));
  // The sandbox's upload files go to a directory of this file's own: sandboxes of files running beside
  // it (mocha --parallel) receive uploads too, and "the file is gone" must mean ours.
  const sharedTmpdir = process.env.TMPDIR;
  let ownTmpdir = "";

  before(async () => {
    ownTmpdir = fs.mkdtempSync(path.join(os.tmpdir(), "upload-test-tmp-"));
    process.env.TMPDIR = ownTmpdir;
    sandbox = await startSandbox({ taskDurationsMs: { imgcopy: 20, vzcreate: 20 } });
    client = new ProxmoxClient({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint });
    raw = new SandboxClient(sandbox);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upload-test-"));
  });
  after(async () => {
    await client?.close();
    await raw?.close();
    await sandbox?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (sharedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = sharedTmpdir;
    fs.rmSync(ownTmpdir, { recursive: true, force: true });
  });

  it("takes a streamed OCI archive with its checksum: an imgcopy task, listed under content, usable as ostemplate", async () => {
    const file = ociArchive(dir, "app.tar");
    const before = uploads();
    // A name PVE normalizes: path and unsafe characters go.
    const upid = await client.upload<string>(`/nodes/${node}/storage/local/upload`, { content: "vztmpl", "checksum-algorithm": "sha256", checksum: sha256(file).toUpperCase() }, { path: file, name: "dir/my image:v1.tar" });
    assert.match(upid, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:imgcopy::root@pam!\w+:$/);
    const task = await client.waitForTask(upid);
    assert.equal(task.exitstatus, "OK");
    const log = (await client.get<Array<{ t: string }>>(`/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`)).map((line) => line.t);
    assert.ok(log.includes("calculating checksum...OK, checksum verified"), log.join("\n"));
    assert.ok(log.includes(`file size is: ${fs.statSync(file).size}`), log.join("\n"));
    const content = await client.get<Array<{ volid: string; format: string; size: number }>>(`/nodes/${node}/storage/local/content`, { content: "vztmpl" });
    const volume = content.find((item) => item.volid === "local:vztmpl/my_image_v1.tar");
    assert.ok(volume, JSON.stringify(content));
    assert.equal(volume.format, "tar");
    assert.equal(volume.size, fs.statSync(file).size);
    const create = await client.runTask("POST", `/nodes/${node}/lxc`, { vmid: 700, ostemplate: volume.volid, hostname: "from-upload", storage: "local-lvm" });
    assert.equal(create.exitstatus, "OK");
    const config = await client.get<Record<string, unknown>>(`/nodes/${node}/lxc/700/config`);
    assert.equal(config.ostype, "unmanaged", "an OCI archive makes an application container, as a pulled one does");
    assert.deepEqual(uploads(), before, "the temporary upload file is gone");
  });

  it("fails the task with PVE's wording on a checksum mismatch, and removes the temporary file", async () => {
    const file = ociArchive(dir, "bad.tar");
    const before = uploads();
    const wrong = "0".repeat(64);
    const upid = await client.upload<string>(`/nodes/${node}/storage/local/upload`, { content: "vztmpl", "checksum-algorithm": "sha256", checksum: wrong }, { path: file, name: "bad.tar" });
    await assert.rejects(client.waitForTask(upid), (error: Error & { exitstatus?: string }) => {
      assert.equal(error.exitstatus ?? "", `checksum mismatch: got '${sha256(file)}' != expect '${wrong}'`);
      return true;
    });
    const content = await client.get<Array<{ volid: string }>>(`/nodes/${node}/storage/local/content`);
    assert.ok(!content.some((item) => item.volid === "local:vztmpl/bad.tar"));
    assert.deepEqual(uploads(), before);
  });

  it("a slow node still takes the upload (its temporary file kept for the handler); a refused one leaves no temporary file", async () => {
    const file = ociArchive(dir, "slow.tar");
    const before = uploads();
    const upload = `/nodes/${node}/storage/local/upload`;
    const slow = sandbox.faults.endpoint({ method: "POST", path: "/storage/local/upload$", action: "delay", delayMs: 50, count: 1 });
    const upid = await client.upload<string>(upload, { content: "vztmpl" }, { path: file, name: "slow.tar" });
    slow();
    assert.equal((await client.waitForTask(upid)).exitstatus, "OK");
    const content = await client.get<Array<{ volid: string }>>(`/nodes/${node}/storage/local/content`, { content: "vztmpl" });
    assert.ok(content.some((item) => item.volid === "local:vztmpl/slow.tar"), JSON.stringify(content));
    assert.equal(sandbox.faults.fired.endpoint > 0, true, "the delay applied");
    sandbox.faults.endpoint({ method: "POST", path: "/storage/local/upload$", status: 500, message: "injected", count: 1 });
    await assert.rejects(client.upload<string>(upload, { content: "vztmpl" }, { path: file, name: "refused.tar" }), /injected/);
    assert.deepEqual(uploads(), before, "no temporary upload file left");
  });

  it("refuses a wrong extension (a bare .tar is allowed, .tar.foo is not) and a storage without files, as PVE does", async () => {
    const file = ociArchive(dir, "x.tar");
    const before = uploads();
    for (const name of ["x.tar.foo", "x.zip", "x.tar.zst.tar.gz.txt"]) {
      await assert.rejects(client.upload(`/nodes/${node}/storage/local/upload`, { content: "vztmpl" }, { path: file, name }), (error: Error & { status?: number; errors?: Record<string, string> }) => {
        assert.equal(error.status, 400, name);
        assert.deepEqual(error.errors, { filename: "wrong file extension" });
        return true;
      });
    }
    await assert.rejects(client.upload(`/nodes/${node}/storage/local-lvm/upload`, { content: "vztmpl" }, { path: file, name: "x.tar" }), /can't upload to storage type 'lvmthin'/);
    await assert.rejects(client.upload(`/nodes/${node}/storage/local/upload`, { content: "import" }, { path: file, name: "x.qcow2" }), /storage 'local' does not support 'import' content/);
    assert.deepEqual(uploads(), before, "refused uploads leave no temporary file");
  });

  it("answers pveproxy's 500 to a body that is not multipart, and to a tmpfilename in the query", async () => {
    const form = await raw.call("POST", `/nodes/${node}/storage/local/upload`, { content: "vztmpl", filename: "x.tar" });
    assert.equal(form.status, 500);
    assert.equal(form.body.message?.trim(), "upload 'Content-Type 'application/x-www-form-urlencoded' not implemented");
    const file = ociArchive(dir, "q.tar");
    await assert.rejects(client.upload(`/nodes/${node}/storage/local/upload?tmpfilename=/var/tmp/pveupload-00`, { content: "vztmpl" }, { path: file, name: "q.tar" }), /'tmpfilename' query parameter is not allowed for file uploads/);
  });
});
