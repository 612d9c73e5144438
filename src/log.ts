/**
 * The gateway's one logger. Every line it writes is one JSON object
 * `{"level":…,"event":…, …fields}` written with `console.log`, `console.warn` or
 * `console.error` by level, so Workers Logs indexes its fields and filters by level.
 * Every event name is one of {@link LogEventName}, each with its level and fields fixed
 * here; the README's "Logs" table lists them. Nothing else in src/ writes to the console.
 * test/scripts/no-console.test.ts checks both.
 *
 * No `time` field, with one exception: Workers Logs, `wrangler tail` and workerd's console stamp
 * each line already, and inside a Worker `Date.now()` stands still until the next I/O, so a field
 * of ours would repeat the stamp at best and mislead at worst. `tool_call` carries `time` anyway:
 * it is an audit-like record that is exported and kept away from the platform's stamp (Logpush,
 * the lead's audit and metrics stores), so it says when the call ended on the call's own clock
 * (src/clock.ts; injected in tests). Caveat: that clock is the isolate's frozen-between-I/O time,
 * accurate to the last I/O the call made (its upstream answer), not to the millisecond of logging.
 *
 * Secrets: fields are strings, numbers and booleans named per event; the logger never takes
 * a request, its headers or its body. Text that may hold upstream or client input (an error
 * message, a drift summary) is scrubbed of credentials by the caller before it gets here
 * (SecretScrubber, bodies scrubbed as read).
 *
 * Cost: nothing runs until something is logged; a call that logs nothing pays nothing.
 *
 * @module
 */

import type { CallOutcome } from "./call-outcome.ts";

export type LogLevel = "info" | "warn" | "error";

/**
 * Each event's fields (besides `level` and `event`). `requestId` wherever the request is known, and
 * beside it `traceId`, the request's W3C trace id (src/trace-context.ts), wherever the trace is known.
 */
