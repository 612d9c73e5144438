/**
 * Every variable the Worker reads, in one place: its name, how it is parsed and what is
 * allowed, validated with valibot once per `env` object ({@link loadConfig}), plus the
 * Worker's env type (`Env`) and the per-vendor overrides from `vendor.json`
 * (`resilience`). Vendor-named variables (`<VENDOR>_BASE_URL`, `<VENDOR>_MCP_URL`, `<VENDOR>_API_KEY`, …) are
 * read by name through {@link envString}, the one rule for every string variable.
 *
 * A bad value never crashes the Worker: it becomes a {@link GatewayError} with
 * code `invalid_configuration` whose message names the variable and what is
 * allowed, which every route turns into a JSON 500 (src/health/configuration.ts checks
 * the whole env before routing).
 *
 * | Variable                            | Default   | Allowed                               |
 * |-------------------------------------|-----------|---------------------------------------|
 * | `MAX_RETRIES`                       | 3         | integer 0–10 (0 disables retries)     |
 * | `RETRY_BACKOFF_FACTOR`              | 2.0       | number 1–10                           |
 * | `CIRCUIT_BREAKER_FAILURE_THRESHOLD` | 5         | integer 1–1000                        |
 * | `CIRCUIT_BREAKER_TIMEOUT_SECONDS`   | 60        | number > 0, ≤ 3600                    |
 * | `CIRCUIT_BREAKER_HALF_OPEN_PROBES`  | 1         | integer 1–100                         |
 * | `RATE_LIMITING`                     | (unset)   | `enabled` \| `disabled` (unset: per vendor.json) |
 * | `RATE_LIMIT_REQUESTS_PER_SECOND`    | 10        | number > 0, ≤ 10000                   |
 * | `RATE_LIMIT_BURST`                  | ⌈rate⌉    | integer 1–100000                      |
 * | `UPSTREAM_TIMEOUT`                  | 30        | seconds > 0, ≤ 900 (per attempt)      |
 * | `TOOL_EXECUTION_TIMEOUT`            | 90        | seconds > 0, ≤ 900 (whole call)       |
 * | `RESPONSE_VALIDATION_MODE`          | warn      | `off` \| `warn` \| `strict`           |
 * | `SANITIZATION_LEVEL`                | DISABLED  | `DISABLED` \| `LOW` \| `MEDIUM` \| `HIGH` |
 * | `MAX_RESPONSE_BYTES`                | 100000    | integer 1024–67108864 (text/JSON kept) |
 * | `MAX_BINARY_RESPONSE_BYTES`         | 1048576   | integer 1024–67108864 (images, files) |
 * | `DISCOVERY_TOOL_THRESHOLD`          | 128       | integer 1–1000000                     |
 * | `ALLOWED_ORIGINS`                   | (none)    | comma-separated `scheme://host[:port]` |
 * | `GATEWAY_AUTH`                      | oauth     | `oauth` \| `none`                      |
 * | `GATEWAY_PUBLIC_URL`                | (request) | https URL (http on loopback)          |
 * | `GATEWAY_USERS`, `GATEWAY_TEAMS`    | (none)    | JSON (schemas in src/auth/config.ts)  |
 * | `GATEWAY_QUOTAS`                    | (none)    | JSON (schema in src/resilience/quota-config.ts) |
 * | `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, `OIDC_SCOPES`, `OIDC_ALLOW_UNLISTED_USERS`, `OIDC_DISPLAY_NAME` | (off) | see README |
 * | `CREDENTIALS_ENCRYPTION_KEY`, `CREDENTIALS_ENCRYPTION_KEY_PREVIOUS` | (off) | secret ≥ 32 chars |
 *
 * @module
 */
import * as v from "valibot";
import type { VendorBundle, VendorResilienceConfig } from "./bundle/types.ts";
import { GatewayError } from "./errors.ts";
import { memoized } from "./memo.ts";

/**
 * What `wrangler types` cannot see in wrangler.toml: secrets, vars wrangler.toml leaves unset,
 * and the vendor-named variables (`<VENDOR>_BASE_URL`, a vendor's secrets), read by name with
 * {@link envString}. Merged into the generated `Env` (src/env.d.ts) below.
 */
