/**
 * What the gateway does with messages an upstream MCP server sends while it answers a request.
 *
 * Server-to-client requests (`sampling/createMessage`, `elicitation/create`, `roots/list`): the
 * gateway is stateless towards its clients, so it cannot put such a request to the client and
 * carry the client's answer (a separate POST, possibly to another isolate) back to this upstream
 * request. It declares none of these capabilities at initialisation, and answers any that still
 * arrive with JSON-RPC -32601 naming the reason, so the upstream sees a clear refusal at once and
 * the tool call itself goes on (what the upstream makes of the refusal is its answer). `ping`
 * is answered.
 *
 * Progress (`notifications/progress`): relayed to the client's stream when it asked for progress,
 * shape-checked, increasing, bounded in number and length, and scrubbed of credentials.
 *
 * @module
 */
import { log } from "../log.ts";
import type { RpcError } from "./connection.ts";

/** JSON-RPC "method not found": the gateway offers no such client feature. */
export const SERVER_REQUEST_REFUSED = -32601;

/** The text of the refusal (the README quotes it). */
export const SERVER_REQUEST_REFUSAL =
  "mcp-edge-gateway is stateless towards its clients and cannot relay server-to-client requests " +
  "(sampling, elicitation, roots); it declared none of these capabilities";

/** Answers the upstream's own requests for one request to it (see the module doc). */
export function refuseServerRequest(
  vendor: string,
  requestId: string | undefined,
  traceId?: string,
): (method: string, params: unknown) => Promise<{ result: unknown } | { error: RpcError }> {
  return (method) => {
    if (method === "ping") return Promise.resolve({ result: {} });
    log({
      event: "mcp_server_request_refused",
      requestId,
      ...(traceId === undefined ? {} : { traceId }),
      vendor,
      method: method.slice(0, MAX_LOGGED_METHOD_CHARS),
    });
    return Promise.resolve({
      error: { code: SERVER_REQUEST_REFUSED, message: `${SERVER_REQUEST_REFUSAL}: ${method.slice(0, 100)}` },
    });
  };
}

/** Longer method names are cut in the log line (they are the upstream's text). */
const MAX_LOGGED_METHOD_CHARS = 100;

/** Progress notifications relayed per call: a chatty or hostile upstream cannot flood the client. */
export const MAX_PROGRESS_NOTIFICATIONS = 1_000;
/** A progress message longer than this is cut. */
export const MAX_PROGRESS_MESSAGE_CHARS = 500;

/** One progress report as the client gets it (the MCP edge adds the client's token). */
export interface Progress {
  progress: number;
  total?: number;
  message?: string;
}

/**
 * The connection's `onProgress` for one call: upstream params in, checked reports out to
 * `deliver`. Dropped: a non-numeric or non-increasing `progress`, anything past
 * {@link MAX_PROGRESS_NOTIFICATIONS}. `scrub` removes credentials from the message.
 */
export function progressRelay(
  deliver: (progress: Progress) => void,
  scrub: (text: string) => string,
): (params: Record<string, unknown>) => void {
  let last = Number.NEGATIVE_INFINITY;
  let sent = 0;
  return (params) => {
    const { progress, total, message } = params;
    if (typeof progress !== "number" || !Number.isFinite(progress) || progress <= last) return;
    if (sent >= MAX_PROGRESS_NOTIFICATIONS) return;
    last = progress;
    sent++;
    const report: Progress = { progress };
    if (typeof total === "number" && Number.isFinite(total)) report.total = total;
    if (typeof message === "string") report.message = scrub(message.slice(0, MAX_PROGRESS_MESSAGE_CHARS));
    deliver(report);
  };
}
