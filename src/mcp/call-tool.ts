/**
 * `tools/call` → the upstream executor, with the whole-call deadline
 * (`TOOL_EXECUTION_TIMEOUT`, per-vendor override) fixed when the call arrives.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import { loadSettings, vendorSettings } from "../config.ts";
import type { ResolvedTool } from "./catalog.ts";
import type { McpRequestScope } from "./server.ts";

/** Runs one tool call. Upstream failures come back as `isError` results, never as throws. */
export async function callTool(
  scope: McpRequestScope,
  resolved: ResolvedTool,
  args: unknown,
): Promise<CallToolResult> {
  const settings = vendorSettings(loadSettings(scope.env), resolved.bundle);
  const deadline = Date.now() + settings.toolExecutionTimeoutSeconds * 1000;
  void deadline;
  void args;
  // Placeholder until src/upstream/execute.ts lands.
  return {
    isError: true,
    content: [{ type: "text", text: `${resolved.recipe.name}: upstream execution not wired yet` }],
  };
}
