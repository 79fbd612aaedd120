// The inputs of a ProxyRoute: the single source of truth for their shape, defaults and the
// characters they may hold. Every value that reaches an nginx file or a shell line is held to a
// character set with no way out of its token (`;`, `{`, `}`, quotes, `$`, `\`, newlines).

import { isIP } from "net";
import { z } from "zod";
import type { FieldProblem } from "../errors";
import { UNKNOWN, isUnknownAt } from "../hostValues";
import { sshUnavailableReason } from "../container/kind";
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
/** A container started moments ago needs a few seconds before its sshd answers. */
export const DEFAULT_SSH_WAIT_SECONDS = 120;

const hostname = z
  .string()
  .toLowerCase()
  .regex(HOSTNAME, "must be a DNS hostname: letters, digits, '-' and '.' only, labels of 1-63 characters");

const host = z
  .string()
  .refine((value) => isIP(value) !== 0 || HOSTNAME.test(value), "must be an IP address or a DNS hostname (letters, digits, '-', '.')");

const absolutePath = z
  .string()
  // PATH_MAX: a longer value is no path, and would only bloat every command and file.
  .max(4096, "must be at most 4096 characters")
  .regex(PATH_CHARS, "must be an absolute path of letters, digits, '.', '_', '-' and '/'")
  .refine((value) => !value.split("/").includes(".."), "must not contain '..'");

/** A key's passphrase: any text, but bounded (ssh-keygen reads at most 1023 bytes). */
export const passphrase = z.string().max(1024, "must be at most 1024 characters");
/** A container's init command as LaunchpadContainer reports it: only named in messages, so one bounded line. */
export const initCommand = z.string().max(4096, "must be at most 4096 characters").refine((v) => !/[\x00-\x1f\x7f]/.test(v), "must be one line without control characters");

const port = z.number().int("must be a whole number").min(1, "must be 1-65535").max(65535, "must be 1-65535");

const command = z
  .string()
  .max(4096, "must be at most 4096 characters")
  .regex(COMMAND, "must be words of letters, digits and . _ / = : @ , + - separated by single spaces (no shell syntax)");

const headerValue = z
  .string()
  .max(4096, "must be at most 4096 characters")
  .regex(HEADER_VALUE, "must be printable ASCII on one line")
  .refine((value) => !HEADER_VALUE_FORBIDDEN.test(value), "must not contain ; { } quotes $ \\ or `");

const headers = z
  .record(z.string().regex(HEADER_NAME, "header names are letters, digits and '-'"), headerValue)
  .default({});

const headerName = z.string().regex(HEADER_NAME, "must be a header name: letters, digits and '-'");

// A URL nginx gets as one token: no whitespace, quotes, `;`, braces, `$` or `\`.
const URL_CHARS = /^[A-Za-z0-9._~:/?#\[\]@!&'()*+,=%-]+$/;
const httpUrl = z.string().refine((value) => {
  if (!URL_CHARS.test(value) || value.includes("'")) return false;
  try { return ["http:", "https:"].includes(new URL(value).protocol); } catch { return false; }
}, "must be an http(s) URL without spaces, quotes, ';', '{', '}', '$' or '\\'");

const CIDR = /^[0-9a-fA-F:.]+(?:\/[0-9]{1,3})?$/;
const cidr = z.string().refine((value) => {
  if (!CIDR.test(value)) return false;
  const [address, bits] = value.split("/");
  const family = isIP(address);
  if (family === 0) return false;
  return bits === undefined || Number(bits) <= (family === 4 ? 32 : 128);
}, "must be an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8");

// htpasswd: ':' separates the name; nginx reads one user per line.
const AUTH_USER = /^[A-Za-z0-9_.@+-]{1,64}$/;
const REALM = /^[A-Za-z0-9 _.,:()@+-]{1,64}$/;

export const BasicAuthUserSchema = z.strictObject({
  name: z.string().regex(AUTH_USER, "must be 1-64 of letters, digits and _ . @ + -"),
  /** A secret: hashed on the proxy host (stdin), never written in clear, never in outputs. */
  password: z.string().min(1, "must not be empty").max(512, "must be at most 512 characters")
    .refine((value) => !/[\r\n\0]/.test(value), "must be one line").optional(),
  /** What outputs keep instead of the password: scrypt$<salt>$<hash>, set by the provider. */
  passwordVerifier: z.string().regex(/^scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/, "is set by the provider").optional(),
});

export const AccessSchema = z.strictObject({
  basicAuth: z.strictObject({
    realm: z.string().regex(REALM, "must be 1-64 of letters, digits, spaces and _ . , : ( ) @ + -").default("Restricted"),
    users: z.array(BasicAuthUserSchema).min(1, "needs at least one user"),
  }).optional(),
  authRequest: z.strictObject({
    /** The auth service's check endpoint (oauth2-proxy: https://auth.example.com/oauth2/auth): 2xx lets the request through, 401/403 refuses it. */
    url: httpUrl,
    /** Where a 401 sends the browser, with the original URL in `redirectParameter`. @default - the 401 is returned as is */
    signInUrl: httpUrl.optional(),
    redirectParameter: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "must be 1-32 of letters, digits, '_' and '-'").default("rd"),
    /** App request header -> the auth service's response header it is copied from. */
    identityHeaders: z.record(headerName, headerName).default({}),
  }).optional(),
  /** Exact paths served without authentication (health checks). */
  bypassPaths: z.array(absolutePath).default([]),
  /** Clients from these addresses need no authentication. */
  allowCidrs: z.array(cidr).default([]),
});

