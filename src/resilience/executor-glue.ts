/**
 * The resilience layer as the executor (`src/upstream/execute.ts`) uses it:
 * `resilientFetch` around the single-attempt `sendUpstream`, the gateway's
 * own request headers, and failures turned into tool error results.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { PreparedRequest } from "../upstream/request.ts";
import { errorResult } from "../upstream/tool-error.ts";
import type { UpstreamFailure } from "./retry.ts";

export { refusalsApart, resilientFetch } from "./retry.ts";

/**
 * The request with the gateway's headers (the idempotency key) added; headers
 * the request already has (an argument the caller passed) win.
 */
export function withGatewayHeaders(req: PreparedRequest, headers: Record<string, string>): PreparedRequest {
  const names = Object.keys(headers);
  if (names.length === 0) return req;
  const merged = new Headers(req.headers);
  for (const name of names) {
    if (!merged.has(name)) merged.set(name, headers[name]!);
  }
  return { ...req, headers: merged };
}

/** A failure without a usable upstream answer → the tool error result (names the vendor, says when to retry). */
export function upstreamFailureResult(
  vendor: string,
  tool: string,
  failure: UpstreamFailure,
  attempts: number,
): CallToolResult {
  return errorResult({
    error: failure.code,
    vendor,
    tool,
    message: failure.message,
    attempts,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.retryAt === undefined ? {} : { retryAt: failure.retryAt }),
  });
}
