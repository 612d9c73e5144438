/**
 * OpenAPI 3 operations → tool recipes: one tool per path and method, with the
 * parameters and request body merged into one input schema and everything the
 * Worker needs to build the upstream request.
 *
 * @module
 */
import type {
  BodyEncoding,
  BodyPartRecipe,
  BodyRecipe,
  HttpMethod,
  JsonSchema,
  ParamLocation,
  ParamRecipe,
  ParamStyle,
  ResponseRecipe,
  SecurityRequirement,
  SecurityScheme,
  ToolRecipe,
  ToolResource,
} from "../../src/bundle/types.ts";
import { filterReason } from "./filter.ts";
import { assignToolNames, KeyAllocator, type RenameReason, safeArgKey } from "./naming.ts";
import { escapeToken, isObject, joinPointer } from "./pointer.ts";
import { finishResources, type RawResource, rawResource } from "./resource.ts";
import { cleanText, type SchemaConverter, SchemaError } from "./schema.ts";
import { shareRepeatedSubschemas } from "./share.ts";
import type { OperationSelector } from "./vendor-config.ts";

/** Tool description length kept (tools/list budget: GitHub's full descriptions alone run to megabytes). */
export const TOOL_DESCRIPTION_MAX_CHARS = 1_024;
export const TOOL_TITLE_MAX_CHARS = 200;
/**
 * Largest tool input schema by default (vendor.json `limits.inputSchemaMaxBytes` changes it):
 * beyond this a tool is not usable in a client's context. Measured after repeated
 * subschemas are shared through `$defs` (share.ts).
 */
export const INPUT_SCHEMA_MAX_BYTES = 256 * 1024;
/** Largest `outputSchema` listed (it is sent in every tools/list; larger ones are validated server-side only). */
export const OUTPUT_SCHEMA_MAX_BYTES = 4 * 1024;

/** Skip reason prefix for an unexpected failure while building one tool (a compiler bug). */
export const INTERNAL_ERROR_REASON = "internal compiler error (please report)";

/** OpenAPI's operation keys, in the order the spec lists them. */
const METHOD_KEYS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const PATH_ITEM_KEYS = new Set([...METHOD_KEYS, "$ref", "summary", "description", "servers", "parameters"]);

const LOCATION_ORDER: ParamLocation[] = ["path", "query", "header", "cookie"];
const STYLES_BY_LOCATION: Record<ParamLocation, ParamStyle[]> = {
  path: ["simple", "label", "matrix"],
  query: ["form", "spaceDelimited", "pipeDelimited", "deepObject"],
  header: ["simple"],
  cookie: ["form"],
};
const DEFAULT_STYLE: Record<ParamLocation, ParamStyle> = {
  path: "simple",
  query: "form",
  header: "simple",
  cookie: "form",
};
/** OpenAPI: header parameters with these names "SHALL be ignored" (the gateway sets them). */
const IGNORED_HEADERS = new Set(["accept", "content-type", "authorization"]);
const IDEMPOTENCY_HEADER = /^(x-)?idempotency-key$/i;

/** The argument shape for files (multipart parts and binary bodies), as `BodyPartRecipe.file` documents. */
export const FILE_ARGUMENT_SCHEMA: JsonSchema = {
  anyOf: [
    { type: "string", description: "The file content as text." },
    {
      type: "object",
      properties: {
        content: {
          type: "string",
          description: 'The file content: base64 when encoding is "base64", else text.',
        },
        encoding: { enum: ["base64", "text"] },
        filename: { type: "string" },
        contentType: { type: "string" },
      },
      required: ["content"],
      additionalProperties: false,
    },
  ],
};

export interface SkippedOperation {
  method: string;
  path: string;
  operationId?: string;
  reason: string;
  /** Where the problem is. */
  pointer: string;
}

export interface RenamedTool {
  name: string;
  /** The operationId, or `METHOD path` when there is none. */
  from: string;
  reasons: RenameReason[];
}

export interface CompileWarning {
  message: string;
  pointer?: string;
  /** The file the pointer is in (lenient-mode repairs name the spec file). */
  file?: string;
}

