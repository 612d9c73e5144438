/**
 * The upstream fixture vendors as bundles, written by hand in the shape the
 * compiler emits for `test/fixtures/specs/up-*` (same names, paths and params).
 * They let the executor be tested before/independently of the compiler.
 */
import type {
  BodyRecipe,
  HttpMethod,
  JsonSchema,
  ParamRecipe,
  SecurityRequirement,
  SecurityScheme,
  ToolRecipe,
  VendorBundle,
} from "../../../src/bundle/types.ts";

interface ToolSpec {
  name: string;
  method?: HttpMethod;
  path: string;
  params?: ParamRecipe[];
  body?: BodyRecipe;
  security?: SecurityRequirement[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  defs?: Record<string, JsonSchema>;
  outputSchema?: JsonSchema;
}

function param(
  key: string,
  where: ParamRecipe["in"],
  style: ParamRecipe["style"],
  explode: boolean,
  extra: Partial<ParamRecipe> = {},
): ParamRecipe {
  return { key, name: key, in: where, style, explode, required: where === "path", ...extra };
}

function tool(spec: ToolSpec): ToolRecipe {
  const inputSchema: JsonSchema = {
    type: "object",
    properties: spec.properties ?? {},
    additionalProperties: false,
  };
  if (spec.required?.length) inputSchema.required = spec.required;
  if (spec.defs) inputSchema.$defs = spec.defs;
  return {
    name: spec.name,
    operationId: spec.name,
    description: `${spec.name} (fixture)`,
    method: spec.method ?? "GET",
    path: spec.path,
    params: spec.params ?? [],
    ...(spec.body ? { body: spec.body } : {}),
    security: spec.security ?? [],
    inputSchema,
    ...(spec.outputSchema ? { outputSchema: spec.outputSchema } : {}),
    responses: { "200": { mediaType: "application/json" } },
    tags: [],
  };
}

function bundle(vendor: string, tools: ToolRecipe[], extra: Partial<VendorBundle> = {}): VendorBundle {
  return {
    formatVersion: 1,
    vendor,
    displayName: vendor,
    contentHash: "0".repeat(64),
    specTitle: vendor,
    specVersion: "1.0.0",
    // Overridden by <VENDOR>_BASE_URL (test/support/upstream-bindings.ts); never reached.
    baseUrl: "http://127.0.0.1:9/unused",
    securitySchemes: {},
    schemas: {},
    tools,
    ...extra,
  };
}

const str: JsonSchema = { type: "string" };
const strArray: JsonSchema = { type: "array", items: { type: "string" } };
const rgb: JsonSchema = {
  type: "object",
  properties: { R: { type: "integer" }, G: { type: "integer" }, B: { type: "integer" } },
};

function pathStyleTool(
  name: string,
  style: ParamRecipe["style"],
  explode: boolean,
  segment: string,
): ToolRecipe {
  return tool({
    name,
    path: `/path/${segment}/{prim}/{arr}/{obj}`,
    params: [
      param("prim", "path", style, explode),
      param("arr", "path", style, explode),
      param("obj", "path", style, explode),
    ],
    properties: { prim: str, arr: strArray, obj: rgb },
    required: ["prim", "arr", "obj"],
  });
}

export const upParams: VendorBundle = bundle("up-params", [
  pathStyleTool("pathSimple", "simple", false, "simple"),
  pathStyleTool("pathSimpleExplode", "simple", true, "simple-explode"),
  pathStyleTool("pathLabel", "label", false, "label"),
  pathStyleTool("pathLabelExplode", "label", true, "label-explode"),
  pathStyleTool("pathMatrix", "matrix", false, "matrix"),
  pathStyleTool("pathMatrixExplode", "matrix", true, "matrix-explode"),
  tool({
    name: "getFile",
    path: "/files/{name}/meta",
    params: [param("name", "path", "simple", false)],
    properties: { name: str },
    required: ["name"],
  }),
  tool({
    name: "queryForm",
    path: "/query/form",
    params: [
      param("q", "query", "form", true),
      param("tags", "query", "form", true),
      param("ids", "query", "form", false),
      param("filter", "query", "form", true),
      param("range", "query", "form", false),
      param("flag", "query", "form", true),
      param("limit", "query", "form", true),
    ],
    properties: {
      q: str,
      tags: strArray,
      ids: { type: "array", items: { type: "integer" } },
      filter: { type: "object", properties: { status: str, owner: str } },
      range: { type: "object", properties: { from: { type: "integer" }, to: { type: "integer" } } },
      flag: { type: "boolean" },
      limit: { type: "integer", minimum: 1, maximum: 100 },
    },
  }),
  tool({
    name: "queryDelimited",
    path: "/query/delimited",
    params: [
      param("space", "query", "spaceDelimited", false),
      param("pipe", "query", "pipeDelimited", false),
      param("spaceObj", "query", "spaceDelimited", false),
    ],
    properties: { space: strArray, pipe: strArray, spaceObj: rgb },
  }),
  tool({
    name: "queryDeep",
    path: "/query/deep",
    params: [param("filter", "query", "deepObject", true)],
    properties: {
      filter: {
        type: "object",
        properties: {
          status: str,
          created: { type: "object", properties: { gte: str, lt: str } },
          ids: strArray,
        },
      },
    },
  }),
  tool({
    name: "queryReserved",
    path: "/query/reserved",
    params: [
      param("callback", "query", "form", true, { allowReserved: true }),
      param("plain", "query", "form", true),
    ],
    properties: { callback: str, plain: str },
  }),
  tool({
    name: "queryJson",
    path: "/query/json",
    params: [param("where", "query", "form", true, { contentType: "application/json" })],
    properties: { where: { type: "object" } },
  }),
  tool({
    name: "headersAndCookies",
    path: "/headers",
    params: [
      { ...param("x_trace", "header", "simple", false), name: "X-Trace" },
      { ...param("x_list", "header", "simple", false), name: "X-List" },
      { ...param("x_obj", "header", "simple", true), name: "X-Obj" },
      param("session", "cookie", "form", true),
      param("prefs", "cookie", "form", false),
    ],
    properties: { x_trace: str, x_list: strArray, x_obj: rgb, session: str, prefs: strArray },
  }),
]);

const fileArg: JsonSchema = {
  anyOf: [
    { type: "string" },
    {
      type: "object",
      properties: {
        content: { type: "string" },
        encoding: { enum: ["base64", "text"] },
        filename: { type: "string" },
        contentType: { type: "string" },
      },
      required: ["content"],
      additionalProperties: false,
    },
  ],
};

export const upBodies: VendorBundle = bundle("up-bodies", [
  tool({
    name: "createJson",
    method: "POST",
    path: "/json",
    body: {
      mediaType: "application/json",
      encoding: "json",
      required: true,
      mode: "spread",
      properties: { name: "name", count: "count", meta: "meta", items: "items" },
    },
    properties: {
      name: str,
      count: { type: "integer" },
      meta: { type: "object", properties: { color: str } },
      items: { type: "array", items: { type: "object", properties: { sku: str, qty: { type: "integer" } } } },
    },
    required: ["name"],
  }),
  tool({
    name: "replaceList",
    method: "PUT",
    path: "/json-wrap",
    body: { mediaType: "application/json", encoding: "json", required: true, mode: "wrap", key: "body" },
    properties: { body: strArray },
    required: ["body"],
  }),
  tool({
    name: "submitForm",
    method: "POST",
    path: "/form",
    body: {
      mediaType: "application/x-www-form-urlencoded",
      encoding: "form",
      required: true,
      mode: "spread",
      properties: { name: "name", tags: "tags", filter: "filter", payload: "payload" },
      parts: { filter: { style: "deepObject", explode: true }, payload: { contentType: "application/json" } },
    },
    properties: {
      name: str,
      tags: strArray,
      filter: { type: "object", properties: { status: str } },
      payload: { type: "object" },
    },
  }),
  tool({
    name: "upload",
    method: "POST",
    path: "/multipart",
    body: {
      mediaType: "multipart/form-data",
      encoding: "multipart",
      required: true,
      mode: "spread",
      properties: {
        file: "file",
        description: "description",
        meta: "meta",
        attachments: "attachments",
        labels: "labels",
      },
      parts: {
        file: { file: true, contentType: "application/octet-stream" },
        attachments: { file: true },
      },
    },
    properties: {
      file: fileArg,
      description: str,
      meta: { type: "object" },
      attachments: { type: "array", items: fileArg },
      labels: strArray,
    },
    required: ["file"],
  }),
  tool({
    name: "sendText",
    method: "POST",
    path: "/text",
    body: { mediaType: "text/plain", encoding: "text", required: true, mode: "wrap", key: "body" },
    properties: { body: str },
    required: ["body"],
  }),
  tool({
    name: "sendBinary",
    method: "POST",
    path: "/binary",
    body: {
      mediaType: "application/octet-stream",
      encoding: "binary",
      required: true,
      mode: "wrap",
      key: "body",
    },
    properties: { body: { type: "string", contentEncoding: "base64" } },
    required: ["body"],
  }),
  tool({
    name: "createRecord",
    method: "POST",
    path: "/records",
    body: {
      mediaType: "application/json",
      encoding: "json",
      required: true,
      mode: "spread",
      properties: {
        name: "name",
        age: "age",
        score: "score",
        step: "step",
        kind: "kind",
        version: "version",
        tags: "tags",
        owner: "owner",
        contact: "contact",
        pet: "pet",
        tree: "tree",
        window: "window",
      },
    },
    properties: {
      name: { type: "string", minLength: 2, maxLength: 10, pattern: "^[a-z]+$" },
      age: { type: "integer", minimum: 0, maximum: 150 },
      score: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
      step: { type: "number", multipleOf: 0.5 },
      kind: { enum: ["person", "robot"] },
      version: { const: 2 },
      tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3, uniqueItems: true },
      owner: {
        type: "object",
        properties: { id: { type: "string", format: "uuid" }, email: { type: "string", format: "email" } },
        required: ["id"],
        additionalProperties: false,
      },
      contact: {
        oneOf: [
          {
            type: "object",
            properties: { phone: { type: "string", pattern: "^\\+\\d+$" } },
            required: ["phone"],
          },
          { type: "object", properties: { url: { type: "string", format: "uri" } }, required: ["url"] },
        ],
      },
      pet: {
        allOf: [
          { type: "object", properties: { species: { enum: ["cat", "dog"] } }, required: ["species"] },
          { type: "object", properties: { born: { type: "string", format: "date" } } },
        ],
      },
      tree: { $ref: "#/$defs/node" },
      window: {
        anyOf: [
          { type: "string", format: "duration" },
          { type: "integer", minimum: 1 },
        ],
      },
    },
    required: ["name", "age"],
    defs: {
      node: {
        type: "object",
        properties: {
          label: { type: "string", minLength: 1 },
          children: { type: "array", items: { $ref: "#/$defs/node" } },
        },
        required: ["label"],
        additionalProperties: false,
      },
    },
  }),
]);

