// Pure rendering: a record set as PowerDNS rrset JSON, and as the pieces and bytes of an RFC 2136
// UPDATE message. dns-packet encodes names and record data; the resource-record framing is ours,
// because dns-packet knows neither class NONE (254) nor the empty RDATA that update deletes carry.
import * as dnsPacket from "dns-packet";
import { parseValue, RecordType, WireData } from "./rdata";
import type { RecordSet } from "./schema";

/** The parts of dns-packet its type declarations leave out. */
export const wire = dnsPacket as unknown as {
  name: { encode(name: string): Buffer; decode(buf: Buffer, offset: number): string };
  record(type: string): { encode(data: unknown): Buffer };
};

export const TYPE_CODES: Record<RecordType, number> = { A: 1, CNAME: 5, MX: 15, TXT: 16, AAAA: 28, SRV: 33 };

// ---- PowerDNS ----------------------------------------------------------------------------------

/** PowerDNS wants absolute names with the trailing dot everywhere, and TXT content quoted. */
const absolute = (name: string): string => (name === "." ? "." : `${name}.`);

export function pdnsContent(type: RecordType, value: string): string {
  switch (type) {
    case "CNAME": return absolute(value);
    case "MX": { const [pref, host] = value.split(" "); return `${pref} ${absolute(host)}`; }
    case "SRV": { const [p, w, port, target] = value.split(" "); return `${p} ${w} ${port} ${absolute(target)}`; }
    default: return value;
  }
}

export interface PdnsRrset {
  name: string;
  type: RecordType;
  ttl?: number;
  changetype: "REPLACE" | "DELETE";
  records?: { content: string; disabled: boolean }[];
}

/** The zone id in the API path: the zone name with its trailing dot. */
export const pdnsZoneId = (zone: string): string => absolute(zone);

export function pdnsReplace(set: Pick<RecordSet, "fqdn" | "type" | "ttl" | "values">): PdnsRrset {
  return {
    name: absolute(set.fqdn),
    type: set.type,
    ttl: set.ttl,
    changetype: "REPLACE",
    records: set.values.map((value) => ({ content: pdnsContent(set.type, value), disabled: false })),
  };
}

export function pdnsDelete(set: Pick<RecordSet, "fqdn" | "type">): PdnsRrset {
  return { name: absolute(set.fqdn), type: set.type, changetype: "DELETE" };
}

// ---- RFC 2136 ----------------------------------------------------------------------------------

export const OPCODE_UPDATE = 5;
const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;

/** One resource record of an update message; no `data` means empty RDATA (RFC 2136 §2.4, §2.5). */
export interface UpdateRecord {
  name: string;
  type: RecordType;
  class: keyof typeof CLASS;
  ttl: number;
  data?: WireData;
}

export interface UpdateMessage {
  zone: string;
  prerequisites: UpdateRecord[];
  updates: UpdateRecord[];
}

const wireData = (type: RecordType, value: string): WireData => {
  const parsed = parseValue(type, value);
  if ("problem" in parsed) throw new Error(`unreachable: stored value failed to parse: ${parsed.problem}`);
  return parsed.wire;
};

/** RFC 2136 §2.4: prerequisites. */
export const prerequisite = {
  /** §2.4.3 RRset does not exist. */
  rrsetAbsent: (fqdn: string, type: RecordType): UpdateRecord => ({ name: fqdn, type, class: "NONE", ttl: 0 }),
  /** §2.4.1 RRset exists (value independent). */
  rrsetExists: (fqdn: string, type: RecordType): UpdateRecord => ({ name: fqdn, type, class: "ANY", ttl: 0 }),
  /** §2.4.2 RRset exists (value dependent): exactly these values, nothing more. */
  rrsetEquals: (set: Pick<RecordSet, "fqdn" | "type" | "values">): UpdateRecord[] =>
    set.values.map((value) => ({ name: set.fqdn, type: set.type, class: "IN", ttl: 0, data: wireData(set.type, value) })),
};

/** RFC 2136 §2.5: updates. */
export const update = {
  /** §2.5.2 Delete an RRset. */
  deleteRrset: (fqdn: string, type: RecordType): UpdateRecord => ({ name: fqdn, type, class: "ANY", ttl: 0 }),
  /** §2.5.4 Delete an RR from an RRset: only these values. */
  deleteValues: (set: Pick<RecordSet, "fqdn" | "type" | "values">): UpdateRecord[] =>
    set.values.map((value) => ({ name: set.fqdn, type: set.type, class: "NONE", ttl: 0, data: wireData(set.type, value) })),
  /** §2.5.1 Add to an RRset. */
  add: (set: Pick<RecordSet, "fqdn" | "type" | "ttl" | "values">): UpdateRecord[] =>
    set.values.map((value) => ({ name: set.fqdn, type: set.type, class: "IN", ttl: set.ttl, data: wireData(set.type, value) })),
};

function encodeRecord(record: UpdateRecord): Buffer {
  const name = wire.name.encode(record.name);
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(TYPE_CODES[record.type], 0);
  fixed.writeUInt16BE(CLASS[record.class], 2);
  fixed.writeUInt32BE(record.ttl, 4);
  // dns-packet's record encoders write RDLENGTH followed by RDATA.
  const rdata = record.data === undefined
    ? Buffer.alloc(2)
    : wire.record(record.type).encode(record.data);
  return Buffer.concat([name, fixed, rdata]);
}


/** The UPDATE message without TSIG; the caller signs it. Names go uncompressed, which is always legal. */
export function encodeUpdate(message: UpdateMessage, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(message.prerequisites.length, 6); // PRCOUNT
  header.writeUInt16BE(message.updates.length, 8); // UPCOUNT
  header.writeUInt16BE(0, 10); // ADCOUNT: TSIG is appended by the signer
  const zone = Buffer.concat([wire.name.encode(message.zone), Buffer.from([0, 6, 0, 1])]); // SOA, IN
  return Buffer.concat([header, zone, ...message.prerequisites.map(encodeRecord), ...message.updates.map(encodeRecord)]);
}

/** A plain query for one name and type (read uses it to see what the server serves). */
export function encodeQuery(fqdn: string, type: RecordType, id: number): Buffer {
  return dnsPacket.encode({ type: "query", id, flags: 0, questions: [{ type, class: "IN", name: fqdn }] });
}
