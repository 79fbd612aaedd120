// One error hierarchy for everything the provider talks to. Errors are recognised by a brand
// (`isLaunchpadError`), not only by `instanceof`: the dynamic-provider host may load two copies
// of this module (the program's and the serialized provider's).

const BRAND = Symbol.for("pulumi-launchpad.error");

export type ErrorCode =
  | "ERR_VALIDATION"
  | "ERR_PVE_HTTP"
  | "ERR_PVE_TASK"
  | "ERR_PVE_TIMEOUT"
  | "ERR_PVE_NETWORK"
  | "ERR_SSH_CONNECT"
  | "ERR_SSH_EXEC"
  | "ERR_NGINX_TEST"
  | "ERR_DNS_UPDATE"
  | "ERR_DNS_CONFLICT"
  | "ERR_CONFIG"
  | "ERR_ACME"
  | "ERR_IMAGE_COPY";

/** Words that look like credentials are cut out of every message this module builds. */
const SECRET_PATTERNS: RegExp[] = [
  /PVEAPIToken=[^\s"',;]+/gi,
  /PVEAuthCookie=[^\s"',;]+/gi,
  /CSRFPreventionToken[=:]\s*[^\s"',;]+/gi,
  /(password|passwd|secret|api[-_]?key|token|ticket)(["']?\s*[=:]\s*["']?)[^\s"',;&]+/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

/** Registered secret values (tokens, passwords, keys) are masked wherever they appear. */
const knownSecrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
  // A value read from a file often ends in a newline its printed form lacks.
  const trimmed = value?.trim();
  if (trimmed && trimmed !== value && trimmed.length >= 4) knownSecrets.add(trimmed);
}

/** `scheme://user:pass@host` -> `scheme://host`: the userinfo of any URL, wherever it appears in a message. */
export function stripUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, "$1");
}

/** How much output a stream redactor may hold back waiting for the end of a private-key block. */
const PEM_HOLD_LIMIT = 64 * 1024;

/**
 * Where `text` may end in the first part of a secret (a registered value cut by a chunk or line
 * boundary, or a private-key block not closed yet): output from there on must wait for more.
 * Returns `text.length` when nothing needs holding back.
 */
export function pendingSecretStart(text: string): number {
  let start = text.length;
  for (const secret of knownSecrets) {
    for (let i = Math.max(0, text.length - secret.length + 1); i < start; i++) {
      if (secret.startsWith(text.slice(i))) { start = i; break; }
    }
  }
  const begin = text.search(/-----BEGIN [A-Z ]*PRIVATE KEY-----(?![\s\S]*-----END [A-Z ]*PRIVATE KEY-----)/);
  if (begin >= 0 && text.length - begin <= PEM_HOLD_LIMIT) start = Math.min(start, begin);
  const opening = text.lastIndexOf("-----");
  if (opening >= 0 && /^-{0,5}(B(E(G(I(N( [A-Z ]*)?)?)?)?)?)?$/.test(text.slice(opening))) start = Math.min(start, opening);
  return start;
}

export function redact(text: string): string {
  let out = stripUserinfo(text);
  for (const secret of knownSecrets) out = out.split(secret).join("[secret]");
  for (const pattern of SECRET_PATTERNS) {
    // Patterns without groups get (match, offset, input) here: only keep a key=sep prefix when both are captured strings.
    out = out.replace(pattern, (_match: string, ...groups: unknown[]) =>
      typeof groups[0] === "string" && typeof groups[1] === "string" ? `${groups[0]}${groups[1]}[secret]` : "[secret]",
    );
  }
  return out;
}

/**
 * Control characters (newline, CR, ESC, ...) as visible escapes, so a value that lands in a log label
 * (a `revision`, a hostname) cannot forge another log line or drive the terminal.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code === 0x0a ? "\\n" : code === 0x0d ? "\\r" : code === 0x09 ? "\\t" : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * The error the dynamic-provider host turns into ErrorResourceInitFailed: the resource exists (or its
 * files do), so Pulumi records `id` and `properties` instead of forgetting it.
 */
export function initFailed(error: unknown, id: string, properties: object): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const target = error instanceof Error ? error : new Error(reason);
  return Object.assign(target, { id, properties: JSON.parse(JSON.stringify(properties)) as Record<string, unknown>, reasons: [reason] });
}

/** An SSH connection lost under a session (not one refused or never made): what it did may be half done. */
export function isConnectionLost(error: unknown): boolean {
  return isLaunchpadError(error, "ERR_SSH_CONNECT") && (error as LaunchpadError).context.lost === true;
}

/**
 * Wraps a provider's hooks so that no error leaves them unredacted, whatever built it (ssh2, fetch,
 * zod, our own code): message, stack (the host prints it) and the init-failure reasons.
 * The error object itself is kept, so `id`/`properties` of a partial create still reach the host.
 */
export function redactingProvider<T extends object>(provider: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, hook] of Object.entries(provider)) {
    wrapped[name] = typeof hook !== "function" ? hook : async (...args: unknown[]) => {
      try {
        return await (hook as (...a: unknown[]) => unknown).apply(provider, args);
      } catch (error) {
        throw redactError(error);
      }
    };
  }
  return wrapped as T;
}

