/**
 * The MCP streamable HTTP endpoints: `POST /v1/mcp` (every vendor, tool names
 * prefixed `<vendor>_`) and `POST /v1/<vendor>/mcp` (one vendor).
 *
 * Stateless by design: no `Mcp-Session-Id`, no session store. Every POST is
 * served by a fresh SDK server, so any isolate of any deploy serves any
 * client. Protocol revisions 2025-06-18, 2025-11-25 (the `initialize` era)
 * and 2026-07-28 (per-request `_meta` envelope, `server/discover`) are chosen
 * per request from what the client sends.
 *
 * The gateway checks the transport rules itself (src/mcp/transport-checks.ts) before the SDK sees a
 * message, so every rejection has one shape from one place:
 *
 * | Check | Answer |
 * |---|---|
 * | `Origin` present and not allowed | 403 `origin_not_allowed` |
 * | method other than POST | 405 `method_not_allowed`, `Allow: POST` |
 * | `Content-Type` not JSON | 415 `unsupported_media_type` |
 * | `Accept` takes neither JSON nor SSE | 406 `not_acceptable` |
 * | body over {@link MAX_MCP_REQUEST_BODY_BYTES} | 413 `payload_too_large` |
 * | body not JSON | 400, JSON-RPC `-32700` |
 * | not a JSON-RPC 2.0 message, or a batch | 400, JSON-RPC `-32600` |
 * | `params` not an object | 400, JSON-RPC `-32602` |
 * | `tools/call` of a tool that changes data, token without `mcp:write` | 403 `insufficient_scope` (OAuth step-up, authorize.ts) |
 * | `MCP-Protocol-Version` unknown | 400, JSON-RPC `-32022` with `supported` |
 *
 * Then the SDK (`@modelcontextprotocol/server`) serves the message: the
 * `initialize` handshake, the 2026-07-28 envelope and `Mcp-Method`/`Mcp-Name`
 * header rules, `-32601` for unknown methods, 202 for notifications.
 *
 * Response format follows `Accept`: JSON when the client takes JSON at least
 * as readily as SSE (a plain request/response is cheaper), SSE when it prefers
 * or only takes `text/event-stream`.
 *
 * @module
 */

