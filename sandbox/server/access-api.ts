// PVE's access API as pveum and every client use it: users, API tokens, roles, ACLs and effective
// permissions (pve-access-control PVE/API2/User.pm, Role.pm, ACL.pm, AccessControl.pm). Messages
// are theirs, including lock_user_config's `<what> failed: ` prefix.
import * as crypto from "crypto";
import { AccessControl, ALL_PRIVILEGES, normalizePath, permissionDenied, splitTokenid, validAclPath } from "./access";
import type { Identity } from "./auth";
import { ApiError, fail, paramError } from "./errors";
import type { Params } from "./cluster";
import { parseBoolean } from "./validate";

const bool = (value: unknown) => value !== undefined && parseBoolean(String(value)) === 1;
const list = (value: unknown) => (value === undefined ? [] : String(value).split(/[,;\s\0]+/).filter(Boolean));

/** PVE::AccessControl::lock_user_config: a failure inside is prefixed with what failed. */
function locked<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    // `die "$errmsg: $err"` stringifies a parameter exception: its message, then one `key: message` line per error.
    if (error instanceof ApiError && error.status === 400 && error.errors) {
      throw fail(`${what}: ${error.message}${Object.entries(error.errors).map(([key, message]) => `${key}: ${message}\n`).join("")}`);
    }
    if (error instanceof ApiError && error.status === 500) throw fail(`${what}: ${error.message}`);
    throw error;
  }
}

function addRolePrivs(access: AccessControl, role: string, privs: unknown): void {
  for (const priv of list(privs)) {
    if (!ALL_PRIVILEGES.includes(priv)) throw fail(`invalid privilege '${priv}'`);
    access.roles.get(role)!.add(priv);
  }
}

export function listRoles(access: AccessControl): unknown[] {
  return [...access.roles].map(([roleid, privs]) => ({ roleid, privs: [...privs].sort().join(","), special: AccessControl.isBuiltinRole(roleid) ? 1 : 0 }));
}

export function createRole(access: AccessControl, params: Params): null {
  const role = String(params.roleid);
  if (/^pve/i.test(role)) throw paramError({ roleid: "cannot use role ID starting with the (case-insensitive) 'PVE' namespace" });
  return locked("create role failed", () => {
    if (access.roles.has(role)) throw fail(`role '${role}' already exists`);
    access.roles.set(role, new Set());
    try {
      addRolePrivs(access, role, params.privs);
    } catch (error) {
      access.roles.delete(role); // the config is written only when everything passed
      throw error;
    }
    return null;
  });
}

export function readRole(access: AccessControl, params: Params): Record<string, 1> {
  const privs = access.roles.get(String(params.roleid));
  if (!privs) throw fail(`role '${params.roleid}' does not exist`);
  return Object.fromEntries([...privs].sort().map((priv) => [priv, 1]));
}

export function updateRole(access: AccessControl, params: Params): null {
  const role = String(params.roleid);
  if (AccessControl.isBuiltinRole(role)) throw fail(`auto-generated role '${role}' cannot be modified`);
  return locked("update role failed", () => {
    const old = access.roles.get(role);
    if (!old) throw fail(`role '${role}' does not exist`);
    for (const priv of list(params.privs)) if (!ALL_PRIVILEGES.includes(priv)) throw fail(`invalid privilege '${priv}'`);
    if (!bool(params.append)) old.clear();
    addRolePrivs(access, role, params.privs);
    return null;
  });
}

export function deleteRole(access: AccessControl, params: Params): null {
  const role = String(params.roleid);
  if (AccessControl.isBuiltinRole(role)) throw fail(`auto-generated role '${role}' cannot be deleted`);
  return locked("delete role failed", () => {
    if (!access.roles.delete(role)) throw fail(`role '${role}' does not exist`);
    return null; // PVE leaves ACL entries naming the role in place ("fixme: delete role from acl?")
  });
}

function userEntry(access: AccessControl, userid: string, full: boolean): Record<string, unknown> {
  const user = access.users.get(userid)!;
  const entry: Record<string, unknown> = { userid, enable: user.enable, expire: user.expire };
  for (const key of ["firstname", "lastname", "email", "comment"] as const) if (user[key] !== undefined) entry[key] = user[key];
  if (full) {
    entry.groups = [...user.groups].sort().join(",");
    entry.tokens = [...user.tokens].sort(([a], [b]) => a.localeCompare(b)).map(([tokenid, info]) => tokenView(info, tokenid));
  }
  const realm = userid.slice(userid.lastIndexOf("@") + 1);
  if (realm === "pam" || realm === "pve") entry["realm-type"] = realm;
  return entry;
}

function tokenView(info: { privsep: 0 | 1; expire: number; comment?: string }, tokenid?: string): Record<string, unknown> {
  const view: Record<string, unknown> = tokenid !== undefined ? { tokenid } : {};
  view.privsep = info.privsep;
  view.expire = info.expire;
  if (info.comment) view.comment = info.comment;
  return view;
}