interface GatewayVars {
  /** Vendor-named variables: `<VENDOR>_BASE_URL`, `<VENDOR>_API_KEY`, `vendor.json` `auth.secrets` names, … */
  readonly [vendorVariable: string]: unknown;
  CIRCUIT_BREAKER_HALF_OPEN_PROBES?: string;
  RATE_LIMITING?: string;
  RATE_LIMIT_BURST?: string;
  UPSTREAM_TIMEOUT?: string;
  MAX_RESPONSE_BYTES?: string;
  MAX_BINARY_RESPONSE_BYTES?: string;
  /** `none` turns client auth off (local use only); anything else, or unset, means OAuth is required. */
  GATEWAY_AUTH?: string;
  /** Canonical public origin (`https://mcp.example.com`); when unset the request's origin is used. */
  GATEWAY_PUBLIC_URL?: string;
  /** JSON array of users (valibot-checked in src/auth/config.ts). */
  GATEWAY_USERS?: string;
  /** JSON object of teams by id (valibot-checked in src/auth/config.ts). */
  GATEWAY_TEAMS?: string;
  /** JSON quotas per user and team (valibot-checked in src/resilience/quota-config.ts); unset: none. */
  GATEWAY_QUOTAS?: string;
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  /** Space- or comma-separated; default `openid email profile`. */
  OIDC_SCOPES?: string;
  /** `true`: OIDC users not in `GATEWAY_USERS` may sign in (no team). Default: refused. */
  OIDC_ALLOW_UNLISTED_USERS?: string;
  /** Name on the sign-in button. */
  OIDC_DISPLAY_NAME?: string;
  /** Secret (>= 32 chars) the per-user credential encryption keys are derived from. */
  CREDENTIALS_ENCRYPTION_KEY?: string;
  /** The previous key during a rotation: still decrypts, never encrypts. */
  CREDENTIALS_ENCRYPTION_KEY_PREVIOUS?: string;
  /** Days the audit log keeps an event (src/ops/audit-log.ts); default 90. */
  AUDIT_RETENTION_DAYS?: string;
  /** Bearer token (a secret) for the operator surfaces `/status`, `/metrics`, `/admin/*` (src/ops/access.ts). */
  OPS_TOKEN?: string;
  /** `test` in the Worker test project only: the one switch that lets `GATEWAY_TEST_CLOCK` in (src/clock.ts). */
  GATEWAY_ENV?: string;
  /** With `GATEWAY_ENV=test`: a `Clock`, or a function making one per call (src/clock.ts's test seam). */
  GATEWAY_TEST_CLOCK?: unknown;
}

declare global {
  // Declaration merging: the generated interfaces stay the binding source (`npm run types`).
  interface Env extends GatewayVars {}
  namespace Cloudflare {
    interface Env extends GatewayVars {}
  }
}

/**
 * The variables of an env as this module reads them: an `Env` or any part of one
 * (tests, `npm start`'s check over plain strings). Values are `unknown`: vars set through
 * wrangler's JSON config may arrive as numbers.
 */
export type EnvVars = { readonly [K in keyof Env]?: unknown };

export type ResponseValidationMode = "off" | "warn" | "strict";
export type SanitizationLevel = "DISABLED" | "LOW" | "MEDIUM" | "HIGH";
/** `undefined`: each vendor's `vendor.json` decides (off unless it enables it). */
export type RateLimitingSwitch = "enabled" | "disabled" | undefined;

/** Upper bound on retries: each retry holds a Worker invocation open and costs a subrequest. */
const MAX_RETRIES_LIMIT = 10;
/** Workers keep a request alive while the client waits, but no MCP client waits longer than this. */
const MAX_TIMEOUT_SECONDS = 900;
/**
 * Upper bound of a configured rate (the compiler's too). One guard Durable Object
 * admits about 1,000 calls/s, so that is the real per-vendor ceiling.
 */
const MAX_RATE_LIMIT_REQUESTS_PER_SECOND = 10_000;
/** Isolates have 128 MB; a parsed JSON body takes several times its size. */
const MAX_RESPONSE_BYTES_LIMIT = 64 * 1024 * 1024;
/** About 25,000 tokens: the MCP tool-output limit common clients apply. */
const DEFAULT_MAX_RESPONSE_BYTES = 100_000;
/** Binary bodies are returned whole or not at all; 1 MiB is 1.4 MB of base64. */
const DEFAULT_MAX_BINARY_RESPONSE_BYTES = 1_048_576;
const DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 30;

