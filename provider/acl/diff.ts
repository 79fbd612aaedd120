// What a change to each input of a ProxmoxPermission means. Pure.

import { PermissionInputs, UNKNOWN } from "./schema";

/** The entry's identity (path, role, subject) replaces; `propagate` is re-set in place; the connection only changes how we call. */
export const CHANGE_TABLE: Record<keyof PermissionInputs, "replace" | "update" | "ignore"> = {
  path: "replace",
  role: "replace",
  user: "replace",
  group: "replace",
  propagate: "update",
  connection: "ignore",
};

export function diffPermission(olds: Partial<PermissionInputs>, news: Record<string, unknown>): { changes: boolean; replaces: string[] } {
  const replaces: string[] = [];
  let changes = false;
  for (const key of Object.keys(CHANGE_TABLE) as (keyof PermissionInputs)[]) {
    if (CHANGE_TABLE[key] === "ignore") continue;
    const next = news[key];
    if (next !== UNKNOWN && JSON.stringify(olds[key] ?? null) === JSON.stringify(next ?? null)) continue;
    changes = true;
    if (CHANGE_TABLE[key] === "replace") replaces.push(key);
  }
  return { changes, replaces };
}