const authSchemes: Record<string, SecurityScheme> = {
  headerKey: { type: "apiKey", in: "header", name: "X-API-Key" },
  queryKey: { type: "apiKey", in: "query", name: "api_key" },
  cookieKey: { type: "apiKey", in: "cookie", name: "auth_token" },
  bearer: { type: "http", scheme: "bearer" },
  basic: { type: "http", scheme: "basic" },
};

function authTool(name: string, security: SecurityRequirement[]): ToolRecipe {
  return tool({
    name,
    path: `/auth/${name}`,
    params: [param("q", "query", "form", true)],
    properties: { q: str },
    security,
  });
}

export const upAuth: VendorBundle = bundle(
  "up-auth",
  [
    authTool("withHeaderKey", [{ headerKey: [] }]),
    authTool("withQueryKey", [{ queryKey: [] }]),
    authTool("withCookieKey", [{ cookieKey: [] }]),
    authTool("withBearer", [{ bearer: [] }]),
    authTool("withBasic", [{ basic: [] }]),
    authTool("withBoth", [{ headerKey: [], queryKey: [] }]),
    authTool("optionalAuth", [{}, { bearer: [] }]),
    authTool("publicOp", []),
  ],
  { securitySchemes: authSchemes },
);

const bytesParam = param("bytes", "path", "simple", false);