/** Settings from the environment, before vendor overrides. */
export interface GatewaySettings {
  maxRetries: number;
  retryBackoffFactor: number;
  circuitBreakerFailureThreshold: number;
  circuitBreakerTimeoutSeconds: number;
  circuitBreakerHalfOpenProbes: number;
  rateLimiting: RateLimitingSwitch;
  rateLimitRequestsPerSecond: number;
  /** `undefined` when `RATE_LIMIT_BURST` is unset: the burst follows the (vendor's) rate. */
  rateLimitBurst: number | undefined;
  upstreamTimeoutSeconds: number;
  toolExecutionTimeoutSeconds: number;
  responseValidationMode: ResponseValidationMode;
  sanitizationLevel: SanitizationLevel;
  maxResponseBytes: number;
  maxBinaryResponseBytes: number;
}

/**
 * The settings in force for one vendor (environment + `vendor.json` overrides): every
 * environment setting, with the rate-limit switch and burst resolved for the vendor.
 */
export interface VendorSettings extends Omit<GatewaySettings, "rateLimiting" | "rateLimitBurst"> {
  vendor: string;
  rateLimitEnabled: boolean;
  rateLimitBurst: number;
}

/** The allowed values of a numeric setting. */
export interface NumberRule {
  integer: boolean;
  min: number;
  /** `min` itself is not allowed (a timeout of 0 s means nothing). */
  minExclusive?: boolean;
  max: number;
}

/** `an integer from 0 to 10`, `a number above 0 and at most 900 seconds`: the wording of range errors. */
export function describeNumber(rule: NumberRule, unit = ""): string {
  const kind = rule.integer ? "an integer" : "a number";
  return rule.minExclusive
    ? `${kind} above ${rule.min} and at most ${rule.max}${unit}`
    : `${kind} from ${rule.min} to ${rule.max}${unit}`;
}

export function inRange(rule: NumberRule, n: number): boolean {
  return (
    Number.isFinite(n) &&
    (rule.minExclusive ? n > rule.min : n >= rule.min) &&
    n <= rule.max &&
    (!rule.integer || Number.isInteger(n))
  );
}

/** A numeric env var: a decimal string within bounds. */
function numberFromEnv(rule: NumberRule, unit?: string) {
  const allowed = describeNumber(rule, unit);
  return v.pipe(
    v.string(),
    v.trim(),
    v.regex(rule.integer ? /^[+]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)$/, allowed),
    v.transform(Number),
    v.number(allowed),
    v.check((n) => inRange(rule, n), allowed),
  );
}

/** A numeric `vendor.json` value (already a JSON number). */
function numberFromJson(rule: NumberRule, unit?: string) {
  const allowed = describeNumber(rule, unit);
  return v.pipe(
    v.number(allowed),
    v.check((n) => inRange(rule, n), allowed),
  );
}

/**
 * The ranges of the numeric settings, in the environment and in `vendor.json`; the
 * compiler checks `vendor.json` against these same ranges (scripts/compiler/vendor-config.ts).
 */
export const SETTING_RANGES = {
  maxRetries: { integer: true, min: 0, max: MAX_RETRIES_LIMIT },
  retryBackoffFactor: { integer: false, min: 1, max: 10 },
  failureThreshold: { integer: true, min: 1, max: 1000 },
  breakerTimeout: { integer: false, min: 0, minExclusive: true, max: 3600 },
  halfOpenProbes: { integer: true, min: 1, max: 100 },
  rate: { integer: false, min: 0, minExclusive: true, max: MAX_RATE_LIMIT_REQUESTS_PER_SECOND },
  burst: { integer: true, min: 1, max: 100_000 },
  upstreamTimeout: { integer: false, min: 0, minExclusive: true, max: MAX_TIMEOUT_SECONDS },
  toolTimeout: { integer: false, min: 0, minExclusive: true, max: MAX_TIMEOUT_SECONDS },
  maxResponseBytes: { integer: true, min: 1024, max: MAX_RESPONSE_BYTES_LIMIT },
} satisfies Record<string, NumberRule>;

export const VALIDATION_MODES = ["off", "warn", "strict"] as const;
export const SANITIZATION_LEVELS = ["DISABLED", "LOW", "MEDIUM", "HIGH"] as const;
const RATE_LIMITING_VALUES = ["enabled", "disabled"] as const;

function oneOf<const T extends readonly string[]>(values: T, normalize: (s: string) => string) {
  const allowed = `one of ${values.join(", ")}`;
  return v.pipe(v.string(), v.trim(), v.transform(normalize), v.picklist(values, allowed));
}

/** One row of a settings table: the variable, where its value goes in `S`, its schema and default. */
interface EnvSetting<S> {
  /** The environment variable. */
  name: string;
  key: keyof S;
  // biome-ignore lint/suspicious/noExplicitAny: heterogeneous schema table
  schema: v.GenericSchema<string, any>;
  fallback: S[keyof S];
}

