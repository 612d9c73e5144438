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

/**
 * What one tool call did upstream, filled in where it happens (src/resilience/retry.ts counts
 * attempts, their time and the last status; the kinds count body bytes) and read once at the MCP
 * edge for the call's `tool_call` event (src/mcp/call-tool.ts). One per call, travelling down with
 * it (`VendorToolCall.stats`): a few number writes per attempt, no allocation.
 * (An extension of the #14 contract: the event needs these, the metrics may use them.)
 */
export interface CallStats {
  /** Upstream attempts sent (0: nothing was sent: refused before, by the breaker, the bucket, …). */
  attempts: number;
  /** The last upstream HTTP status (0: none; an upstream MCP server's answer over 2xx is 200). */
  upstreamStatus: number;
  /** Time spent in upstream attempts on the call's clock, ms (admission and backoff waits excluded). */
  upstreamMs: number;
  /** Bytes of the upstream request body as sent (one attempt's; a retry re-sends the same body). */
  requestBytes: number;
  /** Bytes of the upstream response body as received (the final answer's; counted as read, bounded). */
  responseBytes: number;
  /**
   * The credential values the kind attached to this call (its `SecretScrubber`, set by the kind),
   * so what the edge logs of the call (a vendor's opted-in arguments) is scrubbed of them too.
   */
  secrets: { scrub(text: string): string } | undefined;
}

/** A fresh record for one call. */
export function newCallStats(): CallStats {
  return {
    attempts: 0,
    upstreamStatus: 0,
    upstreamMs: 0,
    requestBytes: 0,
    responseBytes: 0,
    secrets: undefined,
  };
}

/** UTF-8 length of a string without encoding it (no allocation). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    // A surrogate pair is 2 code units and 4 bytes: each unit adds 1.
    else if (c >= 0xd800 && c <= 0xdfff) bytes += 1;
    else bytes += 2;
  }
  return bytes;
}