function redactError(error: unknown): unknown {
  if (!(error instanceof Error) && !(typeof error === "object" && error !== null)) return new Error(redact(String(error)));
  const e = error as { message?: unknown; stack?: unknown; reasons?: unknown };
  for (const key of ["message", "stack"] as const) {
    if (typeof e[key] !== "string") continue;
    try {
      Object.defineProperty(e, key, { value: redact(e[key] as string), writable: true, configurable: true, enumerable: false });
    } catch {
      // A frozen error cannot be rewritten: hand the host a redacted copy instead.
      return Object.assign(new Error(redact(String(e.message))), { reasons: e.reasons });
    }
  }
  if (Array.isArray(e.reasons)) e.reasons = e.reasons.map((r) => (typeof r === "string" ? redact(r) : r));
  return error;
}

export interface LaunchpadErrorOptions {
  cause?: unknown;
  /** Extra facts for debugging, kept off the enumerable surface so that they are not serialized by accident. */
  context?: Record<string, unknown>;
}

export class LaunchpadError extends Error {
  readonly code: ErrorCode;
  declare readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LaunchpadErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, "context", { value: options.context ?? {}, enumerable: false });
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

export function isLaunchpadError(value: unknown, code?: ErrorCode): value is LaunchpadError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (value as LaunchpadError).code === code)
  );
}

/** One field-named problem with the inputs. */
export interface FieldProblem {
  property: string;
  reason: string;
}

/** Bad inputs: all problems at once, each naming its field. */
export class ValidationError extends LaunchpadError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[], options: LaunchpadErrorOptions = {}) {
    super("ERR_VALIDATION", problems.map((p) => `${p.property}: ${p.reason}`).join("; "), options);
    this.problems = problems;
  }
}

/** A Proxmox API call answered with an HTTP error. `errors` holds Proxmox's per-parameter messages. */
export class PveHttpError extends LaunchpadError {
  /** For a 403 `Permission check failed (<path>, <priv>[|<priv>...])`: what was missing where. */
  readonly missing?: { path: string; privileges: string[] };
  readonly status: number;
  readonly pveMessage: string;
  readonly errors: Record<string, string>;
  readonly method: string;
  readonly path: string;
  constructor(
    args: { status: number; message: string; errors?: Record<string, string>; method: string; path: string },
    options: LaunchpadErrorOptions = {},
  ) {
    const details = args.errors && Object.keys(args.errors).length
      ? ` (${Object.entries(args.errors).map(([k, v]) => `${k}: ${String(v).trim()}`).join("; ")})`
      : "";
    const missing = args.status === 403 ? missingPrivilege(args.message) : undefined;
    const hint = missing
      ? ` - the credentials lack ${missing.privileges.join(" or ")} on ${missing.path}; grant it to the token (and its user: a privilege-separated token has only what both have)`
      : "";
    super("ERR_PVE_HTTP", `Proxmox ${args.method} ${args.path} failed: ${args.status} ${args.message.trim()}${details}${hint}`, options);
    this.missing = missing;
    this.status = args.status;
    this.pveMessage = redact(args.message);
    this.errors = Object.fromEntries(Object.entries(args.errors ?? {}).map(([k, v]) => [k, redact(String(v))]));
    this.method = args.method;
    this.path = args.path;
  }
}

