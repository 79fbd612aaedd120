// A Proxmox-VE-API-compatible HTTPS server for tests, benchmarks and local development.
import * as crypto from "crypto";
import type { ContainerBackend, RegistryTrust } from "./backend";
import { AccessControl, ALL_PRIVILEGES, UserEntry, validAclPath } from "./server/access";
import { Authenticator, SandboxUser, tokenInfo } from "./server/auth";
import { Cluster, OciImage, type ContainerTimings } from "./server/cluster";
import { FaultInjector, Faults } from "./server/faults";
import { RequestLogEntry, SandboxHttpServer, SchemaViolation } from "./server/http";
import { attachSnapshots } from "./server/snapshots";
import { makeCertificate } from "./server/tls";
import { MemoryBackend } from "./memory";

export type { ContainerBackend, RegistryTrust } from "./backend";
export type { EndpointFault, FaultInjector, TaskFault } from "./server/faults";
export type { RequestLogEntry, SchemaViolation } from "./server/http";
export type { SandboxUser } from "./server/auth";

/** Users, groups, custom roles and ACL entries to start with, as `pveum` would have set them up. */
export interface SandboxAccess {
  users?: SandboxUser[];
  groups?: string[];
  /** Custom role -> privileges. */
  roles?: Record<string, string[]>;
  /** `users`/`groups`/`tokens` is the subject (`user@realm`, a group, `user@realm!token`); `propagate` defaults to true. */
  acl?: Array<{ path: string; roles: string | string[]; users?: string; groups?: string; tokens?: string; propagate?: boolean }>;
}
export type { ContainerTimings, OciImage } from "./server/cluster";
export { MemoryBackend } from "./memory";

export interface SandboxOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Cluster node names (default pve1, pve2, pve3). */
  nodes?: string[];
  /** `memory` (default), `lxc` (real containers when run as root with LXC; falls back to memory), or a backend object. */
  backend?: "memory" | "lxc" | ContainerBackend;
  /** Task durations by task type (`vzcreate`, `vzstart`, ...), default 30 ms each. */
  taskDurationsMs?: Partial<Record<string, number>>;
  /** How long after start a DHCP address shows in `.../interfaces` (memory backend; default 0). */
  ipDelayMs?: number;
  /** Ticket lifetime (default 2 h, as PVE). */
  ticketLifetimeMs?: number;
  /** How long a config change waits for a busy config lock before `got timeout` (default 10 s, as PVE). */
  lockWaitMs?: number;
  /**
   * Users besides `root@pam` (which always exists, with the token `launchpad` without privilege
   * separation: every privilege, but it is not `root@pam` for the checks PVE keeps for root@pam alone).
   */
  users?: SandboxUser[];
  /** Groups, custom roles and ACLs to start with (users may be given here too). */
  access?: SandboxAccess;
  /** The root password (default: random). */
  password?: string;
  /** Metadata-only OCI images by reference, for `oci-registry-pull` on the memory backend (default: a digest derived from the reference, no config). */
  ociImages?: Record<string, OciImage>;
  /** How the nodes' skopeo trusts registries (LXC backend): a certs.d directory (`ca.crt`) and an auth file, as /etc/containers holds them on a node. */
  registryTrust?: RegistryTrust;
  /** Print one line per request on stderr. */
  logRequests?: boolean;
}

export interface SandboxContainer {
  vmid: number;
  node: string;
  status: "running" | "stopped";
  /** The current config (pending changes not applied), as GET config with current=1 returns it. */
  config: Record<string, string | number | string[][]>;
  tags: string[];
  lock?: string;
}

