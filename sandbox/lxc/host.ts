// What the backend reads from and changes on the host: cgroup layout, bridges, helper processes,
// and the records that tell a live run's bridge and containers from a crashed run's.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "./exec";
import { HostCgroups } from "./render";
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

/**
 * Ends a helper process (dnsmasq, dhclient) named by a pid file, only if that pid still runs `program`.
 * Returns the process signalled (pid and start time), for a caller that must see it gone.
 */
export function killByPidFile(file: string, program: string): { pid: number; start: string } | undefined {
  let pid: number;
  try { pid = Number(fs.readFileSync(file, "utf8").trim()); } catch { return undefined; }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  let cmdline = "";
  try { cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"); } catch { return undefined; }
  if (!cmdline.split("\0")[0].endsWith(program)) return undefined;
  const start = processStart(pid);
  if (start === undefined) return undefined;
  try { process.kill(pid, "SIGTERM"); } catch { return undefined; }
  return { pid, start };
}

/**
 * killByPidFile, then waits until that process has exited (SIGKILL after `graceMs`): a cleanup that
 * returns while a crashed run's dnsmasq is still exiting has not cleaned up yet, above all on a busy machine.
 */
export async function stopByPidFile(file: string, program: string, graceMs = 5_000): Promise<void> {
  const target = killByPidFile(file, program);
  if (!target) return;
  // Gone: no such process, another one under that pid, or a zombie (dead, its parent has not reaped it yet).
  const gone = () => {
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${target.pid}/stat`, "utf8"); } catch { return true; }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[19] !== target.start;
  };
  const waitGone = async () => {
    for (const deadline = Date.now() + graceMs; !gone() && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 25));
    return gone();
  };
  if (await waitGone()) return;
  try { process.kill(target.pid, "SIGKILL"); } catch { return; }
  await waitGone();
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
  // A node's vmbr0 has its physical NIC as a port and keeps that MAC while guests come and go. A
  // bridge of veths alone takes its lowest port's MAC (the kernel's br_stp_recalculate_bridge_id),
  // so a container leaving would change the gateway's MAC under the others' ARP caches and stall
  // their traffic for seconds; an address set explicitly is kept.
  await run(["ip", "link", "add", name, "address", bridgeMac(name), "type", "bridge"]);
  await run(["ip", "addr", "add", `${formatIpv4(gatewayOf(subnet))}/${subnet.prefix}`, "dev", name]);
  await run(["ip", "link", "set", name, "up"]);
}

/** A locally administered unicast MAC, stable per bridge name. */
function bridgeMac(name: string): string {
  const bytes = crypto.createHash("sha256").update(name).digest().subarray(0, 5);
  return ["02", ...[...bytes].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

export async function deleteBridge(name: string): Promise<void> {
  await run(["ip", "link", "del", name], { allowFailure: true });
}

/** True when another device also claims an overlapping subnet (two runs picked the same one at once). */
export async function subnetContested(subnet: Subnet, ownDevice: string): Promise<boolean> {
  return (await hostSubnets()).some((entry) => entry.dev !== ownDevice && overlaps(entry.subnet, subnet));
}
