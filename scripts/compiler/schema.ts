/**
 * OpenAPI schemas → JSON Schema 2020-12 for tool inputs, outputs and response
 * validation.
 *
 * References are inlined unless they are part of a cycle or large: those stay
 * `$ref: "#/$defs/<name>"` (inside the tool schema for inputs and outputs, in
 * the bundle's shared `schemas` table for response validation). Cycles are
 * found once, up front, as strongly connected components of the reference
 * graph (Tarjan), so conversion never recurses into a cycle.
 *
 * Output schemas (`outputSchema` in tools/list) are converted TOLERANT, unlike
 * input and validation schemas. MCP clients check every structured result against
 * the advertised schema and fail the whole call when it does not match (the v1
 * SDK's `callTool` and the Inspector answer -32602), while real APIs return more
 * than their specs admit: extra fields, "required" fields left out, nulls
 * everywhere, values outside the documented enums, formats and limits. So an
 * output schema keeps the shape (types, properties, items, composition) and the
 * descriptions, and drops what only constrains values: `required`,
 * `additionalProperties: false`, formats, patterns, length and range limits,
 * `enum`/`const`, `not`/`if`, readOnly/writeOnly flags; every type also allows
 * `null`; `oneOf` becomes `anyOf` (loose variants overlap, and exactly-one would
 * then fail); properties the gateway may redact (src/redaction/sanitize.ts)
 * accept any value, since `"[REDACTED]"` replaces whatever they held. The
 * Worker still checks bodies against it and never sends structured content that
 * does not match (src/upstream/response.ts); response validation
 * (`RESPONSE_VALIDATION_MODE`) keeps the full documented schema.
 *
 * @module
 */
import type { JsonSchema } from "../../src/bundle/types.ts";
import { isSensitiveKey } from "../../src/redaction/sanitize.ts";
import { compilePattern } from "../../src/schema/pattern.ts";
import { htmlToMarkdown, stripHtmlComments } from "./html.ts";
import {
  fragmentFromPointer,
  getByPointer,
  isObject,
  joinPointer,
  pointerFromFragment,
  tokensFromPointer,
} from "./pointer.ts";

/** What a converted schema is for: annotations matter to clients, not to validators. */
export type SchemaPurpose = "input" | "output" | "validation";

/** A referenced schema bigger than this is kept as a `$ref` into `$defs` instead of inlined (input/output). */
export const INLINE_REF_MAX_BYTES = 16 * 1024;
/** A referenced response schema bigger than this goes to the bundle's shared `schemas` table (response validation). */
export const SHARED_SCHEMA_MIN_BYTES = 512;
/** Schema nesting followed before giving up on an operation (guards hostile specs). */
export const MAX_SCHEMA_DEPTH = 100;
/** Description length kept in tool schemas (tools/list budget; the spec keeps the full text). */
export const SCHEMA_DESCRIPTION_MAX_CHARS = 1_000;

/** The schema cannot be converted; the operation using it is skipped with this reason. */
export class SchemaError extends Error {
  readonly pointer: string;
  constructor(pointer: string, message: string) {
    super(message);
    this.name = "SchemaError";
    this.pointer = pointer;
  }
}

export interface Converted {
  schema: JsonSchema | boolean;
  /** Pointers of schemas referenced as `#/$defs/<name>` (directly or through inlined schemas). */
  defs: Set<string>;
}

interface Entry extends Converted {
  size: number;
}

export interface ConverterWarning {
  pointer: string;
  message: string;
}

