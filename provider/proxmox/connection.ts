// Where the Proxmox credentials come from: a per-resource override, else the stack config given to
// `configure()`, else the environment variables users of the Proxmox Terraform/Pulumi provider already set.

import { ConfigError, registerSecret } from "../errors";
import { getStackConfig } from "../stackConfig";

/** How to reach and authenticate to one Proxmox VE cluster. */
export interface ProxmoxConnection {
  /** Normalised base URL without `/api2/json`, e.g. `https://pve1.example.com:8006`. */
  endpoint: string;
  /** `USER@REALM!TOKENID=SECRET`. Takes precedence over `username`/`password`. */
  apiToken?: string;
  /** `root@pam`, `ci@pve`: ticket login, used only when no `apiToken` is given. */
  username?: string;
  password?: string;
  /** PEM of the CA (or the self-signed certificate) that must have signed the server's certificate. */
  caCert?: string;
  /** SHA-256 fingerprint of the server's certificate, normalised to `AB:CD:...` (64 hex digits). */
  fingerprint?: string;
  /** Skip certificate verification altogether. Only when explicitly asked for. */
  insecure?: boolean;
  /** Per-request timeout in milliseconds. @default 30000 */
  timeoutMs?: number;
}

/** Environment variables read as the last fallback (the first five are the bpg/proxmox provider's names). */
export const ENV = {
  endpoint: "PROXMOX_VE_ENDPOINT",
  apiToken: "PROXMOX_VE_API_TOKEN",
  username: "PROXMOX_VE_USERNAME",
  password: "PROXMOX_VE_PASSWORD",
  insecure: "PROXMOX_VE_INSECURE",
  caCert: "PROXMOX_VE_CA_CERT",
  fingerprint: "PROXMOX_VE_FINGERPRINT",
} as const;

type Field = keyof typeof ENV;
const FIELDS = Object.keys(ENV) as Field[];

interface Layer {
  /** Names a value's origin in error messages: `stack config launchpad:apiToken`. */
  describe(field: Field): string;
  values: Partial<Record<Field, string | boolean | number | undefined>>;
}

export interface ResolveConnectionArgs {
  /** Per-resource settings (secret inputs); win over everything else. */
  override?: Partial<ProxmoxConnection>;
  /** `launchpad:*` keys; defaults to what `setStackConfig` last received. */
  stackConfig?: Record<string, string | undefined>;
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
}

const blank = (v: unknown) => v === undefined || v === null || (typeof v === "string" && v.trim() === "");

/**
 * Builds the connection to use: per field, override > stack config (`launchpad:endpoint`, ...) >
 * environment (`PROXMOX_VE_ENDPOINT`, ...). Authentication (token, or user + password) and TLS trust
 * (caCert / fingerprint / insecure) are each taken as a group from the highest layer that sets any
 * of them, so a token in the environment never mixes with a password from the stack.
 * Every secret found is registered for masking. Throws ConfigError naming what is missing or wrong.
 */
