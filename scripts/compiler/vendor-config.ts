/**
 * `specs/<vendor>/vendor.json`: the operator's settings for one vendor,
 * validated with valibot. Unknown keys and bad values fail with the file, the
 * key and what is allowed there.
 *
 * @module
 */
import * as v from "valibot";
import type {
  DefinitionChangePolicy,
  HttpMethod,
  VendorAuthConfig,
  VendorResilienceConfig,
} from "../../src/bundle/types.ts";
import {
  describeNumber,
  inRange,
  type NumberRule,
  plainHttpAllowedHost,
  SANITIZATION_LEVELS,
  SETTING_RANGES,
  VALIDATION_MODES,
} from "../../src/config.ts";
import { VendorConfigError, type VendorConfigIssue } from "./errors.ts";
import { findJsonSyntaxError, offsetToPosition } from "./load.ts";
import { TOOL_NAME_MAX_CHARS } from "./naming.ts";
import { TOOL_DESCRIPTION_MAX_CHARS, TOOL_TITLE_MAX_CHARS } from "./operations.ts";

/** Vendor folder names: they become URL segments, env var prefixes and tool-name prefixes. */
export const VENDOR_NAME_PATTERN = /^[a-z0-9-]+$/;
/** Longest vendor name: prefixed tool names (`<vendor>_<tool>`) must still fit 64 characters with room for the tool. */
export const VENDOR_NAME_MAX_CHARS = 32;

export const HTTP_METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"] as const;
export const SECRET_ROLES = ["apiKey", "token", "username", "password", "clientId", "clientSecret"] as const;

/**
 * Which operations a rule names. In `include` every given field must match (it narrows); in
 * `exclude` any given field matching is enough (it removes). Values within a field are alternatives.
 */
export interface OperationSelector {
  /** operationId globs (`*` and `?`). */
  operationIds?: string[];
  /** Tag globs. */
  tags?: string[];
  /** Path-template globs: `*` within one segment, `**` across segments (`/admin/**`). */
  paths?: string[];
  methods?: HttpMethod[];
  /** MCP vendors only: upstream tool-name globs (`*` any run of characters, `?` one). */
  names?: string[];
}

/** vendor.json `mcp`: the vendor is an upstream MCP server. */
export interface McpConfig {
  /** The streamable HTTP endpoint, as written (normalised by the URL parser, trailing slash kept). */
  url: string;
  /** Only `streamable-http` (the default); the legacy HTTP+SSE transport is refused. */
  transport?: "streamable-http";
  onDefinitionChange?: DefinitionChangePolicy;
  toolListTtlSeconds?: number;
  toolListPerUser?: boolean;
  maxDescriptionChars?: number;
}

export interface VendorConfig {
  displayName?: string;
  description?: string;
  /** Normalized: no trailing slash. */
  baseUrl?: string;
  auth?: VendorAuthConfig;
  /** Alternatives: an operation is kept when it matches any of them (all operations when absent). */
  include?: OperationSelector[];
  /** Alternatives: an operation is dropped when it matches any of them. */
  exclude?: OperationSelector[];
  resilience?: VendorResilienceConfig;
  toolMode?: "tools" | "discovery";
  healthTool?: string;
  /** `true`: the vendor's `tool_call` log events carry the call's arguments (sanitised, scrubbed, bounded). */
  logArguments?: boolean;
  /**
   * `true`: http(s) references to hosts that resolve to public addresses only.
   * A list: URL prefixes (`https://schemas.example.com/v1/`) and folders relative to the vendor
   * folder (`../shared`) that references may use, whatever they resolve to.
   */
  allowRemoteRefs?: boolean | string[];
  /**
   * `true`: repair what has one obvious meaning and skip the operations (and components)
   * whose parts are still invalid, with a warning for each, instead of failing the vendor.
   */
  lenient?: boolean;
  limits?: {
    /** Largest tool input schema kept (after sharing repeated subschemas); bigger operations are skipped. */
    inputSchemaMaxBytes?: number;
  };
  /**
   * Curated tools, by generated tool name or operationId (checked against the spec in `curate.ts`);
   * for an MCP vendor by upstream tool name (checked against the snapshot in `mcp.ts`, if any).
   */
  tools?: Record<string, ToolOverride>;
  /** The vendor is an upstream MCP server, not an OpenAPI spec (`mcp.ts`). */
  mcp?: McpConfig;
}

