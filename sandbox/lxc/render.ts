// Pure renderers: the LXC config and the files of a container's small writable root. The host's
// /usr (and friends) are bind-mounted read-only over it, as LXC's own `lxc-sshd` template does.

import { shellQuote } from "../../provider/ssh";

export interface HostMount {
  /** Absolute path on the host. */
  source: string;
  /** Path inside the container, relative to its root. */
  target: string;
}

export interface PlannedNetwork {
  index: number;
  name: string;
  hwaddr: string;
  bridge: string;
  /** `A.B.C.D/N` */
  ipv4?: string;
  /** An address, or `dev` for a device route (a static address outside the bridge's subnet). */
  ipv4Gateway?: string;
  ipv6?: string;
  ipv6Gateway?: string;
}

export interface ContainerPlan {
  /** The LXC container name. */
  name: string;
  hostname: string;
  rootfs: string;
  networks: PlannedNetwork[];
  mounts: HostMount[];
  /** `[key, value]` pairs such as `["lxc.cgroup2.memory.max", "536870912"]`. */
  cgroupLimits: Array<[string, string]>;
  /** LXC's minimal init (reaps zombies, turns SIGPWR into SIGTERM for everyone). */
  initLxc: string;
  consoleLog: string;
}

/** Inside the container: where the backend's own files live. */
export const LAUNCHPAD_DIR = ".launchpad";
export const INIT_SCRIPT = `/${LAUNCHPAD_DIR}/init`;
export const ENV_FILE = `/${LAUNCHPAD_DIR}/env`;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function configValue(key: string, value: string): string {
  // LXC's config is line-based: a newline in a value would smuggle in another key.
  if (/[\r\n]/.test(value)) throw new Error(`${key}: a line break is not allowed in an LXC config value`);
  return `${key} = ${value}`;
}

export function renderLxcConfig(plan: ContainerPlan): string {
  const lines: string[] = [
    "# Written by the pulumi-launchpad sandbox; rewritten on every reconfigure.",
    configValue("lxc.uts.name", plan.hostname),
    configValue("lxc.rootfs.path", `dir:${plan.rootfs}`),
    // Privileged container with the host's binaries: no AppArmor profile to generate or load.
    "lxc.apparmor.profile = unconfined",
    "lxc.autodev = 1",
    "lxc.pty.max = 64",
    "lxc.cap.drop = sys_module mac_admin mac_override sys_time sys_rawio",
    "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed",
    ...plan.mounts.map((mount) => configValue("lxc.mount.entry", `${mount.source} ${mount.target} none ro,bind,create=dir 0 0`)),
    "lxc.mount.entry = tmpfs run tmpfs rw,nosuid,nodev,mode=0755,size=64m 0 0",
    "lxc.mount.entry = tmpfs dev/shm tmpfs rw,nosuid,nodev,create=dir 0 0",
    configValue("lxc.console.logfile", plan.consoleLog),
    configValue("lxc.init.cmd", `${plan.initLxc} --name ${plan.name} -- ${INIT_SCRIPT}`),
  ];
  for (const net of plan.networks) {
    const key = `lxc.net.${net.index}`;
    lines.push(
      `${key}.type = veth`,
      configValue(`${key}.link`, net.bridge),
      `${key}.flags = up`,
      configValue(`${key}.name`, net.name),
      configValue(`${key}.hwaddr`, net.hwaddr),
    );
    if (net.ipv4) lines.push(configValue(`${key}.ipv4.address`, net.ipv4));
    if (net.ipv4Gateway) lines.push(configValue(`${key}.ipv4.gateway`, net.ipv4Gateway));
    if (net.ipv6) lines.push(configValue(`${key}.ipv6.address`, net.ipv6));
    if (net.ipv6Gateway) lines.push(configValue(`${key}.ipv6.gateway`, net.ipv6Gateway));
  }
  if (plan.networks.length === 0) lines.push("lxc.net.0.type = empty");
  for (const [key, value] of plan.cgroupLimits) lines.push(configValue(key, value));
  return lines.join("\n") + "\n";
}

export type CgroupLayout = "v1" | "v2" | "none";

export interface LimitRequest {
  cores?: number;
  memoryMiB: number;
  swapMiB: number;
}

export interface HostCgroups {
  layout: CgroupLayout;
  hostCpus: number;
  cpuset: boolean;
  memory: boolean;
  /** v1 only: `memory.memsw.*` exists (swap accounting on). */
  memsw: boolean;
  /** v2 only: `memory.swap.max` is available. */
  swap: boolean;
}

