/**
 * The Worker side of {@link VendorMetrics}: one RPC per finished tool call to the vendor's
 * metrics object, inside `waitUntil` (the answer never waits on it), and the reads behind
 * `/admin/metrics`, `/metrics` and `/status`.
 *
 * Failure policy: metrics never fail a call. A write the object does not answer within
 * {@link METRICS_TIMEOUT_MS} (on the call's clock) is dropped with one `metrics_write_failed`
 * line, so the counts stay exact except for the calls those lines name. Without a
 * `VENDOR_METRICS` binding nothing is written.
 *
 * Cost: one Durable Object call per tool call, off the response path (README.md#metrics has
 * the measured CPU).
 *
 * @module
 */
import type { CallSample } from "../call-outcome.ts";
import { type Clock, clockFor, withTimeout } from "../clock.ts";
import { errorText, log } from "../log.ts";
import { memoized } from "../memo.ts";
import type { VendorMetricsSnapshot, VendorMetricsTotals } from "./metrics-types.ts";

/** A Durable Object round trip takes milliseconds; past this the write is dropped, the read fails. */
export const METRICS_TIMEOUT_MS = 2_000;

/** Object ids by vendor: deriving one hashes the name, the same for every call. */
const metricsIds = new Map<string, DurableObjectId>();

function stubFor(ns: Env["VENDOR_METRICS"], vendor: string) {
  return ns.get(memoized(metricsIds, vendor, (name) => ns.idFromName(name)));
}

/** Where a write comes from, for its failure line. */
export interface RecordOptions {
  /** The call's clock (the timeout); default `clockFor(env)`. */
  clock?: Clock;
  requestId?: string;
  traceId?: string;
}

/** Counts one finished call in its vendor's metrics (in `waitUntil`); never throws. */
export function recordCallSample(
  env: Env,
  sample: CallSample,
  waitUntil: (promise: Promise<unknown>) => void,
  options: RecordOptions = {},
): void {
  const ns: Env["VENDOR_METRICS"] | undefined = env.VENDOR_METRICS;
  if (ns === undefined) return;
  const clock = options.clock ?? clockFor(env);
  waitUntil(
    (async () => {
      try {
        await withTimeout(
          stubFor(ns, sample.vendor).record([sample]) as Promise<number>,
          METRICS_TIMEOUT_MS,
          clock,
          "vendor metrics",
        );
      } catch (error) {
        log({
          event: "metrics_write_failed",
          ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
          ...(options.traceId === undefined ? {} : { traceId: options.traceId }),
          vendor: sample.vendor,
          error: errorText(error),
        });
      }
    })(),
  );
}

/** The namespace, or the error a read answers without it. */
function namespace(env: Env): Env["VENDOR_METRICS"] {
  const ns: Env["VENDOR_METRICS"] | undefined = env.VENDOR_METRICS;
  if (ns === undefined) throw new Error("VENDOR_METRICS binding missing");
  return ns;
}

/**
 * `vendor`'s windows ending at `now` (epoch ms on the caller's clock).
 *
 * @throws when the object cannot answer within {@link METRICS_TIMEOUT_MS}.
 */
export async function readVendorMetrics(
  env: Env,
  vendor: string,
  now: number,
): Promise<VendorMetricsSnapshot> {
  const snapshot = (await withTimeout(
    stubFor(namespace(env), vendor).snapshot(now) as Promise<VendorMetricsSnapshot>,
    METRICS_TIMEOUT_MS,
    clockFor(env),
    "vendor metrics",
  )) as VendorMetricsSnapshot;
  return { ...snapshot, vendor };
}

/**
 * `vendor`'s counts since its object was created (the Prometheus counters).
 *
 * @throws when the object cannot answer within {@link METRICS_TIMEOUT_MS}.
 */
export async function readVendorTotals(env: Env, vendor: string): Promise<VendorMetricsTotals> {
  const totals = (await withTimeout(
    stubFor(namespace(env), vendor).totals() as Promise<VendorMetricsTotals>,
    METRICS_TIMEOUT_MS,
    clockFor(env),
    "vendor metrics",
  )) as VendorMetricsTotals;
  return { ...totals, vendor };
}
