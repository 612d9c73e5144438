/**
 * The precompiled spec bundle: the contract between the Node-only compiler
 * (`scripts/compiler/`) and the Worker. The compiler writes one bundle per
 * vendor into `src/generated/`; the Worker never sees an OpenAPI document.
 *
 * Everything here is plain JSON so a bundle can be shipped as a string and
 * parsed lazily on the first request that needs the vendor (cheap startup).
 *
 * @module
 */

/** Bumped whenever the shape below changes incompatibly. */
export const BUNDLE_FORMAT_VERSION = 1;

/** A JSON Schema (draft 2020-12) object, kept as plain JSON. */
export type JsonSchema = { [key: string]: unknown };

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE" | "OPTIONS" | "HEAD" | "PATCH" | "TRACE";

export type ParamLocation = "path" | "query" | "header" | "cookie";

/** OpenAPI 3 parameter styles (Swagger 2.0 `collectionFormat` is converted to these). */
export type ParamStyle =
  | "simple"
  | "label"
  | "matrix"
  | "form"
  | "spaceDelimited"
  | "pipeDelimited"
  | "deepObject";

/** How one tool argument becomes one parameter on the wire. */
export interface ParamRecipe {
  /** Key in the tool's input schema (safe: `[A-Za-z0-9_-]`). */
  key: string;
  /** Name on the wire (`filter[status]`, `X-Api-Version`). */
  name: string;
  in: ParamLocation;
  style: ParamStyle;
  explode: boolean;
  required: boolean;
  /** Query only: reserved characters are sent unencoded. */
  allowReserved?: boolean;
  /** Set when the parameter uses `content` instead of `schema`: the value is serialized with this media type. */
  contentType?: string;
}

/** How the request body is serialized. */
export type BodyEncoding = "json" | "form" | "multipart" | "text" | "binary";

/** Per-property encoding of a multipart or form body. */
export interface BodyPartRecipe {
  /** Explicit part content type from `encoding.contentType`. */
  contentType?: string;
  /**
   * The part is a file: the argument is `{ content, encoding?: "base64" | "text", filename?, contentType? }`
   * or a plain string (text content).
   */
  file?: boolean;
  /** Form/multipart style and explode from the `encoding` object. */
  style?: ParamStyle;
  explode?: boolean;
}

export interface BodyRecipe {
  /**
   * The media type sent as `Content-Type`: the most tool-friendly supported one in the spec
   * (JSON, then form, multipart, text, binary; spec order within each).
   */
  mediaType: string;
  encoding: BodyEncoding;
  required: boolean;
  /**
   * `spread`: the body is an object whose properties are top-level tool arguments
   *           (see `properties`, argument key → body property name).
   * `wrap`:   the whole body is the single argument `key` (non-object bodies, or when
   *           spreading would clash with parameter keys).
   */
  mode: "spread" | "wrap";
  /**
   * `wrap` only: the argument key holding the whole body. For `binary` bodies the argument has
   * the file shape described at `BodyPartRecipe.file`.
   */
  key?: string;
  /** `spread` only: argument key → body property name. */
  properties?: Record<string, string>;
  /** Multipart/form only: per body-property (wire name) encoding. */
  parts?: Record<string, BodyPartRecipe>;
}

/** One alternative of a security requirement: scheme name → required scopes. All must be satisfied. */
export type SecurityRequirement = Record<string, string[]>;

export type SecurityScheme =
  | { type: "apiKey"; in: "header" | "query" | "cookie"; name: string; description?: string }
  | { type: "http"; scheme: string; bearerFormat?: string; description?: string }
  | {
      type: "oauth2";
      flows: {
        clientCredentials?: { tokenUrl: string; refreshUrl?: string; scopes: Record<string, string> };
        authorizationCode?: {
          authorizationUrl: string;
          tokenUrl: string;
          refreshUrl?: string;
          scopes: Record<string, string>;
        };
        implicit?: { authorizationUrl: string; refreshUrl?: string; scopes: Record<string, string> };
        password?: { tokenUrl: string; refreshUrl?: string; scopes: Record<string, string> };
      };
      description?: string;
    }
  | { type: "openIdConnect"; openIdConnectUrl: string; description?: string }
  | { type: "mutualTLS"; description?: string };

