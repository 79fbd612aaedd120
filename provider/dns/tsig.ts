// TSIG (RFC 8945): signing update requests and verifying the server's signed answers. No
// maintained npm library does this for updates, so it is here, small and tested against BIND's
// nsupdate and a real PowerDNS.
import * as crypto from "crypto";
import { DnsUpdateError } from "../errors";
import { canonicalName } from "./names";
import { wire } from "./render";

export const TYPE_TSIG = 250;
const CLASS_ANY = 255;
/** RFC 8945 §10: 300 seconds is the recommended fudge. */
export const DEFAULT_FUDGE = 300;

export interface TsigKeyMaterial {
  /** Key name as configured on the server, e.g. `launchpad-key`. */
  name: string;
  algorithm: "hmac-sha256" | "hmac-sha512";
  secret: Buffer;
}

const HASH = { "hmac-sha256": "sha256", "hmac-sha512": "sha512" } as const;

/** RFC 8945 §5.3: errors the TSIG RR carries, and what they mean for the user. */
export const TSIG_ERRORS: Record<number, { name: string; hint: string }> = {
  16: { name: "BADSIG", hint: "the server knows the key name but the signature did not verify: the TSIG secret or algorithm differs from the server's" },
  17: { name: "BADKEY", hint: "the server does not know this TSIG key name or algorithm" },
  18: { name: "BADTIME", hint: "the clocks of this machine and the DNS server differ by more than the allowed fudge" },
  22: { name: "BADTRUNC", hint: "the server refused a truncated MAC" },
};

/** Names in TSIG digests are in canonical form: lower case, uncompressed (RFC 8945 §4.3.3). */
const nameWire = (name: string): Buffer => wire.name.encode(canonicalName(name));

function uint48(value: number): Buffer {
  const buf = Buffer.alloc(6);
  buf.writeUInt16BE(Math.floor(value / 2 ** 32), 0);
  buf.writeUInt32BE(value % 2 ** 32, 2);
  return buf;
}

export interface TsigVariables {
  algorithm: string;
  timeSigned: number;
  fudge: number;
  error: number;
  otherData: Buffer;
}

/** RFC 8945 §4.3.3: the TSIG variables that follow the message in the digest. */
function digestVariables(keyName: string, v: TsigVariables): Buffer {
  const fixed = Buffer.alloc(2 + 4);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(2 + 2 + 2);
  tail.writeUInt16BE(v.fudge, 0);
  tail.writeUInt16BE(v.error, 2);
  tail.writeUInt16BE(v.otherData.length, 4);
  return Buffer.concat([nameWire(keyName), fixed, nameWire(v.algorithm), uint48(v.timeSigned), tail, v.otherData]);
}

