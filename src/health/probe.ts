/**
 * Scheduled health probes (cron trigger, `[triggers] crons` in wrangler.toml):
 * every vendor whose `vendor.json` names a `healthTool` gets one call of that
 * tool, with no arguments, shared (env) credentials and no retries.
 *
 * Probes go through the same guard as user calls, so their outcomes feed
 * `/health/vendors`, and they respect the breaker: an open breaker is not
 * hammered, and a half-open one is tested by the probe even when no user
 * traffic arrives, so a recovered vendor closes without waiting for users.
 *
 * @module
 */

import { envCredentialSource } from "../auth/upstream-credentials.ts";
import { allBundles } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import { log } from "../log.ts";
import { executeToolCall } from "../upstream/execute.ts";

/** A health probe is a quick check: it never waits as long as a user call may. */
const HEALTH_PROBE_TIMEOUT_SECONDS = 15;

export interface ProbeReport {
  vendor: string;
  tool: string;
  ok: boolean;
  /** The tool result's error code, when it failed. */
  error?: string;
}

function errorCode(text: string | undefined): string {
  try {
    const parsed = JSON.parse(text ?? "") as { error?: unknown };
    return typeof parsed.error === "string" ? parsed.error : "tool_error";
  } catch {
    return "tool_error";
  }
}

/** Probes one vendor's health tool. Never throws. */
async function probeVendor(
  env: Env,
  bundle: VendorBundle,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<ProbeReport | undefined> {
  const toolName = bundle.healthTool;
  if (!toolName) return undefined;
  const tool = bundle.tools.find((t) => t.name === toolName);
  if (!tool) {
    return { vendor: bundle.vendor, tool: toolName, ok: false, error: "health_tool_not_found" };
  }
  try {
    const base = vendorSettings(loadSettings(env), bundle);
    const timeout = Math.min(base.toolExecutionTimeoutSeconds, HEALTH_PROBE_TIMEOUT_SECONDS);
    const settings = { ...base, maxRetries: 0, toolExecutionTimeoutSeconds: timeout };
    const clock = clockFor(env);
    const result = await executeToolCall({
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
    if (!result.isError) return { vendor: bundle.vendor, tool: toolName, ok: true };
    const first = result.content[0];
    return {
      vendor: bundle.vendor,
      tool: toolName,
      ok: false,
      error: errorCode(first?.type === "text" ? first.text : undefined),
    };
  } catch (error) {
    return {
      vendor: bundle.vendor,
      tool: toolName,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Probes every vendor that names a health tool, concurrently; logs one line per probe. */
export async function probeVendors(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  bundles: readonly VendorBundle[] = allBundles(),
): Promise<ProbeReport[]> {
  const reports = await Promise.all(bundles.map((bundle) => probeVendor(env, bundle, waitUntil)));
  const done = reports.filter((r): r is ProbeReport => r !== undefined);
  for (const report of done) log({ event: "health_probe", ...report });
  return done;
}
