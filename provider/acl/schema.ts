// The inputs of a ProxmoxPermission: one ACL entry (path, role, user or group).
// @see https://pve.proxmox.com/pve-docs/api-viewer/#/access/acl (PUT)

import { z } from "zod";
import type { FieldProblem } from "../errors";
import { connectionSchema } from "../container/schema";
import { UNKNOWN } from "../hostValues";
import { containsUnknown, problemsOf } from "../check";

export { UNKNOWN };
export const SCHEMA_VERSION = 1;

/** The ACL paths Proxmox accepts (`/`, `/vms/100`, `/storage/local`, `/pool/dev`, ...). */
const ACL_PATH = /^\/(?:(?:vms|storage|nodes|pool|sdn|access|mapping)(?:\/[A-Za-z0-9_.\-]+)*)?$/;
/** `pve-roleid`. */
const ROLE = /^[A-Za-z0-9_.\-]{1,64}$/;
/** `pve-userid`: `name@realm`. */
const USER = /^[^\s:/@]{1,64}@[A-Za-z][A-Za-z0-9.\-_]{1,31}$/;
/** `pve-groupid`. */
const GROUP = /^[A-Za-z0-9.\-_]{1,64}$/;

export const PermissionInputsSchema = z.strictObject({
  // PVE sets no length on an ACL path; a bound keeps a 100 kB value out of the request.
  path: z.string().max(1024, "must be at most 1024 characters").regex(ACL_PATH, "must be a Proxmox ACL path such as /vms/100").refine((p) => !p.split("/").some((s) => s === "." || s === ".."), "must not hold '.' or '..' segments"),
  role: z.string().regex(ROLE, "must be a role id such as PVEVMUser").default("PVEVMUser"),
  user: z.string().regex(USER, "must be a user id such as alice@pve").optional(),
  group: z.string().regex(GROUP, "must be a group id").optional(),
  propagate: z.boolean().default(true),
  connection: connectionSchema.optional(),
});

export type PermissionInputs = z.infer<typeof PermissionInputsSchema>;
export interface PermissionOutputs extends PermissionInputs { schemaVersion: number }

const INPUT_KEYS = Object.keys(PermissionInputsSchema.shape);

export type PermissionCheck = { ok: true; inputs: Record<string, unknown> } | { ok: false; problems: FieldProblem[] };

export function parsePermissionInputs(raw: Record<string, unknown>): PermissionCheck {
  const { __provider: _p, ...inputs } = raw;
  const problems: FieldProblem[] = [];
  const given = (v: unknown) => v !== undefined && v !== null;
  if (given(inputs.user) && given(inputs.group)) problems.push({ property: "user", reason: "Only one of `user` and `group` can be given" });
  if (!given(inputs.user) && !given(inputs.group)) problems.push({ property: "user", reason: "One of `user` and `group` is required" });
  const unknownKeys = Object.keys(inputs).filter((k) => containsUnknown(inputs[k]));
  const parsed = PermissionInputsSchema.safeParse(inputs);
  if (!parsed.success) problems.push(...problemsOf(parsed.error.issues, inputs));
  if (problems.length) return { ok: false, problems };
  return { ok: true, inputs: parsed.success && unknownKeys.length === 0 ? (parsed.data as Record<string, unknown>) : inputs };
}

export function parseStoredInputs(raw: Record<string, unknown>): PermissionInputs {
  const picked = Object.fromEntries(Object.entries(raw ?? {}).filter(([k, v]) => INPUT_KEYS.includes(k) && v !== undefined && v !== null));
  return PermissionInputsSchema.parse(picked);
}
