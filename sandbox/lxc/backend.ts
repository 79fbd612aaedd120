// ContainerBackend on real LXC: one bridge and subnet per run, containers in a dedicated lxcPath,
// rootfs = the host's /usr read-only plus a small writable root with sshd as the first service.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { BackendContainerSpec, BackendInterface, ContainerBackend } from "../backend";
import { LeaseTable, Subnet, contains, formatIpv4, formatSubnet, gatewayOf, parseCidr, parseSubnet } from "./addresses";
import { lxcAvailability } from "./availability";
import { run } from "./exec";
import {
  COPIED_ETC_FILES, RunRecord, createBridge, deleteBridge, detectCgroups, findInitLxc, hostRootLayout, hostSubnets,
  isRunAlive, listBridges, newRunRecord, readRunRecords, removeRunRecord, subnetContested, writeRunRecord,
} from "./host";
import {
  ContainerPlan, ENV_FILE, GROUP, HostCgroups, INIT_SCRIPT, LAUNCHPAD_DIR, PASSWD, PlannedNetwork, SHADOW,
  cgroupLimits, renderAuthorizedKeys, renderEnvFile, renderHostsFile, renderInitScript, renderLxcConfig,
  renderResolvConf, renderSshdConfig,
} from "./render";

export interface LxcBackendOptions {
  /** The bridge this run creates. @default `<namePrefix><runId>` (runId: 4 random hex digits) */
  bridge?: string;
  /** IPv4 subnet of the bridge; the gateway (the bridge's address) is its first host. @default a free `10.213.N.0/24` */
  subnet?: string;
  /** A dedicated LXC path, so the host's own containers are never touched. @default `/var/lib/launchpad-sandbox/lxc` */
  lxcPath?: string;
  /** Prefix of container and bridge names; cleanup() only removes names with it. @default `lpsb` */
  namePrefix?: string;
}

const DEFAULT_PREFIX = "lpsb";
/** Root-owned and outside /tmp: the backend runs as root and must not follow another user's planted paths. */
export const DEFAULT_LXC_PATH = "/var/lib/launchpad-sandbox/lxc";
const SUBNET_ATTEMPTS = 20;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_TAIL_CHARS = 1_500;

type LxcState = "RUNNING" | "STOPPED" | "STARTING" | "STOPPING" | "ABORTING" | "FREEZING" | "FROZEN" | "THAWED" | "MISSING";

interface IpJsonLink {
  ifname: string;
  address?: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

export async function createLxcBackend(options: LxcBackendOptions = {}): Promise<ContainerBackend> {
  const availability = lxcAvailability();
  if (!availability.ok) throw new Error(`LXC backend unavailable: ${availability.reason}`);
  const backend = new LxcBackend(options);
  await backend.open(options.subnet);
  return backend;
}

export class LxcBackend implements ContainerBackend {
  readonly kind = "lxc" as const;
  readonly runId = crypto.randomBytes(2).toString("hex");
  readonly namePrefix: string;
  readonly lxcPath: string;
  readonly bridge: string;
  readonly cgroups: HostCgroups = detectCgroups();
  private subnetValue?: Subnet;
  private leases?: LeaseTable;
  private readonly specs = new Map<number, BackendContainerSpec>();
  /** Host routes for static addresses outside the bridge's subnet, per container. */
  private readonly hostRoutes = new Map<number, string[]>();
  private readonly initLxc: string;
  private readonly layout = hostRootLayout();
  private closed = false;

  constructor(options: LxcBackendOptions) {
    this.namePrefix = options.namePrefix ?? DEFAULT_PREFIX;
    if (!/^[a-z][a-z0-9]{0,7}$/.test(this.namePrefix)) throw new Error(`namePrefix: 1-8 lower-case letters or digits, starting with a letter: ${this.namePrefix}`);
    this.lxcPath = path.resolve(options.lxcPath ?? DEFAULT_LXC_PATH);
    this.bridge = options.bridge ?? `${this.namePrefix}${this.runId}`;
    if (this.bridge.length > 15) throw new Error(`bridge: an interface name has at most 15 characters: ${this.bridge}`);
    const initLxc = findInitLxc();
    if (!initLxc) throw new Error("init.lxc not found (Debian package lxc)");
    this.initLxc = initLxc;
  }