/** The operator's rewrite of one tool (FastMCP tool transformations, Cloudflare portal aliases). */
export interface ToolOverride {
  /** The tool's new name: same characters and length limit as generated names. */
  name?: string;
  title?: string;
  description?: string;
  /**
   * Arguments hidden behind fixed values: gone from the listed input schema, sent with these
   * values on every call. A client that sends one itself is refused (`invalid_arguments`).
   */
  fixed?: Record<string, unknown>;
}

const CONFIG_KEYS = [
  "$schema",
  "displayName",
  "description",
  "baseUrl",
  "auth",
  "include",
  "exclude",
  "resilience",
  "toolMode",
  "healthTool",
  "logArguments",
  "allowRemoteRefs",
  "lenient",
  "limits",
  "tools",
  "mcp",
] as const;

/** A strict object (valibot lets arrays through `strictObject`, so they are refused first). */
function strict<const E extends v.ObjectEntries>(entries: E, what: string) {
  const allowed = Object.keys(entries).join(", ");
  const object = v.strictObject(entries, (issue) =>
    issue.expected === "never"
      ? `unknown key; allowed keys in ${what}: ${allowed}`
      : `expected an object (${what})`,
  );
  const notArray = v.custom<never>(() => false, `expected an object (${what})`);
  return v.lazy((input) => (Array.isArray(input) ? notArray : object)) as unknown as typeof object;
}

const text = (max: number) =>
  v.pipe(
    v.string(`expected a string of 1 to ${max} characters`),
    v.minLength(1, `expected a string of 1 to ${max} characters`),
    v.maxLength(max, `expected a string of 1 to ${max} characters`),
  );

/** A number in the Worker's own range for that setting, so vendor.json fails here and not at run time. */
const ranged = (rule: NumberRule) => {
  const message = `expected ${describeNumber(rule)}`;
  return v.pipe(
    v.number(message),
    v.check((n) => inRange(rule, n), message),
  );
};

const picklist = <const T extends readonly string[]>(options: T) =>
  v.picklist(options, `expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}`);

/**
 * An absolute http(s) URL with nothing in it that is a secret. `mcp`: an MCP endpoint, kept as
 * written (a trailing slash can matter to the server), plain http only to a loopback host (the
 * gateway sends the vendor's credentials there); otherwise a base URL without trailing slash.
 */
const httpUrl = (mcp: boolean) => {
  const expected = mcp ? "expected the server's absolute https URL" : "expected an absolute http(s) URL";
  return v.pipe(
    v.string(expected),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      let url: URL;
      try {
        url = new URL(dataset.value);
      } catch {
        addIssue({ message: expected });
        return NEVER;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        addIssue({ message: `expected an ${mcp ? "https" : "http(s)"} URL, not ${url.protocol}` });
        return NEVER;
      }
      if (url.username || url.password) {
        addIssue({ message: "credentials do not belong in the URL; name them in auth.secrets" });
        return NEVER;
      }
      if (url.search || url.hash) {
        addIssue({
          message: `expected a URL without query string or fragment${mcp ? " (a key in the query would be a credential in the bundle; name it in auth.secrets)" : ""}`,
        });
        return NEVER;
      }
      if (mcp && url.protocol === "http:" && !plainHttpAllowedHost(url.hostname)) {
        addIssue({
          message:
            "plain http is allowed only to localhost or 127.0.0.1: the gateway sends the vendor's credentials there; use https",
        });
        return NEVER;
      }
      return mcp ? url.href : url.href.replace(/\/+$/, "");
    }),
  );
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** HTTP field names as vendors use them (a subset of RFC 9110 tokens). */
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * `limits.inputSchemaMaxBytes`: at least 16 KiB (less would skip ordinary operations); at most
 * 4 MiB (every tools/list of the vendor carries the schema, and the Worker holds the bundle in memory).
 */
