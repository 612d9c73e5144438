/**
 * Section 3 of the bench: what the per-vendor guard Durable Object costs a tool call.
 *
 * - Calls per tool call: the instrumented build counts every VENDOR_GUARD stub call.
 * - Blocking round trips: the same calls with each stub call delayed by
 *   {@link INJECTED_DELAY_MS}; the added latency divided by the delay is the number of
 *   Durable Object calls the tool call waits for (the rest run after the answer, in
 *   waitUntil).
 * - Admissions per second one vendor's object sustains, driven from inside the Worker
 *   through the gateway's own guard client, breaker only and with the token bucket on.
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildWorker, compileSpecs, gatewayHostConfig } from "./gateway.ts";
import {
  GATEWAY_MCP_PATH,
  gatewayItemTool,
  isExpectedCallResult,
  parseRpcBody,
  toolCallBody,
} from "./mcp.ts";
import { SERVER_CORE, spawnPinned } from "./proc.ts";

const INJECTED_DELAY_MS = 25;

export interface AdmissionRun {
  concurrency: number;
  rateLimit: boolean;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
}

export interface RoundTripRun {
  /** `leased`: steady state of a healthy vendor; `no lease`: every call starts without an isolate lease. */
  mode: "leased" | "no lease";
  /** Stub calls per tool call, by method (mean over the sample). */
  callsPerToolCall: Record<string, number>;
  /** Durable Object round trips a tool call waits for. */
  blockingRoundTrips: number;
  latencyP50Ms: number;
  latencyWithDelayP50Ms: number;
}

export interface DurableObjectResult {
  runs: RoundTripRun[];
  /** The most round trips any call waited for (the target: at most one). */
  blockingRoundTrips: number;
  injectedDelayMs: number;
  admissions: AdmissionRun[];
}

export interface DurableObjectOptions {
  root: string;
  tmpDir: string;
  quick: boolean;
  log: (line: string) => void;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

export async function runDurableObjects(opts: DurableObjectOptions): Promise<DurableObjectResult> {
  const { root, tmpDir, log } = opts;
  const samples = opts.quick ? 20 : 60;
  const admissionSeconds = opts.quick ? 2 : 5;
  log("durable-objects: building the instrumented gateway…");
  const compiled = await compileSpecs(root, join(root, "bench", "spec"), join(tmpDir, "generated-bench"));
  const build = await buildWorker(
    root,
    compiled.indexPath,
    join(tmpDir, "build-bench-instrumented"),
    join(import.meta.dirname, "instrumented-worker.ts"),
  );
  const upstream = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "upstream.ts"),
  ]);
  const host = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(gatewayHostConfig(root, build.scriptPath, { BENCHAPI_BASE_URL: upstream.ready.url })),
  ]);
  try {
    const base = host.ready.url;
    const url = base + GATEWAY_MCP_PATH;
    const { headers, tool } = await gatewayItemTool(url);

    const timedCalls = async (delayMs: number, noLease: boolean): Promise<number[]> => {
      const latencies: number[] = [];
      for (let i = 0; i < samples; i++) {
        const started = performance.now();
        const res = await fetch(url, {
          method: "POST",
          headers: {
            ...headers,
            "x-bench-do-delay-ms": String(delayMs),
            ...(noLease ? { "x-bench-no-lease": "1" } : {}),
          },
          body: toolCallBody(tool, i),
        });
        const text = await res.text();
        latencies.push(performance.now() - started);
        if (!isExpectedCallResult(parseRpcBody(text)))
          throw new Error(`tools/call answered ${text.slice(0, 300)}`);
      }
      return latencies;
    };

    const runs: RoundTripRun[] = [];
    for (const mode of ["leased", "no lease"] as const) {
      const noLease = mode === "no lease";
      await timedCalls(0, noLease); // warm-up: isolate, Durable Object, connection pool, lease
      await fetch(`${base}/__bench/do-calls`, { method: "POST" });
      const plain = await timedCalls(0, noLease);
      // waitUntil work (recording the outcome) may finish after the last answer: poll until stable.
      let counts: Record<string, number> = {};
      for (let i = 0; i < 50; i++) {
        const next = (await (await fetch(`${base}/__bench/do-calls`)).json()) as Record<string, number>;
        if (JSON.stringify(next) === JSON.stringify(counts)) break;
        counts = next;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const delayed = await timedCalls(INJECTED_DELAY_MS, noLease);
      const callsPerToolCall: Record<string, number> = {};
      for (const [method, n] of Object.entries(counts)) callsPerToolCall[method] = n / samples;
      const latencyP50Ms = median(plain);
      const latencyWithDelayP50Ms = median(delayed);
      const blockingRoundTrips = Math.max(
        0,
        Math.round((latencyWithDelayP50Ms - latencyP50Ms) / INJECTED_DELAY_MS),
      );
      runs.push({ mode, callsPerToolCall, blockingRoundTrips, latencyP50Ms, latencyWithDelayP50Ms });
      log(
        `  ${mode}: per tool call ${JSON.stringify(callsPerToolCall)} stub calls, ${blockingRoundTrips} blocking (p50 ${latencyP50Ms.toFixed(2)} → ${latencyWithDelayP50Ms.toFixed(2)} ms with +${INJECTED_DELAY_MS} ms per stub call)`,
      );
    }

    const admissions: AdmissionRun[] = [];
    for (const rateLimit of [false, true]) {
      for (const concurrency of [1, 32]) {
        const res = await fetch(
          `${base}/__bench/admissions?vendor=benchapi&seconds=${admissionSeconds}&concurrency=${concurrency}&rateLimit=${rateLimit ? 1 : 0}`,
        );
        const run = (await res.json()) as AdmissionRun;
        admissions.push({
          concurrency,
          rateLimit,
          perSecond: run.perSecond,
          p50Ms: run.p50Ms,
          p99Ms: run.p99Ms,
          seconds: run.seconds,
        });
        log(
          `  admissions c=${concurrency}${rateLimit ? " +bucket" : ""}: ${run.perSecond.toFixed(0)}/s (p50 ${run.p50Ms} ms)`,
        );
      }
    }
    return {
      runs,
      blockingRoundTrips: Math.max(...runs.map((r) => r.blockingRoundTrips)),
      injectedDelayMs: INJECTED_DELAY_MS,
      admissions,
    };
  } finally {
    await host.stop();
    await upstream.stop();
  }
}
