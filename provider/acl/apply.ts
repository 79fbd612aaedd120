// One ACL entry through `PUT /access/acl`: set on create, re-set on update, removed (delete=1) on
// delete, found again in `GET /access/acl` on refresh.

import { PveHttpError } from "../errors";
import { ProxmoxClient, resolveConnection } from "../proxmox";
import type { PermissionInputs } from "./schema";

interface AclEntry { path: string; roleid: string; type: string; ugid: string; propagate?: number }

function clientFor(inputs: PermissionInputs): ProxmoxClient {
  return new ProxmoxClient(resolveConnection({ override: inputs.connection }));
}

const subjectOf = (inputs: PermissionInputs) =>
  inputs.user !== undefined ? { type: "user", ugid: inputs.user, param: { users: inputs.user } } : { type: "group", ugid: inputs.group!, param: { groups: inputs.group! } };

/** The natural key: `<path>|<role>|<user|group>:<id>`. */
export function permissionId(inputs: PermissionInputs): string {
  const subject = subjectOf(inputs);
  return `${inputs.path}|${inputs.role}|${subject.type}:${subject.ugid}`;
}

export async function setPermission(inputs: PermissionInputs): Promise<void> {
  await clientFor(inputs).put("/access/acl", { path: inputs.path, roles: inputs.role, propagate: inputs.propagate, ...subjectOf(inputs).param });
}

export async function removePermission(inputs: PermissionInputs): Promise<void> {
  // Always sent: PVE deletes an absent entry without complaint (API2/ACL.pm update_acl), while GET
  // /access/acl hides entries the caller may not modify, so "not listed" does not mean "gone".
  // Proxmox also drops a guest's entries when the guest is destroyed (API2/LXC.pm destroy_vm).
  try {
    await clientFor(inputs).put("/access/acl", { path: inputs.path, roles: inputs.role, delete: true, ...subjectOf(inputs).param });
  } catch (error) {
    // A deleted user or group took its entries along (API2/User.pm delete_user); nothing is left to remove.
    if (error instanceof PveHttpError && error.status === 500 && /^ACL update failed: (user|group) '[^']+' does not exist/.test(error.pveMessage)) return;
    throw error;
  }
}

/** The entry as Proxmox holds it now, or undefined when it is gone. */
export async function readPermission(inputs: PermissionInputs): Promise<{ propagate: boolean } | undefined> {
  const entry = await findPermission(clientFor(inputs), inputs);
  return entry && { propagate: entry.propagate === undefined ? true : Number(entry.propagate) === 1 };
}

async function findPermission(client: ProxmoxClient, inputs: PermissionInputs): Promise<AclEntry | undefined> {
  const subject = subjectOf(inputs);
  const entries = await client.get<AclEntry[]>("/access/acl");
  return entries.find((e) => e.path === inputs.path && e.roleid === inputs.role && e.type === subject.type && e.ugid === subject.ugid);
}
