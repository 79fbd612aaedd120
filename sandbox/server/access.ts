// Proxmox's access model: users, API tokens (privilege separation), built-in and custom roles,
// groups, pools and ACLs on paths, evaluated as pve-access-control does it (PVE/AccessControl.pm
// roles(), PVE/RPCEnvironment.pm permissions()/check()/exec_api2_perm_check()). Refusals are
// PVE::Exception::raise_perm_exc: 403 `Permission check failed (<what>)`.
import { ApiError, fail } from "./errors";

// PVE/AccessControl.pm $privgroups: per category, privileges only root (via Administrator) gets,
// admin ones, user ones and audit ones. The built-in roles are cut from these lists.
const PRIVGROUPS: Record<string, { root: string[]; admin: string[]; user: string[]; audit: string[] }> = {
  VM: {
    root: [],
    admin: [
      "VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options",
      "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
    ],
    user: [
      "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt",
      "VM.GuestAgent.FileWrite", "VM.PowerMgmt",
    ],
    audit: ["VM.Audit", "VM.GuestAgent.Audit"],
  },
  Sys: { root: ["Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"], admin: ["Sys.Console", "Sys.Syslog"], user: [], audit: ["Sys.Audit"] },
  Datastore: { root: [], admin: ["Datastore.Allocate", "Datastore.AllocateTemplate"], user: ["Datastore.AllocateSpace"], audit: ["Datastore.Audit"] },
  SDN: { root: [], admin: ["SDN.Allocate", "SDN.Audit"], user: ["SDN.Use"], audit: ["SDN.Audit"] },
  User: { root: ["Realm.Allocate"], admin: ["User.Modify", "Group.Allocate", "Realm.AllocateUser"], user: [], audit: [] },
  Pool: { root: [], admin: ["Pool.Allocate"], user: ["Pool.Audit"], audit: ["Pool.Audit"] },
  Mapping: { root: [], admin: ["Mapping.Modify"], user: ["Mapping.Use"], audit: ["Mapping.Audit"] },
};

/** Every privilege PVE knows (verify_privname accepts exactly these). */
export const ALL_PRIVILEGES: readonly string[] = [
  "Permissions.Modify",
  ...Object.values(PRIVGROUPS).flatMap((group) => [...group.root, ...group.admin, ...group.user, ...group.audit]),
].filter((priv, index, all) => all.indexOf(priv) === index).sort();

/** PVE/AccessControl.pm create_roles(): NoAccess, Administrator, PVE<Cat>Admin/User, PVEAdmin, PVEAuditor, PVETemplateUser. */
function builtinRoles(): Map<string, Set<string>> {
  const roles = new Map<string, Set<string>>([["NoAccess", new Set()], ["Administrator", new Set(ALL_PRIVILEGES)]]);
  const add = (role: string, privs: string[]) => {
    const set = roles.get(role) ?? new Set<string>();
    for (const priv of privs) set.add(priv);
    roles.set(role, set);
  };
  for (const [category, group] of Object.entries(PRIVGROUPS)) {
    add(`PVE${category}Admin`, [...group.admin, ...group.user, ...group.audit]);
    add("PVEAdmin", [...group.admin, ...group.user, ...group.audit]);
    if (group.user.length) add(`PVE${category}User`, [...group.user, ...group.audit]);
    add("PVEAuditor", group.audit);
  }
  roles.get("PVEAdmin")!.delete("Mapping.Modify"); // only Administrator, root@pam and PVEMappingAdmin
  roles.set("PVETemplateUser", new Set(["VM.Clone", "VM.Audit"]));
  return roles;
}

const BUILTIN = builtinRoles();
export const BUILTIN_ROLE_NAMES: readonly string[] = [...BUILTIN.keys()];

export interface TokenInfo {
  /** The secret (a UUID); only ever returned by the POST that creates the token. */
  secret: string;
  privsep: 0 | 1;
  expire: number;
  comment?: string;
}

export interface UserEntry {
  userid: string;
  /** The realm password (pam/pve); undefined: cannot log in with a password. */
  password?: string;
  enable: 0 | 1;
  expire: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  groups: Set<string>;
  tokens: Map<string, TokenInfo>;
}

