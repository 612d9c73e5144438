/**
 * Metrics and quota numbers for the status page's tests (test/worker/status/, the Chromium test):
 * different per slot, so a shifted, dropped or rescaled slot shows, with hostile failure text.
 */
import type { MetricsBucket, VendorMetricsSnapshot } from "../../src/ops/metrics-types.ts";

/** Markup an upstream might put in an error message or a tool name. */
export const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

function bucket(start: number, calls: number, errors: number, p50?: number): MetricsBucket {
  return {
    start,
    calls,
    errors,
    outcomes: { ok: calls - errors, ...(errors > 0 ? { upstream_error: errors } : {}) },
    ...(p50 === undefined ? {} : { p50Ms: p50, p95Ms: p50 * 3, p99Ms: p50 * 4 }),
  };
}

function totals(buckets: MetricsBucket[]) {
  return {
    calls: buckets.reduce((sum, b) => sum + b.calls, 0),
    errors: buckets.reduce((sum, b) => sum + b.errors, 0),
    outcomes: {},
  };
}

/** A vendor's metrics at `now`: every 7th minute idle, a failing minute now and then. */
export function sampleSnapshot(vendor: string, now: number): VendorMetricsSnapshot {
  const minute = Math.floor(now / 60_000) * 60_000;
  const hourStart = Math.floor(now / 3_600_000) * 3_600_000;
  const hour = Array.from({ length: 60 }, (_, i) =>
    bucket(minute - (59 - i) * 60_000, i % 7, i % 7 === 6 ? 2 : 0, i % 7 === 0 ? undefined : 10 + i),
  );
  const day = Array.from({ length: 24 }, (_, i) =>
    bucket(hourStart - (23 - i) * 3_600_000, i * 3, i % 5, 20 + i),
  );
  return {
    vendor,
    generatedAt: now,
    hour: {
      buckets: hour,
      ...totals(hour),
      outcomes: { ok: 156, tool_error: 2, upstream_error: 13, timeout: 3 },
      p50Ms: 31,
      p95Ms: 120,
    },
    day: { buckets: day, ...totals(day), p50Ms: 33, p95Ms: 150 },
    tools: [
      {
        tool: "listNotes",
        hour: { calls: 120, errors: 3, outcomes: { ok: 117, timeout: 3 }, p95Ms: 90 },
        day: { calls: 600, errors: 9, outcomes: {} },
      },
      {
        tool: "getNote",
        hour: { calls: 54, errors: 13, outcomes: { ok: 41, upstream_error: 13 }, p95Ms: 140 },
        day: { calls: 228, errors: 30, outcomes: {} },
      },
      {
        tool: `quiet${HOSTILE}`,
        hour: { calls: 0, errors: 0, outcomes: {} },
        day: { calls: 1, errors: 0, outcomes: {} },
      },
    ],
    recentFailures: [
      {
        time: now - 5_000,
        tool: `tool${HOSTILE}`,
        outcome: "upstream_error",
        errorCode: "upstream_5xx",
        message: HOSTILE,
      },
    ],
  };
}
