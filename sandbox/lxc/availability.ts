// Whether this machine can run the LXC backend, answered synchronously with a one-line reason.
import * as crypto from "crypto";
import { runSync } from "./exec";
import { findInitLxc } from "./host";

export type LxcAvailability = { ok: true } | { ok: false; reason: string };

export function lxcAvailability(): LxcAvailability {
  if (process.platform !== "linux") return { ok: false, reason: `LXC needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "the LXC backend needs root (privileged containers, bridges)" };
  for (const tool of ["lxc-start", "lxc-stop", "lxc-info", "lxc-destroy", "lxc-wait", "lxc-cgroup"]) {
    if (runSync([tool, "--version"]).exitCode !== 0) return { ok: false, reason: `${tool} not found: install the Debian package lxc` };
  }
  if (!findInitLxc()) return { ok: false, reason: "init.lxc not found: install the Debian package lxc" };
  for (const tool of [["ip", "-V"], ["nsenter", "--version"], ["ssh-keygen", "-?"], ["/usr/sbin/sshd", "-V"]]) {
    const result = runSync(tool);
    if (result.exitCode === -1 || /ENOENT/.test(result.stderr)) return { ok: false, reason: `${tool[0]} not found (iproute2, util-linux, openssh-server)` };
  }
  // The one privilege that root inside an unprivileged user namespace or a locked-down container lacks.
  const probe = `lpprobe${crypto.randomBytes(3).toString("hex")}`;
  const made = runSync(["ip", "link", "add", probe, "type", "bridge"]);
  if (made.exitCode !== 0) return { ok: false, reason: `cannot create a bridge: ${made.stderr.trim().split("\n")[0]}` };
  runSync(["ip", "link", "del", probe]);
  return { ok: true };
}