export function resolveConnection(args: ResolveConnectionArgs = {}): ProxmoxConnection {
  const stack = args.stackConfig ?? getStackConfig();
  const env = args.env ?? process.env;
  const layers: Layer[] = [
    { describe: (f) => `resource override ${f}`, values: { ...(args.override ?? {}) } },
    {
      describe: (f) => `stack config launchpad:${f}`,
      values: Object.fromEntries(FIELDS.map((f) => [f, stack[`launchpad:${f}`]])),
    },
    { describe: (f) => `environment variable ${ENV[f]}`, values: Object.fromEntries(FIELDS.map((f) => [f, env[ENV[f]]])) },
  ];
  for (const layer of layers) {
    registerSecret(stringOf(layer.values.apiToken));
    registerSecret(tokenSecretOf(stringOf(layer.values.apiToken)));
    registerSecret(stringOf(layer.values.password));
  }

  const problems: string[] = [];
  const first = (field: Field) => layers.find((l) => !blank(l.values[field]));

  const endpointLayer = first("endpoint");
  let endpoint = "";
  if (!endpointLayer) {
    problems.push(
      "no Proxmox endpoint: set `pulumi config set launchpad:endpoint https://<host>:8006` or the environment variable PROXMOX_VE_ENDPOINT",
    );
  } else {
    try {
      endpoint = normaliseEndpoint(String(endpointLayer.values.endpoint));
    } catch (error) {
      problems.push(`${endpointLayer.describe("endpoint")} is not usable: ${(error as Error).message}`);
    }
  }

  const connection: ProxmoxConnection = { endpoint };

  const authLayer = layers.find((l) => !blank(l.values.apiToken) || !blank(l.values.username) || !blank(l.values.password));
  if (!authLayer) {
    problems.push(
      "no Proxmox credentials: set `pulumi config set --secret launchpad:apiToken USER@REALM!TOKENID=SECRET` " +
        "(or launchpad:username + launchpad:password), or the environment variable PROXMOX_VE_API_TOKEN " +
        "(or PROXMOX_VE_USERNAME + PROXMOX_VE_PASSWORD)",
    );
  } else if (!blank(authLayer.values.apiToken)) {
    try {
      connection.apiToken = normaliseApiToken(String(authLayer.values.apiToken));
    } catch (error) {
      problems.push(`${authLayer.describe("apiToken")} is not usable: ${(error as Error).message}`);
    }
  } else if (blank(authLayer.values.username)) {
    problems.push(`${authLayer.describe("password")} is set but ${authLayer.describe("username")} is not`);
  } else if (blank(authLayer.values.password)) {
    problems.push(`${authLayer.describe("username")} is set but ${authLayer.describe("password")} is not`);
  } else {
    connection.username = String(authLayer.values.username).trim();
    connection.password = String(authLayer.values.password);
  }

  const trustLayer = layers.find(
    (l) => !blank(l.values.caCert) || !blank(l.values.fingerprint) || parseFlagLoose(l.values.insecure) !== false,
  );
  if (trustLayer) {
    const { caCert, fingerprint, insecure } = trustLayer.values;
    let insecureFlag = false;
    try {
      insecureFlag = parseFlag(insecure);
    } catch (error) {
      problems.push(`${trustLayer.describe("insecure")} is not usable: ${(error as Error).message}`);
    }
    const given = [!blank(caCert) && "caCert", !blank(fingerprint) && "fingerprint", insecureFlag && "insecure"].filter(Boolean);
    if (given.length > 1) {
      problems.push(`${given.map((f) => trustLayer.describe(f as Field)).join(" and ")} are set together: give only one way to trust the server`);
    } else if (!blank(caCert)) {
      const pem = String(caCert).trim();
      if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) {
        problems.push(`${trustLayer.describe("caCert")} is not usable: expected a PEM certificate (-----BEGIN CERTIFICATE----- ...)`);
      } else connection.caCert = pem;
    } else if (!blank(fingerprint)) {
      try {
        connection.fingerprint = normaliseFingerprint(String(fingerprint));
      } catch (error) {
        problems.push(`${trustLayer.describe("fingerprint")} is not usable: ${(error as Error).message}`);
      }
    } else if (insecureFlag) {
      connection.insecure = true;
    }
  }

  const timeoutMs = args.override?.timeoutMs;
  if (timeoutMs !== undefined) {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) problems.push(`resource override timeoutMs is not usable: expected a positive number of milliseconds`);
    else connection.timeoutMs = timeoutMs;
  }

  // "<name>: <text>" after a word like token or password would be masked as if it held a secret.
  if (problems.length) throw new ConfigError(`Proxmox connection: ${problems.join("; ")}`);
  return connection;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function tokenSecretOf(token: string | undefined): string | undefined {
  const eq = token?.lastIndexOf("=") ?? -1;
  return token && eq >= 0 ? token.slice(eq + 1) : undefined;
}

/**
 * `https://host:8006`, `https://host:8006/`, `https://host:8006/api2/json[/]` and `host:8006` all become
 * `https://host:8006`. A path prefix (a reverse proxy under `/pve`) is kept.
 */
