/**
 * `/admin/metrics` and `/metrics` (src/status/metrics-routes.ts) after real tool calls through
 * `/v1/mcp` into the fault upstream (test/support/fault-upstream.ts): the counts equal the calls
 * made, 32 at once; windows and latencies follow the injected clock; the Prometheus text parses
 * and its counters never go down, pruning or not; who may see what.
 */
import {
  createExecutionContext,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { VendorMetricsSnapshot, VendorMetricsTotals } from "../../../src/ops/metrics-types.ts";
import type { VendorMetrics } from "../../../src/ops/vendor-metrics.ts";
import type { VendorGuard } from "../../../src/resilience/vendor-guard.ts";
import { prometheusText } from "../../../src/status/metrics-routes.ts";
import worker from "../../../src/worker.ts";
import { manualClock } from "../../support/clocks.ts";
import { authEnv, Browser, gatewayFetch } from "../auth/helpers.ts";
import { readJsonRpc } from "../mcp/helpers.ts";
import { startRequest, toolsCallInit } from "../resilience/support.ts";

/** No retries and a breaker that never opens: every call's outcome is the fault it asked for. */
const callEnv = { ...env, MAX_RETRIES: "0", CIRCUIT_BREAKER_FAILURE_THRESHOLD: "1000" };

const metrics = () => env.VENDOR_METRICS.get(env.VENDOR_METRICS.idFromName("faulty"));

beforeEach(async () => {
  await runInDurableObject(metrics(), (instance: VendorMetrics) => {
    instance.now = () => Date.now();
    instance.reset();
  });
  await runInDurableObject(env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName("faulty")), (g: VendorGuard) =>
    g.reset(),
  );
});

let n = 0;
const freshKey = () => `metrics-${++n}-${crypto.randomUUID().slice(0, 8)}`;

/** One tools/call through /v1/mcp; resolves once its waitUntil work (the metrics write) is done. */
async function callTool(testEnv: object, tool: string, mode: string): Promise<{ isError?: boolean }> {
  const { response, done } = startRequest(testEnv, "/v1/mcp", toolsCallInit(tool, { key: freshKey(), mode }));
  await done;
  const body = await readJsonRpc(await response);
  expect(body.error).toBeUndefined();
  return body.result as { isError?: boolean };
}

/** A request to an operator route on loopback (auth off: open there only). */
async function operator(testEnv: object, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`http://127.0.0.1${path}`, init) as Parameters<typeof worker.fetch>[0],
    testEnv as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

async function faultyMetrics(testEnv: object = callEnv): Promise<VendorMetricsSnapshot> {
  const res = await operator(testEnv, "/admin/metrics?vendor=faulty");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { vendors: VendorMetricsSnapshot[]; unavailable: unknown[] };
  expect(body.unavailable).toEqual([]);
  expect(body.vendors.map((v) => v.vendor)).toEqual(["faulty"]);
  return body.vendors[0]!;
}

function toolOutcomes(snapshot: VendorMetricsSnapshot, window: "hour" | "day") {
  return Object.fromEntries(snapshot.tools.map((t) => [t.tool, t[window].outcomes]));
}

// --- A tiny parser of the text exposition format 0.0.4 ---------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