export const ProxyHostSchema = z.strictObject({
  host,
  port: port.default(22),
  user: z.string().regex(USERNAME, "must be a user name: letters, digits, '_', '.', '-'"),
  privateKey: z.string().regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "must be a PEM or OpenSSH private key").optional(),
  passphrase: passphrase.optional(),
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
  /** Only people who authenticate reach the target (basic auth or an auth service). */
  access: AccessSchema.optional(),
});

/** A stream route that carries SSH: it counts as working only once an SSH server answers through it. */
export const SshExpectationSchema = z.strictObject({
  /** How long create/update wait for the `SSH-` banner through the route's port; 0 does not wait. */
  timeoutSeconds: z.number().int("must be a whole number").min(0, "must be 0-3600").max(3600, "must be 0-3600").default(DEFAULT_SSH_WAIT_SECONDS),
  /** The target container's `kind`: `application` (no sshd) is refused in check, before anything is written. */
  containerKind: z.enum(["application", "system"]).optional(),
  /** The target container's `initCommand`, named in that refusal. */
  containerInitCommand: initCommand.optional(),
});

export const StreamRouteSchema = z.strictObject({
  protocol: z.enum(["tcp", "udp"]),
  listenPort: port.optional(),
  portRange: z.strictObject({ from: port, to: port }).optional(),
  target: z.strictObject({ host, port }),
  ssh: SshExpectationSchema.optional(),
});

export const ProxyRouteInputsSchema = z.strictObject({
  proxy: ProxyHostSchema,
  http: HttpRouteSchema.optional(),
  stream: StreamRouteSchema.optional(),
});

export type ProxyHost = z.infer<typeof ProxyHostSchema>;
export type HttpRoute = z.infer<typeof HttpRouteSchema>;
export type StreamRoute = z.infer<typeof StreamRouteSchema>;
export type RouteAccess = z.infer<typeof AccessSchema>;
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
  /** SHA-256 of the htpasswd file as last written (basic auth): a difference found by refresh is drift. */
  htpasswdSha256?: string;
}


function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}


