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

/**
 * `sanitize` for JSON text that does not parse because it was cut short (a body
 * over `MAX_RESPONSE_BYTES`): the same keys are redacted, found lexically. A
 * value the cut splits is redacted whole, so no prefix of a secret survives.
 * Text that is not JSON at all is returned unchanged.
 */
export function sanitizeJsonText(text: string, level: SanitizationLevel): string {
  const keys = KEYS_BY_LEVEL[level];
  if (keys.size === 0) return text;
  let out = "";
  let copied = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    const end = stringEnd(text, i);
    if (end === text.length) break;
    const colon = skipSpace(text, end);
    if (text[colon] === ":" && keys.has(normalizeKey(decodeKey(text.slice(i, end))))) {
      const start = skipSpace(text, colon + 1);
      out += `${text.slice(copied, start)}"${REDACTED}"`;
      copied = valueEnd(text, start);
      i = text.indexOf('"', copied);
    } else {
      i = text.indexOf('"', end);
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Index just past the string literal opening at `start`; the text's length when it is cut. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') return i + 1;
  }
  return text.length;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t"))
    i++;
  return i;
}

function decodeKey(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

/** Index just past the JSON value starting at `start` (strings, nested containers, scalars); the text's length when cut. */
function valueEnd(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return stringEnd(text, start);
  if (first === "{" || first === "[") {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === '"') i = stringEnd(text, i) - 1;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return text.length;
  }
  let i = start;
  while (i < text.length && !",}] \n\r\t".includes(text[i]!)) i++;
  return i;
}
