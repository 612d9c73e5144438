/**
 * Small WebCrypto helpers: hashing, random tokens, AES-GCM sealing.
 *
 * Two sealing modes:
 * - {@link CredentialCipher}: upstream credentials at rest, under keys derived
 *   (HKDF) from the `CREDENTIALS_ENCRYPTION_KEY` secret. The KV key is the
 *   AES-GCM additional data, so a ciphertext moved under another user's key
 *   does not decrypt.
 * - {@link sealWithToken}: short-lived records (sign-in and vendor `state`)
 *   encrypted under a key derived from the random token that names them; KV
 *   holds only the token's hash, so reading KV alone reveals nothing.
 *
 * @module
 */
import { base64UrlDecode, base64UrlEncode } from "../base64.ts";
import { type AuthSettings, type EnvVars, loadConfig } from "../config.ts";
import { memoized } from "../memo.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** AES-GCM's standard nonce size. */
const GCM_IV_BYTES = 12;
/** A shorter secret would make the derived keys guessable. */
const MIN_ENCRYPTION_SECRET_CHARS = 32;
const CIPHERTEXT_VERSION = "v1";

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a string, hex. */
export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** SHA-256 of a string, base64url. */
export async function sha256B64(text: string): Promise<string> {
  return base64UrlEncode(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** A random URL-safe token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Constant-time string comparison (length is not secret: compare hashes or fixed-size tokens). */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

/** An AES-256-GCM key derived (HKDF-SHA-256) from a secret, one per purpose. */
async function hkdfKey(secret: string, info: string, usages: ("encrypt" | "decrypt")[]): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("mcp-edge-gateway"), info: encoder.encode(info) },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    usages,
  );
}

async function aesSeal(key: CryptoKey, plaintext: string, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(GCM_IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(aad) },
    key,
    encoder.encode(plaintext),
  );
  return `${base64UrlEncode(iv)}.${base64UrlEncode(sealed)}`;
}

async function aesOpen(key: CryptoKey, sealed: string, aad: string): Promise<string | undefined> {
  const [iv, body] = sealed.split(".");
  if (iv === undefined || body === undefined) return undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: base64UrlDecode(iv), additionalData: encoder.encode(aad) },
      key,
      base64UrlDecode(body),
    );
    return decoder.decode(plain);
  } catch {
    return undefined;
  }
}

/**
 * Encrypts JSON (AES-256-GCM) under a key derived from `secret` for one `purpose` (HKDF info, so
 * one secret serves several purposes without their seals opening each other), bound to `aad`.
 */
export async function sealFor(secret: string, purpose: string, value: unknown, aad: string): Promise<string> {
  const key = await hkdfKey(secret, purpose, ["encrypt"]);
  return aesSeal(key, JSON.stringify(value), aad);
}

/** Decrypts what {@link sealFor} sealed; `undefined` for another secret, purpose or `aad`, or a tampered seal. */
export async function openFor<T>(
  secret: string,
  purpose: string,
  sealed: string,
  aad: string,
): Promise<T | undefined> {
  const key = await hkdfKey(secret, purpose, ["decrypt"]);
  const plain = await aesOpen(key, sealed, aad);
  return plain === undefined ? undefined : (JSON.parse(plain) as T);
}

/** Encrypts JSON under a key derived from `token` (the record's own random name). */
export function sealWithToken(token: string, value: unknown, aad: string): Promise<string> {
  return sealFor(token, "record-seal", value, aad);
}

/** Decrypts what {@link sealWithToken} sealed; `undefined` for a wrong token or tampered record. */
export function openWithToken<T>(token: string, sealed: string, aad: string): Promise<T | undefined> {
  return openFor<T>(token, "record-seal", sealed, aad);
}

interface KeySet {
  id: string;
  aes: CryptoKey;
}

/**
 * Encrypts upstream credentials at rest. Built from `CREDENTIALS_ENCRYPTION_KEY`
 * (and `_PREVIOUS` during a rotation: it still decrypts, and
 * {@link CredentialCipher.needsReseal} tells the caller to re-encrypt under the
 * current key).
 */
export class CredentialCipher {
  readonly #current: KeySet;
  readonly #previous: KeySet | undefined;

  private constructor(current: KeySet, previous: KeySet | undefined) {
    this.#current = current;
    this.#previous = previous;
  }

  static async create(secret: string, previousSecret?: string): Promise<CredentialCipher> {
    if (secret.length < MIN_ENCRYPTION_SECRET_CHARS) {
      throw new RangeError(
        `CREDENTIALS_ENCRYPTION_KEY must be at least ${MIN_ENCRYPTION_SECRET_CHARS} characters`,
      );
    }
    const keySet = async (value: string): Promise<KeySet> => ({
      id: (await sha256Hex(`key-id:${value}`)).slice(0, 8),
      aes: await hkdfKey(value, "credentials-aes-gcm", ["encrypt", "decrypt"]),
    });
    return new CredentialCipher(
      await keySet(secret),
      previousSecret === undefined ? undefined : await keySet(previousSecret),
    );
  }

  /** `v1.<keyId>.<iv>.<ciphertext>`; `aad` binds it to where it is stored. */
  async encrypt(value: unknown, aad: string): Promise<string> {
    return `${CIPHERTEXT_VERSION}.${this.#current.id}.${await aesSeal(this.#current.aes, JSON.stringify(value), aad)}`;
  }

  async decrypt<T>(sealed: string, aad: string): Promise<T | undefined> {
    const [version, keyId, iv, body] = sealed.split(".");
    if (version !== CIPHERTEXT_VERSION || iv === undefined || body === undefined) return undefined;
    const keys =
      keyId === this.#current.id ? this.#current : keyId === this.#previous?.id ? this.#previous : undefined;
    if (keys === undefined) return undefined;
    const plain = await aesOpen(keys.aes, `${iv}.${body}`, aad);
    return plain === undefined ? undefined : (JSON.parse(plain) as T);
  }

  /** The ciphertext was made with the previous key. */
  needsReseal(sealed: string): boolean {
    return sealed.split(".")[1] !== this.#current.id;
  }
}

/**
 * The KV name of a user or team: a hash, so listing KV does not list who uses the
 * gateway. Unkeyed on purpose: it must survive an encryption-key rotation.
 */
export async function hashId(kind: "user" | "team", id: string): Promise<string> {
  return (await sha256Hex(`mcp-edge-gateway:${kind}:${id}`)).slice(0, 32);
}

const cipherCache = new WeakMap<AuthSettings, Promise<CredentialCipher>>();

/** The cipher for this env, or `undefined` when `CREDENTIALS_ENCRYPTION_KEY` is not set (per-user credentials off). */
export function credentialCipher(env: EnvVars): Promise<CredentialCipher> | undefined {
  const { auth } = loadConfig(env);
  const secret = auth.credentialsKey;
  if (secret === undefined) return undefined;
  return memoized(cipherCache, auth, () => CredentialCipher.create(secret, auth.credentialsKeyPrevious));
}