/** API2/User.pm index: users the caller may see (User.Modify or Sys.Audit on /access/groups, or their groups), always itself. */
export function listUsers(access: AccessControl, identity: Identity, params: Params): unknown[] {
  const subject = identity.principal;
  const privs = ["User.Modify", "Sys.Audit"];
  const all = access.checkAny(subject, "/access/groups", privs, true);
  const groups = [...access.groups.keys()].filter((group) => access.checkAny(subject, `/access/groups/${group}`, privs, true));
  return [...access.users.keys()].sort()
    .filter((userid) => all || userid === subject || groups.some((group) => access.users.get(userid)!.groups.has(group)))
    .map((userid) => userEntry(access, userid, bool(params.full)))
    .filter((entry) => params.enabled === undefined || Boolean(entry.enable) === bool(params.enabled));
}

export function createUser(access: AccessControl, params: Params): null {
  const userid = String(params.userid);
  return locked("create user failed", () => {
    if (access.users.has(userid)) throw fail(`user '${userid}' already exists`);
    const groups = list(params.groups);
    for (const group of groups) if (!access.groups.has(group)) throw fail(`no such group '${group}'`);
    access.users.set(userid, {
      userid,
      password: params.password !== undefined ? String(params.password) : undefined,
      enable: params.enable === undefined || bool(params.enable) ? 1 : 0,
      expire: Number(params.expire ?? 0),
      firstname: params.firstname !== undefined ? String(params.firstname) : undefined,
      lastname: params.lastname !== undefined ? String(params.lastname) : undefined,
      email: params.email !== undefined ? String(params.email) : undefined,
      comment: params.comment !== undefined ? String(params.comment) : undefined,
      groups: new Set(groups),
      tokens: new Map(),
    });
    return null;
  });
}

export function readUser(access: AccessControl, params: Params): Record<string, unknown> {
  const userid = String(params.userid);
  access.user(userid);
  const entry = userEntry(access, userid, true);
  delete entry.userid;
  delete entry["realm-type"];
  entry.groups = [...access.users.get(userid)!.groups].sort();
  entry.tokens = Object.fromEntries([...access.users.get(userid)!.tokens].map(([id, info]) => [id, tokenView(info)]));
  return entry;
}

export function updateUser(access: AccessControl, params: Params): null {
  const userid = String(params.userid);
  return locked("update user failed", () => {
    const user = access.user(userid);
    if (params.enable !== undefined) user.enable = bool(params.enable) ? 1 : 0;
    if (params.expire !== undefined) user.expire = Number(params.expire);
    for (const key of ["firstname", "lastname", "email", "comment"] as const) if (params[key] !== undefined) user[key] = String(params[key]);
    if (params.groups !== undefined) {
      const groups = list(params.groups);
      for (const group of groups) if (!access.groups.has(group)) throw fail(`no such group '${group}'`);
      if (!bool(params.append)) user.groups.clear();
      for (const group of groups) user.groups.add(group);
    }
    return null;
  });
}

/** API2/User.pm delete_user: the user, its tokens and every ACL entry naming either. */
export function deleteUser(access: AccessControl, params: Params): null {
  const userid = String(params.userid);
  return locked("delete user failed", () => {
    access.user(userid);
    access.users.delete(userid);
    for (let i = access.acl.length - 1; i >= 0; i--) {
      const entry = access.acl[i];
      if ((entry.type === "user" && entry.ugid === userid) || (entry.type === "token" && splitTokenid(entry.ugid)?.userid === userid)) access.acl.splice(i, 1);
    }
    return null;
  });
}

export function listTokens(access: AccessControl, params: Params): unknown[] {
  return [...access.user(String(params.userid)).tokens].map(([tokenid, info]) => tokenView(info, tokenid));
}

export function readToken(access: AccessControl, params: Params): unknown {
  return tokenView(access.token(String(params.userid), String(params.tokenid)));
}

/** API2/User.pm generate_token: the secret is in this answer and nowhere else, ever. */
export function generateToken(access: AccessControl, params: Params): unknown {
  const userid = String(params.userid);
  const tokenid = String(params.tokenid);
  const user = access.user(userid);
  if (user.tokens.has(tokenid)) throw paramError({ tokenid: "Token already exists." });
  const info = {
    secret: crypto.randomUUID(),
    privsep: (params.privsep === undefined || bool(params.privsep) ? 1 : 0) as 0 | 1,
    expire: Number(params.expire ?? 0),
    comment: params.comment ? String(params.comment) : undefined,
  };
  user.tokens.set(tokenid, info);
  const shown: Record<string, unknown> = { privsep: info.privsep };
  if (params.expire !== undefined) shown.expire = info.expire;
  if (info.comment) shown.comment = info.comment;
  return { info: shown, value: info.secret, "full-tokenid": `${userid}!${tokenid}` };
}