import {
  createMcpHandler,
  isJsonContentType,
  isLegacyRequest,
  legacyStatelessFallback,
  ProtocolError,
  type Server,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { Context } from "hono";
import { auditDenied } from "../audit-events.ts";
import type { Caller } from "../auth/caller.ts";
import { hasVendor } from "../bundle/registry.ts";
import { GatewayError, type RequestIdVariables, requestIdOf } from "../errors.ts";
import { errorText, log } from "../log.ts";
import { memoized } from "../memo.ts";
import { continuedTrace, newTrace, parseTraceparent, type TraceContext } from "../trace-context.ts";
import { authorizeMessage, type CheckedMessage } from "./authorize.ts";
import { reportRefusal } from "./call-tool.ts";
import { type McpEndpoint, unifiedVendorOf } from "./catalog.ts";
import { describeMessage } from "./client-info.ts";
import {
  JSONRPC_PARSE_ERROR,
  type JsonRpcId,
  jsonRpcErrorResponse,
  MCP_UNSUPPORTED_PROTOCOL_VERSION,
} from "./jsonrpc.ts";
import { assertOriginAllowed } from "./origin.ts";
import {
  createGatewayServer,
  type McpRequestScope,
  SUPPORTED_PROTOCOL_VERSIONS,
  toolsCall,
  toolsList,
} from "./server.ts";
import {
  checkMessage,
  negotiateResponseMode,
  type ResponseMode,
  readBodyText,
  requestIdIn,
} from "./transport-checks.ts";
import { featureVendors, NO_FEATURE_VENDORS, needsFeatures } from "./upstream-features.ts";

/**
 * Largest MCP request body: room for base64 file arguments (multipart uploads)
 * while a parsed copy stays far below the isolate's 128 MB.
 */
const MAX_MCP_REQUEST_BODY_BYTES = 4 * 1024 * 1024;

/** The hono variables this endpoint reads (and `requestInfo`, which it sets for the `request` event). */
export type McpVariables = RequestIdVariables & { caller?: Caller | undefined };

/**
 * Caller seam: the authenticated caller set by the auth middleware
 * (`c.var.caller`, src/auth/), `undefined` when client auth is off.
 */
function callerOf(c: Context): Caller | undefined {
  const caller: unknown = c.get("caller");
  return caller === undefined || caller === null ? undefined : (caller as Caller);
}

/** hono handler for every method on `/v1/mcp` and `/v1/:vendor/mcp`. */
export function mcpEndpoint(): (c: Context<{ Bindings: Env; Variables: McpVariables }>) => Promise<Response> {
  return async (c) => {
    // The app's middleware started (or continued) the trace: every answer carries its id (errors.ts).
    // A direct `app.fetch` without it still gets one here.
    let trace = c.get("trace") as TraceContext | undefined;
    let headerTraced = c.get("traceHeader") === true;
    if (trace === undefined) {
      const headerTrace = parseTraceparent(c.req.header("traceparent"));
      headerTraced = headerTrace !== undefined;
      trace =
        headerTrace === undefined ? newTrace() : continuedTrace(headerTrace, c.req.header("tracestate"));
      c.set("trace", trace);
      c.set("traceId", trace.traceId);
    }
    const vendor = c.req.param("vendor");
    const endpoint: McpEndpoint = vendor === undefined ? { kind: "unified" } : { kind: "vendor", vendor };
    c.set("requestInfo", { endpoint: vendor ?? "unified" });
    assertOriginAllowed(c.req.raw, c.env);
    const caller = callerOf(c);
    if (endpoint.kind === "vendor") {
      if (!hasVendor(endpoint.vendor)) {
        throw new GatewayError("not_found", `Unknown vendor "${endpoint.vendor}"`, {
          details: { hint: "GET /health/vendors lists the vendors this gateway serves." },
        });
      }
      if (caller !== undefined && !caller.vendorAllowed(endpoint.vendor)) {
        auditDenied(
          { env: c.env, waitUntil: waitUntilOf(c), requestId: requestIdOf(c), trace, caller },
          { vendor: endpoint.vendor, detail: "team allowlist: vendor" },
        );
        throw new GatewayError("forbidden", `Your team may not use vendor "${endpoint.vendor}"`);
      }
    }
    if (c.req.method !== "POST") {
      // Stateless: there is no server-initiated stream to GET and no session to DELETE.
      throw new GatewayError(
        "method_not_allowed",
        `${c.req.method} is not supported on this stateless MCP endpoint; send JSON-RPC messages with POST`,
        { headers: { allow: "POST" }, details: { allowed: ["POST"] } },
      );
    }
    const scope: McpRequestScope = {
      endpoint,
      caller,
      env: c.env,
      waitUntil: waitUntilOf(c),
      requestId: requestIdOf(c),
      trace,
      protocolVersion: UNVERSIONED_PROTOCOL_VERSION,
    };
    // No valid traceparent header: a request's `_meta.traceparent` (SEP-414) may carry one.
    const onMetaTrace = headerTraced
      ? undefined
      : (metaTrace: TraceContext) => {
          scope.trace = metaTrace;
          c.set("trace", metaTrace);
          c.set("traceId", metaTrace.traceId);
        };
    try {
      return await servePost(c.req.raw, scope, onMetaTrace);
    } finally {
      c.set("requestInfo", {
        endpoint: vendor ?? "unified",
        ...(scope.method === undefined ? {} : { mcpMethod: scope.method }),
        ...(scope.client?.name === undefined ? {} : { clientName: scope.client.name }),
        ...(scope.client?.version === undefined ? {} : { clientVersion: scope.client.version }),
      });
    }
  };
}

/** What a request without `MCP-Protocol-Version` (nor a 2026-07-28 envelope) speaks, per the spec. */
const UNVERSIONED_PROTOCOL_VERSION = "2025-03-26";

function waitUntilOf(c: Context): (promise: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    // No execution context (app.fetch called without one): keep the work attached to the request.
    return (promise) => void promise.catch(() => {});
  }
}

