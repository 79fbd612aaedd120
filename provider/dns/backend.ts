// What every DNS backend does for a DnsRecord; the ownership rules are stated once here and each
// backend keeps them with the tools its protocol has.
import { DnsConflictError } from "../errors";
import type { RecordSet } from "./schema";

/** What the server holds for one name and type. */
export interface ServedSet {
  ttl: number;
  values: string[];
}

export type RecordSetKey = Pick<RecordSet, "zone" | "fqdn" | "type">;

export interface RecordSetBackend {
  /** The set the server holds for this name and type, or undefined when there is none. */
  lookup(key: RecordSetKey): Promise<ServedSet | undefined>;
  /**
   * Claims the set: writes it when absent, adopts an identical one (fixing its TTL), and fails with
   * DnsConflictError when another set with other values is there, unless `overwrite`.
   */
  create(set: RecordSet, overwrite: boolean): Promise<"created" | "adopted" | "overwritten">;
  /**
   * Replaces the set we own (`owned`) with `next` in one step. Fails with DnsConflictError when the
   * server holds other values than `owned` (changed out of band since the last refresh), unless
   * `overwrite`. A set deleted out of band is written again.
   */
  replace(owned: RecordSet, next: RecordSet, overwrite: boolean): Promise<void>;
  /** Removes our values only; values added by others stay. Already gone is success. */
  remove(owned: RecordSet): Promise<void>;
}

const list = (values: readonly string[]): string => values.join(", ");

export function conflictOnCreate(set: RecordSet, served: ServedSet): DnsConflictError {
  return new DnsConflictError(
    `${set.fqdn} ${set.type} already exists with ${list(served.values)} (this DnsRecord wants ${list(set.values)}). ` +
      "Set `overwrite: true` to take the record set over, or choose another name.",
    { context: { fqdn: set.fqdn, type: set.type, served: served.values } },
  );
}

export function conflictOnUpdate(owned: RecordSet, served: ServedSet): DnsConflictError {
  return new DnsConflictError(
    `${owned.fqdn} ${owned.type} was changed outside Pulumi: the server holds ${list(served.values)}, this DnsRecord last wrote ${list(owned.values)}. ` +
      "Run `pulumi refresh` to accept the server's values, or set `overwrite: true`.",
    { context: { fqdn: owned.fqdn, type: owned.type, served: served.values } },
  );
}