/** Proxmox maps `cores` to a cpuset of that many CPUs and `memory`/`swap` to the memory controller. */
export function cgroupLimits(request: LimitRequest, host: HostCgroups): Array<[string, string]> {
  const limits: Array<[string, string]> = [];
  const prefix = host.layout === "v2" ? "lxc.cgroup2" : "lxc.cgroup";
  if (host.layout === "none") return limits;
  if (host.cpuset && request.cores !== undefined && request.cores > 0) {
    const count = Math.min(request.cores, host.hostCpus);
    limits.push([`${prefix}.cpuset.cpus`, count === 1 ? "0" : `0-${count - 1}`]);
  }
  if (host.memory && request.memoryMiB > 0) {
    const memoryBytes = request.memoryMiB * 1024 * 1024;
    const swapBytes = Math.max(0, request.swapMiB) * 1024 * 1024;
    if (host.layout === "v2") {
      limits.push([`${prefix}.memory.max`, String(memoryBytes)]);
      if (host.swap) limits.push([`${prefix}.memory.swap.max`, String(swapBytes)]);
    } else {
      limits.push([`${prefix}.memory.limit_in_bytes`, String(memoryBytes)]);
      // memsw counts memory plus swap, and must never be set below memory.limit_in_bytes.
      if (host.memsw) limits.push([`${prefix}.memory.memsw.limit_in_bytes`, String(memoryBytes + swapBytes)]);
    }
  }
  return limits;
}

// One shell quoter for the whole project: the provider's (shell-escape, which node-ssh uses too).
export { shellQuote };

export function renderEnvFile(env: Record<string, string>): string {
  const bad = Object.keys(env).filter((name) => !ENV_NAME.test(name));
  if (bad.length > 0) throw new Error(`env: not a variable name: ${bad.join(", ")}`);
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}

/** Proxmox's default entrypoint boots the distribution's init; here the host's would boot, so it means "none". */
export function effectiveEntrypoint(entrypoint: string | undefined): string | undefined {
  const trimmed = entrypoint?.trim();
  if (!trimmed || trimmed === "/sbin/init") return undefined;
  return trimmed;
}

export function renderInitScript(options: { sshd: string; entrypoint?: string }): string {
  const entrypoint = effectiveEntrypoint(options.entrypoint);
  return [
    "#!/bin/sh",
    "# The container's init (under init.lxc): sshd on port 22, then the entrypoint with the container's env;",
    "# when the entrypoint ends, so does the container.",
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root",
    "mkdir -p /run/sshd /run/lock && chmod 0755 /run/sshd",
    `${shellQuote(options.sshd)} -e -f /etc/ssh/sshd_config || echo "launchpad-init: sshd did not start" >&2`,
    `. ${ENV_FILE}`,
    "cd /",
    ...(entrypoint === undefined
      ? ["exec sleep infinity"]
      : [
        `/bin/sh -c ${shellQuote(`exec ${entrypoint}`)}`,
        // A Proxmox app container ends with its entrypoint; sshd would keep init.lxc (and so the container)
        // alive: end everything else in this PID namespace (-1 never reaches PID 1 or beyond the namespace).
        "status=$?",
        "trap '' TERM",
        "kill -s TERM -- -1 2>/dev/null",
        "exit $status",
      ]),
    "",
  ].join("\n");
}

export function renderSshdConfig(): string {
  return [
    "# The sandbox container's sshd: root by public key only.",
    "Port 22",
    "ListenAddress 0.0.0.0",
    "ListenAddress ::",
    "HostKey /etc/ssh/ssh_host_ed25519_key",
    "PidFile /run/sshd.pid",
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "AuthorizedKeysFile .ssh/authorized_keys",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "UseDNS no",
    "PrintMotd no",
    "AcceptEnv LANG LC_*",
    "Subsystem sftp internal-sftp",
    "",
  ].join("\n");
}

export function renderHostsFile(hostname: string): string {
  const short = hostname.split(".")[0];
  const names = short === hostname ? hostname : `${hostname} ${short}`;
  return `127.0.0.1 localhost\n127.0.1.1 ${names}\n::1 localhost ip6-localhost ip6-loopback\n`;
}

export function renderResolvConf(nameserver: string | undefined, searchdomain: string | undefined, hostResolvConf: string): string {
  if (!nameserver && !searchdomain) return hostResolvConf;
  const lines: string[] = [];
  if (searchdomain) lines.push(`search ${searchdomain.split(/[\s,;]+/).filter(Boolean).join(" ")}`);
  for (const server of (nameserver ?? "").split(/[\s,;]+/).filter(Boolean)) lines.push(`nameserver ${server}`);
  return lines.join("\n") + "\n";
}

/** Minimal accounts: root, sshd's privilege-separation user and nobody. */
export const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin",
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  "",
].join("\n");

export const GROUP = ["root:x:0:", "nogroup:x:65534:", ""].join("\n");

/** `*`: no password can match, yet the account is not locked, so key logins work with UsePAM off. */
export const SHADOW = ["root:*:19000:0:99999:7:::", "sshd:!:19000::::::", "nobody:!:19000::::::", ""].join("\n");

export function renderAuthorizedKeys(keys: string[]): string {
  return keys.map((key) => key.trim()).filter(Boolean).map((key) => `${key}\n`).join("");
}
