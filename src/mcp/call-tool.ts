/**
 * `tools/call` → the upstream executor, with the whole-call deadline
 * (`TOOL_EXECUTION_TIMEOUT`, per-vendor override) fixed when the call arrives.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import { credentialSourceFor, withCredentialFeedback } from "../auth/credential-source.ts";
import { clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import { executeToolCall } from "../upstream/execute.ts";
import type { ResolvedTool } from "./catalog.ts";
import type { McpRequestScope } from "./server.ts";

/** Runs one tool call. Upstream failures come back as `isError` results, never as throws. */
export async function callTool(
  scope: McpRequestScope,
  resolved: ResolvedTool,
  args: unknown,
): Promise<CallToolResult> {
  const settings = vendorSettings(loadSettings(scope.env), resolved.bundle);
  // One clock for the whole call (deadline, timeouts, waits, guard): tests inject theirs.
  const clock = clockFor(scope.env);
  const deadline = clock.now() + settings.toolExecutionTimeoutSeconds * 1000;
  // Auth seam: the caller's own, team or organisation credential (organisation only when auth is off).
  const credentials = credentialSourceFor(scope.env, resolved.bundle, scope.caller);
  const result = await executeToolCall({
    env: scope.env,
    bundle: resolved.bundle,
    tool: resolved.recipe,
    args,
    deadline,
    clock,
    // The vendor guard keeps one caller's failures from opening the breaker for everyone.
    ...(scope.caller === undefined ? {} : { caller: scope.caller.userId }),
    credentials,
    waitUntil: scope.waitUntil,
    settings,
  });
  // An upstream 401/403 marks the credential invalid; the result says how to reconnect.
  return withCredentialFeedback(result, credentials);
}
