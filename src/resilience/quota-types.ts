/**
 * Quotas and per-user rate limits as the quota guard (src/resilience/quota-guard.ts, one
 * SQLite-backed Durable Object per team, or per user without a team) reports them to
 * `gateway_status`, `/status` and the metrics.
 *
 * @module
 */

/** One configured limit and how much of it is used now. */
export interface QuotaUsage {
  /** Whose calls count: one user's, or the whole team's. */
  scope: "user" | "team";
  /** The user id or team id the limit counts (opaque ids, never emails). */
  subject: string;
  /** The vendor the limit is for; absent: across all vendors. */
  vendor?: string;
  window: "minute" | "day";
  used: number;
  limit: number;
  /** When the window starts over, epoch ms. */
  resetAt: number;
}
