// Images from private registries: PVE's oci-registry-pull takes no credentials, so with credentials the
// image is copied where `pulumi up` runs (skopeo, as PVE itself does) into an OCI archive and uploaded
// to the template storage (pve-storage src/PVE/API2/Storage/Status.pm `upload`, content vztmpl), named
// by the manifest digest so that one digest is uploaded once per storage and node.
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, ImageCopyError, redact, registerSecret } from "../errors";
import type { ProxmoxClient } from "../proxmox";
import type { StorageContentItem } from "../proxmox/types";

/** Registry credentials for `image`; `certDir` is a containers-certs.d directory for a private CA. */
export interface RegistryCredentials {
  username: string;
  password: string;
  certDir?: string;
}

const SKOPEO_MISSING = "skopeo is not installed where `pulumi up` runs; it copies images from private registries. Install the Debian/Ubuntu package 'skopeo' (apt-get install skopeo)";

/** The registry host a reference names, as an auth file keys it (`docker.io` when it names none). */
export function registryHost(reference: string): string {
  const first = reference.split("/")[0];
  return reference.includes("/") && /[.:]|^localhost$/.test(first) ? first : "docker.io";
}

/** `reference` with its tag replaced by `digest` (`host/repo@sha256:...`). */
export function pinnedReference(reference: string, digest: string): string {
  const lastSlash = reference.lastIndexOf("/");
  const colon = reference.indexOf(":", lastSlash + 1);
  return `${colon === -1 ? reference : reference.slice(0, colon)}@${digest}`;
}

/** The archive's file name: the repository and tag stem, then the digest's hex. */
export function archiveName(stem: string, digest: string): string {
  return `${stem}_${digest.replace(/^sha256:/, "")}.tar`;
}

/** containers-auth.json for one registry: what `skopeo login` would write. */
export function authFileText(reference: string, credentials: RegistryCredentials): string {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
  return JSON.stringify({ auths: { [registryHost(reference)]: { auth } } });
}

/**
 * Runs `run` with a private directory (0700) holding the auth file (0600); both are gone afterwards,
 * whether `run` succeeded or not. The password is never on a command line.
 */
async function withAuthDir<T>(reference: string, credentials: RegistryCredentials, run: (dir: string, authFile: string) => Promise<T>): Promise<T> {
  registerSecret(credentials.password);
  registerSecret(Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-image-"));
  try {
    const authFile = path.join(dir, "auth.json");
    fs.writeFileSync(authFile, authFileText(reference, credentials), { mode: 0o600 });
    return await run(dir, authFile);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs skopeo; its stdout, or ImageCopyError with the last lines of its stderr (redacted). */
function skopeo(args: string[], what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("skopeo", args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err = (err + chunk).slice(-4000)));
    child.on("error", (error: NodeJS.ErrnoException) => reject(error.code === "ENOENT" ? new ConfigError(SKOPEO_MISSING) : error));
    child.on("close", (code) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const reason = err.trim().split("\n").filter(Boolean).slice(-3).join("\n") || `exit code ${code}`;
      reject(new ImageCopyError(`${what}: ${redact(reason)}`));
    });
  });
}

function trustArgs(flag: string, credentials: RegistryCredentials): string[] {
  return credentials.certDir ? [flag, credentials.certDir] : [];
}

/**
 * The digest the tag names now: one manifest request (`skopeo inspect --raw`, no config or layers),
 * hashed as the registry does. For a multi-platform image this is the index's digest.
 */
export async function remoteDigest(reference: string, credentials: RegistryCredentials): Promise<string> {
  return withAuthDir(reference, credentials, async (_dir, authFile) => {
    const raw = await skopeo(["inspect", "--raw", "--authfile", authFile, ...trustArgs("--cert-dir", credentials), `docker://${reference}`], `reading the manifest of ${reference} from its registry failed`);
    return `sha256:${createHash("sha256").update(raw).digest("hex")}`;
  });
}

