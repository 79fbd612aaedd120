// The PowerDNS Authoritative HTTP API backend: one rrset per DnsRecord, written with PATCH
// (REPLACE is atomic per rrset). The API has no conditional writes, so ownership is checked by
// reading first; the window between read and write is the API's, not ours to close.
import { DnsUpdateError } from "../errors";
import { retrying } from "../retry";
import { conflictOnCreate, conflictOnUpdate, RecordSetBackend, RecordSetKey, ServedSet } from "./backend";
import { canonicalName } from "./names";
import { canonicalSet, parseValue, RecordType, sameSet } from "./rdata";
import { PdnsRrset, pdnsDelete, pdnsReplace, pdnsZoneId } from "./render";
import type { PowerDnsServer, RecordSet } from "./schema";

const REQUEST_TIMEOUT_MS = 30_000;

interface PdnsZone {
  rrsets: { name: string; type: string; ttl: number; records: { content: string; disabled: boolean }[] }[];
}

export class PowerDnsBackend implements RecordSetBackend {
  constructor(private readonly server: PowerDnsServer) {}

  private zoneUrl(zone: string): string {
    const base = this.server.url.replace(/\/+$/, "");
    return `${base}/api/v1/servers/${encodeURIComponent(this.server.serverId)}/zones/${encodeURIComponent(pdnsZoneId(zone))}`;
  }

  /** Every call here is idempotent (GET, PATCH with REPLACE or DELETE), so busy answers are retried. */
  private call(method: "GET" | "PATCH", zone: string, body?: unknown, query = ""): Promise<unknown> {
    return retrying(() => this.callOnce(method, zone, body, query), { idempotent: true });
  }

  private async callOnce(method: "GET" | "PATCH", zone: string, body?: unknown, query = ""): Promise<unknown> {
    const url = this.zoneUrl(zone) + query;
    const where = `PowerDNS ${method} ${this.server.url} zone ${zone}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { "X-API-Key": this.server.apiKey, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new DnsUpdateError(`${where}: no answer (${cause?.code ?? cause?.message ?? (error as Error).message})`, { cause: error });
    }
    const text = await response.text();
    if (response.ok) return text ? JSON.parse(text) : undefined;
    let detail = text.trim();
    try { detail = (JSON.parse(text) as { error?: string }).error ?? detail; } catch { /* plain text body */ }
    if (response.status === 401 || response.status === 403) {
      throw new DnsUpdateError(`${where}: the API key was rejected (HTTP ${response.status})`, { context: { status: response.status } });
    }
    if (response.status === 404) {
      throw new DnsUpdateError(`${where}: HTTP 404 (${detail}): is the zone created and the server id "${this.server.serverId}" right?`, { context: { status: 404 } });
    }
    throw new DnsUpdateError(`${where}: HTTP ${response.status} ${detail}`, { context: { status: response.status } });
  }

  private patch(zone: string, rrsets: PdnsRrset[]): Promise<unknown> {
    return this.call("PATCH", zone, { rrsets });
  }

  async lookup(key: RecordSetKey): Promise<ServedSet | undefined> {
    const fqdn = `${key.fqdn}.`;
    const query = `?rrset_name=${encodeURIComponent(fqdn)}&rrset_type=${key.type}`;
    const zone = (await this.call("GET", key.zone, undefined, query)) as PdnsZone;
    // Older servers ignore the filter and send the whole zone: filter here too.
    const rrset = zone.rrsets.find((r) => canonicalName(r.name) === key.fqdn && r.type === key.type);
    const records = rrset?.records.filter((r) => !r.disabled) ?? [];
    if (!rrset || records.length === 0) return undefined;
    return { ttl: rrset.ttl, values: canonicalSet(records.map((r) => servedValue(key.type, r.content))) };
  }

  async create(set: RecordSet, overwrite: boolean): Promise<"created" | "adopted" | "overwritten"> {
    const served = await this.lookup(set);
    if (served && !sameSet(served.values, set.values) && !overwrite) throw conflictOnCreate(set, served);
    if (!served || !sameSet(served.values, set.values) || served.ttl !== set.ttl) await this.patch(set.zone, [pdnsReplace(set)]);
    return !served ? "created" : sameSet(served.values, set.values) ? "adopted" : "overwritten";
  }

  async replace(owned: RecordSet, next: RecordSet, overwrite: boolean): Promise<void> {
    if (!overwrite) {
      const served = await this.lookup(owned);
      if (served && !sameSet(served.values, owned.values)) throw conflictOnUpdate(owned, served);
    }
    await this.patch(next.zone, [pdnsReplace(next)]);
  }

  async remove(owned: RecordSet): Promise<void> {
    const served = await this.lookup(owned);
    if (!served) return;
    const remaining = served.values.filter((v) => !owned.values.includes(v));
    if (remaining.length === served.values.length) return; // none of ours left: not ours to delete
    await this.patch(owned.zone, [remaining.length
      ? pdnsReplace({ fqdn: owned.fqdn, type: owned.type, ttl: served.ttl, values: remaining })
      : pdnsDelete(owned)]);
  }
}

/** PowerDNS content is zone-file text; values it holds that we could not write are kept verbatim. */
function servedValue(type: RecordType, content: string): string {
  const parsed = parseValue(type, content);
  return "problem" in parsed ? content : parsed.value;
}
