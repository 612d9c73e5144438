/**
 * Bench-only Worker entry: the gateway (src/worker.ts) unchanged, plus measurement hooks.
 * Never deployed; the throughput runs use the plain gateway build, this one answers the
 * questions that need a look inside the isolate:
 *
 * - `Server-Timing: gateway;dur=<ms>` on every answer: time inside the Worker from the
 *   request to the finished Response (JSON bodies are complete by then). workerd's clock
 *   advances during execution locally, so this is CPU + awaited I/O inside the isolate.
 * - Durable Object calls: every `VENDOR_GUARD` stub method call is counted
 *   (`GET /__bench/do-calls`, `POST /__bench/do-calls/reset`); header
 *   `x-bench-do-delay-ms` delays each stub call by that much, so the extra latency of a tool
 *   call reveals how many of those calls it waits for (blocking round trips); header
 *   `x-bench-no-lease: 1` serves the call on a clock that is one admission lease later at
 *   every reading (the gateway's clock seam, `GATEWAY_TEST_CLOCK`), so no lease outlives
 *   the call that got it: the worst case.
 * - `POST /__bench/search`: discovery searches timed inside the isolate, each repeated so that
 *   workerd's 1 ms clock resolution does not decide the per-query number (see {@link searches}).
 * - `GET /__bench/admissions?vendor=&seconds=&concurrency=&rateLimit=0|1`: admissions per
 *   second one vendor's guard object sustains, driven from inside the Worker through the
 *   gateway's own guard client on that clock (its `clock` option), so no lease answers in
 *   the object's place.
 */
import { getBundle } from "../../src/bundle/registry.ts";
import { type Clock, realClock } from "../../src/clock.ts";
import { loadSettings, vendorSettings } from "../../src/config.ts";
import { searchTools } from "../../src/mcp/discovery-index.ts";
import { memoized } from "../../src/memo.ts";
import { ADMISSION_LEASE_MS, guardClient } from "../../src/resilience/guard-client.ts";
import gateway from "../../src/worker.ts";

// The Durable Object classes wrangler binds (every one the gateway exports).
export * from "../../src/worker.ts";

/** Longest admissions run one request may ask for (a bench request must stay bounded). */
const MAX_ADMISSION_SECONDS = 10;
const MAX_ADMISSION_CONCURRENCY = 256;

const doCalls: Record<string, number> = {};
let doDelayMs = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function countingStub(stub: object): object {
  return new Proxy(stub, {
    get(target, prop) {
      const value = (target as Record<PropertyKey, unknown>)[prop];
      if (typeof prop !== "string" || typeof value !== "function" || prop === "then") return value;
      return async (...args: unknown[]) => {
        doCalls[prop] = (doCalls[prop] ?? 0) + 1;
        if (doDelayMs > 0) await sleep(doDelayMs);
        // Called as a method: an RPC method stub has no `apply` of its own (it would be an RPC call).
        return (target as Record<string, (...a: unknown[]) => unknown>)[prop]!(...args);
      };
    },
  });
}

