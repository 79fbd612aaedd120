// The images and the template the sandbox's containers run, built from Debian's packages by
// mmdebstrap and packed by umoci, and cached under CACHE_DIR keyed by a hash of the recipe: a
// second run (and every concurrent one) finds them built. Nothing of the host goes into them.
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { OciRunConfig } from "../sandbox/server/oci";

/** Root-owned and stable across runs, so CI builds once per machine. */
export const CACHE_DIR = process.env.LAUNCHPAD_IMAGE_CACHE ?? "/var/cache/pulumi-launchpad";
/** The Debian release the images are built from (the host's mirror must carry it). */
const SUITE = "bookworm";
const MIRROR = process.env.LAUNCHPAD_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
/** Bump when a recipe's meaning changes without its text changing. */
const RECIPE_VERSION = 1;
/** The file name PVE's own template has, so programs written for a real node find it as they are. */
export const STANDARD_TEMPLATE_NAME = "debian-12-standard_12.7-1_amd64.tar.zst";
/** The port the app image's HTTP server listens on. */
export const APP_IMAGE_PORT = 8080;

/** What an OCI image's config says about how to run it: the part PVE reads, as the sandbox node reads it. */
export type ImageRunConfig = OciRunConfig;

export interface BuiltImage {
  /** Short name, also the repository name in a registry. */
  name: string;
  tag: string;
  /** An OCI image layout directory holding `name:tag`. */
  layout: string;
  config: ImageRunConfig;
}

// Leaves out what a container never reads, so the layer stays small and the gzip quick.
const SLIM = [
  "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/doc/*",
  "--dpkgopt=path-exclude=/usr/share/locale/*", "--dpkgopt=path-exclude=/usr/share/info/*",
  "--dpkgopt=path-include=/usr/share/doc/*/copyright",
];

/** A Debian system with its own init, sshd and DHCP client: what PVE's standard templates are. */
const SYSTEM_PACKAGES = ["sysvinit-core", "openssh-server", "ifupdown", "isc-dhcp-client", "iproute2", "procps", "nodejs"];
const SYSTEM_HOOKS = [
  // PVE's setup writes the host keys per container (Setup.pm rewrite_ssh_host_keys): none ship.
  'rm -f "$1"/etc/ssh/ssh_host_*',
  // A container has no ttyN: keep the console getty, and halt on SIGPWR (what lxc-stop sends).
  `sed -i -e '/^[1-6]:/d' -e '/^pf::/d' -e '/^pn::/d' -e '/^po::/d' "$1"/etc/inittab && echo 'p0::powerfail:/sbin/init 0' >> "$1"/etc/inittab`,
  'printf "auto lo\\niface lo inet loopback\\n" > "$1"/etc/network/interfaces',
  'rm -f "$1"/etc/hostname "$1"/etc/resolv.conf && : > "$1"/etc/machine-id',
];

/** One rootfs tar from mmdebstrap, cached by its recipe. */
async function debianRootfs(name: string, variant: string, packages: string[], hooks: string[]): Promise<string> {
  const key = hash({ RECIPE_VERSION, SUITE, variant, packages, hooks, SLIM });
  const file = path.join(CACHE_DIR, `${name}-${key}.tar`);
  if (fs.existsSync(file)) return file;
  await cached(file, async (tmp) => {
    await run("mmdebstrap", [
      "--quiet", `--variant=${variant}`, ...(packages.length ? [`--include=${packages.join(",")}`] : []), ...SLIM,
      ...hooks.map((hook) => `--customize-hook=${hook}`), "--format=tar", SUITE, tmp, MIRROR,
    ], 20 * 60_000);
  });
  return file;
}

/** The system image: `/sbin/init` as its command, sshd, ifupdown + dhclient, and node for the demo's app. */
export async function systemImage(): Promise<BuiltImage> {
  const rootfs = await debianRootfs("system", "minbase", SYSTEM_PACKAGES, SYSTEM_HOOKS);
  return ociLayout("launchpad-system", rootfs, { Cmd: ["/sbin/init"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], StopSignal: "SIGPWR" });
}

/** The page the app image serves at `/` unless told otherwise. */
export const APP_IMAGE_PAGE = "hello from the launchpad app image\n";

/**
 * The app image: busybox's httpd in the foreground as the entrypoint, a page, and nothing else (no
 * init, no sshd, no /etc/os-release: PVE takes it for `unmanaged` and writes nothing into it).
 * `page` is what `/` serves: one image per app revision, each cached by its content.
 */
