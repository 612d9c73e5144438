/**
 * Upstream response → MCP tool result. Bodies are read through a byte limit
 * (src/upstream/response-body.ts): JSON and text keep their first
 * `maxResponseBytes` with a notice saying how much was cut; images and other
 * binary bodies are returned whole up to `maxBinaryResponseBytes` or not at all.
 *
 * Upstream errors (4xx/5xx) and redirects not followed become typed failures
 * (src/upstream/response-errors.ts). Response headers, `Set-Cookie` included, are
 * not passed on.
 *
 * A tool that declares an `outputSchema` gets `structuredContent` only when the
 * body, after sanitization, matches that schema: MCP says it MUST, and SDK clients
 * fail the whole call (-32602) on a mismatch, or on a successful result without
 * structured content. The advertised schema is the compiler's tolerant one (extra
 * fields, missing fields, nulls, odd values pass; scripts/compiler/schema.ts), so
 * this only fails for bodies of another shape: a string where an object belongs,
 * text instead of JSON, a body cut at the size limit. Those come back as an
 * `output_schema_mismatch` failure that still carries the body in `data`. This holds
 * in every `RESPONSE_VALIDATION_MODE`: it is protocol, not policy.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import { binaryString } from "../base64.ts";
import type { ToolRecipe } from "../bundle/types.ts";
import type { CallStats } from "../call-outcome.ts";
import type { Clock } from "../clock.ts";
import { sanitizeJsonText } from "../redaction/sanitize.ts";
import type { SecretScrubber } from "../redaction/scrub.ts";
import { type ValidationIssue, validate } from "../schema/validate.ts";
import { failed, succeeded, type ToolOutcome } from "../tool-error.ts";
import { isPlainObject } from "./plain-object.ts";
import {
  classify,
  contentTypeOf,
  formatBytes,
  type LimitedBody,
  mimeOf,
  readLimited,
  readLimitedText,
  scrubBody,
  statusLine,
  truncationNotice,
} from "./response-body.ts";
import { redirectResult, upstreamErrorResult } from "./response-errors.ts";
import { applyResponsePolicy, type ResponsePolicyContext } from "./response-policy.ts";

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
  /** The call's stats: `responseBytes` is set to the body's size as read (src/call-outcome.ts). */
  stats?: CallStats | undefined;
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
    if (opts.stats !== undefined) opts.stats.responseBytes = body.totalBytes;
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
  if (opts.stats !== undefined) opts.stats.responseBytes = body.totalBytes;
  if (body.totalBytes === 0) return emptyBodyResult(response, opts);
  let text = scrubBody(body, opts.secrets);
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
