/**
 * Upstream response → MCP tool result. Bodies are read through a byte limit, so
 * a huge response never sits in isolate memory: JSON and text keep their first
 * `maxResponseBytes` with a notice saying how much was cut; images and other
 * binary bodies are returned whole up to `maxBinaryResponseBytes` or not at all.
 *
 * Upstream errors (4xx/5xx) become `upstream_error` failures (src/tool-error.ts) with the
 * status and the upstream's own message; an HTML error page (a Cloudflare 52x,
 * a proxy's 404) is reduced to its status and `<title>` and never passed on.
 * Response headers, `Set-Cookie` included, are not passed on either.
 *
 * A tool that declares an `outputSchema` gets `structuredContent` only when the
 * body, after sanitization, matches that schema: MCP says it MUST, and SDK clients
 * fail the whole call (-32602) on a mismatch, or on a successful result without
 * structured content. The advertised schema is the compiler's tolerant one (extra
 * fields, missing fields, nulls, odd values pass; scripts/compiler/schema.ts), so
 * this only fails for bodies of another shape: a string where an object belongs,
 * text instead of JSON, a body cut at the size limit. Those come back as an
 * `output_schema_mismatch` failure that still carries the body in `data`. This holds in every `RESPONSE_VALIDATION_MODE`: it is protocol, not policy.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import { basePathPrefix, isUnderBase } from "../base-url.ts";
import { binaryString } from "../base64.ts";
import type { ToolRecipe } from "../bundle/types.ts";
import type { Clock } from "../clock.ts";
import { sanitizeJsonText } from "../redaction/sanitize.ts";
import type { SecretScrubber } from "../redaction/scrub.ts";
import { type ValidationIssue, validate } from "../schema/validate.ts";
import { failed, succeeded, type ToolOutcome } from "../tool-error.ts";
import { applyResponsePolicy, type ResponsePolicyContext, sanitizeErrorDetails } from "./response-policy.ts";

/**
 * After the cap is reached the rest of the body is read and counted (not kept) up
 * to this many bytes so the notice can say exactly how much was cut; beyond it
 * the stream is cancelled and the notice says "more than".
 */
const MAX_COUNTED_BYTES = 8 * 1024 * 1024;

/** An error body is only read for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Upstream JSON error bodies up to this size are passed on as `details` (field-level errors help the model). */
const MAX_ERROR_DETAILS_CHARS = 4096;
const MAX_ERROR_MESSAGE_CHARS = 500;
/** Schema problems listed in an `output_schema_mismatch` result: enough to see the drift. */
const MAX_OUTPUT_ISSUES = 5;

export interface ResponseOptions {
  tool: ToolRecipe;
  /** The request URL (for resource URIs; its query is dropped, it may hold an API key). */
  url: URL;
  /** The vendor's base URL, to say why a redirect was not followed. */
  base?: URL;
  maxResponseBytes: number;
  maxBinaryResponseBytes: number;
  /** The call's clock: an HTTP-date `Retry-After` is turned into seconds from its now. */
  clock: Clock;
  /** Response validation and sanitization (src/upstream/response-policy.ts); absent: none. */
  policy?: ResponsePolicyContext;
  /**
   * The credentials attached to the request (src/redaction/scrub.ts): removed from bodies as they
   * are read, before anything is parsed, cut or validated, and from the status line, media type
   * and resource URI of a success. (The executor scrubs error results once more as a whole.)
   */
  secrets?: SecretScrubber;
}

interface LimitedBody {
  bytes: Uint8Array;
  truncated: boolean;
  /** Total body size when known. */
  totalBytes: number;
  /** False when counting stopped at `MAX_COUNTED_BYTES` (the body is larger than `totalBytes`). */
  totalExact: boolean;
}

