/**
 * What the metrics store (src/ops/vendor-metrics.ts, one SQLite-backed Durable Object per vendor)
 * answers, and what `/status`, `/admin/metrics` and `/metrics` render. Counts are exact: every
 * call's {@link CallSample} is written to the vendor's object. Latency percentiles come from a
 * fixed histogram (README.md#operating-the-gateway says which buckets).
 *
 * @module
 */
import type { CallOutcome } from "../call-outcome.ts";

/** Calls per outcome; an outcome with no call is absent. */
export type OutcomeCounts = Partial<Record<CallOutcome, number>>;

/** One slot of a rolling window: a minute of the last hour, or an hour of the last day. */
export interface MetricsBucket {
  /** Slot start, epoch ms (minute- or hour-aligned, UTC). */
  start: number;
  /** Every call in the slot. */
  calls: number;
  /** Calls whose outcome is not `ok` or `tool_error` (the vendor or the gateway failed them). */
  errors: number;
  outcomes: OutcomeCounts;
  /** Latency percentiles in ms; absent when the slot has no call. */
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
}

/** A rolling window: `hour` is 60 minute slots, `day` 24 hour slots, oldest first, the current slot last. */
export interface MetricsWindow {
  buckets: MetricsBucket[];
  /** Totals over the whole window. */
  calls: number;
  errors: number;
  outcomes: OutcomeCounts;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
}

/** One tool's totals over both windows (no per-slot series: the vendor has those). */
export interface ToolMetrics {
  tool: string;
  hour: Omit<MetricsWindow, "buckets">;
  day: Omit<MetricsWindow, "buckets">;
}

/** A recent failed call, newest first in {@link VendorMetricsSnapshot.recentFailures}. */
export interface RecentFailure {
  time: number;
  tool: string;
  outcome: CallOutcome;
  errorCode?: string;
  /** Scrubbed, bounded. */
  message?: string;
}

/** One vendor's metrics at `generatedAt`. */
export interface VendorMetricsSnapshot {
  vendor: string;
  generatedAt: number;
  hour: MetricsWindow;
  day: MetricsWindow;
  tools: ToolMetrics[];
  /** At most 20. */
  recentFailures: RecentFailure[];
}

/**
 * One vendor's counts since its metrics object was created (never pruned, so Prometheus
 * counters only grow): what `/metrics` renders. Added for #14's Prometheus output.
 */
export interface VendorMetricsTotals {
  vendor: string;
  /** Upper bounds (ms) of the finite latency buckets; each histogram has one more, `+Inf`. */
  boundsMs: number[];
  /** Calls per tool and outcome; a pair with no call is absent. */
  calls: { tool: string; outcome: CallOutcome; count: number }[];
  /** Per tool: calls per latency bucket (not cumulative), the latency sum and the call count. */
  latency: { tool: string; buckets: number[]; sumMs: number; count: number }[];
}