function countingNamespace(ns: DurableObjectNamespace): DurableObjectNamespace {
  return new Proxy(ns, {
    get(target, prop) {
      const value = (target as unknown as Record<PropertyKey, unknown>)[prop];
      if (prop === "get") {
        return (...args: unknown[]) =>
          countingStub((value as (...a: unknown[]) => object).apply(target, args));
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

let leaps = 0;
/**
 * Real time, except that every reading is one admission lease later than the one before
 * (timers are real): a lease the guard client grants has ended by its next look.
 */
const leapingClock: Clock = { ...realClock, now: () => Date.now() + ++leaps * ADMISSION_LEASE_MS };

/** The instrumented env on {@link leapingClock}, one per env (its settings are parsed once). */
const noLeaseEnvs = new WeakMap<object, Env>();
function noLeaseEnv(env: Env): Env {
  return memoized(noLeaseEnvs, env, () => ({
    ...instrumentedEnv(env),
    // clock.ts honours GATEWAY_TEST_CLOCK only with GATEWAY_ENV=test; nothing else reads it.
    GATEWAY_ENV: "test",
    GATEWAY_TEST_CLOCK: leapingClock,
  }));
}

/** One wrapped env per real env object, so per-env caches (settings) keep working. */
const wrappedEnvs = new WeakMap<object, Env>();
function instrumentedEnv(env: Env): Env {
  let wrapped = wrappedEnvs.get(env);
  if (wrapped === undefined) {
    const guard = (env as unknown as { VENDOR_GUARD?: DurableObjectNamespace }).VENDOR_GUARD;
    wrapped = { ...env, ...(guard ? { VENDOR_GUARD: countingNamespace(guard) } : {}) } as Env;
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

async function admissions(url: URL, env: Env): Promise<Response> {
  const vendor = url.searchParams.get("vendor") ?? "";
  const bundle = getBundle(vendor);
  if (!bundle) return Response.json({ error: `unknown vendor ${vendor}` }, { status: 404 });
  const seconds = Math.min(
    MAX_ADMISSION_SECONDS,
    Math.max(0.1, Number(url.searchParams.get("seconds") ?? "2")),
  );
  const concurrency = Math.min(
    MAX_ADMISSION_CONCURRENCY,
    Math.max(1, Number(url.searchParams.get("concurrency") ?? "32")),
  );
  const base = vendorSettings(loadSettings(env), bundle);
  const settings =
    url.searchParams.get("rateLimit") === "1"
      ? // A bucket so large it never refuses: the cost of the accounting, not of waiting.
        { ...base, rateLimitEnabled: true, rateLimitRequestsPerSecond: 1e9, rateLimitBurst: 1e9 }
      : base;
  // Measure the object itself: on the real clock, admissions after the first would ride the
  // isolate's admission lease and never reach it.
  const guard = guardClient(env, settings, { clock: leapingClock });
  let admitted = 0;
  let refused = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const admission = await guard.admit({ maxWaitMs: 1000, probeLeaseMs: 1000 });
        latencies.push(performance.now() - t0);
        if (admission.allowed) admitted++;
        else refused++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  return Response.json({
    vendor,
    concurrency,
    rateLimit: settings.rateLimitEnabled,
    seconds: elapsed,
    admitted,
    refused,
    perSecond: (admitted + refused) / elapsed,
    p50Ms: pct(50),
    p99Ms: pct(99),
  });
}

/** Most listing walks one request may ask for. */
const MAX_WALKS = 100;
/** Bytes at the end of a page searched for `nextCursor` (cursors are under 128 characters). */
const CURSOR_TAIL_BYTES = 512;
/** Most pages one walk follows (GitHub has 13 of 100 tools). */
const MAX_PAGES = 1000;

/**
 * `GET /__bench/walk?path=/v1/<vendor>/mcp&n=10`: the whole `tools/list` (every page,
 * following cursors) `n` times through the gateway's fetch handler, timed inside the
 * isolate. Averaging over whole walks beats workerd's 1 ms clock resolution per page.
 */
async function walk(url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  const path = url.searchParams.get("path") ?? "/v1/mcp";
  const n = Math.min(MAX_WALKS, Math.max(1, Number(url.searchParams.get("n") ?? "10")));
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18",
  };
  let pages = 0;
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
        params: cursor ? { cursor } : {},
      });
      const response = await gateway.fetch(
        new Request(new URL(path, url), { method: "POST", headers, body }) as Parameters<
          typeof gateway.fetch
        >[0],
        instrumentedEnv(env),
        ctx,
      );
      // The whole body is produced (as a client would receive it), but only its end is decoded:
      // the cursor sits at the end of the result, and decoding 200 KB pages would time the harness.
      const answer = new Uint8Array(await response.arrayBuffer());
      pages++;
      bytes += answer.byteLength;
      const tail = new TextDecoder().decode(
        answer.subarray(Math.max(0, answer.byteLength - CURSOR_TAIL_BYTES)),
      );
      cursor = /"nextCursor":"([^"]+)"/.exec(tail)?.[1];
      if (cursor === undefined) break;
    }
  }
  const ms = performance.now() - started;
  return Response.json({
    path,
    walks: n,
    msPerWalk: ms / n,
    pagesPerWalk: pages / n,
    bytesPerWalk: bytes / n,
  });
}

