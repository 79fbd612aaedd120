// The single source of truth for a LaunchpadContainer's inputs: shapes, ranges (from the Proxmox VE
// 9.1 API schema, /nodes/{node}/lxc POST), defaults, and normalization. `check` runs `parseInputs`;
// everything after it (diff, create, update) sees only normalized inputs.

import { BlockList, isIP } from "node:net";
import { z } from "zod";
import type { FieldProblem } from "../errors";
import { normaliseApiToken, normaliseEndpoint, normaliseFingerprint } from "../proxmox/connection";
import { UNKNOWN } from "../hostValues";
import type { ContainerKind } from "./kind";
import { envRecord, problemsOf } from "../check";

/** What the engine sends, during preview, for a value that is not known yet. */
export { UNKNOWN };

/** Bumped when the shape of outputs changes; older state is still read leniently. */
export const SCHEMA_VERSION = 1;

// --- patterns taken from the PVE API schema -------------------------------------------------------
/** `pve-tag` (cluster options `registered-tags`): case-insensitive. */
const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
/** `pve-node`. */
const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
/** `pve-storage-id`. */
const STORAGE_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
/** `pve-poolid` (pve-access-control src/PVE/AccessControl.pm verify_poolname): up to three levels. */
const POOL_RE = /^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}$/;
/** PVE sets no length on storage and pool ids; a bound keeps a 100 kB value out of every request. */
const MAX_ID_LENGTH = 100;
/** `net[n]` `bridge=`. */
const BRIDGE_RE = /^[-_.\w]+$/;
/** `env` values and `entrypoint`: characters Proxmox refuses (its pattern excludes these ranges). */
const FORBIDDEN_CHARS_RE = /[\x00-\x08\x10-\x1F\x7F]/;
/** `oci-registry-pull` `reference` (tag optional here: `:latest` is added). */
const OCI_REFERENCE_RE =
  /^(?:(?:[a-zA-Z\d]|[a-zA-Z\d][a-zA-Z\d-]*[a-zA-Z\d])(?:\.(?:[a-zA-Z\d]|[a-zA-Z\d][a-zA-Z\d-]*[a-zA-Z\d]))*(?::\d+)?\/)?[a-z\d]+(?:(?:[._]|__|[-]*)[a-z\d]+)*(?:\/[a-z\d]+(?:(?:[._]|__|[-]*)[a-z\d]+)*)*(?::\w[\w.-]{0,127})?$/;
/** A vztmpl volume id: `storage:vztmpl/file.tar.zst`. */
const TEMPLATE_VOLID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]:vztmpl\/[^/\s]+\.(?:tar|tar\.gz|tar\.xz|tar\.zst|tgz|txz)$/i;
/** The identity tag the provider writes; users may not set one by hand. */
export const IDENTITY_TAG_RE = /^lp-[0-9a-f]{10}-[0-9a-z]{6}$/;
const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

// --- value checks ---------------------------------------------------------------------------------
export function isDnsLabel(label: string): boolean {
  return /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(label);
}

export function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split(".").every(isDnsLabel);
}

/** Why a string is not an OpenSSH public key, or undefined when it is one. The key itself is never echoed. */
export function sshPublicKeyProblem(key: string): string | undefined {
  if (/PRIVATE KEY/.test(key)) return "is a private key; give the public key (the .pub file)";
  if (/[\r\n]/.test(key.trim())) return "must be one key on one line";
  const [type, body] = key.trim().split(/\s+/);
  if (!type || !SSH_KEY_TYPES.includes(type)) return `is not an OpenSSH public key (type must be one of ${SSH_KEY_TYPES.join(", ")})`;
  if (!body || !/^[A-Za-z0-9+/]+={0,3}$/.test(body)) return "is not an OpenSSH public key (the key data is not base64)";
  const blob = Buffer.from(body, "base64");
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength <= 0 || blob.length < 4 + nameLength || blob.subarray(4, 4 + nameLength).toString("latin1") !== type) {
    return "is not an OpenSSH public key (the key data does not match its type)";
  }
  return undefined;
}