const SUBSCHEMA = new Set([
  "additionalProperties",
  "unevaluatedProperties",
  "propertyNames",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "unevaluatedItems",
  "contentSchema",
]);
const SUBSCHEMA_ARRAYS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
const SUBSCHEMA_MAPS = new Set(["properties", "patternProperties", "dependentSchemas"]);
const COPIED = new Set([
  "type",
  "enum",
  "const",
  "multipleOf",
  "maximum",
  "minimum",
  "maxLength",
  "minLength",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxContains",
  "minContains",
  "maxProperties",
  "minProperties",
  "dependentRequired",
  "format",
  "contentEncoding",
  "contentMediaType",
]);
const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
  "examples",
]);
/** What tolerant output schemas leave out: constraints on values, not their shape (see the module doc). */
const OUTPUT_DROPPED = new Set([
  "required",
  "enum",
  "const",
  "format",
  "pattern",
  "multipleOf",
  "maximum",
  "minimum",
  "exclusiveMaximum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "maxItems",
  "minItems",
  "uniqueItems",
  "contains",
  "maxContains",
  "minContains",
  "maxProperties",
  "minProperties",
  "propertyNames",
  "dependentRequired",
  "dependentSchemas",
  "not",
  "if",
  "then",
  "else",
  "unevaluatedProperties",
  "unevaluatedItems",
  "readOnly",
  "writeOnly",
]);
const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);