/** Reads at most `limit` bytes of a body into memory; counts (and discards) the rest. */
async function readLimited(response: Response, limit: number): Promise<LimitedBody> {
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
interface LimitedText {
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
async function readLimitedText(
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

function contentTypeOf(response: Response): string {
  return response.headers.get("Content-Type") ?? "";
}

function mimeOf(contentType: string): string {
  return contentType.split(";")[0]!.trim().toLowerCase();
}

function classify(mime: string): BodyKind {
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
function scrubBody(body: LimitedText, opts: ResponseOptions): string {
  if (!opts.secrets) return body.text;
  return body.truncated ? opts.secrets.scrubCut(body.text) : opts.secrets.scrub(body.text);
}

function formatBytes(n: number): string {
  return n.toLocaleString("en-US");
}

function truncationNotice(body: LimitedText): string {
  const shown = body.shownBytes;
  const cut = body.totalBytes - shown;
  return body.totalExact
    ? `[Response truncated: showing the first ${formatBytes(shown)} of ${formatBytes(body.totalBytes)} bytes; ${formatBytes(cut)} bytes were cut. Request less data (filters, fields, a smaller page size) to see the rest.]`
    : `[Response truncated: showing the first ${formatBytes(shown)} bytes; more than ${formatBytes(cut)} further bytes were cut. Request less data (filters, fields, a smaller page size) to see the rest.]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function clip(s: string, max = MAX_ERROR_MESSAGE_CHARS): string {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

// Upstream HTML is hostile: each scan stops at the next `<`, so no match attempt re-reads
// what another one read (`<title[^>]*>…` took quadratic time on `<title<title<title…`).
const TITLE_OPEN = /<title[^<>]*>/i;
const TITLE_CLOSE = /<\/title\s*>/gi;
const TAG = /<[^<>]*>/g;

/** The `<title>` of an HTML page, entity-decoded and whitespace-collapsed. */
export function htmlTitle(html: string): string | undefined {
  const open = TITLE_OPEN.exec(html);
  if (!open) return undefined;
  const start = open.index + open[0].length;
  TITLE_CLOSE.lastIndex = start;
  const close = TITLE_CLOSE.exec(html);
  if (!close) return undefined;
  const title = clip(decodeEntities(html.slice(start, close.index).replace(TAG, "")), 200);
  return title === "" ? undefined : title;
}

function looksLikeHtml(text: string): boolean {
  return /^\s*(?:<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(text);
}

/** The human message in an upstream JSON error body, across the common shapes. */
function jsonErrorMessage(body: unknown): string | undefined {
  if (typeof body === "string") return clip(body);
  if (!isPlainObject(body)) return undefined;
  const parts: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === "string" && v.trim() !== "" && !parts.includes(v)) parts.push(v);
  };
  add(body.message);
  add(body.error_description);
  if (typeof body.error === "string") add(body.error);
  else if (isPlainObject(body.error)) add(jsonErrorMessage(body.error));
  add(body.detail);
  add(body.title);
  add(body.description);
  add(body.msg);
  add(body.error_message);
  add(body.errorMessage);
  if (isPlainObject(body.fault)) add(body.fault.faultstring);
  if (Array.isArray(body.errors)) {
    for (const e of body.errors.slice(0, 5)) {
      add(typeof e === "string" ? e : isPlainObject(e) ? jsonErrorMessage(e) : undefined);
    }
  }
  return parts.length > 0 ? clip(parts.join(" — ")) : undefined;
}

function retryAfterSeconds(response: Response, clock: Clock): number | undefined {
  const raw = response.headers.get("Retry-After");
  if (!raw) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((at - clock.now()) / 1000));
}

async function upstreamErrorResult(response: Response, opts: ResponseOptions): Promise<ToolOutcome> {
  const contentType = contentTypeOf(response);
  const kind = classify(mimeOf(contentType));
  const body = await readLimitedText(response, MAX_ERROR_BODY_BYTES, contentType);
  const text = scrubBody(body, opts);
  const fallback = statusLine(response);
  let message: string | undefined;
  let details: unknown;
  if (kind === "html" || looksLikeHtml(text)) {
    const title = htmlTitle(text);
    message = title
      ? `${fallback}: upstream returned an HTML error page titled "${title}"`
      : `${fallback}: upstream returned an HTML error page`;
  } else if (text.trim() !== "") {
    let parsed: unknown;
    let isJson = false;
    try {
      parsed = JSON.parse(text);
      isJson = true;
    } catch {
      // Not JSON despite the content type: use the text.
    }
    if (isJson) {
      if (opts.policy) parsed = sanitizeErrorDetails(opts.policy.settings, parsed);
      message = jsonErrorMessage(parsed);
      if (text.length <= MAX_ERROR_DETAILS_CHARS) details = parsed;
    } else if (kind === "json" || kind === "text") {
      message = clip(text);
    }
  }
  const retryAfter = retryAfterSeconds(response, opts.clock);
  return failed("upstream_error", message ?? fallback, {
    status: response.status,
    extra: {
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      ...(details === undefined ? {} : { details }),
    },
  });
}

/**
 * A redirect `sendUpstream` did not follow (src/upstream/send.ts): to another origin, outside
 * the base path, or one too many. The target is named without its query (it may carry a key).
 */
function redirectResult(response: Response, opts: ResponseOptions): ToolOutcome {
  let target = response.headers.get("Location") ?? "";
  let why = "redirects to another origin (or too many redirects) are not followed";
  try {
    const u = new URL(target, opts.url);
    target = `${u.origin}${u.pathname}`;
    if (opts.base && u.origin === opts.base.origin && !isUnderBase(u, opts.base)) {
      why = `that is outside the vendor's base URL ${opts.base.origin}${basePathPrefix(opts.base)}/ and was not followed`;
    }
  } catch {
    target = clip(target, 200);
  }
  void response.body?.cancel().catch(() => {});
  return failed(
    "redirect_not_followed",
    `The upstream redirected to ${target}; ${why}, so credentials never leave the vendor's base URL`,
    { status: response.status },
  );
}

/** Why a successful upstream answer cannot be the tool's structured content, and the answer itself. */
interface OutputMismatch {
  message: string;
  errors?: ValidationIssue[];
  /** The body: parsed JSON when it parsed, else its text. */
  data?: unknown;
  /** Content that cannot go in the JSON body (binary), returned after it. */
  content?: CallToolResult["content"];
}

function statusLine(response: Response): string {
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
}

/**
 * The result for a success that cannot be valid structured content. `isError`,
 * because MCP lets only error results of a tool with an output schema go without
 * structured content; the message says the call itself went through, so a model
 * does not repeat a write because of it.
 */
function outputMismatchResult(response: Response, mismatch: OutputMismatch): ToolOutcome {
  return failed(
    "output_schema_mismatch",
    `The upstream answered ${statusLine(response)}, so the call went through, but ${mismatch.message}`,
    {
      status: response.status,
      ...(mismatch.errors === undefined ? {} : { errors: mismatch.errors }),
      ...(mismatch.data === undefined ? {} : { extra: { data: mismatch.data } }),
      ...(mismatch.content === undefined ? {} : { content: mismatch.content }),
    },
  );
}

/**
 * Text plus structured content for a parsed JSON body, when it matches the
 * advertised output schema. The schema is interpreted (no code generation in
 * Workers); the interpreter keeps per-schema caches (resolved `$ref`s, compiled
 * patterns) keyed by the tool's schema object, which lives as long as the
 * isolate's parsed bundle, so nothing is rebuilt per call.
 */
function structuredResult(
  response: Response,
  opts: ResponseOptions,
  schema: NonNullable<ToolRecipe["outputSchema"]>,
  text: string,
  data: unknown,
): ToolOutcome {
  const outcome = validate(schema, data, { maxIssues: MAX_OUTPUT_ISSUES });
  if (outcome.valid && isPlainObject(data)) {
    return succeeded({ content: [{ type: "text", text }], structuredContent: data });
  }
  const errors = outcome.valid ? [{ pointer: "", message: "must be object" }] : outcome.issues;
  return outputMismatchResult(response, {
    message: `its body does not have the shape of ${opts.tool.name}'s output schema (${errors
      .map((e) => `${e.pointer || "(root)"} ${e.message}`)
      .join("; ")}). The body is in "data".`,
    errors,
    data,
  });
}

/**
 * Converts an upstream response into the tool result. Reads the body (within its
 * limit) and always consumes or cancels it.
 */
export async function responseToResult(response: Response, opts: ResponseOptions): Promise<ToolOutcome> {
  const { status } = response;
  if (status >= 400) return upstreamErrorResult(response, opts);
  if (status >= 300 && response.headers.has("Location")) return redirectResult(response, opts);

  // The media type reaches results (resource `mimeType`, notices): upstream text like any other.
  const contentType = opts.secrets ? opts.secrets.scrub(contentTypeOf(response)) : contentTypeOf(response);
  const mime = mimeOf(contentType);
  const kind = classify(mime);
  const binary = kind === "image" || kind === "audio" || kind === "binary";
  const schema = opts.tool.outputSchema;

  if (binary) {
    const body = await readLimited(response, opts.maxBinaryResponseBytes);
    if (body.totalBytes === 0) return emptyBodyResult(response, opts);
    const content = binaryContent(body, mime, opts);
    if (schema) {
      return outputMismatchResult(response, {
        message: `the body is ${mime || "binary data"}, not the JSON object the tool's output schema describes; it follows this message.`,
        content,
      });
    }
    return succeeded({ content });
  }

  const body = await readLimitedText(response, opts.maxResponseBytes, contentType);
  if (body.totalBytes === 0) return emptyBodyResult(response, opts);
  let text = scrubBody(body, opts);
  if (body.truncated) {
    // Cut JSON does not parse, so it is sanitized as text (nothing may bypass SANITIZATION_LEVEL).
    if (opts.policy && (kind === "json" || mime === ""))
      text = sanitizeJsonText(text, opts.policy.settings.sanitizationLevel);
    const notice = truncationNotice(body);
    if (schema) {
      return outputMismatchResult(response, {
        message: `its body was cut at the size limit, and a part of a body cannot be structured content. ${notice} The part kept is in "data".`,
        data: text,
      });
    }
    return succeeded({ content: [{ type: "text", text: `${text}\n\n${notice}` }] });
  }

  // Without a content type, a body that parses as JSON is JSON (validated and sanitized like any).
  const json = kind === "json" || (mime === "" && parsesAsJson(text));
  if (!json) {
    if (schema) {
      return outputMismatchResult(response, {
        message: `the body is ${mime || "text without a content type"}, not the JSON object the tool's output schema describes. The body is in "data".`,
        data: text,
      });
    }
    return succeeded({ content: [{ type: "text", text }] });
  }

  let data: unknown;
  if (opts.policy) {
    const checked = applyResponsePolicy(opts.policy, status, text);
    if (checked.action === "reject") {
      return failed("response_schema_mismatch", checked.message, {
        status,
        extra: { mismatches: checked.mismatches },
      });
    }
    text = checked.text;
    data = checked.data;
  } else {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!schema) return succeeded({ content: [{ type: "text", text }] });
  if (data === undefined) {
    return outputMismatchResult(response, {
      message: `its body is not valid JSON, so it cannot be the structured content the tool's output schema describes. The body is in "data".`,
      data: text,
    });
  }
  return structuredResult(response, opts, schema, text, data);
}

function emptyBodyResult(response: Response, opts: ResponseOptions): ToolOutcome {
  if (opts.tool.outputSchema) {
    return outputMismatchResult(response, {
      message: "the body is empty, where the tool's output schema describes a JSON object.",
    });
  }
  return succeeded({
    content: [
      {
        type: "text",
        text: `The upstream answered ${opts.secrets ? opts.secrets.scrub(statusLine(response)) : statusLine(response)} with an empty body.`,
      },
    ],
  });
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Binary bodies: image or audio content, else an embedded resource; a notice when over the limit. */
function binaryContent(body: LimitedBody, mime: string, opts: ResponseOptions): CallToolResult["content"] {
  if (body.truncated) {
    const size = body.totalExact
      ? `${formatBytes(body.totalBytes)} bytes`
      : `more than ${formatBytes(body.totalBytes)} bytes`;
    return [
      {
        type: "text",
        text: `[The upstream returned ${mime || "binary data"} of ${size}, over the ${formatBytes(opts.maxBinaryResponseBytes)}-byte limit for binary results; it was not returned.]`,
      },
    ];
  }
  const bin = binaryString(body.bytes);
  // Bytes cannot be scrubbed without corrupting them: a body holding a credential is withheld whole.
  if (opts.secrets?.inBinaryString(bin)) {
    return [
      {
        type: "text",
        text: `[The upstream returned ${mime || "binary data"} that contains a credential the gateway sent; it was withheld.]`,
      },
    ];
  }
  const data = btoa(bin);
  if (mime.startsWith("image/")) return [{ type: "image", data, mimeType: mime }];
  if (mime.startsWith("audio/")) return [{ type: "audio", data, mimeType: mime }];
  const path = `${opts.url.origin}${opts.url.pathname}`;
  const uri = opts.secrets ? opts.secrets.scrub(path) : path;
  return [{ type: "resource", resource: { uri, mimeType: mime || "application/octet-stream", blob: data } }];
}
