// The inputs of a ProxyRoute: the single source of truth for their shape, defaults and the
// characters they may hold. Every value that reaches an nginx file or a shell line is held to a
// character set with no way out of its token (`;`, `{`, `}`, quotes, `$`, `\`, newlines).

import { isIP } from "net";
import { z } from "zod";
import type { FieldProblem } from "../errors";
import { UNKNOWN, isUnknownAt } from "../hostValues";
import { problemsOf } from "../check";

/** What the Pulumi engine sends for a value not known during preview. */
export { UNKNOWN };

export const SCHEMA_VERSION = 1;

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const PATH_CHARS = /^\/[A-Za-z0-9._/-]*$/;
const COMMAND = /^[A-Za-z0-9_./=:@,+-]+(?: [A-Za-z0-9_./=:@,+-]+)*$/;
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const SIZE = /^[0-9]{1,9}[kKmMgG]?$/;
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
// Printable ASCII without the characters that end or interpolate an nginx string.
const HEADER_VALUE = /^[\x20-\x7e]*$/;
const HEADER_VALUE_FORBIDDEN = /[;{}"'$\\`]/;

/** Headers the route sets itself; a second copy would confuse the target. */
const RESERVED_HEADERS = ["host", "upgrade", "connection", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip"];

export const DEFAULT_CONF_DIR = "/etc/nginx/launchpad";
export const DEFAULT_PORT_RANGE = { from: 2000, to: 65535 } as const;

const hostname = z
  .string()
  .toLowerCase()
  .regex(HOSTNAME, "must be a DNS hostname: letters, digits, '-' and '.' only, labels of 1-63 characters");

const host = z
  .string()
  .refine((value) => isIP(value) !== 0 || HOSTNAME.test(value), "must be an IP address or a DNS hostname (letters, digits, '-', '.')");

const absolutePath = z
  .string()
  .regex(PATH_CHARS, "must be an absolute path of letters, digits, '.', '_', '-' and '/'")
  .refine((value) => !value.split("/").includes(".."), "must not contain '..'");

const port = z.number().int("must be a whole number").min(1, "must be 1-65535").max(65535, "must be 1-65535");

const command = z
  .string()
  .regex(COMMAND, "must be words of letters, digits and . _ / = : @ , + - separated by single spaces (no shell syntax)");

const headerValue = z
  .string()
  .regex(HEADER_VALUE, "must be printable ASCII on one line")
  .refine((value) => !HEADER_VALUE_FORBIDDEN.test(value), "must not contain ; { } quotes $ \\ or `");

const headers = z
  .record(z.string().regex(HEADER_NAME, "header names are letters, digits and '-'"), headerValue)
  .default({});

export const ProxyHostSchema = z.strictObject({
  host,
  port: port.default(22),
  user: z.string().regex(USERNAME, "must be a user name: letters, digits, '_', '.', '-'"),
  privateKey: z.string().regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "must be a PEM or OpenSSH private key").optional(),
  passphrase: z.string().optional(),
  agent: absolutePath.optional(),
  hostKeyFingerprint: z
    .string()
    .transform((value) => value.replace(/=+$/, ""))
    .pipe(z.string().regex(FINGERPRINT, "must read SHA256:<43 base64 characters>, as `ssh-keygen -lf` prints it")),
  confDir: absolutePath.default(DEFAULT_CONF_DIR),
  lockFile: absolutePath.optional(),
  testCommand: command.default("nginx -t"),
  reloadCommand: command.default("nginx -s reload"),
  /** The nginx master's pid file: after a reload, the route waits until new workers run. */
  pidFile: absolutePath.default("/run/nginx.pid"),
  httpsPort: port.default(443),
  httpPort: port.default(80),
  listenAddress: z.string().refine((value) => isIP(value) !== 0, "must be an IP address").optional(),
  http2: z.enum(["listen", "directive", "off"]).default("listen"),
  lockTimeoutSeconds: z.number().int().min(1).max(3600).default(120),
});

export const HttpRouteSchema = z.strictObject({
  hostname,
  target: z.strictObject({
    host,
    port,
    protocol: z.enum(["http", "https"]).default("http"),
    trustedCertificate: absolutePath.optional(),
  }),
  tls: z.union([z.literal("none"), z.strictObject({ certificate: absolutePath, key: absolutePath })]),
  websocket: z.boolean().default(true),
  maxBodySize: z.string().regex(SIZE, "must be an nginx size such as 512k, 100m, 1g or 0").default("1g"),
  headers,
  responseHeaders: headers,
  redirectHttp: z.boolean().default(true),
});

export const StreamRouteSchema = z.strictObject({
  protocol: z.enum(["tcp", "udp"]),
  listenPort: port.optional(),
  portRange: z.strictObject({ from: port, to: port }).optional(),
  target: z.strictObject({ host, port }),
});

export const ProxyRouteInputsSchema = z.strictObject({
  proxy: ProxyHostSchema,
  http: HttpRouteSchema.optional(),
  stream: StreamRouteSchema.optional(),
});

export type ProxyHost = z.infer<typeof ProxyHostSchema>;
export type HttpRoute = z.infer<typeof HttpRouteSchema>;
export type StreamRoute = z.infer<typeof StreamRouteSchema>;
export type ProxyRouteInputs = z.infer<typeof ProxyRouteInputsSchema>;

/** What the provider keeps in state: the normalized inputs plus what apply learned. */
export interface ProxyRouteOutputs extends ProxyRouteInputs {
  schemaVersion: number;
  /** https://hostname, or http:// without TLS (HTTP routes). */
  url?: string;
  /** The listening port (stream routes). */
  port?: number;
  configPath: string;
  /** SHA-256 of the route file as last written or read: a difference from the rendering is drift. */
  configSha256: string;
}


function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}