export interface BuildInput {
  doc: Record<string, unknown>;
  converter: SchemaConverter;
  vendor: string;
  maxNameChars: number;
  /** vendor.json `limits.inputSchemaMaxBytes` (default {@link INPUT_SCHEMA_MAX_BYTES}). */
  inputSchemaMaxBytes?: number;
  /** Base URL from vendor.json; when set, per-operation servers are not used. */
  vendorBaseUrl?: string;
  /** The bundle's base URL (vendor.json, else the spec's first absolute server). */
  baseUrl?: string;
  include?: readonly OperationSelector[];
  exclude?: readonly OperationSelector[];
  /** The bundle's schemes: security requirements may only name these. */
  securitySchemes: Readonly<Record<string, SecurityScheme>>;
  warn: (warning: CompileWarning) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface BuiltTools {
  tools: ToolRecipe[];
  /** Shared response schemas, referenced as `#/$defs/<name>`. */
  schemas: Record<string, JsonSchema>;
  /** What the tools act on, referenced by index from `ToolRecipe.resource`. */
  resources: ToolResource[];
  operations: number;
  skipped: SkippedOperation[];
  renamed: RenamedTool[];
}

/** Why an operation cannot become a tool. */
class Unsupported extends Error {
  readonly pointer: string;
  constructor(pointer: string, message: string) {
    super(message);
    this.pointer = pointer;
  }
}

interface Operation {
  method: HttpMethod;
  path: string;
  pointer: string;
  op: Record<string, unknown>;
  pathItem: Record<string, unknown>;
  pathItemPointer: string;
  operationId?: string;
  tags: string[];
}

type Draft = Omit<ToolRecipe, "name">;

export function buildTools(input: BuildInput): BuiltTools {
  const { doc, converter } = input;
  const skipped: SkippedOperation[] = [];
  const operations: Operation[] = [];
  let unknownMethods = 0;
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    if (path.startsWith("x-")) continue;
    const itemPointer = joinPointer("/paths", path);
    const { value: item, pointer: pathItemPointer } = converter.resolve(rawItem, itemPointer);
    if (!isObject(item)) continue;
    for (const key of Object.keys(item)) {
      if (!PATH_ITEM_KEYS.has(key) && !key.startsWith("x-")) {
        unknownMethods++;
        skipped.push({
          method: key.toUpperCase(),
          path,
          reason: `no usable method: "${key}" is not an HTTP method OpenAPI 3.0/3.1 defines`,
          pointer: joinPointer(itemPointer, key),
        });
      }
    }
    for (const key of METHOD_KEYS) {
      const op = item[key];
      if (!isObject(op)) continue;
      const pointer = `${pathItemPointer}/${key}`;
      operations.push({
        method: key.toUpperCase() as HttpMethod,
        path,
        pointer,
        op,
        pathItem: item,
        pathItemPointer,
        ...(typeof op.operationId === "string" && op.operationId !== ""
          ? { operationId: op.operationId }
          : {}),
        tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === "string") : [],
      });
    }
  }

  const used = { include: new Set<number>(), exclude: new Set<number>() };
  const drafts: { operation: Operation; draft: Draft }[] = [];
  let done = 0;
  for (const operation of operations) {
    done++;
    if (done % 50 === 0 || done === operations.length) input.onProgress?.(done, operations.length);
    const skip = (reason: string, pointer = operation.pointer) =>
      skipped.push({
        method: operation.method,
        path: operation.path,
        ...(operation.operationId !== undefined ? { operationId: operation.operationId } : {}),
        reason,
        pointer,
      });
    const filtered = filterReason(operation, input.include, input.exclude, used);
    if (filtered) {
      skip(filtered);
      continue;
    }
    if (operation.method === "TRACE") {
      skip("no usable method: TRACE is a forbidden method for fetch() and a diagnostic, not an API call");
      continue;
    }
    try {
      drafts.push({ operation, draft: buildDraft(operation, input) });
    } catch (error) {
      if (error instanceof Unsupported || error instanceof SchemaError) {
        skip(error.message, error.pointer);
        continue;
      }
      // One odd operation must not sink the vendor; the reason says it is our bug.
      skip(`${INTERNAL_ERROR_REASON}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  input.include?.forEach((_, i) => {
    if (!used.include.has(i))
      input.warn({
        message: `vendor.json include${input.include!.length > 1 ? `[${i}]` : ""} matched no operation`,
      });
  });
  input.exclude?.forEach((_, i) => {
    if (!used.exclude.has(i))
      input.warn({
        message: `vendor.json exclude${input.exclude!.length > 1 ? `[${i}]` : ""} matched no operation`,
      });
  });

  const names = assignToolNames(
    drafts.map(({ operation }) => operation),
    input.maxNameChars,
  );
  const renamed: RenamedTool[] = [];
  // What each operation acts on, without the texts most of the vendor's operations share (#15);
  // the operations on one schema share one entry (Kubernetes: 90 for 545 operations).
  const finished = finishResources(drafts.map(({ draft }) => rawResources.get(draft)));
  const resources: ToolResource[] = [];
  const resourceIndex = new Map<string, number>();
  const tools = drafts.map(({ operation, draft }, i) => {
    const { name, reasons } = names[i]!;
    if (reasons.length > 0) {
      renamed.push({ name, from: operation.operationId ?? `${operation.method} ${operation.path}`, reasons });
    }
    const found = finished[i];
    if (found === undefined) return { name, ...draft } as ToolRecipe;
    const key = JSON.stringify(found);
    let resource = resourceIndex.get(key);
    if (resource === undefined) {
      resource = resources.push(found) - 1;
      resourceIndex.set(key, resource);
    }
    return { name, ...draft, resource } as ToolRecipe;
  });

  // Shared response schemas: everything the response recipes reference.
  const sharedPointers = new Set<string>();
  for (const { draft } of drafts) for (const p of responseDefs.get(draft) ?? []) sharedPointers.add(p);
  const table = converter.collectDefs(sharedPointers, "validation") ?? {};
  const schemas: Record<string, JsonSchema> = {};
  for (const key of Object.keys(table).sort()) {
    const value = table[key]!;
    schemas[key] = typeof value === "boolean" ? (value ? {} : { not: {} }) : value;
  }
  return { tools, schemas, resources, operations: operations.length + unknownMethods, skipped, renamed };
}

/** Response schema pointers each draft uses (kept out of the recipe itself). */
const responseDefs = new WeakMap<Draft, Set<string>>();
/** What each draft acts on, before the vendor-wide cut of `finishResources`. */
const rawResources = new WeakMap<Draft, RawResource>();

function buildDraft(operation: Operation, input: BuildInput): Draft {
  const { converter } = input;
  const { op, pointer } = operation;
  const keys = new KeyAllocator();
  const properties: JsonSchema = {};
  const required: string[] = [];
  const defs = new Set<string>();
  const params: ParamRecipe[] = [];
  let idempotencyKeyHeader: string | undefined;

  // Path-level parameters, overridden by operation-level ones with the same name and location.
  const merged = new Map<string, { param: Record<string, unknown>; pointer: string }>();
  const addParams = (list: unknown, listPointer: string) => {
    if (!Array.isArray(list)) return;
    list.forEach((raw, i) => {
      const resolved = converter.resolve(raw, joinPointer(listPointer, i));
      if (!isObject(resolved.value)) throw new Unsupported(resolved.pointer, "parameter is not an object");
      const p = resolved.value;
      if (typeof p.name !== "string" || typeof p.in !== "string") {
        throw new Unsupported(resolved.pointer, 'parameter needs "name" and "in"');
      }
      const name = p.in === "header" ? p.name.toLowerCase() : p.name;
      merged.set(`${p.in}\u0000${name}`, { param: p, pointer: resolved.pointer });
    });
  };
  addParams(operation.pathItem.parameters, joinPointer(operation.pathItemPointer, "parameters"));
  addParams(op.parameters, joinPointer(pointer, "parameters"));

  const ordered = [...merged.values()].sort(
    (a, b) =>
      LOCATION_ORDER.indexOf(a.param.in as ParamLocation) -
      LOCATION_ORDER.indexOf(b.param.in as ParamLocation),
  );
  for (const { param, pointer: paramPointer } of ordered) {
    const name = param.name as string;
    const location = param.in as string;
    if (!LOCATION_ORDER.includes(location as ParamLocation)) {
      throw new Unsupported(paramPointer, `parameter "${name}": location "${location}" is not supported`);
    }
    const where = location as ParamLocation;
    if (where === "header" && IGNORED_HEADERS.has(name.toLowerCase())) {
      input.warn({
        pointer: paramPointer,
        message: `header parameter "${name}" is ignored (OpenAPI: the ${name} header is set from the spec's content types and security, not by the caller)`,
      });
      continue;
    }
    if (param["x-collectionFormat"] === "tsv") {
      throw new Unsupported(
        paramPointer,
        `parameter "${name}": Swagger collectionFormat "tsv" has no OpenAPI 3 style`,
      );
    }
    const style = (param.style ?? DEFAULT_STYLE[where]) as ParamStyle;
    if (!STYLES_BY_LOCATION[where].includes(style)) {
      throw new Unsupported(
        paramPointer,
        `parameter "${name}": style "${String(param.style)}" is not allowed in ${where} (allowed: ${STYLES_BY_LOCATION[where].join(", ")})`,
      );
    }
    const explode = typeof param.explode === "boolean" ? param.explode : style === "form";
    let schemaNode: unknown = param.schema;
    let schemaPointer = joinPointer(paramPointer, "schema");
    let contentType: string | undefined;
    if (schemaNode === undefined && isObject(param.content)) {
      const [mediaType, media] = Object.entries(param.content)[0] ?? [];
      if (mediaType === undefined || !isObject(media)) {
        throw new Unsupported(paramPointer, `parameter "${name}": "content" names no media type`);
      }
      contentType = mediaType;
      schemaNode = media.schema ?? {};
      schemaPointer = joinPointer(joinPointer(joinPointer(paramPointer, "content"), mediaType), "schema");
    }
    const converted = converter.convert(schemaNode ?? {}, schemaPointer, "input");
    for (const d of converted.defs) defs.add(d);
    const argSchema = annotate(converted.schema, {
      description: typeof param.description === "string" ? param.description : undefined,
      deprecated: param.deprecated === true,
      examples: paramExamples(param, converter, paramPointer),
    });
    const isIdempotencyKey = where === "header" && IDEMPOTENCY_HEADER.test(name);
    if (isIdempotencyKey) idempotencyKeyHeader = name;
    const base = safeArgKey(name);
    const key = keys.claim(base, `${base}_${where}`);
    properties[key] = argSchema;
    // The gateway fills an Idempotency-Key itself, so callers never have to.
    const isRequired = where === "path" || (param.required === true && !isIdempotencyKey);
    if (isRequired) required.push(key);
    params.push({
      key,
      name,
      in: where,
      style,
      explode,
      required: isRequired,
      ...(where === "query" && param.allowReserved === true ? { allowReserved: true } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
    });
  }

  const body = buildBody(operation, input, keys, properties, required, defs);

  const responses: Record<string, ResponseRecipe> = {};
  const sharedDefs = new Set<string>();
  const responsesPointer = joinPointer(pointer, "responses");
  if (isObject(op.responses)) {
    for (const [status, raw] of Object.entries(op.responses)) {
      if (status.startsWith("x-")) continue;
      const resolved = converter.resolve(raw, joinPointer(responsesPointer, status));
      const json = jsonContent(resolved.value, resolved.pointer);
      if (!json) {
        responses[status] = {};
        continue;
      }
      const converted = converter.convert(json.schema, json.pointer, "validation");
      for (const d of converted.defs) sharedDefs.add(d);
      responses[status] = { mediaType: json.mediaType, schema: asSchema(converted.schema) };
    }
  }

  const inlined: JsonSchema = { type: "object", properties };
  if (required.length > 0) inlined.required = required;
  inlined.additionalProperties = false;
  if (defs.size > 0) inlined.$defs = converter.collectDefs(defs, "input");
  const inputSchema = fitInputSchema(inlined, operation, input);

  // A HEAD response has no body to be structured content, whatever the spec documents.
  const outputSchema =
    operation.method === "HEAD" ? undefined : buildOutputSchema(op, responsesPointer, converter);
  const security =
    op.security !== undefined
      ? effectiveSecurity(op.security, joinPointer(pointer, "security"), input)
      : effectiveSecurity(input.doc.security, "/security", input);
  const ownServer =
    serverFrom(op.servers, joinPointer(pointer, "servers"), input) ??
    serverFrom(operation.pathItem.servers, joinPointer(operation.pathItemPointer, "servers"), input);
  // Every request goes under the vendor's base URL, so credentials never reach another host
  // (a spec could name any server). An operation that declares another one is told about.
  if (ownServer !== undefined && input.baseUrl !== undefined && ownServer !== input.baseUrl) {
    input.warn({
      pointer,
      message: `declares the server ${ownServer}, but every request goes under the vendor base URL ${input.baseUrl} (credentials never go to other hosts); exclude the operation or give it its own vendor if it needs that server`,
    });
  }
  const serverUrl = input.vendorBaseUrl === undefined ? ownServer : undefined;

  const summary = typeof op.summary === "string" ? cleanText(op.summary, TOOL_TITLE_MAX_CHARS) : undefined;
  const draft: Draft = {
    ...(operation.operationId !== undefined ? { operationId: operation.operationId } : {}),
    ...(summary ? { title: summary } : {}),
    description: toolDescription(operation, summary),
    method: operation.method,
    path: operation.path,
    ...(serverUrl !== undefined && serverUrl !== input.baseUrl ? { serverUrl } : {}),
    params,
    ...(body ? { body } : {}),
    security,
    inputSchema,
    ...(outputSchema ? { outputSchema } : {}),
    responses,
    tags: operation.tags,
    ...(op.deprecated === true ? { deprecated: true } : {}),
    ...(idempotencyKeyHeader !== undefined ? { idempotencyKeyHeader } : {}),
  };
  responseDefs.set(draft, sharedDefs);
  const resource = rawResource(op, pointer, converter);
  if (resource !== undefined) rawResources.set(draft, resource);
  return draft;
}

