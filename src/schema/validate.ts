/**
 * A JSON Schema interpreter for tool arguments, built for the Worker: no code
 * generation (`eval`/`new Function` are unavailable), nothing to compile before
 * the first call, and error output meant for an LLM to act on — one issue per bad
 * field, each with a JSON pointer and a short reason.
 *
 * Covers draft 2020-12 as the compiler emits it, plus the draft-4/OpenAPI 3.0
 * spellings real specs still use (`nullable`, boolean `exclusiveMinimum`, tuple
 * `items`): type, enum, const, number ranges, multipleOf, string lengths and
 * patterns, formats (see `formats.ts`), arrays (items, prefixItems, contains,
 * uniqueItems), objects (properties, required, additional/pattern/unevaluated
 * properties, propertyNames, dependencies), allOf/anyOf/oneOf/not/if-then-else
 * and local `$ref` (including cycles through `$defs`).
 *
 * Deliberate deviations, all on the permissive side so valid calls are never blocked:
 * - `oneOf` passes when at least one variant matches. Real specs routinely list
 *   overlapping variants (objects without `additionalProperties: false`), and
 *   rejecting a call that matches two of them would block requests the API accepts.
 * - Remote `$ref`s and `$dynamicRef` are ignored (the compiler inlines or localises refs).
 * - `unevaluatedItems` is not checked.
 *
 * Patterns (`pattern`, `patternProperties` keys) run on RE2 through `pattern.ts`, in time
 * linear in the input; one RE2 cannot express constrains nothing (the compiler dropped it with
 * a warning). Work is bounded per call: values nested deeper than {@link MAX_VALUE_DEPTH} are
 * refused before any walk, and a validation stops after {@link MAX_VALIDATION_STEPS} checks or
 * {@link MAX_PATTERN_CHARS} pattern characters with one root issue saying so.
 *
 * With `coerceJsonStrings`, a string where the schema wants an object or array is
 * parsed as JSON first (several MCP clients send nested arguments that way); the
 * outcome's `value` carries the parsed arguments.
 *
 * Why interpret rather than precompile (`npm run bench:validators`, GitHub's REST
 * spec, Node 22): on the ten largest input schemas (6–25 KiB) one call takes about
 * 11 µs here, 60–140 µs with @cfworker/json-schema and 1–6 µs with ajv-generated
 * code. But ajv would ship as standalone code — 5.6 MiB (383 KiB gzipped) for
 * GitHub's 1,223 operations, 80–125 ms to load at isolate start — and code cannot
 * travel in the JSON-string bundles. Ten microseconds is noise beside an upstream
 * round trip, so the interpreter wins: 6.3 KiB gzipped, nothing per tool, nothing
 * to load. It agrees with ajv on all 538 GitHub cases the benchmark checks.
 *
 * @module
 */
import type { JsonSchema } from "../bundle/types.ts";
import { FORMATS } from "./formats.ts";
import { compilePattern } from "./pattern.ts";

/** One problem with the arguments: where (RFC 6901 pointer, `""` is the root) and why. */
export interface ValidationIssue {
  pointer: string;
  message: string;
}

export interface ValidationOutcome {
  valid: boolean;
  /** The input, with JSON-string arguments parsed when `coerceJsonStrings` was set. */
  value: unknown;
  issues: ValidationIssue[];
}

export interface ValidateOptions {
  /** Parse a JSON string where the schema expects an object or array. Default false. */
  coerceJsonStrings?: boolean;
  /** Treat the root object as `additionalProperties: false` even if the schema allows more. Default false. */
  strictRoot?: boolean;
  /** Stop collecting after this many issues. Default 50. */
  maxIssues?: number;
  /**
   * Refuse `integer` values beyond ±(2^53 − 1): `JSON.parse` has already rounded them, so
   * they would reach the API changed. For arguments; responses keep what they got. Default false.
   */
  exactIntegers?: boolean;
}

/** Bounds recursion: a `$ref` loop that never descends into the value, or absurdly deep input. */
const MAX_DEPTH = 256;
/**
 * Value nesting refused before anything walks it: deeper than real API data, and far
 * below what recursive code after validation (serializers, JSON.stringify) survives.
 */