const ENV_SETTINGS: readonly EnvSetting<GatewaySettings>[] = [
  { name: "MAX_RETRIES", key: "maxRetries", schema: numberFromEnv(SETTING_RANGES.maxRetries), fallback: 3 },
  {
    name: "RETRY_BACKOFF_FACTOR",
    key: "retryBackoffFactor",
    schema: numberFromEnv(SETTING_RANGES.retryBackoffFactor),
    fallback: 2,
  },
  {
    name: "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
    key: "circuitBreakerFailureThreshold",
    schema: numberFromEnv(SETTING_RANGES.failureThreshold),
    fallback: 5,
  },
  {
    name: "CIRCUIT_BREAKER_TIMEOUT_SECONDS",
    key: "circuitBreakerTimeoutSeconds",
    schema: numberFromEnv(SETTING_RANGES.breakerTimeout, " seconds"),
    fallback: 60,
  },
  {
    name: "CIRCUIT_BREAKER_HALF_OPEN_PROBES",
    key: "circuitBreakerHalfOpenProbes",
    schema: numberFromEnv(SETTING_RANGES.halfOpenProbes),
    fallback: 1,
  },
  {
    name: "RATE_LIMITING",
    key: "rateLimiting",
    schema: oneOf(RATE_LIMITING_VALUES, (s) => s.toLowerCase()),
    fallback: undefined,
  },
  {
    name: "RATE_LIMIT_REQUESTS_PER_SECOND",
    key: "rateLimitRequestsPerSecond",
    schema: numberFromEnv(SETTING_RANGES.rate),
    fallback: 10,
  },
  {
    name: "RATE_LIMIT_BURST",
    key: "rateLimitBurst",
    schema: numberFromEnv(SETTING_RANGES.burst),
    fallback: undefined,
  },
  {
    name: "UPSTREAM_TIMEOUT",
    key: "upstreamTimeoutSeconds",
    schema: numberFromEnv(SETTING_RANGES.upstreamTimeout, " seconds"),
    fallback: DEFAULT_UPSTREAM_TIMEOUT_SECONDS,
  },
  {
    name: "TOOL_EXECUTION_TIMEOUT",
    key: "toolExecutionTimeoutSeconds",
    schema: numberFromEnv(SETTING_RANGES.toolTimeout, " seconds"),
    fallback: 90,
  },
  {
    name: "RESPONSE_VALIDATION_MODE",
    key: "responseValidationMode",
    schema: oneOf(VALIDATION_MODES, (s) => s.toLowerCase()),
    fallback: "warn",
  },
  {
    name: "SANITIZATION_LEVEL",
    key: "sanitizationLevel",
    schema: oneOf(SANITIZATION_LEVELS, (s) => s.toUpperCase()),
    fallback: "DISABLED",
  },
  {
    name: "MAX_RESPONSE_BYTES",
    key: "maxResponseBytes",
    schema: numberFromEnv(SETTING_RANGES.maxResponseBytes, " bytes"),
    fallback: DEFAULT_MAX_RESPONSE_BYTES,
  },
  {
    name: "MAX_BINARY_RESPONSE_BYTES",
    key: "maxBinaryResponseBytes",
    schema: numberFromEnv(SETTING_RANGES.maxResponseBytes, " bytes"),
    fallback: DEFAULT_MAX_BINARY_RESPONSE_BYTES,
  },
];

/** The names of the gateway's numeric and switch settings (`npm start` passes them on from the shell). */
export const SETTING_NAMES: readonly string[] = ENV_SETTINGS.map((s) => s.name);

/** Longest echo of a rejected value: enough to recognise it, never a whole pasted secret. */
const MAX_ECHOED_VALUE_CHARS = 40;

function echo(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > MAX_ECHOED_VALUE_CHARS ? `${text.slice(0, MAX_ECHOED_VALUE_CHARS)}…` : text;
}

function invalidSetting(setting: string, allowed: string, received: unknown): GatewayError {
  return new GatewayError(
    "invalid_configuration",
    `Invalid configuration: ${setting} must be ${allowed} (got ${JSON.stringify(echo(received))}).`,
    { details: { setting, allowed, received: echo(received) } },
  );
}

/**
 * Tools above which a vendor switches to discovery unless its vendor.json sets `toolMode`.
 * 128 is the most tools OpenAI's API and VS Code pass to a model per request: past it a
 * client cannot use the vendor's full list at all. At GitHub's ~500 tokens per tool it is
 * also ~64,000 tokens, a third of a 200K context spent before the user says anything.
 */
