/**
 * Base64 over bytes, both alphabets, for every module that needs it: `btoa`/`atob` take and
 * give one character per byte, so each direction goes through a binary string.
 *
 * @module
 */

/** Bytes per `String.fromCharCode` call: far below the engine's argument-count limit. */
const CHUNK_BYTES = 0x8000;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** One character per byte: what `btoa` takes. */
export function binaryString(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) {
    bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK_BYTES));
  }
  return bin;
}

/** The bytes of a binary string (what `atob` gives). */
function binaryStringBytes(bin: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Standard base64 with padding. */
export function base64Encode(bytes: Uint8Array): string {
  return btoa(binaryString(bytes));
}

/** base64url without padding. */
export function base64UrlEncode(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return base64Encode(view).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url, padded or not, from the gateway's own records; throws (`atob`) when malformed. */
export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return binaryStringBytes(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)));
}

/** Decodes base64 (standard or URL alphabet, whitespace ignored); undefined when malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  let s = text.replace(/\s+/g, "");
  if (!BASE64.test(s)) {
    if (!BASE64URL.test(s)) return undefined;
    s = s.replace(/-/g, "+").replace(/_/g, "/");
  }
  s = s.replace(/=+$/, "");
  if (s.length % 4 === 1) return undefined;
  s += "=".repeat((4 - (s.length % 4)) % 4);
  return binaryStringBytes(atob(s));
}
