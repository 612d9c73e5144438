/**
 * Password hashes for the configured user list: PBKDF2-HMAC-SHA-256 through
 * WebCrypto, so the Worker and `scripts/hash-password.ts` share this module.
 *
 * Format: `pbkdf2-sha256$<iterations>$<salt base64url>$<hash base64url>`.
 *
 * @module
 */
import { base64UrlDecode, base64UrlEncode } from "../base64.ts";
import { timingSafeEqualStrings } from "./crypto.ts";

/** workerd refuses PBKDF2 above 100,000 iterations, so that is both the default and the ceiling. */
export const PBKDF2_MAX_ITERATIONS = 100_000;
/** Below this a hash is too cheap to brute-force-resist; refuse it at config load. */
const PBKDF2_MIN_ITERATIONS = 10_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;

export const PASSWORD_HASH_PATTERN = /^pbkdf2-sha256\$\d{5,6}\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43}$/;

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    HASH_BITS,
  );
  return base64UrlEncode(bits);
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string, iterations = PBKDF2_MAX_ITERATIONS): Promise<string> {
  if (iterations < PBKDF2_MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) {
    throw new RangeError(`iterations must be between ${PBKDF2_MIN_ITERATIONS} and ${PBKDF2_MAX_ITERATIONS}`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  return `pbkdf2-sha256$${iterations}$${base64UrlEncode(salt)}$${await derive(password, salt, iterations)}`;
}

/** Checks a password against a stored hash in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!PASSWORD_HASH_PATTERN.test(stored)) return false;
  const [, iterationsText, saltText, expected] = stored.split("$");
  const iterations = Number(iterationsText);
  if (iterations < PBKDF2_MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) return false;
  const actual = await derive(password, base64UrlDecode(saltText ?? ""), iterations);
  return timingSafeEqualStrings(actual, expected ?? "");
}

/**
 * A hash of a password nobody knows, verified when the user does not exist so a
 * failed sign-in takes the same time whether or not the name is real.
 */
export const DUMMY_PASSWORD_HASH =
  "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
