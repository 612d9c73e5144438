import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type { VendorResilienceConfig } from "../../../src/bundle/types.ts";
import { loadSettings, vendorSettings } from "../../../src/config.ts";
import {
  ADMISSION_LEASE_MS,
  guardClient,
  SUCCESS_REPORT_INTERVAL_MS,
} from "../../../src/resilience/guard-client.ts";
import { resilientFetch } from "../../../src/resilience/retry.ts";
import { bareBundle } from "../../support/bare-bundle.ts";
import { manualClock } from "../../support/clocks.ts";

const upstream = inject("faultUpstreamUrl");

let n = 0;
const unique = (what: string) => `${what}-${++n}-${crypto.randomUUID().slice(0, 8)}`;

/** The real VENDOR_GUARD namespace, counting the Durable Object calls the guard client makes. */
function countingEnv() {
  const ns = env.VENDOR_GUARD;
  const calls = { admit: 0, record: 0 };
  const counted = {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = ns.get(id);
      return {
        admit: (...args: Parameters<typeof stub.admit>) => {
          calls.admit += 1;
          return stub.admit(...args);
        },
        record: (...args: Parameters<typeof stub.record>) => {
          calls.record += 1;
          return stub.record(...args);
        },
        recordDrift: (...args: Parameters<typeof stub.recordDrift>) => stub.recordDrift(...args),
        snapshot: (...args: Parameters<typeof stub.snapshot>) => stub.snapshot(...args),
      };
    },
  };
  // A partial env: the guard client reads only VENDOR_GUARD.
  return { env: { VENDOR_GUARD: counted } as unknown as Env, calls };
}

/**
 * A vendor of its own with one hand-driven clock for its calls (lease, report interval, admission
 * and attempt timeouts: nothing fires because the machine is slow); `call(mode)` runs one tool
 * call to the fault upstream.
 */
function vendorUnderTest(resilience: VendorResilienceConfig = {}) {
  const vendor = unique("lease");
  const bundle = bareBundle(vendor, { resilience });
  // Settings as the gateway caches them, per env and vendor (`{}`: an env of its own).
  const settingsOfNewEnv = () => vendorSettings(loadSettings({}), bundle);
  let settings = settingsOfNewEnv();
  const counting = countingEnv();
  const clock = manualClock();
  async function call(mode: string) {
    const key = unique("k");
    const pending: Promise<unknown>[] = [];
    const result = await resilientFetch({
      env,
      settings,
      tool: { name: "fault", method: "GET" },
      deadline: clock.now() + 90_000,
      waitUntil: (p) => pending.push(p),
      clock,
      random: () => 0,
      guard: guardClient(counting.env, settings, { clock }),
      send: ({ signal, headers }) => fetch(`${upstream}/faults/${key}/${mode}`, { signal, headers }),
    });
    await Promise.all(pending);
    return result;
  }
  const snapshot = () => guardClient(env, settings, { clock }).snapshot();
  /** The vendor's calls from now on come through another env. */
  const newEnv = () => {
    settings = settingsOfNewEnv();
  };
  return { call, calls: counting.calls, clock, snapshot, newEnv };
}

