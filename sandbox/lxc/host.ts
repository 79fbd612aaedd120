// What the backend reads from and changes on the host: cgroup layout, the host directories to bind,
// bridges, and the records that tell a live run's bridge and containers from a crashed run's.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "./exec";
import { HostCgroups, HostMount } from "./render";
import { Subnet, formatIpv4, gatewayOf, overlaps, parseCidr, subnetOf } from "./addresses";

/** Per-run records live outside any lxcPath, so runs with different lxcPaths still see each other. */
export const RUNS_DIR = "/run/launchpad-sandbox-lxc";

export function detectCgroups(): HostCgroups {
  const hostCpus = os.cpus().length || 1;
  if (fs.existsSync("/sys/fs/cgroup/cgroup.controllers")) {
    const controllers = fs.readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/);
    return {
      layout: "v2",
      hostCpus,
      cpuset: controllers.includes("cpuset"),
      memory: controllers.includes("memory"),
      memsw: false,
      swap: controllers.includes("memory") && anyChildHas("/sys/fs/cgroup", "memory.swap.max"),
    };
  }
  const cpuset = fs.existsSync("/sys/fs/cgroup/cpuset/cpuset.cpus");
  const memory = fs.existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (!cpuset && !memory) return { layout: "none", hostCpus, cpuset, memory, memsw: false, swap: false };
  return {
    layout: "v1",
    hostCpus,
    cpuset,
    memory,
    memsw: fs.existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
    swap: false,
  };
}

/** The root cgroup has no memory.* files: whether swap is accounted shows in its children. */
function anyChildHas(root: string, file: string): boolean {
  try {
    return fs.readdirSync(root, { withFileTypes: true }).some((entry) => entry.isDirectory() && fs.existsSync(path.join(root, entry.name, file)));
  } catch {
    return false;
  }
}

/** What of the host's root a container shares: merged-/usr symlinks are copied, real directories bound read-only. */
export function hostRootLayout(): { symlinks: Array<[string, string]>; mounts: HostMount[] } {
  const symlinks: Array<[string, string]> = [];
  const mounts: HostMount[] = [{ source: "/usr", target: "usr" }];
  for (const name of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
    const hostPath = `/${name}`;
    let stat: fs.Stats;
    try { stat = fs.lstatSync(hostPath); } catch { continue; }
    if (stat.isSymbolicLink()) symlinks.push([name, fs.readlinkSync(hostPath)]);
    else if (stat.isDirectory()) mounts.push({ source: hostPath, target: name });
  }
  // A bind is not recursive: a separately mounted /usr/local (node often lives there) needs its own.
  if (isMountPoint("/usr/local")) mounts.push({ source: "/usr/local", target: "usr/local" });
  for (const dir of ["/etc/ssl", "/etc/alternatives", "/etc/ca-certificates"]) {
    if (fs.existsSync(dir)) mounts.push({ source: dir, target: dir.slice(1) });
  }
  return { symlinks, mounts };
}

function isMountPoint(dir: string): boolean {
  try {
    return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((line) => line.split(" ")[4] === dir);
  } catch {
    return false;
  }
}

/** Small host files worth copying into a container's own /etc. */
export const COPIED_ETC_FILES = [
  "nsswitch.conf", "services", "protocols", "localtime", "ld.so.cache", "mime.types",
  "profile", "bash.bashrc", "shells", "inputrc", "os-release", "debian_version",
];

export function findInitLxc(): string | undefined {
  const candidates = ["/usr/sbin/init.lxc", "/sbin/init.lxc", "/usr/libexec/lxc/init.lxc", "/usr/lib/lxc/init.lxc"];
  try {
    for (const entry of fs.readdirSync("/usr/lib")) candidates.push(`/usr/lib/${entry}/lxc/init.lxc`);
  } catch { /* no multiarch dirs */ }
  // It runs inside the container, so it must be under the bound /usr.
  return candidates.find((candidate) => candidate.startsWith("/usr/") && fs.existsSync(candidate))
    ?? candidates.find((candidate) => fs.existsSync(candidate));
}

