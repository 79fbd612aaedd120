// Domain-name rules shared by check, render and the backends. Names travel without the trailing
// dot and in lower case: DNS compares names case-insensitively (RFC 4343).

/** One label: letters, digits, hyphens inside, and `_` for service labels such as `_sip._tcp`. */
const LABEL = /^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;
const MAX_LABEL_BYTES = 63;
/** 255 octets on the wire is 253 characters in presentation form without the trailing dot. */
const MAX_NAME_CHARS = 253;

/** Lower case, no trailing dot; "." (the root) stays ".". */
export function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  if (lower === ".") return ".";
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** Problems with a domain name in presentation form; empty when it is valid. */
export function nameProblems(name: string, opts: { wildcard?: boolean } = {}): string[] {
  const canonical = canonicalName(name);
  if (canonical === "") return ["must not be empty"];
  const problems: string[] = [];
  if (canonical.length > MAX_NAME_CHARS) problems.push(`is ${canonical.length} characters long; a domain name holds at most ${MAX_NAME_CHARS}`);
  canonical.split(".").forEach((label, index) => {
    if (label === "") { problems.push("has an empty label (two dots in a row)"); return; }
    if (Buffer.byteLength(label) > MAX_LABEL_BYTES) problems.push(`label "${label.slice(0, 20)}..." is longer than ${MAX_LABEL_BYTES} characters`);
    else if (!LABEL.test(label)) problems.push(`label "${label}" may hold only letters, digits, "-" and "_", and must not start or end with "-"`);
    else if (label === "*" && (!opts.wildcard || index !== 0)) problems.push(`"*" is allowed only as the first label of a record name`);
  });
  return problems;
}

export function isInZone(fqdn: string, zone: string): boolean {
  return fqdn === zone || fqdn.endsWith("." + zone);
}

/**
 * The record's full name from `name` as the user wrote it: `@` is the apex; a name ending in a dot,
 * or ending in the zone, is absolute; anything else is relative to the zone.
 */
export function qualify(name: string, zone: string): string {
  const trimmed = name.trim().toLowerCase();
  if (trimmed === "@" || trimmed === "") return zone;
  if (trimmed.endsWith(".")) return canonicalName(trimmed);
  if (isInZone(trimmed, zone)) return trimmed;
  return `${trimmed}.${zone}`;
}

/** The name relative to its zone, as the user would write it: `app`, `_sip._tcp`, or `@`. */
export function relativeName(fqdn: string, zone: string): string {
  return fqdn === zone ? "@" : fqdn.slice(0, -(zone.length + 1));
}
