/**
 * Redacts sensitive fields from upstream JSON (success and error bodies)
 * before it reaches an MCP client, per `SANITIZATION_LEVEL`:
 *
 * - `DISABLED` (default): nothing is touched.
 * - `LOW`: password, token, secret, private_key.
 * - `MEDIUM`: LOW + access_token, credentials, authorization.
 * - `HIGH`: MEDIUM + session_id, cookie, api_key, ip_address.
 *
 * Each field stands for its usual spellings ({@link SENSITIVE_FIELDS}: `secret`
 * is also `client_secret`, `api_key` also `X-Api-Key`, …). Keys match at any
 * depth after normalisation: lower-cased, with `_`, `-`, `.` and white space
 * removed, so `clientSecret`, `CLIENT-SECRET`, `client.secret` and
 * `client_secret` are one key. The match is on the whole key: `next_page_token`
 * is not `token`, nor is `prompt_tokens`. A matching key's value,
 * whatever its type, becomes `"[REDACTED]"`.
 *
 * Credential values the gateway itself sent are scrubbed at every level,
 * wherever they appear (src/redaction/scrub.ts); this is about the upstream's
 * own sensitive fields.
 *
 * @module
 */
import type { SanitizationLevel } from "../config.ts";
import { boundedCache, memoized } from "../memo.ts";

export const REDACTED = "[REDACTED]";

/** Each field a level lists, with the spellings APIs use for it (normalised before matching). */
const SENSITIVE_FIELDS = {
  password: ["password", "passwd", "pwd", "passphrase"],
  token: [
    "token",
    "auth_token",
    "x_auth_token",
    "bearer_token",
    "api_token",
    "secret_token",
    "security_token",
  ],
  secret: [
    "secret",
    "client_secret",
    "app_secret",
    "api_secret",
    "consumer_secret",
    "shared_secret",
    "secret_key",
    "secret_access_key",
    "aws_secret_access_key",
    "webhook_secret",
    "signing_secret",
  ],
  private_key: ["private_key", "priv_key", "private_key_pem"],
  access_token: [
    "access_token",
    "refresh_token",
    "id_token",
    "oauth_token",
    "oauth_token_secret",
    "session_token",
  ],
  credentials: ["credentials", "credential", "creds"],
  authorization: ["authorization", "proxy_authorization", "x_authorization"],
  session_id: ["session_id", "session_key", "jsessionid", "phpsessid", "x_session_id"],
  cookie: ["cookie", "cookies", "set_cookie"],
  api_key: [
    "api_key",
    "x_api_key",
    "app_key",
    "x_app_key",
    "subscription_key",
    "ocp_apim_subscription_key",
    "x_functions_key",
  ],
  ip_address: [
    "ip_address",
    "ip",
    "ip_addr",
    "ipv4",
    "ipv6",
    "client_ip",
    "remote_ip",
    "remote_addr",
    "x_forwarded_for",
    "x_real_ip",
  ],
} as const satisfies Record<string, readonly string[]>;

type Field = keyof typeof SENSITIVE_FIELDS;

const LOW_FIELDS: Field[] = ["password", "token", "secret", "private_key"];
const MEDIUM_FIELDS: Field[] = [...LOW_FIELDS, "access_token", "credentials", "authorization"];
const HIGH_FIELDS: Field[] = [...MEDIUM_FIELDS, "session_id", "cookie", "api_key", "ip_address"];

/** Lower case without separators: camelCase, snake_case, kebab-case, dotted and spaced spellings meet. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[\s._-]+/g, "");
}

function keysOf(fields: Field[]): ReadonlySet<string> {
  return new Set(fields.flatMap((f) => SENSITIVE_FIELDS[f].map(normalize)));
}

const KEYS_BY_LEVEL: Record<SanitizationLevel, ReadonlySet<string>> = {
  DISABLED: new Set(),
  LOW: keysOf(LOW_FIELDS),
  MEDIUM: keysOf(MEDIUM_FIELDS),
  HIGH: keysOf(HIGH_FIELDS),
};

/**
 * Normalised keys by key: the same few keys repeat through a body (every element of an
 * array). Upstream keys are hostile, so the cache is bounded, and long keys skip it.
 */
const normalizedKeys = boundedCache<string, string>(4096);
/** Longer keys are normalised each time rather than cached (no listed spelling is near this long). */
const MAX_CACHED_KEY_CHARS = 64;

function normalizeKey(key: string): string {
  return key.length > MAX_CACHED_KEY_CHARS ? normalize(key) : memoized(normalizedKeys, key, normalize);
}

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
