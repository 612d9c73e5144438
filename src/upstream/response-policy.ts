/**
 * What the executor does with upstream JSON before it becomes a tool result:
 * response validation (`RESPONSE_VALIDATION_MODE`), drift counting, and
 * sanitization (`SANITIZATION_LEVEL`). One call per response, so the
 * executor's code stays about HTTP.
 *
 * Only success (2xx) bodies are validated: an error body already makes the
 * call fail, and rejecting it for its shape would hide the upstream's message.
 * Error bodies are sanitized like success bodies.
 *
 * @module
 */
import type { ToolRecipe, VendorBundle } from "../bundle/types.ts";
import type { VendorSettings } from "../config.ts";
import { log } from "../log.ts";
import { sanitize } from "../redaction/sanitize.ts";
import { guardClient } from "../resilience/guard-client.ts";
import type { TraceContext } from "../trace-context.ts";
import { judgeResponse, responseRecipeFor } from "./response-validation.ts";

export interface ResponsePolicyContext {
  env: Env;
  bundle: VendorBundle;
  tool: ToolRecipe;
  settings: VendorSettings;
  waitUntil: (promise: Promise<unknown>) => void;
  /** The MCP request's id, for the drift log line; absent for a health probe. */
  requestId?: string;
  /** The MCP request's trace, whose id the drift log line carries; absent for a health probe. */
  trace?: TraceContext;
}

type JsonInspection =
  /** Use `data` (sanitized); `changed` says whether it differs from the input (re-serialize it). */
  | { action: "pass"; data: unknown; changed: boolean }
  /** Strict mode: the body does not match its schema; `message` says what. */
  | { action: "reject"; message: string; mismatches: string[] };

/** Logs a drifted body (`warn`) and counts it for `/health/vendors`. */
function recordDrift(ctx: ResponsePolicyContext, status: number, summary: string): void {
  log({
    event: "response_drift",
    requestId: ctx.requestId,
    ...(ctx.trace === undefined ? {} : { traceId: ctx.trace.traceId }),
    vendor: ctx.bundle.vendor,
    tool: ctx.tool.name,
    status,
    summary,
  });
  ctx.waitUntil(
    guardClient(ctx.env, ctx.settings, {
      ...(ctx.requestId === undefined ? {} : { requestId: ctx.requestId }),
      ...(ctx.trace === undefined ? {} : { traceId: ctx.trace.traceId }),
    }).recordDrift(ctx.tool.name),
  );
}

/** Validates (2xx only) and sanitizes a parsed upstream JSON body. */
function inspectJson(ctx: ResponsePolicyContext, status: number, data: unknown): JsonInspection {
  if (status >= 200 && status < 300) {
    const verdict = judgeResponse(ctx.settings.responseValidationMode, ctx.bundle, ctx.tool, status, data);
    if (verdict.action === "reject") {
      return { action: "reject", message: verdict.summary, mismatches: verdict.mismatches };
    }
    if (verdict.action === "drift") recordDrift(ctx, status, verdict.summary);
  }
  if (ctx.settings.sanitizationLevel === "DISABLED") return { action: "pass", data, changed: false };
  return { action: "pass", data: sanitize(data, ctx.settings.sanitizationLevel), changed: true };
}

/**
 * A 2xx body declared as JSON that does not parse. When the spec documents a
 * schema for it, that is drift (`warn`) or a tool error (`strict`).
 */
function inspectMalformedJson(ctx: ResponsePolicyContext, status: number): JsonInspection | undefined {
  const mode = ctx.settings.responseValidationMode;
  if (mode === "off" || status < 200 || status >= 300) return undefined;
  if (!responseRecipeFor(ctx.tool, status)?.schema) return undefined;
  const message = `The ${status} response of ${ctx.tool.name} is not valid JSON, but its documented schema expects JSON.`;
  if (mode === "strict") return { action: "reject", message, mismatches: ["at (root): not valid JSON"] };
  recordDrift(ctx, status, message);
  return undefined;
}

/** Sanitizes a value from an error body (`details` of an upstream error result). */
export function sanitizeErrorDetails<T>(settings: Pick<VendorSettings, "sanitizationLevel">, details: T): T {
  return sanitize(details, settings.sanitizationLevel);
}

export type TextInspection =
  /** The text to return (re-serialized when sanitization changed it) and its parsed form, when it parsed. */
  | { action: "pass"; text: string; data: unknown }
  | { action: "reject"; message: string; mismatches: string[] };

/**
 * The whole policy for a JSON body as text: parse, validate (2xx), count drift,
 * sanitize. A body that does not parse is returned as is (after the
 * malformed-JSON check); `data` is then `undefined`.
 */
export function applyResponsePolicy(
  ctx: ResponsePolicyContext,
  status: number,
  text: string,
): TextInspection {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const malformed = inspectMalformedJson(ctx, status);
    if (malformed?.action === "reject") return malformed;
    return { action: "pass", text, data: undefined };
  }
  const inspected = inspectJson(ctx, status, data);
  if (inspected.action === "reject") return inspected;
  return {
    action: "pass",
    text: inspected.changed ? JSON.stringify(inspected.data) : text,
    data: inspected.data,
  };
}
