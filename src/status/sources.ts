/**
 * Where the status page's numbers come from: one small interface the route receives, so the page
 * renders whatever store answers (and tests hand it hostile or exact data). Vendor state, breaker
 * and tool-definition changes are not here: they are what `/health/vendors` reads
 * (src/health/vendors.ts), always available.
 *
 * @module
 */
import { readVendorMetrics } from "../ops/metrics.ts";
import type { VendorMetricsSnapshot } from "../ops/metrics-types.ts";
import { readQuotaUsage } from "../resilience/quota-client.ts";
import type { QuotaUsage } from "../resilience/quota-types.ts";

export interface StatusSources {
  /** One vendor's metrics at `now`; `undefined`: no data yet (the page says so). */
  vendorMetrics(env: Env, vendor: string, now: number): Promise<VendorMetricsSnapshot | undefined>;
  /** One team's quota use; `undefined`: no data yet. */
  quotaUsage(env: Env, teamId: string): Promise<QuotaUsage[] | undefined>;
}

/** The live stores: the per-vendor metrics objects and the per-team quota guards. */
export const LIVE_SOURCES: StatusSources = {
  vendorMetrics: readVendorMetrics,
  quotaUsage: (env, teamId) => readQuotaUsage(env, teamId),
};
