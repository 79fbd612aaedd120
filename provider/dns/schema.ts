// The single source of truth for DnsRecord inputs: field shapes and defaults (zod), then the
// DNS rules zod cannot say (names inside the zone, per-type record data), all problems at once.
import { z } from "zod";
import type { FieldProblem } from "../errors";
import { canonicalName, isInZone, nameProblems, qualify, relativeName } from "./names";
import { canonicalSet, parseValue, RECORD_TYPES, RecordType } from "./rdata";
import { UNKNOWN } from "../hostValues";
import { UNKNOWN_KEY_REASON, dnsName, hostAddress, problemsOf } from "../check";

/** What the engine sends for a value not known yet (preview): skipped, never validated as a value. */
export { UNKNOWN };

/** Bumped when the stored shape changes; older state must still parse (see `parseState`). */
export const SCHEMA_VERSION = 1;

/** RFC 2181 §8: a TTL is an unsigned 31-bit number; 0 is legal but useless for previews and refused by some servers on update. */
const MAX_TTL = 2_147_483_647;

const base64Key = z.string().min(1, "must not be empty").max(1024, "must be at most 1024 characters").refine(
  (s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s.trim()) && s.trim().length % 4 === 0,
  "must be the key in base64 (as in `tsig-keygen` or `pdnsutil generate-tsig-key` output)",
);

export const PowerDnsServer = z.strictObject({
  kind: z.literal("powerdns"),
  // WHATWG URL parsing drops tabs and newlines silently: refuse them rather than send another URL.
  url: z.string().max(2048, "must be at most 2048 characters").refine((s) => !/[\x00-\x20\x7f]/.test(s), "must not contain spaces or control characters").refine((s) => { try { return ["http:", "https:"].includes(new URL(s).protocol); } catch { return false; } },
    "must be the http(s) URL of the PowerDNS webserver, e.g. https://dns.example.com:8081"),
  // Sent as a header: a control character would split it (or be refused only after check).
  apiKey: z.string().min(1, "must not be empty").max(4096, "must be at most 4096 characters").refine((v) => !/[\x00-\x1f\x7f]/.test(v), "must not contain control characters"),
  // A path segment of the API: `..` or `/` would walk to another endpoint.
  serverId: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/, "must be a PowerDNS server id such as localhost: letters, digits, '_', '-', '.' (not first), at most 64").default("localhost"),
  /** The API key travels in a header: plain http:// needs this explicit opt-in (a loopback or a trusted network). */
  allowPlainHttp: z.boolean().optional(),
}).superRefine((server, ctx) => {
  let protocol = "";
  let userinfo = false;
  try { const url = new URL(server.url); protocol = url.protocol; userinfo = url.username !== "" || url.password !== ""; } catch { return; }
  // fetch refuses such a URL (so it could never work), and it would carry a password outside `apiKey`'s sealing.
  if (userinfo) ctx.addIssue({ code: "custom", path: ["url"], message: "must not hold credentials (user:password@): PowerDNS takes `apiKey`" });
  if (protocol === "http:" && !server.allowPlainHttp) {
    ctx.addIssue({ code: "custom", path: ["url"], message: "is plain http://, which sends the API key in clear: use https://, or set `allowPlainHttp: true` for a loopback or trusted network" });
  }
});

export const TsigKey = z.strictObject({
  // RFC 8945 §4.2: the key name is a domain name.
  name: dnsName,
  algorithm: z.enum(["hmac-sha256", "hmac-sha512"]).default("hmac-sha256"),
  secret: base64Key,
});

export const Rfc2136Server = z.strictObject({
  kind: z.literal("rfc2136"),
  host: hostAddress,
  port: z.number().int().min(1).max(65535).default(53),
  tsig: TsigKey,
});

export const DnsServer = z.discriminatedUnion("kind", [PowerDnsServer, Rfc2136Server]);

export const DnsRecordArgs = z.object({
  zone: z.string(),
  name: z.string(),
  type: z.enum(RECORD_TYPES),
  // 16 TXT strings of 255 octets fit; a bound keeps a huge value out of requests and messages.
  values: z.array(z.string().max(4096, "must be at most 4096 characters")).min(1, "needs at least one value"),
  ttl: z.number().int().min(1).max(MAX_TTL).default(300),
  overwrite: z.boolean().default(false),
  server: DnsServer,
});

export type PowerDnsServer = z.infer<typeof PowerDnsServer>;
export type Rfc2136Server = z.infer<typeof Rfc2136Server>;
export type TsigKey = z.infer<typeof TsigKey>;
export type DnsServer = z.infer<typeof DnsServer>;
/** Inputs after `check`: defaults filled, names and values in canonical form. */
export type DnsRecordInputs = z.infer<typeof DnsRecordArgs>;