/** The input schema within the size limit: as built, or with repeated subschemas shared; else the operation is skipped. */
function fitInputSchema(schema: JsonSchema, operation: Operation, input: BuildInput): JsonSchema {
  const limit = input.inputSchemaMaxBytes ?? INPUT_SCHEMA_MAX_BYTES;
  const bytes = JSON.stringify(schema).length;
  if (bytes <= limit) return schema;
  const shared = shareRepeatedSubschemas(schema, limit, (node) => input.converter.originName(node));
  if (shared.bytes > limit) {
    throw new Unsupported(
      operation.pointer,
      `input schema is ${bytes} bytes (${shared.bytes} with repeated subschemas shared through $defs); the limit is ${limit} (vendor.json "limits": {"inputSchemaMaxBytes": …} raises it)`,
    );
  }
  input.warn({
    pointer: operation.pointer,
    message: `input schema of ${bytes} bytes is over the ${limit}-byte limit inlined; ${shared.added.length} repeated subschema(s) shared through $defs bring it to ${shared.bytes} bytes`,
  });
  return shared.schema;
}

function toolDescription(operation: Operation, summary: string | undefined): string {
  const description =
    typeof operation.op.description === "string"
      ? cleanText(operation.op.description, TOOL_DESCRIPTION_MAX_CHARS)
      : "";
  const parts: string[] = [];
  if (operation.op.deprecated === true) parts.push("Deprecated.");
  if (summary && !description.startsWith(summary)) parts.push(summary);
  if (description) parts.push(description);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "Deprecated.")) {
    parts.push(`${operation.method} ${operation.path}`);
  }
  return cleanText(parts.join("\n\n"), TOOL_DESCRIPTION_MAX_CHARS);
}

