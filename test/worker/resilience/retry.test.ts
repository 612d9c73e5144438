import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type { HttpMethod, VendorResilienceConfig } from "../../../src/bundle/types.ts";
import { loadSettings, type VendorSettings, vendorSettings } from "../../../src/config.ts";
import { guardClient } from "../../../src/resilience/guard-client.ts";
import {
  backoffMs,
  parseRetryAfter,
  type ResilientResult,
  resilientFetch,
} from "../../../src/resilience/retry.ts";
import { bareBundle } from "../../support/bare-bundle.ts";
import { type ManualClock, manualClock } from "../../support/clocks.ts";
import { timeOutEachAttempt } from "./support.ts";

const upstream = inject("faultUpstreamUrl");
const refused = inject("refusedUpstreamUrl");

let n = 0;
const unique = (what: string) => `${what}-${++n}-${crypto.randomUUID().slice(0, 8)}`;

function settingsFor(vendor: string, resilience: VendorResilienceConfig = {}): VendorSettings {
  return vendorSettings(loadSettings({}), bareBundle(vendor, { resilience }));
}

async function attemptsOf(
  key: string,
): Promise<{ count: number; attempts: { method: string; idempotencyKey: string | null }[] }> {
  const res = await fetch(`${upstream}/_control/attempts/${key}`);
  return res.json();
}

interface CallOptions {
  mode: string;
  method?: HttpMethod;
  resilience?: VendorResilienceConfig;
  idempotencyKeyHeader?: string;
  baseUrl?: string;
  vendor?: string;
  deadlineMs?: number;
  /** Runs while the call is in flight (to move its clock). */
  drive?: (clock: ManualClock, key: string) => Promise<void>;
}

/**
 * One tool call through resilientFetch against the real fault upstream, on a manual clock:
 * waits are skipped and no timeout fires unless `drive` moves the clock.
 */
async function call(opts: CallOptions) {
  const key = unique("k");
  const vendor = opts.vendor ?? unique("vendor");
  const settings = settingsFor(vendor, opts.resilience);
  const clock = manualClock(Date.now());
  const pending: Promise<unknown>[] = [];
  const method = opts.method ?? "GET";
  const running: Promise<ResilientResult<Response>> = resilientFetch({
    env,
    settings,
    tool: {
      name: "fault",
      method,
      ...(opts.idempotencyKeyHeader ? { idempotencyKeyHeader: opts.idempotencyKeyHeader } : {}),
    },
    deadline: clock.now() + (opts.deadlineMs ?? settings.toolExecutionTimeoutSeconds * 1000),
    waitUntil: (p) => pending.push(p),
    clock,
    random: () => 0.5,
    send: ({ signal, headers }) =>
      fetch(`${opts.baseUrl ?? upstream}/faults/${key}/${opts.mode}`, {
        method,
        signal,
        headers: { ...headers, "content-type": "application/json" },
        ...(method === "GET" ? {} : { body: "{}" }),
      }),
  });
  await opts.drive?.(clock, key);
  const result = await running;
  await Promise.all(pending);
  const snapshot = await guardClient(env, settings, { clock }).snapshot();
  return { key, vendor, settings, clock, result, snapshot };
}