export function updateToken(access: AccessControl, params: Params): unknown {
  const info = access.token(String(params.userid), String(params.tokenid));
  return locked("updating token info failed", () => {
    if (params.privsep !== undefined) info.privsep = bool(params.privsep) ? 1 : 0;
    if (params.expire !== undefined) info.expire = Number(params.expire);
    if (params.comment !== undefined) info.comment = String(params.comment) || undefined;
    for (const key of list(params.delete)) {
      if (key !== "comment") throw paramError({ delete: `unknown option '${key}'` });
      delete info.comment;
    }
    return tokenView(info);
  });
}

/** API2/User.pm remove_token: the token and its ACL entries (PVE::AccessControl::delete_token drops them with the user.cfg write). */
export function deleteToken(access: AccessControl, params: Params): null {
  const userid = String(params.userid);
  const tokenid = String(params.tokenid);
  access.token(userid, tokenid);
  access.users.get(userid)!.tokens.delete(tokenid);
  for (let i = access.acl.length - 1; i >= 0; i--) if (access.acl[i].type === "token" && access.acl[i].ugid === `${userid}!${tokenid}`) access.acl.splice(i, 1);
  return null;
}

/** API2/ACL.pm read_acl: entries on paths where the caller may modify permissions (or has Sys.Audit on /access). */
export function readAcl(access: AccessControl, identity: Identity): unknown[] {
  const subject = identity.principal;
  const audit = access.check(subject, "/access", ["Sys.Audit"], true);
  return access.acl
    .filter((entry) => audit || access.checkPermModify(subject, entry.path, true))
    .map((entry) => ({ path: entry.path, type: entry.type, ugid: entry.ugid, roleid: entry.roleid, propagate: entry.propagate }));
}

/** API2/ACL.pm update_acl, with its checks and messages in its order. */
export function updateAcl(access: AccessControl, identity: Identity, params: Params): null {
  if (!params.users && !params.groups && !params.tokens) {
    const message = "either 'users', 'groups' or 'tokens' is required.";
    throw paramError({ users: message, groups: message, tokens: message });
  }
  const path = normalizePath(String(params.path));
  if (!path) throw paramError({ path: `invalid ACL path '${params.path}'` });
  const remove = bool(params.delete);
  if (!remove && !validAclPath(path)) throw paramError({ path: `invalid ACL path '${params.path}'` });
  return locked("ACL update failed", () => {
    const own = access.permissions(identity.principal, path);
    const propagate: 0 | 1 = params.propagate === undefined || bool(params.propagate) ? 1 : 0;
    const changes: Array<() => void> = [];
    for (const role of list(params.roles)) {
      if (!access.roles.has(role)) throw fail(`role '${role}' does not exist`);
      if (own["Permissions.Modify"] === undefined) {
        const verb = remove ? "remove" : "add";
        for (const priv of access.roles.get(role)!) {
          if (own[priv] === undefined) throw paramError({ role: `Cannot ${verb} role '${role}' - requires 'Permissions.Modify' or superset of privileges.` });
          if (propagate && own[priv] !== propagate && !remove) {
            throw paramError({ role: `Cannot ${verb} role '${role}' with propagation - requires 'Permissions.Modify' or propagated superset of privileges.` });
          }
        }
        if (role === "NoAccess") throw paramError({ role: `Cannot ${verb} role '${role}' - requires 'Permissions.Modify'` });
      }
      const subjects: Array<{ type: "user" | "group" | "token"; ugid: string }> = [];
      for (const group of list(params.groups)) {
        if (!access.groups.has(group)) throw fail(`group '${group}' does not exist`);
        subjects.push({ type: "group", ugid: group });
      }
      for (const userid of list(params.users)) {
        if (!access.users.has(userid)) throw fail(`user '${userid}' does not exist`);
        subjects.push({ type: "user", ugid: userid });
      }
      for (const full of list(params.tokens)) {
        const token = splitTokenid(full);
        if (!token) throw fail(`'${full}' is not a valid token ID - not able to split into user and token parts`);
        access.token(token.userid, token.tokenid);
        subjects.push({ type: "token", ugid: full });
      }
      for (const subject of subjects) {
        changes.push(() => {
          const index = access.acl.findIndex((entry) => entry.path === path && entry.roleid === role && entry.type === subject.type && entry.ugid === subject.ugid);
          if (index >= 0) access.acl.splice(index, 1);
          if (!remove) access.acl.push({ path, roleid: role, type: subject.type, ugid: subject.ugid, propagate });
        });
      }
    }
    for (const change of changes) change(); // user.cfg is written once, after every check passed
    return null;
  });
}

/** API2/AccessControl.pm permissions: one's own (or an owned token's); someone else's needs Sys.Audit on /access. */
export function permissions(access: AccessControl, identity: Identity, params: Params): unknown {
  const authid = identity.principal;
  const userid = params.userid !== undefined ? String(params.userid) : authid;
  const owner = splitTokenid(userid)?.userid;
  if (!(userid === authid || owner === authid)) access.check(authid, "/access", ["Sys.Audit"]);
  if (params.path !== undefined) return { [String(params.path)]: access.permissions(userid, String(params.path)) };
  return access.effectivePermissions(userid);
}

export { permissionDenied };
