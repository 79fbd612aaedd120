// What a change to each input of a ContainerDeployment means. Pure: a declared table and a
// comparison; no I/O. An update runs the commands again in the same container (the fast path).

import { DeploymentInputs, UNKNOWN } from "./schema";

/** `checked`: refused in `check` when wrong, never a reason to run the commands again. */
export type ChangeKind = "rerun" | "replace" | "checked";

/** Per input: `replace` when it names another container, `rerun` for everything about what runs. */
export const CHANGE_TABLE: Record<keyof DeploymentInputs, ChangeKind> = {
  host: "replace",
  port: "replace",
  vmid: "replace",
  user: "rerun",
  privateKey: "rerun",
  passphrase: "rerun",
  commands: "rerun",
  revision: "rerun",
  env: "rerun",
  jump: "rerun",
  hostKeyFingerprint: "rerun",
  connectTimeoutSeconds: "rerun",
  // Another kind means another container, which `vmid` already replaces; a stack from before these
  // inputs existed must not rerun its commands for them.
  containerKind: "checked",
  containerInitCommand: "checked",
};

export interface DeploymentDiff {
  changes: boolean;
  replaces: string[];
  /** Inputs that differ, for tests and messages. */
  changed: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Compares old state with new (checked) inputs. A value unknown during preview counts as changed;
 * it replaces only when its field does.
 */
export function diffDeployment(olds: Partial<DeploymentInputs>, news: Partial<Record<keyof DeploymentInputs, unknown>>): DeploymentDiff {
  const changed: string[] = [];
  const replaces: string[] = [];
  for (const key of Object.keys(CHANGE_TABLE) as (keyof DeploymentInputs)[]) {
    if (CHANGE_TABLE[key] === "checked") continue;
    const next = news[key];
    if (next !== UNKNOWN && same(olds[key], next)) continue;
    changed.push(key);
    if (CHANGE_TABLE[key] === "replace") replaces.push(key);
  }
  return { changes: changed.length > 0, replaces, changed };
}