/** Most queries, and repeats of each, one `/__bench/search` request may ask for. */
const MAX_SEARCH_QUERIES = 500;
const MAX_SEARCH_REPEATS = 200;
/** Each query's repeats run in this many batches; its time is the median batch's mean (a preempted batch does not count). */
const SEARCH_BATCHES = 5;

/**
 * `POST /__bench/search` with `{ vendor, queries, limit, repeat }`: every query once as a
 * `tools/call` of the discovery `search` tool through the gateway's fetch handler (the first
 * pass: each query's words are new to the isolate's caches), then each query `repeat` more times
 * in {@link SEARCH_BATCHES} batches. workerd's clock moves in whole milliseconds, so one
 * sub-millisecond call reads 0 or 1 ms (or 2, when it straddles two ticks): a query's time is
 * the median of its batches' means, and the first pass is reported as its mean. `engineMs`
 * times the engine alone (`searchTools`, no MCP request) the same way.
 */
async function searches(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const input = (await request.json()) as {
    vendor: string;
    queries: string[];
    limit: number;
    repeat: number;
  };
  const queries = input.queries.slice(0, MAX_SEARCH_QUERIES);
  const repeat = Math.min(MAX_SEARCH_REPEATS, Math.max(1, input.repeat));
  const bundle = getBundle(input.vendor);
  if (!bundle) return Response.json({ error: `unknown vendor ${input.vendor}` }, { status: 404 });
  const call = async (query: string) => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "search", arguments: { query, limit: input.limit } },
    });
    const response = await gateway.fetch(
      new Request(new URL(`/v1/${input.vendor}/mcp`, request.url), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-06-18",
        },
        body,
      }) as Parameters<typeof gateway.fetch>[0],
      instrumentedEnv(env),
      ctx,
    );
    await response.arrayBuffer();
  };
  const firstStarted = performance.now();
  for (const query of queries) await call(query);
  const firstPassMs = performance.now() - firstStarted;
  const perBatch = Math.max(1, Math.floor(repeat / SEARCH_BATCHES));
  const medianBatch = async (run: () => unknown): Promise<number> => {
    const means: number[] = [];
    for (let b = 0; b < SEARCH_BATCHES; b++) {
      const started = performance.now();
      for (let i = 0; i < perBatch; i++) await run();
      means.push((performance.now() - started) / perBatch);
    }
    return means.sort((x, y) => x - y)[Math.floor(SEARCH_BATCHES / 2)] as number;
  };
  const requestMs: number[] = [];
  const engineMs: number[] = [];
  for (const query of queries) {
    requestMs.push(await medianBatch(() => call(query)));
    engineMs.push(await medianBatch(() => searchTools(bundle, { query, limit: input.limit })));
  }
  return Response.json({
    queries: queries.length,
    repeat: perBatch * SEARCH_BATCHES,
    firstPassMeanMs: firstPassMs / queries.length,
    requestMs,
    engineMs,
  });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/do-calls") {
      if (request.method === "POST") for (const key of Object.keys(doCalls)) delete doCalls[key];
      return Response.json(doCalls);
    }
    if (url.pathname === "/__bench/admissions") return admissions(url, env);
    if (url.pathname === "/__bench/walk") return walk(url, env, ctx);
    if (url.pathname === "/__bench/search" && request.method === "POST") return searches(request, env, ctx);
    doDelayMs = Number(request.headers.get("x-bench-do-delay-ms") ?? "0") || 0;
    // The worst case for round trips: no isolate lease, so the call must ask the guard.
    const callEnv = request.headers.get("x-bench-no-lease") === "1" ? noLeaseEnv(env) : instrumentedEnv(env);
    const started = performance.now();
    const response = await gateway.fetch(request as Parameters<typeof gateway.fetch>[0], callEnv, ctx);
    const dur = performance.now() - started;
    const headers = new Headers(response.headers);
    headers.set("server-timing", `gateway;dur=${dur.toFixed(3)}`);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  },
} satisfies ExportedHandler<Env>;