/** Parses every line by the format's grammar; throws on any line that breaks it. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith("\n")).toBe(true);
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
    if (meta) {
      expect(meta[2]).toMatch(METRIC_NAME);
      if (meta[1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(meta[3]);
        expect(types.has(meta[2]!), `one TYPE line for ${meta[2]}`).toBe(false);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? "";
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (l === null) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const value = m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3]);
    expect(Number.isNaN(value), line).toBe(false);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(m[1]!) || types.has(family), `TYPE before ${m[1]}`).toBe(true);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

async function scrape(testEnv: object = callEnv): Promise<Sample[]> {
  const res = await operator(testEnv, "/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(await res.text()).samples;
}

function counter(samples: Sample[], labels: Record<string, string>): number | undefined {
  return samples.find(
    (s) =>
      s.name === "mcp_gateway_tool_calls_total" &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

describe("metrics equal the calls made", () => {
  it("32 concurrent tool calls with mixed outcomes: every count per tool and outcome is exact", async () => {
    const plan: [tool: string, mode: string, count: number][] = [
      ["faulty_getFault", "ok", 11],
      ["faulty_getFault", "status-404", 7],
      ["faulty_getFault", "status-503", 5],
      ["faulty_postFault", "ok", 4],
      ["faulty_postFault", "status-500", 5],
    ];
    const calls = plan.flatMap(([tool, mode, count]) =>
      Array.from({ length: count }, () => [tool, mode] as const),
    );
    expect(calls).toHaveLength(32);
    const results = await Promise.all(calls.map(([tool, mode]) => callTool(callEnv, tool, mode)));
    expect(results.filter((r) => r.isError === true)).toHaveLength(17);

    const snapshot = await faultyMetrics();
    const expected = {
      getFault: { ok: 11, tool_error: 7, upstream_error: 5 },
      postFault: { ok: 4, upstream_error: 5 },
    };
    expect(toolOutcomes(snapshot, "hour")).toEqual(expected);
    expect(toolOutcomes(snapshot, "day")).toEqual(expected);
    expect(snapshot.hour).toMatchObject({ calls: 32, errors: 10 });
    expect(snapshot.hour.outcomes).toEqual({ ok: 15, tool_error: 7, upstream_error: 10 });
    expect(snapshot.hour.buckets.reduce((sum, b) => sum + b.calls, 0)).toBe(32);
    expect(snapshot.recentFailures).toHaveLength(10);
    expect(snapshot.recentFailures[0]).toMatchObject({
      outcome: "upstream_error",
      errorCode: "upstream_error",
    });

    // The Prometheus counters say the same.
    const samples = await scrape();
    expect(counter(samples, { vendor: "faulty", tool: "getFault", outcome: "ok" })).toBe(11);
    expect(counter(samples, { vendor: "faulty", tool: "getFault", outcome: "tool_error" })).toBe(7);
    expect(counter(samples, { vendor: "faulty", tool: "postFault", outcome: "upstream_error" })).toBe(5);
  });
});

describe("windows and latencies on the injected clock", () => {
  it("a call in minute 0 and one in minute 61: the hour window drops the first, the day keeps both", async () => {
    // Minute-aligned, so "minute 0" and "minute 61" are what they say.
    const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000);
    const clocked = { ...callEnv, GATEWAY_TEST_CLOCK: clock };
    await callTool(clocked, "faulty_getFault", "ok");
    clock.advance(61 * 60_000);
    await callTool(clocked, "faulty_getFault", "status-503");
    const snapshot = await faultyMetrics(clocked);
    expect(snapshot.generatedAt).toBe(clock.now());
    expect(snapshot.hour).toMatchObject({ calls: 1, outcomes: { upstream_error: 1 } });
    expect(snapshot.day).toMatchObject({ calls: 2, outcomes: { ok: 1, upstream_error: 1 } });
    expect(snapshot.hour.buckets.at(-1)).toMatchObject({ start: clock.now(), calls: 1 });
  });

  it("percentiles from known latencies: each 429 retry waits Retry-After on the call's clock", async () => {
    const clock = manualClock();
    // Two retries, each after the upstream's Retry-After of 1 s: 2,000 ms per call, exactly.
    const clocked = { ...callEnv, MAX_RETRIES: "2", GATEWAY_TEST_CLOCK: clock };
    for (let i = 0; i < 4; i++) await callTool(clocked, "faulty_getFault", "ok");
    for (let i = 0; i < 4; i++) await callTool(clocked, "faulty_getFault", "retry-after-429-1");
    expect(clock.sleeps).toEqual(Array(8).fill(1_000));
    const snapshot = await faultyMetrics(clocked);
    expect(snapshot.hour.outcomes).toEqual({ ok: 4, rate_limited: 4 });
    // 4 calls in (0, 1] ms, 4 in (1000, 2000]: p50 ends the first bucket; p95 and p99 are
    // 3.6 and 3.92 of 4 into the second (histogram_quantile's interpolation).
    expect(snapshot.hour).toMatchObject({ p50Ms: 1, p95Ms: 1_900, p99Ms: 1_980 });
    expect(snapshot.tools).toEqual([
      expect.objectContaining({
        tool: "getFault",
        hour: expect.objectContaining({ p50Ms: 1, p99Ms: 1_980 }),
      }),
    ]);
    const samples = await scrape(clocked);
    const series = (suffix: string, le?: string) =>
      samples.find(
        (s) =>
          s.name === `mcp_gateway_tool_call_duration_seconds${suffix}` &&
          s.labels.tool === "getFault" &&
          s.labels.vendor === "faulty" &&
          (le === undefined || s.labels.le === le),
      )?.value;
    expect(series("_sum")).toBe(8);
    expect(series("_count")).toBe(8);
    expect(series("_bucket", "0.001")).toBe(4);
    expect(series("_bucket", "1")).toBe(4);
    expect(series("_bucket", "2")).toBe(8);
    expect(series("_bucket", "+Inf")).toBe(8);
  });
});

describe("Prometheus output", () => {
  it("parses, has HELP and TYPE for every family, cumulative buckets, and breaker gauges", async () => {
    await callTool(callEnv, "faulty_getFault", "ok");
    await callTool(callEnv, "faulty_getFault", "status-502");
    const res = await operator(callEnv, "/metrics");
    const { samples, types } = parsePrometheus(await res.text());
    expect(Object.fromEntries(types)).toEqual({
      mcp_gateway_tool_calls_total: "counter",
      mcp_gateway_tool_call_duration_seconds: "histogram",
      mcp_gateway_metrics_available: "gauge",
      mcp_gateway_circuit_breaker_state: "gauge",
      mcp_gateway_circuit_breaker_consecutive_failures: "gauge",
    });
    const buckets = samples.filter(
      (s) => s.name === "mcp_gateway_tool_call_duration_seconds_bucket" && s.labels.vendor === "faulty",
    );
    expect(buckets.map((s) => s.labels.le)).toEqual([
      ...["0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5"],
      ...["1", "2", "5", "10", "30", "90", "+Inf"],
    ]);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.value).toBe(2);
    const gauge = (name: string) =>
      samples.find((s) => s.name === name && s.labels.vendor === "faulty")?.value;
    expect(gauge("mcp_gateway_circuit_breaker_state")).toBe(0);
    expect(gauge("mcp_gateway_circuit_breaker_consecutive_failures")).toBe(1);
    expect(gauge("mcp_gateway_metrics_available")).toBe(1);
  });

  it("escapes label values: backslash, double quote and line feed", () => {
    const totals: VendorMetricsTotals = {
      vendor: 'we"ird\\ven\ndor',
      boundsMs: [1],
      calls: [{ tool: "t", outcome: "ok", count: 3 }],
      latency: [{ tool: "t", buckets: [3, 0], sumMs: 1.5, count: 3 }],
    };
    const text = prometheusText([totals], [], []);
    expect(text).toContain(
      'mcp_gateway_tool_calls_total{vendor="we\\"ird\\\\ven\\ndor",tool="t",outcome="ok"} 3',
    );
    const { samples } = parsePrometheus(text);
    expect(samples[0]!.labels.vendor).toBe('we"ird\\ven\ndor');
    expect(samples.find((s) => s.name.endsWith("_sum"))?.value).toBe(0.0015);
  });

  it("counters never go down: pruning every slot leaves them, the next call adds one", async () => {
    await callTool(callEnv, "faulty_getFault", "ok");
    await callTool(callEnv, "faulty_getFault", "ok");
    const before = counter(await scrape(), { vendor: "faulty", tool: "getFault", outcome: "ok" });
    expect(before).toBe(2);
    // Two days on, the alarm deletes every minute and hour slot.
    await runInDurableObject(metrics(), (instance: VendorMetrics) => {
      instance.now = () => Date.now() + 48 * 3_600_000;
    });
    expect(await runDurableObjectAlarm(metrics())).toBe(true);
    expect((await faultyMetrics()).day.calls).toBe(0);
    expect(counter(await scrape(), { vendor: "faulty", tool: "getFault", outcome: "ok" })).toBe(2);
    await callTool(callEnv, "faulty_getFault", "ok");
    expect(counter(await scrape(), { vendor: "faulty", tool: "getFault", outcome: "ok" })).toBe(3);
  });
});

describe("a metrics write that fails", () => {
  it("sends the samples of calls that end while a write is in flight together in the next write", async () => {
    // The first write is held until every call has answered: the other 31 samples queue behind it.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sizes: number[] = [];
    const held = {
      idFromName: (name: string) => env.VENDOR_METRICS.idFromName(name),
      get: (id: DurableObjectId) => ({
        record: async (samples: unknown[]) => {
          sizes.push(samples.length);
          if (sizes.length === 1) await gate;
          return (env.VENDOR_METRICS.get(id) as unknown as { record(s: unknown[]): Promise<number> }).record(
            samples,
          );
        },
      }),
    };
    const testEnv = { ...callEnv, VENDOR_METRICS: held };
    const calls = Array.from({ length: 32 }, () =>
      startRequest(testEnv, "/v1/mcp", toolsCallInit("faulty_getFault", { key: freshKey(), mode: "ok" })),
    );
    await Promise.all(calls.map(async ({ response }) => readJsonRpc(await response)));
    release();
    await Promise.all(calls.map(({ done }) => done));
    // Every call's sample was sent, in two writes instead of 32.
    expect(sizes).toEqual([1, 31]);
  });

  it("logs one metrics_write_failed line and still answers the call", async () => {
    const clock = manualClock();
    const stuck = {
      idFromName: (name: string) => env.VENDOR_METRICS.idFromName(name),
      // An object that never answers: the write gives up after 2 s on the call's clock.
      get: () => ({ record: () => new Promise(() => {}) }),
    };
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const testEnv = { ...callEnv, VENDOR_METRICS: stuck, GATEWAY_TEST_CLOCK: clock };
      const { response, done } = startRequest(
        testEnv,
        "/v1/mcp",
        toolsCallInit("faulty_getFault", { key: freshKey(), mode: "ok" }),
      );
      const body = await readJsonRpc(await response);
      expect(body.result).toBeDefined();
      clock.advance(2_000);
      await done;
      const lines = warn.mock.calls
        .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
        .filter((line) => line.event === "metrics_write_failed");
      expect(lines).toEqual([
        expect.objectContaining({
          level: "warn",
          event: "metrics_write_failed",
          vendor: "faulty",
          requestId: expect.any(String),
          traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
          error: expect.stringContaining("did not answer within 2000 ms"),
        }),
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});

describe("who sees the metrics", () => {
  const OPS_TOKEN = "ops-token-for-metrics-tests-0123456789";

  it("auth off: open on loopback, not found elsewhere; other methods get a JSON 405", async () => {
    expect((await operator(callEnv, "/admin/metrics")).status).toBe(200);
    const ctx = createExecutionContext();
    const away = await worker.fetch(
      new Request("http://gateway.test/metrics") as Parameters<typeof worker.fetch>[0],
      callEnv as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(away.status).toBe(404);
    expect(await away.json()).toMatchObject({ error: { code: "not_found" } });
    const post = await operator(callEnv, "/metrics", { method: "POST" });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });

  it("the OPS_TOKEN bearer sees every vendor; no or a wrong token gets a JSON 401", async () => {
    const testEnv = await authEnv({ OPS_TOKEN });
    const none = await gatewayFetch(testEnv, "/admin/metrics");
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: "unauthorized" } });
    const wrong = await gatewayFetch(testEnv, "/metrics", { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const right = await gatewayFetch(testEnv, "/admin/metrics", {
      headers: { authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(right.status).toBe(200);
    const vendors = ((await right.json()) as { vendors: { vendor: string }[] }).vendors.map((v) => v.vendor);
    expect(vendors).toContain("faulty");
    expect(vendors).toContain("auth-key");
    const unknown = await gatewayFetch(testEnv, "/admin/metrics?vendor=nope", {
      headers: { authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(unknown.status).toBe(404);
  });

  it("a team member sees only the team's vendors, in JSON and Prometheus; no team and no admin: 403", async () => {
    const testEnv = await authEnv({ OPS_TOKEN });
    const carol = new Browser(testEnv);
    await carol.signIn("carol");
    const json = await carol.fetch("/admin/metrics");
    expect(json.status).toBe(200);
    expect(((await json.json()) as { vendors: { vendor: string }[] }).vendors.map((v) => v.vendor)).toEqual([
      "auth-key",
    ]);
    const text = await (await carol.fetch("/metrics")).text();
    const vendors = new Set(parsePrometheus(text).samples.map((s) => s.labels.vendor));
    expect([...vendors]).toEqual(["auth-key"]);
    const other = await carol.fetch("/admin/metrics?vendor=faulty");
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: { code: "forbidden" } });

    const alice = new Browser(testEnv);
    await alice.signIn("alice");
    const all = (await (await alice.fetch("/admin/metrics")).json()) as { vendors: { vendor: string }[] };
    expect(all.vendors.map((v) => v.vendor)).toContain("faulty");

    const dave = new Browser(testEnv);
    await dave.signIn("dave");
    expect((await dave.fetch("/metrics")).status).toBe(403);
  });
});
