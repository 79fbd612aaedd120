// The least-privilege role for the provider, derived (never kept by hand) from the official
// schema's `permissions` entry of every call the provider makes, plus the checks PVE makes in code
// for those calls (sandbox/server/permissions.ts CODE_CHECKS). The README prints its result and
// the sandbox's permission-table test holds both to it.
import { BUILTIN_ROLE_NAMES } from "./server/access";
import { CODE_CHECKS } from "./server/permissions";
import subset = require("./schema/pve-api-subset.json");

/**
 * Every Proxmox call the provider makes (provider/container, provider/acl, provider/proxmox task
 * polling). The root-program e2e test fails when a run sends one that is not listed here.
 */
export const PROVIDER_CALLS: readonly string[] = [
  "GET /cluster/resources",
  "GET /cluster/nextid",
  "GET /nodes/{node}/storage",
  "GET /nodes/{node}/storage/{storage}/content",
  "POST /nodes/{node}/storage/{storage}/oci-registry-pull",
  // Private images (imageCredentials): the archive copied where `pulumi up` runs. Deleting older archives
  // (DELETE .../content/{volume}, Datastore.Allocate) is optional: without it they stay, with a warning.
  "POST /nodes/{node}/storage/{storage}/upload",
  "POST /nodes/{node}/lxc",
  "POST /nodes/{node}/lxc/{vmid}/clone",
  "GET /nodes/{node}/lxc/{vmid}/config",
  "PUT /nodes/{node}/lxc/{vmid}/config",
  "GET /nodes/{node}/lxc/{vmid}/pending",
  "PUT /nodes/{node}/lxc/{vmid}/resize",
  "GET /nodes/{node}/lxc/{vmid}/status/current",
  "POST /nodes/{node}/lxc/{vmid}/status/start",
  "POST /nodes/{node}/lxc/{vmid}/status/shutdown",
  "POST /nodes/{node}/lxc/{vmid}/status/reboot",
  "GET /nodes/{node}/lxc/{vmid}/interfaces",
  "DELETE /nodes/{node}/lxc/{vmid}",
  // Tasks waited on together at one node share one task-list read.
  "GET /nodes/{node}/tasks",
  "GET /nodes/{node}/tasks/{upid}/status",
  "GET /nodes/{node}/tasks/{upid}/log",
  "GET /access/acl",
  "PUT /access/acl",
];

/** The role `owner` hands out on the container (PreviewEnvironment's default, PVEVMUser). */
export const OWNER_ROLE = "PVEVMUser";

export interface Need {
  /** ACL path template, e.g. `/vms/{vmid}`. */
  path: string;
  /** The privileges; with `any`, one of them does. */
  privs: string[];
  any: boolean;
  /** Where the need comes from: `schema` or the PVE source of a code check. */
  source: string;
}

type Endpoints = Record<string, Record<string, { permissions?: { user?: string; check?: unknown[] } }>>;

/** The `perm` entries of a schema check; of an `or`, the first alternative (the one without a pool). */
function schemaNeeds(check: unknown[] | undefined): Need[] {
  if (!check) return [];
  const [test, ...rest] = check as [string, ...unknown[]];
  if (test === "and") return rest.flatMap((sub) => schemaNeeds(sub as unknown[]));
  if (test === "or") return schemaNeeds(rest[0] as unknown[]);
  if (test === "perm") {
    const [path, privs, ...options] = rest as [string, string[], ...unknown[]];
    const any = options.some((value, index) => value === "any" && options[index + 1]);
    return [{ path, privs, any, source: "schema" }];
  }
  if (test === "perm-modify") return [{ path: String(rest[0]), privs: ["Permissions.Modify", "VM.Allocate"], any: true, source: "schema (perm-modify on /vms/<vmid>)" }];
  return [];
}

/** What one call needs: its schema check, then PVE's code checks for it. */
export function needsOf(call: string): Need[] {
  const [method, path] = call.split(" ");
  const info = (subset.endpoints as unknown as Endpoints)[path]?.[method];
  if (!info) throw new Error(`${call} is not in sandbox/schema/pve-api-subset.json`);
  const needs = schemaNeeds(info.permissions?.check);
  for (const check of CODE_CHECKS[call] ?? []) needs.push({ path: check.path, privs: check.privs, any: Boolean(check.any), source: check.source });
  return needs;
}

/**
 * The role's privileges: every privilege a call needs; of an `any` list, one already in the role,
 * else the first. `ownerPrivileges`: PUT /access/acl without Permissions.Modify may only hand out a
 * role whose privileges the caller holds itself (pve-access-control API2/ACL.pm update_acl).
 */
export function deriveRole(calls: readonly string[] = PROVIDER_CALLS, ownerPrivileges: readonly string[] = []): string[] {
  const role = new Set<string>();
  const needs = calls.flatMap(needsOf);
  for (const need of needs.filter((n) => !n.any)) for (const priv of need.privs) role.add(priv);
  if (calls.includes("PUT /access/acl")) for (const priv of ownerPrivileges) role.add(priv);
  for (const need of needs.filter((n) => n.any)) if (!need.privs.some((priv) => role.has(priv))) role.add(need.privs[0]);
  return [...role].sort();
}

export { BUILTIN_ROLE_NAMES };