const INPUT_SCHEMA_BYTES_RANGE: NumberRule = { integer: true, min: 16 * 1024, max: 4 * 1024 * 1024 };

const authSchema = strict(
  {
    scheme: v.optional(text(200)),
    secrets: v.optional(
      v.record(
        picklist(SECRET_ROLES),
        v.pipe(
          v.string("expected a secret (environment variable) name"),
          v.regex(ENV_NAME, "expected a secret (environment variable) name: letters, digits and _"),
        ),
        "expected an object: role → secret name",
      ),
    ),
    scopes: v.optional(v.array(text(200), "expected an array of scope strings")),
    mode: v.optional(picklist(["shared", "user"] as const)),
    // MCP vendors (src/auth/mcp-credentials.ts): an API-key header instead of a bearer token,
    // and whether users connect with OAuth.
    header: v.optional(
      v.pipe(
        v.string("expected a header name"),
        v.regex(HEADER_NAME, "expected a header name: letters, digits and -"),
        v.maxLength(100, "expected a header name of at most 100 characters"),
      ),
    ),
    oauth: v.optional(v.boolean("expected true or false")),
  },
  "auth",
);

const globList = (what: string) =>
  v.pipe(
    v.array(text(500), `expected a non-empty array of ${what}`),
    v.minLength(1, `expected a non-empty array of ${what}`),
  );

const methodSchema = v.pipe(
  v.string(`expected one of ${HTTP_METHODS.join(", ")}`),
  v.transform((m) => m.toUpperCase()),
  picklist(HTTP_METHODS),
);

const selectorSchema = v.pipe(
  strict(
    {
      operationIds: v.optional(globList("operationId globs")),
      tags: v.optional(globList("tag globs")),
      paths: v.optional(
        v.pipe(
          globList("path globs"),
          v.check((paths) => paths.every((p) => p.startsWith("/")), "path globs start with '/'"),
        ),
      ),
      methods: v.optional(
        v.pipe(
          v.array(methodSchema, "expected a non-empty array of HTTP methods"),
          v.minLength(1, "expected a non-empty array of HTTP methods"),
        ),
      ),
      names: v.optional(globList("tool-name globs")),
    },
    "a selector",
  ),
  v.check(
    (s) => Object.keys(s).length > 0,
    "an empty selector matches nothing; give operationIds, tags, paths or methods (names for an MCP vendor)",
  ),
);

const selectorsSchema = v.lazy((input) =>
  Array.isArray(input)
    ? v.pipe(
        v.array(selectorSchema),
        v.minLength(1, "expected a selector object or a non-empty array of them"),
      )
    : v.pipe(
        selectorSchema,
        v.transform((s) => [s]),
      ),
);

const resilienceSchema = strict(
  {
    maxRetries: v.optional(ranged(SETTING_RANGES.maxRetries)),
    retryBackoffFactor: v.optional(ranged(SETTING_RANGES.retryBackoffFactor)),
    circuitBreakerFailureThreshold: v.optional(ranged(SETTING_RANGES.failureThreshold)),
    circuitBreakerTimeoutSeconds: v.optional(ranged(SETTING_RANGES.breakerTimeout)),
    circuitBreakerHalfOpenProbes: v.optional(ranged(SETTING_RANGES.halfOpenProbes)),
    rateLimit: v.optional(
      strict(
        {
          enabled: v.optional(v.boolean("expected true or false")),
          requestsPerSecond: v.optional(ranged(SETTING_RANGES.rate)),
          burst: v.optional(ranged(SETTING_RANGES.burst)),
        },
        "resilience.rateLimit",
      ),
    ),
    upstreamTimeoutSeconds: v.optional(ranged(SETTING_RANGES.upstreamTimeout)),
    toolExecutionTimeoutSeconds: v.optional(ranged(SETTING_RANGES.toolTimeout)),
    responseValidationMode: v.optional(picklist(VALIDATION_MODES)),
    sanitizationLevel: v.optional(picklist(SANITIZATION_LEVELS)),
  },
  "resilience",
);