const MAX_VALUE_DEPTH = 128;
/**
 * Subschema checks one validation may make (~100× a large real call; tens of ms of CPU):
 * nested anyOf/oneOf retries multiply, so a hostile value could otherwise cost without bound.
 */
const MAX_VALIDATION_STEPS = 200_000;
/**
 * Characters one validation may match against patterns: two full request bodies
 * (4 MiB each), so a single large string is always checked even if an anyOf tries it twice;
 * RE2 takes ~40 ns a character, so at most ~0.3 s.
 */
const MAX_PATTERN_CHARS = 8 * 1024 * 1024;
const DEFAULT_MAX_ISSUES = 50;
/** How many allowed names/values an error message lists before eliding the rest. */
const MAX_LISTED = 25;

type Schema = { [key: string]: unknown };

interface Ctx {
  root: unknown;
  issues: ValidationIssue[];
  coerce: boolean;
  /**
   * Only "does it pass?" matters (trying anyOf/oneOf variants, `not`, `if`):
   * stop at the first problem and build no messages. Valid input then costs one
   * pass; only failing input pays for a second, reporting pass.
   */
  quiet: boolean;
  maxIssues: number;
  depth: number;
  exactIntegers: boolean;
  /** Checks left before the work budget is spent ({@link MAX_VALIDATION_STEPS}). */
  steps: number;
  /** Pattern input characters left ({@link MAX_PATTERN_CHARS}). */
  patternChars: number;
  /** A budget ran out: everything stops, and the outcome says so. */
  exhausted: boolean;
}

/** The issue recorded in quiet mode: its content is never read. */
const QUIET_ISSUE: ValidationIssue = { pointer: "", message: "" };

/** Validates `value` against `schema`. Never throws on bad input; schema defects are tolerated. */
export function validate(
  schema: JsonSchema | boolean,
  value: unknown,
  options: ValidateOptions = {},
): ValidationOutcome {
  let root: unknown = schema;
  if (options.strictRoot && isObject(schema) && schema.additionalProperties === undefined) {
    root = { ...schema, additionalProperties: false };
  }
  const ctx: Ctx = {
    root: schema,
    issues: [],
    coerce: options.coerceJsonStrings ?? false,
    quiet: false,
    maxIssues: options.maxIssues ?? DEFAULT_MAX_ISSUES,
    depth: 0,
    exactIntegers: options.exactIntegers ?? false,
    steps: MAX_VALIDATION_STEPS,
    patternChars: MAX_PATTERN_CHARS,
    exhausted: false,
  };
  const tooDeep = nestedTooDeep(value);
  if (tooDeep !== undefined) {
    return {
      valid: false,
      value,
      issues: [{ pointer: tooDeep, message: `is nested more than ${MAX_VALUE_DEPTH} levels deep` }],
    };
  }
  const out = check(root, value, "", ctx, undefined);
  if (ctx.exhausted) {
    const message = `is too large or complex to validate (over ${MAX_VALIDATION_STEPS.toLocaleString("en-US")} checks or ${MAX_PATTERN_CHARS.toLocaleString("en-US")} characters matched against patterns)`;
    return { valid: false, value, issues: [{ pointer: "", message }] };
  }
  return { valid: ctx.issues.length === 0, value: out, issues: ctx.issues };
}

/**
 * Where `value` nests deeper than {@link MAX_VALUE_DEPTH} (the top-level member it is
 * under), or `undefined`. Iterative: the input itself may be deep enough to overflow a
 * recursive walk.
 */
function nestedTooDeep(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const stack: { node: unknown; depth: number; top: string }[] = [{ node: value, depth: 0, top: "" }];
  while (stack.length > 0) {
    const { node, depth, top } = stack.pop()!;
    if (depth > MAX_VALUE_DEPTH) return top;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item = node[i];
        if (typeof item === "object" && item !== null)
          stack.push({ node: item, depth: depth + 1, top: depth === 0 ? `/${i}` : top });
      }
    } else if (typeof node === "object" && node !== null) {
      for (const key in node) {
        const item = (node as Record<string, unknown>)[key];
        if (typeof item === "object" && item !== null)
          stack.push({ node: item, depth: depth + 1, top: depth === 0 ? child("", key) : top });
      }
    }
  }
  return undefined;
}

