// Settings PVE keeps for the user root@pam alone (pve-container src/PVE/LXC.pm
// check_ct_modify_config_perm): feature flags other than `nesting`, and any flag on a privileged
// container. An API token is never root@pam (pve-http-server auth_handler: the authenticated user
// of a token is the token id), so with a token these are refused in `check`, naming the field.

import type { FieldProblem } from "../errors";
import { resolveConnection, type ProxmoxConnection } from "../proxmox";
import type { ConnectionOverride } from "./schema";

/** Whether the credentials act as root@pam: only a root@pam password login does. Undefined: not known yet. */
function actsAsRoot(override: ConnectionOverride | undefined): boolean | undefined {
  let connection: ProxmoxConnection;
  try {
    connection = resolveConnection({ override });
  } catch {
    return undefined; // no usable credentials yet: the create reports that
  }
  if (connection.apiToken) return false;
  return connection.username === "root@pam" || connection.username === "root" ? true : false;
}

/** The fields a token (or another user) cannot set, each with the reason, or [] when allowed or unknown. */
export function rootOnlyProblems(inputs: Record<string, unknown>): FieldProblem[] {
  const features = inputs.features as Record<string, unknown> | undefined;
  if (!features || typeof features !== "object") return [];
  const privileged = inputs.unprivileged === false;
  const on = (["nesting", "keyctl", "fuse"] as const).filter((flag) => features[flag] === true);
  const needsRoot = on.filter((flag) => privileged || flag !== "nesting");
  if (needsRoot.length === 0) return [];
  if (actsAsRoot(inputs.connection as ConnectionOverride | undefined) !== false) return [];
  return needsRoot.map((flag) => ({
    property: `features.${flag}`,
    reason: privileged
      ? "Proxmox lets only root@pam (a password login, never an API token) set feature flags on a privileged container (unprivileged: false): leave the flag off, or make the container unprivileged"
      : `Proxmox lets only root@pam (a password login, never an API token) set '${flag}': leave it off, or deploy with root@pam's password`,
  }));
}