async function servePost(
  request: Request,
  scope: McpRequestScope,
  onMetaTrace: ((trace: TraceContext) => void) | undefined,
): Promise<Response> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    throw new GatewayError(
      "unsupported_media_type",
      "MCP messages must be sent as Content-Type: application/json",
    );
  }
  const mode = negotiateResponseMode(request.headers.get("accept"));
  if (mode === undefined) {
    throw new GatewayError("not_acceptable", "Accept must allow application/json or text/event-stream");
  }
  const text = await readBodyText(request, MAX_MCP_REQUEST_BODY_BYTES);

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return jsonRpcErrorResponse(400, null, JSONRPC_PARSE_ERROR, "Parse error: the body is not valid JSON");
  }
  if (onMetaTrace !== undefined) {
    const meta = metaTraceOf(body);
    if (meta !== undefined) onMetaTrace(meta);
  }
  const rejected = checkMessage(body);
  if (rejected !== undefined) return rejected;
  describeMessage(scope, body, request.headers.get("mcp-protocol-version"));
  if (scope.caller !== undefined) {
    // Scopes and vendor availability are settled here, once, on the message as parsed (authorize.ts).
    let refused: Response | undefined;
    try {
      refused = await authorizeMessage(scope, scope.caller, body as CheckedMessage);
    } catch (error) {
      // The write-scope rule without an OAuth step-up answers 403 `forbidden`: a denied call too.
      if (error instanceof GatewayError && error.code === "forbidden") reportScopeDenial(scope, body);
      throw error;
    }
    if (refused !== undefined) {
      reportScopeDenial(scope, body);
      return refused;
    }
  }

  const version = request.headers.get("mcp-protocol-version");
  if (version !== null && !SUPPORTED_PROTOCOL_VERSIONS.includes(version.trim())) {
    return jsonRpcErrorResponse(
      400,
      requestIdIn(body),
      MCP_UNSUPPORTED_PROTOCOL_VERSION,
      `Unsupported MCP-Protocol-Version: ${version}`,
      { supported: SUPPORTED_PROTOCOL_VERSIONS, requested: version, traceId: scope.trace.traceId },
    );
  }
  return dispatch(request, body, version, mode, scope);
}

/**
 * Reports the `tools/call` the write-scope rule refused (authorize.ts found the tool, so its name
 * is a real one): one `tool_call` event, outcome `denied`.
 */
function reportScopeDenial(scope: McpRequestScope, body: unknown): void {
  const message = body as { method?: unknown; params?: { name?: unknown } };
  const name = message.params?.name;
  if (message.method !== "tools/call" || typeof name !== "string") return;
  const vendor = scope.endpoint.kind === "vendor" ? scope.endpoint.vendor : unifiedVendorOf(name);
  if (vendor === undefined) return;
  const tool = scope.endpoint.kind === "vendor" ? name : name.slice(vendor.length + 1);
  reportRefusal(scope, { vendor, tool, code: "insufficient_scope" });
}

/**
 * Hands the message to the SDK: 2025-era messages (no per-request envelope) to a
 * stateless streamable HTTP transport, 2026-07-28 messages to `createMcpHandler`.
 * Both build a fresh server per request from the same factory.
 */
