/**
 * The MCP server behind one HTTP request: a fresh low-level SDK `Server` with
 * the gateway's `tools/list` and `tools/call` handlers (`ping`, `initialize`
 * and `server/discover` come from the SDK).
 *
 * Why the low-level `Server` and not `McpServer`: `McpServer` wants a zod /
 * Standard Schema per registered tool and validates arguments itself. Our
 * tools are thousands of precompiled JSON Schemas; registering them one by
 * one per request would be slow, and argument validation belongs to the
 * upstream executor (precompiled, no `eval`). The low-level server takes raw
 * JSON Schema tool lists as they are.
 *
 * @module
 */

import {
  type CallToolResult,
  type ListToolsResult,
  ProtocolError,
  Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { auditDenied } from "../audit-events.ts";
import type { Caller } from "../auth/caller.ts";
import { allBundles, getBundle } from "../bundle/registry.ts";
import { discoveryThreshold } from "../config.ts";
import { GatewayError, logGatewayError, logUnexpectedError } from "../errors.ts";
import { errorText, log } from "../log.ts";
import { memoized } from "../memo.ts";
import type { TraceContext } from "../trace-context.ts";
import type { VendorProgress } from "../vendors/kind.ts";
import { toolsOf } from "../vendors/registry.ts";
import { COMPILED_VENDORS, hasDynamicVendors, resolveVendors, type VendorView } from "../vendors/view.ts";
import { callTool, reportRefusal, type ToolCallExtras, UNKNOWN_TOOL } from "./call-tool.ts";
import {
  type CatalogOptions,
  findDiscoveryTool,
  findTool,
  listingFingerprint,
  listTools,
  type McpEndpoint,
  unifiedVendorOf,
} from "./catalog.ts";
import type { ClientInfo } from "./client-info.ts";
import { clientInput } from "./client-input.ts";
import { DEFAULT_DISCOVERY_TOOL_THRESHOLD, usesDiscovery } from "./discovery-mode.ts";
import { callDiscoveryTool } from "./discovery-tools.ts";
import { GATEWAY_STATUS_TOOL_NAME, gatewayStatusResult, gatewayStatusTool } from "./gateway-status.ts";
import { invalidParams, JSONRPC_INTERNAL_ERROR, protocolError } from "./jsonrpc.ts";
import { paginate } from "./pagination.ts";
import { featureCapabilities, NO_FEATURE_VENDORS, registerFeatureHandlers } from "./upstream-features.ts";

/** Protocol revisions served, newest first; the first 2025 entry is the `initialize` counter-offer. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = ["2026-07-28", "2025-11-25", "2025-06-18"];

const SERVER_INFO = { name: "mcp-edge-gateway", title: "MCP Edge Gateway", version: "0.1.0" } as const;

/** Everything a request handler needs to know about the HTTP request it serves. */
export interface McpRequestScope {
  endpoint: McpEndpoint;
  /** `undefined`: client auth is off; every vendor and tool is visible. */
  caller: Caller | undefined;
  env: Env;
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
  /**
   * The request's W3C trace (the client's `traceparent`, header or `_meta`, else a new one):
   * continued to every upstream request, its id in log events and JSON-RPC error data.
   */
  trace: TraceContext;
  /** The answer is an SSE stream: notifications (progress) can go out before the result. */
  streaming?: boolean;
  /** The request's protocol revision (header, else the 2026-07-28 envelope, else 2025-03-26): client-info.ts. */
  protocolVersion: string;
  /** The JSON-RPC method, once the message is parsed. */
  method?: string;
  /** The client's name and version, where this request carries them (client-info.ts). */
  client?: ClientInfo;
}

/**
 * Builds the per-request server. Never reused: the gateway keeps no state between requests.
 * `features`: the vendors whose resources and prompts this request may see (upstream-features.ts).
 */
export function createGatewayServer(scope: McpRequestScope, features = NO_FEATURE_VENDORS): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false }, ...featureCapabilities(features) },
    supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    instructions: instructionsFor(scope),
  });
  server.onerror = (error) => logSdkError(scope, error);

  server.setRequestHandler("tools/list", (request) => toolsList(scope, request.params));
  server.setRequestHandler("tools/call", (request, ctx) => {
    const onProgress = progressSink(scope, request.params._meta?.progressToken, ctx);
    const input = clientInput(ctx);
    return toolsCall(scope, request.params, {
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(input === undefined ? {} : { input }),
    });
  });
  registerFeatureHandlers(server, scope, features, (run) => guard(scope, run));
  return server;
}

/**
 * Where a call's progress goes: notifications on the request's SSE stream carrying the client's
 * own token, when the client sent one and takes a stream; nowhere otherwise.
 */
