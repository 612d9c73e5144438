/**
 * Gateway settings: every operator knob read from the environment, validated
 * with valibot once per `env` object, plus the per-vendor overrides from
 * `vendor.json` (`resilience`).
 *
 * A bad value never crashes the Worker: it becomes a {@link GatewayError} with
 * code `invalid_configuration` whose message names the setting and what is
 * allowed, which every route turns into a JSON 500.
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
 *
 * @module
 */
import * as v from "valibot";
import type { VendorBundle, VendorResilienceConfig } from "./bundle/types.ts";
import { GatewayError } from "./errors.ts";
import { memoized } from "./memo.ts";

export type ResponseValidationMode = "off" | "warn" | "strict";
export type SanitizationLevel = "DISABLED" | "LOW" | "MEDIUM" | "HIGH";
/** `undefined`: each vendor's `vendor.json` decides (off unless it enables it). */
export type RateLimitingSwitch = "enabled" | "disabled" | undefined;

/** Upper bound on retries: each retry holds a Worker invocation open and costs a subrequest. */
export const MAX_RETRIES_LIMIT = 10;
/** Workers keep a request alive while the client waits, but no MCP client waits longer than this. */
export const MAX_TIMEOUT_SECONDS = 900;
/**
 * Upper bound of a configured rate (the compiler's too). One guard Durable Object
 * admits about 1,000 calls/s, so that is the real per-vendor ceiling.
 */
export const MAX_RATE_LIMIT_REQUESTS_PER_SECOND = 10_000;
/** Isolates have 128 MB; a parsed JSON body takes several times its size. */
export const MAX_RESPONSE_BYTES_LIMIT = 64 * 1024 * 1024;
/** About 25,000 tokens: the MCP tool-output limit common clients apply (see src/upstream/settings.ts). */
export const DEFAULT_MAX_RESPONSE_BYTES = 100_000;
/** Binary bodies are returned whole or not at all; 1 MiB is 1.4 MB of base64. */
export const DEFAULT_MAX_BINARY_RESPONSE_BYTES = 1_048_576;
export const DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 30;

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

interface EnvSetting {
  /** The environment variable. */
  name: string;
  key: keyof GatewaySettings;
  // biome-ignore lint/suspicious/noExplicitAny: heterogeneous schema table
  schema: v.GenericSchema<string, any>;
  fallback: GatewaySettings[keyof GatewaySettings];
}

const ENV_SETTINGS: readonly EnvSetting[] = [
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

/** The environment variable names this module reads. */
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

const settingsCache = new WeakMap<object, GatewaySettings | GatewayError>();

/**
 * Reads and validates every setting from `env`. The result (or the error) is
 * cached per `env` object, so this is free on every request after the first.
 *
 * @throws {GatewayError} `invalid_configuration` naming the first bad setting.
 */
export function loadSettings(env: object): GatewaySettings {
  const cached = memoized(settingsCache, env, (e) => parseSettings(e as Record<string, unknown>));
  if (cached instanceof GatewayError) throw cached;
  return cached;
}

function parseSettings(env: Record<string, unknown>): GatewaySettings | GatewayError {
  const out: Record<string, unknown> = {};
  for (const setting of ENV_SETTINGS) {
    const raw = env[setting.name];
    if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) {
      out[setting.key] = setting.fallback;
      continue;
    }
    // Vars may arrive as JSON numbers when set through wrangler's JSON config.
    const text = typeof raw === "number" || typeof raw === "boolean" ? String(raw) : raw;
    const result = v.safeParse(setting.schema, text);
    if (!result.success) {
      return invalidSetting(setting.name, result.issues[0]?.message ?? "valid", raw);
    }
    out[setting.key] = result.output;
  }
  return out as unknown as GatewaySettings;
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
  return vendor.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

/** Reads a string binding (var or secret) by computed name; empty strings count as unset. */
export function readEnvString(env: unknown, name: string): string | undefined {
  if (typeof env !== "object" || env === null) return undefined;
  const v = (env as Record<string, unknown>)[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}