async function dispatch(
  request: Request,
  body: unknown,
  version: string | null,
  mode: ResponseMode,
  scope: McpRequestScope,
): Promise<Response> {
  const onerror = (error: Error) =>
    log({
      event: "mcp_transport_error",
      requestId: scope.requestId,
      traceId: scope.trace.traceId,
      error: errorText(error),
    });
  const options = { parsedBody: body };
  // The hot case decided without the SDK's classifier (zod schemas on every call): see plainLegacyCall.
  if (mode === "json") {
    const plain = plainLegacyCall(version, body);
    if (plain !== undefined) return serveDirect(plain, scope);
  }
  // Off the fast path: what upstream MCP servers add (resources, prompts) is looked up only for the
  // methods that need it, and progress only flows on a stream.
  const method = (body as { method?: unknown }).method;
  const features = needsFeatures(method) ? await featureVendors(scope) : NO_FEATURE_VENDORS;
  const served: McpRequestScope = mode === "sse" ? { ...scope, streaming: true } : scope;
  const factory = () => createGatewayServer(served, features);
  // Classified on the client's own request: only its MCP headers and the body matter.
  if (await isLegacyRequest(request, body)) {
    if (mode === "json") {
      const message = body as { id?: JsonRpcId; method?: unknown; params?: Record<string, unknown> };
      // What the SDK classified legacy and the check above left to it (a header with whitespace, …).
      if (message.id !== undefined && isPlainDirectCall(message.method, message.params)) {
        return serveDirect(message as DirectCall, scope);
      }
    }
    if (mode === "sse") {
      return legacyStatelessFallback(factory, onerror, { maxRequestBodySize: MAX_MCP_REQUEST_BODY_BYTES })(
        sdkRequest(request),
        options,
      );
    }
    return serveLegacyJson(sdkRequest(request), body, factory);
  }
  const handler = createMcpHandler(factory, {
    legacy: "reject",
    // `auto` answers with one JSON body; our handlers emit nothing before their result.
    responseMode: mode === "sse" ? "sse" : "auto",
    maxRequestBodySize: MAX_MCP_REQUEST_BODY_BYTES,
    onerror,
  });
  return handler.fetch(sdkRequest(request), options);
}

/** A message {@link serveDirect} answers: a plain 2025-era `tools/call` or `tools/list` request. */
interface DirectCall {
  id: JsonRpcId;
  method: "tools/call" | "tools/list";
  params?: Record<string, unknown>;
}

/** The SDK's first revision with the per-request `_meta` envelope (`isModernProtocolVersion`). */
const FIRST_MODERN_PROTOCOL_VERSION = "2026-07-28";

/** `MCP-Protocol-Version` values that name a 2025 revision exactly (no whitespace for the SDK to strip). */
const LEGACY_PROTOCOL_VERSIONS: ReadonlySet<string> = new Set(
  SUPPORTED_PROTOCOL_VERSIONS.filter((version) => version < FIRST_MODERN_PROTOCOL_VERSION),
);

/**
 * The message when it is certainly one the SDK's `isLegacyRequest` classifies legacy and
 * {@link serveDirect} answers; `undefined` when in any doubt (the SDK then classifies it as before).
 * Certain because each of the SDK's rules (`classifyInboundRequest`) is settled here on the message
 * `checkMessage` already accepted (a POST, one object, `jsonrpc: "2.0"`):
 * - it is a JSON-RPC request by the SDK's strict schema: no keys but `jsonrpc`, `id`, `method`,
 *   `params`, and an id that is a string or a safe integer (zod's `int()`);
 * - its method is not `initialize` and its params carry no `_meta` (so no envelope claim), by
 *   {@link isPlainDirectCall};
 * - `version`, the request's `MCP-Protocol-Version` as sent, is absent or exactly a 2025 revision, so
 *   it does not name a modern one
 *   (the only header that decides a claim-less request's era; `Mcp-Method`/`Mcp-Name` are
 *   cross-checked against a claim only).
 * A 2026-07-28 message carries its claim in `params._meta` and that header: it never passes.
 */
function plainLegacyCall(version: string | null, body: unknown): DirectCall | undefined {
  const message = body as { id?: unknown; method?: unknown; params?: Record<string, unknown> };
  for (const key in message) {
    if (key !== "jsonrpc" && key !== "id" && key !== "method" && key !== "params") return undefined;
  }
  const { id } = message;
  if (typeof id !== "string" && !Number.isSafeInteger(id)) return undefined;
  if (!isPlainDirectCall(message.method, message.params)) return undefined;
  if (version !== null && !LEGACY_PROTOCOL_VERSIONS.has(version)) return undefined;
  return message as DirectCall;
}

