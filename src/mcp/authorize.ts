/**
 * What the caller may do with one MCP message, decided once in the MCP layer, where the body
 * is parsed and tool names resolve: the caller's vendor availability is loaded for messages
 * that look at vendors, and a tool that changes data needs `mcp:write` (a tool its vendor's kind
 * calls read-only, `ToolEffects` in src/vendors/kind.ts, needs only `mcp:read`; for an OpenAPI
 * operation that is an RFC 9110 safe method, src/bundle/http-methods.ts).
 *
 * @module
 */
import { auditDenied } from "../audit-events.ts";
import { type Caller, SCOPE_WRITE, WRITE_SCOPE_DESCRIPTION } from "../auth/caller.ts";
import type { ToolDefinition, VendorBundle } from "../bundle/types.ts";
import { GatewayError } from "../errors.ts";
import type { TraceContext } from "../trace-context.ts";
import { toolEffects } from "../vendors/registry.ts";
import { COMPILED_VENDORS, hasDynamicVendors, resolveVendors } from "../vendors/view.ts";
import { findTool, type McpEndpoint, unifiedVendorOf } from "./catalog.ts";

/** Messages that never look at vendors: no credential lookups for the handshake. */
const VENDOR_FREE_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "notifications/initialized",
  "ping",
  "server/discover",
]);

/** The caller may run a tool of `bundle` (anyone may when client auth is off; reads need no `mcp:write`). */
export function mayCall(caller: Caller | undefined, bundle: VendorBundle, tool: ToolDefinition): boolean {
  return caller === undefined || caller.scopes.includes(SCOPE_WRITE) || toolEffects(bundle, tool).readOnly;
}

/** A JSON-RPC message that passed the endpoint's shape checks (`tools/call` params carry a string `name`). */
export interface CheckedMessage {
  method?: string;
  params?: unknown;
}

/**
 * Readies the caller for a checked message and applies the write-scope rule to `tools/call`:
 * the caller's step-up answer (403 `insufficient_scope`) when the named tool changes data and
 * the token lacks `mcp:write`, else `undefined`. Discovery's `<vendor>_call` names its operation
 * in the arguments; discovery-tools.ts applies the same rule ({@link mayCall}) once it resolves it.
 */
export async function authorizeMessage(
  scope: AuthorizeScope,
  caller: Caller,
  message: CheckedMessage,
): Promise<Response | undefined> {
  const { endpoint } = scope;
  const { method } = message;
  const tool = method === "tools/call" ? (message.params as { name: string }).name : undefined;
  await caller.prepare?.({
    needsVendors: method === undefined || !VENDOR_FREE_METHODS.has(method),
    ...(tool === undefined ? {} : { toolVendor: () => toolVendorOf(endpoint, tool) }),
  });
  // A token with `mcp:write` may call anything it sees: no lookup on the common path.
  if (tool === undefined || caller.scopes.includes(SCOPE_WRITE)) return undefined;
  const vendor = toolVendorOf(endpoint, tool);
  // An upstream MCP server's tools (and what they do) are known once its list is resolved.
  const view =
    vendor !== undefined && hasDynamicVendors()
      ? await resolveVendors({
          env: scope.env,
          caller,
          waitUntil: scope.waitUntil,
          requestId: scope.requestId,
          vendor,
          ...(scope.trace === undefined ? {} : { trace: scope.trace }),
        })
      : COMPILED_VENDORS;
  const resolved = findTool(endpoint, caller, tool, view);
  if (resolved === undefined || mayCall(caller, resolved.bundle, resolved.recipe)) return undefined;
  auditDenied(
    { ...scope, caller },
    { vendor: resolved.bundle.vendor, tool: resolved.recipe.name, detail: "scope: mcp:write required" },
  );
  if (caller.writeScopeChallenge !== undefined) return caller.writeScopeChallenge();
  throw new GatewayError("forbidden", WRITE_SCOPE_DESCRIPTION);
}

/** What {@link authorizeMessage} needs of the request. */
export interface AuthorizeScope {
  endpoint: McpEndpoint;
  env: Env;
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
  /** The request's trace: a tool-list fetch this triggers carries it on, and a denial's audit event names it (#14). */
  trace?: TraceContext;
}

/**
 * The vendor a `tools/call` names: a compiled tool's vendor, or the vendor of an upstream MCP
 * server (whose tools are only known upstream); `undefined` for anything else.
 */
function toolVendorOf(endpoint: McpEndpoint, tool: string): string | undefined {
  const compiled = findTool(endpoint, undefined, tool, COMPILED_VENDORS);
  if (compiled !== undefined) return compiled.bundle.vendor;
  const vendor = endpoint.kind === "vendor" ? endpoint.vendor : unifiedVendorOf(tool);
  return vendor !== undefined && COMPILED_VENDORS.get(vendor)?.kind === "mcp" ? vendor : undefined;
}