export const DEFAULT_DISCOVERY_TOOL_THRESHOLD = 128;
/** Largest accepted threshold (above every real API: effectively "never automatic"). */
const MAX_DISCOVERY_TOOL_THRESHOLD = 1_000_000;

/** `scheme://host[:port]` of an http(s) URL; with `bare`, only when the value has nothing else (no path, query, user). */
export function serializedOrigin(value: string, bare = false): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (bare && (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== ""))
    return undefined;
  return url.origin;
}

/** `ALLOWED_ORIGINS`: comma-separated bare origins, each kept serialized (`scheme://host[:port]`). */
const originList = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const origins = new Set<string>();
    for (const entry of dataset.value.split(",")) {
      const trimmed = entry.trim();
      if (trimmed === "") continue;
      const origin = serializedOrigin(trimmed, true);
      if (origin === undefined) {
        addIssue({
          message: `comma-separated origins (scheme://host[:port], e.g. https://claude.ai); "${echo(trimmed)}" is not one`,
        });
        return NEVER;
      }
      origins.add(origin);
    }
    return origins as ReadonlySet<string>;
  }),
);

/** The variables besides {@link GatewaySettings}: read by the MCP layer. */
interface McpSettings {
  /** `DISCOVERY_TOOL_THRESHOLD`. */
  discoveryToolThreshold: number;
  /** `ALLOWED_ORIGINS`, serialized. */
  allowedOrigins: ReadonlySet<string>;
}

const MCP_SETTINGS: readonly EnvSetting<McpSettings>[] = [
  {
    name: "DISCOVERY_TOOL_THRESHOLD",
    key: "discoveryToolThreshold",
    schema: numberFromEnv({ integer: true, min: 1, max: MAX_DISCOVERY_TOOL_THRESHOLD }),
    fallback: DEFAULT_DISCOVERY_TOOL_THRESHOLD,
  },
  { name: "ALLOWED_ORIGINS", key: "allowedOrigins", schema: originList, fallback: new Set<string>() },
];

// --- audit log (#14) ---
/** `AUDIT_RETENTION_DAYS` when unset. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;
/** Ten years: longer is a mistake, not a policy. */
const MAX_AUDIT_RETENTION_DAYS = 3650;

/** The audit log's variables (src/ops/audit-log.ts). */
interface AuditSettings {
  /** `AUDIT_RETENTION_DAYS`. */
  retentionDays: number;
}

const AUDIT_SETTINGS: readonly EnvSetting<AuditSettings>[] = [
  {
    name: "AUDIT_RETENTION_DAYS",
    key: "retentionDays",
    schema: numberFromEnv({ integer: true, min: 1, max: MAX_AUDIT_RETENTION_DAYS }, " days"),
    fallback: DEFAULT_AUDIT_RETENTION_DAYS,
  },
];

/** `AUDIT_RETENTION_DAYS` ({@link loadConfig}). */
export function auditRetentionDays(env: EnvVars): number {
  return loadConfig(env).audit.retentionDays;
}
// --- end audit log ---

/** The client-auth variables, parsed; `GATEWAY_USERS`/`GATEWAY_TEAMS` are JSON text the auth service checks with its own schemas. */
export interface AuthSettings {
  /** `GATEWAY_AUTH`: `false` only when `none`. */
  required: boolean;
  /** `GATEWAY_PUBLIC_URL`, as its origin. */
  publicUrl?: string;
  /** `GATEWAY_USERS` (JSON text). */
  users?: string;
  /** `GATEWAY_TEAMS` (JSON text). */
  teams?: string;
  /** `OIDC_*`, when `OIDC_ISSUER` is set. */
  oidc?: OidcSettings;
  /** `CREDENTIALS_ENCRYPTION_KEY`: per-user credentials are off without it. */
  credentialsKey?: string;
  /** `CREDENTIALS_ENCRYPTION_KEY_PREVIOUS`: still decrypts during a rotation, never encrypts. */
  credentialsKeyPrevious?: string;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  scopes: string[];
  allowUnlisted: boolean;
  displayName: string;
}

/** Every variable of one env, parsed and validated. */
export interface EnvConfig {
  settings: GatewaySettings;
  mcp: McpSettings;
  auth: AuthSettings;
  audit: AuditSettings;
}

/**
 * `invalid_configuration` in the `<VARIABLE>: <what is wrong>` form of the auth variables,
 * whose RFC 6749 `error_description` clients show as is.
 */
