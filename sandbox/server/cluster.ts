// The sandbox's cluster: nodes, storages, containers with their config files, pending changes,
// locks, and the tasks that change them. Every Proxmox semantic lives here; the backend only
// makes containers real.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { BackendArchive, BackendContainerSpec, BackendNetwork, ContainerBackend, RegistryTrust } from "../backend";
import { ApiError, fail, lockTimeout, noSuchConfig, paramError } from "./errors";
import type { Faults } from "./faults";
import { parseSize, splitList } from "./formats";
import { Task, TaskRegistry, TaskWork } from "./tasks";
import { OciRunConfig, isOciArchive, ociArchiveDigest, readOciArchive, skopeoPull } from "./oci";
import { parseBoolean, parsePropertyString, propertyFor, PropertySchema } from "./validate";
import subset = require("../schema/pve-api-subset.json");

export type Params = Record<string, string | number | boolean | undefined>;

export interface StorageVolume {
  volid: string;
  content: string;
  format: string;
  size: number;
  ctime: number;
  vmid?: number;
}

export interface Storage {
  storage: string;
  type: "dir" | "lvmthin";
  content: string[];
  shared: 0;
  total: number;
  volumes: Map<string, StorageVolume>;
  /** The storage's directory on the node, when its files are real (PVE's `path`; vztmpl under `template/cache`). */
  path?: string;
}

/** A metadata-only image for a backend without real files: its digest and the config PVE reads. */
export interface OciImage {
  digest: string;
  /** The image config's run part (Entrypoint, Cmd, Env, WorkingDir, StopSignal). */
  config?: OciRunConfig;
  /** Shorthand for `config.Entrypoint` as one shell-split string. */
  entrypoint?: string;
  /** Shorthand for `config.Env`. */
  env?: Record<string, string>;
}

export interface Container {
  vmid: number;
  node: string;
  /** The config file's keys as stored (strings, like the `.conf` file). */
  conf: Record<string, string>;
  pending: Record<string, string>;
  pendingDelete: Set<string>;
  running: boolean;
  startedAt: number;
  /** Write-only create parameters: never returned by the API. */
  secrets: { password?: string; sshPublicKeys?: string };
  /** The config as it will be once the create task finished (during it, the file holds only `lock: create`). */
  creating?: Record<string, string>;
  /** The config flock (`/run/lock/lxc/pve-config-<vmid>.lock`), held by running tasks. */
  flock: { held: boolean; waiters: Array<() => void> };
  digest: string;
  /** Raw `lxc.*` lines of the config file (`lxc.init.cwd`, `lxc.signal.halt`), returned as `lxc` pairs. */
  lxc: Array<[string, string]>;
}

/** One container's own timings (the bench draws them per container): its tasks' durations by type, its address delay. */
export interface ContainerTimings {
  taskDurationsMs?: Partial<Record<string, number>>;
  ipDelayMs?: number;
}

export interface ClusterOptions {
  nodes: string[];
  backend: ContainerBackend;
  faults: Faults;
  taskDurationsMs: Partial<Record<string, number>>;
  /** Sandbox-only, for the bench: a container's own task durations, where given, over `taskDurationsMs`. */
  containerTimings(vmid: number): ContainerTimings | undefined;
  /** How long a config change waits for the config flock before `got timeout` (PVE: 10 s). */
  lockWaitMs: number;
  ociImages: Record<string, OciImage>;
  /** How the nodes' skopeo trusts registries (their /etc/containers certs.d and auth file). */
  registryTrust?: RegistryTrust;
}

export const DEFAULT_TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const DEFAULT_TASK_MS = 30;
const GiB = 1024 ** 3;

// Keys of the create call that are not config file entries.
const CREATE_ONLY = new Set([
  "node", "vmid", "ostemplate", "password", "ssh-public-keys", "storage", "start", "pool", "force",
  "restore", "unique", "bwlimit", "ignore-unpack-errors", "ha-managed",
]);
// pve-container applies these at once on a running container; everything else goes to pending.
const HOTPLUG = new Set([
  "description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "memory",
  "swap", "cpulimit", "cpuunits",
]);
const isHotplug = (key: string, exists: boolean) => HOTPLUG.has(key) || /^net\d+$/.test(key) || (/^mp\d+$/.test(key) && !exists);

type Schemas = typeof subset.endpoints;
const configReturns = (subset.endpoints as Schemas)["/nodes/{node}/lxc/{vmid}/config"].GET.returns.properties as Record<string, PropertySchema>;
const createProps = (subset.endpoints as Schemas)["/nodes/{node}/lxc"].POST.parameters.properties as Record<string, PropertySchema>;

/** Config values typed as the GET config schema says (numbers and 0/1 booleans are JSON numbers). */
function typed(key: string, value: string): string | number {
  const type = propertyFor(configReturns, key)?.type;
  if ((type === "integer" || type === "number" || type === "boolean") && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function randomMac(): string {
  const bytes = crypto.randomBytes(6);
  // Proxmox's prefix style: locally administered, unicast.
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":").toUpperCase();
}

/** PVE::Storage::normalize_content_filename: no directory part, every character outside `[a-zA-Z0-9_.-]` becomes `_`. */
export function normalizeContentFilename(filename: string): string {
  return filename.replace(/\n$/, "").replace(/^.*[/\\]/, "").replace(/[^a-zA-Z0-9_.-]/g, "_");
}

/** PVE::Tools::get_file_hash, streamed. */
function fileHash(algorithm: string, file: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = crypto.createHash(algorithm);
    fs.createReadStream(file).on("error", reject).on("data", (chunk) => hash.update(chunk)).on("end", () => resolveHash(hash.digest("hex")));
  });
}

/** Tags as PVE stores them: lower-cased, de-duplicated, sorted, `;`-separated. */
export function normalizeTags(tags: string): string {
  return [...new Set(splitList(tags).map((tag) => tag.toLowerCase()))].sort().join(";");
}

/**
 * PVE::Tools::cmd2string (String::ShellQuote), as pve-container src/PVE/LXC/Create.pm stores an OCI
 * entrypoint: a word with only safe characters stays as it is. Not provider/ssh's shellQuote
 * (shell-escape): that one quotes `.`, `,`, `@`, `=` and more, so the config would read differently
 * from what PVE writes, and no npm library reproduces String::ShellQuote's safe set.
 */
