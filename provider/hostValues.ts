// Values as the dynamic-provider host hands them to the hooks.

/** What a not-yet-known input (a preview's computed value) arrives as: skip it, never take it as a value. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when the value at `path` in `raw`, or any object on the way to it, is unknown. */
export function isUnknownAt(raw: unknown, path: readonly PropertyKey[]): boolean {
  let value: unknown = raw;
  for (const key of path) {
    if (value === UNKNOWN) return true;
    if (typeof value !== "object" || value === null) return false;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === UNKNOWN;
}

/** The properties without the serialized provider the host keeps beside them. */
export function withoutProvider(props: Record<string, unknown> | undefined): Record<string, unknown> {
  const { __provider: _provider, ...rest } = props ?? {};
  return rest;
}

/** The host turns outputs into a protobuf Struct, which has no `undefined`: leave such keys out. */
export function definedOnly<T>(value: T): T {
  if (Array.isArray(value)) return value.map(definedOnly) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, definedOnly(v)])) as T;
}
