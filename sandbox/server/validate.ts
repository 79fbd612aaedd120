// Parameter verification as PVE::JSONSchema::validate does it for API calls: the same order of checks
// (missing, type, format, pattern, length, range, enum) and the same messages, keyed by parameter name.
import { checkNamedFormat } from "./formats";

export interface PropertySchema {
  type?: string;
  format?: string | Record<string, PropertySchema>;
  pattern?: string;
  enum?: string[];
  minimum?: number | string;
  maximum?: number | string;
  minLength?: number;
  maxLength?: number;
  optional?: number | boolean;
  default_key?: number | boolean;
  requires?: string;
  alias?: string;
  default?: unknown;
}

export interface ParametersSchema {
  additionalProperties?: number | boolean;
  properties?: Record<string, PropertySchema>;
}

/** Parameter value as it arrives: form and query values are strings, JSON bodies carry their own types. */
export type RawValue = string | number | boolean | null | undefined | object;
export type Errors = Record<string, string>;

/** How many instances each `name[n]` parameter has (pve-container: 32 NICs, 256 mount points/devices/unused). */
const INDEXED_COUNT: Record<string, number> = { net: 32, mp: 256, unused: 256, dev: 256 };

const patternCache = new Map<string, RegExp>();
function anchoredPattern(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    // Perl's `(?^:...)` is a plain group; PVE anchors every pattern as m/^$pattern$/.
    re = new RegExp(`^(?:${pattern.replace(/\(\?\^:/g, "(?:")})$`);
    patternCache.set(pattern, re);
  }
  return re;
}

const isNumber = (value: string) => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(value);
const isInteger = (value: string) => /^[+-]?\d+$/.test(value);

/** PVE::JSONSchema::parse_boolean */
export function parseBoolean(value: string): 0 | 1 | undefined {
  if (/^(1|on|yes|true)$/i.test(value)) return 1;
  if (/^(0|off|no|false)$/i.test(value)) return 0;
  return undefined;
}

function addError(errors: Errors, path: string, message: string): void {
  const key = path || "_root";
  errors[key] = errors[key] ? `${errors[key]}\\n${message}` : message;
}

/** Perl's name for a JSON value's reference type, as check_type prints it. */
function perlRef(value: unknown): string | undefined {
  if (typeof value === "boolean") return "JSON::PP::Boolean";
  if (Array.isArray(value)) return "ARRAY";
  if (value !== null && typeof value === "object") return "HASH";
  return undefined;
}

function checkType(path: string, type: string | undefined, value: RawValue, errors: Errors): boolean {
  if (!type || type === "any") return true;
  const ref = perlRef(value);
  if (type === "array" || type === "object") {
    const ok = type === "array" ? ref === "ARRAY" : ref === "HASH";
    if (!ok) addError(errors, path, `type check ('${type}') failed`);
    return ok;
  }
  if (ref) {
    if (type === "boolean" && typeof value === "boolean") return true;
    addError(errors, path, `type check ('${type}') failed - got ${ref}`);
    return false;
  }
  const text = String(value);
  const ok =
    type === "boolean" ? text === "1" || text === "0" : type === "integer" ? isInteger(text) : type === "number" ? isNumber(text) : true;
  if (!ok) addError(errors, path, `type check ('${type}') failed - got '${text}'`);
  return ok;
}

/** PVE::JSONSchema::parse_property_string: throws the message (and per-key errors) PVE would. */
export function parsePropertyString(
  format: Record<string, PropertySchema>,
  data: string,
  path: string,
): Record<string, string> {
  const parsed: Record<string, string> = {};
  let defaultKey: string | undefined;
  for (const part of data.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const pair = /^([^=]+)=(.+)$/s.exec(part);
    if (pair) {
      let [key, value] = [pair[1], pair[2]];
      if (parsed[key] !== undefined) throw new FormatError(`duplicate key in comma-separated list property: ${key}`);
      let schema = format[key];
      if (schema?.alias) {
        key = schema.alias;
        schema = format[key];
      }
      if (!schema) throw new FormatError(`invalid key in comma-separated list property: ${key}`);
      if (schema.type === "boolean") value = String(parseBoolean(value) ?? value);
      parsed[key] = value;
    } else if (!part.includes("=")) {
      if (defaultKey) throw new FormatError(`duplicate key in comma-separated list property: ${defaultKey}`);
      defaultKey = Object.keys(format).find((key) => format[key].default_key);
      if (!defaultKey) throw new FormatError("value without key, but schema does not define a default key");
      if (parsed[defaultKey]) throw new FormatError(`duplicate key in comma-separated list property: ${defaultKey}`);
      parsed[defaultKey] = part;
    } else {
      throw new FormatError("missing key in comma-separated list property");
    }
  }
  const errors: Errors = {};
  checkObject(path, format, parsed, false, errors);
  if (Object.keys(errors).length > 0) throw new FormatError("format error", errors);
  return parsed;
}