export function invalidVariable(setting: string, message: string): GatewayError {
  return new GatewayError("invalid_configuration", `${setting}: ${message}`, { details: { setting } });
}

/** A team id (`GATEWAY_TEAMS`, `GATEWAY_QUOTAS`): it ends up in KV keys and object names. */
export const TEAM_ID = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "team id: 1-64 of a-z 0-9 _ -"),
);
/** A vendor name as a JSON variable names it (`GATEWAY_TEAMS`, `GATEWAY_QUOTAS`). */
export const VENDOR_NAME = v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "vendor name: a-z 0-9 -"));

/**
 * A JSON variable checked against `schema` (`empty` when unset).
 *
 * @throws {GatewayError} `invalid_configuration` naming `setting` and the path of the first issue.
 */
export function parseJsonVariable<T>(
  setting: string,
  raw: string | undefined,
  schema: v.GenericSchema<unknown, T>,
  empty: T,
): T {
  if (raw === undefined) return empty;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw invalidVariable(setting, "is not valid JSON");
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue?.path?.map((item) => String(item.key)).join(".") ?? "";
    throw invalidVariable(setting, `${path ? `${path}: ` : ""}${issue?.message ?? "invalid"}`);
  }
  return result.output;
}

/**
 * `localhost`, `127.0.0.0/8` and `::1`: the only hosts where plain http is tolerated (for an
 * Origin check's wider notion of local, see `resolvesToLoopback` in src/mcp/origin.ts).
 */
export function plainHttpAllowedHost(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname === "[::1]" ||
    hostname === "::1" ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}

function parseHttpsUrl(setting: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidVariable(setting, "is not a URL");
  }
  const loopback = plainHttpAllowedHost(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw invalidVariable(setting, "must be https (http only on a loopback host)");
  }
  return url.href.replace(/\/$/, "");
}

function parseAuth(env: EnvVars): AuthSettings {
  const mode = envString(env, "GATEWAY_AUTH")?.toLowerCase();
  if (mode !== undefined && mode !== "none" && mode !== "oauth") {
    throw invalidVariable("GATEWAY_AUTH", `must be "oauth" (default) or "none", got "${mode}"`);
  }
  let oidc: OidcSettings | undefined;
  const issuer = envString(env, "OIDC_ISSUER");
  if (issuer !== undefined) {
    const clientId = envString(env, "OIDC_CLIENT_ID");
    if (clientId === undefined)
      throw invalidVariable("OIDC_CLIENT_ID", "is required when OIDC_ISSUER is set");
    const clientSecret = envString(env, "OIDC_CLIENT_SECRET");
    const scopes = (envString(env, "OIDC_SCOPES") ?? "openid email profile").split(/[\s,]+/).filter(Boolean);
    if (!scopes.includes("openid")) scopes.unshift("openid");
    oidc = {
      issuer: parseHttpsUrl("OIDC_ISSUER", issuer),
      clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      scopes,
      allowUnlisted: envString(env, "OIDC_ALLOW_UNLISTED_USERS") === "true",
      displayName: envString(env, "OIDC_DISPLAY_NAME") ?? "single sign-on",
    };
  }
  const publicUrl = envString(env, "GATEWAY_PUBLIC_URL");
  const optional = (key: keyof AuthSettings, name: string) => {
    const value = envString(env, name);
    return value === undefined ? {} : { [key]: value };
  };
  return {
    required: mode !== "none",
    ...(publicUrl === undefined
      ? {}
      : { publicUrl: new URL(parseHttpsUrl("GATEWAY_PUBLIC_URL", publicUrl)).origin }),
    ...optional("users", "GATEWAY_USERS"),
    ...optional("teams", "GATEWAY_TEAMS"),
    ...(oidc === undefined ? {} : { oidc }),
    ...optional("credentialsKey", "CREDENTIALS_ENCRYPTION_KEY"),
    ...optional("credentialsKeyPrevious", "CREDENTIALS_ENCRYPTION_KEY_PREVIOUS"),
  };
}

const configs = new WeakMap<object, EnvConfig | GatewayError>();

/**
 * Reads and validates every variable of `env` (vendor-named ones aside: they are read by name
 * with {@link envString}). The result (or the error) is cached per `env` object, so this is a
 * `WeakMap` lookup on every request after the first.
 *
 * @throws {GatewayError} `invalid_configuration` naming the first bad variable.
 */
export function loadConfig(env: EnvVars): EnvConfig {
  const cached = memoized(configs, env, parseConfig);
  if (cached instanceof GatewayError) throw cached;
  return cached;
}