function asSchema(schema: JsonSchema | boolean): JsonSchema {
  if (typeof schema === "boolean") return schema ? {} : { not: {} };
  return schema;
}

/** Adds parameter-level annotations without touching the (shared, memoized) converted schema. */
function annotate(
  schema: JsonSchema | boolean,
  extra: { description?: string | undefined; deprecated?: boolean; examples?: unknown[] | undefined },
): JsonSchema {
  const out: JsonSchema = { ...asSchema(schema) };
  if (extra.description) out.description = cleanText(extra.description, 1_000);
  if (extra.deprecated) out.deprecated = true;
  if (extra.examples && extra.examples.length > 0 && !("examples" in out)) out.examples = extra.examples;
  return out;
}

function paramExamples(
  param: Record<string, unknown>,
  converter: SchemaConverter,
  pointer: string,
): unknown[] | undefined {
  if ("example" in param) return [param.example];
  if (!isObject(param.examples)) return undefined;
  const values: unknown[] = [];
  for (const [name, raw] of Object.entries(param.examples)) {
    try {
      const example = converter.resolve(raw, joinPointer(joinPointer(pointer, "examples"), name)).value;
      if (isObject(example) && "value" in example) values.push(example.value);
    } catch {
      // An unresolvable example is only an annotation.
    }
  }
  return values.length > 0 ? values : undefined;
}