/** Escapes one JSON pointer reference token. */
export function pointerToken(key: string): string {
  if (!key.includes("~") && !key.includes("/")) return key;
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function child(ptr: string, key: string | number): string {
  return `${ptr}/${typeof key === "number" ? key : pointerToken(key)}`;
}

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function push(ctx: Ctx, pointer: string, message: string): void {
  if (ctx.quiet) ctx.issues.push(QUIET_ISSUE);
  else if (ctx.issues.length < ctx.maxIssues) ctx.issues.push({ pointer, message });
}

/** `push` for messages that cost something to build (listing allowed values). */
function pushLazy(ctx: Ctx, pointer: string, message: () => string): void {
  push(ctx, pointer, ctx.quiet ? "" : message());
}

/** In quiet mode, one problem settles the outcome: callers stop looking. A spent budget settles everything. */
function settled(ctx: Ctx): boolean {
  return ctx.exhausted || (ctx.quiet && ctx.issues.length > 0);
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function hasType(v: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "boolean":
      return typeof v === "boolean";
    case "null":
      return v === null;
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    default:
      // Unknown type names (Swagger `file`, say) constrain nothing.
      return true;
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function listValues(values: unknown[]): string {
  const shown = values.slice(0, MAX_LISTED).map(show).join(", ");
  return values.length > MAX_LISTED ? `${shown}, … (${values.length} in all)` : shown;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a as object);
  const bo = b as Record<string, unknown>;
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && deepEqual((a as Record<string, unknown>)[k], bo[k]));
}

/** Canonical JSON (sorted keys) so equal values get equal strings, for `uniqueItems`. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Length in code points, as JSON Schema counts it; only pays for the scan when it can matter. */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Does `s` match the spec pattern? `undefined` when the pattern cannot run on RE2 (the
 * compiler dropped it with a warning; it is never run natively) or the budget is spent.
 */
function matchesPattern(source: string, s: string, ctx: Ctx): boolean | undefined {
  const compiled = compilePattern(source);
  if (!compiled.ok) return undefined;
  ctx.patternChars -= s.length;
  if (ctx.patternChars < 0) {
    ctx.exhausted = true;
    return undefined;
  }
  return compiled.re.test(s);
}

const refCache = new WeakMap<object, Map<string, unknown>>();

function resolveRef(ref: string, ctx: Ctx): unknown {
  if (!ref.startsWith("#")) return undefined;
  const root = ctx.root;
  if (typeof root !== "object" || root === null) return undefined;
  let cache = refCache.get(root);
  if (!cache) {
    cache = new Map();
    refCache.set(root, cache);
  }
  if (cache.has(ref)) return cache.get(ref);
  let node: unknown = root;
  const fragment = ref.slice(1);
  if (fragment !== "") {
    let decoded: string;
    try {
      decoded = decodeURIComponent(fragment);
    } catch {
      decoded = fragment;
    }
    for (const raw of decoded.split("/").slice(1)) {
      const token = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (Array.isArray(node)) node = node[Number(token)];
      else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
      else {
        node = undefined;
        break;
      }
    }
  }
  cache.set(ref, node);
  return node;
}

/** `type` allows integers but not other numbers (the type check has already passed). */
function isIntegerOnly(types: string[] | undefined): boolean {
  return types?.includes("integer") === true && !types.includes("number");
}

function typeList(schema: Schema): string[] | undefined {
  const t = schema.type;
  if (typeof t === "string") return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === "string");
  return undefined;
}

/** Does this schema want an object or array, so a JSON string in its place should be parsed? */
function wantsContainer(schema: Schema): { object: boolean; array: boolean } {
  const types = typeList(schema);
  if (types) {
    if (types.includes("string")) return { object: false, array: false };
    return { object: types.includes("object"), array: types.includes("array") };
  }
  return {
    object: schema.properties !== undefined || schema.additionalProperties !== undefined,
    array: schema.items !== undefined || schema.prefixItems !== undefined,
  };
}

