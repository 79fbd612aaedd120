// The fields of a zod input schema, walked the way the provider parses them: every leaf (a value
// that is not an object) and every object (where an unknown key can hide), as the paths check names
// them (`a.b`, `a.users[0].name`). Tables derived from these fail when a new field has no row.
import type { z } from "zod";

export interface SchemaFields {
  /** Paths of values that are not objects (strings, numbers, arrays of scalars, records). */
  leaves: string[];
  /** Paths of (strict) objects, `""` for the top level. */
  objects: string[];
}

const join = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

export function schemaFields(schema: z.ZodType, prefix = ""): SchemaFields {
  const leaves = new Set<string>();
  const objects = new Set<string>();
  const walk = (node: z.ZodType, path: string): void => {
    const def = (node as unknown as { def: Record<string, any> }).def;
    switch (def.type) {
      case "object":
        objects.add(path);
        for (const [key, child] of Object.entries(def.shape as Record<string, z.ZodType>)) walk(child, join(path, key));
        return;
      case "optional": case "nullable": case "default": case "prefault": case "readonly": case "catch": case "nonoptional":
        return walk(def.innerType, path);
      case "pipe":
        // A transform on one side, the real schema on the other (z.preprocess, .transform().pipe()).
        for (const side of [def.in, def.out]) if ((side.def as { type: string }).type !== "transform") walk(side, path);
        return;
      case "union": {
        const options = def.options as z.ZodType[];
        for (const option of options) walk(option, path);
        return;
      }
      case "array": {
        const element = def.element as z.ZodType;
        const inner = schemaFields(element);
        if (inner.objects.length > 0) for (const o of inner.objects) objects.add(`${path}[0]${o ? `.${o}` : ""}`);
        if (inner.objects.length > 0) for (const l of inner.leaves) leaves.add(`${path}[0].${l}`);
        else leaves.add(path);
        return;
      }
      default:
        leaves.add(path);
    }
  };
  walk(schema, prefix);
  const all = { leaves: [...leaves].filter(Boolean), objects: [...objects] };
  // A path both an object and a value (`"dhcp"` or `{address}`) is covered through its object's fields.
  all.leaves = all.leaves.filter((l) => !objects.has(l));
  return all;
}

/** `a.b[0].c` as segments: `["a", "b", 0, "c"]`. */
export function pathSegments(path: string): Array<string | number> {
  return path.split(/\.|(?=\[)/).filter(Boolean).map((s) => (/^\[\d+\]$/.test(s) ? Number(s.slice(1, -1)) : s));
}

/** The value at `path` inside `value`, or undefined. */
export function valueAt(value: unknown, path: string): unknown {
  let cursor = value as any;
  for (const segment of pathSegments(path)) {
    if (cursor === null || typeof cursor !== "object") return undefined;
    cursor = cursor[segment];
  }
  return cursor;
}

/** A copy of `base` with `path` set to `value` (intermediate objects and arrays made as needed). */
export function withField(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const segments = pathSegments(path);
  let cursor = copy as any;
  segments.slice(0, -1).forEach((segment, i) => {
    const next = cursor[segment];
    const wantArray = typeof segments[i + 1] === "number";
    cursor = cursor[segment] = Array.isArray(next) ? [...next] : next && typeof next === "object" ? { ...next } : wantArray ? [] : {};
  });
  cursor[segments[segments.length - 1]] = value;
  return copy;
}

/** Leaves no case reaches: a case on the leaf, below it, or on an ancestor whose value holds it. */
export function uncovered(leaves: readonly string[], cases: ReadonlyArray<readonly [string, unknown, ...unknown[]]>): string[] {
  return leaves.filter((leaf) => !cases.some(([field, value]) =>
    field === leaf || field.startsWith(`${leaf}.`) || field.startsWith(`${leaf}[`) ||
    (leaf.startsWith(`${field}.`) || leaf.startsWith(`${field}[`)) && valueAt(value, leaf.slice(field.length).replace(/^\./, "")) !== undefined));
}
