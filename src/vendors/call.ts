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
import { clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import type { ToolOutcome } from "../tool-error.ts";
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
}

/** Runs one tool call. Never throws: a failure is a typed value. */
export async function callVendorTool(request: ToolCallRequest): Promise<ToolOutcome> {
  const { env, bundle, caller } = request;
  const settings = vendorSettings(loadSettings(env), bundle);
  // One clock for the whole call (deadline, timeouts, waits, guard): tests inject theirs.
  const clock = clockFor(env);
  // Auth seam: the caller's own, team or organisation credential (organisation only when auth is off).
  const credentials = credentialSourceFor(env, bundle, caller);
  const outcome = await vendorKindOf(bundle).callTool({
    env,
    bundle,
    tool: request.tool,
    args: request.args,
    deadline: clock.now() + settings.toolExecutionTimeoutSeconds * 1000,
    clock,
    // The vendor guard keeps one caller's failures from opening the breaker for everyone.
    ...(caller === undefined ? {} : { caller: caller.userId, callerInfo: caller }),
    requestId: request.requestId,
    credentials,
    waitUntil: request.waitUntil,
    settings,
  });
  // An upstream 401/403 marks the credential invalid; the failure says how to reconnect.
  return withCredentialFeedback(outcome, credentials);
}
