// The RFC 2136 dynamic-update backend, TSIG-signed. Ownership rides on the protocol's own
// prerequisites, so each write is one atomic message that the server checks and applies together.
import * as crypto from "crypto";
import * as dnsPacket from "dns-packet";
import { DnsUpdateError } from "../errors";
import { conflictOnCreate, conflictOnUpdate, RecordSetBackend, RecordSetKey, ServedSet } from "./backend";
import { canonicalName } from "./names";
import { canonicalSet, RecordType, sameSet, valueFromWire } from "./rdata";
import { encodeQuery, encodeUpdate, prerequisite, update, UpdateMessage } from "./render";
import type { RecordSet, Rfc2136Server } from "./schema";
import { findTsig, sign, TsigKeyMaterial, verifyResponse } from "./tsig";
import { exchange } from "./transport";

/** RFC 1035 §4.1.1, RFC 2136 §2.2: response codes, and what they mean for an update. */
export const RCODES: Record<number, string> = {
  0: "NOERROR", 1: "FORMERR (the server could not parse the update)", 2: "SERVFAIL (the server failed to apply it)",
  3: "NXDOMAIN", 4: "NOTIMP (the server does not support dynamic updates)",
  5: "REFUSED",
  6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET",
  9: "NOTAUTH (the server is not authoritative for the zone, or rejected the TSIG signature)",
  10: "NOTZONE (the name is not inside the zone)",
};
const RCODE = { NOERROR: 0, NXDOMAIN: 3, YXRRSET: 7, NXRRSET: 8 } as const;

const clock = (): number => Math.floor(Date.now() / 1000);

export class Rfc2136Backend implements RecordSetBackend {
  private readonly key: TsigKeyMaterial;
  private readonly where: string;

  constructor(private readonly server: Rfc2136Server, private readonly now: () => number = clock) {
    this.key = { name: server.tsig.name, algorithm: server.tsig.algorithm, secret: Buffer.from(server.tsig.secret, "base64") };
    this.where = `DNS server ${server.host}:${server.port}`;
  }

  /** Sends one signed UPDATE and returns the verified rcode. */
  async send(message: UpdateMessage): Promise<number> {
    const id = crypto.randomInt(0, 65536);
    const { signed, mac } = sign(encodeUpdate(message, id), this.key, this.now());
    const response = await exchange(signed, { host: this.server.host, port: this.server.port });
    const rcode = response.readUInt16BE(2) & 0x0f;
    // Servers answer a refused or unparsable request unsigned, and a bad key with a TSIG error and no MAC.
    if (findTsig(response) || rcode === RCODE.NOERROR) verifyResponse(response, mac, this.key, this.now(), this.where);
    return rcode;
  }

  private failure(rcode: number, action: string): DnsUpdateError {
    // PowerDNS and BIND answer a bad or unknown TSIG key with a plain REFUSED, so name the usual causes.
    const hint = rcode === 5
      ? ` (the server does not allow this update: check that it knows TSIG key "${this.key.name}" with this ${this.key.algorithm} secret, that the key may update this zone (BIND: update-policy/allow-update; PowerDNS: TSIG-ALLOW-DNSUPDATE and allow-dnsupdate-from), and that no CNAME shares the name)`
      : "";
    return new DnsUpdateError(`${this.where} did not ${action}: ${RCODES[rcode] ?? `rcode ${rcode}`}${hint}`, { context: { rcode } });
  }

  async lookup(key: RecordSetKey): Promise<ServedSet | undefined> {
    const id = crypto.randomInt(0, 65536);
    const response = await exchange(encodeQuery(key.fqdn, key.type, id), { host: this.server.host, port: this.server.port });
    const packet = dnsPacket.decode(response);
    const rcode = response.readUInt16BE(2) & 0x0f;
    if (rcode === RCODE.NXDOMAIN) return undefined;
    if (rcode !== RCODE.NOERROR) throw new DnsUpdateError(`${this.where} could not answer for ${key.fqdn} ${key.type}: ${RCODES[rcode] ?? `rcode ${rcode}`}`);
    const answers = (packet.answers ?? []).filter(
      (a) => a.type === key.type && canonicalName(a.name) === key.fqdn,
    ) as { ttl?: number; data: unknown }[];
    if (answers.length === 0) return undefined;
    return {
      ttl: Math.min(...answers.map((a) => a.ttl ?? 0)),
      values: canonicalSet(answers.map((a) => valueFromWire(key.type as RecordType, a.data))),
    };
  }

  async create(set: RecordSet, overwrite: boolean): Promise<"created" | "adopted" | "overwritten"> {
    if (overwrite) {
      const served = await this.lookup(set);
      const rcode = await this.send({ zone: set.zone, prerequisites: [], updates: [update.deleteRrset(set.fqdn, set.type), ...update.add(set)] });
      if (rcode !== RCODE.NOERROR) throw this.failure(rcode, `write ${set.fqdn} ${set.type}`);
      return !served ? "created" : sameSet(served.values, set.values) ? "adopted" : "overwritten";
    }
    // A set appearing or vanishing between our messages sends us round again; a few rounds settle it.
    for (let round = 0; round < 3; round++) {
      const rcode = await this.send({ zone: set.zone, prerequisites: [prerequisite.rrsetAbsent(set.fqdn, set.type)], updates: update.add(set) });
      if (rcode === RCODE.NOERROR) return "created";
      if (rcode !== RCODE.YXRRSET) throw this.failure(rcode, `create ${set.fqdn} ${set.type}`);
      const served = await this.lookup(set);
      if (!served) continue;
      if (!sameSet(served.values, set.values)) throw conflictOnCreate(set, served);
      if (served.ttl === set.ttl) return "adopted";
      const fix = await this.send({
        zone: set.zone,
        prerequisites: prerequisite.rrsetEquals(set),
        updates: [update.deleteRrset(set.fqdn, set.type), ...update.add(set)],
      });
      if (fix === RCODE.NOERROR) return "adopted";
      if (fix !== RCODE.NXRRSET) throw this.failure(fix, `adopt ${set.fqdn} ${set.type}`);
    }
    throw new DnsUpdateError(`${set.fqdn} ${set.type} kept changing on ${this.where} while this DnsRecord tried to create it`);
  }

  async replace(owned: RecordSet, next: RecordSet, overwrite: boolean): Promise<void> {
    const rcode = await this.send({
      zone: next.zone,
      prerequisites: overwrite ? [] : prerequisite.rrsetEquals(owned),
      updates: [update.deleteRrset(next.fqdn, next.type), ...update.add(next)],
    });
    if (rcode === RCODE.NOERROR) return;
    if (rcode !== RCODE.NXRRSET) throw this.failure(rcode, `update ${next.fqdn} ${next.type}`);
    const served = await this.lookup(owned);
    if (served) throw conflictOnUpdate(owned, served);
    await this.create(next, false);
  }

  async remove(owned: RecordSet): Promise<void> {
    const rcode = await this.send({
      zone: owned.zone,
      prerequisites: [prerequisite.rrsetExists(owned.fqdn, owned.type)],
      updates: update.deleteValues(owned),
    });
    if (rcode === RCODE.NOERROR || rcode === RCODE.NXRRSET) return;
    throw this.failure(rcode, `delete ${owned.fqdn} ${owned.type}`);
  }
}
