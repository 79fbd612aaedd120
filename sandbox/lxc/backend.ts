// ContainerBackend on real LXC: one bridge and subnet per run with a real DHCP server (dnsmasq) on
// it, containers in a dedicated lxcPath whose rootfs is extracted only from their template or OCI
// archive, the node's setup for Debian-family rootfs (setup.ts), and the host's dhclient in the
// container's network namespace for host-managed `ip=dhcp` NICs, as PVE does.
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { standardTemplate } from "../../devstack/images";
import { BackendArchive, BackendContainerSpec, BackendInterface, ContainerBackend } from "../backend";
import { readOciArchive } from "../server/oci";
import { Subnet, broadcastOf, contains, formatIpv4, formatSubnet, gatewayOf, netmaskOf, parseSubnet } from "./addresses";
import { lxcAvailability } from "./availability";
import { run } from "./exec";
import {
  RunRecord, createBridge, deleteBridge, detectCgroups, hostSubnets, isRunAlive, killByPidFile, listBridges, newRunRecord, stopByPidFile,
  readRunRecords, removeRunRecord, subnetContested, writeRunRecord,
} from "./host";
import { ContainerPlan, HostCgroups, PlannedNetwork, cgroupLimits, renderLxcConfig } from "./render";
import { assertSupportedOstype, detectOstype, postCreate, preStart } from "./setup";

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
const DHCLIENT_TIMEOUT_MS = 70_000;
const LOG_TAIL_CHARS = 1_500;
/** LXC's own dhclient-script: it resolves every path against $ROOTFS, so the host's resolv.conf is never written (what PVE passes as -sf). */
const DHCLIENT_SCRIPT = "/usr/share/lxc/hooks/dhclient-script";

type LxcState = "RUNNING" | "STOPPED" | "STARTING" | "STOPPING" | "ABORTING" | "FREEZING" | "FROZEN" | "THAWED" | "MISSING";

interface IpJsonLink {
  ifname: string;
  address?: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

export async function createLxcBackend(options: LxcBackendOptions = {}): Promise<ContainerBackend> {
  const availability = lxcAvailability();
  if (!availability.ok) throw new Error(`LXC backend unavailable: ${availability.reason}`);
  if (!fs.existsSync(DHCLIENT_SCRIPT)) throw new Error(`LXC backend unavailable: ${DHCLIENT_SCRIPT} not found (Debian package lxc)`);
  const backend = new LxcBackend(options);
  // Built once per machine (cached by recipe); every node's vztmpl directory links it.
  backend.standardTemplate = await standardTemplate();
  await backend.open(options.subnet);
  return backend;
}

export class LxcBackend implements ContainerBackend {
  readonly kind = "lxc" as const;
  readonly runId = crypto.randomBytes(2).toString("hex");
  readonly namePrefix: string;
  readonly lxcPath: string;
  readonly bridge: string;
  /** This run's files outside lxcPath: the nodes' storages, dnsmasq's pid and lease files. */
  readonly runDir: string;
  readonly storageDir: string;
  standardTemplate?: string;
  readonly cgroups: HostCgroups = detectCgroups();
  private subnetValue?: Subnet;
  private readonly specs = new Map<number, BackendContainerSpec>();
  private readonly ostypes = new Map<number, string>();
  private dnsmasq?: ChildProcess;
  private closed = false;

