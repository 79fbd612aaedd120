// The node's setup of a container's rootfs, as pve-container's PVE::LXC::Setup does it
// (src/PVE/LXC/Setup.pm, Setup/Base.pm, Setup/Debian.pm): the OS type from /etc/os-release, and for
// the Debian family the hostname, /etc/hosts, /etc/network/interfaces, /etc/resolv.conf, root's
// authorized_keys and fresh SSH host keys. `unmanaged` (no /etc/os-release) gets nothing written.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { BackendContainerSpec } from "../backend";
import { run } from "./exec";

/** Setup.pm's plugins: the sandbox runs the Debian family's and the unmanaged one. */
const KNOWN_OS = new Set(["alpine", "archlinux", "centos", "debian", "devuan", "fedora", "gentoo", "openeuler", "opensuse", "ubuntu", "nixos", "unmanaged"]);
const ALIASES: Record<string, string> = {
  "opensuse-leap": "opensuse", "opensuse-tumbleweed": "opensuse", "opensuse-slowroll": "opensuse", openEuler: "openeuler",
  arch: "archlinux", sles: "opensuse", rocky: "centos", almalinux: "centos",
};
const SUPPORTED = new Set(["debian", "devuan", "ubuntu", "unmanaged"]);
const BEGIN = "# --- BEGIN PVE ---";
const END = "# --- END PVE ---";

/** Setup.pm autodetect: os-release's ID, then the release files, else `unmanaged` when there is no os-release at all. */
export function detectOstype(rootfs: string): string {
  const release = readInRoot(rootfs, "etc/os-release") ?? readInRoot(rootfs, "usr/lib/os-release");
  const id = release ? /^ID=["']?([^"'\n]*)["']?$/m.exec(release)?.[1] : undefined;
  if (id && KNOWN_OS.has(id)) return id;
  if (id && ALIASES[id]) return ALIASES[id];
  if (/^DISTRIB_ID=Ubuntu$/im.test(readInRoot(rootfs, "etc/lsb-release") ?? "")) return "ubuntu";
  const fallbacks: Array<[string, string]> = [
    ["etc/debian_version", "debian"], ["etc/devuan_version", "devuan"], ["etc/SuSE-brand", "opensuse"], ["etc/fedora-release", "fedora"],
    ["etc/centos-release", "centos"], ["etc/redhat-release", "centos"], ["etc/arch-release", "archlinux"], ["etc/alpine-release", "alpine"],
    ["etc/gentoo-release", "gentoo"], ["nix/store", "nixos"], ["etc/openEuler-release", "openeuler"],
  ];
  for (const [file, type] of fallbacks) if (existsInRoot(rootfs, file)) return type;
  if (release !== undefined) throw new Error("unable to detect OS distribution");
  return "unmanaged";
}

/** The sandbox writes Debian-family setup only: any other OS type is refused with a clear error. */
export function assertSupportedOstype(ostype: string): void {
  if (!SUPPORTED.has(ostype)) throw new Error(`ostype '${ostype}' is not supported by the sandbox (it runs the setup of debian, devuan, ubuntu and unmanaged containers only)`);
}

/** Base.pm post_create_hook + Setup.pm rewrite_ssh_host_keys. */
export async function postCreate(rootfs: string, spec: BackendContainerSpec, ostype: string): Promise<void> {
  if (ostype === "unmanaged") return;
  if (spec.sshPublicKeys.length > 0) {
    ensureDir(rootfs, "root/.ssh", 0o700);
    modifyFile(rootfs, "root/.ssh/authorized_keys", spec.sshPublicKeys.map((key) => `${key.trim()}\n`).join(""), { mode: 0o700 });
  }
  preStart(rootfs, spec, ostype);
  await rewriteSshHostKeys(rootfs, spec.hostname);
}