/** `reference` with `:latest` when no tag is given, as docker and Proxmox's UI do. */
export function normalizeImageReference(reference: string): string {
  const lastSegment = reference.slice(reference.lastIndexOf("/") + 1);
  return lastSegment.includes(":") ? reference : `${reference}:latest`;
}

// --- zod building blocks ----------------------------------------------------------------------------
const vmidSchema = z.number().int("must be an integer").min(100, "must be at least 100").max(999_999_999, "must be at most 999999999");

const ipv4Address = z.string().refine((v) => isIP(v) === 4, "must be an IPv4 address like 10.0.0.1");
const ipv6Address = z.string().refine((v) => isIP(v) === 6, "must be an IPv6 address");

const staticIpv4 = z
  .object({
    address: z.string().refine((v) => {
      const [ip, prefix, extra] = v.split("/");
      return extra === undefined && isIP(ip) === 4 && /^\d{1,2}$/.test(prefix ?? "") && Number(prefix) >= 1 && Number(prefix) <= 32;
    }, "must be an IPv4 address with a prefix length, like 10.0.0.5/24"),
    gateway: ipv4Address.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const [ip, prefixText] = value.address.split("/");
    const prefix = Number(prefixText);
    if (value.gateway === undefined || isIP(ip) !== 4 || isIP(value.gateway) !== 4 || !(prefix >= 1 && prefix <= 30)) return;
    const subnet = new BlockList();
    subnet.addSubnet(ip, prefix, "ipv4");
    if (!subnet.check(value.gateway, "ipv4")) {
      ctx.addIssue({ code: "custom", path: ["gateway"], message: `must be inside ${ip}/${prefix}'s subnet` });
    } else if (value.gateway === ip) {
      ctx.addIssue({ code: "custom", path: ["gateway"], message: "must differ from the container's own address" });
    }
  });

const staticIpv6 = z
  .object({
    address: z.string().refine((v) => {
      const [ip, prefix, extra] = v.split("/");
      return extra === undefined && isIP(ip) === 6 && /^\d{1,3}$/.test(prefix ?? "") && Number(prefix) >= 1 && Number(prefix) <= 128;
    }, "must be an IPv6 address with a prefix length, like fd00::5/64"),
    gateway: ipv6Address.optional(),
  })
  .strict();

const networkSchema = z
  .object({
    bridge: z.string().max(15, "must be at most 15 characters (a Linux interface name)").regex(BRIDGE_RE, "must be a bridge name like vmbr0").default("vmbr0"),
    vlan: z.number().int("must be an integer").min(1, "must be between 1 and 4094").max(4094, "must be between 1 and 4094").optional(),
    ipv4: z.union([z.literal("dhcp"), staticIpv4]).default("dhcp"),
    ipv6: z.union([z.literal("dhcp"), z.literal("auto"), staticIpv6]).optional(),
    firewall: z.boolean().default(false),
    mtu: z.number().int("must be an integer").min(576, "must be between 576 and 65535").max(65535, "must be between 576 and 65535").optional(),
  })
  .strict();

const featuresSchema = z
  .object({
    nesting: z.boolean().default(true),
    keyctl: z.boolean().default(false),
    fuse: z.boolean().default(false),
  })
  .strict();

const timeoutsSchema = z
  .object({
    create: z.number().positive("must be a positive number of seconds").default(600),
    start: z.number().positive("must be a positive number of seconds").default(120),
    ip: z.number().positive("must be a positive number of seconds").default(120),
    delete: z.number().positive("must be a positive number of seconds").default(300),
  })
  .strict();