/** Rules across fields: zod stops before object-level refinements when a field fails, so these run on the raw value. */
function crossFieldProblems(raw: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  // A value unknown during preview can neither break nor satisfy a rule: such rules are skipped.
  const missing = (value: unknown) => value === undefined || value === null;
  const given = (value: unknown) => !missing(value) && value !== UNKNOWN;
  const http = raw.http;
  const stream = raw.stream;
  if (given(http) && given(stream)) problems.push({ property: "http", reason: "Only one of `http` and `stream` can be given" });
  if (missing(http) && missing(stream)) problems.push({ property: "http", reason: "One of `http` and `stream` is required" });
  const proxy = raw.proxy as Record<string, unknown> | undefined;
  if (proxy && typeof proxy === "object" && given(proxy.privateKey) && given(proxy.agent)) {
    problems.push({ property: "proxy.agent", reason: "Only one of `proxy.privateKey` and `proxy.agent` can be given" });
  }
  if (stream && typeof stream === "object") {
    const s = stream as Record<string, unknown>;
    if (given(s.listenPort) && given(s.portRange)) {
      problems.push({ property: "stream.portRange", reason: "Only one of `stream.listenPort` and `stream.portRange` can be given" });
    }
    const range = s.portRange as Record<string, unknown> | undefined;
    if (range && typeof range.from === "number" && typeof range.to === "number" && range.from > range.to) {
      problems.push({ property: "stream.portRange", reason: "`from` must not be greater than `to`" });
    }
  }
  if (http && typeof http === "object") {
    for (const group of ["headers", "responseHeaders"] as const) {
      const names = (http as Record<string, unknown>)[group];
      if (!names || typeof names !== "object") continue;
      for (const name of Object.keys(names)) {
        if (RESERVED_HEADERS.includes(name.toLowerCase())) {
          problems.push({ property: `http.${group}.${name}`, reason: "is set by the route itself and cannot be overridden" });
        }
      }
    }
  }
  return problems.filter((p) => !isUnknownAt(raw, p.property.split(".")));
}