export const upResponses: VendorBundle = bundle("up-responses", [
  tool({
    name: "getJson",
    path: "/respond/json",
    outputSchema: { type: "object", properties: { id: { type: "integer" }, name: str } },
  }),
  tool({ name: "getArray", path: "/respond/array", outputSchema: { type: "object" } }),
  tool({ name: "getText", path: "/respond/text" }),
  tool({ name: "getHtml", path: "/respond/html" }),
  tool({ name: "getImage", path: "/respond/image" }),
  tool({ name: "getPdf", path: "/respond/pdf" }),
  tool({ name: "getEmpty", path: "/respond/empty" }),
  tool({
    name: "getHuge",
    path: "/respond/huge/{bytes}",
    params: [bytesParam],
    properties: { bytes: { type: "integer" } },
    required: ["bytes"],
  }),
  tool({
    name: "getHugeBinary",
    path: "/respond/huge-binary/{bytes}",
    params: [bytesParam],
    properties: { bytes: { type: "integer" } },
    required: ["bytes"],
  }),
  tool({
    name: "getStatus",
    path: "/respond/status/{code}/{kind}",
    params: [param("code", "path", "simple", false), param("kind", "path", "simple", false)],
    properties: {
      code: { type: "integer" },
      kind: { enum: ["html", "cloudflare", "json", "text", "empty"] },
    },
    required: ["code", "kind"],
  }),
  tool({ name: "hang", path: "/respond/hang" }),
  tool({ name: "hangBody", path: "/respond/hang-body" }),
  tool({
    name: "redirect",
    path: "/respond/redirect/{kind}",
    params: [param("kind", "path", "simple", false)],
    properties: { kind: { enum: ["same", "cross", "loop"] } },
    required: ["kind"],
  }),
  tool({
    name: "redirectPost",
    method: "POST",
    path: "/respond/redirect/post",
    body: {
      mediaType: "application/json",
      encoding: "json",
      required: true,
      mode: "spread",
      properties: { note: "note" },
    },
    properties: { note: str },
  }),
]);

export function toolOf(vendor: VendorBundle, name: string): ToolRecipe {
  const found = vendor.tools.find((t) => t.name === name);
  if (!found) throw new Error(`fixture tool ${name} not in ${vendor.vendor}`);
  return found;
}
