/**
 * The full gateway's answer to the measured call, which every stage build replays from
 * the point where it stops. The bench records it from the uncut gateway and the build
 * defines `BENCH_RECORDED` as its JSON (wrangler `define`, see scripts/bench/stages.ts),
 * so the seams read it once when the Worker starts, not per call.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";

export interface RecordedAnswer {
  /** The whole HTTP response body of `tools/call` (a JSON-RPC response). */
  responseText: string;
  /** Its `result`. */
  result: CallToolResult;
  /** What the upstream answered the gateway's request. */
  upstream: { status: number; headers: Array<[string, string]>; body: string };
}

declare const BENCH_RECORDED: string;

export const RECORDED: RecordedAnswer = JSON.parse(BENCH_RECORDED);

const JSON_HEADERS = { "content-type": "application/json" };

/** The recorded JSON-RPC answer, as the gateway sends it. */
export function recordedMcpResponse(): Response {
  return new Response(RECORDED.responseText, { headers: JSON_HEADERS });
}

/** The recorded upstream answer, made in the isolate (no network). */
export function recordedUpstreamResponse(): Response {
  const { status, headers, body } = RECORDED.upstream;
  return new Response(body, { status, headers });
}