/** What a DnsRecord stores: its inputs plus what it computed. */
export interface DnsRecordOutputs extends DnsRecordInputs {
  fqdn: string;
  schemaVersion: number;
}

/** The record set a resource owns, as the backends see it. */
export interface RecordSet {
  zone: string;
  fqdn: string;
  type: RecordType;
  ttl: number;
  values: string[];
}

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}


export interface CheckResult {
  inputs: Record<string, unknown>;
  failures: FieldProblem[];
}

/**
 * Validates and normalizes raw inputs. Known fields are parsed; unknown ones (preview) are kept as
 * they are and any rule that needs them is skipped.
 */
export function checkDnsRecord(news: Record<string, unknown>): CheckResult {
  const failures: FieldProblem[] = [];
  const inputs: Record<string, unknown> = { ...news };
  const known: Partial<DnsRecordInputs> = {};
  const shape = DnsRecordArgs.shape;
  for (const field of Object.keys(shape) as (keyof typeof shape)[]) {
    if (containsUnknown(news[field])) continue;
    const parsed = shape[field].safeParse(news[field]);
    if (parsed.success) (known as Record<string, unknown>)[field] = parsed.data;
    else failures.push(...problemsOf(parsed.error.issues, news[field], [field]));
  }
  for (const key of Object.keys(news)) {
    if (key !== "__provider" && !(key in shape) && news[key] !== undefined && news[key] !== null) failures.push({ property: key, reason: UNKNOWN_KEY_REASON });
  }

  if (known.zone !== undefined) {
    const problems = nameProblems(known.zone);
    failures.push(...problems.map((reason) => ({ property: "zone", reason })));
    known.zone = problems.length ? undefined : canonicalName(known.zone);
    if (known.zone !== undefined) inputs.zone = known.zone;
  }

  let fqdn: string | undefined;
  if (known.name !== undefined && known.zone !== undefined) {
    fqdn = qualify(known.name, known.zone);
    const problems = nameProblems(fqdn, { wildcard: true });
    if (!isInZone(fqdn, known.zone)) problems.push(`"${known.name}" is not inside the zone ${known.zone}`);
    failures.push(...problems.map((reason) => ({ property: "name", reason })));
    if (problems.length) fqdn = undefined;
    else inputs.name = relativeName(fqdn, known.zone);
  }

  if (known.type !== undefined && known.values !== undefined) {
    const canonical: string[] = [];
    const seen = new Map<string, number>();
    known.values.forEach((text, index) => {
      // Too long already refused by the schema; parsing it would only echo it back in the message.
      if (typeof text !== "string" || text.length > 4096) return;
      const parsed = parseValue(known.type!, text);
      if ("problem" in parsed) { failures.push({ property: `values[${index}]`, reason: parsed.problem }); return; }
      const first = seen.get(parsed.value);
      if (first !== undefined) failures.push({ property: `values[${index}]`, reason: `is the same record as values[${first}]` });
      seen.set(parsed.value, index);
      canonical.push(parsed.value);
    });
    if (known.type === "CNAME" && known.values.length > 1) {
      failures.push({ property: "values", reason: "a CNAME holds exactly one target (RFC 1034 §3.6.2)" });
    }
    inputs.values = canonicalSet(canonical);
  }
  if (known.type === "CNAME" && fqdn !== undefined && fqdn === known.zone) {
    failures.push({ property: "name", reason: "a CNAME cannot be at the zone apex, where SOA and NS records live" });
  }

  for (const field of ["ttl", "overwrite", "server"] as const) {
    if (known[field] !== undefined) inputs[field] = known[field];
  }
  if (known.type !== undefined) inputs.type = known.type;
  return { inputs: failures.length ? news : inputs, failures };
}

/** Strict parse of inputs that `check` already accepted (create/update see only these). */
export function parseInputs(props: Record<string, unknown>): DnsRecordInputs {
  return DnsRecordArgs.parse(props);
}

export function recordSetOf(inputs: DnsRecordInputs): RecordSet {
  return {
    zone: inputs.zone,
    fqdn: qualify(inputs.name, inputs.zone),
    type: inputs.type,
    ttl: inputs.ttl,
    values: canonicalSet(inputs.values),
  };
}

/** The natural id: `<zone>/<fqdn>/<type>`. */
export function recordSetId(set: Pick<RecordSet, "zone" | "fqdn" | "type">): string {
  return `${set.zone}/${set.fqdn}/${set.type}`;
}