export type CheckOutcome =
  | { ok: true; inputs: ProxyRouteInputs; complete: true }
  | { ok: true; inputs: Record<string, unknown>; complete: false }
  | { ok: false; problems: FieldProblem[] };

/**
 * Parses a route's inputs, collecting every problem with its field name. Values still unknown
 * (preview) are skipped; then the raw inputs are returned as they are (`complete: false`).
 */
export function parseRouteInputs(raw: Record<string, unknown>): CheckOutcome {
  const { __provider: _provider, ...inputs } = raw;
  const problems: FieldProblem[] = crossFieldProblems(inputs);
  const parsed = ProxyRouteInputsSchema.safeParse(inputs);
  // A bad header name is reported as such, not as zod's generic "invalid key".
  if (!parsed.success) problems.push(...problemsOf(parsed.error.issues.map((i) => (i.code === "invalid_key" ? { ...i, message: "is not a valid header name (letters, digits and '-')" } : i)), inputs));
  if (problems.length > 0) return { ok: false, problems: dedupe(problems) };
  if (!parsed.success || containsUnknown(inputs)) {
    const known = normalizeKnown(ProxyRouteInputsSchema, inputs) as Record<string, unknown>;
    return { ok: true, inputs: withDerivedDefaults(known as ProxyRouteInputs) as unknown as Record<string, unknown>, complete: false };
  }
  return { ok: true, inputs: withDerivedDefaults(parsed.data), complete: true };
}

/**
 * Normalizes every part of `value` that is fully known (defaults filled in), leaving unknown
 * parts as they are, so that a preview diff compares like with like.
 */
function normalizeKnown(schema: z.ZodType, value: unknown): unknown {
  if (value === UNKNOWN) return value;
  if (!containsUnknown(value)) {
    const parsed = schema.safeParse(value);
    return parsed.success ? parsed.data : value;
  }
  let inner = schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } } };
  while (inner._zod.def.type === "optional" || inner._zod.def.type === "default") inner = inner._zod.def.innerType as never;
  const shape = inner._zod.def.shape;
  if (inner._zod.def.type !== "object" || !shape || typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries(shape)) {
    const normalized = normalizeKnown(child, (value as Record<string, unknown>)[key]);
    if (normalized === undefined) delete out[key];
    else out[key] = normalized;
  }
  return out;
}

/** Defaults that depend on other fields, resolved once so that every hook sees them. */
function withDerivedDefaults(inputs: ProxyRouteInputs): ProxyRouteInputs {
  let result = inputs;
  const proxy = inputs.proxy;
  if (proxy && typeof proxy === "object" && proxy.lockFile === undefined && typeof proxy.confDir === "string" && proxy.confDir !== UNKNOWN) {
    result = { ...result, proxy: { ...proxy, lockFile: `${proxy.confDir}/.launchpad.lock` } };
  }
  const stream = inputs.stream;
  if (stream && typeof stream === "object" && stream.listenPort === undefined && stream.portRange === undefined) {
    result = { ...result, stream: { ...stream, portRange: { ...DEFAULT_PORT_RANGE } } };
  }
  return result;
}

function dedupe(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.property}\n${p.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Reads state written by this or an earlier version of the provider. Lenient on purpose: state
 * is already on the host, and refusing it would strand the route (no delete, no refresh).
 */
export function parseStoredRoute(props: Record<string, unknown>): ProxyRouteOutputs {
  const { __provider: _provider, ...stored } = props;
  const outcome = parseRouteInputs({ proxy: stored.proxy, http: stored.http ?? undefined, stream: stored.stream ?? undefined });
  if (outcome.ok && outcome.complete) {
    return {
      ...outcome.inputs,
      schemaVersion: Number(stored.schemaVersion ?? SCHEMA_VERSION),
      url: typeof stored.url === "string" ? stored.url : undefined,
      port: typeof stored.port === "number" ? stored.port : undefined,
      configPath: String(stored.configPath ?? ""),
      configSha256: String(stored.configSha256 ?? ""),
    };
  }
  return stored as unknown as ProxyRouteOutputs;
}
