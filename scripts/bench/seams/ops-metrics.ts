/**
 * Bench seam for `src/ops/metrics.ts`: `recordCallSample` sends nothing. The whole gateway
 * built with it, measured beside the uncut one, prices the metrics write of a tool call (#14):
 * the RPC in `waitUntil` and the Durable Object's SQLite upserts, both in the same workerd.
 */
import type * as real from "../../../src/ops/metrics.ts";

export const recordCallSample = (() => {}) satisfies typeof real.recordCallSample;
