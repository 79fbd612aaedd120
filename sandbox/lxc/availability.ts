// Whether this machine can run the LXC backend, answered synchronously with a one-line reason.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { runSync } from "./exec";

export type LxcAvailability = { ok: true } | { ok: false; reason: string };

/** Programs the backend runs, with the Debian package that has each. */
const TOOLS: Array<[string, string]> = [
  ["lxc-start", "lxc"], ["lxc-stop", "lxc"], ["lxc-info", "lxc"], ["lxc-wait", "lxc"], ["lxc-cgroup", "lxc"], ["lxc-attach", "lxc"],
  ["ip", "iproute2"], ["nsenter", "util-linux"], ["ssh-keygen", "openssh-client"], ["dnsmasq", "dnsmasq-base"],
  ["/sbin/dhclient", "isc-dhcp-client"], ["skopeo", "skopeo"], ["mmdebstrap", "mmdebstrap"], ["umoci", "umoci"], ["zstd", "zstd"],
];

/** On PATH (or sbin) and executable: looked up, not run, so a loaded machine cannot time the probe out. */
function installed(program: string): boolean {
  const dirs = program.includes("/") ? [""] : [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"];
  return dirs.some((dir) => {
    try { fs.accessSync(path.join(dir, program), fs.constants.X_OK); return true; } catch { return false; }
  });
}

export function lxcAvailability(): LxcAvailability {
  if (process.platform !== "linux") return { ok: false, reason: `LXC needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "the LXC backend needs root (privileged containers, bridges)" };
  for (const [tool, debianPackage] of TOOLS) {
    if (!installed(tool)) return { ok: false, reason: `${tool} not found: install the Debian package ${debianPackage}` };
  }
  // The one privilege that root inside an unprivileged user namespace or a locked-down container lacks.
  const probe = `lpprobe${crypto.randomBytes(3).toString("hex")}`;
  const made = runSync(["ip", "link", "add", probe, "type", "bridge"]);
  if (made.exitCode !== 0) return { ok: false, reason: `cannot create a bridge: ${made.stderr.trim().split("\n")[0]}` };
  runSync(["ip", "link", "del", probe]);
  return { ok: true };
}
