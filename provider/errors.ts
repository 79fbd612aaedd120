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
}

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join("[secret]");
  for (const pattern of SECRET_PATTERNS) {
    // Patterns without groups get (match, offset, input) here: only keep a key=sep prefix when both are captured strings.
    out = out.replace(pattern, (_match: string, ...groups: unknown[]) =>
      typeof groups[0] === "string" && typeof groups[1] === "string" ? `${groups[0]}${groups[1]}[secret]` : "[secret]",
    );
  }
  return out;
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
    super("ERR_PVE_HTTP", `Proxmox ${args.method} ${args.path} failed: ${args.status} ${args.message.trim()}${details}`, options);
    this.status = args.status;
    this.pveMessage = redact(args.message);
    this.errors = Object.fromEntries(Object.entries(args.errors ?? {}).map(([k, v]) => [k, redact(String(v))]));
    this.method = args.method;
    this.path = args.path;
  }
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
  constructor(output: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_NGINX_TEST", `nginx -t rejected the configuration: ${output.trim()}`, options);
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

/** Copying an image from its registry where `pulumi up` runs failed (skopeo's reason, credentials redacted). */
export class ImageCopyError extends LaunchpadError {
  constructor(message: string, options: LaunchpadErrorOptions = {}) {
    super("ERR_IMAGE_COPY", message, options);
  }
}
