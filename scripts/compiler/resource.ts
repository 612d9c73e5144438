/**
 * What an operation acts on, for discovery search (#15): the description of the schema it
 * sends or returns and the names and first sentences of that schema's properties, two levels
 * down (Kubernetes keeps what an object does in `spec.*` and `status.*`). Search never sees
 * these otherwise: a spread body's arguments are only its top-level properties, and a GET has
 * no arguments that say what it returns.
 *
 * Everything is bounded (the spec is hostile input): properties read per schema, nesting,
 * `allOf` parts, characters per text and in all. {@link finishResources} then drops the
 * texts most operations share (Kubernetes' `metadata.*`, Stripe's `livemode`, GitHub's
 * `node_id`): they tell operations apart no better than nothing and would crowd out the rest.
 *
 * @module
 */
import type { ToolResource } from "../../src/bundle/types.ts";
import { isObject, joinPointer } from "./pointer.ts";
import { cleanText, type SchemaConverter } from "./schema.ts";

/** Title and description kept per schema: the opening says what the object is. */
export const RESOURCE_DESCRIPTION_MAX_CHARS = 300;
/** A property's text: its path and its description's first sentence, cut here. */
export const RESOURCE_PROPERTY_MAX_CHARS = 160;
/** Property texts kept per operation, after the shared ones are dropped. */
export const RESOURCE_PROPERTIES_MAX = 32;
/** Characters of property texts kept per operation (bundle size and index build time). */
export const RESOURCE_PROPERTIES_MAX_CHARS = 2_000;
/** Property nesting read: `spec.schedule`, `status.conditions`. */
const RESOURCE_DEPTH = 2;
/** Properties read per schema (GitHub's widest has ~100; a hostile spec may have millions). */
const PROPERTIES_PER_SCHEMA = 120;
/** Property texts collected per operation before the shared ones are dropped. */
const COLLECTED_PROPERTIES_MAX = 240;
/** `$ref`/`allOf` hops followed to reach one schema's properties. */
const MERGE_DEPTH = 4;
/** Description characters read before cleaning (cleaning is linear, but no need to read a novel). */
const RAW_TEXT_MAX_CHARS = 2_000;
/** Other properties a list envelope may have beside its one array of objects (`has_more`, `url`, `kind`, `metadata`). */
const ENVELOPE_OTHER_PROPERTIES = 5;
/** A text shared by more than this share of a vendor's operations is dropped… */
const SHARED_TEXT_SHARE = 0.05;
/** …when at least this many operations share it (small APIs keep everything). */
const SHARED_TEXT_MIN_OPERATIONS = 10;

/** One schema as this module reads it: its own words and its properties (through `$ref` and `allOf`). */
interface Shape {
  pointer: string;
  texts: string[];
  properties: Array<{ name: string; node: unknown; pointer: string }>;
}

/** Resolves `node` and merges its `allOf` parts: title/description and properties. */
function shapeOf(node: unknown, pointer: string, converter: SchemaConverter): Shape | undefined {
  const shape: Shape = { pointer: "", texts: [], properties: [] };
  const seen = new Set<string>();
  const visit = (value: unknown, at: string, depth: number) => {
    if (depth > MERGE_DEPTH) return;
    const resolved = converter.resolve(value, at);
    if (seen.has(resolved.pointer) || !isObject(resolved.value)) return;
    seen.add(resolved.pointer);
    if (shape.pointer === "") shape.pointer = resolved.pointer;
    const schema = resolved.value;
    for (const key of ["title", "description"]) {
      const text = schema[key];
      if (typeof text === "string" && shape.texts.length < 4) shape.texts.push(text);
    }
    if (Array.isArray(schema.allOf)) {
      const parts = schema.allOf.length;
      for (let i = 0; i < parts && i < 8; i++) {
        visit(schema.allOf[i], joinPointer(joinPointer(resolved.pointer, "allOf"), i), depth + 1);
      }
    }
    const properties = schema.properties;
    if (!isObject(properties)) return;
    const base = joinPointer(resolved.pointer, "properties");
    // Not Object.entries: a hostile spec may give a schema a million properties.
    for (const name in properties) {
      if (!Object.hasOwn(properties, name)) continue;
      if (shape.properties.length >= PROPERTIES_PER_SCHEMA) break;
      if (shape.properties.some((p) => p.name === name)) continue;
      shape.properties.push({ name, node: properties[name], pointer: joinPointer(base, name) });
    }
  };
  visit(node, pointer, 0);
  return shape.pointer === "" ? undefined : shape;
}