/** Base.pm pre_start_hook: what the node rewrites on every start. */
export function preStart(rootfs: string, spec: BackendContainerSpec, ostype: string): void {
  if (ostype === "unmanaged") return;
  writeInRoot(rootfs, "fastboot", "", 0o644);
  modifyFile(rootfs, "etc/network/interfaces", renderInterfaces(spec), {});
  setHostname(rootfs, spec);
  setDns(rootfs, spec);
}

/** Debian.pm setup_network: one stanza per netN, static or dhcp, v4 and v6. */
export function renderInterfaces(spec: BackendContainerSpec): string {
  const stanzas: string[] = [];
  for (const net of spec.networks) {
    const lines: string[] = [];
    if (net.ip === "dhcp") lines.push(`iface ${net.name} inet dhcp`);
    else if (net.ip && net.ip !== "manual") {
      lines.push(`iface ${net.name} inet static`, `\taddress ${net.ip}`);
      if (net.gw) lines.push(`\tgateway ${net.gw}`);
    } else if (net.ip === "manual") lines.push(`iface ${net.name} inet manual`);
    if (net.ip6 === "dhcp") lines.push(`iface ${net.name} inet6 dhcp`);
    else if (net.ip6 === "auto") lines.push(`iface ${net.name} inet6 auto`);
    else if (net.ip6 && net.ip6 !== "manual") {
      lines.push(`iface ${net.name} inet6 static`, `\taddress ${net.ip6}`);
      if (net.gw6) lines.push(`\tgateway ${net.gw6}`);
    }
    if (lines.length > 0) stanzas.push([`auto ${net.name}`, ...lines].join("\n"));
  }
  return stanzas.join("\n\n");
}

function setHostname(rootfs: string, spec: BackendContainerSpec): void {
  const hostname = spec.hostname || "localhost";
  const short = hostname.replace(/\..*$/, "");
  // get_primary_ips: the first static IPv4 names the host in /etc/hosts, else 127.0.1.1.
  const staticIp = spec.networks.find((net) => net.ip && net.ip !== "dhcp" && net.ip !== "manual")?.ip?.split("/")[0];
  const names = hostname.includes(".")
    ? `${hostname} ${short}`
    : [...(spec.searchdomain ?? "").split(/[\s,;]+/).filter(Boolean).map((domain) => `${hostname}.${domain}`), hostname].join(" ");
  const existing = stripPveSections(readInRoot(rootfs, "etc/hosts") ?? "");
  let section = "";
  if (!/^[ \t]*127\.0\.0\.1[ \t]+/m.test(existing)) section += "127.0.0.1 localhost.localnet localhost\n";
  if (!/^[ \t]*::1[ \t]+/m.test(existing)) section += "::1 localhost.localnet localhost\n";
  section += staticIp ? `${staticIp} ${names}\n` : short !== "localhost" ? `127.0.1.1 ${names}\n` : `127.0.1.1 ${short}\n`;
  modifyFile(rootfs, "etc/hosts", section, {});
  writeInRoot(rootfs, "etc/hostname", `${short}\n`, 0o644);
}

function setDns(rootfs: string, spec: BackendContainerSpec): void {
  // lookup_dns_conf: the container's own settings, else the host's.
  let { searchdomain, nameserver } = spec;
  if (!searchdomain && !nameserver) {
    const host = (() => { try { return fs.readFileSync("/etc/resolv.conf", "utf8"); } catch { return ""; } })();
    searchdomain = /^search\s+(.+)$/m.exec(host)?.[1];
    nameserver = [...host.matchAll(/^nameserver\s+(\S+)/gm)].map((match) => match[1]).slice(0, 3).join(" ");
  }
  let data = "";
  const split = (value?: string) => (value ?? "").split(/[\s,;]+/).filter(Boolean);
  if (split(searchdomain).length) data += `search ${split(searchdomain).join(" ")}\n`;
  for (const server of split(nameserver)) data += `nameserver ${server}\n`;
  modifyFile(rootfs, "etc/resolv.conf", data, { replace: true });
}