export interface Sandbox {
  /** `https://127.0.0.1:PORT` */
  endpoint: string;
  /** `root@pam!launchpad=<uuid>`: what goes after `PVEAPIToken=`. */
  apiToken: string;
  username: string;
  password: string;
  /** SHA-256 fingerprint of the certificate, `AB:CD:...`. */
  fingerprint: string;
  /** The self-signed certificate (PEM), to trust as a CA. */
  caCert: string;
  nodes: string[];
  backendKind: "memory" | "lxc";
  faults: FaultInjector;
  /** Every request received, in order. */
  requests: RequestLogEntry[];
  resetRequests(): void;
  /**
   * Every request refused with `Parameter verification failed.` because the official schema rejects
   * it (unknown parameter, wrong type or format, ...), in order. A client test can end with
   * `assert.deepEqual(sandbox.schemaViolations, [])`. Semantic 400s (`VM 105 already exists`) are not here.
   */
  schemaViolations: SchemaViolation[];
  resetSchemaViolations(): void;
  containers(): SandboxContainer[];
  /**
   * Changes task durations (by type) and the address delay for tasks and starts from now on; the bench
   * draws new ones per run. The address delay applies to the memory backend only. `perContainer`, where it
   * answers for a VMID, gives that container's own (the bench draws them per container when many run at once);
   * `null` drops it.
   */
  setTimings(timings: { taskDurationsMs?: Partial<Record<string, number>>; ipDelayMs?: number; perContainer?: ((vmid: number) => ContainerTimings | undefined) | null }): void;
  /**
   * Sandbox-only (no PVE call returns it): every task with its real start and end in ms since the
   * epoch, and every container start with the moment its address showed (memory backend). PVE's own
   * answers carry whole seconds only (`starttime`, and `endtime` in the task list).
   */
  timeline(): SandboxTimeline;
  close(): Promise<void>;
}

export interface SandboxTimeline {
  tasks: Array<{ upid: string; node: string; type: string; id: string; startedMs: number; endedMs?: number; exitstatus?: string }>;
  starts: Array<{ vmid: number; startedMs: number; leasedMs: number }>;
}

const TOKEN_ID = "launchpad";

async function chooseBackend(choice: SandboxOptions["backend"], ipDelayMs: number): Promise<ContainerBackend> {
  if (choice && typeof choice === "object") return choice;
  if (choice === "lxc") {
    let reason: string;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const lxc = require("./lxc") as {
        lxcAvailability(): { ok: true } | { ok: false; reason: string };
        createLxcBackend(options: { ipDelayMs?: number }): Promise<ContainerBackend>;
      };
      const availability = lxc.lxcAvailability();
      if (availability.ok) return await lxc.createLxcBackend({ ipDelayMs });
      reason = availability.reason;
    } catch (error) {
      reason = `the LXC backend could not be loaded: ${(error as Error).message.split("\n")[0]}`;
    }
    process.stderr.write(`sandbox: LXC backend unavailable (${reason}); using the in-memory backend\n`);
  }
  return new MemoryBackend({ ipDelayMs });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? "127.0.0.1";
  const nodes = options.nodes ?? ["pve1", "pve2", "pve3"];
  const password = options.password ?? crypto.randomBytes(18).toString("base64url");
  const secret = crypto.randomUUID();
  const users: SandboxUser[] = [
    { userid: "root@pam", password, tokens: { [TOKEN_ID]: { secret, privsep: 0 } } },
    ...[...(options.users ?? []), ...(options.access?.users ?? [])].filter((user) => user.userid !== "root@pam"),
  ];
  const backend = await chooseBackend(options.backend, options.ipDelayMs ?? 0);
  await backend.cleanup();
  const faults = new Faults();
  const taskDurationsMs = { ...options.taskDurationsMs };
  let perContainer: ((vmid: number) => ContainerTimings | undefined) | undefined;
  if (backend instanceof MemoryBackend) backend.ipDelayFor = (vmid) => perContainer?.(vmid)?.ipDelayMs;
  const cluster = new Cluster({
    nodes,
    backend,
    faults,
    taskDurationsMs,
    containerTimings: (vmid) => perContainer?.(vmid),
    lockWaitMs: options.lockWaitMs ?? 10_000,
    ociImages: options.ociImages ?? {},
    registryTrust: options.registryTrust,
  });
  attachSnapshots(cluster);
  const access = new AccessControl({ acl: cluster.acl, pools: cluster.pools });
  preload(access, users, options.access ?? {});
  const auth = new Authenticator(access, options.ticketLifetimeMs ?? 2 * 3600_000);
  const certificate = await makeCertificate(host);
  cluster.sslFingerprint = certificate.fingerprint;
  const requests: RequestLogEntry[] = [];
  const schemaViolations: SchemaViolation[] = [];
  const server = new SandboxHttpServer({
    host, port: options.port ?? 0, cert: certificate.cert, key: certificate.key, cluster, auth, access, faults, log: requests,
    violations: schemaViolations,
    logRequests: options.logRequests ?? false,
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    await backend.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    apiToken: `root@pam!${TOKEN_ID}=${secret}`,
    username: "root@pam",
    password,
    fingerprint: certificate.fingerprint,
    caCert: certificate.cert,
    nodes,
    backendKind: backend.kind,
    faults,
    requests,
    resetRequests: () => void requests.splice(0, requests.length),
    schemaViolations,
    resetSchemaViolations: () => void schemaViolations.splice(0, schemaViolations.length),
    containers: () =>
      [...cluster.containers.values()].map((ct) => {
        const container: SandboxContainer = {
          vmid: ct.vmid,
          node: ct.node,
          status: ct.running ? "running" : "stopped",
          config: cluster.readConfig(ct.node, ct.vmid, true),
          tags: ct.conf.tags ? ct.conf.tags.split(";") : [],
        };
        if (ct.conf.lock) container.lock = ct.conf.lock;
        return container;
      }),
    setTimings: (timings) => {
      Object.assign(taskDurationsMs, timings.taskDurationsMs);
      if (timings.perContainer !== undefined) perContainer = timings.perContainer ?? undefined;
      if (timings.ipDelayMs !== undefined && backend instanceof MemoryBackend) backend.ipDelayMs = timings.ipDelayMs;
    },
    timeline: () => ({
      tasks: cluster.tasks.all().map((task) => ({
        upid: task.upid, node: task.node, type: task.type, id: task.id, startedMs: task.startedMs, endedMs: task.endedMs, exitstatus: task.exitstatus,
      })),
      starts: backend instanceof MemoryBackend ? backend.starts.map((start) => ({ ...start })) : [],
    }),
    close: () =>
      (closing ??= (async () => {
        await server.close();
        await cluster.close();
        await backend.close();
      })()),
  };
}

