/**
 * The Worker side of {@link VendorMetrics}: every finished tool call's sample goes to the vendor's
 * metrics object inside `waitUntil` (the answer never waits on it), calls that end while a write is in
 * flight together in the next one ({@link WriteQueue}), and the reads behind `/admin/metrics`,
 * `/metrics` and `/status`.
 *
 * Failure policy: metrics never fail a call. A write the object does not answer within
 * {@link METRICS_TIMEOUT_MS} (on the call's clock) is dropped with one `metrics_write_failed`
 * line, so the counts stay exact except for the calls those lines name. Without a
 * `VENDOR_METRICS` binding nothing is written.
 *
 * Cost: at most one Durable Object call per tool call, off the response path, and under concurrency
 * one per batch (README.md#metrics has the measured CPU).
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

/**
 * One vendor's writes in this isolate. While a `record` is in flight, the samples of calls that end
 * meanwhile gather in `pending` behind one leader, which sends them in one `record` once the one in
 * flight has answered: under concurrency one RPC (and one commit in the object) carries many calls,
 * alone each call still sends its own at once. Every sample waits in its own request's `waitUntil`
 * until the `record` carrying it has answered, so an evicted isolate loses nothing a request had not
 * already lost.
 */
interface WriteQueue {
  /** The last `record` started (or about to start); settled: nothing in flight. */
  inFlight: Promise<void> | undefined;
  /** Samples waiting for the next leader's `record`; `undefined`: no leader waiting. */
  pending: CallSample[] | undefined;
  /** The waiting leader's `record`, which every sample in `pending` waits for. */
  next: Promise<void> | undefined;
}

/** Most samples one `record` carries (the object takes up to 1,000); past it the next call leads a new batch. */
const MAX_SAMPLES_PER_WRITE = 256;

const queues = new WeakMap<object, Map<string, WriteQueue>>();

function queueFor(ns: Env["VENDOR_METRICS"], vendor: string): WriteQueue {
  let byVendor = queues.get(ns);
  if (byVendor === undefined) {
    byVendor = new Map();
    queues.set(ns, byVendor);
  }
  return memoized(byVendor, vendor, () => ({ inFlight: undefined, pending: undefined, next: undefined }));
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
  const queue = queueFor(ns, sample.vendor);
  if (
    queue.pending !== undefined &&
    queue.next !== undefined &&
    queue.pending.length < MAX_SAMPLES_PER_WRITE
  ) {
    queue.pending.push(sample);
    waitUntil(queue.next);
    return;
  }
  // This call leads the next batch: it sends once the write before it has answered.
  const batch = [sample];
  const before = queue.inFlight;
  const clock = options.clock ?? clockFor(env);
  const write = (async () => {
    if (before !== undefined) await before;
    if (queue.pending === batch) {
      queue.pending = undefined;
      queue.next = undefined;
    }
    try {
      await withTimeout(
        stubFor(ns, sample.vendor).record(batch) as Promise<number>,
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
        calls: batch.length,
        error: errorText(error),
      });
    }
  })();
  queue.inFlight = write;
  if (before !== undefined) {
    queue.pending = batch;
    queue.next = write;
  }
  waitUntil(write);
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
