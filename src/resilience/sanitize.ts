/**
 * Redacts sensitive fields from upstream JSON (success and error bodies)
 * before it reaches an MCP client, per `SANITIZATION_LEVEL`:
 *
 * - `DISABLED` (default): nothing is touched.
 * - `LOW`: `password`, `token`, `secret`, `private_key`.
 * - `MEDIUM`: LOW + `access_token`, `credentials`, `authorization`.
 * - `HIGH`: MEDIUM + `session_id`, `cookie`, `api_key`, `ip_address`.
 *
 * Keys match at any depth, case-insensitively and ignoring `_` and `-`, so
 * `accessToken`, `ACCESS-TOKEN` and `access_token` are one key. The match is
 * on the whole key: `next_page_token` is not `token`. A matching key's value,
 * whatever its type, becomes `"[REDACTED]"`.
 *
 * @module
 */
import type { SanitizationLevel } from "../config.ts";

export const REDACTED = "[REDACTED]";

const LOW_KEYS = ["password", "token", "secret", "private_key"];
const MEDIUM_KEYS = [...LOW_KEYS, "access_token", "credentials", "authorization"];
const HIGH_KEYS = [...MEDIUM_KEYS, "session_id", "cookie", "api_key", "ip_address"];

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

const KEYS_BY_LEVEL: Record<SanitizationLevel, ReadonlySet<string>> = {
  DISABLED: new Set(),
  LOW: new Set(LOW_KEYS.map(normalizeKey)),
  MEDIUM: new Set(MEDIUM_KEYS.map(normalizeKey)),
  HIGH: new Set(HIGH_KEYS.map(normalizeKey)),
};

/** Deeper JSON than this is left as is below the limit rather than risking the stack. */
const MAX_SANITIZE_DEPTH = 256;

/**
 * Returns a copy of `value` with sensitive keys redacted (the input is not
 * modified). Non-JSON values pass through unchanged.
 */
export function sanitize<T>(value: T, level: SanitizationLevel): T {
  const keys = KEYS_BY_LEVEL[level];
  if (keys.size === 0) return value;
  return walk(value, keys, 0) as T;
}

function walk(value: unknown, keys: ReadonlySet<string>, depth: number): unknown {
  if (value === null || typeof value !== "object" || depth > MAX_SANITIZE_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => walk(item, keys, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const next = keys.has(normalizeKey(key)) ? REDACTED : walk(inner, keys, depth + 1);
    // JSON.parse makes `__proto__` an own key; plain assignment would set the prototype instead.
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = next;
    }
  }
  return out;
}

/** Whether a key would be redacted at `level` (for headers and log fields). */
export function isSensitiveKey(key: string, level: SanitizationLevel): boolean {
  return KEYS_BY_LEVEL[level].has(normalizeKey(key));
}
