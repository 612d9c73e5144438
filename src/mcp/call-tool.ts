/**
 * `tools/call` of a vendor tool: the call through the vendor seam (src/vendors/call.ts),
 * its outcome turned into the MCP result at this edge (src/mcp/tool-result.ts).
 *
 * @module
 */

import type { CallToolResult } from "@modelcontextprotocol/server";
import { auditToolCall } from "../audit-events.ts";
import { callVendorTool, servesFeatures } from "../vendors/call.ts";
import type { VendorClientInput, VendorProgress } from "../vendors/kind.ts";
import { toolEffects } from "../vendors/registry.ts";
import type { ResolvedTool } from "./catalog.ts";
import { unifiedContentUris } from "./resource-uris.ts";
import type { McpRequestScope } from "./server.ts";
import { outcomeResult } from "./tool-result.ts";

/** What a client may add to a call beyond its arguments. */
export interface ToolCallExtras {
  /** Where the upstream's progress goes (the client took SSE and sent a progress token). */
  onProgress?: (progress: VendorProgress) => void;
  /** A 2026-07-28 client's capabilities and multi round-trip retry fields. */
  input?: VendorClientInput;
}

/** Runs one tool call. Failures come back as `isError` results, never as throws. */
export async function callTool(
  scope: McpRequestScope,
  resolved: ResolvedTool,
  args: unknown,
  extras: ToolCallExtras = {},
): Promise<CallToolResult> {
  const { bundle, recipe } = resolved;
  const outcome = await callVendorTool({
    env: scope.env,
    bundle,
    tool: recipe,
    args,
    caller: scope.caller,
    waitUntil: scope.waitUntil,
    requestId: scope.requestId,
    trace: scope.trace,
    ...(extras.onProgress === undefined ? {} : { onProgress: extras.onProgress }),
    ...(extras.input === undefined ? {} : { input: extras.input }),
  });
  // #14 audit: calls of tools that change data (one RPC in waitUntil; read-only calls skip it).
  auditToolCall(scope, {
    vendor: bundle.vendor,
    tool: recipe.name,
    readOnly: toolEffects(bundle, recipe).readOnly,
    ok: outcome.ok && outcome.result.isError !== true,
    errorCode: outcome.ok ? undefined : outcome.failure.code,
  });
  const result = outcomeResult(outcome, bundle.vendor, recipe.name);
  // A vendor's resources are namespaced on /v1/mcp: links to them in results follow (resource-uris.ts).
  // (An InputRequiredResult, relayed to a 2026-07-28 client, has no content.)
  if (scope.endpoint.kind === "unified" && servesFeatures(bundle) && Array.isArray(result.content)) {
    return { ...result, content: unifiedContentUris(bundle.vendor, result.content) };
  }
  return result;
}
