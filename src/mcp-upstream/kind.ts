/**
 * The upstream-MCP-server vendor kind: the vendor's tools are the upstream's own (fetched,
 * curated, reviewed and cached: tool-list.ts), a call is a `tools/call` through the vendor
 * guard (call.ts), what a call does comes from the tool's annotations, and health is a `ping`
 * or the operator's `healthTool`.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import { envCredentialSource } from "../auth/upstream-credentials.ts";
import { resolveMcpUrl } from "../base-url.ts";
import type { McpToolRecipe, VendorBundle } from "../bundle/types.ts";
import { clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import { errorText, log } from "../log.ts";
import { memoized } from "../memo.ts";
import { resilientFetch } from "../resilience/retry.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import type { TraceContext } from "../trace-context.ts";
import { callMcpTool, effectsOf, type McpToolCall } from "./call.ts";
import { curateMcpTools } from "./curate.ts";
import { type ReviewedTools, reviewDefinitions, withheldToolCall } from "./definitions.ts";
import { type McpFeatureRequest, mcpFeatureRequest, mcpFeatures } from "./features.ts";
import { sessionOwner, upstreamConnection } from "./target.ts";
import { type ReviewedList, resolveToolList } from "./tool-list.ts";

const NO_TOOLS: readonly McpToolRecipe[] = [];

/** What resolving the vendor for one caller needs (the seam's `VendorResolveContext`). */
interface ResolveContext {
  env: Env;
  bundle: VendorBundle;
  caller: Caller | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
  refresh?: boolean;
  trace?: TraceContext;
}

/** The vendor as this caller sees it: the tool list fetched or cached. Never throws. */
async function resolve(context: ResolveContext): Promise<VendorBundle> {
  const { env, bundle, caller } = context;
  let url: URL;
  try {
    url = resolveMcpUrl(env, bundle);
  } catch (error) {
    log({
      event: "mcp_tool_list_failed",
      requestId: context.requestId,
      ...(context.trace === undefined ? {} : { traceId: context.trace.traceId }),
      vendor: bundle.vendor,
      error: errorText(error),
    });
    return bundle;
  }
  return resolveToolList({
    env,
    bundle,
    caller,
    waitUntil: context.waitUntil,
    requestId: context.requestId,
    ...(context.refresh === undefined ? {} : { refresh: context.refresh }),
    ...(context.trace === undefined ? {} : { traceId: context.trace.traceId }),
    // A shared, cached fetch carries the trace of the request that triggered it.
    connection: () =>
      upstreamConnection({
        env,
        bundle,
        url,
        caller,
        owner: sessionOwner(caller),
        clock: clockFor(env),
        waitUntil: context.waitUntil,
        ...(context.trace === undefined ? {} : { trace: context.trace }),
      }).connection,
    review: (raw) => reviewed(env, bundle, raw, context.waitUntil),
  });
}

/** The review behind each withheld tool's placeholder, for its call's refusal. */
const withheldReviews = new WeakMap<McpToolRecipe, ReviewedTools>();