/** Runs one of the Proxmox client's normalisers as a zod check (its messages never echo the value). */
const normalisedBy = (normalise: (raw: string) => string) =>
  z.string().superRefine((value, ctx) => {
    try {
      normalise(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

/** A per-resource override of the Proxmox connection (secret as a whole). */
export const connectionSchema = z
  .object({
    endpoint: normalisedBy(normaliseEndpoint).optional(),
    apiToken: normalisedBy(normaliseApiToken).optional(),
    username: z.string().min(1, "must not be empty").optional(),
    password: z.string().min(1, "must not be empty").optional(),
    fingerprint: normalisedBy(normaliseFingerprint).optional(),
    caCert: z.string().regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, "must be a PEM certificate").optional(),
    insecure: z.boolean().optional(),
  })
  .strict();

/** A list given as an array or as one string separated by spaces, commas or semicolons. */
const stringList = (item: z.ZodType<string>) =>
  z.preprocess((v) => (typeof v === "string" ? v.split(/[\s,;]+/).filter(Boolean) : v), z.array(item));

const containerInputsObject = z
  .object({
    /** Hash of the resource's URN, computed by the resource class; never diffed. */
    identity: z.string().regex(/^[0-9a-f]{16,64}$/, "must be a hex hash (set by LaunchpadContainer)").optional(),
    hostname: z.string({ error: "is required" }).refine(isDnsName, "must be a DNS name made of labels of letters, digits and '-' (at most 63 characters each)"),
    image: z
      .string()
      // docker/distribution's reference grammar: the name is at most 255 characters, the tag 128.
      .max(384, "must be at most 384 characters (a 255-character name and a 128-character tag)")
      .refine((v) => OCI_REFERENCE_RE.test(v), "must be an OCI image reference like docker.io/library/nginx:1.27 (no digest: Proxmox pulls by tag)")
      .transform(normalizeImageReference)
      .optional(),
    /** Credentials for `image`'s registry: the image is copied where `pulumi up` runs and uploaded (provider/container/image.ts). */
    imageCredentials: z
      .object({
        username: z.string({ error: "is required" }).min(1, "must not be empty"),
        password: z.string({ error: "is required" }).min(1, "must not be empty"),
        certDir: z.string().min(1, "must not be empty").optional(),
      })
      .strict()
      .optional(),
    template: z.string().regex(TEMPLATE_VOLID_RE, "must be a vztmpl volume id like local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst").optional(),
    clone: vmidSchema.optional(),
    node: z.string().max(63, "must be at most 63 characters (a host name label)").regex(NODE_RE, "must be a Proxmox node name").optional(),
    vmid: vmidSchema.optional(),
    cores: z.number().int("must be an integer").min(1, "must be between 1 and 8192").max(8192, "must be between 1 and 8192").default(1),
    memory: z.number().int("must be an integer (MiB)").min(16, "must be at least 16 MiB").max(268_435_456, "must be at most 256 TiB").default(512),
    swap: z.number().int("must be an integer (MiB)").min(0, "must be 0 or more").max(268_435_456, "must be at most 256 TiB").default(512),
    diskSize: z.number().int("must be a whole number of GiB").min(1, "must be at least 1 GiB").max(131_072, "must be at most 131072 GiB").default(8),
    storage: z.string().max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`).regex(STORAGE_RE, "must be a storage id like local-lvm").optional(),
    templateStorage: z.string().max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`).regex(STORAGE_RE, "must be a storage id like local").optional(),
    network: networkSchema.default({ bridge: "vmbr0", ipv4: "dhcp", firewall: false }),
    nameserver: stringList(z.string().refine((v) => isIP(v) !== 0, "must be an IP address")).optional(),
    searchdomain: stringList(z.string().refine(isDnsName, "must be a DNS name")).optional(),
    sshPublicKeys: z.array(z.string().superRefine((key, ctx) => {
      const problem = sshPublicKeyProblem(key);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })).default([]),
    // pveproxy takes at most 64 KiB of request body (pve-http-server APIServer.pm $limit_max_post); no password needs more than this.
    password: z.string().min(5, "must be at least 5 characters").max(4096, "must be at most 4096 characters").optional(),
    unprivileged: z.boolean().default(true),
    features: featuresSchema.default({ nesting: true, keyctl: false, fuse: false }),
    env: envRecord.default({}).superRefine((env, ctx) => {
      for (const [key, value] of Object.entries(env)) {
        if (FORBIDDEN_CHARS_RE.test(value)) ctx.addIssue({ code: "custom", path: [key], message: "the value holds a control character (NUL and the like) Proxmox cannot store" });
      }
    }),
    entrypoint: z.string().min(1, "must not be empty").refine((v) => !FORBIDDEN_CHARS_RE.test(v), "holds a control character Proxmox cannot store").optional(),
    tags: z.array(z.string().superRefine((tag, ctx) => {
      if (!TAG_RE.test(tag)) ctx.addIssue({ code: "custom", message: "must match Proxmox's tag pattern [a-z0-9_][a-z0-9_-+.]*" });
      else if (IDENTITY_TAG_RE.test(tag.toLowerCase())) ctx.addIssue({ code: "custom", message: "is reserved for the identity tag the provider sets" });
    })).default([]).transform((tags) => [...new Set(tags.map((t) => t.toLowerCase()))].sort()),
    pool: z.string().max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`).regex(POOL_RE, "must be a pool id: letters, digits, '.', '_', '-', up to three levels joined by '/'").optional(),
    description: z.string().max(8192, "must be at most 8192 characters").optional(),
    onBoot: z.boolean().default(false),
    started: z.boolean().default(true),
    waitForIp: z.boolean().default(true),
    timeouts: timeoutsSchema.default({ create: 600, start: 120, ip: 120, delete: 300 }),
    connection: connectionSchema.optional(),
  })
  .strict();

export const containerInputsSchema = containerInputsObject.superRefine((inputs, ctx) => {
    const sources = (["image", "template", "clone"] as const).filter((k) => inputs[k] !== undefined);
    if (sources.length === 0) {
      ctx.addIssue({ code: "custom", path: ["image"], message: "One of `image`, `template` and `clone` is required" });
    }
    if (sources.length > 1) {
      for (const source of sources) ctx.addIssue({ code: "custom", path: [source], message: "Only one of `image`, `template` and `clone` can be given" });
    }
    if (inputs.imageCredentials !== undefined && inputs.image === undefined) {
      ctx.addIssue({ code: "custom", path: ["imageCredentials"], message: "is only used with `image`" });
    }
    if (inputs.templateStorage !== undefined && inputs.image === undefined) {
      ctx.addIssue({ code: "custom", path: ["templateStorage"], message: "is only used with `image`" });
    }
  });

export type ContainerInputs = z.infer<typeof containerInputsSchema>;
export type NetworkInputs = ContainerInputs["network"];
export type ConnectionOverride = z.infer<typeof connectionSchema>;

/** Outputs: the normalized inputs echoed (diff only sees old outputs), plus what Proxmox decided. */
export interface ContainerOutputs extends Omit<ContainerInputs, "vmid" | "node"> {
  schemaVersion: number;
  vmid: number;
  node: string;
  storage?: string;
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  status: string;
  ostemplate?: string;
  imageDigest?: string;
  identityTag?: string;
  /** From the config read back (`entrypoint`): an `application` container runs only its image's command. */
  kind?: ContainerKind;
  /** What runs as PID 1: the config's `entrypoint`, or /sbin/init. */
  initCommand?: string;
}

// --- unknown values (preview) -------------------------------------------------------------------------
type Path = (string | number)[];

function findUnknowns(value: unknown, path: Path, out: Path[]): void {
  if (value === UNKNOWN) out.push(path);
  else if (Array.isArray(value)) value.forEach((v, i) => findUnknowns(v, [...path, i], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) findUnknowns(v, [...path, k], out);
}

function withoutUnknowns(value: unknown): unknown {
  if (value === UNKNOWN) return undefined;
  if (Array.isArray(value)) return value.map(withoutUnknowns).filter((v) => v !== undefined);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutUnknowns(v)]).filter(([, v]) => v !== undefined));
  }
  return value;
}

/** Writes the unknown marker back at `path`, so the engine keeps treating that value as unknown. */
function putUnknown(target: Record<string, unknown>, path: Path): void {
  let cursor: Record<string, unknown> = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    // An unknown array element makes the whole list unknown: positions are not meaningful then.
    if (typeof path[i + 1] === "number") { cursor[key] = UNKNOWN; return; }
    if (typeof cursor[key] !== "object" || cursor[key] === null) cursor[key] = {};
    cursor = cursor[key] as Record<string, unknown>;
  }
  cursor[path[path.length - 1]] = UNKNOWN;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

const startsWith = (path: readonly PropertyKey[], prefix: Path) => prefix.every((p, i) => path[i] === p);

export interface ParseResult {
  /** Normalized inputs; holds the unknown marker wherever the raw inputs did. */
  inputs: Record<string, unknown>;
  failures: FieldProblem[];
  /** True when some input is not known yet (preview). */
  hasUnknowns: boolean;
}

/** Validates and normalizes raw inputs, collecting every problem; unknown fields are skipped, not rejected. */
export function parseInputs(raw: Record<string, unknown>): ParseResult {
  const { __provider: _ignored, ...props } = raw;
  const unknowns: Path[] = [];
  findUnknowns(props, [], unknowns);
  const known = withoutUnknowns(props) as Record<string, unknown>;
  const result = containerInputsSchema.safeParse(known);
  if (result.success) {
    const inputs = dropUndefined(result.data) as Record<string, unknown>;
    for (const path of unknowns) putUnknown(inputs, path);
    return { inputs, failures: [], hasUnknowns: unknowns.length > 0 };
  }
  const sourceUnknown = unknowns.some((p) => ["image", "template", "clone"].includes(String(p[0])));
  const failures: FieldProblem[] = [];
  for (const issue of result.error.issues) {
    // A field whose value (or part of it) is unknown is not judged yet.
    if (unknowns.some((u) => startsWith(issue.path, u) || startsWith(u, issue.path as Path))) continue;
    if (sourceUnknown && issue.message.includes("`image`, `template` and `clone`")) continue;
    failures.push(...problemsOf([issue], known));
  }
  if (failures.length === 0) {
    // Every problem was about an unknown value: normalize the rest (defaults applied), then put the
    // unknown markers back where they were.
    const rest = { ...known };
    for (const issue of result.error.issues) if (issue.path.length) delete rest[String(issue.path[0])];
    // Stand-ins for required values that are unknown; removed again after the parse.
    const standIns: Record<string, unknown> = { hostname: "placeholder" };
    // Only an unknown source gets a stand-in: a missing one is an error the first parse could not reach.
    if (sourceUnknown && !["image", "template", "clone"].some((k) => k in rest)) standIns.template = "local:vztmpl/placeholder.tar";
    for (const key of Object.keys(standIns)) if (key in rest) delete standIns[key];
    const retry = containerInputsSchema.safeParse({ ...standIns, ...rest });
    // The object-wide rules (one source, fields only used with `image`) run only once every field parses:
    // with an unknown field the first parse never got to them.
    if (!retry.success) {
      const later = problemsOf(retry.error.issues.filter((issue) => !(sourceUnknown && issue.message.includes("`image`, `template` and `clone`"))), known);
      if (later.length) return { inputs: props as Record<string, unknown>, failures: later, hasUnknowns: true };
    }
    const inputs = retry.success ? (dropUndefined(retry.data) as Record<string, unknown>) : { ...props };
    if (retry.success) for (const key of Object.keys(standIns)) delete inputs[key];
    for (const path of unknowns) putUnknown(inputs, path);
    return { inputs, failures: [], hasUnknowns: true };
  }
  return { inputs: props as Record<string, unknown>, failures, hasUnknowns: unknowns.length > 0 };
}

/** Parses inputs already normalized by `check` (or older state) without failing on leftovers. */
export function parseStoredInputs(raw: Record<string, unknown>): ContainerInputs {
  const { __provider: _p, ...props } = raw;
  const result = containerInputsSchema.safeParse(pickInputKeys(props));
  if (result.success) return result.data;
  // Older state may hold values today's schema rejects: keep what parses, default the rest.
  const lenient = { ...pickInputKeys(props) } as Record<string, unknown>;
  for (const issue of result.error.issues) {
    if (issue.path.length) delete lenient[String(issue.path[0])];
  }
  const retry = containerInputsSchema.safeParse({ hostname: "unknown", ...lenient });
  if (retry.success) return retry.data;
  throw new Error(`stored inputs cannot be read: ${result.error.issues.map((i) => formatPath(i.path)).join(", ")}`);
}

const INPUT_KEYS = Object.keys(containerInputsObject.shape);

export function pickInputKeys(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([k, v]) => INPUT_KEYS.includes(k) && v !== undefined && v !== null));
}

function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, dropUndefined(v)])) as T;
  }
  return value;
}
