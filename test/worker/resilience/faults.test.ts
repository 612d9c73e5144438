/**
 * Fault injection end to end: MCP `tools/call` into the Worker → executor →
 * vendor guard (Durable Object) → retries → a real local upstream answering
 * with each fault (test/support/fault-upstream.ts). For each fault: the exact
 * number of upstream attempts, the tool result, the breaker state and
 * `/health/vendors`. Every request gets its own manual clock (GATEWAY_TEST_CLOCK):
 * backoff waits are skipped, and a timeout (the 0.3 s UPSTREAM_TIMEOUT, the guard's
 * admission timeout) fires only when a test moves the clock, so a busy machine cannot
 * make one fire.
 */

import {
  createExecutionContext,
  createScheduledController,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { VendorGuard } from "../../../src/resilience/vendor-guard.ts";
import worker from "../../../src/worker.ts";
import { withManualClocks } from "../../support/clocks.ts";
import { readJsonRpc } from "../mcp/helpers.ts";
import { startRequest, timeOutEachAttempt, toolsCallInit } from "./support.ts";

const upstream = inject("faultUpstreamUrl");
const VENDORS = ["faulty", "faulty-strict", "refused"] as const;
type Vendor = (typeof VENDORS)[number];

function guard(vendor: Vendor) {
  return env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName(vendor));
}

/** The clocks the Worker makes for this test's requests (one per tool call, one per vendor snapshot). */
const { env: testEnv, clocks } = withManualClocks(env);

/** One request into the Worker entry with `testEnv`; answers once its waitUntil work (guard reports) is done. */
async function gateway(path: string, init?: RequestInit): Promise<Response> {
  const { response, done } = startRequest(testEnv, path, init);
  await done;
  return response;
}

beforeEach(async () => {
  clocks.length = 0;
  for (const vendor of VENDORS) {
    const stub = guard(vendor);
    await runInDurableObject(stub, (instance: VendorGuard) => {
      instance.now = () => Date.now();
      instance.reset();
    });
  }
});

let n = 0;
const freshKey = () => `e2e-${++n}-${crypto.randomUUID().slice(0, 8)}`;

async function attempts(
  key: string,
): Promise<{ count: number; attempts: { method: string; idempotencyKey: string | null }[] }> {
  return (await fetch(`${upstream}/_control/attempts/${key}`)).json();
}

interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: unknown;
}