function hmac(key: TsigKeyMaterial, parts: Buffer[]): Buffer {
  const mac = crypto.createHmac(HASH[key.algorithm], key.secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** The request MAC: over the unsigned message and the TSIG variables. */
export function requestMac(message: Buffer, key: TsigKeyMaterial, v: TsigVariables): Buffer {
  return hmac(key, [message, digestVariables(key.name, v)]);
}

/** The response MAC: the request's MAC (length-prefixed) first, then as for a request (§4.3.1). */
export function responseMac(message: Buffer, requestMacValue: Buffer, key: TsigKeyMaterial, v: TsigVariables): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(requestMacValue.length, 0);
  return hmac(key, [len, requestMacValue, message, digestVariables(key.name, v)]);
}

/** Appends a TSIG RR to `message` (which has no additional records yet) and bumps ARCOUNT. */
export function sign(message: Buffer, key: TsigKeyMaterial, timeSigned: number, fudge = DEFAULT_FUDGE): { signed: Buffer; mac: Buffer } {
  const v: TsigVariables = { algorithm: `${key.algorithm}.`, timeSigned, fudge, error: 0, otherData: Buffer.alloc(0) };
  const mac = requestMac(message, key, v);
  return { signed: appendTsig(message, key.name, v, mac), mac };
}

/** The TSIG RR (RFC 8945 §4.2) for `message`, appended, with ARCOUNT one more. */
export function appendTsig(message: Buffer, keyName: string, v: TsigVariables, mac: Buffer): Buffer {
  const timeFudgeMacSize = Buffer.concat([uint48(v.timeSigned), u16(v.fudge), u16(mac.length)]);
  const rdata = Buffer.concat([
    nameWire(v.algorithm), timeFudgeMacSize, mac,
    u16(message.readUInt16BE(0)), u16(v.error), u16(v.otherData.length), v.otherData,
  ]);
  const rrHead = Buffer.concat([u16(TYPE_TSIG), u16(CLASS_ANY), Buffer.alloc(4), u16(rdata.length)]);
  const signed = Buffer.concat([message, nameWire(keyName), rrHead, rdata]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return signed;
}

function u16(value: number): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(value, 0);
  return buf;
}

// ---- reading TSIG off a message ----------------------------------------------------------------

/** Offset just past the (possibly compressed) name at `offset`. */
function skipName(buf: Buffer, offset: number): number {
  for (;;) {
    const len = buf[offset];
    if (len === undefined) throw new RangeError("name runs past the end of the message");
    if ((len & 0xc0) === 0xc0) return offset + 2;
    if (len === 0) return offset + 1;
    offset += len + 1;
  }
}

export interface TsigRecord extends TsigVariables {
  /** Where the TSIG RR starts: the message without it is `buf.subarray(0, offset)`. */
  offset: number;
  keyName: string;
  mac: Buffer;
  originalId: number;
}

/** The TSIG RR if it is the last additional record, as RFC 8945 §5.1 requires; else undefined. */
export function findTsig(buf: Buffer): TsigRecord | undefined {
  if (buf.length < 12) return undefined;
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  if (counts[3] === 0) return undefined;
  let offset = 12;
  for (let q = 0; q < counts[0]; q++) offset = skipName(buf, offset) + 4;
  const records = counts[1] + counts[2] + counts[3];
  for (let r = 0; r < records - 1; r++) {
    offset = skipName(buf, offset);
    offset += 10 + buf.readUInt16BE(offset + 8);
  }
  const start = offset;
  const keyName = wire.name.decode(buf, offset);
  offset = skipName(buf, offset);
  if (buf.readUInt16BE(offset) !== TYPE_TSIG) return undefined;
  let p = offset + 10;
  const algorithm = wire.name.decode(buf, p);
  p = skipName(buf, p);
  const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  const mac = buf.subarray(p + 10, p + 10 + macSize);
  p += 10 + macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  const otherData = buf.subarray(p + 6, p + 6 + otherLen);
  return { offset: start, keyName, algorithm, timeSigned, fudge, mac, originalId, error, otherData };
}

/** The message as it was before its TSIG RR was added: TSIG cut off, ARCOUNT one less, original id. */
export function unsignedPart(buf: Buffer, tsig: TsigRecord): Buffer {
  const message = Buffer.from(buf.subarray(0, tsig.offset));
  message.writeUInt16BE(tsig.originalId, 0);
  message.writeUInt16BE(buf.readUInt16BE(10) - 1, 10);
  return message;
}

/**
 * Checks a response to a signed request (RFC 8945 §5.3.1 from the client's side). Throws
 * DnsUpdateError naming the TSIG problem; returns quietly for a good signature.
 * A response carrying an error rcode and no TSIG is left to the caller (servers send REFUSED unsigned).
 */
export function verifyResponse(response: Buffer, sentMac: Buffer, key: TsigKeyMaterial, nowSeconds: number, server: string): void {
  const tsig = findTsig(response);
  if (!tsig) throw new DnsUpdateError(`${server} answered without a TSIG signature, so the answer cannot be trusted`);
  if (tsig.error !== 0) {
    const known = TSIG_ERRORS[tsig.error];
    throw new DnsUpdateError(`${server} rejected the TSIG key "${key.name}" (${known ? `${known.name}: ${known.hint}` : `TSIG error ${tsig.error}`})`,
      { context: { tsigError: tsig.error } });
  }
  if (canonicalName(tsig.keyName) !== canonicalName(key.name) || canonicalName(tsig.algorithm) !== key.algorithm) {
    throw new DnsUpdateError(`${server} signed its answer with key "${tsig.keyName}" (${tsig.algorithm}), not with "${key.name}" (${key.algorithm})`);
  }
  const expected = responseMac(unsignedPart(response, tsig), sentMac, key, tsig);
  if (tsig.mac.length !== expected.length || !crypto.timingSafeEqual(tsig.mac, expected)) {
    throw new DnsUpdateError(`the TSIG signature of ${server}'s answer does not verify with key "${key.name}": the answer may have been tampered with, or the secret differs`);
  }
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) {
    throw new DnsUpdateError(`${server} signed its answer at ${tsig.timeSigned}, more than ${tsig.fudge} s from this machine's clock (${nowSeconds}): ${TSIG_ERRORS[18].hint}`);
  }
}