/** Siblings of a 3.0 `$ref` honoured anyway (widely used though the spec says siblings are ignored). */
const REF_SIBLING_ANNOTATIONS = new Set([
  "description",
  "title",
  "example",
  "examples",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

const INVISIBLE_CHARACTERS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

/**
 * Removes HTML comments (a classic place to hide instructions) and invisible and control
 * characters, turns HTML into Markdown (Stripe's `<p>…</p>`; see html.ts) and caps length.
 */
export function cleanText(text: string, max: number): string {
  const cleaned = htmlToMarkdown(stripHtmlComments(text))
    .replace(INVISIBLE_CHARACTERS, "")
    .replace(/\r\n?/g, "\n")
    .trim();
  if (cleaned.length <= max) return cleaned;
  return `${cleaned.slice(0, max - 1).trimEnd()}…`;
}

export class SchemaConverter {
  readonly #doc: unknown;
  readonly #dialect: "3.0" | "3.1";
  readonly #warn: (warning: ConverterWarning) => void;
  readonly #memo = new Map<SchemaPurpose, Map<string, Entry>>([
    ["input", new Map()],
    ["output", new Map()],
    ["validation", new Map()],
  ]);
  readonly #names = new Map<string, string>();
  readonly #usedNames = new Set<string>();
  // Tarjan state (kept across calls: later DFS roots reuse finished components).
  readonly #index = new Map<string, number>();
  readonly #lowlink = new Map<string, number>();
  readonly #cyclic = new Map<string, boolean>();
  readonly #edges = new Map<string, string[]>();
  #counter = 0;
  readonly #warned = new Set<string>();
  /** Converted schema object → the pointer it was converted from (names for shared subschemas). */
  readonly #origins = new WeakMap<object, string>();

  constructor(doc: unknown, dialect: "3.0" | "3.1", warn: (warning: ConverterWarning) => void) {
    this.#doc = doc;
    this.#dialect = dialect;
    this.#warn = warn;
  }

  /**
   * The operation whose schemas are being converted (from the root pointer of `convert`),
   * so a dropped pattern names where it bites. Shared schemas are converted once: the
   * warning names the first operation that used them.
   */
  #operation: string | undefined;

  #usedBy(): string {
    return this.#operation === undefined ? "" : ` (first used by ${this.#operation})`;
  }

  #enterOperation(pointer: string) {
    const tokens = tokensFromPointer(pointer);
    this.#operation =
      tokens?.[0] === "paths" && tokens.length >= 3 ? `${tokens[2]!.toUpperCase()} ${tokens[1]}` : undefined;
  }

  #warnOnce(pointer: string, message: string) {
    const key = `${pointer}\u0000${message}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn({ pointer, message });
  }

  /** The value a local `$ref` points to. */
  lookup(ref: string, from: string): { pointer: string; value: unknown } {
    const pointer = ref.startsWith("#") ? pointerFromFragment(ref) : undefined;
    if (pointer === undefined) throw new SchemaError(from, `$ref "${ref}" is not a local JSON pointer`);
    const found = getByPointer(this.#doc, pointer);
    if (!found.found) throw new SchemaError(from, `$ref "${ref}" points nowhere`);
    return { pointer, value: found.value };
  }

  /** Follows `$ref` chains (parameters, bodies, responses, path items): the object and where it lives. */
  resolve(value: unknown, pointer: string): { pointer: string; value: unknown } {
    let current = { pointer, value };
    const seen = new Set<string>();
    while (isObject(current.value) && typeof current.value.$ref === "string") {
      if (seen.has(current.pointer))
        throw new SchemaError(pointer, "$ref chain loops without reaching a value");
      seen.add(current.pointer);
      current = this.lookup(current.value.$ref, current.pointer);
    }
    return current;
  }

  /** `#/$defs/<name>` name for a schema pointer: unique per vendor, stable for the same input. */
  defName(pointer: string): string {
    const existing = this.#names.get(pointer);
    if (existing) return existing;
    const tokens = tokensFromPointer(pointer) ?? [];
    const isComponent =
      tokens.length === 3 && tokens[0] === "components" && tokens[1] === "schemas" && tokens[2] !== undefined;
    const raw = isComponent ? tokens[2]! : tokens.slice(-2).join("_");
    const base =
      raw
        .replace(/[^A-Za-z0-9_.-]+/g, "_")
        .replace(/^_+|_+$/g, "")
        .slice(0, 100) || "schema";
    let name = base;
    for (let n = 2; this.#usedNames.has(name); n++) name = `${base}_${n}`;
    this.#usedNames.add(name);
    this.#names.set(pointer, name);
    return name;
  }

  /** Is the schema at `pointer` part of a reference cycle? */
  isCyclic(pointer: string): boolean {
    if (!this.#cyclic.has(pointer)) this.#tarjan(pointer);
    return this.#cyclic.get(pointer) ?? false;
  }

  #edgesOf(pointer: string): string[] {
    let edges = this.#edges.get(pointer);
    if (edges) return edges;
    edges = [];
    const found = getByPointer(this.#doc, pointer);
    if (found.found) {
      const stack: { node: unknown; pointer: string }[] = [{ node: found.value, pointer }];
      while (stack.length > 0) {
        const { node, pointer: at } = stack.pop()!;
        if (!isObject(node)) continue;
        if (typeof node.$ref === "string") {
          const target = node.$ref.startsWith("#") ? pointerFromFragment(node.$ref) : undefined;
          if (target !== undefined) edges.push(target);
          if (this.#dialect === "3.0") continue; // 3.0: siblings of $ref are ignored
        }
        for (const [tokens, child] of subschemas(node)) {
          stack.push({ node: child, pointer: tokens.reduce<string>((p, t) => joinPointer(p, t), at) });
        }
      }
    }
    this.#edges.set(pointer, edges);
    return edges;
  }

  /** Iterative Tarjan from one root (recursion depth would be attacker-controlled). */
  #tarjan(root: string) {
    const stack: string[] = [];
    const onStack = new Set<string>();
    type Frame = { node: string; edges: string[]; next: number };
    const visit = (node: string): Frame => {
      this.#index.set(node, this.#counter);
      this.#lowlink.set(node, this.#counter);
      this.#counter++;
      stack.push(node);
      onStack.add(node);
      return { node, edges: this.#edgesOf(node), next: 0 };
    };
    const frames: Frame[] = [visit(root)];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      if (frame.next < frame.edges.length) {
        const to = frame.edges[frame.next++]!;
        if (!this.#index.has(to)) {
          frames.push(visit(to));
        } else if (onStack.has(to)) {
          this.#lowlink.set(frame.node, Math.min(this.#lowlink.get(frame.node)!, this.#index.get(to)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) {
        this.#lowlink.set(
          parent.node,
          Math.min(this.#lowlink.get(parent.node)!, this.#lowlink.get(frame.node)!),
        );
      }
      if (this.#lowlink.get(frame.node) === this.#index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const cyclic = component.length > 1 || frame.edges.includes(frame.node);
        for (const m of component) this.#cyclic.set(m, cyclic);
      }
    }
  }

  /** Converted body of the schema at `pointer` (memoized per purpose). */
  entry(pointer: string, purpose: SchemaPurpose, depth = 0): Entry {
    const memo = this.#memo.get(purpose)!;
    const cached = memo.get(pointer);
    if (cached) return cached;
    const found = getByPointer(this.#doc, pointer);
    if (!found.found) throw new SchemaError(pointer, `${fragmentFromPointer(pointer)} points nowhere`);
    const defs = new Set<string>();
    let schema: JsonSchema | boolean;
    if (this.#isBareRefLoop(pointer)) {
      this.#warnOnce(pointer, "schema is only a $ref cycle with no content; it accepts any value");
      schema = {};
    } else {
      schema = this.#node(found.value, pointer, purpose, depth, defs);
    }
    const result: Entry = { schema, defs, size: JSON.stringify(schema).length };
    memo.set(pointer, result);
    if (typeof schema === "object") this.#origins.set(schema, pointer);
    return result;
  }

  /** The `$defs` name of the referenced schema `node` is the (inlined) conversion of, if it is one. */
  originName(node: object): string | undefined {
    const pointer = this.#origins.get(node);
    return pointer === undefined ? undefined : this.defName(pointer);
  }

  #isBareRefLoop(pointer: string): boolean {
    const seen = new Set<string>();
    let at = pointer;
    for (;;) {
      if (seen.has(at)) return true;
      seen.add(at);
      const found = getByPointer(this.#doc, at);
      if (!found.found || !isObject(found.value) || typeof found.value.$ref !== "string") return false;
      if (Object.keys(found.value).some((k) => k !== "$ref" && !k.startsWith("x-"))) return false;
      const next = found.value.$ref.startsWith("#") ? pointerFromFragment(found.value.$ref) : undefined;
      if (next === undefined) return false;
      at = next;
    }
  }

  /** Converts a schema found at `pointer`; refs are inlined or recorded in `defs`. */
  convert(node: unknown, pointer: string, purpose: SchemaPurpose): Converted {
    this.#enterOperation(pointer);
    const defs = new Set<string>();
    const schema = this.#node(node, pointer, purpose, 0, defs);
    return { schema, defs };
  }

  /**
   * Converts a root schema that must be inline (tool input/output roots): a root `$ref`
   * is replaced by the body it points to even when that body is cyclic or large.
   */
  convertRoot(node: unknown, pointer: string, purpose: SchemaPurpose): Converted {
    this.#enterOperation(pointer);
    if (isObject(node) && typeof node.$ref === "string" && onlyRef(node, this.#dialect)) {
      const target = this.resolve(node, pointer);
      if (isObject(target.value) || typeof target.value === "boolean") {
        const entry = this.entry(target.pointer, purpose);
        return { schema: entry.schema, defs: new Set(entry.defs) };
      }
    }
    return this.convert(node, pointer, purpose);
  }

  /** `$defs` for the given pointers and everything they reference; `undefined` when over `maxBytes`. */
  collectDefs(
    pointers: Iterable<string>,
    purpose: SchemaPurpose,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Record<string, JsonSchema | boolean> | undefined {
    // The shared response-validation table is built after every operation: it belongs to none.
    if (purpose === "validation") this.#operation = undefined;
    const defs: Record<string, JsonSchema | boolean> = {};
    const queue = [...pointers];
    const done = new Set<string>();
    let size = 0;
    while (queue.length > 0) {
      const pointer = queue.shift()!;
      if (done.has(pointer)) continue;
      done.add(pointer);
      const entry = this.entry(pointer, purpose);
      size += entry.size;
      if (size > maxBytes) return undefined;
      defs[this.defName(pointer)] = entry.schema;
      queue.push(...entry.defs);
    }
    return defs;
  }

  /** Does this (property) schema say readOnly / writeOnly, directly or through its `$ref`? */
  flag(node: unknown, pointer: string, key: "readOnly" | "writeOnly"): boolean {
    if (!isObject(node)) return false;
    if (typeof node[key] === "boolean") return node[key] as boolean;
    if (typeof node.$ref === "string") {
      try {
        return this.flag(this.resolve(node, pointer).value, pointer, key);
      } catch {
        return false;
      }
    }
    return false;
  }

  #node(
    node: unknown,
    pointer: string,
    purpose: SchemaPurpose,
    depth: number,
    defs: Set<string>,
  ): JsonSchema | boolean {
    if (depth > MAX_SCHEMA_DEPTH)
      throw new SchemaError(pointer, `schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
    // Tolerant output: a `false` subschema (nothing allowed here) would turn drift into a failed call.
    if (typeof node === "boolean") return purpose === "output" ? true : node;
    if (!isObject(node)) throw new SchemaError(pointer, "schema is not an object");
    if (typeof node.$ref === "string") return this.#ref(node, pointer, purpose, depth, defs);
    return this.#object(node, pointer, purpose, depth, defs);
  }

  #ref(
    node: Record<string, unknown>,
    pointer: string,
    purpose: SchemaPurpose,
    depth: number,
    defs: Set<string>,
  ): JsonSchema | boolean {
    const { pointer: target } = this.lookup(node.$ref as string, pointer);
    let result: JsonSchema | boolean;
    const limit = purpose === "validation" ? SHARED_SCHEMA_MIN_BYTES : INLINE_REF_MAX_BYTES;
    if (this.isCyclic(target)) {
      result = { $ref: `#/$defs/${this.defName(target)}` };
      defs.add(target);
    } else {
      const entry = this.entry(target, purpose, depth + 1);
      if (entry.size > limit) {
        result = { $ref: `#/$defs/${this.defName(target)}` };
        defs.add(target);
      } else {
        result = entry.schema;
        for (const d of entry.defs) defs.add(d);
      }
    }
    const siblings = Object.keys(node).filter((k) => k !== "$ref" && !k.startsWith("x-"));
    if (siblings.length === 0) return result;
    const annotationOnly = siblings.every((k) => REF_SIBLING_ANNOTATIONS.has(k) || k === "nullable");
    if (this.#dialect === "3.0" || annotationOnly) {
      const extra = this.#object(
        Object.fromEntries(siblings.filter((k) => REF_SIBLING_ANNOTATIONS.has(k)).map((k) => [k, node[k]])),
        pointer,
        purpose,
        depth,
        defs,
      );
      let merged: JsonSchema | boolean =
        typeof result === "boolean"
          ? result
          : Object.keys(extra).length > 0
            ? { ...result, ...(extra as JsonSchema) }
            : result;
      // Tolerant output schemas already accept null everywhere.
      if (node.nullable === true && typeof merged !== "boolean" && purpose !== "output")
        merged = { anyOf: [merged, { type: "null" }] };
      return merged;
    }
    const rest = this.#object(
      Object.fromEntries(siblings.map((k) => [k, node[k]])),
      pointer,
      purpose,
      depth,
      defs,
    );
    return { allOf: [result], ...(rest as JsonSchema) };
  }

  #object(
    node: Record<string, unknown>,
    pointer: string,
    purpose: SchemaPurpose,
    depth: number,
    defs: Set<string>,
  ): JsonSchema {
    const out: JsonSchema = {};
    const keepAnnotations = purpose !== "validation";
    const tolerant = purpose === "output";
    const dropFlag = purpose === "input" ? "readOnly" : tolerant ? "writeOnly" : undefined;
    const dropped = new Set<string>();
    let oneOf: unknown[] | undefined;
    for (const [key, value] of Object.entries(node)) {
      const at = joinPointer(pointer, key);
      if (tolerant && (OUTPUT_DROPPED.has(key) || (key === "additionalProperties" && !isObject(value)))) {
        continue;
      }
      if (key === "properties" && isObject(value)) {
        const props: JsonSchema = {};
        for (const [name, child] of Object.entries(value)) {
          if (dropFlag && this.flag(child, joinPointer(at, name), dropFlag)) {
            dropped.add(name);
            continue;
          }
          props[name] =
            tolerant && isSensitiveKey(name, "HIGH")
              ? this.#redactable(child)
              : this.#node(child, joinPointer(at, name), purpose, depth + 1, defs);
        }
        out.properties = props;
      } else if (tolerant && key === "type") {
        const type = nullableType(value);
        if (type) out.type = type;
      } else if (tolerant && key === "oneOf" && Array.isArray(value)) {
        oneOf = value.map((child, i) => this.#node(child, joinPointer(at, i), purpose, depth + 1, defs));
      } else if (key === "patternProperties" && isObject(value)) {
        const props: JsonSchema = {};
        for (const [pattern, child] of Object.entries(value)) {
          const problem = patternProblem(pattern);
          if (problem !== undefined) {
            this.#warnOnce(at, `patternProperties key /${pattern}/ ${problem}; dropped${this.#usedBy()}`);
            continue;
          }
          props[pattern] = this.#node(child, joinPointer(at, pattern), purpose, depth + 1, defs);
        }
        out.patternProperties = props;
      } else if (SUBSCHEMA_MAPS.has(key) && isObject(value)) {
        out[key] = Object.fromEntries(
          Object.entries(value).map(([name, child]) => [
            name,
            this.#node(child, joinPointer(at, name), purpose, depth + 1, defs),
          ]),
        );
      } else if (SUBSCHEMA.has(key) && (isObject(value) || typeof value === "boolean")) {
        out[key] = this.#node(value, at, purpose, depth + 1, defs);
      } else if (SUBSCHEMA_ARRAYS.has(key) && Array.isArray(value)) {
        out[key] = value.map((child, i) => this.#node(child, joinPointer(at, i), purpose, depth + 1, defs));
      } else if (key === "items") {
        if (Array.isArray(value)) {
          // Draft-04 tuple form → 2020-12 prefixItems (additionalItems becomes items).
          out.prefixItems = value.map((child, i) =>
            this.#node(child, joinPointer(at, i), purpose, depth + 1, defs),
          );
          if ("additionalItems" in node) {
            out.items = this.#node(
              node.additionalItems,
              joinPointer(pointer, "additionalItems"),
              purpose,
              depth + 1,
              defs,
            );
          }
        } else {
          out.items = this.#node(value, at, purpose, depth + 1, defs);
        }
      } else if (key === "required" && Array.isArray(value)) {
        out.required = value.filter((v) => typeof v === "string");
      } else if (key === "pattern" && typeof value === "string") {
        const problem = patternProblem(value);
        if (problem === undefined) out.pattern = value;
        else this.#warnOnce(at, `pattern /${value}/ ${problem}; the constraint is dropped${this.#usedBy()}`);
      } else if ((key === "exclusiveMinimum" || key === "exclusiveMaximum") && typeof value === "boolean") {
        // 3.0: boolean modifier of minimum/maximum → 2020-12 numeric form.
        const bound = key === "exclusiveMinimum" ? "minimum" : "maximum";
        if (value && typeof node[bound] === "number") out[key] = node[bound];
      } else if ((key === "exclusiveMinimum" || key === "exclusiveMaximum") && typeof value === "number") {
        out[key] = value;
      } else if (COPIED.has(key)) {
        out[key] = value;
      } else if (key === "example") {
        if (keepAnnotations && !("examples" in node)) out.examples = [value];
      } else if (key === "examples") {
        if (keepAnnotations && Array.isArray(value)) out.examples = value;
      } else if (key === "description" || key === "title") {
        if (keepAnnotations && typeof value === "string")
          out[key] = cleanText(value, SCHEMA_DESCRIPTION_MAX_CHARS);
      } else if (ANNOTATIONS.has(key)) {
        if (keepAnnotations) out[key] = value;
      } else if (key === "$dynamicRef" || key === "$recursiveRef") {
        this.#warnOnce(at, `${key} is not supported; that part of the schema accepts any value`);
      }
      // Everything else (nullable, discriminator, xml, externalDocs, x-*, $id, $schema, $anchor,
      // $comment, $defs, definitions, unknown keywords) is dropped: not JSON Schema validation, or
      // reached through pointers instead.
    }
    // A 3.0 boolean exclusive bound replaced the inclusive one.
    if (node.exclusiveMinimum === true && typeof node.minimum === "number") delete out.minimum;
    if (node.exclusiveMaximum === true && typeof node.maximum === "number") delete out.maximum;
    if (dropped.size > 0 && Array.isArray(out.required)) {
      out.required = (out.required as string[]).filter((name) => !dropped.has(name));
      if ((out.required as string[]).length === 0) delete out.required;
    }
    if (oneOf) {
      // Both on one node: the oneOf's anyOf must hold as well as the node's own.
      if (out.anyOf === undefined) out.anyOf = oneOf;
      else out.allOf = [...((out.allOf as unknown[] | undefined) ?? []), { anyOf: oneOf }];
    }
    if (node.nullable === true && !tolerant) return withNull(out);
    return out;
  }

  /**
   * A property the gateway may redact: any value is fine (sanitization turns it into a
   * string), the description still says what it is.
   */
  #redactable(node: unknown): JsonSchema {
    const out: JsonSchema = {};
    if (isObject(node) && typeof node.description === "string")
      out.description = cleanText(node.description, SCHEMA_DESCRIPTION_MAX_CHARS);
    return out;
  }
}

/** The JSON types of a `type` keyword plus `null`; unknown names (Swagger's `file`) are left out. */
function nullableType(value: unknown): string | string[] | undefined {
  const listed = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
  const types = [...new Set(listed.filter((t): t is string => typeof t === "string" && JSON_TYPES.has(t)))];
  if (types.length === 0) return undefined;
  if (!types.includes("null")) types.push("null");
  return types.length === 1 ? types[0] : types;
}

function withNull(schema: JsonSchema): JsonSchema {
  const type = schema.type;
  if (typeof type === "string") {
    const out: JsonSchema = { ...schema, type: type === "null" ? "null" : [type, "null"] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  if (Array.isArray(type)) {
    const out: JsonSchema = { ...schema, type: type.includes("null") ? type : [...type, "null"] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  if ("allOf" in schema || "anyOf" in schema || "oneOf" in schema)
    return { anyOf: [schema, { type: "null" }] };
  return schema;
}

function onlyRef(node: Record<string, unknown>, dialect: "3.0" | "3.1"): boolean {
  if (dialect === "3.0") return true;
  return Object.keys(node).every(
    (k) => k === "$ref" || k.startsWith("x-") || k === "description" || k === "summary",
  );
}

/** Subschemas of a schema object, each with the pointer tokens it hangs under. */
export function* subschemas(node: Record<string, unknown>): Generator<[(string | number)[], unknown]> {
  for (const [key, value] of Object.entries(node)) {
    // Nested $defs are not walked: they are reached through pointers when something uses them.
    if (SUBSCHEMA_MAPS.has(key)) {
      if (isObject(value)) for (const [name, child] of Object.entries(value)) yield [[key, name], child];
    } else if (SUBSCHEMA.has(key) || key === "items" || key === "additionalItems") {
      if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield [[key, i], value[i]];
      else yield [[key], value];
    } else if (SUBSCHEMA_ARRAYS.has(key) && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) yield [[key, i], value[i]];
    }
  }
}

/**
 * Why a pattern cannot be kept, or `undefined` when the Worker can run it. Validators
 * run patterns on RE2 (src/schema/pattern.ts); one that is not ECMAScript, or that
 * RE2 cannot express (look-around, back-references…), is dropped at build time.
 */
export function patternProblem(pattern: string): string | undefined {
  const compiled = compilePattern(pattern);
  return compiled.ok ? undefined : compiled.reason;
}
