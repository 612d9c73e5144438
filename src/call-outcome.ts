/**
 * How a tool call ended, as operators count it: the closed list every `tool_call` event, metric
 * and status chart uses (README.md#operating-the-gateway). One call has exactly one outcome.
 *
 * @module
 */

/** Every outcome, in the order reports list them. */
export const CALL_OUTCOMES = [
  "ok",
  /** The upstream answered and the tool reported an error (`isError`, a 4xx the model can fix). */
  "tool_error",
  /** The upstream failed: 5xx, network error, malformed answer. */
  "upstream_error",
  /** The arguments did not match the tool's input schema. */
  "invalid_arguments",
  /** The caller may not use the tool (allowlist, scope, withheld definition, missing credential). */
  "denied",
  /** The vendor's circuit breaker refused the call. */
  "breaker_open",
  /** The vendor's token bucket or the upstream (429) refused the call. */
  "rate_limited",
  /** A configured per-user or per-team quota refused the call. */
  "quota_exceeded",
  /** The call ran out of time (`TOOL_EXECUTION_TIMEOUT` or the upstream's own timeout). */
  "timeout",
] as const;

export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/**
 * One finished tool call as the metrics store counts it (src/ops/). Built once per call at the MCP
 * edge; holds no argument, body or secret: `message` is the scrubbed, bounded failure text.
 */
export interface CallSample {
  vendor: string;
  /** The tool's unprefixed name. */
  tool: string;
  outcome: CallOutcome;
  /** Wall time of the whole call on the call's clock, in ms. */
  latencyMs: number;
  /** When the call ended (the call's clock, epoch ms). */
  time: number;
  /** The tool error code when the outcome is not `ok` (src/tool-error.ts). */
  errorCode?: string;
  /** Scrubbed failure text, at most {@link CALL_SAMPLE_MESSAGE_MAX_CHARS} characters. */
  message?: string;
  /** Stable opaque ids; never an email or a token. */
  userId?: string;
  teamId?: string;
}

/** Failure text kept per sample: enough for "recent failures", short enough to store per call. */
export const CALL_SAMPLE_MESSAGE_MAX_CHARS = 300;