/** A response the spec describes, for response validation and `outputSchema`. */
export interface ResponseRecipe {
  /** The JSON media type, when the response has one. */
  mediaType?: string;
  /**
   * The response body schema. May contain `$ref: "#/$defs/<name>"` pointing into the
   * vendor's shared `schemas` table (large response schemas are shared, not inlined).
   */
  schema?: JsonSchema;
}

/**
 * What every vendor kind lists for one tool: the part the MCP layer (listing, discovery,
 * allowlists, scopes) reads. Each kind extends it with what it needs to run the call.
 */
export interface ToolDefinition {
  /** Unprefixed tool name, unique within the vendor, `[A-Za-z0-9_-]{1,64}`. */
  name: string;
  /** The operationId in the spec, when there is one (OpenAPI kind). */
  operationId?: string;
  title?: string;
  description: string;
  /** JSON Schema of the arguments (type object). */
  inputSchema: JsonSchema;
  /** JSON Schema of `structuredContent`, when the tool declares one. */
  outputSchema?: JsonSchema;
  tags: string[];
  deprecated?: boolean;
  /**
   * Arguments the operator fixed in vendor.json (`tools.<tool>.fixed`): absent from `inputSchema`
   * (so a client sending one is refused as an unknown argument), checked against their schemas at
   * compile time, and merged into the validated arguments before the call is made.
   */
  fixed?: Record<string, unknown>;
  /** Tool `_meta` from the vendor (an upstream MCP server's MCP Apps `ui` links); its MCP Apps keys are listed. */
  meta?: Record<string, unknown>;
  /**
   * What the operation acts on, for discovery search only (never listed to clients): an index
   * into the bundle's `resources` (the operations on one schema share an entry). The OpenAPI
   * compiler derives it (scripts/compiler/resource.ts); MCP tools have none. Optional, so
   * bundles without it stay valid.
   */
  resource?: number;
}

/**
 * The schema an operation sends or returns, as discovery search indexes it: texts most of the
 * vendor's operations share are left out, and everything is bounded.
 */
export interface ToolResource {
  /** The schema's title and description (the request body's, then the response's or its list elements'). */
  description?: string;
  /**
   * Its properties two levels down, each `path: first sentence of its description`
   * (`spec.schedule: The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron`).
   */
  properties?: string[];
}

/** Everything needed to list a tool and turn its arguments into one upstream HTTP request. */
export interface ToolRecipe extends ToolDefinition {
  method: HttpMethod;
  /** Path template from the spec, e.g. `/repos/{owner}/{repo}`. */
  path: string;
  /**
   * The operation's (or path item's) own absolute server URL from the spec, set only when it
   * differs from the bundle's `baseUrl` and vendor.json sets no `baseUrl`. The bundle's
   * `baseUrl` wins when there is one (requests never leave the vendor's base URL, so
   * credentials never reach another host; the compiler warns about such operations).
   */
  serverUrl?: string;
  params: ParamRecipe[];
  body?: BodyRecipe;
  /**
   * Effective security requirements (operation-level, else document-level).
   * OR of alternatives; an empty array means no auth; `[{}]` means auth optional.
   */
  security: SecurityRequirement[];
  /** JSON Schema of the arguments (type object, `additionalProperties: false`). Cycles kept as local `$defs`. */
  inputSchema: JsonSchema;
  /**
   * Set when the success response is a JSON object schema small enough to list. Self-contained and
   * tolerant (no `required`, limits, formats or enums; every type also admits null), because clients
   * reject structured results that do not match it and real APIs drift from their specs.
   */
  outputSchema?: JsonSchema;
  /** Responses by status code (`"200"`, `"4XX"`, `"default"`). */
  responses: Record<string, ResponseRecipe>;
  /**
   * Header to set with a fresh key when retrying non-idempotent calls (the operation declares
   * it, e.g. `Idempotency-Key`). The parameter stays in `params` as an optional argument: the
   * gateway fills it when the caller does not.
   */
  idempotencyKeyHeader?: string;
}

