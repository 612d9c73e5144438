/**
 * `tools/call` of a vendor tool: the call through the vendor seam (src/vendors/call.ts),
 * its outcome turned into the MCP result at this edge (src/mcp/tool-result.ts), and the call
 * reported once (src/mcp/call-report.ts) with what it did upstream: the {@link CallStats} record
 * travels down with the call and the kind and the retry loop fill it in (a few number writes per
 * attempt). Calls refused before the vendor is asked are reported here too ({@link reportRefusal}).
 *
 * @module
 */

import type { CallToolResult } from "@modelcontextprotocol/server";
import { auditToolCall } from "../audit-events.ts";
import {
  CALL_SAMPLE_MESSAGE_MAX_CHARS,
  type CallOutcome,
  type CallSample,
  type CallStats,
  newCallStats,
} from "../call-outcome.ts";
import { type Clock, clockFor } from "../clock.ts";
import type { ToolErrorCode, ToolFailure } from "../tool-error.ts";
import { callVendorTool, servesFeatures } from "../vendors/call.ts";
import type { VendorClientInput, VendorProgress } from "../vendors/kind.ts";
import { toolEffects } from "../vendors/registry.ts";
import {
  callOutcomeOf,
  failureOutcome,
  loggedArguments,
  reportToolCall,
  type ToolCallEvent,
} from "./call-report.ts";
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
  const clock = clockFor(scope.env);
  const started = clock.now();
  const stats = newCallStats();
  const outcome = await callVendorTool({
    env: scope.env,
    bundle,
    tool: recipe,
    args,
    caller: scope.caller,
    waitUntil: scope.waitUntil,
    requestId: scope.requestId,
    trace: scope.trace,
    stats,
    clock,
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
  report(scope, {
    vendor: bundle.vendor,
    tool: recipe.name,
    outcome: callOutcomeOf(outcome),
    ...(outcome.ok ? {} : { failure: outcome.failure }),
    clock,
    started,
    stats,
    ...(bundle.logArguments === true ? { args } : {}),
  });
  const result = outcomeResult(outcome, bundle.vendor, recipe.name);
  // A vendor's resources are namespaced on /v1/mcp: links to them in results follow (resource-uris.ts).
  // (An InputRequiredResult, relayed to a 2026-07-28 client, has no content.)
  if (scope.endpoint.kind === "unified" && servesFeatures(bundle) && Array.isArray(result.content)) {
    return { ...result, content: unifiedContentUris(bundle.vendor, result.content) };
  }
  return result;
}

/** A tool call refused before its vendor was asked. */
export interface Refusal {
  vendor: string;
  /** The unprefixed tool name when it names a real tool; else {@link UNKNOWN_TOOL} (never the client's text). */
  tool: string;
  code: ToolErrorCode;
  /** When the MCP layer started on the call (the call's clock); absent: now. */
  started?: number;
}

/** The `tool` of an event whose name resolved to no tool: the client's text is never logged. */
export const UNKNOWN_TOOL = "(unknown)";

/** Reports a call refused before its vendor was asked: no attempt, no upstream time, no bytes. */
export function reportRefusal(scope: McpRequestScope, refusal: Refusal): void {
  const clock = clockFor(scope.env);
  report(scope, {
    vendor: refusal.vendor,
    tool: refusal.tool,
    outcome: failureOutcome({ code: refusal.code }),
    failure: { code: refusal.code, message: refusedMessage(refusal.code) },
    clock,
    started: refusal.started ?? clock.now(),
    stats: undefined,
  });
}

function refusedMessage(code: ToolErrorCode): string {
  return `Refused before the vendor was called (${code}).`;
}

interface Finished {
  vendor: string;
  tool: string;
  outcome: CallOutcome;
  failure?: Pick<ToolFailure, "code" | "message" | "status">;
  clock: Clock;
  started: number;
  stats: CallStats | undefined;
  /** Present only when the vendor opted in to `logArguments`. */
  args?: unknown;
}

/** Builds the call's sample and event once and hands them to the one reporter. */
function report(scope: McpRequestScope, call: Finished): void {
  const { caller, client } = scope;
  const ended = call.clock.now();
  const totalMs = Math.max(0, ended - call.started);
  const { failure, stats } = call;
  const sample: CallSample = {
    vendor: call.vendor,
    tool: call.tool,
    outcome: call.outcome,
    latencyMs: totalMs,
    time: ended,
    ...(failure === undefined
      ? {}
      : { errorCode: failure.code, message: failure.message.slice(0, CALL_SAMPLE_MESSAGE_MAX_CHARS) }),
    ...(caller === undefined ? {} : { userId: caller.userId }),
    ...(caller?.teamId === undefined ? {} : { teamId: caller.teamId }),
  };
  const upstreamStatus =
    stats !== undefined && stats.upstreamStatus > 0 ? stats.upstreamStatus : failure?.status;
  const event: ToolCallEvent = {
    time: new Date(ended).toISOString(),
    requestId: scope.requestId,
    traceId: scope.trace.traceId,
    ...(caller === undefined ? {} : { userId: caller.userId }),
    ...(caller?.teamId === undefined ? {} : { teamId: caller.teamId }),
    ...(client?.name === undefined ? {} : { clientName: client.name }),
    ...(client?.version === undefined ? {} : { clientVersion: client.version }),
    endpoint: scope.endpoint.kind === "vendor" ? scope.endpoint.vendor : "unified",
    vendor: call.vendor,
    tool: call.tool,
    protocolVersion: scope.protocolVersion,
    outcome: call.outcome,
    ...(failure === undefined ? {} : { errorCode: failure.code }),
    ...(upstreamStatus === undefined ? {} : { upstreamStatus }),
    attempts: stats?.attempts ?? 0,
    totalMs,
    upstreamMs: stats?.upstreamMs ?? 0,
    requestBytes: stats?.requestBytes ?? 0,
    responseBytes: stats?.responseBytes ?? 0,
  };
  if ("args" in call) {
    const text = loggedArguments(call.args, stats?.secrets);
    if (text !== undefined) event.arguments = text;
  }
  reportToolCall(scope, sample, event);
}