export class FormatError extends Error {
  constructor(message: string, readonly errors?: Errors) {
    super(message);
  }
  /** PVE::Exception stringified: the message, then one `path: message` line per error. */
  toPerlString(): string {
    let text = `${this.message}\n`;
    for (const key of Object.keys(this.errors ?? {}).sort()) text += `${key}: ${this.errors![key]}\n`;
    return text;
  }
}

function checkProp(value: RawValue, schema: PropertySchema, path: string, errors: Errors): void {
  if (value === undefined || value === null) {
    if (schema.type === "null") return;
    if (!schema.optional && !schema.alias) addError(errors, path, "property is missing and it is not optional");
    return;
  }
  if (!checkType(path, schema.type, value, errors)) return;
  if (typeof value === "object") return;
  const text = String(value);
  if (schema.format) {
    let problem: string | undefined;
    if (typeof schema.format === "object") {
      try {
        parsePropertyString(schema.format, text, path);
      } catch (error) {
        problem = error instanceof FormatError ? error.toPerlString() : String(error);
      }
    } else {
      const message = checkNamedFormat(schema.format, text);
      if (message !== undefined) problem = `${message}\n`;
    }
    if (problem !== undefined) {
      addError(errors, path, `invalid format - ${problem}`);
      return;
    }
  }
  if (schema.pattern && !anchoredPattern(schema.pattern).test(text)) {
    addError(errors, path, "value does not match the regex pattern");
    return;
  }
  if (schema.maxLength !== undefined && [...text].length > schema.maxLength) {
    addError(errors, path, `value may only be ${schema.maxLength} characters long`);
    return;
  }
  if (schema.minLength !== undefined && [...text].length < schema.minLength) {
    addError(errors, path, `value must be at least ${schema.minLength} characters long`);
    return;
  }
  if (isNumber(text)) {
    if (schema.maximum !== undefined && Number(text) > Number(schema.maximum)) {
      addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
      return;
    }
    if (schema.minimum !== undefined && Number(text) < Number(schema.minimum)) {
      addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(text)) {
    addError(errors, path, `value '${text}' does not have a value in the enumeration '${schema.enum.join(", ")}'`);
  }
}

/** The schema entry for a parameter name, expanding `net[n]` to `net0`..`net31` and so on. */
export function propertyFor(properties: Record<string, PropertySchema>, name: string): PropertySchema | undefined {
  const direct = properties[name];
  if (direct) return direct;
  const indexed = /^([a-z][a-z_-]*?)(\d+)$/.exec(name);
  if (!indexed) return undefined;
  const [base, index] = [indexed[1], indexed[2]];
  const schema = properties[`${base}[n]`];
  if (!schema) return undefined;
  if (String(Number(index)) !== index || Number(index) >= (INDEXED_COUNT[base] ?? 256)) return undefined;
  return schema;
}

function checkObject(
  path: string,
  schema: Record<string, PropertySchema>,
  value: Record<string, RawValue>,
  additionalProperties: boolean,
  errors: Errors,
): void {
  const join = (key: string) => (path ? `${path}.${key}` : key);
  for (const key of Object.keys(schema)) {
    if (key.endsWith("[n]")) continue; // expanded below, per instance present
    checkProp(value[key], schema[key], join(key), errors);
  }
  for (const key of Object.keys(value)) {
    const sub = schema[key] ?? propertyFor(schema, key);
    if (sub) {
      if (!schema[key]) checkProp(value[key], sub, join(key), errors);
      if (sub.requires && (value[sub.requires] === undefined || value[sub.requires] === null)) {
        addError(errors, join(sub.requires), `missing property - '${join(key)}' requires this property`);
      }
      continue;
    }
    if (!additionalProperties) {
      addError(errors, join(key), "property is not defined in schema and the schema does not allow additional properties");
    }
  }
}

/** Validates an API call's parameters (path parameters included). Returns the errors, or undefined when valid. */
export function validateParameters(schema: ParametersSchema | undefined, params: Record<string, RawValue>): Errors | undefined {
  const errors: Errors = {};
  checkObject("", schema?.properties ?? {}, params, Boolean(schema?.additionalProperties), errors);
  return Object.keys(errors).length > 0 ? errors : undefined;
}