function coerceJsonString(schema: Schema, value: string): unknown {
  const want = wantsContainer(schema);
  if (!want.object && !want.array) return value;
  const text = value.trim();
  if (!((want.object && text.startsWith("{")) || (want.array && text.startsWith("[")))) return value;
  try {
    const parsed: unknown = JSON.parse(text);
    if ((want.object && isObject(parsed)) || (want.array && Array.isArray(parsed))) return parsed;
  } catch {
    // Not JSON after all: the type check reports it.
  }
  return value;
}

/**
 * Checks one value against one schema, pushing issues into `ctx.issues`.
 * Returns the value, replaced (copy-on-write) where JSON strings were parsed.
 * `evaluated` collects property names this schema evaluated, for `unevaluatedProperties`.
 */
function check(
  schema: unknown,
  value: unknown,
  ptr: string,
  ctx: Ctx,
  evaluated: Set<string> | undefined,
): unknown {
  if (schema === false) {
    push(ctx, ptr, "is not allowed here");
    return value;
  }
  if (!isObject(schema) || ctx.exhausted) return value;
  if (--ctx.steps < 0) {
    ctx.exhausted = true;
    return value;
  }
  if (ctx.depth >= MAX_DEPTH) {
    push(ctx, ptr, "is nested too deeply to validate");
    return value;
  }
  ctx.depth++;
  try {
    return checkSchema(schema, value, ptr, ctx, evaluated);
  } finally {
    ctx.depth--;
  }
}

function checkSchema(
  schema: Schema,
  input: unknown,
  ptr: string,
  ctx: Ctx,
  parentEvaluated: Set<string> | undefined,
): unknown {
  let value = input;
  if (value === null && schema.nullable === true) return value;

  const ownEvaluated =
    schema.unevaluatedProperties !== undefined && isObject(value) ? new Set<string>() : undefined;
  const evaluated = ownEvaluated ?? parentEvaluated;

  if (typeof schema.$ref === "string") {
    const target = resolveRef(schema.$ref, ctx);
    if (target !== undefined) value = check(target, value, ptr, ctx, evaluated);
  }

  if (ctx.coerce && typeof value === "string") {
    const coerced = coerceJsonString(schema, value);
    // Parsed here, after the up-front depth check: check what the string held.
    if (coerced !== value && nestedTooDeep(coerced) !== undefined) {
      push(ctx, ptr, `is nested more than ${MAX_VALUE_DEPTH} levels deep`);
      return value;
    }
    value = coerced;
  }

  const types = typeList(schema);
  if (types && types.length > 0 && !types.some((t) => hasType(value, t))) {
    // Only a string that was tried as JSON (arguments) is "not valid JSON"; in a response it is just a string.
    const hint =
      ctx.coerce && typeof value === "string" && (types.includes("object") || types.includes("array"))
        ? " that is not valid JSON"
        : "";
    push(ctx, ptr, `must be ${types.join(" or ")} (got ${jsonType(value)}${hint})`);
    return value;
  }
  if (
    ctx.exactIntegers &&
    typeof value === "number" &&
    !Number.isSafeInteger(value) &&
    isIntegerOnly(types)
  ) {
    push(
      ctx,
      ptr,
      `must be an integer from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}: a larger JSON number has already lost digits and would reach the API changed (got ${value})`,
    );
    return value;
  }

  if (schema.const !== undefined && !deepEqual(value, schema.const)) {
    pushLazy(ctx, ptr, () => `must be ${show(schema.const)}`);
  }
  const allowed = schema.enum;
  if (Array.isArray(allowed) && !allowed.some((e) => deepEqual(value, e))) {
    pushLazy(ctx, ptr, () => `must be one of: ${listValues(allowed)}`);
  }
  if (settled(ctx)) return value;

  if (typeof value === "number") checkNumber(schema, value, ptr, ctx);
  else if (typeof value === "string") checkString(schema, value, ptr, ctx);
  else if (Array.isArray(value)) value = checkArray(schema, value, ptr, ctx);
  else if (isObject(value)) value = checkObject(schema, value, ptr, ctx, evaluated);

  if (typeof schema.format === "string") {
    // Own keys only: a spec's `format: "constructor"` must not call Object.prototype's member.
    const verdict = Object.hasOwn(FORMATS, schema.format) ? FORMATS[schema.format]?.(value) : undefined;
    if (verdict === false) push(ctx, ptr, `must be a valid ${schema.format}`);
  }
  if (settled(ctx)) return value;

  if (Array.isArray(schema.allOf)) {
    for (const sub of schema.allOf) value = check(sub, value, ptr, ctx, evaluated);
  }
  if (Array.isArray(schema.anyOf))
    value = checkAlternatives(schema, schema.anyOf, "anyOf", value, ptr, ctx, evaluated);
  if (Array.isArray(schema.oneOf))
    value = checkAlternatives(schema, schema.oneOf, "oneOf", value, ptr, ctx, evaluated);
  if (schema.not !== undefined && passes(schema.not, value, ptr, ctx, false)) {
    push(ctx, ptr, "must not match the excluded schema");
  }
  if (schema.if !== undefined) {
    const branch = passes(schema.if, value, ptr, ctx, ctx.coerce) ? schema.then : schema.else;
    if (branch !== undefined) value = check(branch, value, ptr, ctx, evaluated);
  }

  if (ownEvaluated && isObject(value)) {
    value = checkUnevaluated(schema, value, ptr, ctx, ownEvaluated);
    if (parentEvaluated) for (const k of ownEvaluated) parentEvaluated.add(k);
  }
  return value;
}