const allowRemoteRefsSchema = v.lazy((input) =>
  Array.isArray(input)
    ? v.pipe(
        v.array(
          v.pipe(
            text(2000),
            v.check(
              (entry) => !/^[a-z][a-z0-9+.-]*:/i.test(entry) || /^https?:\/\/[^/]/i.test(entry),
              "expected an http(s) URL prefix or a folder path relative to the vendor folder",
            ),
          ),
        ),
        v.minLength(1, "expected true, false or a non-empty array of URL prefixes / folders"),
      )
    : v.boolean("expected true, false or an array of allowed URL prefixes / folders"),
);

/** Tool names as MCP clients accept them; the per-vendor length limit is checked with the spec. */
const TOOL_NAME = /^[A-Za-z0-9_-]+$/;

const TOOLS_EXPECTED = "expected an object: tool name or operationId → override";

const toolOverrideSchema = v.pipe(
  strict(
    {
      name: v.optional(
        v.pipe(
          text(TOOL_NAME_MAX_CHARS),
          v.regex(TOOL_NAME, "expected a tool name of letters, digits, _ and -"),
        ),
      ),
      title: v.optional(text(TOOL_TITLE_MAX_CHARS)),
      description: v.optional(text(TOOL_DESCRIPTION_MAX_CHARS)),
      fixed: v.optional(
        v.pipe(
          v.record(v.string(), v.unknown(), "expected an object: argument → fixed value"),
          v.check((fixed) => Object.keys(fixed).length > 0, "expected at least one fixed argument"),
        ),
      ),
    },
    "a tool override",
  ),
  v.check(
    (o) => Object.keys(o).length > 0,
    "an empty override changes nothing; give name, title, description or fixed",
  ),
);

/**
 * Why the legacy transport is refused: its responses come back on one long-lived GET stream per
 * session, opened before the first request, which the gateway cannot hold between two calls.
 */
export const SSE_TRANSPORT_REFUSED =
  'the legacy HTTP+SSE transport (MCP 2024-11-05) does not fit the gateway\'s stateless design: every answer comes back on a long-lived GET stream per session that a Worker cannot hold open between calls. Point "url" at the server\'s streamable HTTP endpoint (usually /mcp rather than /sse; servers that still offer SSE almost always offer it too) and drop "transport"';

/**
 * `mcp.toolListTtlSeconds`: 0 fetches the list for every listing; a day at most, so a changed
 * upstream list (and a changed definition) shows within a day whatever the operator wrote.
 */
export const TOOL_LIST_TTL_RANGE: NumberRule = { integer: true, min: 0, max: 86_400 };
/** `mcp.maxDescriptionChars`: below 16 no description says anything; above 100,000 the limit limits nothing. */
export const MAX_DESCRIPTION_CHARS_RANGE: NumberRule = { integer: true, min: 16, max: 100_000 };

const mcpSchema = strict(
  {
    url: httpUrl(true),
    transport: v.optional(
      v.pipe(
        v.string('expected "streamable-http"'),
        v.check((t) => t.toLowerCase() !== "sse", SSE_TRANSPORT_REFUSED),
        picklist(["streamable-http"] as const),
      ),
    ),
    onDefinitionChange: v.optional(picklist(["serve", "warn", "withhold"] as const)),
    toolListTtlSeconds: v.optional(ranged(TOOL_LIST_TTL_RANGE)),
    toolListPerUser: v.optional(v.boolean("expected true or false")),
    maxDescriptionChars: v.optional(ranged(MAX_DESCRIPTION_CHARS_RANGE)),
  },
  "mcp",
);

