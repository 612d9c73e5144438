/**
 * `tools/call` of a vendor tool: the call through the vendor seam (src/vendors/call.ts),
 * its outcome turned into the MCP result at this edge (src/mcp/tool-result.ts).
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
// #14 metrics, temporary (h/metrics): see the marked hunk below.
import { CALL_SAMPLE_MESSAGE_MAX_CHARS, type CallOutcome } from "../call-outcome.ts";
import { clockFor } from "../clock.ts";
import { recordCallSample } from "../ops/metrics.ts";
import type { ToolOutcome } from "../tool-error.ts";
import { callVendorTool, servesFeatures } from "../vendors/call.ts";
import type { VendorClientInput, VendorProgress } from "../vendors/kind.ts";
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
  const clock = clockFor(scope.env); // #14 metrics, temporary
  const started = clock.now(); // #14 metrics, temporary
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
  // >>> #14 metrics, temporary (h/metrics): the lead replaces this with the real sample (reportToolCall).
  recordCallSample(
    scope.env,
    {
      vendor: bundle.vendor,
      tool: recipe.name,
      latencyMs: clock.now() - started,
      time: clock.now(),
      ...sampleOutcome(outcome),
    },
    scope.waitUntil,
    { clock, requestId: scope.requestId, traceId: scope.trace.traceId },
  );
  // <<< #14 metrics, temporary
  const result = outcomeResult(outcome, bundle.vendor, recipe.name);
  // A vendor's resources are namespaced on /v1/mcp: links to them in results follow (resource-uris.ts).
  // (An InputRequiredResult, relayed to a 2026-07-28 client, has no content.)
  if (scope.endpoint.kind === "unified" && servesFeatures(bundle) && Array.isArray(result.content)) {
    return { ...result, content: unifiedContentUris(bundle.vendor, result.content) };
  }
  return result;
}

// >>> #14 metrics, temporary (h/metrics): roughly how a tool outcome counts; the real mapping comes with reportToolCall.
function sampleOutcome(outcome: ToolOutcome): { outcome: CallOutcome; errorCode?: string; message?: string } {
  if (outcome.ok) return { outcome: outcome.result.isError === true ? "tool_error" : "ok" };
  const { code, status, message } = outcome.failure;
  const counted = (kind: CallOutcome) => ({
    outcome: kind,
    errorCode: code,
    message: message.slice(0, CALL_SAMPLE_MESSAGE_MAX_CHARS),
  });
  switch (code) {
    case "invalid_arguments":
    case "unknown_operation":
      return counted("invalid_arguments");
    case "missing_credentials":
    case "insufficient_scope":
    case "tool_withheld":
      return counted("denied");
    case "circuit_open":
      return counted("breaker_open");
    case "rate_limited":
    case "retry_later":
      return counted("rate_limited");
    case "upstream_timeout":
      return counted("timeout");
    default:
      if (status === 429) return counted("rate_limited");
      if (status !== undefined && status >= 400 && status < 500) return counted("tool_error");
      return counted("upstream_error");
  }
}
// <<< #14 metrics, temporary