// ---- run records -------------------------------------------------------------------------------

export interface RunRecord {
  runId: string;
  pid: number;
  /** /proc/<pid>/stat's start time: a recycled pid is not the same run. */
  pidStart: string;
  bridge: string;
  subnet: string;
  lxcPath: string;
  namePrefix: string;
}

/** /proc/<pid>/stat's start time, or undefined when no such process runs; pid + start time names a process for good. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function newRunRecord(fields: Omit<RunRecord, "pid" | "pidStart">): RunRecord {
  return { ...fields, pid: process.pid, pidStart: processStart(process.pid) ?? "" };
}

export function isRunAlive(record: RunRecord): boolean {
  return processStart(record.pid) === record.pidStart;
}

export function writeRunRecord(record: RunRecord): void {
  fs.mkdirSync(RUNS_DIR, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(RUNS_DIR, `${record.runId}.json`), JSON.stringify(record) + "\n");
}

export function removeRunRecord(runId: string): void {
  fs.rmSync(path.join(RUNS_DIR, `${runId}.json`), { force: true });
}

export function readRunRecords(): RunRecord[] {
  let names: string[];
  try { names = fs.readdirSync(RUNS_DIR); } catch { return []; }
  const records: RunRecord[] = [];
  for (const name of names.filter((entry) => entry.endsWith(".json"))) {
    try { records.push(JSON.parse(fs.readFileSync(path.join(RUNS_DIR, name), "utf8")) as RunRecord); } catch { /* torn write of a dead run */ }
  }
  return records;
}

// ---- bridges and addresses ---------------------------------------------------------------------

interface IpAddrEntry {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

export async function listBridges(): Promise<string[]> {
  const { stdout } = await run(["ip", "-j", "link", "show", "type", "bridge"]);
  return (JSON.parse(stdout || "[]") as Array<{ ifname: string }>).map((link) => link.ifname);
}

/** Every IPv4 subnet the host already has, from addresses and routes, with the device it is on. */
export async function hostSubnets(): Promise<Array<{ subnet: Subnet; dev: string }>> {
  const found: Array<{ subnet: Subnet; dev: string }> = [];
  const addrs = JSON.parse((await run(["ip", "-j", "-4", "addr", "show"])).stdout || "[]") as IpAddrEntry[];
  for (const link of addrs) {
    for (const info of link.addr_info ?? []) {
      const cidr = parseCidr(`${info.local}/${info.prefixlen}`);
      if (cidr) found.push({ subnet: subnetOf(cidr.address, cidr.prefix), dev: link.ifname });
    }
  }
  const routes = JSON.parse((await run(["ip", "-j", "-4", "route", "show", "table", "all"])).stdout || "[]") as Array<{ dst: string; dev?: string; type?: string }>;
  for (const route of routes) {
    if (route.dst === "default" || (route.type && route.type !== "unicast")) continue;
    const cidr = parseCidr(route.dst.includes("/") ? route.dst : `${route.dst}/32`);
    if (cidr) found.push({ subnet: subnetOf(cidr.address, cidr.prefix), dev: route.dev ?? "" });
  }
  return found;
}

export async function createBridge(name: string, subnet: Subnet): Promise<void> {
  await run(["ip", "link", "add", name, "type", "bridge"]);
  await run(["ip", "addr", "add", `${formatIpv4(gatewayOf(subnet))}/${subnet.prefix}`, "dev", name]);
  await run(["ip", "link", "set", name, "up"]);
}

export async function deleteBridge(name: string): Promise<void> {
  await run(["ip", "link", "del", name], { allowFailure: true });
}

/** True when another device also claims an overlapping subnet (two runs picked the same one at once). */
export async function subnetContested(subnet: Subnet, ownDevice: string): Promise<boolean> {
  return (await hostSubnets()).some((entry) => entry.dev !== ownDevice && overlaps(entry.subnet, subnet));
}
