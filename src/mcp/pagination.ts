/**
 * Cursor pagination for `tools/list`.
 *
 * Cursors are opaque to clients: base64url of `v1.<offset>.<listing fingerprint>`.
 * A cursor that does not decode, points outside the list, or belongs to
 * another endpoint or deploy is refused with `-32602`.
 *
 * @module
 */
import { invalidParams } from "./jsonrpc.ts";

/**
 * Tools per `tools/list` page: keeps one page of GitHub-sized schemas (~2 KB each)
 * near 200 KB, so serializing a page stays well inside a Worker's CPU budget.
 */
export const TOOLS_LIST_PAGE_SIZE = 100;

const CURSOR_VERSION = "v1";

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

function encodeCursor(offset: number, fingerprint: string): string {
  const bytes = new TextEncoder().encode(`${CURSOR_VERSION}.${offset}.${fingerprint}`);
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The offset a cursor points at, or `undefined` when it is not one of ours. */
function decodeCursor(cursor: string, fingerprint: string): number | undefined {
  if (cursor.length === 0 || cursor.length > 128 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let text: string;
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return undefined;
  }
  const match = /^v1\.([1-9][0-9]{0,8})\.([0-9a-f]{8})$/.exec(text);
  if (match === null || match[2] !== fingerprint) return undefined;
  return Number(match[1]);
}

/** One page of `items` starting at `cursor` (the first page when absent). Throws `-32602` for a bad cursor. */
export function paginate<T>(
  items: readonly T[],
  cursor: string | undefined,
  fingerprint: string,
  pageSize = TOOLS_LIST_PAGE_SIZE,
): Page<T> {
  let offset = 0;
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor, fingerprint);
    if (decoded === undefined || decoded >= items.length) {
      throw invalidParams("Invalid cursor: start tools/list again without a cursor", { cursor });
    }
    offset = decoded;
  }
  const end = offset + pageSize;
  const page: Page<T> = { items: items.slice(offset, end) };
  if (end < items.length) page.nextCursor = encodeCursor(end, fingerprint);
  return page;
}