type MediaClass = BodyEncoding | "unsupported";
const ENCODING_PREFERENCE: BodyEncoding[] = ["json", "form", "multipart", "text", "binary"];

function baseMediaType(mediaType: string): string {
  return mediaType.split(";")[0]!.trim().toLowerCase();
}

export function isJsonMediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return base === "application/json" || base.endsWith("+json") || base === "text/json";
}

function isBinarySchema(schema: unknown): boolean {
  return (
    isObject(schema) &&
    (schema.format === "binary" ||
      (typeof schema.contentMediaType === "string" && schema.contentEncoding === undefined) ||
      schema.contentEncoding === "base64")
  );
}

function classifyRequestMedia(mediaType: string, schema: unknown): MediaClass {
  const base = baseMediaType(mediaType);
  if (isJsonMediaType(base)) return "json";
  if (base === "application/x-www-form-urlencoded") return "form";
  if (base === "multipart/form-data") return "multipart";
  if (base === "*/*" || base === "application/*") return isBinarySchema(schema) ? "binary" : "json";
  if (
    base.startsWith("text/") ||
    base === "application/xml" ||
    base.endsWith("+xml") ||
    base === "application/yaml" ||
    base === "application/x-yaml"
  ) {
    return "text";
  }
  if (
    base === "application/octet-stream" ||
    base === "application/pdf" ||
    base === "application/zip" ||
    /^(image|audio|video|font)\//.test(base) ||
    isBinarySchema(schema)
  ) {
    return "binary";
  }
  return "unsupported";
}

/** The media type actually sent: wildcards are not a Content-Type. */
function concreteMediaType(mediaType: string, encoding: BodyEncoding): string {
  const base = baseMediaType(mediaType);
  if (base.includes("*")) return encoding === "binary" ? "application/octet-stream" : "application/json";
  return mediaType;
}

interface ShapeProperty {
  node: unknown;
  pointer: string;
}

interface ObjectShape {
  properties: Map<string, ShapeProperty>;
  required: Set<string>;
}

