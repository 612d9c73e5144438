/**
 * The one load generator every target shares: autocannon, used programmatically, with
 * sub-millisecond latency percentiles computed from its per-response timings (its own
 * histogram has 1 ms resolution, too coarse for a ≤ 1 ms target).
 */
import autocannon from "autocannon";

/** Upper bound on stored latency samples per run (memory stays bounded on long runs). */
const MAX_SAMPLES = 2_000_000;

export interface LoadRequest {
  url: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Every 2xx response must have exactly this body (checked by autocannon). */
  expectBody?: string;
  /**
   * Replace `[<id>]` in the body with a fresh id per request (servers keyed by JSON-RPC id).
   * Done in `setupRequest`, not autocannon's `idReplacement`: that one sizes Content-Length for a
   * longer id than it writes, so servers wait for bytes that never come and every request times out.
   */
  uniqueIds?: boolean;
  /** Checks each response body; a `false` counts as a mismatch. */
  check?: (status: number, body: string) => boolean;
}

export interface LoadResult {
  connections: number;
  durationSeconds: number;
  requests: number;
  /** Completed 2xx calls per second. */
  throughput: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Runs `connections` concurrent keep-alive connections against `req` for `durationSeconds`. */
export async function runLoad(
  req: LoadRequest,
  connections: number,
  durationSeconds: number,
): Promise<LoadResult> {
  const samples = new Float64Array(MAX_SAMPLES);
  let count = 0;
  let badBodies = 0;
  let nextId = 0;
  const check = req.check;
  const instance = autocannon({
    url: req.url,
    method: req.method,
    headers: req.headers,
    body: req.body,
    connections,
    duration: durationSeconds,
    timeout: 10,
    ...(req.expectBody !== undefined ? { expectBody: req.expectBody } : {}),
    ...(check || req.uniqueIds
      ? {
          requests: [
            {
              ...(req.uniqueIds && {
                setupRequest: (request: { body?: string }) => ({
                  ...request,
                  body: req.body?.replaceAll("[<id>]", `call-${nextId++}`),
                }),
              }),
              ...(check && {
                onResponse: (status: number, body: string) => {
                  if (!check(status, body)) badBodies++;
                },
              }),
            },
          ],
        }
      : {}),
  });
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300 && count < MAX_SAMPLES) samples[count++] = responseTime;
  });
  const result = (await instance) as autocannon.Result & { mismatches?: number };
  const sorted = samples.subarray(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i] as number;
  const ok = result["2xx"];
  return {
    connections,
    durationSeconds: result.duration,
    requests: ok,
    throughput: ok / result.duration,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    meanMs: count > 0 ? sum / count : Number.NaN,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: (result.mismatches ?? 0) + badBodies,
  };
}