/** Operator settings for upstream auth, from `specs/<vendor>/vendor.json`. */
export interface VendorAuthConfig {
  /** The security scheme (name in the spec, or an inline scheme) the gateway satisfies. */
  scheme?: string;
  /** Environment secret names holding the credentials, by role (`apiKey`, `token`, `username`, `password`, `clientId`, `clientSecret`). */
  secrets?: Record<string, string>;
  /** OAuth 2.0 scopes to request. */
  scopes?: string[];
  /** `shared`: one organisation credential from secrets; `user`: per-user credential in KV. */
  mode?: "shared" | "user";
  /**
   * MCP vendors: the credential goes in this header as is (`X-Api-Key`), from `<VENDOR>_API_KEY`
   * or a key the user saved; no OAuth. Without it an MCP vendor with an `auth` entry takes a
   * bearer token: the user's OAuth connection (discovered from the server, MCP authorization),
   * else `<VENDOR>_TOKEN`. No `auth` entry: the server needs no credential.
   */
  header?: string;
  /** MCP vendors: `false` when the server takes only static bearer tokens (no "Connect" button). */
  oauth?: boolean;
}

/** Per-vendor overrides of the resilience settings (all optional; env defaults apply). */
export interface VendorResilienceConfig {
  maxRetries?: number;
  retryBackoffFactor?: number;
  circuitBreakerFailureThreshold?: number;
  circuitBreakerTimeoutSeconds?: number;
  circuitBreakerHalfOpenProbes?: number;
  rateLimit?: { enabled?: boolean; requestsPerSecond?: number; burst?: number };
  upstreamTimeoutSeconds?: number;
  toolExecutionTimeoutSeconds?: number;
  responseValidationMode?: "off" | "warn" | "strict";
  sanitizationLevel?: "DISABLED" | "LOW" | "MEDIUM" | "HIGH";
}

/** MCP tool annotations as an upstream server declared them: untrusted hints. */
export interface McpToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** One tool of an upstream MCP server, as the gateway lists and calls it. */
export interface McpToolRecipe extends ToolDefinition {
  /** The tool's name on the upstream server (a vendor.json rename keeps calls going to it). */
  upstreamName: string;
  annotations?: McpToolAnnotations;
  /**
   * sha256 (hex) of the definition as the upstream sent it (name, title, description, schemas,
   * annotations), before any curation: what rug-pull detection compares.
   */
  definitionHash: string;
  /** The upstream's `_meta` for the tool (MCP Apps `ui` resource links), passed through. */
  meta?: Record<string, unknown>;
}

/**
 * What happens to a tool whose definition changed after the gateway first saw it:
 * `serve` it as it is now, serve it with a `warn`ing in its description, or `withhold` it
 * until the operator approves the new definition.
 */
export type DefinitionChangePolicy = "serve" | "warn" | "withhold";