describe("backoff and Retry-After", () => {
  it("full jitter: the first retry waits up to factor^1 s, the next up to factor^2 s, capped", () => {
    expect(backoffMs(1, 2, () => 0.999)).toBe(1998);
    expect(backoffMs(2, 2, () => 0.999)).toBe(3996);
    expect(backoffMs(3, 2, () => 0)).toBe(0);
    expect(backoffMs(10, 10, () => 0.5)).toBe(30_000);
  });

  it("parses Retry-After as seconds or as an HTTP date", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("resilientFetch against a real upstream", () => {
  it("retries a 503 MAX_RETRIES times with growing jittered waits, then returns the last answer", async () => {
    const { key, result, clock, snapshot } = await call({ mode: "status-503" });
    expect((await attemptsOf(key)).count).toBe(4);
    expect(result.kind).toBe("response");
    if (result.kind !== "response") return;
    expect(result.attempts).toBe(4);
    expect(result.response.status).toBe(503);
    expect(await result.response.json()).toEqual({ error: "fault 503", attempt: 4 });
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
    expect(snapshot.breaker).toMatchObject({ state: "closed", consecutiveFailures: 4 });
    expect(snapshot.lastError).toMatchObject({ kind: "server_error", status: 503 });
  });

  it.each([500, 502, 504])("retries %i", async (status) => {
    const { key, result } = await call({ mode: `flaky-2-${status}` });
    expect((await attemptsOf(key)).count).toBe(3);
    expect(result).toMatchObject({ kind: "response", attempts: 3 });
  });

  it("a success after failures resets the breaker's count", async () => {
    const { result, snapshot } = await call({ mode: "flaky-2-502" });
    expect(result.kind === "response" && result.response.status).toBe(200);
    expect(snapshot.breaker.consecutiveFailures).toBe(0);
    expect(snapshot.counters).toMatchObject({ failures: 2, successes: 1, admitted: 3 });
  });

  it("does not retry other 4xx, and they do not count against the vendor", async () => {
    const { key, result, snapshot } = await call({ mode: "status-404" });
    expect((await attemptsOf(key)).count).toBe(1);
    expect(result.kind === "response" && result.response.status).toBe(404);
    expect(snapshot.breaker.consecutiveFailures).toBe(0);
  });

  it("MAX_RETRIES=0 disables retries", async () => {
    const { key, result } = await call({ mode: "status-503", resilience: { maxRetries: 0 } });
    expect((await attemptsOf(key)).count).toBe(1);
    expect(result).toMatchObject({ kind: "response", attempts: 1 });
  });

  it("honours Retry-After in seconds on 429", async () => {
    const { key, clock, result } = await call({ mode: "retry-after-429-3" });
    expect((await attemptsOf(key)).count).toBe(4);
    expect(clock.sleeps).toEqual([3000, 3000, 3000]);
    expect(result.kind === "response" && result.response.status).toBe(429);
  });

  it("honours Retry-After as an HTTP date", async () => {
    const { key, clock } = await call({ mode: "retry-after-date-503-5", resilience: { maxRetries: 1 } });
    expect((await attemptsOf(key)).count).toBe(2);
    expect(clock.sleeps).toHaveLength(1);
    // Second resolution of HTTP dates: between 4 and 5 s.
    expect(clock.sleeps[0]).toBeGreaterThan(3000);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(5000);
  });

  it("a Retry-After past the deadline ends the call with a tool error saying when to retry", async () => {
    const { key, clock, result } = await call({ mode: "retry-after-429-120" });
    expect((await attemptsOf(key)).count).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect(result.kind).toBe("failure");
    if (result.kind !== "failure") return;
    expect(result.failure.code).toBe("retry_later");
    expect(result.failure.status).toBe(429);
    const retryAt = Date.parse(result.failure.retryAt!);
    expect(Math.abs(retryAt - (clock.now() + 120_000))).toBeLessThan(2000);
    expect(result.failure.message).toMatch(
      /answered 429; waiting 120 s for its Retry-After would exceed TOOL_EXECUTION_TIMEOUT \(90 s\)\. Retry at \d{4}-/,
    );
  });

  it("a backoff that would not fit the remaining budget is not taken", async () => {
    // 3 s budget: the first retry waits 1 s (jitter 0.5 × 2 s), the second would wait 2 s and not fit.
    const { key, result, clock } = await call({ mode: "status-500", deadlineMs: 3000 });
    expect((await attemptsOf(key)).count).toBe(2);
    expect(clock.sleeps).toEqual([1000]);
    expect(result).toMatchObject({
      kind: "failure",
      attempts: 2,
      failure: { code: "retry_later", status: 500 },
    });
  });

  describe("non-idempotent methods", () => {
    it("POST is not retried on 500 (it may have been processed)", async () => {
      const { key, result } = await call({ mode: "status-500", method: "POST" });
      expect((await attemptsOf(key)).count).toBe(1);
      expect(result).toMatchObject({ kind: "response", attempts: 1 });
    });

    it("POST is retried on 429 and on 503 with Retry-After (provably not processed)", async () => {
      const a = await call({ mode: "retry-after-429-1", method: "POST" });
      expect((await attemptsOf(a.key)).count).toBe(4);
      const b = await call({ mode: "retry-after-503-1", method: "PATCH" });
      expect((await attemptsOf(b.key)).count).toBe(4);
      const c = await call({ mode: "status-503", method: "POST" });
      expect((await attemptsOf(c.key)).count).toBe(1);
    });

    it("POST with an idempotency key header is retried, with one fresh key on every attempt", async () => {
      const { key, result } = await call({
        mode: "flaky-2-500",
        method: "POST",
        idempotencyKeyHeader: "Idempotency-Key",
      });
      expect(result.kind === "response" && result.response.status).toBe(200);
      const seen = await attemptsOf(key);
      expect(seen.count).toBe(3);
      const keys = new Set(seen.attempts.map((a) => a.idempotencyKey));
      expect(keys.size).toBe(1);
      expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
      const again = await call({ mode: "ok", method: "POST", idempotencyKeyHeader: "Idempotency-Key" });
      expect((await attemptsOf(again.key)).attempts[0]?.idempotencyKey).not.toBe([...keys][0]);
    });
  });

  it("a hanging upstream times out per attempt (UPSTREAM_TIMEOUT) and is retried", async () => {
    const { key, result, snapshot } = await call({
      mode: "hang",
      resilience: { upstreamTimeoutSeconds: 0.2, maxRetries: 1 },
      drive: (clock, key) => timeOutEachAttempt(key, 2, 200, () => [clock]),
    });
    expect((await attemptsOf(key)).count).toBe(2);
    expect(result).toMatchObject({
      kind: "failure",
      attempts: 2,
      failure: {
        code: "upstream_timeout",
        message: expect.stringContaining("UPSTREAM_TIMEOUT (0.2 s) after 2 attempts"),
      },
    });
    expect(snapshot.lastError).toMatchObject({ kind: "timeout" });
    expect(snapshot.breaker.consecutiveFailures).toBe(2);
  });

  it("connection refused: GET is retried; the failure says the vendor was unreachable", async () => {
    const { result, snapshot, clock } = await call({ mode: "ok", baseUrl: refused });
    expect(result).toMatchObject({ kind: "failure", attempts: 4, failure: { code: "upstream_unreachable" } });
    expect(clock.sleeps).toHaveLength(3);
    expect(snapshot.breaker.consecutiveFailures).toBe(4);
    expect(snapshot.lastError).toMatchObject({ kind: "network_error" });
  });

  it("connection refused: POST is not retried (Workers cannot tell refused from dropped)", async () => {
    const { result } = await call({ mode: "ok", baseUrl: refused, method: "POST" });
    expect(result).toMatchObject({ kind: "failure", attempts: 1, failure: { code: "upstream_unreachable" } });
  });

  it("opens the breaker mid-retry and then fails fast without calling upstream", async () => {
    const vendor = unique("breaker");
    const first = await call({ mode: "status-503", vendor });
    expect(first.snapshot.breaker.consecutiveFailures).toBe(4);
    // The 5th failure (the next call's first attempt) opens it; its retry is refused by the guard.
    const second = await call({ mode: "status-503", vendor });
    expect((await attemptsOf(second.key)).count).toBe(1);
    expect(second.result).toMatchObject({
      kind: "failure",
      attempts: 1,
      failure: { code: "circuit_open", message: expect.stringContaining(`${vendor} is failing`) },
    });
    expect(second.snapshot.breaker.state).toBe("open");
    const third = await call({ mode: "ok", vendor });
    expect((await attemptsOf(third.key)).count).toBe(0);
    expect(third.result).toMatchObject({ kind: "failure", attempts: 0, failure: { code: "circuit_open" } });
    if (third.result.kind !== "failure") return;
    const retryAt = Date.parse(third.result.failure.retryAt!);
    expect(retryAt).toBeGreaterThan(Date.now() + 50_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it("waits for a token when the bucket is empty instead of failing", async () => {
    const vendor = unique("limited");
    const resilience = { rateLimit: { enabled: true, requestsPerSecond: 1, burst: 1 } };
    const a = await call({ mode: "ok", vendor, resilience });
    expect(a.clock.sleeps).toEqual([]);
    const b = await call({ mode: "ok", vendor, resilience });
    expect(b.clock.sleeps).toHaveLength(1);
    expect(b.clock.sleeps[0]).toBeGreaterThan(500);
    expect(b.clock.sleeps[0]).toBeLessThanOrEqual(1000);
    expect(b.result.kind === "response" && b.result.response.status).toBe(200);
    // A caller whose budget is shorter than the wait is told when to come back.
    const c = await call({ mode: "ok", vendor, resilience, deadlineMs: 100 });
    expect(c.result).toMatchObject({ kind: "failure", attempts: 0, failure: { code: "rate_limited" } });
    expect((await attemptsOf(c.key)).count).toBe(0);
  });
});