/** The schema a list returns its elements in: an array's `items`, or an envelope's one array of objects. */
function elementOf(node: unknown, pointer: string, converter: SchemaConverter): Shape | undefined {
  const resolved = converter.resolve(node, pointer);
  const schema = resolved.value;
  if (!isObject(schema)) return undefined;
  if (schema.type === "array" && schema.items !== undefined) {
    return shapeOf(schema.items, joinPointer(resolved.pointer, "items"), converter);
  }
  const shape = shapeOf(schema, resolved.pointer, converter);
  if (shape === undefined || shape.properties.length > ENVELOPE_OTHER_PROPERTIES + 1) return shape;
  // `{ data: [Charge], has_more, url }`, `{ items: [Pod], metadata, kind }`: the list is of its elements.
  const arrays = shape.properties.filter((p) => {
    const value = converter.resolve(p.node, p.pointer).value;
    return isObject(value) && value.type === "array" && value.items !== undefined;
  });
  if (arrays.length !== 1) return shape;
  const array = arrays[0]!;
  const items = converter.resolve(array.node, array.pointer);
  const element = shapeOf(
    (items.value as Record<string, unknown>).items,
    joinPointer(items.pointer, "items"),
    converter,
  );
  return element !== undefined && element.properties.length > 0 ? element : shape;
}

/** A description's first sentence, cleaned and cut. Linear: one search for the end of a sentence. */
function firstSentence(text: string, max: number): string {
  const cleaned = cleanText(text.slice(0, RAW_TEXT_MAX_CHARS), RAW_TEXT_MAX_CHARS);
  const end = cleaned.search(/\.(?:\s|$)|\n\n/);
  const sentence = end === -1 ? cleaned : cleaned.slice(0, end);
  return sentence.length > max ? sentence.slice(0, max).trimEnd() : sentence;
}

/** A property's own description, else that of the schema it refers to, else its array items'. */
function propertyDescription(node: unknown, pointer: string, converter: SchemaConverter): string {
  if (isObject(node) && typeof node.description === "string") return node.description;
  const resolved = converter.resolve(node, pointer).value;
  if (!isObject(resolved)) return "";
  if (typeof resolved.description === "string") return resolved.description;
  const items = converter.resolve(resolved.items, pointer).value;
  return isObject(items) && typeof items.description === "string" ? items.description : "";
}

/** Collected before the vendor-wide cut of {@link finishResources}. */
export interface RawResource {
  descriptions: string[];
  properties: Array<{ name: string; sentence: string }>;
}

/** Adds a schema's texts and its properties' (breadth first, to {@link RESOURCE_DEPTH}) to `out`. */
function collect(shape: Shape, converter: SchemaConverter, out: RawResource, expanded: Set<string>): void {
  if (expanded.has(shape.pointer)) return;
  expanded.add(shape.pointer);
  const own = shape.texts
    .map((t) => cleanText(t.slice(0, RAW_TEXT_MAX_CHARS), RESOURCE_DESCRIPTION_MAX_CHARS))
    .filter((t) => t !== "")
    .join(". ");
  if (own !== "" && !out.descriptions.includes(own)) out.descriptions.push(own);
  let level: Array<{ path: string; shape: Shape }> = [{ path: "", shape }];
  for (let depth = 1; depth <= RESOURCE_DEPTH && level.length > 0; depth++) {
    const next: Array<{ path: string; shape: Shape }> = [];
    for (const { path, shape: parent } of level) {
      for (const property of parent.properties) {
        if (out.properties.length >= COLLECTED_PROPERTIES_MAX) return;
        const name = path === "" ? property.name : `${path}.${property.name}`;
        const sentence = firstSentence(
          propertyDescription(property.node, property.pointer, converter),
          RESOURCE_PROPERTY_MAX_CHARS,
        );
        if (!out.properties.some((p) => p.name === name)) out.properties.push({ name, sentence });
        if (depth < RESOURCE_DEPTH) {
          const child = shapeOf(property.node, property.pointer, converter);
          if (child !== undefined && child.properties.length > 0) next.push({ path: name, shape: child });
        }
      }
    }
    level = next;
  }
}

/** The JSON-ish request body schema (the first media type with one). */
function bodySchema(op: Record<string, unknown>, pointer: string, converter: SchemaConverter) {
  if (op.requestBody === undefined) return undefined;
  const body = converter.resolve(op.requestBody, joinPointer(pointer, "requestBody"));
  if (!isObject(body.value) || !isObject(body.value.content)) return undefined;
  return firstSchema(body.value.content, body.pointer);
}

