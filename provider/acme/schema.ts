// The inputs of an AcmeCertificate: the single source of truth for their shape and defaults. The
// proxy host's settings are ProxyRoute's (the same SSH session and nginx paths), the DNS server's
// are DnsRecord's (the same backends write the DNS-01 records).

import { z } from "zod";
import type { FieldProblem } from "../errors";
import { UNKNOWN, isUnknownAt } from "../hostValues";
import { problemsOf } from "../check";
import { DnsServer } from "../dns/schema";
import { canonicalName, isInZone, nameProblems } from "../dns/names";
import { ProxyHostSchema } from "../proxy/schema";

export { UNKNOWN };
export const SCHEMA_VERSION = 1;
export const DEFAULT_RENEW_BEFORE_DAYS = 30;

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

export const AcmeCertificateInputsSchema = z.strictObject({
  proxy: ProxyHostSchema,
  /** `app.example.com` (HTTP-01 or DNS-01) or `*.example.com` (DNS-01 only). */
  hostname: z.string().toLowerCase().refine(
    (value) => HOSTNAME.test(value.replace(/^\*\./, "")),
    "must be a DNS hostname with at least two labels, or `*.` and one (a wildcard)",
  ),
  directoryUrl: z.string().refine((value) => { try { return new URL(value).protocol === "https:"; } catch { return false; } },
    "must be the https URL of an ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory"),
  /** PEM CA certificate(s) the directory's TLS certificate must chain to (a private CA, Pebble). @default - the system's CAs */
  directoryCa: z.string().regex(/-----BEGIN CERTIFICATE-----/, "must be PEM certificate text").optional(),
  email: z.string().regex(EMAIL, "must be an email address such as ops@example.com"),
  challenge: z.enum(["http-01", "dns-01"]).optional(),
  dns: z.strictObject({
    zone: z.string().refine((value) => nameProblems(value).length === 0, "must be a DNS zone name such as example.com").transform(canonicalName),
    server: DnsServer,
    ttl: z.number().int().min(1).max(86400).default(60),
  }).optional(),
  renewBeforeDays: z.number().int("must be a whole number").min(1, "must be 1-3650").max(3650, "must be 1-3650").default(DEFAULT_RENEW_BEFORE_DAYS),
  keyType: z.enum(["ec-p256", "ec-p384", "rsa-2048", "rsa-4096"]).default("ec-p256"),
  /** An existing ACME account's key (PEM; a secret). @default - one is made on create and kept, secret, in state */
  accountKey: z.string().regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "must be a PEM private key").optional(),
});

export type AcmeCertificateInputs = z.infer<typeof AcmeCertificateInputsSchema> & { challenge: "http-01" | "dns-01" };

export interface AcmeCertificateOutputs extends AcmeCertificateInputs {
  schemaVersion: number;
  /** Full chain (leaf first) and key on the proxy host, next to the nginx configuration. */
  certificatePath: string;
  keyPath: string;
  /** The ACME account's key: given, or made once on create. Secret. */
  accountKey: string;
  accountUrl: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  issuer: string;
  /** SHA-256 of the full chain this resource wrote; `certificateSha256` is what the host holds (refresh). */
  issuedSha256: string;
  certificateSha256: string;
}

export const isWildcard = (hostname: string) => hostname.startsWith("*.");

/** The name the DNS-01 record goes under and the identifier the authorization carries. */
export const baseName = (hostname: string) => hostname.replace(/^\*\./, "");

function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

function crossFieldProblems(raw: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const known = (value: unknown) => value !== undefined && value !== null && value !== UNKNOWN;
  const hostname = typeof raw.hostname === "string" ? raw.hostname.toLowerCase() : undefined;
  const challenge = raw.challenge ?? (hostname && isWildcard(hostname) ? "dns-01" : "http-01");
  if (hostname && isWildcard(hostname) && challenge === "http-01") {
    problems.push({ property: "challenge", reason: "a wildcard certificate can only be validated with dns-01 (RFC 8555 §7.1.3)" });
  }
  if (challenge === "dns-01" && raw.dns === undefined) problems.push({ property: "dns", reason: "is required with challenge dns-01 (the DNS server the TXT record is written to)" });
  if (challenge === "http-01" && known(raw.dns)) problems.push({ property: "dns", reason: "is only used with challenge dns-01" });
  const dns = raw.dns as Record<string, unknown> | undefined;
  if (hostname && HOSTNAME.test(baseName(hostname)) && dns && typeof dns.zone === "string" && nameProblems(dns.zone).length === 0 && !isInZone(`_acme-challenge.${baseName(hostname)}`, canonicalName(dns.zone))) {
    problems.push({ property: "dns.zone", reason: `does not hold _acme-challenge.${baseName(hostname)}` });
  }
  const proxy = raw.proxy as Record<string, unknown> | undefined;
  if (proxy && typeof proxy === "object" && known(proxy.privateKey) && known(proxy.agent)) {
    problems.push({ property: "proxy.agent", reason: "Only one of `proxy.privateKey` and `proxy.agent` can be given" });
  }
  return problems.filter((p) => !isUnknownAt(raw, p.property.split(".")));
}

export type CheckOutcome =
  | { ok: true; inputs: AcmeCertificateInputs; complete: true }
  | { ok: true; inputs: Record<string, unknown>; complete: false }
  | { ok: false; problems: FieldProblem[] };

/** Every problem, each naming its field, before any network call; unknown values (preview) are skipped. */
export function parseCertificateInputs(raw: Record<string, unknown>): CheckOutcome {
  const { __provider: _provider, ...inputs } = raw;
  const problems = crossFieldProblems(inputs);
  const parsed = AcmeCertificateInputsSchema.safeParse(inputs);
  // The one pipeline's wording (provider/check.ts): unknown keys, missing values, bad values.
  if (!parsed.success) problems.push(...problemsOf(parsed.error.issues, inputs));
  if (problems.length > 0) return { ok: false, problems };
  if (!parsed.success || containsUnknown(inputs)) return { ok: true, inputs, complete: false };
  const data = parsed.data;
  const proxy = data.proxy.lockFile === undefined ? { ...data.proxy, lockFile: `${data.proxy.confDir}/.launchpad.lock` } : data.proxy;
  const challenge = data.challenge ?? (isWildcard(data.hostname) ? "dns-01" : "http-01");
  return { ok: true, inputs: { ...data, proxy, challenge }, complete: true };
}

/** Where the certificate lives on the proxy host; `_` stands for `*` (it cannot start a hostname). */
export function certificatePaths(inputs: Pick<AcmeCertificateInputs, "proxy" | "hostname">): { certificatePath: string; keyPath: string } {
  const base = `${inputs.proxy.confDir}/certs/${inputs.hostname.replace(/^\*\./, "_.")}`;
  return { certificatePath: `${base}.crt`, keyPath: `${base}.key` };
}

/** State of this or an earlier version, read leniently: refusing it would strand the certificate. */
export function parseStoredCertificate(props: Record<string, unknown>): AcmeCertificateOutputs {
  const { __provider: _provider, ...stored } = props;
  return stored as unknown as AcmeCertificateOutputs;
}