/** Listing entries serialized once per isolate: a `tools/list` page is a join of cached strings. */
const serializedTools = new WeakMap<object, string>();

/**
 * The hot methods without an SDK server: a 2025-era `tools/call` or `tools/list` answered as
 * one JSON body runs the same handlers the SDK server registers (`toolsCall`, `toolsList`),
 * minus the per-request server, transport and schema round trips (~0.1 ms of CPU per call;
 * GitHub's whole tool list 25 → 12 ms).
 */
async function serveDirect(message: DirectCall, scope: McpRequestScope): Promise<Response> {
  const headers = { "content-type": "application/json" };
  try {
    if (message.method === "tools/call") {
      const result = await toolsCall(
        scope,
        message.params as { name: string; arguments?: Record<string, unknown> },
      );
      return new Response(JSON.stringify({ result, jsonrpc: "2.0", id: message.id }), { headers });
    }
    const result = await toolsList(scope, message.params as { cursor?: string } | undefined);
    const tools = result.tools.map((tool) => memoized(serializedTools, tool, (t) => JSON.stringify(t)));
    const cursor =
      result.nextCursor === undefined ? "" : `,"nextCursor":${JSON.stringify(result.nextCursor)}`;
    return new Response(
      `{"result":{"tools":[${tools.join(",")}]${cursor}},"jsonrpc":"2.0","id":${JSON.stringify(message.id)}}`,
      { headers },
    );
  } catch (error) {
    if (error instanceof ProtocolError) {
      return jsonRpcErrorResponse(200, message.id, error.code, error.message, error.data);
    }
    throw error;
  }
}

/**
 * Only the plainest messages take the fast path: `tools/call` with a string `name` and
 * object (or absent) `arguments`, `tools/list` with a string (or absent) `cursor`, and no
 * other params (`_meta`, `task`, …). Everything else goes to the SDK, so its request
 * validation, error messages and extensions stay the one source of behaviour.
 */
function isPlainDirectCall(method: unknown, params: Record<string, unknown> | undefined): boolean {
  if (method === "tools/list") {
    if (params === undefined) return true;
    for (const key in params) if (key !== "cursor") return false;
    return params.cursor === undefined || typeof params.cursor === "string";
  }
  if (method !== "tools/call" || params === undefined || typeof params.name !== "string") return false;
  for (const key in params) if (key !== "name" && key !== "arguments") return false;
  const args = params.arguments;
  return args === undefined || (typeof args === "object" && args !== null && !Array.isArray(args));
}

/** 2025-era request answered as one JSON body (the SDK's stateless fallback always streams). */
async function serveLegacyJson(request: Request, body: unknown, factory: () => Server): Promise<Response> {
  const server = factory();
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
    maxRequestBodySize: MAX_MCP_REQUEST_BODY_BYTES,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request, { parsedBody: body });
  } finally {
    await transport.close().catch(() => {});
    await server.close().catch(() => {});
  }
}

/**
 * The request as the SDK transports see it: the body is already parsed (passed
 * separately), and `Accept` lists both media types because the SDK's 2025
 * transport refuses anything else. The gateway has already chosen the format
 * and configures the transport for it.
 */
function sdkRequest(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.set("accept", "application/json, text/event-stream");
  headers.delete("content-length");
  return new Request(request.url, { method: "POST", headers, signal: request.signal });
}

/**
 * The trace a JSON-RPC request's `params._meta` carries (SEP-414: `traceparent`, `tracestate`),
 * when its `traceparent` is valid; `undefined` otherwise (the header's or a new trace stays).
 */
function metaTraceOf(body: unknown): TraceContext | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const params: unknown = (body as { params?: unknown }).params;
  if (typeof params !== "object" || params === null) return undefined;
  const meta: unknown = (params as { _meta?: unknown })._meta;
  if (typeof meta !== "object" || meta === null) return undefined;
  const { traceparent, tracestate } = meta as { traceparent?: unknown; tracestate?: unknown };
  const parent = parseTraceparent(traceparent);
  return parent === undefined ? undefined : continuedTrace(parent, tracestate);
}