export interface AclEntry {
  path: string;
  roleid: string;
  type: "user" | "group" | "token";
  ugid: string;
  propagate: 0 | 1;
}

/** Privilege -> propagate flag: a key that is present means the privilege is set (as RPCEnvironment::permissions returns it). */
export type Privileges = Record<string, 0 | 1>;

// pve-access-control's token_full_regex: user @ realm ! token id.
const TOKEN_FULL = /^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$/;

export function splitTokenid(id: string): { userid: string; tokenid: string } | undefined {
  const match = TOKEN_FULL.exec(id);
  return match ? { userid: match[1], tokenid: match[2] } : undefined;
}

/** PVE::Exception::raise_perm_exc */
export function permissionDenied(what?: string): ApiError {
  return new ApiError(403, what ? `Permission check failed (${what})` : "Permission check failed");
}

/** PVE/AccessControl.pm normalize_path */
export function normalizePath(path: string | undefined): string | undefined {
  if (!path) return undefined;
  let result = path.replace(/\/+/g, "/").replace(/\/$/, "");
  if (!result) result = "/";
  if (!result.startsWith("/")) result = `/${result}`;
  return /^[A-Za-z0-9.\-_/]+$/.test(result) ? result : undefined;
}

/** PVE/AccessControl.pm check_path: the paths an ACL may be set on. */
export function validAclPath(path: string): boolean {
  const id = "[A-Za-z0-9.\\-_]+";
  return new RegExp(
    "^(/|/access|/access/groups|/access/groups/" + id + "|/access/realm|/access/realm/" + id + "|/nodes|/nodes/" + id +
      "|/pool|/pool/[A-Za-z0-9.\\-_]+(?:/[A-Za-z0-9.\\-_]+){0,2}|/sdn|/sdn/controllers|/sdn/controllers/[A-Za-z0-9_\\-]+" +
      "|/sdn/dns|/sdn/dns/[A-Za-z0-9]+|/sdn/fabrics|/sdn/fabrics/[A-Za-z0-9]+|/sdn/ipams|/sdn/ipams/[A-Za-z0-9]+|/sdn/zones" +
      "|/sdn/zones/" + id + "|/sdn/zones/" + id + "/" + id + "|/sdn/zones/" + id + "/" + id + "/[1-9][0-9]{0,3}" +
      "|/storage|/storage/" + id + "|/vms|/vms/[1-9][0-9]{2,}|/mapping|/mapping/" + id + "|/mapping/" + id + "/" + id + ")$",
  ).test(path);
}

/** A permission check as the schema's `permissions.check` writes it. */
export type PermCheck = unknown[];

export interface SchemaPermissions {
  user?: "all" | "world";
  check?: PermCheck;
}

export class AccessControl {
  readonly users = new Map<string, UserEntry>();
  readonly roles = new Map<string, Set<string>>();
  readonly groups = new Map<string, { comment?: string }>();
  readonly acl: AclEntry[];
  /** Pool id -> member VMIDs (the cluster's pools; pool ACLs apply to their guests). */
  private readonly pools: Map<string, Set<number>>;

  constructor(options: { acl?: AclEntry[]; pools?: Map<string, Set<number>> } = {}) {
    this.acl = options.acl ?? [];
    this.pools = options.pools ?? new Map();
    for (const [role, privs] of BUILTIN) this.roles.set(role, new Set(privs));
    this.users.set("root@pam", { userid: "root@pam", enable: 1, expire: 0, groups: new Set(), tokens: new Map() });
  }

  static isBuiltinRole(role: string): boolean {
    return BUILTIN.has(role);
  }

  /** check_user_exist */
  user(userid: string): UserEntry {
    const user = this.users.get(userid);
    if (!user) throw fail(`no such user ('${userid}')`);
    return user;
  }

  /** check_token_exist */
  token(userid: string, tokenid: string): TokenInfo {
    const token = this.user(userid).tokens.get(tokenid);
    if (!token) throw fail(`no such token '${tokenid}' for user '${userid}'`);
    return token;
  }

  // ---- evaluation ----------------------------------------------------------------------------