function checkNumber(schema: Schema, n: number, ptr: string, ctx: Ctx): void {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = schema;
  if (typeof minimum === "number") {
    if (exclusiveMinimum === true ? n <= minimum : n < minimum) {
      push(ctx, ptr, `must be ${exclusiveMinimum === true ? ">" : ">="} ${minimum} (got ${n})`);
    }
  }
  if (typeof maximum === "number") {
    if (exclusiveMaximum === true ? n >= maximum : n > maximum) {
      push(ctx, ptr, `must be ${exclusiveMaximum === true ? "<" : "<="} ${maximum} (got ${n})`);
    }
  }
  if (typeof exclusiveMinimum === "number" && n <= exclusiveMinimum) {
    push(ctx, ptr, `must be > ${exclusiveMinimum} (got ${n})`);
  }
  if (typeof exclusiveMaximum === "number" && n >= exclusiveMaximum) {
    push(ctx, ptr, `must be < ${exclusiveMaximum} (got ${n})`);
  }
  if (typeof multipleOf === "number" && multipleOf > 0 && !isMultipleOf(n, multipleOf)) {
    push(ctx, ptr, `must be a multiple of ${multipleOf} (got ${n})`);
  }
}

function isMultipleOf(n: number, m: number): boolean {
  if (Number.isInteger(n) && Number.isInteger(m)) return n % m === 0;
  // Decimal steps (0.01) are not exact in binary floating point: compare with a tolerance.
  const q = n / m;
  if (!Number.isFinite(q)) return false;
  return Math.abs(q - Math.round(q)) <= 1e-9 * Math.max(1, Math.abs(q));
}

function checkString(schema: Schema, s: string, ptr: string, ctx: Ctx): void {
  const { minLength, maxLength, pattern } = schema;
  // s.length counts UTF-16 units, an upper bound on code points; only scan when that bound is not enough.
  if (typeof minLength === "number" && s.length < minLength * 2 && codePoints(s) < minLength) {
    push(ctx, ptr, `must be at least ${minLength} characters long`);
  }
  if (typeof maxLength === "number" && s.length > maxLength && codePoints(s) > maxLength) {
    push(ctx, ptr, `must be at most ${maxLength} characters long`);
  }
  if (typeof pattern === "string" && matchesPattern(pattern, s, ctx) === false) {
    push(ctx, ptr, `must match the pattern ${pattern}`);
  }
}

