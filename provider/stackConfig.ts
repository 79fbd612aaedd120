// The stack's configuration as the dynamic-provider host hands it to `configure()`. Kept in module
// state of the *installed* package: the serialized provider text never captures it, so no credential
// is written into Pulumi state.

import { registerSecret } from "./errors";

/** What Pulumi's dynamic `configure(req)` passes as `req.config` (only `get` is guaranteed). */
export interface ConfigLike {
  get(key: string): unknown;
}

/** The `launchpad:*` keys this package reads; a `{get}` config cannot be enumerated, so they are listed. */
export const STACK_CONFIG_KEYS = [
  "launchpad:endpoint",
  "launchpad:apiToken",
  "launchpad:username",
  "launchpad:password",
  "launchpad:caCert",
  "launchpad:fingerprint",
  "launchpad:insecure",
  "launchpad:vmidRange",
] as const;

const SECRET_KEYS = new Set<string>(["launchpad:apiToken", "launchpad:password"]);

let current: Record<string, string | undefined> = {};

function asString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
}

function isConfigLike(config: unknown): config is ConfigLike {
  return typeof config === "object" && config !== null && typeof (config as ConfigLike).get === "function";
}

/**
 * Remembers the stack configuration for every later hook in this process. Call it from each
 * provider's `configure(req)` with `req.config` (Pulumi's dynamic `Config`, keys such as
 * `launchpad:endpoint`), or with a plain record in tests. Secret values are registered for masking.
 */
export function setStackConfig(config: ConfigLike | Record<string, unknown> | undefined): void {
  const next: Record<string, string | undefined> = {};
  if (isConfigLike(config)) {
    for (const key of STACK_CONFIG_KEYS) next[key] = asString(config.get(key));
  } else if (config) {
    for (const [key, value] of Object.entries(config)) next[key] = asString(value);
  }
  for (const key of SECRET_KEYS) {
    registerSecret(next[key]);
    // An API token's SECRET part alone must be masked too.
    const eq = next[key]?.lastIndexOf("=") ?? -1;
    if (eq >= 0) registerSecret(next[key]!.slice(eq + 1));
  }
  current = next;
}

/** The configuration last given to `setStackConfig` (empty before any `configure`). A copy. */
export function getStackConfig(): Record<string, string | undefined> {
  return { ...current };
}