  /** PVE/AccessControl.pm roles(): the roles of a user or token on a path, with propagation and NoAccess. */
  private rolesOn(subject: string, path: string): Map<string, 0 | 1> {
    const token = splitTokenid(subject);
    if (token) {
      const info = this.users.get(token.userid)?.tokens.get(token.tokenid);
      if (!info) return new Map();
      if (!info.privsep) return this.rolesOn(token.userid, path);
    }
    const parts = path === "/" ? [""] : path.split("/");
    let roles = new Map<string, 0 | 1>();
    let prefix = "";
    parts.forEach((part, index) => {
      prefix = part === "" ? "/" : prefix === "/" ? `/${part}` : `${prefix}/${part}`;
      const final = index === parts.length - 1;
      const here = this.acl.filter((entry) => entry.path === prefix && (final || entry.propagate));
      const pick = (entries: AclEntry[]) => (entries.length ? new Map(entries.map((entry) => [entry.roleid, entry.propagate] as const)) : undefined);
      const member = token ? undefined : this.users.get(subject);
      roles =
        pick(here.filter((entry) => entry.type === "token" && entry.ugid === subject)) ??
        pick(here.filter((entry) => entry.type === "user" && entry.ugid === subject)) ??
        pick(here.filter((entry) => entry.type === "group" && member?.groups.has(entry.ugid))) ??
        roles;
    });
    if (roles.has("NoAccess")) return new Map([["NoAccess", roles.get("NoAccess")!]]);
    return roles;
  }

  /** compile_acl_path for one subject: path roles, pool roles for `/vms/<id>`, privileges (without the token/user intersection). */
  private compiled(subject: string, path: string): Privileges {
    let roles = this.rolesOn(subject, path);
    const vm = /^\/vms\/(\d+)$/.exec(path);
    if (vm && !roles.has("NoAccess")) {
      const poolRoles = new Set<string>();
      for (const [pool, members] of this.pools) {
        if (!members.has(Number(vm[1]))) continue;
        for (const role of this.rolesOn(subject, `/pool/${pool}`).keys()) poolRoles.add(role);
      }
      if (poolRoles.has("NoAccess")) roles = new Map([["NoAccess", 0]]);
      else for (const role of poolRoles) if (!roles.has(role)) roles.set(role, 0);
    }
    const privs: Privileges = {};
    for (const [role, propagate] of roles) {
      for (const priv of this.roles.get(role) ?? []) privs[priv] = (privs[priv] || propagate) as 0 | 1;
    }
    return privs;
  }

  /** RPCEnvironment::permissions: root@pam has everything; a token without privsep has its user's; with privsep, the intersection. */
  permissions(subject: string, path: string): Privileges {
    if (subject === "root@pam") return Object.fromEntries(ALL_PRIVILEGES.map((priv) => [priv, 1]));
    const token = splitTokenid(subject);
    if (token) {
      const info = this.users.get(token.userid)?.tokens.get(token.tokenid);
      if (!info) return {};
      const userPrivs = this.permissions(token.userid, path);
      if (!info.privsep) return userPrivs;
      const own = this.compiled(subject, path);
      const both: Privileges = {};
      for (const priv of Object.keys(own)) if (userPrivs[priv] !== undefined) both[priv] = (userPrivs[priv] && own[priv]) as 0 | 1;
      return both;
    }
    if (!this.users.has(subject)) return {};
    return this.compiled(subject, path);
  }

  /** RPCEnvironment::check: every privilege, or 403 naming the first one missing. */
  check(subject: string, path: string, privs: readonly string[], noerr = false): boolean {
    const have = this.permissions(subject, path);
    for (const priv of privs) {
      if (have[priv] === undefined) {
        if (noerr) return false;
        throw permissionDenied(`${path}, ${priv}`);
      }
    }
    return true;
  }

  /** RPCEnvironment::check_any: one of them, or 403 naming them all joined with `|`. */
  checkAny(subject: string, path: string, privs: readonly string[], noerr = false): boolean {
    const have = this.permissions(subject, path);
    if (privs.some((priv) => have[priv] !== undefined)) return true;
    if (noerr) return false;
    throw permissionDenied(`${path}, ${privs.join("|")}`);
  }