/** A fetched list curated (vendor.json) and reviewed (rug pulls: the vendor's change policy). */
async function reviewed(
  env: Env,
  bundle: VendorBundle,
  raw: readonly unknown[],
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<ReviewedList> {
  if (bundle.mcp === undefined) return { tools: [], withheld: [] };
  const curated = await curateMcpTools(bundle.mcp, raw, { vendor: bundle.vendor });
  const review = await reviewDefinitions({ env, bundle, tools: curated, clock: clockFor(env), waitUntil });
  if (review.withheld.length === 0) return { tools: review.tools, withheld: [] };
  const held = new Set(review.withheld);
  const withheld = curated
    .filter((tool) => held.has(tool.upstreamName))
    .map((tool): McpToolRecipe => {
      // The changed definition is untrusted until approved: none of its text reaches a client.
      const placeholder: McpToolRecipe = {
        name: tool.name,
        upstreamName: tool.upstreamName,
        description: `Withheld by the gateway: ${bundle.vendor} changed this tool's definition after it was approved.`,
        inputSchema: { type: "object" },
        tags: [],
        definitionHash: tool.definitionHash,
      };
      withheldReviews.set(placeholder, review);
      return placeholder;
    });
  return { tools: review.tools, withheld };
}

/** Listed tools, then withheld ones (found by name so their calls get a clear refusal). */
const callableTools = new WeakMap<VendorBundle, readonly McpToolRecipe[]>();

function callable(bundle: VendorBundle): readonly McpToolRecipe[] {
  const withheld = bundle.mcpWithheld;
  if (withheld === undefined || withheld.length === 0) return bundle.mcpTools ?? NO_TOOLS;
  return memoized(callableTools, bundle, (b) => [...(b.mcpTools ?? NO_TOOLS), ...withheld]);
}

/** One call: a withheld tool's refusal, or the upstream's answer. */
function callTool(call: McpToolCall) {
  const review = withheldReviews.get(call.tool);
  if (review !== undefined) {
    const refusal = withheldToolCall(review, call.bundle.vendor, call.tool);
    if (refusal !== undefined) return Promise.resolve(refusal);
  }
  return callMcpTool(call);
}

/** Owner of the health probe's upstream session: never a user's. */
const PROBE_OWNER = "health-probe";

/** A health check: the `healthTool` with no arguments, else `ping`; shared credentials, no retries. */
async function probe(
  env: Env,
  bundle: VendorBundle,
  timeoutSeconds: number,
  waitUntil: (p: Promise<unknown>) => void,
) {
  const base = vendorSettings(loadSettings(env), bundle);
  const timeout = Math.min(base.toolExecutionTimeoutSeconds, timeoutSeconds);
  const settings = { ...base, maxRetries: 0, toolExecutionTimeoutSeconds: timeout };
  const clock = clockFor(env);
  const credentials = envCredentialSource(env, bundle);
  const toolName = bundle.healthTool;
  if (toolName) {
    const resolved = await resolve({ env, bundle, caller: undefined, waitUntil, requestId: PROBE_OWNER });
    const tool = resolved.mcpTools?.find((t) => t.name === toolName);
    if (!tool) return { tool: toolName, ok: false, error: "health_tool_not_found" as const };
    const outcome = await callMcpTool({
      env,
      bundle: resolved,
      tool,
      args: {},
      deadline: clock.now() + timeout * 1000,
      clock,
      credentials,
      waitUntil,
      settings,
    });
    return outcome.ok && outcome.result.isError !== true
      ? { tool: toolName, ok: true }
      : { tool: toolName, ok: false, error: outcome.ok ? ("upstream_error" as const) : outcome.failure.code };
  }
  let url: URL;
  try {
    url = resolveMcpUrl(env, bundle);
  } catch {
    return { tool: "ping", ok: false, error: "configuration_error" as const };
  }
  const { connection } = upstreamConnection({
    env,
    bundle,
    url,
    caller: undefined,
    owner: PROBE_OWNER,
    clock,
    waitUntil,
  });
  const deadline = deadlineAfter(timeout * 1000, undefined, clock);
  try {
    const result = await resilientFetch({
      env,
      settings,
      tool: { name: "ping", idempotent: true },
      deadline: clock.now() + timeout * 1000,
      waitUntil,
      signal: deadline.signal,
      clock,
      discard: () => {},
      send: async (attempt) => {
        const exchange = await connection.request("ping", undefined, { signal: attempt.signal });
        return exchange.kind === "http"
          ? { status: exchange.status, headers: exchange.headers }
          : { status: 200, headers: new Headers() };
      },
    });
    if (result.kind === "failure") return { tool: "ping", ok: false, error: result.failure.code };
    result.settle();
    const ok = result.response.status < 400;
    return ok ? { tool: "ping", ok: true } : { tool: "ping", ok: false, error: "upstream_error" as const };
  } catch {
    return { tool: "ping", ok: false, error: "upstream_timeout" as const };
  } finally {
    deadline.clear();
  }
}

/** The upstream-MCP-server kind (checked against the seam in src/vendors/registry.ts). */
export const mcpServerKind = {
  tools: (bundle: VendorBundle): readonly McpToolRecipe[] => bundle.mcpTools ?? NO_TOOLS,
  effects: effectsOf,
  callable,
  callTool,
  probe,
  resolve,
  features: mcpFeatures,
  request: (request: McpFeatureRequest) => mcpFeatureRequest(request),
};