/** The properties of an object body (through `$ref` and `allOf`), or `undefined` when it cannot be spread. */
function objectShape(
  node: unknown,
  pointer: string,
  converter: SchemaConverter,
  seen = new Set<string>(),
): ObjectShape | undefined {
  const resolved = converter.resolve(node, pointer);
  if (seen.has(resolved.pointer)) return undefined;
  seen.add(resolved.pointer);
  const schema = resolved.value;
  if (!isObject(schema)) return undefined;
  if (
    "oneOf" in schema ||
    "anyOf" in schema ||
    "not" in schema ||
    "if" in schema ||
    schema.nullable === true
  ) {
    return undefined;
  }
  if (schema.type !== undefined && schema.type !== "object") return undefined;
  const shape: ObjectShape = { properties: new Map(), required: new Set() };
  if (Array.isArray(schema.allOf)) {
    for (let i = 0; i < schema.allOf.length; i++) {
      const part = objectShape(
        schema.allOf[i],
        joinPointer(joinPointer(resolved.pointer, "allOf"), i),
        converter,
        seen,
      );
      if (!part) return undefined;
      for (const [name, prop] of part.properties) {
        const existing = shape.properties.get(name);
        if (existing && JSON.stringify(existing.node) !== JSON.stringify(prop.node)) return undefined;
        shape.properties.set(name, prop);
      }
      for (const r of part.required) shape.required.add(r);
    }
  }
  if (isObject(schema.properties)) {
    for (const [name, prop] of Object.entries(schema.properties)) {
      if (
        shape.properties.has(name) &&
        JSON.stringify(shape.properties.get(name)!.node) !== JSON.stringify(prop)
      ) {
        return undefined;
      }
      shape.properties.set(name, {
        node: prop,
        pointer: joinPointer(joinPointer(resolved.pointer, "properties"), name),
      });
    }
  }
  if (Array.isArray(schema.required))
    for (const r of schema.required) if (typeof r === "string") shape.required.add(r);
  return shape;
}

function isFileProperty(
  node: unknown,
  pointer: string,
  converter: SchemaConverter,
): "file" | "files" | undefined {
  const { value } = converter.resolve(node, pointer);
  if (isBinarySchema(value)) return "file";
  if (
    isObject(value) &&
    value.type === "array" &&
    isBinarySchema(converter.resolve(value.items, pointer).value)
  ) {
    return "files";
  }
  return undefined;
}

function buildBody(
  operation: Operation,
  input: BuildInput,
  keys: KeyAllocator,
  properties: JsonSchema,
  required: string[],
  defs: Set<string>,
): BodyRecipe | undefined {
  const { converter } = input;
  if (operation.op.requestBody === undefined) return undefined;
  const bodyPointer = joinPointer(operation.pointer, "requestBody");
  const { value: requestBody, pointer: resolvedPointer } = converter.resolve(
    operation.op.requestBody,
    bodyPointer,
  );
  if (!isObject(requestBody) || !isObject(requestBody.content)) return undefined;
  const bodyRequired = requestBody.required === true;
  const contentPointer = joinPointer(resolvedPointer, "content");
  const mediaTypes = Object.keys(requestBody.content);
  // The most tool-friendly supported media type (JSON first); spec order breaks ties.
  let chosen: { mediaType: string; media: Record<string, unknown>; encoding: BodyEncoding } | undefined;
  for (const mediaType of mediaTypes) {
    const media = requestBody.content[mediaType];
    if (!isObject(media)) continue;
    const encoding = classifyRequestMedia(mediaType, converter.resolve(media.schema, contentPointer).value);
    if (encoding === "unsupported") continue;
    if (!chosen || ENCODING_PREFERENCE.indexOf(encoding) < ENCODING_PREFERENCE.indexOf(chosen.encoding)) {
      chosen = { mediaType, media, encoding };
    }
  }
  if (!chosen) {
    const message = `request body media type${mediaTypes.length === 1 ? "" : "s"} ${mediaTypes.join(", ") || "(none)"} not supported (supported: JSON, form-urlencoded, multipart/form-data, text, binary)`;
    if (bodyRequired || mediaTypes.length === 0) throw new Unsupported(contentPointer, message);
    input.warn({ pointer: contentPointer, message: `optional ${message}; the tool sends no body` });
    return undefined;
  }
  const { media, encoding } = chosen;
  const mediaPointer = joinPointer(contentPointer, chosen.mediaType);
  const schemaNode = media.schema ?? {};
  const schemaPointer = joinPointer(mediaPointer, "schema");
  const description = typeof requestBody.description === "string" ? requestBody.description : undefined;
  const recipe: BodyRecipe = {
    mediaType: concreteMediaType(chosen.mediaType, encoding),
    encoding,
    required: bodyRequired,
    mode: "wrap",
  };

  const shape =
    encoding === "json" || encoding === "form" || encoding === "multipart"
      ? objectShape(schemaNode, schemaPointer, converter)
      : undefined;
  if (shape && shape.properties.size > 0) {
    recipe.mode = "spread";
    const mapping: Record<string, string> = {};
    const parts: Record<string, BodyPartRecipe> = {};
    const encodingMap = isObject(media.encoding) ? media.encoding : {};
    for (const [name, prop] of shape.properties) {
      if (converter.flag(prop.node, prop.pointer, "readOnly")) continue;
      const base = safeArgKey(name);
      const key = keys.claim(base, `body_${base}`);
      mapping[key] = name;
      const file = encoding === "multipart" ? isFileProperty(prop.node, prop.pointer, converter) : undefined;
      if (file) {
        const propSchema = converter.resolve(prop.node, prop.pointer).value;
        const described =
          isObject(propSchema) && typeof propSchema.description === "string"
            ? propSchema.description
            : undefined;
        properties[key] = annotate(
          file === "files" ? { type: "array", items: FILE_ARGUMENT_SCHEMA } : FILE_ARGUMENT_SCHEMA,
          { description: described },
        );
      } else {
        const converted = converter.convert(prop.node, prop.pointer, "input");
        for (const d of converted.defs) defs.add(d);
        properties[key] = asSchema(converted.schema);
      }
      if (bodyRequired && shape.required.has(name)) required.push(key);
      if (encoding === "multipart" || encoding === "form") {
        const part = partRecipe(encodingMap[name], encoding, file !== undefined);
        if (part) parts[name] = part;
      }
    }
    recipe.properties = mapping;
    if (Object.keys(parts).length > 0) recipe.parts = parts;
    return recipe;
  }

  const key = keys.claim("body", "requestBody");
  recipe.key = key;
  let argSchema: JsonSchema;
  if (encoding === "binary") {
    argSchema = { ...FILE_ARGUMENT_SCHEMA };
  } else if (encoding === "text") {
    const converted = converter.convert(schemaNode, schemaPointer, "input");
    const schema = asSchema(converted.schema);
    argSchema = schema.type === "string" ? schema : { type: "string" };
  } else {
    const converted = converter.convert(schemaNode, schemaPointer, "input");
    for (const d of converted.defs) defs.add(d);
    argSchema = asSchema(converted.schema);
  }
  properties[key] = annotate(argSchema, {
    description: description ?? `The request body (${recipe.mediaType}).`,
  });
  if (bodyRequired) required.push(key);
  return recipe;
}

