/**
 * JSON Pointer (RFC 6901) helpers and the `$ref` URI-fragment form (`#/a/b`).
 *
 * @module
 */

export function escapeToken(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

export function unescapeToken(token: string): string {
  return token.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Appends one token to a pointer (`""` is the document root). */
export function joinPointer(pointer: string, token: string | number): string {
  return `${pointer}/${escapeToken(String(token))}`;
}

export function pointerFromTokens(tokens: readonly (string | number)[]): string {
  let out = "";
  for (const token of tokens) out = joinPointer(out, token);
  return out;
}

/** Splits a pointer into tokens; `undefined` when it is not a pointer. */
export function tokensFromPointer(pointer: string): string[] | undefined {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) return undefined;
  return pointer.slice(1).split("/").map(unescapeToken);
}

/**
 * Turns a `$ref` fragment (`#/components/schemas/Pet`, percent-encoded as URI
 * fragments may be) into a JSON pointer; `undefined` for non-pointer fragments
 * such as `#anchor`.
 */
export function pointerFromFragment(fragment: string): string | undefined {
  const raw = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (decoded !== "" && !decoded.startsWith("/")) return undefined;
  return decoded;
}

/** `#/a/b` form of a pointer, for messages and `$ref` values. */
export function fragmentFromPointer(pointer: string): string {
  return `#${pointer}`;
}

export type PointerLookup =
  | { found: true; value: unknown }
  | { found: false; missingToken: string; parent: string };

/** Follows a pointer through plain JSON values. */
export function getByPointer(root: unknown, pointer: string): PointerLookup {
  const tokens = tokensFromPointer(pointer);
  if (!tokens) return { found: false, missingToken: pointer, parent: "" };
  let current: unknown = root;
  let walked = "";
  for (const token of tokens) {
    if (Array.isArray(current)) {
      const index = /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : -1;
      if (index < 0 || index >= current.length) return { found: false, missingToken: token, parent: walked };
      current = current[index];
    } else if (isObject(current) && Object.hasOwn(current, token)) {
      current = current[token];
    } else {
      return { found: false, missingToken: token, parent: walked };
    }
    walked = joinPointer(walked, token);
  }
  return { found: true, value: current };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