  checkFull(subject: string, path: string, privs: readonly string[], any: boolean, noerr = false): boolean {
    return any ? this.checkAny(subject, path, privs, noerr) : this.check(subject, path, privs, noerr);
  }

  /** RPCEnvironment::check_vm_perm: the pool first (quietly), then the guest. */
  checkVm(subject: string, vmid: number | string, pool: string | undefined, privs: readonly string[], any = false): boolean {
    if (pool && this.checkFull(subject, `/pool/${pool}`, privs, any, true)) return true;
    return this.checkFull(subject, `/vms/${vmid}`, privs, any);
  }

  /** RPCEnvironment::check_sdn_bridge with GuestHelpers::check_vnet_access for a plain Linux bridge (zone `localnetwork`). */
  checkBridge(subject: string, bridge: string, tag?: string): void {
    if (subject === "root@pam") return;
    const path = `/sdn/zones/localnetwork/${bridge}`;
    if (tag) {
      this.checkAny(subject, `${path}/${tag}`, ["SDN.Use"]);
      return;
    }
    if (this.checkAny(subject, path, ["SDN.Use"], true)) return;
    for (const entry of this.acl) {
      const vlan = entry.path.startsWith(`${path}/`) ? entry.path.slice(path.length + 1) : undefined;
      if (vlan && !vlan.includes("/") && this.checkAny(subject, entry.path, ["SDN.Use"], true)) return;
    }
    this.checkAny(subject, path, ["SDN.Use"]);
  }

  /** RPCEnvironment::check_perm_modify */
  checkPermModify(subject: string, path: string | undefined, noerr = false): boolean {
    if (!path) return this.check(subject, "/access", ["Permissions.Modify"], noerr);
    const privs = ["Permissions.Modify"];
    if (/^\/storage\/.+$/.test(path)) privs.push("Datastore.Allocate");
    else if (/^\/vms\/.+$/.test(path)) privs.push("VM.Allocate");
    else if (/^\/pool\/.+$/.test(path)) privs.push("Pool.Allocate");
    return this.checkAny(subject, path, privs, noerr);
  }

  private groupsWith(subject: string, privs: readonly string[]): Set<string> {
    return new Set([...this.groups.keys()].filter((group) => this.checkAny(subject, `/access/groups/${group}`, privs, true)));
  }

  /** RPCEnvironment::exec_api2_perm_check: one `check` entry of the schema, `{name}` replaced from the parameters. */
  execCheck(check: PermCheck, subject: string, params: Record<string, unknown>, noerr = false): boolean {
    const [test, ...rest] = check as [string, ...unknown[]];
    const options = (from: number) => {
      const result: Record<string, unknown> = {};
      for (let i = from; i + 1 < rest.length; i += 2) result[String(rest[i])] = rest[i + 1];
      return result;
    };
    switch (test) {
      case "and":
        for (const sub of rest) this.execCheck(sub as PermCheck, subject, params);
        return true;
      case "or":
        for (const sub of rest) if (this.execCheck(sub as PermCheck, subject, params, true)) return true;
        if (noerr) return false;
        throw permissionDenied();
      case "perm": {
        const [template, privs] = rest as [string, string[]];
        const opts = options(2);
        if (opts.require_param && params[String(opts.require_param)] === undefined) {
          if (noerr) return false;
          throw permissionDenied();
        }
        const path = normalizePath(templateReplace(template, params));
        return this.checkFull(subject, path ?? "", privs, Boolean(opts.any), noerr);
      }
      case "userid-group": {
        const privs = rest[0] as string[];
        const opts = options(1);
        const userid = String(params.userid);
        const existing = opts.groups_param !== "create";
        if (existing && !this.users.has(userid)) {
          if (noerr) return false;
          throw fail(`no such user ('${userid}')`);
        }
        if (this.checkAny(subject, "/access/groups", privs, true)) return true;
        const groups = this.groupsWith(subject, privs);
        if (opts.groups_param) {
          const wanted = String(params.groups ?? "").split(/[,;\s]+/).filter(Boolean);
          if (wanted.length === 0) throw permissionDenied(`/access/groups, ${privs.join("|")}`);
          for (const group of wanted) if (!groups.has(group)) throw permissionDenied(`/access/groups/${group}, ${privs.join("|")}`);
        }
        if (existing) {
          const allowed = [...groups].some((group) => this.users.get(userid)?.groups.has(group));
          if (!allowed) {
            if (noerr) return false;
            throw permissionDenied();
          }
        }
        return true;
      }
      case "userid-param": {
        const userid = String(params.userid);
        const sub = rest[0];
        if (sub === "self") {
          if (!this.users.has(userid)) {
            if (noerr) return false;
            throw fail(`no such user ('${userid}')`);
          }
          if (subject === userid) return true;
          if (noerr) return false;
          throw permissionDenied();
        }
        const realm = userid.slice(userid.lastIndexOf("@") + 1);
        return this.check(subject, `/access/realm/${realm}`, ["Realm.AllocateUser"], noerr);
      }
      case "perm-modify": {
        const path = normalizePath(templateReplace(String(rest[0]), params));
        if (path === undefined) return false;
        return this.checkPermModify(subject, path, noerr);
      }
      default:
        throw new Error(`unknown permission test '${test}'`);
    }
  }

