// The API paths the sandbox serves, each validated against the official schema before it runs.
import { AccessControl, SchemaPermissions, splitTokenid } from "./access";
import * as accessApi from "./access-api";
import type { Authenticator, Identity } from "./auth";
import type { Cluster, Params } from "./cluster";
import { ApiError, fail, paramError } from "./errors";
import { checkClone, checkCreate, checkResize, checkUpdate } from "./permissions";
import * as snapshots from "./snapshots";
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
  access: AccessControl;
  faults: Faults;
  /** Result attributes besides `data`, as RPCEnvironment::set_result_attrib sets them (`total`). */
  attributes: { total?: number };
}

export interface Route {
  method: string;
  template: string;
  schema: ParametersSchema;
  /** The schema's `permissions` entry, evaluated before the handler runs. */
  permissions?: SchemaPermissions;
  /** Whether an API token may call it (the schema's `allowtoken`; PVE's default is yes). */
  allowtoken: boolean;
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
    ({ auth, access, params }) => {
      const login = auth.login(String(params.username), String(params.password), params.realm as string | undefined);
      return { ...login, cap: access.capabilities(login.username) };
    },
  ],
  ["GET", "/access/users", ({ access, identity, params }) => accessApi.listUsers(access, identity!, params)],
  ["POST", "/access/users", ({ access, params }) => accessApi.createUser(access, params)],
  ["GET", "/access/users/{userid}", ({ access, params }) => accessApi.readUser(access, params)],
  ["PUT", "/access/users/{userid}", ({ access, params }) => accessApi.updateUser(access, params)],
  ["DELETE", "/access/users/{userid}", ({ access, params }) => accessApi.deleteUser(access, params)],
  ["GET", "/access/users/{userid}/token", ({ access, params }) => accessApi.listTokens(access, params)],
  ["GET", "/access/users/{userid}/token/{tokenid}", ({ access, params }) => accessApi.readToken(access, params)],
  ["POST", "/access/users/{userid}/token/{tokenid}", ({ access, params }) => accessApi.generateToken(access, params)],
  ["PUT", "/access/users/{userid}/token/{tokenid}", ({ access, params }) => accessApi.updateToken(access, params)],
  ["DELETE", "/access/users/{userid}/token/{tokenid}", ({ access, params }) => accessApi.deleteToken(access, params)],
  ["GET", "/access/roles", ({ access }) => accessApi.listRoles(access)],
  ["POST", "/access/roles", ({ access, params }) => accessApi.createRole(access, params)],
  ["GET", "/access/roles/{roleid}", ({ access, params }) => accessApi.readRole(access, params)],
  ["PUT", "/access/roles/{roleid}", ({ access, params }) => accessApi.updateRole(access, params)],
  ["DELETE", "/access/roles/{roleid}", ({ access, params }) => accessApi.deleteRole(access, params)],
  ["GET", "/access/permissions", ({ access, identity, params }) => accessApi.permissions(access, identity!, params)],
  ["GET", "/access/acl", ({ access, identity }) => accessApi.readAcl(access, identity!)],
  ["PUT", "/access/acl", ({ access, identity, params }) => accessApi.updateAcl(access, identity!, params)],
  // pve-manager API2/Pool.pm index: pools with Pool.Audit.
  ["GET", "/pools", ({ cluster, access, identity }) => [...cluster.pools.keys()].filter((poolid) => access.check(identity!.principal, `/pool/${poolid}`, ["Pool.Audit"], true)).map((poolid) => ({ poolid }))],
  ["GET", "/cluster/nextid", ({ cluster, params }) => {
    if (params.vmid === undefined) return String(cluster.nextId());
    const vmid = int(params.vmid);
    if (cluster.containers.has(vmid)) throw paramError({ vmid: `VM ${vmid} already exists` });
    return String(vmid);
  }],
  ["GET", "/cluster/resources", async ({ cluster, params, access, identity }) => {
    await Promise.all([...cluster.containers.values()].map((ct) => cluster.live(ct)));
    return clusterResources(cluster, params.type as string | undefined, access, identity!.principal);
  }],
  ["GET", "/cluster/status", ({ cluster }) => [
    { type: "cluster", id: "cluster", name: "sandbox", nodes: cluster.nodes.length, quorate: 1, version: 1 },
    ...cluster.nodes.map((node, index) => ({ type: "node", id: `node/${node}`, name: node, nodeid: index + 1, online: 1, local: index === 0 ? 1 : 0, ip: `127.0.0.${index + 1}`, level: "" })),
  ]],
  ["GET", "/nodes", ({ cluster }) => cluster.nodes.map((node) => ({ node, status: "online", type: "node", id: `node/${node}`, cpu: 0.01, maxcpu: 8, mem: 2 * 1024 ** 3, maxmem: 32 * 1024 ** 3, uptime: 86_400, level: "", ssl_fingerprint: cluster.sslFingerprint }))],
  // pve-storage API2/Storage/Config.pm index: storages with Datastore.Audit or Datastore.AllocateSpace.
  ["GET", "/storage", ({ cluster, params, access, identity }) => (cluster.storageConfig(params.type as string | undefined) as Array<{ storage: string }>)
    .filter((entry) => access.checkAny(identity!.principal, `/storage/${entry.storage}`, ["Datastore.Audit", "Datastore.AllocateSpace"], true))],
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
  ["GET", "/nodes/{node}/lxc", async ({ cluster, params, access, identity }) => {
    const node = String(params.node);
    cluster.assertNode(node);
    // pve-container API2/LXC.pm vmlist: only guests with VM.Audit.
    const visible = [...cluster.containers.values()].filter((ct) => ct.node === node && access.check(identity!.principal, `/vms/${ct.vmid}`, ["VM.Audit"], true));
    const cts = await Promise.all(visible.map((ct) => cluster.live(ct)));
    return cts.map((ct) => cluster.status(ct));
  }],
  ["POST", "/nodes/{node}/lxc", ({ cluster, params, identity, access }) => {
    cluster.assertNode(String(params.node));
    if (cluster.containers.has(Number(params.vmid))) throw fail(`CT ${params.vmid} already exists on node '${cluster.containers.get(Number(params.vmid))!.node}'`);
    checkCreate(access, identity!.principal, params, cluster.pools, (sid) => cluster.storages.get(String(params.node))?.get(sid)?.content.includes("rootdir"));
    return cluster.createContainer(String(params.node), params, identity!.principal);
  }],
  ["GET", "/nodes/{node}/lxc/{vmid}", ({ cluster, params }) => {
    cluster.container(String(params.node), int(params.vmid));
    return ["config", "status", "snapshot", "firewall", "rrd", "rrddata", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy", "migrate", "clone", "pending", "interfaces", "resize", "move_volume", "feature", "template"].map((subdir) => ({ subdir }));
  }],
  ["DELETE", "/nodes/{node}/lxc/{vmid}", ({ cluster, params, identity }) => cluster.destroyContainer(String(params.node), int(params.vmid), params, identity!.principal)],
  ["POST", "/nodes/{node}/lxc/{vmid}/clone", ({ cluster, params, identity, access }) => {
    checkClone(access, identity!.principal, cluster.container(String(params.node), int(params.vmid)), params, cluster.pools);
    return cluster.cloneContainer(String(params.node), params, identity!.principal);
  }],
  ["GET", "/nodes/{node}/lxc/{vmid}/config", ({ cluster, params }) => {
    if (params.snapshot !== undefined) throw fail(`snapshot '${params.snapshot}' does not exist`);
    return cluster.readConfig(String(params.node), int(params.vmid), bool(params.current));
  }],
  ["PUT", "/nodes/{node}/lxc/{vmid}/config", ({ cluster, params, access, identity }) => {
    checkUpdate(access, identity!.principal, cluster.container(String(params.node), int(params.vmid)), params);
    return cluster.updateConfig(String(params.node), int(params.vmid), params);
  }],
  ["GET", "/nodes/{node}/lxc/{vmid}/pending", ({ cluster, params }) => cluster.readPending(String(params.node), int(params.vmid))],
  ["GET", "/nodes/{node}/lxc/{vmid}/status", ({ cluster, params }) => {
    cluster.container(String(params.node), int(params.vmid));
    return ["current", "start", "stop", "shutdown", "reboot", "suspend", "resume"].map((subdir) => ({ subdir }));
  }],
  ["GET", "/nodes/{node}/lxc/{vmid}/status/current", async ({ cluster, params }) => cluster.status(await cluster.live(cluster.container(String(params.node), int(params.vmid))))],
  ["GET", "/nodes/{node}/lxc/{vmid}/snapshot", ({ cluster, params }) => snapshots.listSnapshots(cluster, String(params.node), int(params.vmid))],
  ["POST", "/nodes/{node}/lxc/{vmid}/snapshot", ({ cluster, params, identity }) => snapshots.createSnapshot(cluster, String(params.node), int(params.vmid), params, identity!.principal)],
  ["GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", ({ cluster, params }) => {
    cluster.container(String(params.node), int(params.vmid));
    return [{ cmd: "rollback" }, { cmd: "config" }];
  }],
  ["DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", ({ cluster, params, identity }) => snapshots.deleteSnapshot(cluster, String(params.node), int(params.vmid), params, identity!.principal)],
  ["POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback", ({ cluster, params, identity }) => snapshots.rollbackSnapshot(cluster, String(params.node), int(params.vmid), params, identity!.principal)],
  ["POST", "/nodes/{node}/lxc/{vmid}/template", ({ cluster, params, identity }) => snapshots.convertToTemplate(cluster, String(params.node), int(params.vmid), identity!.principal)],
  ...(["start", "stop", "shutdown", "reboot"] as const).map(
    (action) =>
      ["POST", `/nodes/{node}/lxc/{vmid}/status/${action}`, ({ cluster, params, identity }: RouteContext) =>
        cluster.power(String(params.node), int(params.vmid), action, params, identity!.principal)] as [string, string, Handler],
  ),
  ["GET", "/nodes/{node}/lxc/{vmid}/interfaces", ({ cluster, params }) => cluster.interfaces(String(params.node), int(params.vmid))],
  ["PUT", "/nodes/{node}/lxc/{vmid}/resize", ({ cluster, params, identity, access }) => {
    checkResize(access, identity!.principal, cluster.container(String(params.node), int(params.vmid)), String(params.disk));
    return cluster.resize(String(params.node), int(params.vmid), params, identity!.principal);
  }],
  // pve-storage API2/Storage/Status.pm index: storages with Datastore.Audit or Datastore.AllocateSpace.
  ["GET", "/nodes/{node}/storage", ({ cluster, params, access, identity }) => (cluster.storageList(String(params.node), params) as Array<{ storage: string }>)
    .filter((entry) => access.checkAny(identity!.principal, `/storage/${entry.storage}`, ["Datastore.Audit", "Datastore.AllocateSpace"], true))],
  ["GET", "/nodes/{node}/storage/{storage}/content", ({ cluster, params }) => cluster.storageContent(String(params.node), String(params.storage), params)],
  ["POST", "/nodes/{node}/storage/{storage}/oci-registry-pull", ({ cluster, params, identity }) => cluster.ociPull(String(params.node), String(params.storage), params, identity!.principal)],
  ["DELETE", "/nodes/{node}/storage/{storage}/content/{volume}", ({ cluster, params, identity }) => cluster.deleteVolume(String(params.node), String(params.storage), String(params.volume), identity!.principal)],
  ["POST", "/nodes/{node}/storage/{storage}/upload", ({ cluster, params, identity }) => cluster.upload(String(params.node), String(params.storage), params, identity!.principal)],
  ["GET", "/nodes/{node}/tasks", ({ cluster, params, access, identity, attributes }) => listTasks(cluster, params, access, identity!.principal, attributes)],
  ["GET", "/nodes/{node}/tasks/{upid}/status", ({ cluster, params, faults, access, identity }) => {
    const task = findTask(cluster, params);
    checkTaskUser(access, identity!.principal, task, String(params.node), "Sys.Audit");
    if (faults.taskStatusNotReadyMs > 0 && Date.now() - task.startedMs < faults.taskStatusNotReadyMs && task.status === "running") {
      throw paramError({ upid: "unable to parse worker upid" });
    }
    const status: Record<string, unknown> = {
      upid: task.upid, node: task.node, pid: task.pid, pstart: task.pstart, starttime: task.starttime, type: task.type,
      id: task.id, ...taskUser(task.user), status: task.status,
    };
    if (task.status === "stopped") status.exitstatus = task.exitstatus;
    return status;
  }],
  ["GET", "/nodes/{node}/tasks/{upid}/log", ({ cluster, params, access, identity, attributes }) => {
    const upid = String(params.upid);
    const parsed = parseUpid(upid);
    if (!parsed) throw paramError({ upid: "unable to parse worker upid" });
    checkTaskUser(access, identity!.principal, parsed, String(params.node), "Sys.Audit");
    const task = cluster.tasks.get(upid);
    const start = params.start !== undefined ? int(params.start) : 0;
    const limit = params.limit !== undefined ? int(params.limit) : 50;
    // PVE::Tools::dump_logfile: a missing log file is one line saying so; `total` counts every line.
    const lines = !task || task.node !== String(params.node) ? ["unable to open file - No such file or directory"] : task.log.length ? task.log : ["no content"];
    attributes.total = lines.length;
    return lines.slice(start, limit === 0 ? undefined : start + limit).map((t, index) => ({ n: start + index + 1, t }));
  }],
  ["DELETE", "/nodes/{node}/tasks/{upid}", ({ cluster, params, access, identity }) => {
    const task = findTask(cluster, params);
    checkTaskUser(access, identity!.principal, task, String(params.node), "Sys.Modify");
    cluster.tasks.stop(task);
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

function findTask(cluster: Cluster, params: Params) {
  const upid = String(params.upid);
  const parsed = parseUpid(upid);
  if (!parsed) throw paramError({ upid: "unable to parse worker upid" });
  const task = cluster.tasks.get(upid);
  if (!task || task.node !== String(params.node)) throw paramError({ upid: "no such task" });
  return task;
}

/** pve-manager API2/Tasks.pm: a token's task shows `user` and `tokenid` apart. */
function taskUser(user: string): { user: string; tokenid?: string } {
  const token = splitTokenid(user);
  return token ? { user: token.userid, tokenid: token.tokenid } : { user };
}

/** API2/Tasks.pm check_task_user: a token sees its own tasks, a user its own and its tokens'. */
function ownsTask(subject: string, taskUserid: string): boolean {
  const token = splitTokenid(taskUserid);
  return token ? subject === taskUserid || subject === token.userid : subject === taskUserid;
}

function checkTaskUser(access: AccessControl, subject: string, task: { user: string }, node: string, priv: string): void {
  if (!ownsTask(subject, task.user)) access.check(subject, `/nodes/${node}`, [priv]);
}

/** PVE::Tools::upid_normalize_status_type */
function statusType(status: string | undefined): string {
  if (!status) return "unknown";
  if (status === "OK") return "ok";
  if (status.startsWith("WARNINGS:")) return "warning";
  return "error";
}

/** API2/Tasks.pm node_tasks: own tasks, or all with Sys.Audit on the node; filters; `total` counts every match. */
function listTasks(cluster: Cluster, params: Params, access: AccessControl, subject: string, attributes: RouteContext["attributes"]): unknown[] {
  const node = String(params.node);
  cluster.assertNode(node);
  const source = String(params.source ?? "archive");
  const auditor = access.check(subject, `/nodes/${node}`, ["Sys.Audit"], true);
  let tasks = cluster.tasks.list(node).sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
  if (source === "archive") tasks = tasks.filter((task) => task.status === "stopped");
  if (source === "active") tasks = tasks.filter((task) => task.status === "running");
  const userfilter = params.userfilter !== undefined ? String(params.userfilter).toLowerCase() : undefined;
  if (userfilter) tasks = tasks.filter((task) => taskUser(task.user).user.toLowerCase().includes(userfilter));
  if (!auditor) tasks = tasks.filter((task) => ownsTask(subject, task.user));
  if (params.typefilter) tasks = tasks.filter((task) => task.type === String(params.typefilter));
  if (params.vmid) tasks = tasks.filter((task) => task.id === String(params.vmid));
  if (params.since !== undefined) tasks = tasks.filter((task) => task.starttime >= int(params.since));
  if (params.until !== undefined) tasks = tasks.filter((task) => task.starttime <= int(params.until));
  const wanted = new Set(["ok", "warning", "error", "unknown"]);
  if (params.statusfilter !== undefined && !bool(params.errors)) {
    wanted.clear();
    for (const filter of String(params.statusfilter).split(/[,;\s\0]+/).filter(Boolean)) wanted.add(filter.toLowerCase());
  } else if (bool(params.errors)) wanted.delete("ok");
  tasks = tasks.filter((task) => wanted.has(statusType(task.status === "running" ? undefined : task.exitstatus)));
  attributes.total = tasks.length;
  const start = params.start !== undefined ? int(params.start) : 0;
  const limit = params.limit !== undefined ? int(params.limit) : 50;
  return tasks.slice(start, start + limit).map((task) => {
    const entry: Record<string, unknown> = {
      upid: task.upid, node: task.node, pid: task.pid, pstart: task.pstart, starttime: task.starttime, type: task.type,
      id: task.id, ...taskUser(task.user),
    };
    if (task.status === "stopped") {
      entry.status = task.exitstatus;
      entry.endtime = task.endtime;
    } else {
      entry.status = "RUNNING"; // PVE::API2::Tasks node_tasks, for an active task
    }
    return entry;
  });
}

/** pve-manager API2/Cluster.pm resources: guests need VM.Audit, storages Datastore.Audit; nodes without Sys.Audit come without stats. */
function clusterResources(cluster: Cluster, type: string | undefined, access: AccessControl, subject: string): unknown[] {
  const result: unknown[] = [];
  if (!type || type === "node") {
    for (const node of cluster.nodes) {
      const entry: Record<string, unknown> = { id: `node/${node}`, type: "node", node, status: "online", level: "" };
      if (access.check(subject, `/nodes/${node}`, ["Sys.Audit"], true)) Object.assign(entry, { cpu: 0.01, maxcpu: 8, mem: 2 * 1024 ** 3, maxmem: 32 * 1024 ** 3, disk: 0, maxdisk: 100 * 1024 ** 3, uptime: 86_400 });
      result.push(entry);
    }
  }
  if (!type || type === "vm") {
    for (const ct of cluster.containers.values()) {
      if (!access.check(subject, `/vms/${ct.vmid}`, ["VM.Audit"], true)) continue;
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
        if (!access.check(subject, `/storage/${storage.storage}`, ["Datastore.Audit"], true)) continue;
        result.push({ id: `storage/${node}/${storage.storage}`, type: "storage", node, storage: storage.storage, status: "available", content: storage.content, plugintype: storage.type, disk: storage.used, maxdisk: storage.total, shared: 0 });
      }
    }
  }
  return result;
}

const endpoints = subset.endpoints as unknown as Record<string, Record<string, { parameters?: ParametersSchema; permissions?: SchemaPermissions; allowtoken?: number }>>;

export const ROUTES: Route[] = table.map(([method, template, handler]) => {
  const info = endpoints[template]?.[method];
  const schema = info?.parameters;
  if (!info || !schema) throw new Error(`${method} ${template} is missing from sandbox/schema/pve-api-subset.json`);
  const names: string[] = [];
  const pattern = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { method, template, handler, schema, permissions: info.permissions, allowtoken: info.allowtoken !== 0, names, matcher: new RegExp(`^${pattern}/?$`) };
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
