/**
 * Deterministic, schema-valid example arguments for a tool's input schema (JSON Schema
 * 2020-12 as the compiler emits it): `const`, `enum`, `default` and scalar `examples`
 * when present, else a value by type honouring format, length, range, multipleOf and
 * (for the common simple cases) pattern. Optional properties are filled too, down to
 * a depth, so that serialization of every parameter and body field is exercised.
 *
 * `exampleArguments` also checks its result with ajv (draft 2020-12 + formats), so a
 * violation seen upstream is the gateway's doing, not the generator's.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

type Schema = { [key: string]: unknown };

/** Below this depth optional properties are filled; deeper only required ones (ends cycles). */
const OPTIONAL_DEPTH = 3;
/** Hard stop for required-only recursion through `$ref` cycles. */
const MAX_DEPTH = 8;

const FORMAT_VALUES: Record<string, string> = {
  date: "2024-01-02",
  "date-time": "2024-01-02T03:04:05Z",
  time: "03:04:05Z",
  duration: "P1DT2H",
  email: "user@example.com",
  "idn-email": "user@example.com",
  uuid: "123e4567-e89b-42d3-a456-426614174000",
  uri: "https://example.com/path",
  "uri-reference": "/path",
  iri: "https://example.com/path",
  "iri-reference": "/path",
  url: "https://example.com/path",
  hostname: "example.com",
  "idn-hostname": "example.com",
  ipv4: "192.0.2.1",
  ipv6: "2001:db8::1",
  byte: "aGVsbG8=",
  binary: "hello",
  password: "secret-pass",
  regex: "^a+$",
  "json-pointer": "/a/b",
  "relative-json-pointer": "0/a",
  "uri-template": "https://example.com/{id}",
  json: '{"a":1}',
};

/** Strings tried, in order, against a `pattern`. */
const PATTERN_CANDIDATES = [
  "example",
  "abc",
  "ABC",
  "Abc",
  "a",
  "A",
  "1",
  "123",
  "12345",
  "abc123",
  "ABC123",
  "a-b",
  "a_b",
  "a.b",
  "2024-01-02",
  "123e4567-e89b-42d3-a456-426614174000",
  "user@example.com",
  "https://example.com",
];

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateSchema: false });
addFormats(ajv);
// Formats the OpenAPI specs use that ajv-formats does not know: accept any value (the gateway checks them itself).
for (const name of [
  "int8",
  "uint8",
  "int16",
  "uint16",
  "uint32",
  "uint64",
  "json",
  "html",
  "blob",
  "url",
  "binary",
  "byte",
  "password",
  "int32",
  "int64",
  "float",
  "double",
  "idn-email",
  "idn-hostname",
  "iri",
  "iri-reference",
]) {
  if (!ajv.formats[name]) ajv.addFormat(name, true);
}

export interface ExampleResult {
  args: Record<string, unknown>;
  /** ajv's complaints when the generator could not satisfy the schema (then do not call the tool). */
  invalid?: string;
}

/** Example arguments for one tool's `inputSchema`. */
export function exampleArguments(inputSchema: Schema): ExampleResult {
  const value = sample(inputSchema, inputSchema, 0);
  const args = isObject(value) ? value : {};
  let validate: ReturnType<Ajv2020["compile"]>;
  try {
    validate = ajv.compile(inputSchema);
  } catch (error) {
    return {
      args,
      invalid: `ajv cannot compile the schema: ${error instanceof Error ? error.message : error}`,
    };
  }
  if (validate(args)) return { args };
  return { args, invalid: ajv.errorsText(validate.errors) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deref(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === "string" && hops < 20; hops++) {
    const ref = current.$ref as string;
    if (!ref.startsWith("#")) break;
    let target: unknown = root;
    for (const token of ref.slice(2).split("/").filter(Boolean)) {
      const key = decodeURIComponent(token).replace(/~1/g, "/").replace(/~0/g, "~");
      target = isObject(target) ? target[key] : undefined;
    }
    if (!isObject(target)) break;
    const { $ref: _ref, ...siblings } = current;
    current = { ...target, ...siblings };
  }
  return current;
}

/** allOf folded into one schema: properties and required merged, other keywords first-wins. */
function mergeAllOf(schema: Schema, root: Schema): Schema {
  if (!Array.isArray(schema.allOf)) return schema;
  const { allOf, ...rest } = schema;
  let merged: Schema = { ...rest };
  for (const part of allOf as Schema[]) {
    const sub = mergeAllOf(deref(part, root), root);
    merged = {
      ...sub,
      ...merged,
      properties: { ...(sub.properties as Schema | undefined), ...(merged.properties as Schema | undefined) },
      required: [
        ...new Set([...((sub.required as string[]) ?? []), ...((merged.required as string[]) ?? [])]),
      ],
    };
  }
  return merged;
}

function typeOf(schema: Schema): string {
  const t = schema.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return (t.find((x) => x !== "null") as string | undefined) ?? "null";
  if (isObject(schema.properties) || schema.additionalProperties !== undefined) return "object";
  if (schema.items !== undefined || schema.prefixItems !== undefined) return "array";
  if (typeof schema.minimum === "number" || typeof schema.maximum === "number") return "number";
  return "string";
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return value === null;
  }
}