  /** RPCEnvironment::check_api2_permissions for the authenticated user (a token's is its token id). */
  checkApi(permissions: SchemaPermissions | undefined, subject: string | undefined, params: Record<string, unknown>): void {
    if (!subject && permissions?.user === "world") return;
    if (!subject) throw permissionDenied("user != null");
    if (subject === "root@pam") return;
    if (!permissions) throw permissionDenied("user != root@pam");
    if (permissions.user === "all") return;
    if (permissions.check) {
      this.execCheck(permissions.check, subject, params);
      return;
    }
    throw permissionDenied();
  }

  /** RPCEnvironment::get_effective_permissions: top-level paths, ACL paths and pool member paths, without empty ones. */
  effectivePermissions(subject: string): Record<string, Privileges> {
    const paths = new Set(["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"]);
    for (const entry of this.acl) paths.add(entry.path);
    for (const members of this.pools.values()) for (const vmid of members) paths.add(`/vms/${vmid}`);
    const result: Record<string, Privileges> = {};
    for (const path of [...paths].sort()) {
      const privs = this.permissions(subject, path);
      if (Object.keys(privs).length) result[path] = privs;
    }
    return result;
  }

  /** RPCEnvironment::compute_api_permission: the `cap` of a login ticket. */
  capabilities(subject: string): Record<string, Record<string, 1>> {
    const map: Record<string, RegExp> = {
      vms: /^(VM\.|Permissions\.Modify)/, access: /^((User|Group)\.|Permissions\.Modify)/, storage: /^(Datastore\.|Permissions\.Modify)/,
      nodes: /^(Sys\.|Permissions\.Modify)/, sdn: /^(SDN\.|Permissions\.Modify)/, dc: /^(Sys\.Audit|Sys\.Modify|SDN\.)/,
      mapping: /^(Mapping\.|Permissions.Modify)/,
    };
    const result: Record<string, Record<string, 1>> = Object.fromEntries(Object.keys(map).map((key) => [key, {}]));
    const paths = new Set(["/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping", ...this.acl.map((entry) => entry.path)]);
    for (const path of paths) {
      const privs = this.permissions(subject, path);
      const top = /^\/(\w+)/.exec(path)?.[1] ?? "dc";
      for (const priv of Object.keys(privs)) {
        if (top === "pool") {
          if (priv.startsWith("VM.")) result.vms[priv] = 1;
          else if (priv.startsWith("Datastore.")) result.storage[priv] = 1;
          else if (priv === "Permissions.Modify") result.storage[priv] = result.vms[priv] = 1;
        } else if (map[top]?.test(priv)) result[top][priv] = 1;
      }
    }
    return result;
  }
}

/** PVE::Tools::template_replace: `{name}` becomes the parameter, or `-` when it is unset or empty. */
export function templateReplace(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    return value === undefined || value === null || value === "" || value === 0 || value === "0" ? "-" : String(value);
  });
}