/** One tools/call through the vendor's MCP endpoint; asserts it is a JSON-RPC result, never a protocol error. */
async function callTool(
  vendor: Vendor,
  tool: string,
  args: Record<string, unknown>,
  drive?: () => Promise<void>,
): Promise<ToolResult> {
  const responding = gateway(`/v1/${vendor}/mcp`, toolsCallInit(tool, args));
  await drive?.();
  const res = await responding;
  expect(res.status).toBe(200);
  const body = await readJsonRpc(res);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

function errorBody(result: ToolResult): Record<string, unknown> {
  expect(result.isError).toBe(true);
  return JSON.parse(result.content[0]!.text);
}

async function health(): Promise<Record<string, Record<string, unknown>>> {
  const res = await gateway("/health/vendors");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { vendors: Record<string, Record<string, unknown>> };
  return body.vendors;
}

/** `getFault`; with `hangingAttempts`, each of that many attempts times out once the upstream has it. */
async function getFault(mode: string, vendor: Vendor = "faulty", hangingAttempts = 0) {
  const key = freshKey();
  const drive = () => timeOutEachAttempt(key, hangingAttempts, 300, () => clocks);
  const result = await callTool(vendor, "getFault", { key, mode }, hangingAttempts > 0 ? drive : undefined);
  return { key, result, upstreamAttempts: (await attempts(key)).count };
}

describe("fault injection through tools/call", () => {
  it.each([500, 502, 503, 504])(
    "%i: retried MAX_RETRIES times (4 attempts), then the upstream error",
    async (code) => {
      const { result, upstreamAttempts } = await getFault(`status-${code}`);
      expect(upstreamAttempts).toBe(4);
      expect(errorBody(result)).toMatchObject({
        error: "upstream_error",
        status: code,
        vendor: "faulty",
        tool: "getFault",
        message: `fault ${code}`,
      });
      const h = (await health()).faulty!;
      expect(h).toMatchObject({
        status: "degraded",
        breaker: { state: "closed", consecutiveFailures: 4 },
        consecutiveFailures: 4,
        lastError: { kind: "server_error", status: code, message: `upstream answered ${code}` },
        lastSuccessAt: null,
      });
    },
  );

  it("429 with Retry-After: waits what the upstream asks, 4 attempts", async () => {
    const { result, upstreamAttempts } = await getFault("retry-after-429-2");
    expect(upstreamAttempts).toBe(4);
    expect(errorBody(result)).toMatchObject({ error: "upstream_error", status: 429, retryAfterSeconds: 2 });
    expect((await health()).faulty).toMatchObject({
      breaker: { state: "closed", consecutiveFailures: 4 },
      lastError: { kind: "rate_limited", status: 429 },
    });
  });

  it("429 with a Retry-After past TOOL_EXECUTION_TIMEOUT: one attempt, a tool error saying when to retry", async () => {
    const before = Date.now();
    const { result, upstreamAttempts } = await getFault("retry-after-429-3600");
    expect(upstreamAttempts).toBe(1);
    const body = errorBody(result);
    expect(body).toMatchObject({ error: "retry_later", status: 429, vendor: "faulty", tool: "getFault" });
    expect(String(body.message)).toMatch(/Retry at \d{4}-\d{2}-\d{2}T/);
    expect(Date.parse(String(body.retryAt))).toBeGreaterThanOrEqual(before + 3_599_000);
    expect((await health()).faulty).toMatchObject({ breaker: { consecutiveFailures: 1 } });
  });

  it("an HTML 5xx page: retried, and the result carries the status and title, never the HTML", async () => {
    const { result, upstreamAttempts } = await getFault("html-502");
    expect(upstreamAttempts).toBe(4);
    const body = errorBody(result);
    expect(body).toMatchObject({ error: "upstream_error", status: 502 });
    expect(String(body.message)).toContain("HTML error page");
    expect(result.content[0]!.text).not.toMatch(/<html|<body|<h1/i);
    expect((await health()).faulty).toMatchObject({ lastError: { kind: "server_error", status: 502 } });
  });

  it("malformed JSON (200): one attempt, the text as is, counted as drift in warn mode", async () => {
    const { result, upstreamAttempts } = await getFault("malformed");
    expect(upstreamAttempts).toBe(1);
    // getFault declares an outputSchema: text cannot be its structured content, so the text
    // comes back in an error result (MCP clients reject a success without structured content).
    expect(errorBody(result)).toMatchObject({ error: "output_schema_mismatch", data: '{"ok": tru' });
    const h = (await health()).faulty!;
    expect(h).toMatchObject({ status: "up", breaker: { state: "closed", consecutiveFailures: 0 } });
    expect(h.drift).toEqual({ total: 1, tools: { getFault: 1 } });
  });

  it("malformed JSON in strict mode: a tool error", async () => {
    const { result, upstreamAttempts } = await getFault("malformed", "faulty-strict");
    expect(upstreamAttempts).toBe(1);
    expect(errorBody(result)).toMatchObject({ error: "response_schema_mismatch", vendor: "faulty-strict" });
  });

  it("a hang past UPSTREAM_TIMEOUT: every attempt times out, then upstream_timeout", async () => {
    const { result, upstreamAttempts } = await getFault("hang", "faulty", 4);
    expect(upstreamAttempts).toBe(4);
    const body = errorBody(result);
    expect(body).toMatchObject({ error: "upstream_timeout", vendor: "faulty", attempts: 4 });
    expect(String(body.message)).toContain("UPSTREAM_TIMEOUT (0.3 s)");
    expect((await health()).faulty).toMatchObject({
      breaker: { consecutiveFailures: 4 },
      lastError: { kind: "timeout" },
    });
  });

  it("a body that stops after the headers: UPSTREAM_TIMEOUT ends it, and the guard hears a failure", async () => {
    const { result, upstreamAttempts } = await getFault("hang-body", "faulty", 1);
    // Not retried: the request may have been processed (the upstream answered 200).
    expect(upstreamAttempts).toBe(1);
    const body = errorBody(result);
    expect(body).toMatchObject({
      error: "upstream_timeout",
      status: 200,
      vendor: "faulty",
      tool: "getFault",
    });
    expect(String(body.message)).toContain("did not arrive within UPSTREAM_TIMEOUT (0.3 s)");
    expect((await health()).faulty).toMatchObject({
      breaker: { consecutiveFailures: 1 },
      lastError: { kind: "timeout", status: 200 },
      lastSuccessAt: null,
    });
  });

  it("connection refused: 4 attempts, upstream_unreachable", async () => {
    const result = await callTool("refused", "getFault", { key: freshKey(), mode: "ok" });
    expect(errorBody(result)).toMatchObject({
      error: "upstream_unreachable",
      vendor: "refused",
      attempts: 4,
    });
    expect((await health()).refused).toMatchObject({
      status: "degraded",
      breaker: { consecutiveFailures: 4 },
      lastError: { kind: "network_error" },
    });
  });

  it("a huge body: one attempt, truncated with a notice, the vendor stays up", async () => {
    const { result, upstreamAttempts } = await getFault("huge-20000000");
    expect(upstreamAttempts).toBe(1);
    // A cut body cannot be getFault's structured content: an error result with the part kept.
    const body = errorBody(result);
    expect(body.error).toBe("output_schema_mismatch");
    expect(String(body.data).length).toBe(100_000);
    expect(result.content[0]!.text.length).toBeLessThan(110_000);
    expect(String(body.message)).toMatch(/\[Response truncated: showing the first 100,000 /);
    expect((await health()).faulty).toMatchObject({ status: "up", breaker: { consecutiveFailures: 0 } });
  });

  it("a failing POST is not retried; with an idempotency key it is, with one key throughout", async () => {
    const key = freshKey();
    const plain = await callTool("faulty", "postFault", { key, mode: "status-500" });
    expect(errorBody(plain)).toMatchObject({ status: 500 });
    expect((await attempts(key)).count).toBe(1);

    const idemKey = freshKey();
    const idem = await callTool("faulty", "postFaultIdempotent", { key: idemKey, mode: "flaky-2-500" });
    expect(idem.isError).toBeFalsy();
    const seen = await attempts(idemKey);
    expect(seen.count).toBe(3);
    expect(new Set(seen.attempts.map((a) => a.idempotencyKey)).size).toBe(1);
    expect(seen.attempts[0]!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("circuit breaker end to end", () => {
  it("opens after 5 consecutive failures, fails fast naming the vendor and the retry time, shows down", async () => {
    await getFault("status-503"); // 4 failures
    const second = await getFault("status-503"); // the 5th opens it; its retry is refused
    expect(second.upstreamAttempts).toBe(1);
    expect(errorBody(second.result)).toMatchObject({ error: "circuit_open", vendor: "faulty" });

    const third = await getFault("ok");
    expect(third.upstreamAttempts).toBe(0);
    const body = errorBody(third.result);
    expect(body).toMatchObject({ error: "circuit_open", vendor: "faulty", tool: "getFault" });
    expect(String(body.message)).toMatch(/faulty is failing.*It will try again at \d{4}-/);
    const retryAt = Date.parse(String(body.retryAt));
    expect(retryAt).toBeGreaterThan(Date.now() + 55_000);

    const h = (await health()).faulty!;
    expect(h).toMatchObject({
      status: "down",
      breaker: { state: "open", consecutiveFailures: 5, timesOpened: 1 },
      consecutiveFailures: 5,
    });
    // The guard's clock and the Worker's may differ by the round trip.
    expect(Math.abs(Date.parse(String((h.breaker as { retryAt: string }).retryAt)) - retryAt)).toBeLessThan(
      1000,
    );
    // Other vendors are not affected.
    expect((await health())["faulty-strict"]).toMatchObject({ status: "up" });
  });

  it("after the timeout the alarm moves it to half-open; a successful probe closes it", async () => {
    await getFault("status-503");
    await getFault("status-503");
    expect((await health()).faulty).toMatchObject({ status: "down" });
    const stub = guard("faulty");
    await runInDurableObject(stub, (instance: VendorGuard) => {
      instance.now = () => Date.now() + 61_000;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await health()).faulty).toMatchObject({ status: "degraded", breaker: { state: "half_open" } });

    const probe = await getFault("ok");
    expect(probe.upstreamAttempts).toBe(1);
    expect(probe.result.isError).toBeFalsy();
    const h = (await health()).faulty!;
    expect(h).toMatchObject({ status: "up", breaker: { state: "closed", consecutiveFailures: 0 } });
    expect(h.lastSuccessAt).toEqual(expect.any(String));
  });

  it("a failed probe re-opens it without retrying", async () => {
    await getFault("status-503");
    await getFault("status-503");
    const stub = guard("faulty");
    await runInDurableObject(stub, (instance: VendorGuard) => {
      instance.now = () => Date.now() + 61_000;
    });
    const probe = await getFault("status-503");
    expect(probe.upstreamAttempts).toBe(1);
    expect(errorBody(probe.result)).toMatchObject({ error: "circuit_open" });
    expect((await health()).faulty).toMatchObject({
      status: "down",
      breaker: { state: "open", timesOpened: 2 },
    });
  });

  it("the health cron probes the vendor's healthTool through the guard", async () => {
    await getFault("status-503");
    expect((await health()).faulty).toMatchObject({ consecutiveFailures: 4 });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), testEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect((await health()).faulty).toMatchObject({ status: "up", consecutiveFailures: 0 });
  });
});

describe("response validation, sanitization and rate limiting per vendor", () => {
  it("warn mode returns drifted data and counts it; strict mode rejects it naming the mismatch", async () => {
    // A string where the output schema has a boolean is not structured content even under
    // warn (clients would reject it), so it is an error result that still carries the data.
    const warn = await getFault("drift");
    expect(errorBody(warn.result)).toMatchObject({ error: "output_schema_mismatch", data: { ok: "yes" } });
    const strict = await getFault("drift", "faulty-strict");
    const body = errorBody(strict.result);
    expect(body).toMatchObject({
      error: "response_schema_mismatch",
      vendor: "faulty-strict",
      tool: "getFault",
    });
    expect(String(body.message)).toMatch(/at \/ok: .*boolean/);
    const h = await health();
    expect(h.faulty!.drift).toEqual({ total: 1, tools: { getFault: 1 } });
    expect(h["faulty-strict"]!.drift).toEqual({ total: 0, tools: {} });
  });

  it("HIGH sanitization redacts secrets in success and error bodies", async () => {
    const ok = await getFault("secrets", "faulty-strict");
    expect(ok.result.isError).toBeFalsy();
    expect(JSON.parse(ok.result.content[0]!.text)).toEqual({
      ok: true,
      attempt: 1,
      user: {
        name: "ada",
        password: "[REDACTED]",
        apiKey: "[REDACTED]",
        session: { session_id: "[REDACTED]" },
      },
      access_token: "[REDACTED]",
    });
    expect(ok.result.content[0]!.text).not.toContain("hunter2");
    const failed = await getFault("secrets-400", "faulty-strict");
    const text = failed.result.content[0]!.text;
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("at-1");
    expect(errorBody(failed.result)).toMatchObject({
      status: 400,
      details: { user: { password: "[REDACTED]" }, access_token: "[REDACTED]" },
    });
    // The unsanitized vendor passes data through.
    const plain = await getFault("secrets");
    expect(plain.result.content[0]!.text).toContain("hunter2");
  });

  it("an enabled rate limiter lets calls wait for tokens instead of failing", async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => getFault("ok", "faulty-strict")));
    for (const r of results) {
      expect(r.result.isError).toBeFalsy();
      expect(r.upstreamAttempts).toBe(1);
    }
    const limiter = (await health())["faulty-strict"]!.rateLimiter as {
      enabled: boolean;
      burst: number;
      tokens: number;
    };
    expect(limiter).toMatchObject({ enabled: true, burst: 2, requestsPerSecond: 5 });
    expect(limiter.tokens).toBeLessThan(0); // two calls borrowed against future refill
    expect((await health()).faulty!.rateLimiter).toMatchObject({ enabled: false });
  });
});
