/**
 * `tools/call` of a vendor tool: the call through the vendor seam (src/vendors/call.ts),
 * its outcome turned into the MCP result at this edge (src/mcp/tool-result.ts).
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import { callVendorTool, servesFeatures } from "../vendors/call.ts";
import type { VendorProgress } from "../vendors/kind.ts";
import type { ResolvedTool } from "./catalog.ts";
import { unifiedContentUris } from "./resource-uris.ts";
import type { McpRequestScope } from "./server.ts";
import { outcomeResult } from "./tool-result.ts";

/** Runs one tool call. Failures come back as `isError` results, never as throws. */
export async function callTool(
  scope: McpRequestScope,
  resolved: ResolvedTool,
  args: unknown,
  onProgress?: (progress: VendorProgress) => void,
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
    ...(onProgress === undefined ? {} : { onProgress }),
  });
  const result = outcomeResult(outcome, bundle.vendor, recipe.name);
  // A vendor's resources are namespaced on /v1/mcp: links to them in results follow (resource-uris.ts).
  if (scope.endpoint.kind === "unified" && servesFeatures(bundle)) {
    return { ...result, content: unifiedContentUris(bundle.vendor, result.content) };
  }
  return result;
}