const vendorConfigSchema = strict(
  {
    $schema: v.optional(v.string("expected a string")),
    displayName: v.optional(text(100)),
    description: v.optional(text(2000)),
    baseUrl: v.optional(httpUrl(false)),
    auth: v.optional(authSchema),
    include: v.optional(selectorsSchema),
    exclude: v.optional(selectorsSchema),
    resilience: v.optional(resilienceSchema),
    toolMode: v.optional(picklist(["tools", "discovery"] as const)),
    healthTool: v.optional(text(200)),
    logArguments: v.optional(v.boolean("expected true (log tool arguments, sanitised) or false")),
    allowRemoteRefs: v.optional(allowRemoteRefsSchema),
    lenient: v.optional(v.boolean("expected true (repair or skip invalid parts) or false (strict)")),
    limits: v.optional(
      strict({ inputSchemaMaxBytes: v.optional(ranged(INPUT_SCHEMA_BYTES_RANGE)) }, "limits"),
    ),
    tools: v.optional(
      v.lazy((input) =>
        Array.isArray(input)
          ? v.custom<never>(() => false, TOOLS_EXPECTED)
          : v.record(text(500), toolOverrideSchema, TOOLS_EXPECTED),
      ),
    ),
    mcp: v.optional(mcpSchema),
  } satisfies Record<(typeof CONFIG_KEYS)[number], unknown>,
  "vendor.json",
);

function issueKey(issue: v.BaseIssue<unknown>): string {
  let key = "";
  for (const item of issue.path ?? []) {
    const k = (item as { key: unknown }).key;
    key += typeof k === "number" ? `[${k}]` : key === "" ? String(k) : `.${String(k)}`;
  }
  return key;
}

function describeInput(input: unknown): string {
  const json = JSON.stringify(input);
  if (json === undefined) return String(input);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Validates parsed vendor.json content; `file` names the file in messages. */
export function parseVendorConfig(input: unknown, file: string): VendorConfig {
  const result = v.safeParse(vendorConfigSchema, input, { abortPipeEarly: true });
  if (result.success) {
    const { $schema: _schema, ...config } = result.output;
    return config as VendorConfig;
  }
  const issues: VendorConfigIssue[] = [];
  const seen = new Set<string>();
  for (const issue of result.issues) {
    const key = issueKey(issue);
    const unknownKey = issue.type === "strict_object" && issue.expected === "never";
    const message = unknownKey ? issue.message : `${issue.message}; got ${describeInput(issue.input)}`;
    const line = `${key}\u0000${message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    issues.push({ key, message });
  }
  throw new VendorConfigError(file, issues);
}

/** Parses vendor.json text (syntax errors name line and column). */
export function parseVendorConfigText(text: string, file: string): VendorConfig {
  let input: unknown;
  try {
    input = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const located = findJsonSyntaxError(text);
    const where = located ? offsetToPosition(text, located.offset) : undefined;
    const detail = located?.message ?? String((error as Error).message);
    throw new VendorConfigError(file, [
      {
        key: "",
        message: `JSON syntax error${where ? ` at line ${where.line}:${where.column}` : ""}: ${detail}`,
      },
    ]);
  }
  return parseVendorConfig(input, file);
}

/** `undefined` when the name is fine, else why it is not. */
export function vendorNameProblem(name: string): string | undefined {
  if (!VENDOR_NAME_PATTERN.test(name)) {
    return `vendor folder name "${name}" is not allowed: use lowercase letters, digits and "-" only (e.g. "${suggestVendorName(name)}")`;
  }
  if (name.length > VENDOR_NAME_MAX_CHARS) {
    return `vendor folder name "${name}" is ${name.length} characters; the limit is ${VENDOR_NAME_MAX_CHARS} so prefixed tool names fit 64 characters`;
  }
  return undefined;
}

function suggestVendorName(name: string): string {
  const suggestion = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, VENDOR_NAME_MAX_CHARS);
  return suggestion === "" ? "my-vendor" : suggestion;
}