/** The schema of a body's or response's first media type that has one, with its pointer. */
function firstSchema(content: Record<string, unknown>, pointer: string) {
  for (const mediaType in content) {
    if (!Object.hasOwn(content, mediaType)) continue;
    const media = content[mediaType];
    if (isObject(media) && media.schema !== undefined) {
      const at = joinPointer(joinPointer(joinPointer(pointer, "content"), mediaType), "schema");
      return { node: media.schema, pointer: at };
    }
  }
  return undefined;
}

/** The first success response's schema (the first media type with one). */
function responseSchema(op: Record<string, unknown>, pointer: string, converter: SchemaConverter) {
  if (!isObject(op.responses)) return undefined;
  for (const status in op.responses) {
    if (!Object.hasOwn(op.responses, status) || !/^2(?:\d\d|XX)$/i.test(status)) continue;
    const response = converter.resolve(
      op.responses[status],
      joinPointer(joinPointer(pointer, "responses"), status),
    );
    if (!isObject(response.value) || !isObject(response.value.content)) continue;
    const found = firstSchema(response.value.content, response.pointer);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The texts of what an operation acts on: its request body's schema, then the schema its
 * first success response returns (a list's elements), when that is another schema (a
 * Kubernetes patch sends a generic `Patch` and returns the object it changed). Best effort:
 * a spec this cannot read gives nothing, never an error.
 */
export function rawResource(
  op: Record<string, unknown>,
  pointer: string,
  converter: SchemaConverter,
): RawResource | undefined {
  const out: RawResource = { descriptions: [], properties: [] };
  const expanded = new Set<string>();
  try {
    const body = bodySchema(op, pointer, converter);
    if (body !== undefined) {
      const shape = shapeOf(body.node, body.pointer, converter);
      if (shape !== undefined) collect(shape, converter, out, expanded);
    }
    const response = responseSchema(op, pointer, converter);
    if (response !== undefined) {
      const shape = elementOf(response.node, response.pointer, converter);
      if (shape !== undefined) collect(shape, converter, out, expanded);
    }
  } catch {
    // A `$ref` that loops or points nowhere: the operation itself reports it, if it matters.
  }
  return out.descriptions.length === 0 && out.properties.length === 0 ? undefined : out;
}

/**
 * Each operation's {@link ToolResource}: its texts without those shared by many of the
 * vendor's operations, bounded. `raws` is by operation; undefined entries give undefined.
 */
export function finishResources(
  raws: ReadonlyArray<RawResource | undefined>,
): Array<ToolResource | undefined> {
  const counts = new Map<string, number>();
  for (const raw of raws) {
    if (raw === undefined) continue;
    for (const text of raw.descriptions) counts.set(text, (counts.get(text) ?? 0) + 1);
    for (const { name, sentence } of raw.properties) {
      counts.set(`${name}: ${sentence}`, (counts.get(`${name}: ${sentence}`) ?? 0) + 1);
      // Sentences are counted on their own too: "Time is a wrapper around time.Time…" says nothing wherever it is.
      if (sentence !== "") counts.set(sentence, (counts.get(sentence) ?? 0) + 1);
    }
  }
  const limit = Math.max(SHARED_TEXT_MIN_OPERATIONS, raws.length * SHARED_TEXT_SHARE);
  const distinctive = (text: string) => (counts.get(text) ?? 0) <= limit;
  return raws.map((raw) => {
    if (raw === undefined) return undefined;
    const description = raw.descriptions
      .filter(distinctive)
      .join("\n")
      .slice(0, RESOURCE_DESCRIPTION_MAX_CHARS * 2);
    const properties: string[] = [];
    let chars = 0;
    for (const { name, sentence } of raw.properties) {
      if (!distinctive(`${name}: ${sentence}`)) continue;
      const text = sentence === "" || !distinctive(sentence) ? name : `${name}: ${sentence}`;
      if (properties.length >= RESOURCE_PROPERTIES_MAX || chars + text.length > RESOURCE_PROPERTIES_MAX_CHARS)
        break;
      properties.push(text);
      chars += text.length;
    }
    if (description === "" && properties.length === 0) return undefined;
    return {
      ...(description === "" ? {} : { description }),
      ...(properties.length === 0 ? {} : { properties }),
    };
  });
}