function sample(input: Schema, root: Schema, depth: number, index = 0): unknown {
  let schema = mergeAllOf(deref(input, root), root);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    const options = schema.enum.filter((v) => v !== null);
    return options.length > 0 ? options[index % options.length] : null;
  }
  for (const key of ["oneOf", "anyOf"] as const) {
    const alternatives = schema[key];
    if (Array.isArray(alternatives) && alternatives.length > 0) {
      const { [key]: _alts, ...siblings } = schema;
      const pick =
        (alternatives as Schema[]).find((a) => deref(a, root).type !== "null") ?? (alternatives[0] as Schema);
      schema = mergeAllOf({ ...siblings, ...deref(pick, root) }, root);
      if ("const" in schema) return schema.const;
    }
  }
  const type = typeOf(schema);
  if (schema.default !== undefined && schema.default !== null && matchesType(schema.default, type)) {
    return schema.default;
  }
  switch (type) {
    case "string":
      return sampleString(schema);
    case "integer":
    case "number":
      return sampleNumber(schema, type === "integer");
    case "boolean":
      return true;
    case "null":
      return null;
    case "array":
      return sampleArray(schema, root, depth);
    default:
      return sampleObject(schema, root, depth);
  }
}

function fitLength(text: string, schema: Schema): string {
  const min = typeof schema.minLength === "number" ? schema.minLength : 0;
  const max = typeof schema.maxLength === "number" ? schema.maxLength : Number.POSITIVE_INFINITY;
  let out = text;
  while (out.length < min) out += "x";
  return out.slice(0, max);
}

function sampleString(schema: Schema): string {
  const format = typeof schema.format === "string" ? schema.format : undefined;
  if (format !== undefined && FORMAT_VALUES[format] !== undefined) return FORMAT_VALUES[format];
  const examples = Array.isArray(schema.examples) ? schema.examples : [];
  const candidates = [
    ...examples.filter((e): e is string => typeof e === "string"),
    ...(typeof schema.example === "string" ? [schema.example] : []),
    ...PATTERN_CANDIDATES,
  ];
  if (typeof schema.pattern === "string") {
    let re: RegExp;
    try {
      re = new RegExp(schema.pattern, "u");
    } catch {
      return fitLength("example", schema);
    }
    for (const candidate of candidates) {
      const fitted = fitLength(candidate, schema);
      if (re.test(fitted)) return fitted;
    }
  }
  return fitLength(candidates[0] ?? "example", schema);
}

function sampleNumber(schema: Schema, integer: boolean): number {
  for (const candidate of [...(Array.isArray(schema.examples) ? schema.examples : []), schema.example]) {
    if (
      typeof candidate === "number" &&
      (!integer || Number.isInteger(candidate)) &&
      inRange(candidate, schema)
    ) {
      return candidate;
    }
  }
  const step = integer ? 1 : 0.5;
  let lo = typeof schema.minimum === "number" ? schema.minimum : undefined;
  if (typeof schema.exclusiveMinimum === "number")
    lo = Math.max(lo ?? -Infinity, schema.exclusiveMinimum + step);
  let hi = typeof schema.maximum === "number" ? schema.maximum : undefined;
  if (typeof schema.exclusiveMaximum === "number")
    hi = Math.min(hi ?? Infinity, schema.exclusiveMaximum - step);
  let value = lo ?? (hi !== undefined ? Math.min(hi, 1) : 1);
  if (integer) value = Math.ceil(value);
  if (typeof schema.multipleOf === "number" && schema.multipleOf > 0) {
    value = Math.ceil(value / schema.multipleOf) * schema.multipleOf;
  }
  return value;
}

function inRange(n: number, schema: Schema): boolean {
  if (typeof schema.minimum === "number" && n < schema.minimum) return false;
  if (typeof schema.maximum === "number" && n > schema.maximum) return false;
  if (typeof schema.exclusiveMinimum === "number" && n <= schema.exclusiveMinimum) return false;
  if (typeof schema.exclusiveMaximum === "number" && n >= schema.exclusiveMaximum) return false;
  if (
    typeof schema.multipleOf === "number" &&
    schema.multipleOf > 0 &&
    !Number.isInteger(n / schema.multipleOf)
  ) {
    return false;
  }
  return true;
}

function sampleArray(schema: Schema, root: Schema, depth: number): unknown[] {
  if (schema.maxItems === 0) return [];
  const count = Math.max(1, typeof schema.minItems === "number" ? schema.minItems : 0);
  const items = isObject(schema.items) ? schema.items : {};
  const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as Schema[]) : [];
  const out: unknown[] = [];
  for (let i = 0; i < Math.max(count, prefix.length); i++) {
    const value = sample(prefix[i] ?? items, root, depth + 1, i);
    // uniqueItems with a fixed value (a const, a single enum): one item is all there can be.
    if (schema.uniqueItems === true && out.some((o) => JSON.stringify(o) === JSON.stringify(value))) break;
    out.push(value);
  }
  return out;
}

function sampleObject(schema: Schema, root: Schema, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = isObject(schema.properties) ? (schema.properties as Record<string, Schema>) : {};
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  if (depth >= MAX_DEPTH) return out;
  for (const [key, sub] of Object.entries(properties)) {
    if (!required.has(key) && depth >= OPTIONAL_DEPTH) continue;
    const resolved = deref(sub, root);
    if (resolved.readOnly === true && !required.has(key)) continue;
    out[key] = sample(sub, root, depth + 1);
  }
  const minProperties = typeof schema.minProperties === "number" ? schema.minProperties : 0;
  for (let i = Object.keys(out).length; i < minProperties; i++) {
    const extra = isObject(schema.additionalProperties) ? schema.additionalProperties : {};
    out[`key${i}`] = sample(extra, root, depth + 1);
  }
  return out;
}