function partRecipe(raw: unknown, encoding: "multipart" | "form", file: boolean): BodyPartRecipe | undefined {
  const part: BodyPartRecipe = {};
  if (file) part.file = true;
  if (isObject(raw)) {
    if (typeof raw.contentType === "string") part.contentType = raw.contentType;
    if (
      typeof raw.style === "string" &&
      ["form", "spaceDelimited", "pipeDelimited", "deepObject"].includes(raw.style)
    ) {
      part.style = raw.style as ParamStyle;
    }
    if (typeof raw.explode === "boolean") part.explode = raw.explode;
    else if (part.style !== undefined) part.explode = part.style === "form";
  }
  if (encoding === "form" && part.file) delete part.file;
  return Object.keys(part).length > 0 ? part : undefined;
}

/** The JSON content of a response, when it has one with a schema. */
function jsonContent(
  response: unknown,
  pointer: string,
): { mediaType: string; schema: unknown; pointer: string } | undefined {
  if (!isObject(response) || !isObject(response.content)) return undefined;
  const contentPointer = joinPointer(pointer, "content");
  const entries = Object.entries(response.content);
  const pick =
    entries.find(([type, media]) => isJsonMediaType(type) && isObject(media) && media.schema !== undefined) ??
    entries.find(
      ([type, media]) => baseMediaType(type) === "*/*" && isObject(media) && media.schema !== undefined,
    );
  if (!pick) return undefined;
  const [mediaType, media] = pick as [string, Record<string, unknown>];
  return {
    mediaType: baseMediaType(mediaType) === "*/*" ? "application/json" : mediaType,
    schema: media.schema,
    pointer: joinPointer(joinPointer(contentPointer, mediaType), "schema"),
  };
}

/**
 * `outputSchema` only when every success response returns the same JSON object schema
 * (MCP requires structured content matching it on every successful call) and it is small.
 *
 * The schema is the TOLERANT form of the documented one (see scripts/compiler/schema.ts):
 * clients reject any structured result that does not match it, and specs understate
 * what APIs return, so it describes the shape without the constraints real responses
 * break. The root stays exactly `type: "object"`, as MCP requires.
 */