  constructor(options: LxcBackendOptions) {
    this.namePrefix = options.namePrefix ?? DEFAULT_PREFIX;
    if (!/^[a-z][a-z0-9]{0,7}$/.test(this.namePrefix)) throw new Error(`namePrefix: 1-8 lower-case letters or digits, starting with a letter: ${this.namePrefix}`);
    this.lxcPath = path.resolve(options.lxcPath ?? DEFAULT_LXC_PATH);
    this.bridge = options.bridge ?? `${this.namePrefix}${this.runId}`;
    if (this.bridge.length > 15) throw new Error(`bridge: an interface name has at most 15 characters: ${this.bridge}`);
    this.runDir = path.join(runsRoot(this.lxcPath), this.runId);
    this.storageDir = path.join(this.runDir, "storage");
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

  /** Makes the run record first (so a concurrent cleanup never takes our bridge for a leftover), then the bridge and its DHCP server. */
  async open(requestedSubnet: string | undefined): Promise<void> {
    for (const dir of [this.lxcPath, path.dirname(this.runDir)]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      const owner = fs.lstatSync(dir);
      if (!owner.isDirectory() || owner.uid !== 0 || (owner.mode & 0o022) !== 0) {
        throw new Error(`${dir} must be a directory owned by root and writable only by it`);
      }
    }
    if (requestedSubnet !== undefined) {
      const subnet = parseSubnet(requestedSubnet);
      if (!subnet || subnet.prefix > 28) throw new Error(`subnet: expected A.B.C.D/N with N <= 28: ${requestedSubnet}`);
      if ((await hostSubnets()).some((entry) => entry.subnet.network === subnet.network || contains(entry.subnet, subnet.network))) {
        throw new Error(`subnet: ${requestedSubnet} is already used on this host`);
      }
      await this.claim(subnet);
    } else {
      let claimed = false;
      for (let attempt = 0; attempt < SUBNET_ATTEMPTS && !claimed; attempt++) {
        const taken = (await hostSubnets()).map((entry) => entry.subnet);
        const candidate = parseSubnet(`10.213.${crypto.randomInt(0, 256)}.0/24`)!;
        if (taken.some((subnet) => contains(subnet, candidate.network) || contains(candidate, subnet.network))) continue;
        await this.claim(candidate);
        if (!(await subnetContested(candidate, this.bridge))) claimed = true;
        else await deleteBridge(this.bridge);
      }
      if (!claimed) throw new Error(`no free 10.213.N.0/24 subnet found after ${SUBNET_ATTEMPTS} attempts; pass \`subnet\``);
    }
    fs.mkdirSync(this.storageDir, { recursive: true, mode: 0o755 });
    await this.startDnsmasq();
  }

  private async claim(subnet: Subnet): Promise<void> {
    writeRunRecord(this.record(subnet));
    await createBridge(this.bridge, subnet);
    this.subnetValue = subnet;
  }

  private record(subnet: Subnet): RunRecord {
    return newRunRecord({
      runId: this.runId, bridge: this.bridge, subnet: formatSubnet(subnet), lxcPath: this.lxcPath, namePrefix: this.namePrefix,
    });
  }

  /**
   * The bridge's DHCP server: dnsmasq bound to the bridge only, DNS off, leasing the upper half of
   * the subnet (the lower half stays for static addresses), with its lease file in this run's dir.
   */
  private async startDnsmasq(): Promise<void> {
    const subnet = this.requireSubnet();
    const size = broadcastOf(subnet) - subnet.network + 1;
    const first = formatIpv4(subnet.network + size / 2);
    const last = formatIpv4(broadcastOf(subnet) - 1);
    const mask = netmaskOf(subnet);
    const pidFile = path.join(this.runDir, "dnsmasq.pid");
    const args = [
      "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
      `--interface=${this.bridge}`, "--bind-interfaces", "--except-interface=lo",
      `--dhcp-range=${first},${last},${mask},1h`, "--dhcp-authoritative",
      `--dhcp-leasefile=${path.join(this.runDir, "dnsmasq.leases")}`, `--pid-file=${pidFile}`, "--log-facility=-",
    ];
    let output = "";
    const child = spawn("dnsmasq", args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-2_000)));
    this.dnsmasq = child;
    // dnsmasq writes its pid file once it has bound its sockets.
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(pidFile)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dnsmasq on ${this.bridge} exited: ${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`dnsmasq on ${this.bridge} did not start: ${output.trim()}`);
      await sleep(50);
    }
  }

  private async stopDnsmasq(): Promise<void> {
    const child = this.dnsmasq;
    this.dnsmasq = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
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

  /** Where PVE keeps its per-CT dhclient pid and lease files (/var/lib/lxc/<vmid>/hook): ours is in the container's dir. */
  private hookDir(vmid: number): string {
    return path.join(this.containerDir(vmid), "hook");
  }

  private lxc(tool: string, vmid: number, ...args: string[]): string[] {
    return [tool, "-P", this.lxcPath, "-n", this.containerName(vmid), ...args];
  }

  private requireSpec(vmid: number): BackendContainerSpec {
    const spec = this.specs.get(vmid);
    if (!spec) throw new Error(`container ${vmid} does not exist in this LXC backend`);
    return spec;
  }

  async create(spec: BackendContainerSpec): Promise<{ ostype: string }> {
    this.assertOpen();
    const dir = this.containerDir(spec.vmid);
    if (this.specs.has(spec.vmid) || fs.existsSync(dir)) throw new Error(`container ${spec.vmid} already exists (${dir})`);
    if (!spec.archive) throw new Error(`container ${spec.vmid}: no template or OCI archive to make its root filesystem from`);
    const rootfs = this.rootfs(spec.vmid);
    try {
      fs.mkdirSync(rootfs, { recursive: true, mode: 0o755 });
      await extractArchive(spec.archive, rootfs);
      const ostype = spec.ostype === "unmanaged" ? "unmanaged" : detectOstype(rootfs);
      assertSupportedOstype(ostype);
      await postCreate(rootfs, spec, ostype);
      this.ostypes.set(spec.vmid, ostype);
      this.writeDefinition(spec);
      this.specs.set(spec.vmid, spec);
      return { ostype };
    } catch (error) {
      this.ostypes.delete(spec.vmid);
      removeTree(dir);
      throw error;
    }
  }

  /** API2/LXC.pm clone_vm copies the volumes; Setup's post_clone_hook clears the machine id. */
  async clone(sourceVmid: number, spec: BackendContainerSpec): Promise<void> {
    this.assertOpen();
    this.requireSpec(sourceVmid);
    const dir = this.containerDir(spec.vmid);
    if (this.specs.has(spec.vmid) || fs.existsSync(dir)) throw new Error(`container ${spec.vmid} already exists (${dir})`);
    const ostype = this.ostypes.get(sourceVmid) ?? "unmanaged";
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      await run(["cp", "-a", "--reflink=auto", this.rootfs(sourceVmid), this.rootfs(spec.vmid)], { timeoutMs: 10 * 60_000 });
      if (ostype !== "unmanaged") {
        const machineId = path.join(this.rootfs(spec.vmid), "etc/machine-id");
        if (fs.existsSync(machineId) && !fs.lstatSync(machineId).isSymbolicLink()) fs.writeFileSync(machineId, "");
      }
      this.ostypes.set(spec.vmid, ostype);
      this.writeDefinition(spec);
      this.specs.set(spec.vmid, spec);
    } catch (error) {
      this.ostypes.delete(spec.vmid);
      removeTree(dir);
      throw error;
    }
  }

  async reconfigure(spec: BackendContainerSpec): Promise<void> {
    this.assertOpen();
    const previous = this.requireSpec(spec.vmid);
    this.writeDefinition(spec);
    this.specs.set(spec.vmid, spec);
    if ((await this.state(spec.vmid)) !== "RUNNING") return;
    // Limits apply at once, as Proxmox hot-plugs cores and memory; the rest on the next start.
    // v1 refuses memory above memsw and memsw below memory: whichever comes second in this
    // direction of change fails first time round, so failed keys get one more pass.
    const set = (key: string, value: string) => run(this.lxc("lxc-cgroup", spec.vmid, key.replace(/^lxc\.cgroup2?\./, ""), value));
    const retry: Array<[string, string]> = [];
    for (const [key, value] of this.limitsFor(spec)) {
      try { await set(key, value); } catch { retry.push([key, value]); }
    }
    for (const [key, value] of retry) await set(key, value);
    // LXC.pm update_net: a host-managed dhcp NIC gets the node's dhclient, and loses it with host-managed.
    for (const net of spec.networks) {
      const before = previous.networks.find((entry) => entry.name === net.name);
      const managedNow = net.hostManaged === true && net.ip === "dhcp";
      const managedBefore = before?.hostManaged === true && before.ip === "dhcp";
      if (managedNow && !managedBefore) await this.startDhclient(spec.vmid, net.name).catch((error) => warn(spec.vmid, error));
      if (!managedNow && managedBefore) await this.releaseDhclient(spec.vmid, net.name);
    }
  }

  async start(vmid: number): Promise<void> {
    this.assertOpen();
    const spec = this.requireSpec(vmid);
    if ((await this.state(vmid)) === "RUNNING") return;
    preStart(this.rootfs(vmid), spec, this.ostypes.get(vmid) ?? "unmanaged");
    const logFile = path.join(this.containerDir(vmid), "lxc.log");
    fs.rmSync(logFile, { force: true });
    try {
      await this.startOnce(vmid, logFile);
    } catch (error) {
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
    // LXC.pm vm_start: after start, dhclient for every host-managed dhcp NIC; a failure is a warning.
    for (const net of spec.networks) {
      if (net.hostManaged && net.ip === "dhcp") await this.startDhclient(vmid, net.name).catch((error) => warn(vmid, error));
    }
  }

  private async startOnce(vmid: number, logFile: string): Promise<void> {
    await run(this.lxc("lxc-start", vmid, "-d", "-o", logFile, "-l", "WARN"), { timeoutMs: START_TIMEOUT_MS });
    await run(this.lxc("lxc-wait", vmid, "-s", "RUNNING", "-t", String(START_TIMEOUT_MS / 1000)), { timeoutMs: START_TIMEOUT_MS + 5_000 });
  }

  /**
   * LXC.pm manage_dhclient: the host's /sbin/dhclient, once (`-1`), in the container's network
   * namespace only, with its own pid and lease files and LXC's dhclient-script writing under ROOTFS.
   */
  private async startDhclient(vmid: number, eth: string): Promise<void> {
    const pid = await this.initPid(vmid);
    if (pid === undefined) throw new Error("the container is not running");
    fs.mkdirSync(this.hookDir(vmid), { recursive: true });
    const base = path.join(this.hookDir(vmid), `dhclient4-${eth}`);
    await run([
      "nsenter", "-t", String(pid), "-n", "-u", "--", "/sbin/dhclient", "-1", "-4", "-pf", `${base}.pid`, "-lf", `${base}.leases`,
      "-e", `ROOTFS=/proc/${pid}/root`, "-sf", DHCLIENT_SCRIPT, eth,
    ], { timeoutMs: DHCLIENT_TIMEOUT_MS });
  }

  /** `dhclient -r` (what manage_dhclient('stop') runs): releases the lease and removes the address. */
  private async releaseDhclient(vmid: number, eth: string): Promise<void> {
    const base = path.join(this.hookDir(vmid), `dhclient4-${eth}`);
    const pid = await this.initPid(vmid);
    if (pid !== undefined && fs.existsSync(`${base}.pid`)) {
      await run([
        "nsenter", "-t", String(pid), "-n", "-u", "--", "/sbin/dhclient", "-r", "-4", "-pf", `${base}.pid`, "-lf", `${base}.leases`,
        "-e", `ROOTFS=/proc/${pid}/root`, "-sf", DHCLIENT_SCRIPT, eth,
      ], { allowFailure: true });
    }
    killByPidFile(`${base}.pid`, "dhclient");
  }

  /** kill_dhclients: every dhclient the node started for this container. */
  private killDhclients(vmid: number): void {
    for (const name of listDir(this.hookDir(vmid)).filter((entry) => /^dhclient.*\.pid$/.test(entry))) {
      killByPidFile(path.join(this.hookDir(vmid), name), "dhclient");
    }
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
    // lxc-stop without -k sends lxc.signal.halt (SIGPWR by default, the image's StopSignal for OCI images).
    await run(this.lxc("lxc-stop", vmid, "--nokill", "-t", String(seconds)), { timeoutMs, allowFailure: true });
    if ((await this.state(vmid)) === "RUNNING") {
      // PVE's words (pve-container src/PVE/LXC.pm vm_stop), as the task's exit status.
      if (!options.forceStop) throw new Error("container did not stop");
      await this.hardStop(vmid);
    }
    this.killDhclients(vmid);
  }

  /** LXC's own answer: the container stops when its PID 1 (init or the entrypoint) exits. */
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
    // Read from the container's own network namespace: what the kernel holds, not what was asked for.
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
      const dir = path.join(this.lxcPath, name);
      for (const pidFile of listDir(path.join(dir, "hook")).filter((entry) => entry.endsWith(".pid"))) {
        await stopByPidFile(path.join(dir, "hook", pidFile), "dhclient");
      }
      await run(["lxc-stop", "-P", this.lxcPath, "-n", name, "-k"], { allowFailure: true, timeoutMs: STOP_TIMEOUT_MS });
      removeTree(dir);
    }
    const runs = runsRoot(this.lxcPath);
    for (const runId of listDir(runs).filter((entry) => /^[0-9a-f]{4}$/.test(entry) && stale(entry))) {
      await stopByPidFile(path.join(runs, runId, "dnsmasq.pid"), "dnsmasq");
      removeTree(path.join(runs, runId));
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
    await this.stopDnsmasq();
    await deleteBridge(this.bridge);
    try { removeTree(this.runDir); } catch (error) { problems.push((error as Error).message); }
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
    // A stopped dir-backed container is its directory: removing it is what lxc-destroy would do, once and without a timeout.
    removeTree(dir);
    this.specs.delete(vmid);
    this.ostypes.delete(vmid);
  }

  private async hardStop(vmid: number): Promise<void> {
    this.killDhclients(vmid);
    if ((await this.state(vmid)) !== "STOPPED" && (await this.state(vmid)) !== "MISSING") {
      await run(this.lxc("lxc-stop", vmid, "-k"), { timeoutMs: STOP_TIMEOUT_MS });
    }
  }

  async state(vmid: number): Promise<LxcState> {
    if (!fs.existsSync(path.join(this.containerDir(vmid), "config"))) return "MISSING";
    const result = await run(this.lxc("lxc-info", vmid, "-sH"), { allowFailure: true });
    return result.exitCode === 0 ? (result.stdout.trim() as LxcState) : "MISSING";
  }

  /** The host pid of the container's PID 1. */
  async initPid(vmid: number): Promise<number | undefined> {
    const result = await run(this.lxc("lxc-info", vmid, "-pH"), { allowFailure: true });
    const pid = Number(result.stdout.trim());
    return result.exitCode === 0 && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** Runs a command inside a running container (all its namespaces), with only what its rootfs has. */
  async attach(vmid: number, command: string[], timeoutMs = 20_000): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    this.requireSpec(vmid);
    return run(this.lxc("lxc-attach", vmid, "--clear-env", "--", ...command), { timeoutMs, allowFailure: true });
  }

  private limitsFor(spec: BackendContainerSpec): Array<[string, string]> {
    return cgroupLimits({ cores: spec.cores, memoryMiB: spec.memory, swapMiB: spec.swap }, this.cgroups);
  }

  /** The node's part of each NIC: the link on our bridge, and for host-managed ones the static addresses (LXC.pm update_lxc_config). */
  private planNetworks(spec: BackendContainerSpec): PlannedNetwork[] {
    return spec.networks.map((net, index): PlannedNetwork => {
      const plan: PlannedNetwork = { index, name: net.name, hwaddr: net.hwaddr, bridge: this.bridge, hostManaged: net.hostManaged === true };
      if (!plan.hostManaged) return plan;
      if (net.ip !== undefined && net.ip !== "dhcp" && net.ip !== "manual") plan.ipv4 = net.ip;
      if (net.gw !== undefined) plan.ipv4Gateway = net.gw;
      if (net.ip6 === "auto") throw new Error(`net${index}: SLAAC is not supported for host-managed network configuration`);
      if (net.ip6 !== undefined && net.ip6 !== "dhcp" && net.ip6 !== "manual") plan.ipv6 = net.ip6;
      if (net.gw6 !== undefined) plan.ipv6Gateway = net.gw6;
      return plan;
    });
  }

  /** The LXC config that follows from the spec. */
  private writeDefinition(spec: BackendContainerSpec, options: { withoutLimits?: boolean } = {}): void {
    const plan: ContainerPlan = {
      name: this.containerName(spec.vmid),
      hostname: spec.hostname,
      rootfs: this.rootfs(spec.vmid),
      networks: this.planNetworks(spec),
      cgroupLimits: options.withoutLimits ? [] : this.limitsFor(spec),
      consoleLog: path.join(this.containerDir(spec.vmid), "console.log"),
      entrypoint: spec.entrypoint?.trim() || undefined,
      env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      raw: spec.lxc ?? [],
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

/** Per-run dirs sit next to the lxcPath, so a later run with the same lxcPath finds a crashed run's. */
function runsRoot(lxcPath: string): string {
  return path.join(path.dirname(lxcPath), "runs");
}

/**
 * The rootfs from the archive alone: a template is untarred (tar detects its compression); an OCI
 * archive's layers are applied in order, whiteouts removing what lower layers had (Create.pm
 * restore_oci_archive does this through PVE::RS::OCI).
 */
async function extractArchive(archive: BackendArchive, rootfs: string): Promise<void> {
  if (archive.kind === "template") {
    await run(["tar", "-xpf", archive.path, "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", rootfs], { timeoutMs: 10 * 60_000 });
    return;
  }
  const { layers } = await readOciArchive(archive.path);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-oci-"));
  try {
    await run(["tar", "-xf", archive.path, "-C", tmp, ...layers], { timeoutMs: 10 * 60_000 });
    for (const layer of layers) {
      const file = path.join(tmp, layer);
      const { stdout } = await run(["tar", "-tf", file], { timeoutMs: 5 * 60_000 });
      for (const entry of stdout.split("\n").filter(Boolean)) {
        const name = entry.replace(/^\.?\//, "").replace(/\/$/, "");
        const base = path.basename(name);
        if (!base.startsWith(".wh.") || name.split("/").includes("..")) continue;
        const dir = path.join(rootfs, path.dirname(name));
        if (base === ".wh..wh..opq") for (const child of listDir(dir)) fs.rmSync(path.join(dir, child), { recursive: true, force: true });
        else fs.rmSync(path.join(dir, base.slice(4)), { recursive: true, force: true });
      }
      await run(["tar", "-xpf", file, "--numeric-owner", "--exclude=.wh.*", "-C", rootfs], { timeoutMs: 10 * 60_000 });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function warn(vmid: number, error: unknown): void {
  process.stderr.write(`sandbox: container ${vmid}: DHCP failed - ${(error as Error).message}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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

function listDir(dir: string): string[] {
  try { return fs.readdirSync(dir); } catch { return []; }
}

/** rm -rf, but never across a mount point in our namespace. */
function removeTree(dir: string): void {
  const mountPoints = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((line) => line.split(" ")[4]).filter(Boolean);
  const inside = mountPoints.filter((point) => point === dir || point.startsWith(`${dir}/`));
  if (inside.length > 0) throw new Error(`refusing to remove ${dir}: mounted below it: ${inside.join(", ")}`);
  fs.rmSync(dir, { recursive: true, force: true });
}
