// Whether this machine can run the LXC backend, answered synchronously with a one-line reason.
import * as crypto from "crypto";
import { runSync } from "./exec";

export type LxcAvailability = { ok: true } | { ok: false; reason: string };

/** Programs the backend runs, with the Debian package that has each. */
const TOOLS: Array<[string[], string]> = [
  [["ip", "-V"], "iproute2"], [["nsenter", "--version"], "util-linux"], [["ssh-keygen", "-?"], "openssh-client"],
  [["dnsmasq", "--version"], "dnsmasq-base"], [["/sbin/dhclient", "--version"], "isc-dhcp-client"], [["skopeo", "--version"], "skopeo"],
  [["mmdebstrap", "--version"], "mmdebstrap"], [["umoci", "--version"], "umoci"], [["zstd", "--version"], "zstd"],
];

export function lxcAvailability(): LxcAvailability {
  if (process.platform !== "linux") return { ok: false, reason: `LXC needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "the LXC backend needs root (privileged containers, bridges)" };
  for (const tool of ["lxc-start", "lxc-stop", "lxc-info", "lxc-destroy", "lxc-wait", "lxc-cgroup", "lxc-attach"]) {
    if (runSync([tool, "--version"]).exitCode !== 0) return { ok: false, reason: `${tool} not found: install the Debian package lxc` };
  }
  for (const [tool, debianPackage] of TOOLS) {
    const result = runSync(tool);
    if (result.exitCode === -1 || /ENOENT/.test(result.stderr)) return { ok: false, reason: `${tool[0]} not found: install the Debian package ${debianPackage}` };
  }
  // The one privilege that root inside an unprivileged user namespace or a locked-down container lacks.
  const probe = `lpprobe${crypto.randomBytes(3).toString("hex")}`;
  const made = runSync(["ip", "link", "add", probe, "type", "bridge"]);
  if (made.exitCode !== 0) return { ok: false, reason: `cannot create a bridge: ${made.stderr.trim().split("\n")[0]}` };
  runSync(["ip", "link", "del", probe]);
  return { ok: true };
}