/** Rules across fields: zod stops before object-level refinements when a field fails, so these run on the raw value. */
function crossFieldProblems(raw: Record<string, unknown>, stored: boolean): FieldProblem[] {
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
    const ssh = s.ssh as Record<string, unknown> | undefined;
    if (ssh && typeof ssh === "object") {
      if (s.protocol === "udp") problems.push({ property: "stream.ssh", reason: "SSH runs over TCP: give `protocol: \"tcp\"`" });
      if (ssh.containerKind === "application") {
        problems.push({
          property: "stream.ssh.containerKind",
          reason: sshUnavailableReason("services.ssh", { initCommand: typeof ssh.containerInitCommand === "string" ? ssh.containerInitCommand : undefined }),
        });
      }
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
  if (http && typeof http === "object") problems.push(...accessProblems((http as Record<string, unknown>).access, stored));
  return problems.filter((p) => !isUnknownAt(raw, p.property.split(".")));
}

/** Rules of `http.access` across its fields; `stored` state holds verifiers where inputs hold passwords. */
function accessProblems(access: unknown, stored: boolean): FieldProblem[] {
  if (!access || typeof access !== "object") return [];
  const a = access as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const given = (value: unknown) => value !== undefined && value !== null;
  if (given(a.basicAuth) && given(a.authRequest)) problems.push({ property: "http.access.authRequest", reason: "Only one of `basicAuth` and `authRequest` can be given" });
  if (!given(a.basicAuth) && !given(a.authRequest)) problems.push({ property: "http.access", reason: "One of `basicAuth` and `authRequest` is required" });
  const basic = a.basicAuth as Record<string, unknown> | undefined;
  if (basic && typeof basic === "object" && Array.isArray(basic.users)) {
    const seen = new Set<string>();
    basic.users.forEach((user: Record<string, unknown>, index: number) => {
      if (!user || typeof user !== "object") return;
      const at = `http.access.basicAuth.users[${index}]`;
      if (typeof user.name === "string") {
        if (seen.has(user.name)) problems.push({ property: `${at}.name`, reason: `${user.name} is listed twice` });
        seen.add(user.name);
      }
      if (!stored && !given(user.password)) problems.push({ property: `${at}.password`, reason: "is required (pass it as a secret)" });
      if (!stored && given(user.passwordVerifier)) problems.push({ property: `${at}.passwordVerifier`, reason: "is set by the provider, not an input" });
    });
  }
  if (Array.isArray(a.bypassPaths)) {
    const seen = new Set<string>();
    a.bypassPaths.forEach((bypass: unknown, index: number) => {
      if (typeof bypass !== "string") return;
      if (seen.has(bypass)) problems.push({ property: `http.access.bypassPaths[${index}]`, reason: `${bypass} is listed twice` });
      if (bypass.startsWith("/_launchpad/") || bypass.startsWith("/.well-known/acme-challenge/")) {
        problems.push({ property: `http.access.bypassPaths[${index}]`, reason: "is a path the route serves itself" });
      }
      seen.add(bypass);
    });
  }
  const request = a.authRequest as Record<string, unknown> | undefined;
  const identity = request && typeof request === "object" ? request.identityHeaders : undefined;
  if (identity && typeof identity === "object") {
    for (const name of Object.keys(identity)) {
      if (RESERVED_HEADERS.includes(name.toLowerCase())) problems.push({ property: `http.access.authRequest.identityHeaders.${name}`, reason: "is set by the route itself and cannot be overridden" });
    }
  }
  return problems;
}

export type CheckOutcome =
  | { ok: true; inputs: ProxyRouteInputs; complete: true }
  | { ok: true; inputs: Record<string, unknown>; complete: false }
  | { ok: false; problems: FieldProblem[] };

/**
 * Parses a route's inputs, collecting every problem with its field name. Values still unknown
 * (preview) are skipped; then the raw inputs are returned as they are (`complete: false`).
 */
export function parseRouteInputs(raw: Record<string, unknown>, options: { stored?: boolean } = {}): CheckOutcome {
  const { __provider: _provider, ...inputs } = raw;
  const problems: FieldProblem[] = crossFieldProblems(inputs, options.stored === true);
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
  const outcome = parseRouteInputs({ proxy: stored.proxy, http: stored.http ?? undefined, stream: stored.stream ?? undefined }, { stored: true });
  if (outcome.ok && outcome.complete) {
    return {
      ...outcome.inputs,
      schemaVersion: Number(stored.schemaVersion ?? SCHEMA_VERSION),
      url: typeof stored.url === "string" ? stored.url : undefined,
      port: typeof stored.port === "number" ? stored.port : undefined,
      configPath: String(stored.configPath ?? ""),
      configSha256: String(stored.configSha256 ?? ""),
      ...(typeof stored.htpasswdSha256 === "string" ? { htpasswdSha256: stored.htpasswdSha256 } : {}),
    };
  }
  return stored as unknown as ProxyRouteOutputs;
}