export function normaliseEndpoint(raw: string): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(text)} (expected https://<host>:8006)`);
  }
  if (url.protocol === "http:") throw new Error("http:// would send the API token or password in clear; Proxmox VE's API (pveproxy) answers HTTPS: use https://<host>:8006");
  if (url.protocol !== "https:") throw new Error(`unsupported scheme ${url.protocol} (expected https://<host>:8006)`);
  if (url.username || url.password) throw new Error("credentials do not belong in the endpoint URL: use apiToken or username/password");
  if (url.search || url.hash) throw new Error("the endpoint takes no query or fragment");
  const prefix = url.pathname.replace(/\/+$/, "").replace(/\/api2\/json$/, "").replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${prefix}`;
}

/**
 * The endpoint that `resolveConnection` would use, checked on its own (no credentials needed), named
 * by where it came from: lets `check` refuse an unusable stack-config or environment endpoint (such
 * as `http://`) before any call. A missing endpoint is left to `resolveConnection`.
 */
export function endpointProblem(args: ResolveConnectionArgs = {}): { property: string; reason: string } | undefined {
  const stack = args.stackConfig ?? getStackConfig();
  const env = args.env ?? process.env;
  const candidates: Array<[string, unknown]> = [["connection.endpoint", args.override?.endpoint], ["launchpad:endpoint", stack["launchpad:endpoint"]], [ENV.endpoint, env[ENV.endpoint]]];
  const found = candidates.find(([, value]) => !blank(value));
  if (!found) return undefined;
  try {
    normaliseEndpoint(String(found[1]));
    return undefined;
  } catch (error) {
    return { property: found[0], reason: (error as Error).message };
  }
}

/**
 * For `check`: the stack-config or environment endpoint's problem, when the resource's raw
 * `connection` input does not set its own endpoint (which its schema checks) and is known.
 */
export function inheritedEndpointProblem(rawConnection: unknown): { property: string; reason: string } | undefined {
  if (typeof rawConnection === "string") return undefined; // not known yet (preview), or malformed: the schema says so
  const own = (rawConnection ?? {}) as Record<string, unknown>;
  return own.endpoint !== undefined ? undefined : endpointProblem({ override: {} });
}

/** Accepts `USER@REALM!TOKENID=SECRET`, optionally prefixed by `PVEAPIToken=`. */
export function normaliseApiToken(raw: string): string {
  const token = raw.trim().replace(/^PVEAPIToken=/i, "");
  if (!/^[^\s@!=]+@[^\s@!=]+![^\s=]+=\S+$/.test(token)) {
    throw new Error("expected an API token shaped USER@REALM!TOKENID=SECRET (e.g. ci@pve!launchpad=<uuid>)");
  }
  return token;
}

/**
 * Accepts a SHA-256 fingerprint as Proxmox shows it (`AB:CD:...`), lower case, without colons, or as
 * `openssl x509 -fingerprint -sha256` prints it (`sha256 Fingerprint=AB:CD:...`); returns `AB:CD:...`.
 */
export function normaliseFingerprint(raw: string): string {
  const hex = raw
    .trim()
    .replace(/^(sha-?256)(\s*fingerprint)?\s*[=:]?\s*/i, "")
    .replace(/[:\s-]/g, "")
    .toUpperCase();
  if (!/^[0-9A-F]*$/.test(hex)) throw new Error("a SHA-256 fingerprint is hex digits, optionally separated by colons");
  if (hex.length === 40) throw new Error("this looks like a SHA-1 fingerprint (20 bytes); a SHA-256 fingerprint (32 bytes) is needed");
  if (hex.length !== 64) throw new Error(`a SHA-256 fingerprint has 32 bytes (64 hex digits), got ${hex.length} hex digits`);
  return hex.match(/../g)!.join(":");
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["", "0", "false", "no", "off"]);

function parseFlag(value: unknown): boolean {
  if (value === undefined || value === null || typeof value === "boolean") return value === true;
  const text = String(value).trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(String(value))}`);
}

/** Like parseFlag, but an unparseable value counts as "set" so that it is reported, not ignored. */
function parseFlagLoose(value: unknown): boolean | undefined {
  try {
    return parseFlag(value);
  } catch {
    return undefined;
  }
}