function checkArray(schema: Schema, input: unknown[], ptr: string, ctx: Ctx): unknown[] {
  let arr = input;
  const set = (i: number, v: unknown) => {
    if (v === arr[i]) return;
    if (arr === input) arr = input.slice();
    arr[i] = v;
  };
  const { minItems, maxItems, uniqueItems, items, prefixItems, additionalItems, contains } = schema;
  if (typeof minItems === "number" && arr.length < minItems) {
    push(ctx, ptr, `must contain at least ${minItems} item${minItems === 1 ? "" : "s"}`);
  }
  if (typeof maxItems === "number" && arr.length > maxItems) {
    push(ctx, ptr, `must contain at most ${maxItems} item${maxItems === 1 ? "" : "s"}`);
  }
  let tuple: unknown[] | undefined;
  let rest: unknown;
  if (Array.isArray(prefixItems)) {
    tuple = prefixItems;
    rest = items;
  } else if (Array.isArray(items)) {
    tuple = items;
    rest = additionalItems;
  } else {
    rest = items;
  }
  for (let i = 0; i < arr.length && !settled(ctx); i++) {
    const sub = tuple && i < tuple.length ? tuple[i] : rest;
    if (sub !== undefined) set(i, check(sub, arr[i], child(ptr, i), ctx, undefined));
  }
  if (contains !== undefined) {
    let matches = 0;
    for (const item of arr) if (passes(contains, item, ptr, ctx, false)) matches++;
    const min = typeof schema.minContains === "number" ? schema.minContains : 1;
    const max = typeof schema.maxContains === "number" ? schema.maxContains : undefined;
    if (matches < min) push(ctx, ptr, `must contain at least ${min} matching item${min === 1 ? "" : "s"}`);
    if (max !== undefined && matches > max) push(ctx, ptr, `must contain at most ${max} matching items`);
  }
  if (uniqueItems === true && arr.length > 1) {
    const seen = new Map<string, number>();
    for (let i = 0; i < arr.length; i++) {
      const key = canonical(arr[i]);
      const first = seen.get(key);
      if (first !== undefined) {
        push(ctx, ptr, `must not contain duplicates (items ${first} and ${i} are equal)`);
        break;
      }
      seen.set(key, i);
    }
  }
  return arr;
}

function checkObject(
  schema: Schema,
  input: Record<string, unknown>,
  ptr: string,
  ctx: Ctx,
  evaluated: Set<string> | undefined,
): Record<string, unknown> {
  let obj = input;
  const set = (k: string, v: unknown) => {
    if (v === obj[k]) return;
    if (obj === input) obj = { ...input };
    obj[k] = v;
  };
  const properties = isObject(schema.properties) ? schema.properties : undefined;
  const patternProperties = isObject(schema.patternProperties) ? schema.patternProperties : undefined;
  const { additionalProperties, required, minProperties, maxProperties, propertyNames } = schema;

  if (Array.isArray(required)) {
    for (const name of required) {
      if (typeof name === "string" && (!Object.hasOwn(obj, name) || obj[name] === undefined)) {
        push(ctx, child(ptr, name), "is required");
      }
    }
  }
  const keys = Object.keys(obj);
  if (typeof minProperties === "number" && keys.length < minProperties) {
    push(ctx, ptr, `must have at least ${minProperties} propert${minProperties === 1 ? "y" : "ies"}`);
  }
  if (typeof maxProperties === "number" && keys.length > maxProperties) {
    push(ctx, ptr, `must have at most ${maxProperties} propert${maxProperties === 1 ? "y" : "ies"}`);
  }

  const patterns = patternProperties ? Object.keys(patternProperties) : undefined;
  for (const key of keys) {
    if (settled(ctx)) return obj;
    const at = child(ptr, key);
    if (propertyNames !== undefined && !passes(propertyNames, key, at, ctx, false)) {
      push(ctx, at, "is not an allowed property name");
    }
    let matched = false;
    if (properties && Object.hasOwn(properties, key)) {
      matched = true;
      set(key, check(properties[key], obj[key], at, ctx, undefined));
    }
    if (patterns) {
      for (const p of patterns) {
        if (matchesPattern(p, key, ctx)) {
          matched = true;
          set(key, check(patternProperties![p], obj[key], at, ctx, undefined));
        }
      }
    }
    if (!matched && additionalProperties !== undefined) {
      if (additionalProperties === false) {
        pushLazy(ctx, at, () => unknownFieldMessage(properties));
      } else {
        set(key, check(additionalProperties, obj[key], at, ctx, undefined));
      }
      matched = true;
    }
    if (matched) evaluated?.add(key);
  }

  const dependentRequired = isObject(schema.dependentRequired) ? schema.dependentRequired : undefined;
  const dependentSchemas = isObject(schema.dependentSchemas) ? schema.dependentSchemas : undefined;
  const dependencies = isObject(schema.dependencies) ? schema.dependencies : undefined;
  for (const source of [dependentRequired, dependentSchemas, dependencies]) {
    if (!source) continue;
    for (const [name, dep] of Object.entries(source)) {
      if (!Object.hasOwn(obj, name)) continue;
      if (Array.isArray(dep)) {
        for (const other of dep) {
          if (typeof other === "string" && !Object.hasOwn(obj, other)) {
            push(ctx, child(ptr, other), `is required when ${name} is present`);
          }
        }
      } else {
        obj = check(dep, obj, ptr, ctx, evaluated) as Record<string, unknown>;
      }
    }
  }
  return obj;
}

