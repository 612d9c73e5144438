/**
 * The one place a finished tool call is reported: {@link reportToolCall} gets every `tools/call` of
 * a vendor tool exactly once (src/mcp/call-tool.ts builds both arguments), whether the vendor was
 * called or the call was refused before (invalid arguments of a discovery `call`, a tool the
 * caller may not use, the write-scope rule, an unknown tool of a known vendor). It logs the
 * `tool_call` event and writes the same call's sample to the vendor's metrics store
 * (src/ops/metrics.ts), so a call is counted where it is logged and nowhere else.
 *
 * Outcomes: {@link TOOL_ERROR_OUTCOMES} maps every tool error code (src/tool-error.ts) to one
 * outcome of the closed list (src/call-outcome.ts); a new code fails the type check until it has
 * one. {@link callOutcomeOf} adds the one rule the code alone cannot say: an upstream that answered
 * 4xx ("the model can fix it") is `tool_error`, 429 `rate_limited`, 408 `timeout`.
 *
 * @module
 */
import type { CallOutcome, CallSample } from "../call-outcome.ts";
import { type LogEvent, log } from "../log.ts";
import { recordCallSample } from "../ops/metrics.ts";
import { sanitize } from "../redaction/sanitize.ts";
import type { ToolErrorCode, ToolFailure, ToolOutcome } from "../tool-error.ts";
import type { McpRequestScope } from "./server.ts";

/** The `tool_call` event's fields. */
export type ToolCallEvent = Omit<Extract<LogEvent, { event: "tool_call" }>, "event">;

/** Each tool error code's outcome (exhaustive: a code without one is a type error). */
export const TOOL_ERROR_OUTCOMES: { readonly [C in ToolErrorCode]: CallOutcome } = {
  invalid_arguments: "invalid_arguments",
  // No credential to send: the caller may not use the vendor yet.
  missing_credentials: "denied",
  // The vendor's configuration in this gateway is broken: counted against the vendor.
  configuration_error: "upstream_error",
  upstream_error: "upstream_error",
  upstream_timeout: "timeout",
  upstream_unreachable: "upstream_error",
  redirect_not_followed: "upstream_error",
  internal_error: "upstream_error",
  circuit_open: "breaker_open",
  rate_limited: "rate_limited",
  // Retries spent while the upstream kept failing (the 429 case is `rate_limited` by its status).
  retry_later: "upstream_error",
  response_schema_mismatch: "upstream_error",
  output_schema_mismatch: "upstream_error",
  // Discovery `call` of an operation that does not exist (or a direct call of an unknown tool).
  unknown_operation: "invalid_arguments",
  insufficient_scope: "denied",
  tool_withheld: "denied",
  tool_not_allowed: "denied",
  quota_exceeded: "quota_exceeded",
};

/** The outcome of a failure: its code's, unless an upstream status says better. */
export function failureOutcome(failure: Pick<ToolFailure, "code" | "status">): CallOutcome {
  const { status } = failure;
  if (
    status !== undefined &&
    (failure.code === "upstream_error" || failure.code === "retry_later") &&
    status >= 400 &&
    status < 500
  ) {
    if (status === 429) return "rate_limited";
    if (status === 408) return "timeout";
    // The upstream answered and refused what the model asked: the tool's error, not the upstream's.
    if (failure.code === "upstream_error") return "tool_error";
  }
  return TOOL_ERROR_OUTCOMES[failure.code];
}

/** A call's outcome: `ok`, `tool_error` for a result the tool itself marked `isError`, or its failure's. */
export function callOutcomeOf(outcome: ToolOutcome): CallOutcome {
  if (outcome.ok) return outcome.result.isError === true ? "tool_error" : "ok";
  return failureOutcome(outcome.failure);
}

/** Logged arguments are cut here: a log line is not a place for payloads. */
export const MAX_LOGGED_ARGUMENTS_CHARS = 4096;

/**
 * A vendor's opted-in (`logArguments`) arguments as they go into its `tool_call` events: JSON with
 * every sensitive key redacted at the strictest level (src/redaction/sanitize.ts, whatever
 * `SANITIZATION_LEVEL` says), every credential value attached to the call scrubbed, cut to
 * {@link MAX_LOGGED_ARGUMENTS_CHARS} characters.
 */
export function loggedArguments(
  args: unknown,
  secrets: { scrub(text: string): string } | undefined,
): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(sanitize(args ?? {}, "HIGH"));
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  if (secrets !== undefined) text = secrets.scrub(text);
  return text.length <= MAX_LOGGED_ARGUMENTS_CHARS
    ? text
    : `${text.slice(0, MAX_LOGGED_ARGUMENTS_CHARS)}…[cut at ${MAX_LOGGED_ARGUMENTS_CHARS} characters]`;
}

/**
 * Reports one finished tool call: `sample` as the metrics count it, `event` as the log keeps it.
 * Called exactly once per `tools/call` of a vendor tool. Never throws.
 */
export function reportToolCall(scope: McpRequestScope, sample: CallSample, event: ToolCallEvent): void {
  try {
    log({ event: "tool_call", ...event });
    // Exact per-vendor metrics: one write to the vendor's metrics object, after the response (src/ops/metrics.ts).
    recordCallSample(scope.env, sample, scope.waitUntil, {
      requestId: scope.requestId,
      traceId: scope.trace.traceId,
    });
  } catch {
    // reporting must never fail the call it reports
  }
}
