// Pure diff: a declared table of what a change does to the record set.
import { qualify } from "./names";
import { sameSet } from "./rdata";
import { containsUnknown } from "./schema";

export type ChangeEffect = "replace" | "update";

/**
 * Per field: what a change does. The record set's key (zone, name, type) and the kind of server
 * decide which set we own, so changing them means another set; the rest is rewritten in place.
 * Server address and credentials update in place: they are taken to reach the same server.
 */
export const DIFF_TABLE = {
  zone: "replace",
  name: "replace",
  type: "replace",
  "server.kind": "replace",
  values: "update",
  ttl: "update",
  overwrite: "update",
  server: "update",
} as const satisfies Record<string, ChangeEffect>;

export type DiffField = keyof typeof DIFF_TABLE;

export interface DnsDiff {
  changes: boolean;
  replaces: DiffField[];
  /** Delete first when the replacement would claim the same set (same name and type), or a CNAME shares the name. */
  deleteBeforeReplace: boolean;
  changed: DiffField[];
}

type Props = Record<string, unknown>;

const fqdnOf = (p: Props): string | undefined =>
  typeof p.name === "string" && typeof p.zone === "string" && !containsUnknown(p.name) && !containsUnknown(p.zone)
    ? qualify(p.name, p.zone) : undefined;

/** Key order is not meaningful (state passes through protobuf Structs), so compare sorted. */
const stable = (value: unknown): unknown =>
  Array.isArray(value) ? value.map(stable)
    : value && typeof value === "object" ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, stable((value as Props)[k])]))
      : value;
const equal = (a: unknown, b: unknown): boolean => JSON.stringify(stable(a)) === JSON.stringify(stable(b));

function fieldChanged(field: DiffField, olds: Props, news: Props): boolean {
  switch (field) {
    case "name": return fqdnOf(olds) !== fqdnOf(news) || containsUnknown(news.name);
    case "values":
      return containsUnknown(news.values) || !Array.isArray(olds.values) || !Array.isArray(news.values)
        || !sameSet(olds.values as string[], news.values as string[]);
    case "server.kind":
      return (olds.server as Props | undefined)?.kind !== (news.server as Props | undefined)?.kind
        && !containsUnknown((news.server as Props | undefined)?.kind);
    case "overwrite": case "ttl": return (olds[field] ?? defaults[field]) !== (news[field] ?? defaults[field]);
    default: return containsUnknown(news[field]) || !equal(olds[field], news[field]);
  }
}

const defaults = { ttl: 300, overwrite: false } as const;

/** `olds` are the stored outputs, `news` the checked inputs (which may hold unknowns in preview). */
export function diffDnsRecord(olds: Props, news: Props): DnsDiff {
  const changed = (Object.keys(DIFF_TABLE) as DiffField[]).filter((f) => fieldChanged(f, olds, news));
  const replaces = changed.filter((f) => DIFF_TABLE[f] === "replace");
  const sameKey = fqdnOf(olds) !== undefined && fqdnOf(olds) === fqdnOf(news);
  const cname = olds.type === "CNAME" || news.type === "CNAME";
  return {
    changes: changed.length > 0,
    replaces,
    deleteBeforeReplace: replaces.length > 0 && sameKey && (olds.type === news.type || cname),
    changed,
  };
}