function unknownFieldMessage(properties: Schema | undefined): string {
  const names = properties ? Object.keys(properties) : [];
  if (names.length === 0) return "is not allowed (unknown field)";
  const listed = names.slice(0, MAX_LISTED).join(", ");
  return `is not allowed (unknown field; expected one of: ${listed}${names.length > MAX_LISTED ? ", …" : ""})`;
}

function checkUnevaluated(
  schema: Schema,
  input: Record<string, unknown>,
  ptr: string,
  ctx: Ctx,
  evaluated: Set<string>,
): Record<string, unknown> {
  let obj = input;
  for (const key of Object.keys(obj)) {
    if (evaluated.has(key)) continue;
    const at = child(ptr, key);
    if (schema.unevaluatedProperties === false) {
      push(ctx, at, "is not allowed (unknown field)");
    } else {
      const v = check(schema.unevaluatedProperties, obj[key], at, ctx, undefined);
      if (v !== obj[key]) obj = { ...obj, [key]: v };
    }
    evaluated.add(key);
  }
  return obj;
}

/** Runs a subschema without reporting: did it pass? */
function passes(schema: unknown, value: unknown, ptr: string, ctx: Ctx, coerce: boolean): boolean {
  const saved = ctx.issues;
  const savedCoerce = ctx.coerce;
  const savedQuiet = ctx.quiet;
  ctx.issues = [];
  ctx.coerce = coerce;
  ctx.quiet = true;
  try {
    check(schema, value, ptr, ctx, undefined);
    return ctx.issues.length === 0;
  } finally {
    ctx.issues = saved;
    ctx.coerce = savedCoerce;
    ctx.quiet = savedQuiet;
  }
}

interface Attempt {
  index: number;
  value: unknown;
  issues: ValidationIssue[];
  evaluated: Set<string> | undefined;
}

function tryVariant(
  sub: unknown,
  index: number,
  value: unknown,
  ptr: string,
  ctx: Ctx,
  track: boolean,
): Attempt {
  const saved = ctx.issues;
  ctx.issues = [];
  const evaluated = track ? new Set<string>() : undefined;
  try {
    const out = check(sub, value, ptr, ctx, evaluated);
    return { index, value: out, issues: ctx.issues, evaluated };
  } finally {
    ctx.issues = saved;
  }
}

/**
 * anyOf / oneOf. Tries every variant without JSON-string coercion first (so a
 * string variant wins over parsing), then with coercion. On failure, reports the
 * problems of the closest variant so the caller learns which fields to fix.
 */