function buildOutputSchema(
  op: Record<string, unknown>,
  responsesPointer: string,
  converter: SchemaConverter,
): JsonSchema | undefined {
  if (!isObject(op.responses)) return undefined;
  const successes = Object.keys(op.responses).filter((s) => /^2(\d\d|XX)$/i.test(s));
  if (successes.length === 0) return undefined;
  let chosen: { schema: unknown; pointer: string; identity: string } | undefined;
  for (const status of successes) {
    let resolved: { value: unknown; pointer: string };
    try {
      resolved = converter.resolve(op.responses[status], joinPointer(responsesPointer, status));
    } catch {
      return undefined;
    }
    const json = jsonContent(resolved.value, resolved.pointer);
    if (!json) return undefined;
    const target = converter.resolve(json.schema, json.pointer);
    const identity =
      isObject(json.schema) && typeof json.schema.$ref === "string"
        ? target.pointer
        : JSON.stringify(json.schema);
    if (chosen && chosen.identity !== identity) return undefined;
    chosen ??= { schema: json.schema, pointer: json.pointer, identity };
  }
  if (!chosen) return undefined;
  const root = converter.convertRoot(chosen.schema, chosen.pointer, "output");
  if (typeof root.schema === "boolean") return undefined;
  const schema: JsonSchema = { ...root.schema };
  // Tolerant types allow null everywhere; the root is the structured content itself, always an object.
  const rootType = schema.type;
  if (
    Array.isArray(rootType) &&
    rootType.length === 2 &&
    rootType.includes("object") &&
    rootType.includes("null")
  )
    schema.type = "object";
  // An object by its properties or by allOf of objects: say so, MCP wants `type: "object"` at the root.
  if (schema.type === undefined && objectShape(chosen.schema, chosen.pointer, converter))
    schema.type = "object";
  if (schema.type !== "object") return undefined;
  const rootBytes = JSON.stringify(schema).length;
  if (rootBytes > OUTPUT_SCHEMA_MAX_BYTES) return undefined;
  if (root.defs.size > 0) {
    const defs = converter.collectDefs(root.defs, "output", OUTPUT_SCHEMA_MAX_BYTES - rootBytes);
    if (!defs) return undefined;
    schema.$defs = defs;
  }
  return JSON.stringify(schema).length <= OUTPUT_SCHEMA_MAX_BYTES ? schema : undefined;
}

/**
 * Security requirements, keeping the bundle invariant that every scheme named exists in
 * `securitySchemes` (OpenAPI says it MUST; specs in the wild break it, so this warns).
 */
function effectiveSecurity(raw: unknown, pointer: string, input: BuildInput): SecurityRequirement[] {
  if (!Array.isArray(raw)) return [];
  const out: SecurityRequirement[] = [];
  raw.forEach((requirement, i) => {
    if (!isObject(requirement)) return;
    const kept: SecurityRequirement = {};
    for (const [name, scopes] of Object.entries(requirement)) {
      if (!(name in input.securitySchemes)) {
        input.warn({
          pointer: joinPointer(joinPointer(pointer, i), name),
          message: `security requirement names the undeclared or unusable scheme "${name}"; ignored`,
        });
        continue;
      }
      kept[name] = Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === "string") : [];
    }
    out.push(kept);
  });
  return out;
}

/** Substitutes server variables with their defaults; `undefined` when the URL is not usable. */
export function serverUrlOf(server: unknown): string | undefined {
  if (!isObject(server) || typeof server.url !== "string") return undefined;
  const variables = isObject(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^}]+)\}/g, (match, name: string) => {
    const variable = variables[name];
    return isObject(variable) && variable.default !== undefined ? String(variable.default) : match;
  });
  if (/\{[^}]*\}/.test(url)) return undefined;
  return url.replace(/\/+$/, "");
}

/** The first usable server of a `servers` list, made absolute against the base URL. */
function serverFrom(servers: unknown, pointer: string, input: BuildInput): string | undefined {
  if (!Array.isArray(servers) || servers.length === 0) return undefined;
  const url = pickServer(servers);
  if (url === undefined) {
    input.warn({
      pointer,
      message: "no usable server URL (http(s), variables with defaults); using the vendor base URL",
    });
    return undefined;
  }
  if (/^https?:\/\//i.test(url)) return url;
  if (input.baseUrl === undefined) return undefined;
  return new URL(url.startsWith("/") ? url.slice(1) : url, `${input.baseUrl}/`).href.replace(/\/+$/, "");
}

/** First https server, else first http one, else the first relative one. */
export function pickServer(servers: readonly unknown[]): string | undefined {
  const urls = servers.map(serverUrlOf).filter((u): u is string => u !== undefined);
  return (
    urls.find((u) => /^https:\/\//i.test(u)) ??
    urls.find((u) => /^http:\/\//i.test(u)) ??
    urls.find((u) => !/^[a-z][a-z0-9+.-]*:/i.test(u))
  );
}

export function pathPointer(path: string, method: string): string {
  return `/paths/${escapeToken(path)}/${method.toLowerCase()}`;
}