  get subnet(): string {
    return formatSubnet(this.requireSubnet());
  }

  /** The bridge's own address: what containers use as gateway and how they reach the host. */
  get gateway(): string {
    return formatIpv4(gatewayOf(this.requireSubnet()));
  }

  /** The LXC container name of a VMID in this run. */
  containerName(vmid: number): string {
    return `${this.namePrefix}${this.runId}-${vmid}`;
  }

  /** Makes the run record first (so a concurrent cleanup never takes our bridge for a leftover), then the bridge. */
  async open(requestedSubnet: string | undefined): Promise<void> {
    fs.mkdirSync(this.lxcPath, { recursive: true, mode: 0o755 });
    const owner = fs.lstatSync(this.lxcPath);
    if (!owner.isDirectory() || owner.uid !== 0 || (owner.mode & 0o022) !== 0) {
      throw new Error(`lxcPath: ${this.lxcPath} must be a directory owned by root and writable only by it`);
    }
    if (requestedSubnet !== undefined) {
      const subnet = parseSubnet(requestedSubnet);
      if (!subnet || subnet.prefix > 30) throw new Error(`subnet: expected A.B.C.D/N with N <= 30: ${requestedSubnet}`);
      if ((await hostSubnets()).some((entry) => entry.subnet.network === subnet.network || contains(entry.subnet, subnet.network))) {
        throw new Error(`subnet: ${requestedSubnet} is already used on this host`);
      }
      await this.claim(subnet);
      return;
    }
    for (let attempt = 0; attempt < SUBNET_ATTEMPTS; attempt++) {
      const taken = (await hostSubnets()).map((entry) => entry.subnet);
      const candidate = parseSubnet(`10.213.${crypto.randomInt(0, 256)}.0/24`)!;
      if (taken.some((subnet) => contains(subnet, candidate.network) || contains(candidate, subnet.network))) continue;
      await this.claim(candidate);
      if (!(await subnetContested(candidate, this.bridge))) return;
      await deleteBridge(this.bridge);
    }
    throw new Error(`no free 10.213.N.0/24 subnet found after ${SUBNET_ATTEMPTS} attempts; pass \`subnet\``);
  }

  private async claim(subnet: Subnet): Promise<void> {
    writeRunRecord(this.record(subnet));
    await createBridge(this.bridge, subnet);
    this.subnetValue = subnet;
    this.leases = new LeaseTable(subnet);
  }

  private record(subnet: Subnet): RunRecord {
    return newRunRecord({
      runId: this.runId, bridge: this.bridge, subnet: formatSubnet(subnet), lxcPath: this.lxcPath, namePrefix: this.namePrefix,
    });
  }

  private requireSubnet(): Subnet {
    if (!this.subnetValue) throw new Error("the LXC backend is not open");
    return this.subnetValue;
  }

  private containerDir(vmid: number): string {
    return path.join(this.lxcPath, this.containerName(vmid));
  }

  private rootfs(vmid: number): string {
    return path.join(this.containerDir(vmid), "rootfs");
  }

  private lxc(tool: string, vmid: number, ...args: string[]): string[] {
    return [tool, "-P", this.lxcPath, "-n", this.containerName(vmid), ...args];
  }

  private requireSpec(vmid: number): BackendContainerSpec {
    const spec = this.specs.get(vmid);
    if (!spec) throw new Error(`container ${vmid} does not exist in this LXC backend`);
    return spec;
  }

