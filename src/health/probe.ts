/**
 * Scheduled health probes (cron trigger, `[triggers] crons` in wrangler.toml):
 * every vendor's kind checks its health (src/vendors/kind.ts `probe`; an OpenAPI
 * vendor whose `vendor.json` names a `healthTool` gets one call of that tool, with no
 * arguments, shared (env) credentials and no retries).
 *
 * Probes go through the same guard as user calls, so their outcomes feed
 * `/health/vendors`, and they respect the breaker: an open breaker is not
 * hammered, and a half-open one is tested by the probe even when no user
 * traffic arrives, so a recovered vendor closes without waiting for users.
 *
 * @module
 */

import { allBundles } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { log } from "../log.ts";
import { vendorKindOf } from "../vendors/registry.ts";

/** A health probe is a quick check: it never waits as long as a user call may. */
const HEALTH_PROBE_TIMEOUT_SECONDS = 15;

export interface ProbeReport {
  vendor: string;
  tool: string;
  ok: boolean;
  /** The failure code when it failed (or the error text of a probe that threw). */
  error?: string;
}

/** Probes one vendor through its kind (src/vendors/kind.ts). Never throws. */
async function probeVendor(
  env: Env,
  bundle: VendorBundle,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<ProbeReport | undefined> {
  try {
    const probe = await vendorKindOf(bundle).probe(env, bundle, HEALTH_PROBE_TIMEOUT_SECONDS, waitUntil);
    return probe === undefined ? undefined : { vendor: bundle.vendor, ...probe };
  } catch (error) {
    return {
      vendor: bundle.vendor,
      tool: bundle.healthTool ?? "",
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