function cmdQuote(word: string): string {
  if (word !== "" && !/[^\w!%+,\-./:=@^]/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A metadata-only image's run config, its shorthands folded in. */
function ociRunConfig(image: OciImage): OciRunConfig {
  const config: OciRunConfig = { ...(image.config ?? {}) };
  if (image.entrypoint && !config.Entrypoint) config.Entrypoint = image.entrypoint.match(/'[^']*'|"[^"]*"|\S+/g)!.map((word) => word.replace(/^(['"])(.*)\1$/, "$2"));
  if (image.env && !config.Env) config.Env = Object.entries(image.env).map(([key, value]) => `${key}=${value}`);
  return config;
}

/** PVE::Storage get_vztmpl_dir: `<path>/template/cache`. */
function vztmplDir(storage: Storage): string {
  return path.join(storage.path!, "template", "cache");
}

/** The format PVE's list_volumes reports for a vztmpl file: its compression, or `tar` for an OCI archive. */
function vztmplFormat(name: string): string {
  const match = /\.tar(?:\.(gz|xz|zst|bz2))?$/.exec(name);
  return match?.[1] ? `t${match[1]}` : "tar";
}

function printPropertyString(parsed: Record<string, string>, defaultKey?: string): string {
  const parts: string[] = [];
  if (defaultKey && parsed[defaultKey] !== undefined) parts.push(parsed[defaultKey]);
  for (const key of Object.keys(parsed).sort()) if (key !== defaultKey) parts.push(`${key}=${parsed[key]}`);
  return parts.join(",");
}

const formatOf = (key: string) => propertyFor(createProps, key)?.format as Record<string, PropertySchema>;

function formatSize(bytes: number): string {
  for (const [unit, size] of [["T", 1024 ** 4], ["G", GiB], ["M", 1024 ** 2], ["K", 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

export class Cluster {
  readonly nodes: string[];
  readonly containers = new Map<number, Container>();
  readonly storages = new Map<string, Map<string, Storage>>();
  readonly tasks: TaskRegistry;
  readonly acl: Array<{ path: string; roleid: string; type: "user" | "group" | "token"; ugid: string; propagate: 0 | 1 }> = [];
  readonly pools = new Map<string, Set<number>>();
  /** The API certificate's SHA-256 fingerprint, which `/nodes` reports as each node's `ssl_fingerprint`. */
  sslFingerprint = "";
  private readonly backend: ContainerBackend;
  private readonly faults: Faults;
  private readonly options: ClusterOptions;

  constructor(options: ClusterOptions) {
    this.options = options;
    this.nodes = options.nodes;
    this.backend = options.backend;
    this.faults = options.faults;
    this.tasks = new TaskRegistry({
      durationMs: (type, id) => (/^\d+$/.test(id) ? options.containerTimings(Number(id))?.taskDurationsMs?.[type] : undefined) ?? options.taskDurationsMs[type] ?? DEFAULT_TASK_MS,
      extraDelayMs: (type) => this.faults.taskDelayMs(type),
      injectedFailure: (type) => this.faults.taskFailure(type),
    });
    const now = Math.floor(Date.now() / 1000);
    for (const node of this.nodes) {
      const local: Storage = { storage: "local", type: "dir", content: ["vztmpl", "iso", "backup"], shared: 0, total: 100 * GiB, volumes: new Map() };
      if (this.backend.storageDir) {
        // Real files: the node's vztmpl directory holds the standard template, pulls land next to it.
        local.path = path.join(this.backend.storageDir, node);
        fs.mkdirSync(vztmplDir(local), { recursive: true });
        if (this.backend.standardTemplate) {
          fs.symlinkSync(this.backend.standardTemplate, path.join(vztmplDir(local), DEFAULT_TEMPLATE.split("/")[1]));
        }
      } else {
        const [volid, content] = [DEFAULT_TEMPLATE, "vztmpl"];
        local.volumes.set(volid, { volid, content, format: "tzst", size: 129_000_000, ctime: now - 86_400 });
      }
      const lvm: Storage = { storage: "local-lvm", type: "lvmthin", content: ["rootdir", "images"], shared: 0, total: 400 * GiB, volumes: new Map() };
      this.storages.set(node, new Map([["local", local], ["local-lvm", lvm]]));
    }
  }

  // ---- lookups -------------------------------------------------------------------------------

  assertNode(node: string): void {
    if (!this.nodes.includes(node)) {
      throw fail(`hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
    }
  }

  /** load_config: the container on exactly this node, or `Configuration file ... does not exist`. */
  container(node: string, vmid: number): Container {
    this.assertNode(node);
    const ct = this.containers.get(vmid);
    if (!ct || ct.node !== node) throw noSuchConfig(node, vmid);
    return ct;
  }

  storage(node: string, storeid: string): Storage {
    const storage = this.storages.get(node)?.get(storeid);
    if (!storage) throw fail(`storage '${storeid}' does not exist`);
    return storage;
  }

  /**
   * The container with its real run state: a container whose entrypoint exited has stopped, whatever
   * the last start task said (PVE asks LXC every time). Not while a task holds its config lock.
   */
  async live(ct: Container): Promise<Container> {
    if (!ct.running || ct.flock.held || ct.conf.lock || !this.backend.isRunning) return ct;
    if (!(await this.backend.isRunning(ct.vmid))) {
      ct.running = false;
      ct.startedAt = 0;
    }
    return ct;
  }

  nextId(): number {
    for (let vmid = 100; ; vmid++) if (!this.containers.has(vmid)) return vmid;
  }

  // ---- locks ---------------------------------------------------------------------------------

  /** check_lock: a `lock:` entry in the config blocks changes. */
  private checkLock(ct: Container): void {
    if (ct.conf.lock) throw fail(`CT is locked (${ct.conf.lock})`);
  }

  /** Takes the config flock, waiting up to lockWaitMs like PVE's lock_file (then `got timeout`). */
  private async takeFlock(ct: Container, holder: string): Promise<() => void> {
    if (this.faults.lockFails(ct.vmid, holder)) throw lockTimeout(ct.vmid);
    if (ct.flock.held) {
      const acquired = await new Promise<boolean>((resolve) => {
        const waiter = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          ct.flock.waiters = ct.flock.waiters.filter((entry) => entry !== waiter);
          resolve(false);
        }, this.options.lockWaitMs);
        ct.flock.waiters.push(waiter);
      });
      if (!acquired) throw lockTimeout(ct.vmid);
    }
    ct.flock.held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = ct.flock.waiters.shift();
      if (next) next();
      else ct.flock.held = false;
    };
  }

  private writeConf(ct: Container, conf: Record<string, string>): void {
    ct.conf = conf;
    ct.digest = crypto.createHash("sha1").update(this.confText(ct)).digest("hex");
  }

  private confText(ct: Container): string {
    const lines = Object.keys(ct.conf).sort().map((key) => `${key}: ${ct.conf[key]}`);
    lines.push(...ct.lxc.map(([key, value]) => `${key}: ${value}`));
    const pending = Object.keys(ct.pending).sort().map((key) => `${key}: ${ct.pending[key]}`);
    if (pending.length || ct.pendingDelete.size) {
      lines.push("", "[pve:pending]", ...pending);
      if (ct.pendingDelete.size) lines.push(`delete: ${[...ct.pendingDelete].sort().join(",")}`);
    }
    return lines.join("\n") + "\n";
  }

  // ---- tasks ---------------------------------------------------------------------------------

  private startTask(node: string, type: string, id: string | number, user: string, work: TaskWork): Task {
    return this.tasks.start(node, type, String(id), user, work);
  }

  /**
   * A task that holds the container's config flock while it runs (start, stop, destroy, ...). As in
   * API2/LXC/Status.pm and API2/LXC.pm destroy_vm, the worker takes the lock (lock_config) and reloads
   * the config: a lock timeout or a container gone meanwhile fails the task, not the API call.
   */
  private async lockedTask(ct: Container, type: string, user: string, run: (task: Task) => Promise<void>): Promise<string> {
    let release: (() => void) | undefined;
    const task = this.startTask(ct.node, type, ct.vmid, user, {
      prepare: async () => {
        release = await this.takeFlock(ct, type);
        if (this.containers.get(ct.vmid) !== ct) throw noSuchConfig(ct.node, ct.vmid);
      },
      run: async (current) => run(current),
      finally: () => release?.(),
    });
    return task.upid;
  }

  /** For the snapshot and template endpoints (snapshots.ts): PVE's check_lock, a locked task, a config write, a started CT. */
  assertUnlocked(ct: Container): void {
    this.checkLock(ct);
  }

  runLocked(ct: Container, type: string, user: string, run: (task: Task) => Promise<void>): Promise<string> {
    return this.lockedTask(ct, type, user, run);
  }

  runTask(node: string, type: string, id: string | number, user: string, run: (task: Task) => Promise<void> | void): string {
    return this.startTask(node, type, id, user, { run }).upid;
  }

  saveConf(ct: Container, conf: Record<string, string>): void {
    this.writeConf(ct, conf);
  }

  async applyConf(ct: Container): Promise<void> {
    await this.backend.reconfigure(this.spec(ct));
  }

  async startNow(ct: Container): Promise<void> {
    await this.applyPendingAndStart(ct);
  }

  async stopNow(ct: Container): Promise<void> {
    await this.backend.stop(ct.vmid);
    ct.running = false;
  }

  storageOf(node: string, storeid: string): Storage | undefined {
    return this.storages.get(node)?.get(storeid);
  }

  // ---- container spec for the backend --------------------------------------------------------

  private spec(ct: Container, conf = ct.conf): BackendContainerSpec {
    const networks: BackendNetwork[] = [];
    for (const key of Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort()) {
      const net = parsePropertyString(formatOf("net0"), conf[key], key);
      networks.push({
        name: net.name, hwaddr: net.hwaddr, ip: net.ip, gw: net.gw, ip6: net.ip6, gw6: net.gw6, bridge: net.bridge,
        tag: net.tag ? Number(net.tag) : undefined, hostManaged: parseBoolean(net["host-managed"] ?? "0") === 1,
      });
    }
    const env: Record<string, string> = {};
    for (const pair of (conf.env ?? "").split("\0").filter(Boolean)) {
      const eq = pair.indexOf("=");
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return {
      vmid: ct.vmid,
      hostname: conf.hostname ?? `CT${ct.vmid}`,
      ostemplate: conf["_ostemplate"],
      cores: conf.cores ? Number(conf.cores) : undefined,
      memory: Number(conf.memory ?? 512),
      swap: Number(conf.swap ?? 512),
      networks,
      nameserver: conf.nameserver,
      searchdomain: conf.searchdomain,
      sshPublicKeys: (ct.secrets.sshPublicKeys ?? "").split("\n").map((line) => line.trim()).filter(Boolean),
      env,
      entrypoint: conf.entrypoint,
      unprivileged: conf.unprivileged === "1",
      ostype: conf.ostype,
      lxc: ct.lxc,
    };
  }

  // ---- config normalisation ------------------------------------------------------------------

  /** What PVE stores for a config value: tags normalized, net hwaddr filled in, booleans 0/1. */
  private normalizeValue(key: string, value: string, previous?: string): string {
    if (key === "tags") return normalizeTags(value);
    if (/^net\d+$/.test(key)) {
      const net = parsePropertyString(formatOf(key), value, key);
      if (!net.hwaddr) {
        const old = previous ? parsePropertyString(formatOf(key), previous, key).hwaddr : undefined;
        net.hwaddr = old ?? randomMac();
      }
      net.type = "veth"; // PVE::LXC::Config->parse_lxc_network sets it on every NIC it stores
      return printPropertyString(net);
    }
    const schema = propertyFor(createProps, key);
    if (schema?.type === "boolean") return String(parseBoolean(String(value)) ?? value);
    return String(value);
  }

  /** rootfs / mpN `STORAGE:SIZE_GB` allocates a volume; an existing volume is kept as it is. */
  private allocateVolume(node: string, vmid: number, key: string, value: string, diskIndex: number): string {
    const format = formatOf(key === "rootfs" ? "rootfs" : "mp0");
    const parsed = parsePropertyString(format, value, key);
    const alloc = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$/i.exec(parsed.volume);
    if (!alloc) return printPropertyString(parsed, "volume");
    const storage = this.storage(node, alloc[1]);
    if (!storage.content.includes("rootdir")) throw fail(`storage '${alloc[1]}' does not support container directories`);
    const bytes = Math.round(Number(alloc[2]) * GiB);
    const volid = `${storage.storage}:vm-${vmid}-disk-${diskIndex}`;
    storage.volumes.set(volid, { volid, content: "rootdir", format: "raw", size: bytes, ctime: Math.floor(Date.now() / 1000), vmid });
    parsed.volume = volid;
    parsed.size = formatSize(bytes);
    return printPropertyString(parsed, "volume");
  }

  private freeVolumes(ct: Container): void {
    for (const storages of this.storages.get(ct.node)?.values() ?? []) {
      for (const [volid, volume] of storages.volumes) if (volume.vmid === ct.vmid) storages.volumes.delete(volid);
    }
  }

  // ---- containers: create, clone, destroy ----------------------------------------------------

  private reserve(node: string, vmid: number): Container {
    const existing = this.containers.get(vmid);
    if (existing) throw fail(`CT ${vmid} already exists on node '${existing.node}'`);
    if (this.faults.lockFails(vmid, "create")) throw lockTimeout(vmid);
    const ct: Container = {
      vmid, node, conf: {}, pending: {}, pendingDelete: new Set(), running: false, startedAt: 0, secrets: {},
      flock: { held: false, waiters: [] }, digest: "", lxc: [],
    };
    this.writeConf(ct, { lock: "create" });
    this.containers.set(vmid, ct);
    return ct;
  }

  async createContainer(node: string, params: Params, user: string): Promise<string> {
    this.assertNode(node);
    const vmid = Number(params.vmid);
    const ostemplate = String(params.ostemplate);
    const templateStorage = /^([a-z][a-z0-9\-_.]*[a-z0-9]):/i.exec(ostemplate);
    if (templateStorage) this.storage(node, templateStorage[1]);
    else if (!ostemplate.startsWith("/")) throw fail(`unable to parse volume ID '${ostemplate}'`);
    const storeid = String(params.storage ?? "local");
    const rootfs = String(params.rootfs ?? `${storeid}:4`);
    const rootStorage = /^([a-z][a-z0-9\-_.]*[a-z0-9]):/i.exec(rootfs);
    if (rootStorage) {
      const storage = this.storage(node, rootStorage[1]);
      if (!storage.content.includes("rootdir")) throw fail(`storage '${storage.storage}' does not support container directories`);
    }
    if (params.pool !== undefined && !this.pools.has(String(params.pool))) throw fail(`pool '${params.pool}' does not exist`);

    let ct: Container;
    try {
      ct = this.reserve(node, vmid);
    } catch (error) {
      // API2/LXC.pm create_vm: `die "$emsg $@"` around create_and_lock_config (check_vmid_unused's refusal comes before, bare).
      throw error instanceof ApiError && error.message.startsWith("can't lock file") ? fail(`unable to create CT ${vmid} - ${error.message}`) : error;
    }
    ct.secrets = {
      password: params.password !== undefined ? String(params.password) : undefined,
      sshPublicKeys: params["ssh-public-keys"] !== undefined ? String(params["ssh-public-keys"]) : undefined,
    };
    const conf: Record<string, string> = { arch: "amd64", hostname: `CT${vmid}`, memory: "512", swap: "512" };
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || CREATE_ONLY.has(key)) continue;
      conf[key] = this.normalizeValue(key, String(value));
    }
    // API2/LXC.pm create_vm: `unprivileged` defaults to 1, and only an unprivileged container has the key.
    if (params.unprivileged === undefined || parseBoolean(String(params.unprivileged)) === 1) conf.unprivileged = "1";
    else delete conf.unprivileged;
    const startAfter = params.start !== undefined && parseBoolean(String(params.start)) === 1;
    if (params.pool !== undefined) this.pools.get(String(params.pool))!.add(vmid);

    // Set once the container is complete: a failed start after it does not undo the create.
    let created = false;
    const task = this.startTask(node, "vzcreate", vmid, user, {
      run: async (current) => {
        const template = this.findVolume(node, ostemplate);
        if (!template) throw new Error(`unable to create CT ${vmid} - volume '${ostemplate}' does not exist`);
        current.log.push(`extracting archive '${ostemplate}'`);
        try {
          conf.rootfs = this.allocateVolume(node, vmid, "rootfs", rootfs, 0);
        } catch (error) {
          throw new Error(`unable to create CT ${vmid} - ${(error as Error).message.trim()}`);
        }
        let archive: BackendArchive | undefined;
        if (template.path) {
          const oci = await isOciArchive(template.path);
          archive = { path: template.path, kind: oci ? "oci" : "template" };
          if (oci) this.applyOciConfig(conf, ct, (await readOciArchive(template.path)).config, current.log);
        } else {
          // Records only: the OS type from the template's name, the image config from its metadata.
          conf.ostype = conf.ostype ?? (template.oci ? "unmanaged" : ostemplate.includes("alpine") ? "alpine" : ostemplate.includes("ubuntu") ? "ubuntu" : "debian");
          if (template.oci) this.applyOciConfig(conf, ct, ociRunConfig(template.oci), current.log);
        }
        const spec = { ...this.spec(ct, { ...conf, _ostemplate: ostemplate }), archive };
        const made = await this.backend.create(spec);
        // Setup.pm detects the OS type in the extracted rootfs (unmanaged when there is no /etc/os-release).
        if (made && made.ostype) conf.ostype = made.ostype;
        this.writeConf(ct, conf);
        current.log.push(`Creating container ${vmid} done`);
        created = true;
        // PVE::API2::LXC create_vm: after the create, `start` forks vm_start's own vzstart task and the
        // create task ends; a start refused up front fails the create task, the container stays.
        if (startAfter) await this.power(node, vmid, "start", {}, user);
      },
      rollback: async () => {
        if (created) return;
        await this.backend.destroy(vmid).catch(() => undefined);
        this.freeVolumes(ct);
        for (const members of this.pools.values()) members.delete(vmid);
        if (this.containers.get(vmid) === ct) this.containers.delete(vmid);
      },
    });
    return task.upid;
  }

  /**
   * Create.pm restore_oci_archive: Entrypoint+Cmd other than /sbin/init becomes `entrypoint` with
   * `cmode: console` and `host-managed=1` on every netN that does not say otherwise; Env becomes
   * `env`; WorkingDir and StopSignal (default SIGTERM) become raw `lxc.*` keys.
   */
  private applyOciConfig(conf: Record<string, string>, ct: Container, config: OciRunConfig, log: string[]): void {
    const forbidden = /[\x00-\x08\x10-\x1F\x7F]/;
    for (const [key, value] of Object.entries(config)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((entry) => typeof entry === "string" && forbidden.test(entry))) {
        throw new Error(`OCI config ${Array.isArray(value) ? "array-value" : "value"} for '${key}' contains forbidden control characters!`);
      }
    }
    const init = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    if (init.length > 0 && init[0] !== "/sbin/init") {
      conf.entrypoint = init.map(cmdQuote).join(" ");
      conf.cmode = "console";
      for (const key of Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort()) {
        const net = parsePropertyString(formatOf(key), conf[key], key);
        if (net["host-managed"] !== undefined) continue;
        log.push(`Auto-Enabling host-managed network for network device ${key}.`);
        net["host-managed"] = "1";
        conf[key] = printPropertyString(net);
      }
    }
    ct.lxc = [];
    if (config.WorkingDir) ct.lxc.push(["lxc.init.cwd", config.WorkingDir]);
    if (config.Env) conf.env = config.Env.join("\0");
    ct.lxc.push(["lxc.signal.halt", config.StopSignal ?? "SIGTERM"]);
  }

  private findVolume(node: string, volid: string): (StorageVolume & { oci?: OciImage; path?: string }) | undefined {
    const storeid = volid.split(":")[0];
    const storage = this.storages.get(node)?.get(storeid);
    if (!storage) return undefined;
    const match = /^[^:]+:vztmpl\/([^/]+)$/.exec(volid);
    if (storage.path && match) {
      // A real vztmpl directory: the file is the volume, whatever put it there.
      const file = path.join(vztmplDir(storage), match[1]);
      let stat: fs.Stats;
      try { stat = fs.statSync(file); } catch { return undefined; }
      return { volid, content: "vztmpl", format: vztmplFormat(match[1]), size: stat.size, ctime: Math.floor(stat.mtimeMs / 1000), path: file };
    }
    return storage.volumes.get(volid) as (StorageVolume & { oci?: OciImage }) | undefined;
  }

  async cloneContainer(node: string, params: Params, user: string): Promise<string> {
    // Every sandbox storage is local (shared: 0), so a clone always lands on the source's node.
    const source = await this.live(this.container(node, Number(params.vmid)));
    const newid = Number(params.newid);
    // API2/LXC.pm clone_vm: its checks, in its order, before the new config exists.
    if (params.pool !== undefined && !this.pools.has(String(params.pool))) throw fail(`pool '${params.pool}' does not exist`);
    const targetParam = params.target !== undefined && String(params.target) !== node && String(params.target) !== "localhost" ? String(params.target) : undefined;
    if (targetParam) this.assertNode(targetParam);
    const storageParam = params.storage !== undefined ? String(params.storage) : undefined;
    if (storageParam) {
      this.storage(node, storageParam);
      if (targetParam) {
        this.storage(targetParam, storageParam);
        throw fail(`can't clone to non-shared storage '${storageParam}'`); // every sandbox storage is local
      }
    }
    const target = targetParam ?? node;
    this.checkLock(source);
    if (this.containers.has(newid)) throw fail(`CT ${newid} already exists on node '${this.containers.get(newid)!.node}'`);
    const full = params.full !== undefined ? parseBoolean(String(params.full)) === 1 : source.conf.template !== "1";
    if (storageParam && !full) throw fail("parameter 'storage' not allowed for linked clones");
    if (params.snapname !== undefined && !this.snapshotNames(source).includes(String(params.snapname))) throw fail(`snapshot '${params.snapname}' does not exist`);
    if (full && source.running && params.snapname === undefined) throw fail("Cannot do full clones on a running container without snapshots");
    if (targetParam) throw fail(`can't clone CT to node '${targetParam}' (CT uses local storage)`);
    const ct = this.reserve(target, newid);
    const conf: Record<string, string> = { ...source.conf };
    ct.lxc = source.lxc.map(([key, value]) => [key, value]);
    delete conf.template;
    if (params.hostname !== undefined) conf.hostname = String(params.hostname);
    for (const key of Object.keys(conf).filter((k) => /^net\d+$/.test(k))) {
      const net = parsePropertyString(formatOf(key), conf[key], key);
      net.hwaddr = randomMac();
      conf[key] = printPropertyString(net);
    }
    source.conf.lock = "disk";
    this.writeConf(source, source.conf);
    const task = this.startTask(node, "vzclone", source.vmid, user, {
      run: async () => {
        const rootfs = parsePropertyString(formatOf("rootfs"), conf.rootfs ?? "local-lvm:vm-0-disk-0", "rootfs");
        const storeid = String(params.storage ?? rootfs.volume.split(":")[0]);
        const sizeGiB = (parseSize(rootfs.size ?? "4G") ?? 4 * GiB) / GiB;
        delete rootfs.volume;
        delete rootfs.size;
        const rest = printPropertyString(rootfs);
        conf.rootfs = this.allocateVolume(target, newid, "rootfs", `${storeid}:${sizeGiB}${rest ? `,${rest}` : ""}`, 0);
        // A full clone copies the source's rootfs (API2/LXC.pm clone_vm: copy_volume); a backend without files just records it.
        if (this.backend.clone) await this.backend.clone(source.vmid, this.spec(ct, conf));
        else await this.backend.create(this.spec(ct, conf));
        this.writeConf(ct, conf);
      },
      rollback: async () => {
        await this.backend.destroy(newid).catch(() => undefined);
        this.freeVolumes(ct);
        if (this.containers.get(newid) === ct) this.containers.delete(newid);
      },
      finally: () => {
        delete source.conf.lock;
        this.writeConf(source, source.conf);
      },
    });
    if (params.pool !== undefined) this.pools.get(String(params.pool))?.add(newid);
    return task.upid;
  }

  async destroyContainer(node: string, vmid: number, params: Params, user: string): Promise<string> {
    const ct = await this.live(this.container(node, vmid));
    this.checkLock(ct);
    const force = parseBoolean(String(params.force ?? "0")) === 1;
    if (ct.conf.protection === "1") throw fail(`can't remove CT ${vmid} - protection mode enabled`);
    if (ct.running && !force) throw fail(`unable to destroy CT ${vmid} - container is running`);
    const purge = parseBoolean(String(params.purge ?? "0")) === 1;
    return this.lockedTask(ct, "vzdestroy", user, async (task) => {
      if (ct.running) {
        await this.backend.stop(vmid);
        ct.running = false;
      }
      await this.backend.destroy(vmid);
      this.freeVolumes(ct);
      this.containers.delete(vmid);
      // PVE::AccessControl::remove_vm_access runs with or without `purge`: the guest's ACL entries and pool membership go.
      for (const members of this.pools.values()) members.delete(vmid);
      for (let i = this.acl.length - 1; i >= 0; i--) if (this.acl[i].path === `/vms/${vmid}`) this.acl.splice(i, 1);
      if (purge) task.log.push(`purging CT ${vmid} from related configurations..`);
    });
  }

  /** Set by snapshots.ts: the names of a container's snapshots. */
  snapshotNames: (ct: Container) => string[] = () => [];

  // ---- power ---------------------------------------------------------------------------------

  /** On start PVE first applies what is pending, then starts the container. */
  private async applyPendingAndStart(ct: Container): Promise<void> {
    if (Object.keys(ct.pending).length || ct.pendingDelete.size) {
      const conf = { ...ct.conf, ...ct.pending };
      for (const key of ct.pendingDelete) delete conf[key];
      ct.pending = {};
      ct.pendingDelete = new Set();
      this.writeConf(ct, conf);
      await this.backend.reconfigure(this.spec(ct));
    }
    await this.backend.start(ct.vmid);
    ct.running = true;
    ct.startedAt = Date.now();
  }

  async power(node: string, vmid: number, action: "start" | "stop" | "shutdown" | "reboot", params: Params, user: string): Promise<string> {
    const ct = await this.live(this.container(node, vmid));
    const skiplock = parseBoolean(String(params.skiplock ?? "0")) === 1;
    if (!skiplock && action !== "stop") this.checkLock(ct);
    if (action === "start" && ct.running) throw fail(`CT ${vmid} already running`);
    if (action !== "start" && !ct.running) throw fail(`CT ${vmid} not running`);
    if (action === "start" && ct.conf.template === "1") throw fail(`cannot start container template`);
    const type = { start: "vzstart", stop: "vzstop", shutdown: "vzshutdown", reboot: "vzreboot" }[action];
    return this.lockedTask(ct, type, user, async () => {
      if (action === "start") return this.applyPendingAndStart(ct);
      if (action === "stop") await this.backend.stop(vmid);
      else if (action === "shutdown") {
        const forceStop = parseBoolean(String(params.forceStop ?? "0")) === 1;
        await this.backend.shutdown(vmid, { timeoutSeconds: Number(params.timeout ?? 60), forceStop });
      } else {
        await this.backend.stop(vmid);
        ct.running = false;
        return this.applyPendingAndStart(ct);
      }
      ct.running = false;
    });
  }

  // ---- config --------------------------------------------------------------------------------

  readConfig(node: string, vmid: number, current: boolean): Record<string, string | number | string[][]> {
    const ct = this.container(node, vmid);
    const conf: Record<string, string> = { ...ct.conf };
    if (!current) {
      Object.assign(conf, ct.pending);
      for (const key of ct.pendingDelete) delete conf[key];
    }
    const result: Record<string, string | number | string[][]> = {};
    for (const key of Object.keys(conf).sort()) result[key] = typed(key, conf[key]);
    if (ct.lxc.length > 0) result.lxc = ct.lxc.map(([key, value]) => [key, value]);
    result.digest = ct.digest;
    return result;
  }

  readPending(node: string, vmid: number): Array<Record<string, string | number>> {
    const ct = this.container(node, vmid);
    const keys = new Set([...Object.keys(ct.conf), ...Object.keys(ct.pending), ...ct.pendingDelete]);
    return [...keys].sort().map((key) => {
      const entry: Record<string, string | number> = { key };
      if (ct.conf[key] !== undefined) entry.value = typed(key, ct.conf[key]);
      if (ct.pending[key] !== undefined) entry.pending = typed(key, ct.pending[key]);
      if (ct.pendingDelete.has(key)) entry.delete = 1;
      return entry;
    });
  }

  async updateConfig(node: string, vmid: number, params: Params): Promise<null> {
    const ct = this.container(node, vmid);
    const changes: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || ["node", "vmid", "digest", "delete", "revert"].includes(key)) continue;
      changes[key] = String(value);
    }
    const deletes = params.delete !== undefined ? splitList(String(params.delete)) : [];
    const reverts = params.revert !== undefined ? splitList(String(params.revert)) : [];
    if (Object.keys(changes).length === 0 && deletes.length === 0 && reverts.length === 0) throw fail("no options specified");
    const problems: Record<string, string> = {};
    for (const key of deletes) {
      if (changes[key] !== undefined) problems.delete = `cannot set and delete '${key}' at the same time`;
    }
    if (Object.keys(problems).length) throw paramError(problems);

    const release = await this.takeFlock(ct, "config");
    try {
      if (params.digest !== undefined && params.digest !== ct.digest) {
        throw fail("detected modified configuration - file changed by other user? Try again.");
      }
      this.checkLock(ct);
      for (const key of [...deletes, ...Object.keys(changes)]) {
        if (key === "unprivileged") throw fail(`unable to ${deletes.includes(key) ? "delete" : "modify"} read-only option: '${key}'`);
      }
      const conf = { ...ct.conf };
      for (const key of reverts) {
        delete ct.pending[key];
        ct.pendingDelete.delete(key);
      }
      for (const key of deletes) {
        if (ct.running && !isHotplug(key, true)) {
          delete ct.pending[key];
          if (conf[key] !== undefined) ct.pendingDelete.add(key);
        } else {
          delete conf[key];
          delete ct.pending[key];
          ct.pendingDelete.delete(key);
        }
      }
      for (const [key, raw] of Object.entries(changes)) {
        let value = this.normalizeValue(key, raw, ct.pending[key] ?? conf[key]);
        if (/^mp\d+$/.test(key) && (ct.pending[key] ?? conf[key]) === undefined) {
          value = this.allocateVolume(node, vmid, key, value, this.nextDiskIndex(ct));
        }
        if (ct.running && !isHotplug(key, conf[key] !== undefined)) {
          ct.pending[key] = value;
          ct.pendingDelete.delete(key);
        } else {
          conf[key] = value;
          delete ct.pending[key];
          ct.pendingDelete.delete(key);
        }
      }
      // PVE::AbstractConfig cleanup_pending (LXC/Config.pm update_pct_config calls it): a pending value equal
      // to the current one, or a pending delete of a key that is not set, is no change and is dropped.
      for (const key of Object.keys(ct.pending)) if (ct.pending[key] === conf[key]) delete ct.pending[key];
      for (const key of [...ct.pendingDelete]) if (conf[key] === undefined) ct.pendingDelete.delete(key);
      this.writeConf(ct, conf);
      await this.backend.reconfigure(this.spec(ct));
    } finally {
      release();
    }
    return null;
  }

  private nextDiskIndex(ct: Container): number {
    let index = 0;
    for (const storages of this.storages.get(ct.node)?.values() ?? []) {
      for (const volume of storages.volumes.values()) {
        const match = volume.vmid === ct.vmid ? /-disk-(\d+)$/.exec(volume.volid) : null;
        if (match) index = Math.max(index, Number(match[1]) + 1);
      }
    }
    return index;
  }

  async resize(node: string, vmid: number, params: Params, user: string): Promise<string> {
    const ct = this.container(node, vmid);
    const disk = String(params.disk);
    this.checkLock(ct);
    if (params.digest !== undefined && params.digest !== ct.digest) {
      throw fail("detected modified configuration - file changed by other user? Try again.");
    }
    const value = ct.conf[disk];
    if (!value) throw fail(`unable to parse config - no such disk '${disk}'`);
    const mount = parsePropertyString(formatOf(disk === "rootfs" ? "rootfs" : "mp0"), value, disk);
    const current = parseSize(mount.size ?? "0") ?? 0;
    const text = String(params.size);
    const match = /^(\+)?(\d+(?:\.\d+)?[KMGT]?)$/.exec(text)!;
    const bytes = parseSize(match[2])!; // without a unit, bytes (PVE::JSONSchema::parse_size)
    const wanted = match[1] ? current + bytes : bytes;
    if (wanted < current) throw fail("unable to shrink disk size");
    if (wanted === current) throw fail("disk is already at specified size"); // API2/LXC.pm resize_vm
    return this.lockedTask(ct, "resize", user, async () => {
      mount.size = formatSize(wanted);
      const volume = this.findVolume(node, mount.volume);
      if (volume) volume.size = wanted;
      this.writeConf(ct, { ...ct.conf, [disk]: printPropertyString(mount, "volume") });
    });
  }

  async interfaces(node: string, vmid: number): Promise<unknown> {
    this.assertNode(node);
    // PVE::LXC::get_interfaces (pve-container src/PVE/LXC.pm) never reads the config: `find_lxc_pid` fails
    // for a CT that is stopped, on another node or nowhere, and it returns undef, so `data` is null.
    const known = this.containers.get(vmid);
    if (!known || known.node !== node) return null;
    const ct = await this.live(known);
    if (!ct.running) return null;
    const list = await this.backend.interfaces(vmid);
    return list.map((iface) => {
      const addresses: Array<{ "ip-address": string; "ip-address-type": string; prefix: number }> = [];
      for (const [cidr, type] of [[iface.inet, "inet"], [iface.inet6, "inet6"]] as const) {
        if (!cidr) continue;
        const [address, prefix] = cidr.split("/");
        addresses.push({ "ip-address": address, "ip-address-type": type, prefix: Number(prefix) });
      }
      const entry: Record<string, unknown> = {
        name: iface.name, hwaddr: iface.hwaddr, "hardware-address": iface.hwaddr, "ip-addresses": addresses,
      };
      if (iface.inet) entry.inet = iface.inet;
      if (iface.inet6) entry.inet6 = iface.inet6;
      return entry;
    });
  }

  status(ct: Container): Record<string, unknown> {
    const conf = ct.conf;
    const maxdisk = parseSize(conf.rootfs ? parsePropertyString(formatOf("rootfs"), conf.rootfs, "rootfs").size ?? "0" : "0") ?? 0;
    const result: Record<string, unknown> = {
      vmid: ct.vmid,
      name: conf.hostname ?? `CT${ct.vmid}`,
      status: ct.running ? "running" : "stopped",
      type: "lxc",
      maxmem: Number(conf.memory ?? 512) * 1024 ** 2,
      maxswap: Number(conf.swap ?? 512) * 1024 ** 2,
      maxdisk,
      cpus: Number(conf.cores ?? 1),
      cpu: 0,
      mem: ct.running ? 32 * 1024 ** 2 : 0,
      disk: 0,
      netin: 0,
      netout: 0,
      diskread: 0,
      diskwrite: 0,
      uptime: ct.running ? Math.floor((Date.now() - ct.startedAt) / 1000) : 0,
      ha: { managed: 0 },
    };
    if (conf.lock) result.lock = conf.lock;
    if (conf.tags) result.tags = conf.tags;
    if (conf.template === "1") result.template = 1;
    return result;
  }

  // ---- storage -------------------------------------------------------------------------------

  /**
   * PVE::API2::Storage::Status oci_registry_pull: checks before the worker (file storage, `vztmpl`
   * content, no existing file), then a `ociregistrypull` task whose log is skopeo's output.
   */
  ociPull(node: string, storeid: string, params: Params, user: string): string {
    const storage = this.storage(node, storeid);
    if (storage.type !== "dir") throw fail(`can't upload to storage type '${storage.type}', not a file based storage!`);
    if (!storage.content.includes("vztmpl")) throw fail(`storage '${storeid}' is not configured for content-type 'vztmpl'`);
    const reference = String(params.reference);
    const filename = `${normalizeContentFilename(String(params.filename ?? reference))}.tar`;
    const volid = `${storeid}:vztmpl/${filename}`;
    if (this.findVolume(node, volid)) throw fail(`refusing to override existing file '${filename}'`);
    // The worker id is encode_text($filename); a normalized name has nothing to escape.
    if (storage.path) {
      const target = path.join(vztmplDir(storage), filename);
      return this.startTask(node, "ociregistrypull", filename, user, {
        run: (task) => skopeoPull(reference, target, this.options.registryTrust ?? {}, (line) => task.log.push(line)),
      }).upid;
    }
    const image = this.options.ociImages[reference] ?? {
      digest: `sha256:${crypto.createHash("sha256").update(reference).digest("hex")}`,
    };
    const derived = (what: string) => `sha256:${crypto.createHash("sha256").update(`${image.digest}/${what}`).digest("hex")}`;
    return this.startTask(node, "ociregistrypull", filename, user, {
      run: (task) => {
        // `skopeo copy docker://<ref> oci-archive:<path>` without a terminal: one line per step.
        task.log.push(
          "Getting image source signatures",
          `Copying blob ${derived("layer")}`,
          `Copying config ${derived("config")}`,
          "Writing manifest to image destination",
        );
        const volume: StorageVolume & { oci?: OciImage; notes?: string } = {
          volid, content: "vztmpl", format: "tar", size: 10_000_000, ctime: Math.floor(Date.now() / 1000), oci: image,
        };
        storage.volumes.set(volid, volume);
      },
    }).upid;
  }

  /**
   * PVE::API2::Storage::Status upload (pve-storage src/PVE/API2/Storage/Status.pm): a file storage,
   * the normalized name's extension for its content (PVE::Storage VZTMPL_EXT_RE_1 allows a bare
   * `.tar`, an OCI archive), then an `imgcopy` task that checks the checksum and copies the file over
   * whatever has that name. The temporary file is removed either way.
   */
  upload(node: string, storeid: string, params: Params, user: string): string {
    const tmpfilename = params.tmpfilename !== undefined ? String(params.tmpfilename) : undefined;
    try {
      const storage = this.storage(node, storeid);
      if (storage.type !== "dir") throw fail(`can't upload to storage type '${storage.type}'`);
      if (!tmpfilename) throw fail("missing temporary file name");
      let size: number;
      try { size = fs.statSync(tmpfilename).size; } catch { throw fail(`temporary file '${tmpfilename}' does not exist`); }
      const content = String(params.content);
      const filename = normalizeContentFilename(String(params.filename));
      if (content === "iso" && !/[^/]+\.(?:iso|img)$/i.test(filename)) throw paramError({ filename: "wrong file extension" });
      if (content === "vztmpl" && !/[^/]+\.(?:tar(?!\.)|tar\.(?:gz|xz|zst|bz2))$/i.test(filename)) throw paramError({ filename: "wrong file extension" });
      if (content === "import" && !/[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$/.test(filename)) throw paramError({ filename: "invalid filename or wrong extension" });
      if (!storage.content.includes(content)) throw fail(`storage '${storeid}' does not support '${content}' content`);
      const dest = storage.path ? path.join(content === "vztmpl" ? vztmplDir(storage) : path.join(storage.path, "template", "iso"), filename) : `/var/lib/vz/template/cache/${filename}`;
      const [checksum, algorithm] = [params.checksum, params["checksum-algorithm"]].map((value) => value === undefined ? undefined : String(value));
      const owned = tmpfilename;
      return this.startTask(node, "imgcopy", "", user, {
        run: async (task) => {
          task.log.push(`starting file import from: ${owned}`);
          if (algorithm) {
            const got = await fileHash(algorithm, owned);
            if (got.toLowerCase() !== checksum!.toLowerCase()) {
              task.log.push("calculating checksum...");
              throw new Error(`checksum mismatch: got '${got}' != expect '${checksum}'`);
            }
            task.log.push("calculating checksum...OK, checksum verified");
          }
          task.log.push(`target node: ${node}`, `target file: ${dest}`, `file size is: ${size}`, `command: cp -- ${owned} ${dest}`);
          const volid = `${storeid}:${content}/${filename}`;
          if (storage.path) {
            fs.mkdirSync(path.dirname(dest), { recursive: true });
            fs.copyFileSync(owned, dest);
          } else {
            // No real files on this backend: the volume is its listing, the image's digest its index.json's.
            const digest = content === "vztmpl" ? await ociArchiveDigest(owned) : undefined;
            const volume: StorageVolume & { oci?: OciImage } = { volid, content, format: vztmplFormat(filename), size, ctime: Math.floor(Date.now() / 1000) };
            if (digest) volume.oci = { digest };
            storage.volumes.set(volid, volume);
          }
          task.log.push("finished file import successfully");
        },
        finally: () => fs.rmSync(owned, { force: true }),
      }).upid;
    } catch (error) {
      if (tmpfilename) fs.rmSync(tmpfilename, { force: true });
      throw error;
    }
  }

  /**
   * PVE::API2::Storage::Content delete (pve-storage src/PVE/API2/Storage/Content.pm): an `imgdel` task
   * with the storage as its id; a file that is not there fails the task as the dir plugin's unlink does.
   */
  deleteVolume(node: string, storeid: string, volume: string, user: string): string {
    this.assertNode(node);
    const volid = volume.includes(":") ? volume : `${storeid}:${volume}`;
    const storage = this.storage(node, volid.split(":")[0]);
    return this.startTask(node, "imgdel", storage.storage, user, {
      run: (task) => {
        const found = this.findVolume(node, volid);
        const file = found?.path ?? (storage.path ? path.join(vztmplDir(storage), volid.replace(/^[^:]+:vztmpl\//, "")) : `/var/lib/vz/template/cache/${volid.split("/").pop()}`);
        if (!found) throw new Error(`unlink '${file}' failed - No such file or directory`);
        if (found.path) fs.rmSync(found.path);
        else storage.volumes.delete(volid);
        task.log.push(`Removed volume '${volid}'`);
      },
    }).upid;
  }

  /** `GET /storage`: storage.cfg, the same on every node. */
  storageConfig(type?: string): unknown[] {
    const digest = crypto.createHash("sha1").update("storage.cfg").digest("hex");
    const first = this.storages.get(this.nodes[0])!;
    return [...first.values()]
      .filter((storage) => !type || storage.type === type)
      .map((storage) => storage.type === "dir"
        ? { storage: storage.storage, type: storage.type, path: "/var/lib/vz", content: storage.content.join(","), digest }
        : { storage: storage.storage, type: storage.type, vgname: "pve", thinpool: "data", content: storage.content.join(","), digest });
  }

  storageContent(node: string, storeid: string, params: Params): unknown[] {
    const storage = this.storage(node, storeid);
    const content = params.content !== undefined ? String(params.content) : undefined;
    const vmid = params.vmid !== undefined ? Number(params.vmid) : undefined;
    const volumes = [...storage.volumes.values()];
    if (storage.path) {
      for (const name of fs.readdirSync(vztmplDir(storage)).filter((entry) => /\.tar(\.(gz|xz|zst|bz2))?$/.test(entry)).sort()) {
        const volume = this.findVolume(node, `${storeid}:vztmpl/${name}`);
        if (volume) volumes.push(volume);
      }
    }
    return volumes
      .filter((volume) => (!content || volume.content === content) && (vmid === undefined || volume.vmid === vmid))
      .map((volume) => {
        const entry: Record<string, unknown> = { volid: volume.volid, content: volume.content, format: volume.format, size: volume.size, ctime: volume.ctime };
        if (volume.vmid !== undefined) entry.vmid = volume.vmid;
        return entry;
      });
  }

  storageList(node: string, params: Params): unknown[] {
    this.assertNode(node);
    const content = params.content !== undefined ? splitList(String(params.content)) : [];
    const wanted = params.storage !== undefined ? String(params.storage) : undefined;
    return [...this.storages.get(node)!.values()]
      .filter((storage) => content.every((kind) => storage.content.includes(kind)) && (!wanted || storage.storage === wanted))
      .map((storage) => {
        const used = (this.storageContent(node, storage.storage, {}) as StorageVolume[]).reduce((sum, volume) => sum + volume.size, 0);
        return {
          storage: storage.storage, type: storage.type, content: storage.content.join(","), shared: 0, active: 1, enabled: 1,
          total: storage.total, used, avail: storage.total - used, used_fraction: used / storage.total,
        };
      });
  }

  async close(): Promise<void> {
    await this.tasks.close();
  }
}

export { ApiError };
