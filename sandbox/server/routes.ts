// The API paths the sandbox serves, each validated against the official schema before it runs.
import type { Authenticator, Identity } from "./auth";
import type { Cluster, Params } from "./cluster";
import { ApiError, fail, paramError } from "./errors";
import { parseUpid } from "./tasks";
import type { Faults } from "./faults";
import type { ParametersSchema } from "./validate";
import { parseBoolean } from "./validate";
import subset = require("../schema/pve-api-subset.json");

export interface RouteContext {
  params: Params;
  identity?: Identity;
  cluster: Cluster;
  auth: Authenticator;
  faults: Faults;
}

export interface Route {
  method: string;
  template: string;
  schema: ParametersSchema;
  matcher: RegExp;
  names: string[];
  handler(ctx: RouteContext): Promise<unknown> | unknown;
}

const VERSION = { version: "9.1.1", release: "9.1", repoid: "42b5fcb5c0d9d5a3" };

const bool = (value: unknown) => value !== undefined && parseBoolean(String(value)) === 1;
const int = (value: unknown) => Number(value);

type Handler = Route["handler"];
const table: Array<[string, string, Handler]> = [
  ["GET", "/version", () => VERSION],
  ["GET", "/access/ticket", () => null],
  [
    "POST",
    "/access/ticket",
    ({ auth, params }) => {
      const login = auth.login(String(params.username), String(params.password), params.realm as string | undefined);
      return { ...login, cap: CAPABILITIES };
    },
  ],
  ["GET", "/access/users", ({ auth }) => auth.listUsers().map((user) => ({ userid: user.userid, enable: 1, expire: 0, tokens: Object.keys(user.tokens ?? {}).map((tokenid) => ({ tokenid, privsep: 0, expire: 0 })) }))],
  ["GET", "/access/permissions", ({ auth, identity, params }) => permissions(auth, identity!, params)],
  ["GET", "/access/acl", ({ cluster }) => cluster.acl.map((entry) => ({ ...entry }))],
  ["PUT", "/access/acl", ({ cluster, params }) => updateAcl(cluster, params)],
  ["GET", "/pools", ({ cluster }) => [...cluster.pools.keys()].map((poolid) => ({ poolid }))],
  ["GET", "/cluster/nextid", ({ cluster, params }) => {
    if (params.vmid === undefined) return String(cluster.nextId());
    const vmid = int(params.vmid);
    if (cluster.containers.has(vmid)) throw paramError({ vmid: `VM ${vmid} already exists` });
    return String(vmid);
  }],
  ["GET", "/cluster/resources", async ({ cluster, params }) => {
    await Promise.all([...cluster.containers.values()].map((ct) => cluster.live(ct)));
    return clusterResources(cluster, params.type as string | undefined);
  }],
  ["GET", "/cluster/status", ({ cluster }) => [
    { type: "cluster", id: "cluster", name: "sandbox", nodes: cluster.nodes.length, quorate: 1, version: 1 },
    ...cluster.nodes.map((node, index) => ({ type: "node", id: `node/${node}`, name: node, nodeid: index + 1, online: 1, local: index === 0 ? 1 : 0, ip: `127.0.0.${index + 1}`, level: "" })),
  ]],
  ["GET", "/nodes", ({ cluster }) => cluster.nodes.map((node) => ({ node, status: "online", type: "node", id: `node/${node}`, cpu: 0.01, maxcpu: 8, mem: 2 * 1024 ** 3, maxmem: 32 * 1024 ** 3, uptime: 86_400, level: "", ssl_fingerprint: cluster.sslFingerprint }))],
  ["GET", "/storage", ({ cluster, params }) => cluster.storageConfig(params.type as string | undefined)],
  ["GET", "/nodes/{node}", ({ cluster, params }) => {
    cluster.assertNode(String(params.node));
    return NODE_INDEX.map((name) => ({ name }));
  }],
  ["GET", "/nodes/{node}/qemu", ({ cluster, params }) => {
    cluster.assertNode(String(params.node));
    return []; // the sandbox runs containers only
  }],
  ["GET", "/nodes/{node}/network", ({ cluster, params }) => {
    cluster.assertNode(String(params.node));
    return nodeNetwork(cluster.nodes.indexOf(String(params.node)), params.type as string | undefined);
  }],
  ["GET", "/nodes/{node}/status", ({ cluster, params }) => {
    cluster.assertNode(String(params.node));
    return { uptime: 86_400, cpu: 0.01, cpuinfo: { cpus: 8, sockets: 1, cores: 8, model: "Sandbox CPU" }, memory: { total: 32 * 1024 ** 3, used: 2 * 1024 ** 3, free: 30 * 1024 ** 3 }, pveversion: "pve-manager/9.1.1", kversion: "Linux 6.17.2-1-pve", loadavg: ["0.01", "0.02", "0.00"] };
  }],
  ["GET", "/nodes/{node}/lxc", async ({ cluster, params }) => {
    const node = String(params.node);
    cluster.assertNode(node);
    const cts = await Promise.all([...cluster.containers.values()].filter((ct) => ct.node === node).map((ct) => cluster.live(ct)));
    return cts.map((ct) => cluster.status(ct));
  }],
  ["POST", "/nodes/{node}/lxc", ({ cluster, params, identity }) => cluster.createContainer(String(params.node), params, identity!.principal)],
  ["GET", "/nodes/{node}/lxc/{vmid}", ({ cluster, params }) => {
    cluster.container(String(params.node), int(params.vmid));
    return ["config", "status", "snapshot", "firewall", "rrd", "rrddata", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy", "migrate", "clone", "pending", "interfaces", "resize", "move_volume", "feature", "template"].map((subdir) => ({ subdir }));
  }],
  ["DELETE", "/nodes/{node}/lxc/{vmid}", ({ cluster, params, identity }) => cluster.destroyContainer(String(params.node), int(params.vmid), params, identity!.principal)],
  ["POST", "/nodes/{node}/lxc/{vmid}/clone", ({ cluster, params, identity }) => cluster.cloneContainer(String(params.node), params, identity!.principal)],
  ["GET", "/nodes/{node}/lxc/{vmid}/config", ({ cluster, params }) => {
    if (params.snapshot !== undefined) throw fail(`snapshot '${params.snapshot}' does not exist`);
    return cluster.readConfig(String(params.node), int(params.vmid), bool(params.current));
  }],
  ["PUT", "/nodes/{node}/lxc/{vmid}/config", ({ cluster, params }) => cluster.updateConfig(String(params.node), int(params.vmid), params)],
  ["GET", "/nodes/{node}/lxc/{vmid}/pending", ({ cluster, params }) => cluster.readPending(String(params.node), int(params.vmid))],
  ["GET", "/nodes/{node}/lxc/{vmid}/status", ({ cluster, params }) => {
    cluster.container(String(params.node), int(params.vmid));
    return ["current", "start", "stop", "shutdown", "reboot", "suspend", "resume"].map((subdir) => ({ subdir }));
  }],
  ["GET", "/nodes/{node}/lxc/{vmid}/status/current", async ({ cluster, params }) => cluster.status(await cluster.live(cluster.container(String(params.node), int(params.vmid))))],
  ["GET", "/nodes/{node}/lxc/{vmid}/snapshot", async ({ cluster, params }) => {
    const ct = await cluster.live(cluster.container(String(params.node), int(params.vmid)));
    // PVE::API2::LXC::Snapshot list: the snapshots, then `current` (no snapshots here).
    return [{ name: "current", digest: ct.digest, running: ct.running ? 1 : 0, description: "You are here!" }];
  }],
  ...(["start", "stop", "shutdown", "reboot"] as const).map(
    (action) =>
      ["POST", `/nodes/{node}/lxc/{vmid}/status/${action}`, ({ cluster, params, identity }: RouteContext) =>
        cluster.power(String(params.node), int(params.vmid), action, params, identity!.principal)] as [string, string, Handler],
  ),
  ["GET", "/nodes/{node}/lxc/{vmid}/interfaces", ({ cluster, params }) => cluster.interfaces(String(params.node), int(params.vmid))],
  ["PUT", "/nodes/{node}/lxc/{vmid}/resize", ({ cluster, params, identity }) => cluster.resize(String(params.node), int(params.vmid), params, identity!.principal)],
  ["GET", "/nodes/{node}/storage", ({ cluster, params }) => cluster.storageList(String(params.node), params)],
  ["GET", "/nodes/{node}/storage/{storage}/content", ({ cluster, params }) => cluster.storageContent(String(params.node), String(params.storage), params)],
  ["POST", "/nodes/{node}/storage/{storage}/oci-registry-pull", ({ cluster, params, identity }) => cluster.ociPull(String(params.node), String(params.storage), params, identity!.principal)],
  ["DELETE", "/nodes/{node}/storage/{storage}/content/{volume}", ({ cluster, params, identity }) => cluster.deleteVolume(String(params.node), String(params.storage), String(params.volume), identity!.principal)],
  ["POST", "/nodes/{node}/storage/{storage}/upload", ({ cluster, params, identity }) => cluster.upload(String(params.node), String(params.storage), params, identity!.principal)],
  ["GET", "/nodes/{node}/tasks", ({ cluster, params }) => listTasks(cluster, params)],
  ["GET", "/nodes/{node}/tasks/{upid}/status", ({ cluster, params, faults }) => {
    const task = findTask(cluster, params);
    if (faults.taskStatusNotReadyMs > 0 && Date.now() - task.starttime * 1000 < faults.taskStatusNotReadyMs && task.status === "running") {
      throw paramError({ upid: "unable to parse worker upid" });
    }
    const status: Record<string, unknown> = {
      upid: task.upid, node: task.node, pid: task.pid, pstart: task.pstart, starttime: task.starttime, type: task.type,
      id: task.id, user: task.user, status: task.status,
    };
    if (task.status === "stopped") status.exitstatus = task.exitstatus;
    return status;
  }],
  ["GET", "/nodes/{node}/tasks/{upid}/log", ({ cluster, params }) => {
    const task = findTask(cluster, params);
    const start = params.start !== undefined ? int(params.start) : 0;
    const limit = params.limit !== undefined ? int(params.limit) : 50;
    const lines = task.log.length ? task.log : ["no content"];
    return lines.slice(start, limit === 0 ? undefined : start + limit).map((t, index) => ({ n: start + index + 1, t }));
  }],
  ["DELETE", "/nodes/{node}/tasks/{upid}", ({ cluster, params }) => {
    cluster.tasks.stop(findTask(cluster, params));
    return null;
  }],
];

// pve-manager PVE::API2::Nodes index, PVE 9.
const NODE_INDEX = [
  "aplinfo", "apt", "capabilities", "ceph", "certificates", "config", "disks", "dns", "firewall", "hardware", "hosts",
  "journal", "lxc", "migrateall", "netstat", "network", "qemu", "query-url-metadata", "replication", "report", "rrd",
  "rrddata", "scan", "sdn", "services", "spiceshell", "startall", "status", "stopall", "storage", "subscription",
  "suspendall", "syslog", "tasks", "termproxy", "time", "version", "vncshell", "vzdump", "wakeonlan",
];

/** `/etc/network/interfaces` of a stock PVE node: the NIC and the `vmbr0` bridge on it. */
function nodeNetwork(index: number, type?: string): unknown[] {
  const host = index + 11;
  const nic = { iface: "eno1", type: "eth", method: "manual", families: ["inet"], active: 1, exists: 1, priority: 1 };
  const bridge = {
    iface: "vmbr0", type: "bridge", method: "static", families: ["inet"], active: 1, autostart: 1, priority: 2,
    bridge_ports: "eno1", bridge_stp: "off", bridge_fd: "0", cidr: `192.168.100.${host}/24`,
    address: `192.168.100.${host}`, netmask: "24", gateway: "192.168.100.1",
  };
  const all = [nic, bridge];
  if (!type || type === "include_sdn") return all;
  if (type === "any_bridge" || type === "any_local_bridge") return all.filter((entry) => entry.type === "bridge" || entry.type === "OVSBridge");
  return all.filter((entry) => entry.type === type);
}

const ALL_PRIVILEGES = [
  "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit", "Group.Allocate",
  "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify", "Pool.Allocate", "Pool.Audit", "Realm.Allocate",
  "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit", "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming",
  "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone",
  "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
  "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead",
  "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt",
  "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
];

/** `GET /access/permissions`: every sandbox user is an administrator (root@pam, tokens without privilege separation). */
function permissions(auth: Authenticator, identity: Identity, params: Params): Record<string, Record<string, number>> {
  const subject = params.userid !== undefined ? String(params.userid) : identity.principal;
  const userid = subject.split("!")[0];
  const user = auth.listUsers().find((entry) => entry.userid === userid);
  if (!user || (subject.includes("!") && user.tokens?.[subject.split("!")[1]] === undefined)) {
    throw fail(subject.includes("!") ? `no such token '${subject.split("!")[1]}' for user '${userid}'` : `no such user ('${userid}')`);
  }
  const privileges = Object.fromEntries(ALL_PRIVILEGES.map((name) => [name, 1]));
  const paths = params.path !== undefined ? [String(params.path)] : ["/", "/access", "/access/groups", "/mapping", "/nodes", "/pool", "/sdn", "/storage", "/vms"];
  return Object.fromEntries(paths.map((path) => [path, { ...privileges }]));
}

const CAPABILITIES = {
  vms: { "VM.Allocate": 1, "VM.Audit": 1, "VM.Config.Options": 1, "VM.PowerMgmt": 1, "VM.Clone": 1 },
  storage: { "Datastore.Allocate": 1, "Datastore.AllocateSpace": 1, "Datastore.AllocateTemplate": 1, "Datastore.Audit": 1 },
  nodes: { "Sys.Audit": 1, "Sys.AccessNetwork": 1 },
  access: { "User.Modify": 1, "Permissions.Modify": 1 },
  dc: { "Sys.Audit": 1 },
  sdn: { "SDN.Use": 1 },
};

function findTask(cluster: Cluster, params: Params) {
  const upid = String(params.upid);
  const parsed = parseUpid(upid);
  if (!parsed) throw paramError({ upid: "unable to parse worker upid" });
  const task = cluster.tasks.get(upid);
  if (!task || task.node !== String(params.node)) throw fail(`no such task`);
  return task;
}

function listTasks(cluster: Cluster, params: Params): unknown[] {
  const node = String(params.node);
  cluster.assertNode(node);
  const source = String(params.source ?? "archive");
  let tasks = cluster.tasks.list(node).sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
  if (source === "archive") tasks = tasks.filter((task) => task.status === "stopped");
  if (source === "active") tasks = tasks.filter((task) => task.status === "running");
  if (params.vmid !== undefined) tasks = tasks.filter((task) => task.id === String(params.vmid));
  if (params.typefilter !== undefined) tasks = tasks.filter((task) => task.type === String(params.typefilter));
  if (params.userfilter !== undefined) tasks = tasks.filter((task) => task.user.includes(String(params.userfilter)));
  if (bool(params.errors)) tasks = tasks.filter((task) => task.exitstatus !== undefined && task.exitstatus !== "OK");
  const start = params.start !== undefined ? int(params.start) : 0;
  const limit = params.limit !== undefined ? int(params.limit) : 50;
  return tasks.slice(start, start + limit).map((task) => {
    const entry: Record<string, unknown> = {
      upid: task.upid, node: task.node, pid: task.pid, pstart: task.pstart, starttime: task.starttime, type: task.type,
      id: task.id, user: task.user,
    };
    if (task.status === "stopped") {
      entry.status = task.exitstatus;
      entry.endtime = task.endtime;
    }
    return entry;
  });
}

function clusterResources(cluster: Cluster, type?: string): unknown[] {
  const result: unknown[] = [];
  if (!type || type === "node") {
    for (const node of cluster.nodes) {
      result.push({ id: `node/${node}`, type: "node", node, status: "online", cpu: 0.01, maxcpu: 8, mem: 2 * 1024 ** 3, maxmem: 32 * 1024 ** 3, disk: 0, maxdisk: 100 * 1024 ** 3, uptime: 86_400, level: "" });
    }
  }
  if (!type || type === "vm") {
    for (const ct of cluster.containers.values()) {
      const status = cluster.status(ct);
      const entry: Record<string, unknown> = {
        id: `lxc/${ct.vmid}`, type: "lxc", vmid: ct.vmid, node: ct.node, name: status.name, status: status.status,
        template: status.template ?? 0, maxmem: status.maxmem, maxdisk: status.maxdisk, maxcpu: status.cpus, mem: status.mem,
        disk: 0, cpu: 0, uptime: status.uptime, netin: 0, netout: 0, diskread: 0, diskwrite: 0,
      };
      if (status.tags) entry.tags = status.tags;
      if (status.lock) entry.lock = status.lock;
      for (const [poolid, members] of cluster.pools) if (members.has(ct.vmid)) entry.pool = poolid;
      result.push(entry);
    }
  }
  if (!type || type === "storage") {
    for (const node of cluster.nodes) {
      for (const storage of cluster.storageList(node, {}) as Array<Record<string, unknown>>) {
        result.push({ id: `storage/${node}/${storage.storage}`, type: "storage", node, storage: storage.storage, status: "available", content: storage.content, plugintype: storage.type, disk: storage.used, maxdisk: storage.total, shared: 0 });
      }
    }
  }
  return result;
}

function updateAcl(cluster: Cluster, params: Params): null {
  const path = String(params.path);
  if (!/^\/(vms(\/\d+)?|storage(\/[\w.-]+)?|nodes(\/[\w.-]+)?|pool\/[\w.-]+|sdn(\/.*)?|access(\/.*)?|mapping(\/.*)?)?$/.test(path)) {
    throw paramError({ path: `invalid ACL path '${path}'` });
  }
  const roles = String(params.roles).split(/[,;\s]+/).filter(Boolean);
  const remove = bool(params.delete);
  const propagate: 0 | 1 = params.propagate === undefined || bool(params.propagate) ? 1 : 0;
  const subjects: Array<{ type: "user" | "group" | "token"; ugid: string }> = [];
  for (const [key, type] of [["users", "user"], ["groups", "group"], ["tokens", "token"]] as const) {
    if (params[key] !== undefined) for (const ugid of String(params[key]).split(/[,;\s]+/).filter(Boolean)) subjects.push({ type, ugid });
  }
  if (subjects.length === 0) throw fail("either 'users', 'groups' or 'tokens' is required");
  for (const subject of subjects) {
    for (const roleid of roles) {
      const index = cluster.acl.findIndex((entry) => entry.path === path && entry.roleid === roleid && entry.type === subject.type && entry.ugid === subject.ugid);
      if (index >= 0) cluster.acl.splice(index, 1);
      if (!remove) cluster.acl.push({ path, roleid, type: subject.type, ugid: subject.ugid, propagate });
    }
  }
  return null;
}

const endpoints = subset.endpoints as unknown as Record<string, Record<string, { parameters?: ParametersSchema }>>;

export const ROUTES: Route[] = table.map(([method, template, handler]) => {
  const schema = endpoints[template]?.[method]?.parameters;
  if (!schema) throw new Error(`${method} ${template} is missing from sandbox/schema/pve-api-subset.json`);
  const names: string[] = [];
  const pattern = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { method, template, handler, schema, names, matcher: new RegExp(`^${pattern}/?$`) };
});

// PVE::HTTPServer::auth_handler lets exactly these through without credentials.
const OPEN = new Set(["GET /access/domains", "GET /access/ticket", "POST /access/ticket", "POST /access/vncticket", "POST /access/openid/login", "POST /access/openid/auth-url"]);

/** Whether pveproxy serves this call without credentials. */
export function isOpen(method: string, path: string): boolean {
  return OPEN.has(`${method} ${path}`);
}

/** The route for a path, with its path parameters; ApiError 501 (PVE::HTTPServer::rest_handler's wording) when there is none. */
export function resolve(method: string, path: string): { route: Route; pathParams: Record<string, string> } {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.matcher.exec(path);
    if (!match) continue;
    const pathParams: Record<string, string> = {};
    route.names.forEach((name, index) => (pathParams[name] = decodeURIComponent(match[index + 1])));
    return { route, pathParams };
  }
  throw new ApiError(501, `Method '${method} ${safeDecode(path)}' not implemented`, undefined, { raw: true });
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
