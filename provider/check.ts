// The one input-check pipeline every provider/*/schema.ts uses: parse with zod, report every problem
// with the same wording (unknown keys through `.strict()` objects, missing values, bad values), skip
// what is not known yet (preview). Shared field schemas live here too, bounded as the servers bound them.

import { isIP } from "node:net";
import { z } from "zod";
import type { FieldProblem } from "./errors";
import { UNKNOWN, isUnknownAt } from "./hostValues";

/** The one wording for a key a `.strict()` object does not know. */
export const UNKNOWN_KEY_REASON = "is not a known input";

/** `a.b[2].c`, the way every failure names its field. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

/**
 * zod issues as field-named problems: one per unknown key, `is required` for a missing value, the
 * schema's message otherwise. Issues about a value not known yet in `raw` are skipped.
 */
export function problemsOf(issues: readonly z.core.$ZodIssue[], raw: unknown, prefix: readonly PropertyKey[] = []): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const add = (property: string, reason: string) => {
    const key = `${property}\n${reason}`;
    if (!seen.has(key)) { seen.add(key); problems.push({ property, reason }); }
  };
  for (const issue of issues) {
    if (isUnknownAt(raw, issue.path)) continue;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) add(fieldPath([...prefix, ...issue.path, key]), UNKNOWN_KEY_REASON);
      continue;
    }
    // A union (`"dhcp"` or `{address}`): when exactly one option takes the value's type, its own
    // problems name the field inside it, instead of one "Invalid input" for the whole union.
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const fitting = issue.errors.filter((option) => !option.some((i) => i.path.length === 0 && ["invalid_type", "invalid_value"].includes(i.code)));
      if (fitting.length === 1 && fitting[0].length > 0) {
        for (const p of problemsOf(fitting[0], valueAtPath(raw, issue.path), [...prefix, ...issue.path])) add(p.property, p.reason);
        continue;
      }
    }
    // zod 4 leaves `issue.input` out unless asked: whether the value is missing is read from `raw`.
    const reason = issue.code === "invalid_type" && valueAtPath(raw, issue.path) === undefined ? "is required" : issue.message;
    add(fieldPath([...prefix, ...issue.path]) || "(inputs)", reason);
  }
  return problems;
}

function valueAtPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let cursor = value as Record<PropertyKey, unknown> | undefined;
  for (const key of path) cursor = cursor && typeof cursor === "object" ? (cursor[key] as Record<PropertyKey, unknown>) : undefined;
  return cursor;
}

export type Checked<T> =
  | { ok: true; complete: true; inputs: T; problems: [] }
  | { ok: true; complete: false; inputs: Record<string, unknown>; problems: [] }
  | { ok: false; problems: FieldProblem[] };

/**
 * Parses `raw` (the serialized provider left out) with `schema`, collecting every problem plus the
 * cross-field ones `extra` finds. With a value not known yet, the raw inputs come back as they are
 * (`complete: false`), so that the engine keeps the unknown markers.
 */
export function checkInputs<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
  extra: (inputs: Record<string, unknown>) => FieldProblem[] = () => [],
): Checked<z.infer<S>> {
  const { __provider: _provider, ...inputs } = raw;
  const parsed = schema.safeParse(inputs);
  const problems = [...extra(inputs).filter((p) => !isUnknownAt(inputs, p.property.split("."))), ...(parsed.success ? [] : problemsOf(parsed.error.issues, inputs))];
  if (problems.length) return { ok: false, problems };
  if (!parsed.success || containsUnknown(inputs)) return { ok: true, complete: false, inputs, problems: [] };
  return { ok: true, complete: true, inputs: parsed.data as z.infer<S>, problems: [] };
}

// --- shared field schemas -------------------------------------------------------------------------

/** A DNS label (RFC 1123): letters, digits, '-' inside, at most 63 characters. */
export const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isDnsName(name: string): boolean {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  return bare.length >= 1 && bare.length <= 253 && bare.split(".").every((label) => DNS_LABEL.test(label));
}

export const dnsName = z.string().refine(isDnsName, "must be a DNS name: labels of letters, digits and '-' (not at either end), at most 63 characters each, 253 in all");

/** An IP address or a DNS host name. */
export const hostAddress = z.string().max(253, "must be at most 253 characters").refine((v) => isIP(v) !== 0 || isDnsName(v), "must be an IP address or a DNS hostname (letters, digits, '-', '.')");

export const portNumber = z.number().int("must be a whole number").min(1, "must be 1-65535").max(65535, "must be 1-65535");

/** POSIX portable variable names (`[A-Za-z_][A-Za-z0-9_]*`), without the names JavaScript objects carry. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OBJECT_KEYS = new Set(["__proto__", ...Object.getOwnPropertyNames(Object.prototype)]);

/** Why `key` cannot be an environment variable name, or undefined. */
export function envNameProblem(key: string): string | undefined {
  if (!ENV_NAME.test(key)) return "is not a POSIX variable name (letters, digits and '_', not starting with a digit)";
  if (OBJECT_KEYS.has(key)) return "is a name JavaScript objects reserve (`constructor`, `toString`, `__proto__`, ...): it would be lost or break the program";
  if (key.length > 255) return "must be at most 255 characters";
  return undefined;
}

/** Environment variables: POSIX names, string values without NUL. Prototype keys are refused, never dropped. */
// The names are checked on the raw object: zod's record output silently loses an own `__proto__`.
export const envRecord = z.unknown().superRefine((env, ctx) => {
  if (typeof env !== "object" || env === null || Array.isArray(env)) return;
  for (const key of Object.keys(env)) {
    const problem = envNameProblem(key);
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
}).pipe(z.record(z.string(), z.string().refine((v) => !v.includes("\0"), "must not contain NUL")));

/** Only `major.minor.patch` (a version that lands in a download URL must not walk its path). */
export const semverVersion = z.string().regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, "must be a version such as 2.333.1 (digits and dots only)");
