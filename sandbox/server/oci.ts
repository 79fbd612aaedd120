// The node's side of OCI images: pulling with skopeo as PVE's oci_registry_pull does
// (pve-storage src/PVE/API2/Storage/Status.pm), telling an OCI archive from a template
// (Create.pm archive_is_oci_format) and reading the image config PVE maps into the container config.
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import { promisify } from "util";
import type { RegistryTrust } from "../backend";

const execFileAsync = promisify(execFile);
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The part of an OCI image config that PVE reads (Create.pm restore_oci_archive). */
export interface OciRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

/**
 * `skopeo copy docker://REF oci-archive:TMP`, then rename to `target`, as the node does. Each line
 * skopeo prints goes to `log`; a failed copy throws run_command's message, which becomes the task's exitstatus.
 */
export async function skopeoPull(reference: string, target: string, trust: RegistryTrust, log: (line: string) => void): Promise<void> {
  const tmp = `${target}.tmp.${process.pid}`;
  const args = ["copy"];
  if (trust.certDir) args.push("--src-cert-dir", trust.certDir);
  if (trust.authFile) args.push("--src-authfile", trust.authFile);
  args.push(`docker://${reference}`, `oci-archive:${tmp}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn("skopeo", args, { stdio: ["ignore", "pipe", "pipe"] });
      const lines = (chunk: string) => {
        for (const line of chunk.split("\n").map((entry) => entry.trimEnd()).filter(Boolean)) {
          log(line);
        }
      };
      child.stdout.setEncoding("utf8").on("data", lines);
      child.stderr.setEncoding("utf8").on("data", lines);
      child.on("error", (error) => reject(new Error(`Install 'skopeo' to pull OCI images from registries. (${error.message})`)));
      child.on("exit", (code, signal) => {
        if (code === 0) resolve();
        // PVE's run_command dies with "command '...' failed: exit code N"; skopeo's own reason is in the log above it.
        else reject(new Error(`command 'skopeo copy docker://${reference} oci-archive:${tmp}' failed: ${signal ? `got signal ${signal}` : `exit code ${code}`}`));
      });
    });
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

async function tarMember(archive: string, member: string): Promise<string> {
  const { stdout } = await execFileAsync("tar", ["-xOf", archive, member], { maxBuffer: MAX_CONFIG_BYTES, encoding: "utf8" });
  return stdout;
}

/** Create.pm archive_is_oci_format: a tar with `oci-layout`, `index.json` and `blobs/` at its top. */
export async function isOciArchive(archive: string): Promise<boolean> {
  if (!/\.tar$/.test(archive)) return false;
  try {
    const { stdout } = await execFileAsync("tar", ["-tf", archive], { maxBuffer: 16 * 1024 * 1024, encoding: "utf8" });
    const names = new Set(stdout.split("\n").map((name) => name.replace(/^\.\//, "").replace(/\/$/, "")));
    return names.has("oci-layout") && names.has("index.json") && [...names].some((name) => name.startsWith("blobs"));
  } catch {
    return false;
  }
}

export interface OciImageFiles {
  config: OciRunConfig;
  /** Layer blob paths inside the archive, lowest first. */
  layers: string[];
}

/** The first manifest's layers and run config (linux/amd64 when the index lists several). */
export async function readOciArchive(archive: string): Promise<OciImageFiles> {
  const blob = (digest: string) => `blobs/${digest.replace(":", "/")}`;
  const index = JSON.parse(await tarMember(archive, "index.json")) as { manifests?: Array<{ digest: string; mediaType?: string; platform?: { architecture?: string } }> };
  let entry = index.manifests?.find((manifest) => !manifest.platform || manifest.platform.architecture === "amd64");
  if (!entry) throw new Error("OCI archive: index.json lists no amd64 manifest");
  let manifest = JSON.parse(await tarMember(archive, blob(entry.digest))) as {
    manifests?: typeof index.manifests; config?: { digest: string }; layers?: Array<{ digest: string }>;
  };
  if (manifest.manifests) {
    entry = manifest.manifests.find((candidate) => candidate.platform?.architecture === "amd64");
    if (!entry) throw new Error("OCI archive: the image index lists no amd64 manifest");
    manifest = JSON.parse(await tarMember(archive, blob(entry.digest)));
  }
  if (!manifest.config) throw new Error("OCI archive: the manifest has no config");
  const config = JSON.parse(await tarMember(archive, blob(manifest.config.digest))) as { config?: OciRunConfig };
  return { config: config.config ?? {}, layers: (manifest.layers ?? []).map((layer) => blob(layer.digest)) };
}

/** The manifest digest an OCI archive's index.json names first, or undefined when it is no OCI archive. */
export async function ociArchiveDigest(archive: string): Promise<string | undefined> {
  try {
    const index = JSON.parse(await tarMember(archive, "index.json")) as { manifests?: Array<{ digest?: string }> };
    return index.manifests?.[0]?.digest;
  } catch {
    return undefined;
  }
}