export async function appImage(page: string = APP_IMAGE_PAGE): Promise<BuiltImage> {
  // mmdebstrap's extract variant only unpacks (no hooks run): the layer is assembled from its busybox.
  const extracted = await debianRootfs("busybox", "extract", ["busybox-static"], []);
  const files = { "www/index.html": page };
  const applets = ["sh", "ps", "ls", "cat", "wget"];
  const rootfs = path.join(CACHE_DIR, `app-${hash({ extracted, files, applets })}.tar`);
  if (!fs.existsSync(rootfs)) {
    await cached(rootfs, async (tmp) => {
      const stage = `${tmp}.d`;
      try {
        fs.mkdirSync(path.join(stage, "tmp"), { recursive: true, mode: 0o1777 });
        fs.chmodSync(path.join(stage, "tmp"), 0o1777);
        await run("tar", ["-xpf", extracted, "-C", stage, "./bin/busybox"]);
        for (const [file, content] of Object.entries(files)) {
          fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
          fs.writeFileSync(path.join(stage, file), content, { mode: 0o644 });
        }
        // The applets the image itself offers, so `lxc-attach -- ps` sees only the image's own.
        for (const applet of applets) fs.symlinkSync("busybox", path.join(stage, "bin", applet));
        await run("tar", ["--numeric-owner", "--owner=0", "--group=0", "-cf", tmp, "-C", stage, "."]);
      } finally {
        fs.rmSync(stage, { recursive: true, force: true });
      }
    });
  }
  return ociLayout("launchpad-app", rootfs, {
    Entrypoint: ["/bin/busybox", "httpd", "-f", "-v", "-p", String(APP_IMAGE_PORT), "-h", "/www"],
    Env: ["PATH=/bin", "APP_FLAVOUR=busybox"],
    WorkingDir: "/www",
    // busybox httpd sets no SIGTERM handler, and the init of a PID namespace gets only the signals it
    // handles (SIGKILL aside): with the default SIGTERM every shutdown would wait out its whole timeout,
    // as on PVE (pve-container src/PVE/LXC/Create.pm makes StopSignal lxc.signal.halt). A stateless
    // file server has nothing to flush, so the image says so, as a Dockerfile's STOPSIGNAL would.
    StopSignal: "SIGKILL",
  });
}

/** The standard system template in PVE's vztmpl form: a zstd tar of the system rootfs. */
export async function standardTemplate(): Promise<string> {
  const rootfs = await debianRootfs("system", "minbase", SYSTEM_PACKAGES, SYSTEM_HOOKS);
  const file = rootfs.replace(/\.tar$/, ".tar.zst");
  if (fs.existsSync(file)) return file;
  await cached(file, (tmp) => run("zstd", ["-q", "-T0", "-3", "-f", rootfs, "-o", tmp], 10 * 60_000));
  return file;
}

/** An OCI image layout with one layer (the rootfs tar) and the run config, cached next to the tar. */
async function ociLayout(name: string, rootfsTar: string, config: ImageRunConfig): Promise<BuiltImage> {
  const layout = rootfsTar.replace(/\.tar$/, `-${hash(config)}.oci`);
  // The tag names the recipe, so a changed recipe is a new tag and never overwrites an old one in a registry.
  const image: BuiltImage = { name, tag: path.basename(layout, ".oci").replace(/^[a-z]+-/, `r${RECIPE_VERSION}-`), layout, config };
  if (fs.existsSync(layout)) return image;
  await cached(layout, async (tmp) => {
    const ref = `${tmp}:${image.tag}`;
    await run("umoci", ["init", "--layout", tmp]);
    await run("umoci", ["new", "--image", ref]);
    await run("umoci", ["raw", "add-layer", "--image", ref, rootfsTar], 10 * 60_000);
    const flags = ["--clear=config.entrypoint", "--clear=config.cmd", "--clear=config.env"];
    for (const word of config.Entrypoint ?? []) flags.push(`--config.entrypoint=${word}`);
    for (const word of config.Cmd ?? []) flags.push(`--config.cmd=${word}`);
    for (const pair of config.Env ?? []) flags.push(`--config.env=${pair}`);
    if (config.WorkingDir) flags.push(`--config.workingdir=${config.WorkingDir}`);
    if (config.User) flags.push(`--config.user=${config.User}`);
    if (config.StopSignal) flags.push(`--config.stopsignal=${config.StopSignal}`);
    await run("umoci", ["config", "--image", ref, ...flags]);
    // umoci keeps the pre-config manifest as an unreferenced blob: drop it.
    await run("umoci", ["gc", "--layout", tmp]);
  });
  return image;
}

/** Builds into a temporary sibling and renames: a crashed or concurrent build never leaves a half file. */
async function cached(target: string, build: (tmp: string) => Promise<unknown>): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
  const tmp = `${target}.tmp-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
  try {
    await build(tmp);
    if (!fs.existsSync(target)) fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function hash(value: unknown): string {
  return crypto.createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
}

function run(command: string, args: string[], timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => { clearTimeout(timer); reject(new Error(`${command}: ${error.message} (see scripts/install-system-deps.sh)`)); });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.slice(0, 3).join(" ")} ...: ${signal ?? `exit ${code}`}: ${stderr.trim()}`));
    });
  });
}