  async create(spec: BackendContainerSpec): Promise<void> {
    this.assertOpen();
    const dir = this.containerDir(spec.vmid);
    if (this.specs.has(spec.vmid) || fs.existsSync(dir)) throw new Error(`container ${spec.vmid} already exists (${dir})`);
    const rootfs = this.rootfs(spec.vmid);
    try {
      this.makeRootSkeleton(rootfs);
      await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `root@${spec.hostname}`, "-f", path.join(rootfs, "etc/ssh/ssh_host_ed25519_key")]);
      this.writeDefinition(spec);
      this.specs.set(spec.vmid, spec);
    } catch (error) {
      this.leases?.releaseContainer(spec.vmid);
      fs.rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async reconfigure(spec: BackendContainerSpec): Promise<void> {
    this.assertOpen();
    this.requireSpec(spec.vmid);
    this.writeDefinition(spec);
    this.specs.set(spec.vmid, spec);
    // Limits apply at once, as Proxmox hot-plugs cores and memory; the rest on the next start.
    if ((await this.state(spec.vmid)) === "RUNNING") {
      // v1 refuses memory above memsw and memsw below memory: whichever comes second in this
      // direction of change fails first time round, so failed keys get one more pass.
      const set = (key: string, value: string) => run(this.lxc("lxc-cgroup", spec.vmid, key.replace(/^lxc\.cgroup2?\./, ""), value));
      const retry: Array<[string, string]> = [];
      for (const [key, value] of this.limitsFor(spec)) {
        try { await set(key, value); } catch { retry.push([key, value]); }
      }
      for (const [key, value] of retry) await set(key, value);
    }
  }

  async start(vmid: number): Promise<void> {
    this.assertOpen();
    this.requireSpec(vmid);
    if ((await this.state(vmid)) === "RUNNING") return;
    await this.addHostRoutes(vmid);
    const logFile = path.join(this.containerDir(vmid), "lxc.log");
    fs.rmSync(logFile, { force: true });
    try {
      await this.startOnce(vmid, logFile);
    } catch (error) {
      const spec = this.requireSpec(vmid);
      if (this.limitsFor(spec).length === 0 || !/cgroup/i.test(this.logTail(vmid))) {
        throw new Error(`container ${vmid} did not start: ${(error as Error).message}\n${this.logTail(vmid)}`, { cause: error });
      }
      // Some hosts (delegated or read-only cgroup trees) refuse limits: run unlimited rather than not at all, and say so.
      process.stderr.write(`sandbox: LXC could not apply cgroup limits to container ${vmid}; started it without them\n`);
      this.writeDefinition(spec, { withoutLimits: true });
      await run(this.lxc("lxc-stop", vmid, "-k"), { allowFailure: true });
      try {
        await this.startOnce(vmid, logFile);
      } catch (retryError) {
        throw new Error(`container ${vmid} did not start: ${(retryError as Error).message}\n${this.logTail(vmid)}`, { cause: retryError });
      } finally {
        this.writeDefinition(spec);
      }
    }
  }

  private async startOnce(vmid: number, logFile: string): Promise<void> {
    await run(this.lxc("lxc-start", vmid, "-d", "-o", logFile, "-l", "WARN"), { timeoutMs: START_TIMEOUT_MS });
    await run(this.lxc("lxc-wait", vmid, "-s", "RUNNING", "-t", String(START_TIMEOUT_MS / 1000)), { timeoutMs: START_TIMEOUT_MS + 5_000 });
  }

  async stop(vmid: number): Promise<void> {
    this.assertOpen();
    this.requireSpec(vmid);
    await this.hardStop(vmid);
  }

  async shutdown(vmid: number, options: { timeoutSeconds: number; forceStop: boolean }): Promise<void> {
    this.assertOpen();
    this.requireSpec(vmid);
    if ((await this.state(vmid)) !== "RUNNING") return;
    const seconds = Math.max(1, Math.round(options.timeoutSeconds));
    const timeoutMs = seconds * 1000 + STOP_TIMEOUT_MS;
    // lxc-stop without -k sends SIGPWR; init.lxc passes SIGTERM to everyone, then SIGKILL a second later.
    const args = options.forceStop ? ["-t", String(seconds)] : ["--nokill", "-t", String(seconds)];
    await run(this.lxc("lxc-stop", vmid, ...args), { timeoutMs, allowFailure: true });
    if ((await this.state(vmid)) === "RUNNING") {
      if (!options.forceStop) throw new Error(`container ${vmid} did not shut down within ${seconds} s`);
      await this.hardStop(vmid);
    }
    this.removeHostRoutes(vmid);
  }

  /** LXC's own answer: the container stops when its init (our script, which ends with the entrypoint) exits. */
  async isRunning(vmid: number): Promise<boolean> {
    if (this.closed || !this.specs.has(vmid)) return false;
    // Only a definite STOPPED counts: an lxc-info that failed under load must not mark a running container stopped.
    return (await this.state(vmid)) !== "STOPPED";
  }

  async destroy(vmid: number): Promise<void> {
    this.assertOpen();
    await this.destroyContainer(vmid);
  }

  async interfaces(vmid: number): Promise<BackendInterface[]> {
    this.assertOpen();
    this.requireSpec(vmid);
    const pid = await this.initPid(vmid);
    if (pid === undefined) return [];
    // Read from the container's own network namespace: what it really has, not what was asked for.
    const { stdout } = await run(["nsenter", "-t", String(pid), "-n", "ip", "-j", "addr", "show"]);
    return (JSON.parse(stdout || "[]") as IpJsonLink[]).map(toBackendInterface);
  }

  async cleanup(): Promise<void> {
    const records = readRunRecords();
    const live = new Set(records.filter(isRunAlive).map((record) => record.runId));
    live.add(this.runId);
    const stale = (runId: string): boolean => !live.has(runId);

    for (const name of listDir(this.lxcPath)) {
      const match = new RegExp(`^${this.namePrefix}([0-9a-f]{4})-(\\d+)$`).exec(name);
      if (!match || !stale(match[1])) continue;
      await run(["lxc-stop", "-P", this.lxcPath, "-n", name, "-k"], { allowFailure: true, timeoutMs: STOP_TIMEOUT_MS });
      await run(["lxc-destroy", "-P", this.lxcPath, "-n", name], { allowFailure: true });
      removeTree(path.join(this.lxcPath, name));
    }
    const bridgePattern = new RegExp(`^${this.namePrefix}([0-9a-f]{4})$`);
    const recordedBridges = new Map(records.map((record) => [record.bridge, record.runId]));
    for (const bridge of await listBridges()) {
      const runId = recordedBridges.get(bridge) ?? bridgePattern.exec(bridge)?.[1];
      if (runId !== undefined && stale(runId)) await deleteBridge(bridge);
    }
    for (const record of records) if (stale(record.runId)) removeRunRecord(record.runId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const problems: string[] = [];
    for (const vmid of [...this.specs.keys()]) {
      try { await this.destroyContainer(vmid); } catch (error) { problems.push((error as Error).message); }
    }
    await deleteBridge(this.bridge);
    removeRunRecord(this.runId);
    this.closed = true;
    if (problems.length > 0) throw new Error(`closing the LXC backend: ${problems.join("; ")}`);
  }

  // ---- internals -------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error("the LXC backend is closed");
    this.requireSubnet();
  }

  private async destroyContainer(vmid: number): Promise<void> {
    const dir = this.containerDir(vmid);
    if (!this.specs.has(vmid) && !fs.existsSync(dir)) throw new Error(`container ${vmid} does not exist in this LXC backend`);
    await this.hardStop(vmid);
    await run(this.lxc("lxc-destroy", vmid), { allowFailure: true });
    removeTree(dir);
    this.leases?.releaseContainer(vmid);
    this.specs.delete(vmid);
  }

  private async hardStop(vmid: number): Promise<void> {
    if ((await this.state(vmid)) !== "STOPPED" && (await this.state(vmid)) !== "MISSING") {
      await run(this.lxc("lxc-stop", vmid, "-k"), { timeoutMs: STOP_TIMEOUT_MS });
    }
    this.removeHostRoutes(vmid);
  }

  async state(vmid: number): Promise<LxcState> {
    if (!fs.existsSync(path.join(this.containerDir(vmid), "config"))) return "MISSING";
    const result = await run(this.lxc("lxc-info", vmid, "-sH"), { allowFailure: true });
    return result.exitCode === 0 ? (result.stdout.trim() as LxcState) : "MISSING";
  }

  private async initPid(vmid: number): Promise<number | undefined> {
    const result = await run(this.lxc("lxc-info", vmid, "-pH"), { allowFailure: true });
    const pid = Number(result.stdout.trim());
    return result.exitCode === 0 && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private limitsFor(spec: BackendContainerSpec): Array<[string, string]> {
    return cgroupLimits({ cores: spec.cores, memoryMiB: spec.memory, swapMiB: spec.swap }, this.cgroups);
  }

  /** Address planning: `dhcp` takes a lease, a static address is used as asked (and kept out of the pool). */
  private planNetworks(spec: BackendContainerSpec): PlannedNetwork[] {
    const subnet = this.requireSubnet();
    const leases = this.leases!;
    const gateway = formatIpv4(gatewayOf(subnet));
    const routes: string[] = [];
    const planned = spec.networks.map((net, index): PlannedNetwork => {
      const key = `${spec.vmid}/net${index}`;
      const plan: PlannedNetwork = { index, name: net.name, hwaddr: net.hwaddr, bridge: this.bridge };
      if (net.ip === "dhcp") {
        plan.ipv4 = `${formatIpv4(leases.lease(key))}/${subnet.prefix}`;
        plan.ipv4Gateway = gateway;
      } else if (net.ip !== undefined && net.ip !== "manual") {
        const cidr = parseCidr(net.ip);
        if (!cidr) throw new Error(`net${index}: ip: expected dhcp or A.B.C.D/N: ${net.ip}`);
        leases.reserveStatic(key, cidr.address);
        plan.ipv4 = net.ip;
        if (contains(subnet, cidr.address)) {
          const asked = net.gw !== undefined ? parseCidr(`${net.gw}/32`) : undefined;
          plan.ipv4Gateway = asked && contains(subnet, asked.address) ? net.gw : gateway;
        } else {
          // Outside our subnet: the host reaches it by a /32 route on the bridge, it reaches the host on-link.
          plan.ipv4Gateway = "dev";
          routes.push(formatIpv4(cidr.address));
        }
      } else {
        leases.release(key);
      }
      if (net.ip6 !== undefined && net.ip6 !== "dhcp" && net.ip6 !== "auto" && net.ip6 !== "manual") {
        plan.ipv6 = net.ip6;
        if (net.gw6) plan.ipv6Gateway = net.gw6;
      }
      return plan;
    });
    this.hostRoutes.set(spec.vmid, routes);
    return planned;
  }

  private async addHostRoutes(vmid: number): Promise<void> {
    for (const address of this.hostRoutes.get(vmid) ?? []) {
      await run(["ip", "route", "replace", `${address}/32`, "dev", this.bridge]);
    }
  }

  private removeHostRoutes(vmid: number): void {
    for (const address of this.hostRoutes.get(vmid) ?? []) {
      void run(["ip", "route", "del", `${address}/32`, "dev", this.bridge], { allowFailure: true });
    }
  }

  private makeRootSkeleton(rootfs: string): void {
    for (const dir of ["usr", "etc/ssh", "root/.ssh", "tmp", "var/tmp", "var/log", "var/empty", "run", "proc", "sys", "dev", "home", "opt", "srv", "mnt", LAUNCHPAD_DIR]) {
      fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
    }
    fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
    fs.chmodSync(path.join(rootfs, "var/tmp"), 0o1777);
    fs.chmodSync(path.join(rootfs, "root"), 0o700);
    fs.chmodSync(path.join(rootfs, "root/.ssh"), 0o700);
    fs.symlinkSync("/run", path.join(rootfs, "var/run"));
    for (const [name, target] of this.layout.symlinks) fs.symlinkSync(target, path.join(rootfs, name));
    for (const mount of this.layout.mounts) fs.mkdirSync(path.join(rootfs, mount.target), { recursive: true });
    for (const name of COPIED_ETC_FILES) {
      const source = path.join("/etc", name);
      try {
        const stat = fs.lstatSync(source);
        if (stat.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(source), path.join(rootfs, "etc", name));
        else if (stat.isFile()) fs.copyFileSync(source, path.join(rootfs, "etc", name));
      } catch { /* not on this host */ }
    }
    writeFile(rootfs, "etc/passwd", PASSWD, 0o644);
    writeFile(rootfs, "etc/group", GROUP, 0o644);
    writeFile(rootfs, "etc/shadow", SHADOW, 0o640);
    writeFile(rootfs, "etc/ssh/sshd_config", renderSshdConfig(), 0o644);
    writeFile(rootfs, "etc/fstab", "", 0o644);
  }

  /** Everything that follows from the spec: config, hostname, keys, env, init. */
  private writeDefinition(spec: BackendContainerSpec, options: { withoutLimits?: boolean } = {}): void {
    const rootfs = this.rootfs(spec.vmid);
    let hostResolvConf = "";
    try { hostResolvConf = fs.readFileSync("/etc/resolv.conf", "utf8"); } catch { /* none */ }
    const sshd = "/usr/sbin/sshd";
    writeFile(rootfs, "etc/hostname", `${spec.hostname}\n`, 0o644);
    writeFile(rootfs, "etc/hosts", renderHostsFile(spec.hostname), 0o644);
    writeFile(rootfs, "etc/resolv.conf", renderResolvConf(spec.nameserver, spec.searchdomain, hostResolvConf), 0o644);
    writeFile(rootfs, "root/.ssh/authorized_keys", renderAuthorizedKeys(spec.sshPublicKeys), 0o600);
    writeFile(rootfs, ENV_FILE.slice(1), renderEnvFile(spec.env), 0o600);
    writeFile(rootfs, INIT_SCRIPT.slice(1), renderInitScript({ sshd, entrypoint: spec.entrypoint }), 0o755);
    const plan: ContainerPlan = {
      name: this.containerName(spec.vmid),
      hostname: spec.hostname,
      rootfs,
      networks: this.planNetworks(spec),
      mounts: this.layout.mounts,
      cgroupLimits: options.withoutLimits ? [] : this.limitsFor(spec),
      initLxc: this.initLxc,
      consoleLog: path.join(this.containerDir(spec.vmid), "console.log"),
    };
    fs.writeFileSync(path.join(this.containerDir(spec.vmid), "config"), renderLxcConfig(plan));
  }

  private logTail(vmid: number): string {
    const parts: string[] = [];
    for (const name of ["lxc.log", "console.log"]) {
      try {
        const text = fs.readFileSync(path.join(this.containerDir(vmid), name), "utf8").trim();
        if (text) parts.push(`${name}: ${text.slice(-LOG_TAIL_CHARS)}`);
      } catch { /* not written */ }
    }
    return parts.join("\n");
  }
}

function toBackendInterface(link: IpJsonLink): BackendInterface {
  const addrs = link.addr_info ?? [];
  const inet = addrs.find((addr) => addr.family === "inet");
  const inet6 = addrs.find((addr) => addr.family === "inet6" && addr.scope !== "link") ?? addrs.find((addr) => addr.family === "inet6");
  const result: BackendInterface = { name: link.ifname, hwaddr: link.address ?? "00:00:00:00:00:00" };
  if (inet) result.inet = `${inet.local}/${inet.prefixlen}`;
  if (inet6) result.inet6 = `${inet6.local}/${inet6.prefixlen}`;
  return result;
}

function writeFile(rootfs: string, relative: string, content: string, mode: number): void {
  const file = path.join(rootfs, relative);
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

function listDir(dir: string): string[] {
  try { return fs.readdirSync(dir); } catch { return []; }
}

/** rm -rf, but never across a mount point in our namespace (a stray bind of the host's /usr). */
function removeTree(dir: string): void {
  const mountPoints = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((line) => line.split(" ")[4]).filter(Boolean);
  const inside = mountPoints.filter((point) => point === dir || point.startsWith(`${dir}/`));
  if (inside.length > 0) throw new Error(`refusing to remove ${dir}: mounted below it: ${inside.join(", ")}`);
  fs.rmSync(dir, { recursive: true, force: true });
}
