/**
 * INTERFACE DRAFT (the lead's skeleton; h/client implements it and rewrites this header).
 *
 * The gateway's client side of MCP streamable HTTP towards one upstream MCP server, for one
 * credential owner. Stateless towards the gateway's own clients; towards a stateful upstream it
 * keeps the session (`Mcp-Session-Id`, negotiated protocol revision, server capabilities) in a
 * bounded per-isolate store, creates it lazily and, when the upstream forgets it (404), initialises
 * again and resends the request once. Revisions 2025-03-26 … 2025-11-25 (initialize handshake,
 * optional sessions) and 2026-07-28 (`server/discover`, no sessions, per-request `_meta`) are
 * negotiated per upstream.
 *
 * @module
 */

/** A JSON-RPC error object as the upstream sent it. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** What one request to the upstream came back with. Network failures and aborts throw instead. */
export type McpExchange =
  /** A JSON-RPC result (a tool result with `isError: true` is a result too). */
  | { kind: "result"; result: Record<string, unknown> }
  /** A JSON-RPC error response. */
  | { kind: "error"; error: RpcError }
  /**
   * The upstream answered the HTTP request with a non-2xx status that a re-initialised session
   * did not fix (401, 403, 429, 5xx, …). `body`: the first bytes as text, untrusted.
   */
  | { kind: "http"; status: number; headers: Headers; body: string };

/** Per request: cancellation and what to do with messages the upstream sends before its answer. */
export interface McpRequestOptions {
  /** Aborts the request (attempt timeout, call deadline, the client went away). */
  signal: AbortSignal;
  /** `notifications/progress` for this request (params as sent upstream, untrusted). */
  onProgress?: (params: Record<string, unknown>) => void;
  /**
   * Server-to-client requests (sampling, elicitation, roots) arriving on this request's stream:
   * the answer to send back. Default: JSON-RPC error -32601 (the gateway declares none of them).
   */
  onServerRequest?: (method: string, params: unknown) => Promise<{ result: unknown } | { error: RpcError }>;
}

/** Supplies and refreshes the upstream credential for one credential owner. */
export interface McpAuthorizer {
  /** Headers that carry the credential (`Authorization`, a static API-key header), possibly none. */
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  /**
   * The upstream refused the credential (401, or 403 `insufficient_scope`): refresh, step up,
   * or give up. `true`: `headers()` now returns something worth one more try.
   */
  challenged(status: number, wwwAuthenticate: string | null, signal: AbortSignal): Promise<boolean>;
  /** Every secret value the authorizer attached, for scrubbing from results and logs. */
  secrets(): readonly string[];
}

/** How to reach one upstream for one credential owner. */
export interface McpConnectionOptions {
  /** The upstream's MCP endpoint (already checked: absolute http(s), no credentials). */
  url: URL;
  /** Key of the session in the store: vendor, URL and credential owner, never shared between owners. */
  sessionKey: string;
  authorizer?: McpAuthorizer;
  /** Injectable for tests and the conformance adapter; default the global `fetch`. */
  fetch?: typeof fetch;
  /** `clientInfo` sent at initialisation. */
  clientInfo?: { name: string; version: string };
}

/** One upstream as seen by one credential owner. */
export interface McpConnection {
  /**
   * Sends one JSON-RPC request (`tools/list`, `tools/call`, `resources/read`, `ping`, …),
   * initialising a session first when the upstream needs one. Throws only on network errors
   * and aborts (the resilience layer classifies those).
   */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    options: McpRequestOptions,
  ): Promise<McpExchange>;
  /** The revision negotiated with the upstream, once known. */
  protocolVersion(): string | undefined;
  /** The upstream's declared capabilities and info, once known. */
  server():
    | {
        capabilities: Record<string, unknown>;
        info?: { name?: string; version?: string };
        instructions?: string;
      }
    | undefined;
}

/** Interim stub until the client lands: every request fails as a network error would. */
export function mcpConnection(_options: McpConnectionOptions): McpConnection {
  return {
    request: () => Promise.reject(new TypeError("upstream MCP client not built yet")),
    protocolVersion: () => undefined,
    server: () => undefined,
  };
}