interface EventFields {
  /**
   * One `tools/call` of a vendor tool (direct or discovery `call`), whatever its outcome: built and
   * logged once at the MCP edge (src/mcp/call-report.ts). README.md "Logs" documents every field.
   * Never an email, name, token, body or (unless the vendor opts in with `logArguments`) argument.
   */
  tool_call: {
    /** ISO 8601, when the call ended, on the call's clock. */
    time: string;
    requestId: string;
    traceId: string;
    userId?: string | undefined;
    teamId?: string | undefined;
    clientName?: string | undefined;
    clientVersion?: string | undefined;
    /** `unified` (`/v1/mcp`) or the vendor of `/v1/<vendor>/mcp`. */
    endpoint: string;
    vendor: string;
    /** Unprefixed. */
    tool: string;
    protocolVersion: string;
    outcome: CallOutcome;
    errorCode?: string | undefined;
    upstreamStatus?: number | undefined;
    attempts: number;
    totalMs: number;
    upstreamMs: number;
    requestBytes: number;
    responseBytes: number;
    /** The vendor's `logArguments` opt-in: the arguments as JSON, sanitised, scrubbed, bounded. */
    arguments?: string | undefined;
  };
  /** One HTTP request the app answered (the first middleware, `requestId` in src/errors.ts). */
  request: {
    requestId: string;
    traceId: string;
    method: string;
    /** The route pattern (`/v1/:vendor/mcp`), never the raw path. */
    route: string;
    status: number;
    durationMs: number;
    userId?: string | undefined;
    teamId?: string | undefined;
    /** MCP routes: `unified` or the vendor. */
    endpoint?: string | undefined;
    /** MCP routes: the JSON-RPC method. */
    mcpMethod?: string | undefined;
    clientName?: string | undefined;
    clientVersion?: string | undefined;
  };
  /** A thrown value nobody foresaw; `where` is the route (`GET /x`) or the handler. */
  unexpected_error: {
    requestId: string;
    traceId?: string | undefined;
    where: string;
    error: string;
    stack?: string | undefined;
  };
  /** A foreseen 5xx `GatewayError` (storage down, invalid configuration): no stack. */
  gateway_error: {
    requestId: string;
    traceId?: string | undefined;
    where: string;
    code: string;
    status: number;
    error: string;
    cause?: string;
  };
  /** A tool call that failed inside the gateway (not an upstream error); `message` is scrubbed. */
  tool_call_failed: {
    requestId?: string | undefined;
    traceId?: string | undefined;
    vendor: string;
    tool: string;
    error: string;
    message: string;
  };
  /** One cron probe of a vendor's health tool; `error` is the tool result's error code. */
  health_probe: { vendor: string; tool: string; ok: boolean; error?: string | undefined };
  /** The cron run itself failed. */
  health_probe_failed: { error: string };
  /** A 2xx upstream body that does not match its documented schema (`RESPONSE_VALIDATION_MODE=warn`). */
  response_drift: {
    requestId?: string | undefined;
    traceId?: string | undefined;
    vendor: string;
    tool: string;
    status: number;
    summary: string;
  };
  /** The vendor guard (Durable Object) failed or did not answer; the call went ahead without it. */
  guard_unavailable: {
    requestId?: string | undefined;
    traceId?: string | undefined;
    vendor: string;
    op: string;
    error: string;
  };
  /** The quota guard (Durable Object) failed or did not answer; the call went ahead uncounted (or was refused, per GATEWAY_QUOTAS `whenUnavailable`). */
  quota_guard_unavailable: {
    requestId?: string | undefined;
    traceId?: string | undefined;
    vendor?: string | undefined;
    op: string;
    error: string;
  };
  /** A setting of the Python generator this gateway does not read; once per isolate. */
  ignored_setting: { setting: string; message: string };
  /** A client-credentials token could not be cached in KV; the next call fetches one again. */
  token_cache_write_failed: { error: string };
  /** KV failed while listing a user's credentials; tools/list degrades to what needs no KV. */
  credential_listing_failed: { error: string };
  /** The sign-in throttle is unavailable, so sign-in answers 503 (fails closed). */
  sign_in_guard_unavailable: { error: string };
  /** An error the OAuth provider library answered. */
  oauth_error: { code: string; status: number; category?: string | undefined; reason?: string | undefined };
  /** A retired refresh token was presented again; its grant is revoked. */
  refresh_token_reuse: { grantId: string };
  /** `GATEWAY_AUTH=none`: client authentication is off; once per isolate. */
  client_auth_off: { message: string };
  /** A tool call's metrics sample did not reach the vendor's metrics object (src/ops/metrics.ts); the call is not counted. */
  metrics_write_failed: {
    requestId?: string | undefined;
    traceId?: string | undefined;
    vendor: string;
    /** Calls the lost write carried (calls that ended together share one write). */
    calls: number;
    error: string;
  };
  /** An upstream MCP server's tool list could not be fetched; the last known list is served. */
  mcp_tool_list_failed: { requestId: string; traceId?: string | undefined; vendor: string; error: string };
  /** An upstream MCP server sent a request of its own (sampling, elicitation, roots); refused (stateless). */
  mcp_server_request_refused: {
    requestId?: string | undefined;
    traceId?: string | undefined;
    vendor: string;
    method: string;
  };
  /** A resources or prompts request to an upstream MCP server failed while listing every vendor; skipped. */
  mcp_upstream_request_failed: {
    requestId: string;
    traceId?: string | undefined;
    vendor: string;
    method: string;
    error: string;
  };
  /** The MCP SDK's transport reported an error. */
  mcp_transport_error: { requestId: string; traceId?: string | undefined; error: string };
  /** The MCP SDK rejected a request (a client mistake, not a gateway fault). */
  mcp_protocol_error: { requestId: string; traceId?: string | undefined; error: string };
  /** An upstream MCP server changed a tool's definition since it was approved (once per change). */
  tool_definition_changed: {
    vendor: string;
    tool: string;
    policy: string;
    approvedHash: string;
    currentHash: string;
  };
  /** The tool definition record in KV could not be read, parsed or written; definitions are compared without it. */
  tool_definitions_unavailable: { vendor: string; op: "read" | "write" | "parse"; error: string };
  /** The audit log (src/ops/audit-log.ts) could not store an event (`append`; `type` says which) or run retention. */
  audit_write_failed: { op: "append" | "retention"; type?: string | undefined; error: string };
}

export type LogEventName = keyof EventFields;

/** One event to log: its name and exactly its fields. */
export type LogEvent = { [K in LogEventName]: { event: K } & EventFields[K] }[LogEventName];

/** Each event's level, fixed so a name always means the same severity. */
export const LOG_LEVELS: { readonly [K in LogEventName]: LogLevel } = {
  tool_call: "info",
  request: "info",
  unexpected_error: "error",
  gateway_error: "error",
  tool_call_failed: "error",
  health_probe: "info",
  health_probe_failed: "error",
  response_drift: "warn",
  guard_unavailable: "warn",
  quota_guard_unavailable: "warn",
  ignored_setting: "warn",
  token_cache_write_failed: "warn",
  credential_listing_failed: "warn",
  sign_in_guard_unavailable: "warn",
  oauth_error: "warn",
  refresh_token_reuse: "warn",
  client_auth_off: "warn",
  metrics_write_failed: "warn",
  mcp_tool_list_failed: "warn",
  mcp_server_request_refused: "info",
  mcp_upstream_request_failed: "warn",
  mcp_transport_error: "warn",
  mcp_protocol_error: "warn",
  tool_definition_changed: "warn",
  tool_definitions_unavailable: "warn",
  audit_write_failed: "error",
};

/** Writes `entry` as one JSON line at its event's level. */
export function log(entry: LogEvent): void {
  const level = LOG_LEVELS[entry.event];
  const line = JSON.stringify({ level, ...entry });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** A thrown value as log text: `Name: message` for an `Error`, else its string form. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