describe("isolate admission lease", () => {
  it("admits locally while the breaker is closed; successes are held and reported with the next report", async () => {
    const v = vendorUnderTest();
    expect((await v.call("ok")).kind).toBe("response");
    expect(v.calls).toEqual({ admit: 1, record: 1 });
    for (let i = 0; i < 3; i++) expect((await v.call("ok")).kind).toBe("response");
    // Within the report interval: counted in the isolate, no Durable Object call.
    expect(v.calls).toEqual({ admit: 1, record: 1 });
    expect((await v.snapshot()).counters).toMatchObject({ admitted: 1, successes: 1 });
    // The first success after the interval carries the held ones.
    v.clock.advance(SUCCESS_REPORT_INTERVAL_MS);
    await v.call("ok");
    expect(v.calls).toEqual({ admit: 1, record: 2 });
    expect((await v.snapshot()).counters).toMatchObject({ admitted: 5, successes: 5 });
  });

  it("the lease belongs to the env it was granted in: another env's first call asks the guard", async () => {
    const v = vendorUnderTest();
    await v.call("ok");
    await v.call("ok");
    expect(v.calls).toEqual({ admit: 1, record: 1 });
    v.newEnv();
    await v.call("ok");
    expect(v.calls).toEqual({ admit: 2, record: 2 });
    await v.call("ok");
    expect(v.calls).toEqual({ admit: 2, record: 2 });
  });

  it("a failure is reported at once, after the successes held before it", async () => {
    const v = vendorUnderTest({ maxRetries: 0, circuitBreakerFailureThreshold: 5 });
    await v.call("ok");
    await v.call("ok");
    await v.call("ok");
    expect(v.calls.record).toBe(1);
    await v.call("status-503");
    expect(v.calls.record).toBe(2);
    const snap = await v.snapshot();
    expect(snap.counters).toMatchObject({ successes: 3, failures: 1, admitted: 4 });
    expect(snap.breaker.consecutiveFailures).toBe(1);
  });

  it("a retry's report carries the successes held before its failure, in order", async () => {
    const v = vendorUnderTest({ maxRetries: 1, circuitBreakerFailureThreshold: 5 });
    await v.call("ok");
    await v.call("ok"); // held
    expect((await v.call("flaky-1-503")).kind).toBe("response");
    expect(v.calls).toEqual({ admit: 2, record: 2 });
    const snap = await v.snapshot();
    expect(snap.counters).toMatchObject({ successes: 3, failures: 1, admitted: 4 });
    expect(snap.breaker.consecutiveFailures).toBe(0);
  });

  it("held successes end a failure streak, as reported successes do", async () => {
    const v = vendorUnderTest({ maxRetries: 0, circuitBreakerFailureThreshold: 3 });
    await v.call("ok");
    await v.call("status-503");
    await v.call("status-503");
    expect((await v.snapshot()).breaker.consecutiveFailures).toBe(2);
    // Renew the lease through the guard, then hold a success and report it with the next one.
    v.clock.advance(ADMISSION_LEASE_MS);
    await v.call("ok");
    await v.call("ok");
    v.clock.advance(SUCCESS_REPORT_INTERVAL_MS);
    await v.call("ok");
    await v.call("status-503");
    const snap = await v.snapshot();
    expect(snap.breaker).toMatchObject({ state: "closed", consecutiveFailures: 1 });
  });

  it("a failure that opens the breaker ends the lease at once: the next call is rejected by the guard", async () => {
    const v = vendorUnderTest({ maxRetries: 0, circuitBreakerFailureThreshold: 2 });
    await v.call("ok");
    await v.call("status-503");
    await v.call("status-503");
    expect(v.calls.admit).toBe(1);
    expect((await v.snapshot()).breaker.state).toBe("open");
    const result = await v.call("ok");
    expect(v.calls.admit).toBe(2);
    expect(result).toMatchObject({ kind: "failure", failure: { code: "circuit_open" } });
  });

  it("never leases for a rate-limited vendor: every call takes a token", async () => {
    const v = vendorUnderTest({ rateLimit: { enabled: true, requestsPerSecond: 1000, burst: 100 } });
    for (let i = 0; i < 3; i++) await v.call("ok");
    expect(v.calls.admit).toBe(3);
  });

  it("an expired lease admits through the guard again", async () => {
    const v = vendorUnderTest();
    await v.call("ok");
    v.clock.advance(ADMISSION_LEASE_MS - 1);
    await v.call("ok");
    expect(v.calls.admit).toBe(1);
    // The record answer extended the lease from the second call; let that run out too.
    v.clock.advance(ADMISSION_LEASE_MS);
    await v.call("ok");
    expect(v.calls.admit).toBe(2);
  });

  it("retries go through the guard, so the failure they report moves the breaker before the next attempt", async () => {
    const v = vendorUnderTest({ maxRetries: 2, circuitBreakerFailureThreshold: 5 });
    await v.call("ok");
    const result = await v.call("flaky-2-503");
    expect(result.kind).toBe("response");
    expect(v.calls.admit).toBe(1 + 2);
    const snap = await v.snapshot();
    expect(snap.counters).toMatchObject({ admitted: 4, failures: 2, successes: 2 });
  });
});
