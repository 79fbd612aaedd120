// Record data in presentation form: parsing what users (and PowerDNS) write, the one canonical
// text we store and compare, and the structured form dns-packet encodes.
import * as net from "net";
import { canonicalName, nameProblems } from "./names";

export const RECORD_TYPES = ["A", "AAAA", "CNAME", "TXT", "SRV", "MX"] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** A TXT character-string holds at most 255 octets (RFC 1035 §3.3). */
export const TXT_STRING_MAX = 255;

export interface SrvData { priority: number; weight: number; port: number; target: string }
export interface MxData { preference: number; exchange: string }
/** What dns-packet's record encoders take for each type. */
export type WireData = string | Buffer[] | SrvData | MxData;

export type ParsedValue = { value: string; wire: WireData } | { problem: string };

const UINT16 = (text: string): number | undefined => {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
};

/** RFC 5952 form (lower case, longest zero run compressed), as WHATWG URL serializes IPv6 hosts. */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]`).hostname.slice(1, -1);
}

function targetProblem(target: string, what: string): string | undefined {
  const problems = nameProblems(target);
  return problems.length ? `${what} "${target}" ${problems.join(", ")}` : undefined;
}

/** Parses one value of `type` from presentation form into its canonical text and wire data. */
export function parseValue(type: RecordType, text: string): ParsedValue {
  const trimmed = text.trim();
  switch (type) {
    case "A":
      return net.isIPv4(trimmed) ? { value: trimmed, wire: trimmed } : { problem: `"${trimmed}" is not an IPv4 address` };
    case "AAAA": {
      if (!net.isIPv6(trimmed)) return { problem: `"${trimmed}" is not an IPv6 address` };
      const value = canonicalIPv6(trimmed);
      return { value, wire: value };
    }
    case "CNAME": {
      const problem = targetProblem(trimmed, "target");
      if (problem) return { problem };
      const value = canonicalName(trimmed);
      return { value, wire: value };
    }
    case "MX": {
      const match = /^(\S+)\s+(\S+)$/.exec(trimmed);
      const preference = match ? UINT16(match[1]) : undefined;
      if (!match || preference === undefined) return { problem: `"${trimmed}" is not "preference host" with a preference of 0-65535` };
      const problem = targetProblem(match[2], "mail host");
      if (problem) return { problem };
      const exchange = canonicalName(match[2]);
      return { value: `${preference} ${exchange}`, wire: { preference, exchange } };
    }
    case "SRV": {
      const match = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(trimmed);
      const fields = match ? [UINT16(match[1]), UINT16(match[2]), UINT16(match[3])] : [];
      if (!match || fields.some((f) => f === undefined)) {
        return { problem: `"${trimmed}" is not "priority weight port target" with numbers of 0-65535` };
      }
      // "." as target means "no service here" (RFC 2782).
      const problem = match[4] === "." ? undefined : targetProblem(match[4], "target");
      if (problem) return { problem };
      const [priority, weight, port] = fields as number[];
      const target = canonicalName(match[4]);
      return { value: `${priority} ${weight} ${port} ${target}`, wire: { priority, weight, port, target } };
    }
    case "TXT":
      return parseTxt(text);
  }
}

/**
 * TXT: a value starting with `"` is one or more quoted character-strings (`\"`, `\\`, `\DDD`
 * escapes, as in zone files and PowerDNS); any other value is plain text, cut into 255-octet strings.
 */
export function parseTxt(text: string): ParsedValue {
  const trimmed = text.trim();
  let strings: Buffer[];
  if (trimmed.startsWith('"')) {
    const parsed = parseQuotedStrings(trimmed);
    if (typeof parsed === "string") return { problem: parsed };
    const long = parsed.find((s) => s.length > TXT_STRING_MAX);
    if (long) return { problem: `a quoted TXT string is ${long.length} bytes long; each holds at most ${TXT_STRING_MAX} (leave out the quotes to have it split)` };
    strings = parsed;
  } else {
    strings = splitTxt(text);
  }
  return { value: presentTxt(strings), wire: strings };
}

function parseQuotedStrings(text: string): Buffer[] | string {
  const strings: Buffer[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    if (text[i] !== '"') return `TXT value has text outside quotes at position ${i + 1}; quote every string or none`;
    i++;
    const bytes: number[] = [];
    let closed = false;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') { closed = true; i++; break; }
      if (ch === "\\") {
        const ddd = /^\d{3}/.exec(text.slice(i + 1));
        if (ddd) {
          const byte = Number(ddd[0]);
          if (byte > 255) return `TXT escape \\${ddd[0]} is not a byte`;
          bytes.push(byte); i += 4; continue;
        }
        if (i + 1 >= text.length) return "TXT value ends with a lone backslash";
        bytes.push(...Buffer.from(text[i + 1], "utf8")); i += 2; continue;
      }
      const cp = text.codePointAt(i)!;
      const char = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(char, "utf8"));
      i += char.length;
    }
    if (!closed) return "TXT value has an unclosed quote";
    strings.push(Buffer.from(bytes));
  }
  return strings.length ? strings : [Buffer.alloc(0)];
}

/** Plain text into character-strings of at most 255 octets, never splitting a UTF-8 character. */
export function splitTxt(text: string): Buffer[] {
  const strings: Buffer[] = [];
  let current: number[] = [];
  for (const char of text) {
    const bytes = Buffer.from(char, "utf8");
    if (current.length + bytes.length > TXT_STRING_MAX) { strings.push(Buffer.from(current)); current = []; }
    current.push(...bytes);
  }
  strings.push(Buffer.from(current));
  return strings;
}

/** Zone-file form: each string quoted; `"` and `\` escaped; bytes outside printable ASCII as \DDD. */
export function presentTxt(strings: Buffer[]): string {
  return strings.map((s) => {
    let out = '"';
    for (const byte of s) {
      if (byte === 0x22 || byte === 0x5c) out += "\\" + String.fromCharCode(byte);
      else if (byte < 0x20 || byte > 0x7e) out += "\\" + String(byte).padStart(3, "0");
      else out += String.fromCharCode(byte);
    }
    return out + '"';
  }).join(" ");
}

/** Canonical text of a value as dns-packet decoded it from a response. */
export function valueFromWire(type: RecordType, data: unknown): string {
  switch (type) {
    case "A": return String(data);
    case "AAAA": return canonicalIPv6(String(data));
    case "CNAME": return canonicalName(String(data));
    case "MX": { const mx = data as MxData; return `${mx.preference} ${canonicalName(mx.exchange)}`; }
    case "SRV": { const srv = data as SrvData; return `${srv.priority} ${srv.weight} ${srv.port} ${canonicalName(srv.target || ".")}`; }
    case "TXT": return presentTxt((data as Buffer[]).map((s) => Buffer.isBuffer(s) ? s : Buffer.from(String(s))));
  }
}

/** Record sets are unordered: one sorted, duplicate-free list is what we store and compare. */
export function canonicalSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = canonicalSet(a);
  const y = canonicalSet(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
