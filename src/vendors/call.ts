/**
 * One tool call through the vendor seam, whatever the kind: the vendor's settings, the
 * whole-call deadline (`TOOL_EXECUTION_TIMEOUT`, per-vendor override) fixed when the call
 * arrives, the caller's credential source, the kind's call, and what the caller can do when
 * the upstream refused the credential.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import { credentialSourceFor, withCredentialFeedback } from "../auth/credential-source.ts";
import type { ToolDefinition, VendorBundle } from "../bundle/types.ts";
import type { CallStats } from "../call-outcome.ts";
import { type Clock, clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import { startQuotaAdmission } from "../resilience/quota-client.ts";
import type { ToolOutcome } from "../tool-error.ts";
import type { TraceContext } from "../trace-context.ts";
import type {
  VendorClientInput,
  VendorFeatureMethod,
  VendorFeatureOutcome,
  VendorFeatures,
  VendorProgress,
  VendorResolveContext,
} from "./kind.ts";
import { vendorKindOf } from "./registry.ts";

export interface ToolCallRequest {
  env: Env;
  bundle: VendorBundle;
  tool: ToolDefinition;
  /** Raw MCP `arguments`, untrusted. */
  args: unknown;
  /** `undefined`: client auth is off; only the organisation's credentials are used. */
  caller: Caller | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
  /** The MCP request's id, for log lines. */
  requestId: string;
  /** The MCP request's W3C trace, continued to the upstream. */
  trace?: TraceContext;
  /** The client takes progress for this call (see `VendorToolCall.onProgress`). */
  onProgress?: (progress: VendorProgress) => void;
  /** A 2026-07-28 client's capabilities and retry fields (see `VendorToolCall.input`). */
  input?: VendorClientInput;
  /** Filled in by the kind for the call's `tool_call` event (see `VendorToolCall.stats`). */
  stats?: CallStats;
  /** The call's clock when the caller already took one (the MCP edge times the call on it); default `clockFor(env)`. */
  clock?: Clock;
}

/** What every request through the seam shares: the vendor, the caller, the request. */
type SeamRequest = Pick<
  ToolCallRequest,
  "env" | "bundle" | "caller" | "waitUntil" | "requestId" | "trace" | "clock"
>;

/** The context a kind's call runs in: settings, one clock, the deadline, the caller's credentials. */
function callContext(request: SeamRequest) {
  const { env, bundle, caller } = request;
  const settings = vendorSettings(loadSettings(env), bundle);
  // One clock for the whole call (deadline, timeouts, waits, guard): tests inject theirs.
  const clock = request.clock ?? clockFor(env);
  return {
    env,
    bundle,
    deadline: clock.now() + settings.toolExecutionTimeoutSeconds * 1000,
    clock,
    // The vendor guard keeps one caller's failures from opening the breaker for everyone.
    ...(caller === undefined ? {} : { caller: caller.userId, callerInfo: caller }),
    requestId: request.requestId,
    ...(request.trace === undefined ? {} : { trace: request.trace }),
    // Auth seam: the caller's own, team or organisation credential (organisation only when auth is off).
    credentials: credentialSourceFor(env, bundle, caller),
    waitUntil: request.waitUntil,
    settings,
  };
}

/**
 * Runs one tool call. Never throws: a failure is a typed value.
 *
 * Quotas (`GATEWAY_QUOTAS`, src/resilience/quota-client.ts): when one applies to the caller, its
 * admission starts here, before the kind validates and builds the request, and the kind's first
 * upstream attempt waits for it beside the vendor guard's admission; a refusal is the answer,
 * whatever else the call ran into, and nothing was sent.
 */
export async function callVendorTool(request: ToolCallRequest): Promise<ToolOutcome> {
  const context = callContext(request);
  const quota = startQuotaAdmission({
    env: request.env,
    caller: request.caller,
    vendor: request.bundle.vendor,
    clock: context.clock,
    requestId: request.requestId,
    ...(request.trace === undefined ? {} : { traceId: request.trace.traceId }),
    waitUntil: request.waitUntil,
  });
  const outcome = await vendorKindOf(request.bundle).callTool({
    ...context,
    tool: request.tool,
    args: request.args,
    ...(request.onProgress === undefined ? {} : { onProgress: request.onProgress }),
    ...(request.input === undefined ? {} : { input: request.input }),
    ...(quota === undefined ? {} : { quotaGate: quota.then((decision) => decision.admitted) }),
    ...(request.stats === undefined ? {} : { stats: request.stats }),
  });
  if (quota !== undefined) {
    const decision = await quota;
    if (!decision.admitted) return { ok: false, failure: decision.failure };
  }
  // An upstream 401/403 marks the credential invalid; the failure says how to reconnect.
  return withCredentialFeedback(outcome, context.credentials);
}

/** Whether the vendor's kind can serve resources or prompts at all (an upstream MCP server's). */
export function servesFeatures(bundle: VendorBundle): boolean {
  return vendorKindOf(bundle).request !== undefined;
}

/** What the vendor serves besides tools, for this caller; nothing for a kind without features. */
export function vendorFeatures(context: VendorResolveContext): Promise<VendorFeatures> {
  const features = vendorKindOf(context.bundle).features;
  return features === undefined ? Promise.resolve({}) : features(context);
}

/**
 * One resources or prompts request through the seam, with a tool call's deadline, credentials
 * and guard. Never throws; `undefined` when the vendor's kind serves none.
 */
export async function callVendorFeature(
  request: SeamRequest & {
    method: VendorFeatureMethod;
    params: Record<string, unknown>;
    input?: VendorClientInput;
  },
): Promise<VendorFeatureOutcome | undefined> {
  const send = vendorKindOf(request.bundle).request;
  if (send === undefined) return undefined;
  const context = callContext(request);
  const outcome = await send({
    ...context,
    method: request.method,
    params: request.params,
    ...(request.input === undefined ? {} : { input: request.input }),
  });
  if (outcome.ok) return outcome;
  const checked = await withCredentialFeedback(outcome, context.credentials);
  return checked.ok ? outcome : checked;
}