/** Loads users, groups, roles and ACLs, refusing what `pveum` would refuse (unknown privilege, role, user, path). */
function preload(access: AccessControl, users: SandboxUser[], config: SandboxAccess): void {
  for (const group of config.groups ?? []) access.groups.set(group, {});
  for (const [role, privs] of Object.entries(config.roles ?? {})) {
    if (access.roles.has(role)) throw new Error(`sandbox access: role '${role}' already exists`);
    for (const priv of privs) if (!ALL_PRIVILEGES.includes(priv)) throw new Error(`sandbox access: role '${role}': invalid privilege '${priv}'`);
    access.roles.set(role, new Set(privs));
  }
  for (const user of users) {
    for (const group of user.groups ?? []) access.groups.set(group, {});
    const entry: UserEntry = access.users.get(user.userid) ?? { userid: user.userid, enable: 1, expire: 0, groups: new Set<string>(), tokens: new Map() };
    entry.password = user.password;
    for (const group of user.groups ?? []) entry.groups.add(group);
    for (const [tokenid, value] of Object.entries(user.tokens ?? {})) entry.tokens.set(tokenid, tokenInfo(value));
    access.users.set(user.userid, entry);
  }
  for (const rule of config.acl ?? []) {
    if (!validAclPath(rule.path)) throw new Error(`sandbox access: invalid ACL path '${rule.path}'`);
    const roles = Array.isArray(rule.roles) ? rule.roles : rule.roles.split(",");
    const subjects = [
      ...(rule.users ?? "").split(",").filter(Boolean).map((ugid) => ({ type: "user" as const, ugid })),
      ...(rule.groups ?? "").split(",").filter(Boolean).map((ugid) => ({ type: "group" as const, ugid })),
      ...(rule.tokens ?? "").split(",").filter(Boolean).map((ugid) => ({ type: "token" as const, ugid })),
    ];
    for (const role of roles) {
      if (!access.roles.has(role)) throw new Error(`sandbox access: role '${role}' does not exist`);
      for (const subject of subjects) {
        if (subject.type === "user" && !access.users.has(subject.ugid)) throw new Error(`sandbox access: user '${subject.ugid}' does not exist`);
        if (subject.type === "group" && !access.groups.has(subject.ugid)) throw new Error(`sandbox access: group '${subject.ugid}' does not exist`);
        if (subject.type === "token") {
          const [userid, tokenid] = subject.ugid.split("!");
          if (!access.users.get(userid)?.tokens.has(tokenid)) throw new Error(`sandbox access: no such token '${subject.ugid}'`);
        }
        access.acl.push({ path: rule.path, roleid: role, ...subject, propagate: rule.propagate === false ? 0 : 1 });
      }
    }
  }
}
