/**
 * Upstream answers that fail the call, as typed failures (src/tool-error.ts): a 4xx/5xx becomes
 * `upstream_error` with the status and the upstream's own message (an HTML error page, a
 * Cloudflare 52x or a proxy's 404, is reduced to its status and `<title>` and never passed on;
 * a small JSON error body travels as `details`, sanitized), and a redirect the send step did not
 * follow becomes `redirect_not_followed`.
 *
 * @module
 */
import { basePathPrefix, isUnderBase } from "../base-url.ts";
import type { CallStats } from "../call-outcome.ts";
import type { Clock } from "../clock.ts";
import type { SecretScrubber } from "../redaction/scrub.ts";
import { failed, type ToolOutcome } from "../tool-error.ts";
import { isPlainObject } from "./plain-object.ts";
import { classify, contentTypeOf, mimeOf, readLimitedText, scrubBody, statusLine } from "./response-body.ts";
import { type ResponsePolicyContext, sanitizeErrorDetails } from "./response-policy.ts";

/** An error body is only read for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Upstream JSON error bodies up to this size are passed on as `details` (field-level errors help the model). */
const MAX_ERROR_DETAILS_CHARS = 4096;
const MAX_ERROR_MESSAGE_CHARS = 500;

/** What reading a failed answer needs (a part of the pipeline's options). */
export interface ErrorReading {
  /** The request URL, to resolve a relative redirect target. */
  url: URL;
  /** The vendor's base URL, to say why a redirect was not followed. */
  base?: URL;
  /** The call's clock: an HTTP-date `Retry-After` is turned into seconds from its now. */
  clock: Clock;
  /** The call's stats: `responseBytes` is set to the error body's size as read. */
  stats?: CallStats | undefined;
  /** Sanitization of `details` (`SANITIZATION_LEVEL`); absent: none. */
  policy?: Pick<ResponsePolicyContext, "settings">;
  /** The request's credentials, scrubbed from the error body as it is read. */
  secrets?: SecretScrubber;
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

export async function upstreamErrorResult(response: Response, opts: ErrorReading): Promise<ToolOutcome> {
  const contentType = contentTypeOf(response);
  const kind = classify(mimeOf(contentType));
  const body = await readLimitedText(response, MAX_ERROR_BODY_BYTES, contentType);
  if (opts.stats !== undefined) opts.stats.responseBytes = body.totalBytes;
  const text = scrubBody(body, opts.secrets);
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
export function redirectResult(response: Response, opts: ErrorReading): ToolOutcome {
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