function checkAlternatives(
  schema: Schema,
  variants: unknown[],
  keyword: "anyOf" | "oneOf",
  value: unknown,
  ptr: string,
  ctx: Ctx,
  evaluated: Set<string> | undefined,
): unknown {
  const savedCoerce = ctx.coerce;
  const savedQuiet = ctx.quiet;
  const passesToTry = savedCoerce ? [false, true] : [false];
  let failures: Attempt[] = [];
  try {
    ctx.quiet = true;
    for (const coerce of passesToTry) {
      ctx.coerce = coerce;
      let winner: Attempt | undefined;
      for (let i = 0; i < variants.length; i++) {
        const attempt = tryVariant(variants[i], i, value, ptr, ctx, evaluated !== undefined);
        if (attempt.issues.length === 0) {
          if (!winner) winner = attempt;
          if (attempt.evaluated && evaluated) for (const k of attempt.evaluated) evaluated.add(k);
          // Without annotation tracking the first match decides; no need to try the rest.
          if (!evaluated) break;
        }
      }
      if (winner) return winner.value;
    }
    if (savedQuiet) {
      push(ctx, ptr, "");
      return value;
    }
    // Nothing matched: run again, reporting, to say what is wrong with the closest variant.
    ctx.quiet = false;
    ctx.coerce = savedCoerce;
    failures = variants.map((v, i) => tryVariant(v, i, value, ptr, ctx, false));
  } finally {
    ctx.coerce = savedCoerce;
    ctx.quiet = savedQuiet;
  }
  reportClosest(schema, variants, keyword, failures, value, ptr, ctx);
  return value;
}

function variantTypes(sub: unknown, ctx: Ctx, depth = 0): string[] | undefined {
  if (!isObject(sub) || depth > 8) return undefined;
  const own = typeList(sub);
  if (own) return own;
  if (typeof sub.$ref === "string") return variantTypes(resolveRef(sub.$ref, ctx), ctx, depth + 1);
  return undefined;
}

/** With a discriminator, the variant the value names (by mapping, `$ref` name or property const). */
function discriminatedVariant(
  schema: Schema,
  variants: unknown[],
  value: unknown,
  ctx: Ctx,
): number | undefined {
  const d = schema.discriminator;
  if (!isObject(d) || typeof d.propertyName !== "string" || !isObject(value)) return undefined;
  const tag = value[d.propertyName];
  if (typeof tag !== "string") return undefined;
  const mapped = isObject(d.mapping) && typeof d.mapping[tag] === "string" ? d.mapping[tag] : undefined;
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i];
    if (!isObject(v)) continue;
    if (typeof v.$ref === "string" && (v.$ref === mapped || v.$ref.endsWith(`/${tag}`))) return i;
    const target = typeof v.$ref === "string" ? resolveRef(v.$ref, ctx) : v;
    const prop =
      isObject(target) && isObject(target.properties) ? target.properties[d.propertyName] : undefined;
    if (isObject(prop) && (prop.const === tag || (Array.isArray(prop.enum) && prop.enum.includes(tag))))
      return i;
  }
  return undefined;
}

function reportClosest(
  schema: Schema,
  variants: unknown[],
  keyword: "anyOf" | "oneOf",
  failures: Attempt[],
  value: unknown,
  ptr: string,
  ctx: Ctx,
): void {
  const chosen = discriminatedVariant(schema, variants, value, ctx);
  let candidates = failures;
  if (chosen !== undefined) {
    candidates = failures.filter((f) => f.index === chosen);
  } else {
    const typed = failures.filter((f) => {
      const t = variantTypes(variants[f.index], ctx);
      return !t || t.some((x) => hasType(value, x));
    });
    if (typed.length === 0) {
      const all = new Set<string>();
      for (const v of variants) for (const t of variantTypes(v, ctx) ?? []) all.add(t);
      push(ctx, ptr, `must be ${[...all].join(" or ")} (got ${jsonType(value)})`);
      return;
    }
    candidates = typed;
  }
  const best = candidates.reduce((a, b) => (b.issues.length < a.issues.length ? b : a));
  if (candidates.length > 1) {
    push(
      ctx,
      ptr,
      `must match one of ${variants.length} allowed variants (${keyword}); problems with the closest one follow`,
    );
  }
  for (const issue of best.issues) push(ctx, issue.pointer, issue.message);
}
