// Pure renderers: the LXC config of a container whose rootfs holds only what its template or image
// held, written the way PVE's update_lxc_config (pve-container src/PVE/LXC.pm) writes it.

export interface PlannedNetwork {
  index: number;
  name: string;
  hwaddr: string;
  bridge: string;
  /** `host-managed=1`: the node brings the link up and sets static addresses; otherwise the container's own network setup does. */
  hostManaged: boolean;
  /** `A.B.C.D/N`, host-managed static only. */
  ipv4?: string;
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
  /** `[key, value]` pairs such as `["lxc.cgroup2.memory.max", "536870912"]`. */
  cgroupLimits: Array<[string, string]>;
  consoleLog: string;
  /** The config's `entrypoint`: what runs as PID 1 instead of the image's `/sbin/init`. */
  entrypoint?: string;
  /** `K=V` pairs from the config's `env`. */
  env: string[];
  /** The config's raw `lxc.*` keys (`lxc.init.cwd`, `lxc.signal.halt`), in order. */
  raw: Array<[string, string]>;
}

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
    // Privileged container; the sandbox does not generate AppArmor profiles as PVE does.
    "lxc.apparmor.profile = unconfined",
    "lxc.autodev = 1",
    "lxc.pty.max = 64",
    "lxc.tty.max = 2",
    "lxc.cap.drop = sys_module mac_admin mac_override sys_time sys_rawio",
    "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed",
    configValue("lxc.console.logfile", plan.consoleLog),
  ];
  // PVE: `lxc.init.cmd = <entrypoint>` when the config has one; otherwise LXC boots the image's /sbin/init.
  if (plan.entrypoint) lines.push(configValue("lxc.init.cmd", plan.entrypoint));
  for (const net of plan.networks) {
    const key = `lxc.net.${net.index}`;
    lines.push(
      `${key}.type = veth`,
      configValue(`${key}.link`, net.bridge),
      configValue(`${key}.name`, net.name),
      configValue(`${key}.hwaddr`, net.hwaddr),
    );
    // Only a host-managed NIC is configured by the node (LXC.pm update_lxc_config); the rest is the container's business.
    if (net.hostManaged) {
      if (net.ipv4) lines.push(configValue(`${key}.ipv4.address`, net.ipv4));
      if (net.ipv4Gateway) lines.push(configValue(`${key}.ipv4.gateway`, net.ipv4Gateway));
      if (net.ipv6) lines.push(configValue(`${key}.ipv6.address`, net.ipv6));
      if (net.ipv6Gateway) lines.push(configValue(`${key}.ipv6.gateway`, net.ipv6Gateway));
      lines.push(`${key}.flags = up`);
    }
  }
  if (plan.networks.length === 0) lines.push("lxc.net.0.type = empty");
  for (const variable of plan.env) lines.push(configValue("lxc.environment", variable));
  for (const [key, value] of plan.raw) lines.push(configValue(key, value));
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