/** The gateway settings of `env` ({@link loadConfig}). */
export function loadSettings(env: EnvVars): GatewaySettings {
  return loadConfig(env).settings;
}

/** `DISCOVERY_TOOL_THRESHOLD` ({@link loadConfig}). */
export function discoveryThreshold(env: EnvVars): number {
  return loadConfig(env).mcp.discoveryToolThreshold;
}

/** `ALLOWED_ORIGINS` as a set of serialized origins (`scheme://host[:port]`) ({@link loadConfig}). */
export function allowedOrigins(env: EnvVars): ReadonlySet<string> {
  return loadConfig(env).mcp.allowedOrigins;
}

function parseConfig(env: EnvVars): EnvConfig | GatewayError {
  try {
    const settings = parseTable(env, ENV_SETTINGS);
    const mcp = parseTable(env, MCP_SETTINGS);
    const audit = parseTable(env, AUDIT_SETTINGS);
    return { settings, mcp, auth: parseAuth(env), audit };
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
}

function parseTable<S>(env: EnvVars, table: readonly EnvSetting<S>[]): S {
  const out = {} as S;
  for (const setting of table) {
    const raw = env[setting.name];
    if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) {
      out[setting.key] = setting.fallback;
      continue;
    }
    // Vars may arrive as JSON numbers when set through wrangler's JSON config.
    const text = typeof raw === "number" || typeof raw === "boolean" ? String(raw) : raw;
    const result = v.safeParse(setting.schema, text);
    if (!result.success) {
      throw invalidSetting(setting.name, result.issues[0]?.message ?? "valid", raw);
    }
    out[setting.key] = result.output;
  }
  return out;
}

/** A strict object whose unknown-key error lists the keys allowed there. */
function knownKeys<const E extends v.ObjectEntries>(entries: E) {
  const allowed = `absent (unknown key; allowed: ${Object.keys(entries).join(", ")})`;
  return v.strictObject(entries, (issue) => (issue.expected === "never" ? allowed : "an object"));
}

const vendorResilienceSchema = knownKeys({
  maxRetries: v.optional(numberFromJson(SETTING_RANGES.maxRetries)),
  retryBackoffFactor: v.optional(numberFromJson(SETTING_RANGES.retryBackoffFactor)),
  circuitBreakerFailureThreshold: v.optional(numberFromJson(SETTING_RANGES.failureThreshold)),
  circuitBreakerTimeoutSeconds: v.optional(numberFromJson(SETTING_RANGES.breakerTimeout, " seconds")),
  circuitBreakerHalfOpenProbes: v.optional(numberFromJson(SETTING_RANGES.halfOpenProbes)),
  rateLimit: v.optional(
    knownKeys({
      enabled: v.optional(v.boolean("true or false")),
      requestsPerSecond: v.optional(numberFromJson(SETTING_RANGES.rate)),
      burst: v.optional(numberFromJson(SETTING_RANGES.burst)),
    }),
  ),
  upstreamTimeoutSeconds: v.optional(numberFromJson(SETTING_RANGES.upstreamTimeout, " seconds")),
  toolExecutionTimeoutSeconds: v.optional(numberFromJson(SETTING_RANGES.toolTimeout, " seconds")),
  responseValidationMode: v.optional(v.picklist(VALIDATION_MODES, `one of ${VALIDATION_MODES.join(", ")}`)),
  sanitizationLevel: v.optional(v.picklist(SANITIZATION_LEVELS, `one of ${SANITIZATION_LEVELS.join(", ")}`)),
});

const vendorCache = new WeakMap<GatewaySettings, WeakMap<VendorBundle, VendorSettings | GatewayError>>();

/**
 * The settings for one vendor: `vendor.json` `resilience` values override the
 * environment, except that `RATE_LIMITING=disabled` switches rate limiting off
 * everywhere at run time (the operator's kill switch wins over a vendor file).
 * Cached per (settings, bundle).
 *
 * @throws {GatewayError} `invalid_configuration` naming the bad `vendor.json` field.
 */
export function vendorSettings(settings: GatewaySettings, bundle: VendorBundle): VendorSettings {
  const perBundle = memoized(vendorCache, settings, () => new WeakMap());
  const cached = memoized(perBundle, bundle, (b) => resolveVendor(settings, b));
  if (cached instanceof GatewayError) throw cached;
  return cached;
}

