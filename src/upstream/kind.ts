/**
 * The OpenAPI vendor kind: tools are the compiled recipes of the vendor's bundle, a call is
 * an HTTP request built from its recipe (src/upstream/execute.ts), what a call does follows
 * from its HTTP method (src/bundle/http-methods.ts), and health is one call of
 * the `healthTool` the operator names in `vendor.json`.
 *
 * @module
 */
import { envCredentialSource } from "../auth/upstream-credentials.ts";
import { IDEMPOTENT_METHODS, READ_ONLY_METHODS } from "../bundle/http-methods.ts";
import type { ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import { executeToolCall } from "./execute.ts";

/** A health check: the health tool with no arguments, shared (env) credentials and no retries. */
async function probe(
  env: Env,
  bundle: VendorBundle,
  timeoutSeconds: number,
  waitUntil: (p: Promise<unknown>) => void,
) {
  const toolName = bundle.healthTool;
  if (!toolName) return undefined;
  const tool = bundle.tools.find((t) => t.name === toolName);
  if (!tool) return { tool: toolName, ok: false, error: "health_tool_not_found" as const };
  const base = vendorSettings(loadSettings(env), bundle);
  const timeout = Math.min(base.toolExecutionTimeoutSeconds, timeoutSeconds);
  const settings = { ...base, maxRetries: 0, toolExecutionTimeoutSeconds: timeout };
  const clock = clockFor(env);
  const outcome = await executeToolCall({
    env,
    bundle,
    tool,
    args: {},
    deadline: clock.now() + timeout * 1000,
    clock,
    credentials: envCredentialSource(env, bundle),
    waitUntil,
    settings,
  });
  return outcome.ok
    ? { tool: toolName, ok: true }
    : { tool: toolName, ok: false, error: outcome.failure.code };
}

/** What the HTTP method says (RFC 9110 safe and idempotent methods; DELETE destroys). */
function effects(tool: ToolRecipe) {
  return {
    readOnly: READ_ONLY_METHODS.has(tool.method),
    destructive: tool.method === "DELETE",
    idempotent: IDEMPOTENT_METHODS.has(tool.method),
  };
}

/** The OpenAPI kind (checked against the seam in src/vendors/registry.ts). */
export const openApiKind = {
  tools: (bundle: VendorBundle): readonly ToolRecipe[] => bundle.tools,
  effects,
  callTool: executeToolCall,
  probe,
};