/** Setup.pm rewrite_ssh_host_keys: made with the host's ssh-keygen in the host's /run, then written into the rootfs. */
async function rewriteSshHostKeys(rootfs: string, hostname: string): Promise<void> {
  if (!isDirInRoot(rootfs, "etc/ssh")) return;
  const comment = `root@${(hostname || "localhost").replace(/\..*$/, "")}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-hostkeys-"));
  try {
    for (const type of ["rsa", "ecdsa", "ed25519"]) {
      const file = path.join(tmp, type);
      // An RSA key takes seconds, and far more on a loaded machine: no short timeout here.
      await run(["ssh-keygen", "-q", "-f", file, "-t", type, "-N", "", "-E", "sha256", "-C", comment], { timeoutMs: 180_000 });
      writeInRoot(rootfs, `etc/ssh/ssh_host_${type}_key`, fs.readFileSync(file, "utf8"), 0o600);
      writeInRoot(rootfs, `etc/ssh/ssh_host_${type}_key.pub`, fs.readFileSync(`${file}.pub`, "utf8"), 0o644);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Base.pm ct_modify_file: our part of a file lives between BEGIN/END PVE markers; the rest is the container's. */
export function modifyFile(rootfs: string, relative: string, data: string, options: { replace?: boolean; mode?: number }): void {
  if (data && !data.endsWith("\n")) data += "\n";
  const head = `${BEGIN}\n`;
  const tail = `${END}\n`;
  const old = readInRoot(rootfs, relative);
  if (old === undefined) {
    if (data) writeInRoot(rootfs, relative, head + data + tail, options.mode ?? 0o644);
    return;
  }
  const lines = old.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const begin = lines.findIndex((line) => /^#\s*---\s*BEGIN\s*PVE\s*/.test(line));
  const end = begin < 0 ? -1 : lines.findIndex((line, index) => index > begin && /^#\s*---\s*END\s*PVE\s*/i.test(line));
  if (begin >= 0 && end >= 0) {
    lines.splice(begin, end - begin + 1, (head + data + tail).replace(/\n$/, ""));
    writeInRoot(rootfs, relative, lines.join("\n") + "\n", options.mode);
  } else if (data) {
    const content = lines.join("\n").replace(/\n$/, "");
    writeInRoot(rootfs, relative, options.replace ? head + data + tail : `${content}${content ? "\n" : ""}${head}${data}${tail}`, options.mode);
  }
}

function stripPveSections(text: string): string {
  return text.replace(/^[ \t]*# --- BEGIN PVE ---[\s\S]*?^[ \t]*# --- END PVE ---.*$/gm, "");
}

// ---- file access inside the rootfs: never through a symlink the image planted ------------------

/** The host path of `relative` in `rootfs`, refusing any symlink on the way (an image must not redirect our writes to the host). */
function inRoot(rootfs: string, relative: string): string {
  let current = rootfs;
  for (const part of relative.split("/").filter(Boolean)) {
    if (part === "..") throw new Error(`${relative}: '..' is not allowed`);
    current = path.join(current, part);
    let stat: fs.Stats;
    try { stat = fs.lstatSync(current); } catch { continue; }
    if (stat.isSymbolicLink()) throw new Error(`container setup: /${relative} goes through a symbolic link (${path.relative(rootfs, current)}); refusing to write through it`);
  }
  return current;
}

function readInRoot(rootfs: string, relative: string): string | undefined {
  try { return fs.readFileSync(inRoot(rootfs, relative), "utf8"); } catch { return undefined; }
}

function existsInRoot(rootfs: string, relative: string): boolean {
  try { return fs.existsSync(inRoot(rootfs, relative)); } catch { return false; }
}

function isDirInRoot(rootfs: string, relative: string): boolean {
  try { return fs.statSync(inRoot(rootfs, relative)).isDirectory(); } catch { return false; }
}

function ensureDir(rootfs: string, relative: string, mode: number): void {
  const dir = inRoot(rootfs, relative);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode });
}

function writeInRoot(rootfs: string, relative: string, content: string, mode?: number): void {
  const file = inRoot(rootfs, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  if (mode !== undefined) fs.chmodSync(file, mode);
}