function resolveVendor(settings: GatewaySettings, bundle: VendorBundle): VendorSettings | GatewayError {
  const parsed = v.safeParse(vendorResilienceSchema, bundle.resilience ?? {});
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = v.getDotPath(issue!) ?? "";
    const received = issue?.input;
    return invalidSetting(
      `specs/${bundle.vendor}/vendor.json resilience${path ? `.${path}` : ""}`,
      issue?.message ?? "valid",
      received,
    );
  }
  const r: VendorResilienceConfig = parsed.output;
  const rate = r.rateLimit?.requestsPerSecond ?? settings.rateLimitRequestsPerSecond;
  const enabled =
    settings.rateLimiting === "disabled"
      ? false
      : (r.rateLimit?.enabled ?? settings.rateLimiting === "enabled");
  return {
    vendor: bundle.vendor,
    maxRetries: r.maxRetries ?? settings.maxRetries,
    retryBackoffFactor: r.retryBackoffFactor ?? settings.retryBackoffFactor,
    circuitBreakerFailureThreshold:
      r.circuitBreakerFailureThreshold ?? settings.circuitBreakerFailureThreshold,
    circuitBreakerTimeoutSeconds: r.circuitBreakerTimeoutSeconds ?? settings.circuitBreakerTimeoutSeconds,
    circuitBreakerHalfOpenProbes: r.circuitBreakerHalfOpenProbes ?? settings.circuitBreakerHalfOpenProbes,
    rateLimitEnabled: enabled,
    rateLimitRequestsPerSecond: rate,
    rateLimitBurst: r.rateLimit?.burst ?? settings.rateLimitBurst ?? Math.max(1, Math.ceil(rate)),
    upstreamTimeoutSeconds: r.upstreamTimeoutSeconds ?? settings.upstreamTimeoutSeconds,
    toolExecutionTimeoutSeconds: r.toolExecutionTimeoutSeconds ?? settings.toolExecutionTimeoutSeconds,
    responseValidationMode: r.responseValidationMode ?? settings.responseValidationMode,
    sanitizationLevel: r.sanitizationLevel ?? settings.sanitizationLevel,
    maxResponseBytes: settings.maxResponseBytes,
    maxBinaryResponseBytes: settings.maxBinaryResponseBytes,
  };
}

/**
 * The prefix of a vendor's environment variables: the vendor name upper-cased,
 * every other character `_` (`my-api` → `MY_API`, so `MY_API_BASE_URL`).
 */
export function vendorEnvPrefix(vendor: string): string {
  if (envPrefixes.size >= MAX_ENV_PREFIXES && !envPrefixes.has(vendor)) envPrefixes.clear();
  return memoized(envPrefixes, vendor, (name) => name.toUpperCase().replace(/[^A-Z0-9]/g, "_"));
}

/** Per isolate, by vendor: a tool call reads several of its vendor's variables. */
const envPrefixes = new Map<string, string>();
/** Prefixes remembered per isolate (callers pass bundled vendors); past it the map starts over. */
const MAX_ENV_PREFIXES = 1_000;

/**
 * Every vendor-named variable, by suffix (`<VENDOR>_<SUFFIX>`): the base URL and an MCP vendor's
 * endpoint (src/base-url.ts), the shared upstream secrets unless vendor.json `auth.secrets` names others
 * (src/auth/upstream-credentials.ts) and the vendor's OAuth 2.0 client (src/auth/vendor-auth.ts,
 * `OAUTH2_CLIENT_AUTH=post` for `client_secret_post`).
 */
const VENDOR_VARIABLES = [
  "BASE_URL",
  "MCP_URL",
  "API_KEY",
  "TOKEN",
  "USERNAME",
  "PASSWORD",
  "OAUTH2_CLIENT_ID",
  "OAUTH2_CLIENT_SECRET",
  "OAUTH2_CLIENT_AUTH",
  "OAUTH2_SCOPES",
  "OAUTH2_TOKEN_URL",
  "OAUTH2_AUTHORIZATION_URL",
] as const;
export type VendorVariable = (typeof VENDOR_VARIABLES)[number];

/** `<VENDOR>_<SUFFIX>`: one of {@link VENDOR_VARIABLES} for a vendor. */
export function vendorVarName(vendor: string, suffix: VendorVariable): string {
  return `${vendorEnvPrefix(vendor)}_${suffix}`;
}

/**
 * A string var or secret by name, the one rule for every variable: surrounding whitespace is
 * dropped (a pasted secret's trailing newline), and empty or whitespace-only counts as unset.
 */
export function envString(env: EnvVars, name: string): string | undefined {
  const value = env[name];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}