/** vendor.json `mcp`: the vendor is an upstream MCP server (streamable HTTP). */
export interface McpVendorConfig {
  /** The server's MCP endpoint. `<VENDOR>_MCP_URL` overrides it at run time. */
  url: string;
  /** Default `warn`. */
  onDefinitionChange?: DefinitionChangePolicy;
  /** How long a fetched tool list is served before it is fetched again (default 300). */
  toolListTtlSeconds?: number;
  /** The upstream lists different tools per user: lists are cached per credential owner. */
  toolListPerUser?: boolean;
  /** Longer tool descriptions are cut to this many characters (default 2,000). */
  maxDescriptionChars?: number;
  /**
   * vendor.json `include` (`names`): upstream tool-name globs (`*` any run of characters, `?` one);
   * when set, a tool is listed only when one of them matches its upstream name.
   */
  include?: string[];
  /** vendor.json `exclude` (`names`): upstream tool-name globs; a matching tool is not listed. */
  exclude?: string[];
  /**
   * vendor.json `tools`, applied to the upstream's list when it is fetched (its names are the
   * upstream's tool names): rename, retitle, redescribe, fix arguments.
   */
  toolOverrides?: Record<string, McpToolOverride>;
}

/** One vendor.json `tools` entry for an MCP vendor. */
export interface McpToolOverride {
  name?: string;
  title?: string;
  description?: string;
  /** Arguments removed from the listed schema and sent with these values. */
  fixed?: Record<string, unknown>;
}

export interface VendorBundle {
  formatVersion: typeof BUNDLE_FORMAT_VERSION;
  /** Which vendor kind serves the bundle; absent means `openapi`. */
  kind?: "openapi" | "mcp";
  /** `kind: "mcp"`: the upstream MCP server. */
  mcp?: McpVendorConfig;
  /**
   * `kind: "mcp"`: the tool list, when the operator snapshotted it at compile time
   * (`npm run compile -- --snapshot`) or the gateway fetched it; `tools` stays empty.
   */
  mcpTools?: McpToolRecipe[];
  /**
   * `kind: "mcp"`, set by the gateway: tools whose changed definition the vendor's
   * `onDefinitionChange: "withhold"` keeps out of listings until an operator approves it. Their
   * description and schemas are the gateway's placeholder, never the upstream's; a call by name
   * is refused with `tool_withheld`.
   */
  mcpWithheld?: McpToolRecipe[];
  /** Vendor name: `[a-z0-9-]+`, the folder name under `specs/`. */
  vendor: string;
  displayName: string;
  description?: string;
  /** sha256 (hex) of the bundle content: the same input gives the same hash. */
  contentHash: string;
  /** Spec `info.title` / `info.version`. */
  specTitle: string;
  specVersion: string;
  /** Base URL all requests go to (vendor.json `baseUrl`, else the spec's first server). `<VENDOR>_BASE_URL` overrides it at run time. */
  baseUrl?: string;
  securitySchemes: Record<string, SecurityScheme>;
  auth?: VendorAuthConfig;
  resilience?: VendorResilienceConfig;
  /** `tools`: one MCP tool per operation; `discovery`: search/describe/call. */
  toolMode?: "tools" | "discovery";
  /** Tool name the health cron probes, when set. */
  healthTool?: string;
  /**
   * vendor.json `logArguments`: the vendor's `tool_call` log events carry the call's arguments
   * (JSON, sanitised, scrubbed of attached credentials, bounded; src/mcp/call-report.ts). Absent: never.
   */
  logArguments?: true;
  /** What the operations act on, referenced by index from `tools[*].resource` (discovery search only). */
  resources?: ToolResource[];
  /** Shared schemas referenced as `#/$defs/<name>` from `responses[*].schema`. */
  schemas: Record<string, JsonSchema>;
  tools: ToolRecipe[];
  /**
   * Discovery search index of `tools`, precomputed by the compiler for vendors it serves in
   * discovery mode (format: src/mcp/search-index-format.ts). A string, so parsing the bundle
   * does not parse it; the first search does, and builds the index itself when it is absent or
   * refused. Added after `contentHash` is taken: derived data, not content.
   */
  searchIndex?: string;
}

/** One vendor entry in the generated registry: the bundle is parsed on first use. */
export interface BundleEntry {
  vendor: string;
  contentHash: string;
  /** `mcp` for an upstream MCP server (its bundle's `kind`): known without parsing the bundle. */
  kind?: "mcp";
  load: () => VendorBundle;
}