function progressSink(
  scope: McpRequestScope,
  token: string | number | undefined,
  ctx: ServerContext,
): ((progress: VendorProgress) => void) | undefined {
  if (token === undefined || scope.streaming !== true) return undefined;
  return (progress) => {
    ctx.mcpReq
      .notify({ method: "notifications/progress", params: { progressToken: token, ...progress } })
      .catch((error: unknown) =>
        logSdkError(scope, error instanceof Error ? error : new Error(String(error))),
      );
  };
}

/** `tools/list` for one request (the SDK handler, and the endpoint's fast path). */
export function toolsList(
  scope: McpRequestScope,
  params: { cursor?: string } | undefined,
): Promise<ListToolsResult> {
  return guard(scope, async () => {
    const options = catalogOptions(scope);
    const view = hasDynamicVendors() ? await vendorView(scope) : COMPILED_VENDORS;
    const listed = listTools(scope.endpoint, scope.caller, view, options);
    const tools = withGatewayStatus(scope) ? [gatewayStatusTool, ...listed] : listed;
    const page = paginate(tools, params?.cursor, listingFingerprint(scope.endpoint, view, options));
    const result: ListToolsResult = { tools: page.items };
    if (page.nextCursor !== undefined) result.nextCursor = page.nextCursor;
    return result;
  });
}

/** `tools/call` for one request (the SDK handler, and the endpoint's fast path). */
export function toolsCall(
  scope: McpRequestScope,
  params: { name: string; arguments?: Record<string, unknown> },
  extras: ToolCallExtras = {},
): Promise<CallToolResult> {
  return guard(scope, async (): Promise<CallToolResult> => {
    const { name } = params;
    if (name === GATEWAY_STATUS_TOOL_NAME && scope.caller !== undefined && withGatewayStatus(scope)) {
      return gatewayStatusResult(scope.caller, scope.env);
    }
    // OpenAPI-only deployments skip the await: their view is the compiled bundles.
    let view = hasDynamicVendors() ? await vendorView(scope, name) : COMPILED_VENDORS;
    const discovery = findDiscoveryTool(scope.endpoint, scope.caller, name, view, catalogOptions(scope));
    if (discovery !== undefined) {
      const { bundle } = discovery;
      return callDiscoveryTool(
        {
          bundle,
          caller: scope.caller,
          prefix: discovery.prefix,
          run: (recipe, args) => callTool(scope, { bundle, recipe }, args),
          denied: (tool, detail) => auditDenied(scope, { vendor: bundle.vendor, tool, detail }),
          // A discovery `call` refused before its operation runs is still one reported tool call.
          refused: (code, tool) =>
            reportRefusal(scope, { vendor: bundle.vendor, tool: tool ?? UNKNOWN_TOOL, code }),
        },
        discovery.kind,
        params.arguments,
      );
    }
    let resolved = findTool(scope.endpoint, scope.caller, name, view);
    // An upstream MCP server may have added the tool since its list was cached: ask once more.
    if (resolved === undefined && hasDynamicVendors()) {
      view = await vendorView(scope, name, true);
      resolved = findTool(scope.endpoint, scope.caller, name, view);
    }
    if (resolved === undefined) {
      reportUnresolved(scope, name, view);
      auditAllowlistDenial(scope, name, view);
      throw invalidParams(`Unknown tool: ${name}`, { name });
    }
    return callTool(scope, resolved, params.arguments, extras);
  });
}

/** #14 audit: a tool the caller cannot see only because the team allowlist hides it is a denial. */
function auditAllowlistDenial(scope: McpRequestScope, name: string, view: VendorView): void {
  const caller = scope.caller;
  if (caller === undefined) return;
  const hidden = findTool(scope.endpoint, undefined, name, view);
  if (hidden === undefined) return;
  const { vendor } = hidden.bundle;
  if (caller.vendorAllowed(vendor) && caller.toolAllowed(vendor, hidden.recipe.name)) return;
  auditDenied(scope, { vendor, tool: hidden.recipe.name, detail: "team allowlist: tool" });
}

/**
 * Reports a `tools/call` whose name resolved to nothing the caller may call, when it names a known
 * vendor: `denied` when the tool exists but the caller's allowlist hides it (or they have no
 * credential for its vendor), else an unknown tool. The client's answer is the same either way.
 */
function reportUnresolved(scope: McpRequestScope, name: string, view: VendorView): void {
  const vendor = scope.endpoint.kind === "vendor" ? scope.endpoint.vendor : unifiedVendorOf(name);
  if (vendor === undefined || view.get(vendor) === undefined) return;
  const hidden = scope.caller === undefined ? undefined : findTool(scope.endpoint, undefined, name, view);
  if (hidden === undefined) {
    reportRefusal(scope, { vendor, tool: UNKNOWN_TOOL, code: "unknown_operation" });
    return;
  }
  const caller = scope.caller as Caller;
  const code =
    caller.vendorAllowed(vendor) &&
    caller.toolAllowed(vendor, hidden.recipe.name) &&
    !caller.vendorAvailable(vendor)
      ? "missing_credentials"
      : "tool_not_allowed";
  reportRefusal(scope, { vendor, tool: hidden.recipe.name, code });
}