/**
 * The path and privileges of PVE's `Permission check failed (<path>, <priv>)` (RPCEnvironment check,
 * or `a|b` from check_any); undefined for refusals without them (`... only allowed for root@pam`).
 */
export function missingPrivilege(message: string): { path: string; privileges: string[] } | undefined {
  const match = /^Permission check failed \((\/[^,()]*), ([A-Za-z.|]+)\)/.exec(message.trim());
  return match ? { path: match[1], privileges: match[2].split("|") } : undefined;
}

/** A Proxmox task (UPID) that ended with anything other than OK or WARNINGS. */
export class PveTaskError extends LaunchpadError {
  readonly upid: string;
  readonly exitstatus: string;
  readonly log: string[];
  constructor(args: { upid: string; exitstatus: string; log: string[] }, options: LaunchpadErrorOptions = {}) {
    const tail = args.log.length ? `\n${args.log.join("\n")}` : "";
    super("ERR_PVE_TASK", `Proxmox task ${args.upid} failed: ${args.exitstatus}${tail}`, options);
    this.upid = args.upid;
    this.exitstatus = redact(args.exitstatus);
    this.log = args.log.map(redact);
  }
}

/** Waiting for a task, a lock or an address ran past its deadline. */
export class PveTimeoutError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_PVE_TIMEOUT", message, options);
  }
}

/** The request may or may not have reached Proxmox (reset, refused, TLS failure, timeout). */
export class PveNetworkError extends LaunchpadError {
  /** True when the request surely never reached the server (connect refused, TLS rejected). */
  readonly notSent: boolean;
  constructor(message: string, args: { notSent: boolean }, options: LaunchpadErrorOptions = {}) {
    super("ERR_PVE_NETWORK", message, options);
    this.notSent = args.notSent;
  }
}

export class SshConnectError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_SSH_CONNECT", message, options);
  }
}

export class SshExecError extends LaunchpadError {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(
    args: { command: string; exitCode: number | null; stdout: string; stderr: string },
    options: LaunchpadErrorOptions = {},
  ) {
    super("ERR_SSH_EXEC", `command failed (exit ${args.exitCode}): ${args.command}\n${args.stderr || args.stdout}`.trim(), options);
    this.exitCode = args.exitCode;
    this.stdout = redact(args.stdout);
    this.stderr = redact(args.stderr);
  }
}

export class NginxTestError extends LaunchpadError {
  readonly output: string;
  /** `reload`: `nginx -t` passed, but the reload did not bring the configuration into service. */
  constructor(output: string, options: LaunchpadErrorOptions & { stage?: "test" | "reload" } = {}) {
    const { stage = "test", ...rest } = options;
    super("ERR_NGINX_TEST", `${stage === "reload" ? "nginx did not take the configuration on reload" : "nginx -t rejected the configuration"}: ${output.trim()}`, rest);
    this.output = redact(output);
  }
}

export class DnsUpdateError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_DNS_UPDATE", message, options);
  }
}

export class DnsConflictError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_DNS_CONFLICT", message, options);
  }
}

export class ConfigError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_CONFIG", message, options);
  }
}

/** An ACME server refused an order, a challenge or the finalization (RFC 8555 problem documents). */
export class AcmeError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_ACME", message, options);
  }
}

/** Copying an image from its registry where `pulumi up` runs failed (skopeo's reason, credentials redacted). */
export class ImageCopyError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_IMAGE_COPY", message, options);
  }
}
