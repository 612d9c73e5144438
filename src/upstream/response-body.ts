/**
 * Reading an upstream body within its byte limit: a huge response never sits in isolate
 * memory. Text keeps its first bytes (decoded in its charset, a multi-byte character cut by
 * the limit held back) with a notice saying how much was cut; the rest is counted, up to a
 * bound, and dropped. Used by the response pipeline (src/upstream/response.ts) and its error
 * mapping (src/upstream/response-errors.ts).
 *
 * @module
 */
import type { SecretScrubber } from "../redaction/scrub.ts";

/**
 * After the cap is reached the rest of the body is read and counted (not kept) up
 * to this many bytes so the notice can say exactly how much was cut; beyond it
 * the stream is cancelled and the notice says "more than".
 */
const MAX_COUNTED_BYTES = 8 * 1024 * 1024;
export interface LimitedBody {
  bytes: Uint8Array;
  truncated: boolean;
  /** Total body size when known. */
  totalBytes: number;
  /** False when counting stopped at `MAX_COUNTED_BYTES` (the body is larger than `totalBytes`). */
  totalExact: boolean;
}

/** Reads at most `limit` bytes of a body into memory; counts (and discards) the rest. */
export async function readLimited(response: Response, limit: number): Promise<LimitedBody> {
  const body = response.body;
  if (!body) return { bytes: new Uint8Array(0), truncated: false, totalBytes: 0, totalExact: true };
  // Content-Length is the encoded size; with Content-Encoding the decoded body differs.
  const knownTotal = declaredLength(response);
  // A declared length within the limit: one native read instead of a chunk loop.
  if (knownTotal !== undefined && knownTotal <= limit) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    // A Response built in the Worker is not held to its header; keep the limit anyway.
    const truncated = bytes.byteLength > limit;
    return {
      bytes: truncated ? bytes.slice(0, limit) : bytes,
      truncated,
      totalBytes: bytes.byteLength,
      totalExact: true,
    };
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let total = 0;
  let totalExact = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (kept < limit) {
        const take = Math.min(value.byteLength, limit - kept);
        chunks.push(take === value.byteLength ? value : value.slice(0, take));
        kept += take;
      }
      if (total > limit) {
        if (knownTotal !== undefined && knownTotal > limit) {
          total = knownTotal;
          await reader.cancel();
          break;
        }
        if (total >= MAX_COUNTED_BYTES) {
          totalExact = false;
          await reader.cancel();
          break;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(kept);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return { bytes, truncated: total > limit, totalBytes: total, totalExact };
}

/** A text body read through a byte limit. */
export interface LimitedText {
  text: string;
  truncated: boolean;
  /** Bytes of the body kept in `text`. */
  shownBytes: number;
  totalBytes: number;
  totalExact: boolean;
}

const UTF8_CHARSET = /^utf-?8$/i;
/** A UTF-16 code unit is at most 3 UTF-8 bytes: text this short is within its byte limit. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/**
 * Reads a text body through `limit` bytes. A UTF-8 body whose declared length fits is
 * read and decoded in one native `text()` (most API answers); anything else goes
 * through {@link readLimited} and a decoder for its charset.
 */
export async function readLimitedText(
  response: Response,
  limit: number,
  contentType = contentTypeOf(response),
): Promise<LimitedText> {
  const charset = charsetOf(contentType);
  const declared = declaredLength(response);
  if ((charset === undefined || UTF8_CHARSET.test(charset)) && declared !== undefined && declared <= limit) {
    const text = await response.text();
    if (text.length * MAX_UTF8_BYTES_PER_UNIT <= limit) {
      return { text, truncated: false, shownBytes: declared, totalBytes: declared, totalExact: true };
    }
    // Near the limit, count exactly: a Response built in the Worker is not held to its header.
    const bytes = new TextEncoder().encode(text);
    if (bytes.byteLength <= limit) {
      return {
        text,
        truncated: false,
        shownBytes: bytes.byteLength,
        totalBytes: bytes.byteLength,
        totalExact: true,
      };
    }
    return {
      text: decodeText(bytes.subarray(0, limit), undefined, true),
      truncated: true,
      shownBytes: limit,
      totalBytes: bytes.byteLength,
      totalExact: true,
    };
  }
  const body = await readLimited(response, limit);
  return {
    text: decodeText(body.bytes, charset, body.truncated),
    truncated: body.truncated,
    shownBytes: body.bytes.byteLength,
    totalBytes: body.totalBytes,
    totalExact: body.totalExact,
  };
}

/** `Content-Length` when it is the decoded size (no `Content-Encoding`). */
function declaredLength(response: Response): number | undefined {
  const declared = Number(response.headers.get("Content-Length") ?? Number.NaN);
  return Number.isFinite(declared) && !response.headers.has("Content-Encoding") ? declared : undefined;
}

function charsetOf(contentType: string): string | undefined {
  return /charset="?([\w-]+)/i.exec(contentType)?.[1];
}

type BodyKind = "json" | "html" | "text" | "image" | "audio" | "binary";

export function contentTypeOf(response: Response): string {
  return response.headers.get("Content-Type") ?? "";
}

export function mimeOf(contentType: string): string {
  return contentType.split(";")[0]!.trim().toLowerCase();
}

export function classify(mime: string): BodyKind {
  if (mime === "") return "text";
  if (mime === "application/json" || mime === "text/json" || mime.endsWith("+json")) return "json";
  if (mime === "text/html" || mime === "application/xhtml+xml") return "html";
  if (
    mime.startsWith("text/") ||
    mime.endsWith("+xml") ||
    /^application\/(?:xml|javascript|ecmascript|x-yaml|yaml|x-www-form-urlencoded|graphql|csv|x-ndjson|ndjson|jsonl|sql)$/.test(
      mime,
    )
  ) {
    return "text";
  }
  if (mime.startsWith("image/")) return "image";
  if (mime.startsWith("audio/")) return "audio";
  return "binary";
}

function decodeText(bytes: Uint8Array, charset: string | undefined, truncated: boolean): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset ?? "utf-8");
  } catch {
    decoder = new TextDecoder("utf-8");
  }
  // `stream: true` holds back a multi-byte character cut in half by the limit instead of emitting U+FFFD.
  return decoder.decode(bytes, { stream: truncated });
}

/**
 * A text body without the request's credentials. A body cut at its limit may end in the
 * first part of one, which goes too.
 */
export function scrubBody(body: LimitedText, secrets: SecretScrubber | undefined): string {
  if (!secrets) return body.text;
  return body.truncated ? secrets.scrubCut(body.text) : secrets.scrub(body.text);
}

export function formatBytes(n: number): string {
  return n.toLocaleString("en-US");
}

export function truncationNotice(body: LimitedText): string {
  const shown = body.shownBytes;
  const cut = body.totalBytes - shown;
  return body.totalExact
    ? `[Response truncated: showing the first ${formatBytes(shown)} of ${formatBytes(body.totalBytes)} bytes; ${formatBytes(cut)} bytes were cut. Request less data (filters, fields, a smaller page size) to see the rest.]`
    : `[Response truncated: showing the first ${formatBytes(shown)} bytes; more than ${formatBytes(cut)} further bytes were cut. Request less data (filters, fields, a smaller page size) to see the rest.]`;
}

export function statusLine(response: Response): string {
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
}
