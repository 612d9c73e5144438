/**
 * Requests the runtime refuses to build (an invalid header value, a URL it cannot parse…) told
 * apart from network failures: both make `fetch` reject, but a refusal sent nothing, so the
 * resilience layer (src/resilience/retry.ts) neither retries it nor counts it against the
 * upstream. Every vendor kind's send step uses it; a leaf, so the upstream MCP client also runs
 * under Node (scripts/mcp-client-adapter.ts) without the Worker-only resilience modules.
 *
 * @module
 */
import { redactUrlQueries } from "./redact-urls.ts";

/** Runtime error text kept in an outcome: it reaches health output and logs. */
export const MAX_RUNTIME_ERROR_CHARS = 200;

/**
 * The runtime refused to build an upstream request (an invalid header value, a URL
 * it cannot parse…): thrown by the send step before anything leaves the Worker.
 */
export class RequestNotSent extends Error {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `The runtime refused to build the upstream request (${redactUrlQueries(reason, MAX_RUNTIME_ERROR_CHARS)})`,
    );
    this.name = "RequestNotSent";
  }
}

/**
 * What a failed `fetch(input, init)` threw, as {@link RequestNotSent} when the runtime refuses
 * to build that request locally, so it does not look like a network failure. The request is
 * built a second time only after the fetch failed: a refusal repeats itself (the body is bytes
 * or text, never a consumed stream), a network failure does not. Building it before every send
 * instead cost a second `Request` per attempt, since `fetch` builds its own. The send step
 * (src/upstream/send.ts) calls it in its own `catch`: a wrapper around `fetch` cost an async
 * frame and a promise per attempt.
 */
export function refusalOr(error: unknown, input: string, init: RequestInit): unknown {
  try {
    new Request(input, init);
  } catch (refusal) {
    return new RequestNotSent(refusal);
  }
  return error;
}