/**
 * The vendors this request may touch, as its caller sees them. A `tools/call` on `/v1/mcp`
 * resolves only the vendor its prefixed name names.
 */
function vendorView(scope: McpRequestScope, toolName?: string, refresh?: boolean): Promise<VendorView> {
  const { endpoint } = scope;
  let vendor: string | undefined;
  if (endpoint.kind === "vendor") vendor = endpoint.vendor;
  // A name without a vendor prefix resolves nothing: every lookup misses.
  else if (toolName !== undefined) vendor = unifiedVendorOf(toolName) ?? "";
  return resolveVendors({
    env: scope.env,
    caller: scope.caller,
    waitUntil: scope.waitUntil,
    requestId: scope.requestId,
    trace: scope.trace,
    ...(vendor === undefined ? {} : { vendor }),
    ...(refresh === undefined ? {} : { refresh }),
  });
}

function catalogOptions(scope: McpRequestScope): CatalogOptions {
  return { discoveryThreshold: discoveryThreshold(scope.env) };
}

function withGatewayStatus(scope: McpRequestScope): boolean {
  return scope.caller !== undefined && scope.endpoint.kind === "unified";
}

/** Instructions per endpoint and discovery threshold (built once per isolate: every request creates a server). */
const instructionsCache = new Map<string, string>();

function instructionsFor(scope: McpRequestScope): string {
  const { endpoint } = scope;
  let threshold: number;
  try {
    threshold = discoveryThreshold(scope.env);
  } catch {
    // A bad DISCOVERY_TOOL_THRESHOLD fails tools/list and tools/call with its own message.
    threshold = DEFAULT_DISCOVERY_TOOL_THRESHOLD;
  }
  const key = `${endpoint.kind === "vendor" ? endpoint.vendor : ""}|${threshold}`;
  return memoized(instructionsCache, key, () => buildInstructions(endpoint, threshold));
}

const DISCOVERY_HOW_TO =
  "call search with plain words (and optionally a tag) to find operations, describe with their names to get each one's input schema, then call with name and arguments to run one";

function buildInstructions(endpoint: McpEndpoint, threshold: number): string {
  if (endpoint.kind === "vendor") {
    const bundle = getBundle(endpoint.vendor);
    if (bundle !== undefined && usesDiscovery(bundle, threshold)) {
      // An upstream MCP server's list is fetched per caller: the compiled bundle cannot count it.
      const count =
        bundle.kind === "mcp" && bundle.mcpTools === undefined
          ? ""
          : ` (${toolsOf(bundle).length} operations)`;
      return `The ${endpoint.vendor} API${count}, served by mcp-edge-gateway in discovery mode through three tools: ${DISCOVERY_HOW_TO}.`;
    }
    return `Tools of the ${endpoint.vendor} API, served by mcp-edge-gateway. Each tool calls one API operation.`;
  }
  const base =
    "Tools of every API this mcp-edge-gateway serves; each tool name starts with its API's name and an underscore.";
  // No vendor names here: the text is the same for every caller, whatever their team may see.
  if (!allBundles().some((bundle) => usesDiscovery(bundle, threshold))) return base;
  return `${base} APIs too big to list are served in discovery mode as <api>_search, <api>_describe and <api>_call: ${DISCOVERY_HOW_TO}.`;
}

/**
 * Runs a handler so nothing unexpected leaks to the client: protocol errors pass through,
 * a `GatewayError` keeps its (operator-facing) message, anything else is logged and
 * answered with a generic -32603 that carries the request id.
 */
async function guard<T>(scope: McpRequestScope, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    if (error instanceof GatewayError) {
      if (error.status >= 500) logGatewayError(scope.requestId, error, "mcp handler", scope.trace.traceId);
      throw protocolError(JSONRPC_INTERNAL_ERROR, error.message, {
        code: error.code,
        requestId: scope.requestId,
        traceId: scope.trace.traceId,
      });
    }
    logUnexpectedError(scope.requestId, error, "mcp handler", scope.trace.traceId);
    throw protocolError(JSONRPC_INTERNAL_ERROR, "Internal error", {
      requestId: scope.requestId,
      traceId: scope.trace.traceId,
    });
  }
}

function logSdkError(scope: McpRequestScope, error: Error): void {
  // The SDK reports rejected requests here too: client mistakes, not gateway faults.
  log({
    event: "mcp_protocol_error",
    requestId: scope.requestId,
    traceId: scope.trace.traceId,
    error: errorText(error),
  });
}