function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    fs.createReadStream(file).on("error", reject).on("data", (chunk) => hash.update(chunk)).on("end", () => resolve(hash.digest("hex")));
  });
}

export interface UploadedImage {
  volid: string;
  digest: string;
  /** True when this call uploaded the archive; false when the storage already held it. */
  uploaded: boolean;
}

/** In-flight copies of this process, so that parallel resources with one digest upload it once. */
const uploadsInFlight = new Map<string, Promise<UploadedImage>>();

/**
 * The image `reference` on `storage` of `node` as a vztmpl volume: the one already there for its current
 * digest, else copied by digest (so a tag moved meanwhile cannot mix) into a temporary OCI archive,
 * uploaded with its sha256, and removed.
 */
export async function uploadImage(
  client: ProxmoxClient,
  target: { node: string; storage: string; stem: string; timeoutSeconds: number; list: () => Promise<StorageContentItem[]>; progress: (message: string) => void },
  reference: string,
  credentials: RegistryCredentials,
): Promise<UploadedImage> {
  const digest = await remoteDigest(reference, credentials);
  const name = archiveName(target.stem, digest);
  const volid = `${target.storage}:vztmpl/${name}`;
  const key = `${client.connection.endpoint}|${target.node}|${volid}`;
  let upload = uploadsInFlight.get(key);
  if (!upload) {
    upload = (async () => {
      if ((await target.list()).some((item) => item.volid === volid)) {
        target.progress(`reusing ${volid} for ${reference}`);
        return { volid, digest, uploaded: false };
      }
      target.progress(`copying ${reference} (${digest}) and uploading it to ${target.storage} on ${target.node}`);
      await withAuthDir(reference, credentials, async (dir, authFile) => {
        const archive = path.join(dir, name);
        await skopeo(
          ["copy", "--quiet", "--src-authfile", authFile, ...trustArgs("--src-cert-dir", credentials), `docker://${pinnedReference(reference, digest)}`, `oci-archive:${archive}`],
          `copying ${reference} from its registry failed`,
        );
        const checksum = await fileSha256(archive);
        const upid = await client.upload<string>(
          `/nodes/${encodeURIComponent(target.node)}/storage/${encodeURIComponent(target.storage)}/upload`,
          { content: "vztmpl", "checksum-algorithm": "sha256", checksum },
          { path: archive, name },
          { timeoutMs: target.timeoutSeconds * 1000 },
        );
        await client.waitForTask(upid, { timeoutMs: target.timeoutSeconds * 1000 });
      });
      await pruneOlder(client, target, volid);
      return { volid, digest, uploaded: true };
    })().finally(() => uploadsInFlight.delete(key));
    uploadsInFlight.set(key, upload);
  }
  return upload;
}

/**
 * The cleanup policy: one uploaded archive per repository and tag on a storage. After a new digest's
 * upload, the older digests' archives (this module's names only, never a node's pulls) are deleted;
 * containers never need their archive after create. Best effort: a token without Datastore.Allocate
 * keeps them, with a warning.
 */
async function pruneOlder(client: ProxmoxClient, target: { node: string; storage: string; stem: string; list: () => Promise<StorageContentItem[]>; progress: (message: string) => void }, keep: string): Promise<void> {
  const ours = new RegExp(`^${escapeRe(target.storage)}:vztmpl/${escapeRe(target.stem)}_[0-9a-f]{64}\\.tar$`);
  for (const item of await target.list()) {
    if (item.volid === keep || !ours.test(item.volid)) continue;
    try {
      await client.runTask("DELETE", `/nodes/${encodeURIComponent(target.node)}/storage/${encodeURIComponent(target.storage)}/content/${encodeURIComponent(item.volid)}`);
      target.progress(`removed ${item.volid}: an older digest of the same tag`);
    } catch (error) {
      target.progress(`warning: could not remove ${item.volid} (${(error as Error).message}); it stays until removed by hand`);
    }
  }
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
