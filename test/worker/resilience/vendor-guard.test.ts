import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type AdmitRequest,
  type AttemptOutcome,
  type GuardConfig,
  MAX_CALLER_BREAKERS,
  type VendorGuard,
} from "../../../src/resilience/vendor-guard.ts";

const T0 = Date.UTC(2026, 0, 1);

const BREAKER: GuardConfig = { failureThreshold: 3, openTimeoutMs: 60_000, halfOpenProbes: 1 };

let counter = 0;
/** A fresh guard per test (storage is shared within the file) with a hand-driven clock. */
async function freshGuard(start = T0) {
  const stub = env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName(`guard-test-${++counter}`));
  const clock = { t: start };
  await runInDurableObject(stub, (instance: VendorGuard) => {
    instance.now = () => clock.t;
  });
  return { stub, clock };
}

function admitReq(config: GuardConfig = BREAKER, extra: Partial<AdmitRequest> = {}): AdmitRequest {
  return { config, maxWaitMs: 90_000, probeLeaseMs: 30_000, ...extra };
}

const fail: AttemptOutcome = { kind: "server_error", status: 503, message: "upstream answered 503" };
const ok: AttemptOutcome = { kind: "success", status: 200 };

describe("VendorGuard circuit breaker", () => {
  it("stays closed below the threshold and a success resets the count", async () => {
    const { stub } = await freshGuard();
    await stub.record(fail, BREAKER);
    await stub.record(fail, BREAKER);
    expect((await stub.snapshot(BREAKER)).breaker).toMatchObject({ state: "closed", consecutiveFailures: 2 });
    await stub.record(ok, BREAKER);
    await stub.record(fail, BREAKER);
    await stub.record(fail, BREAKER);
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker).toMatchObject({ state: "closed", consecutiveFailures: 2 });
    expect(await stub.admit(admitReq())).toEqual({ allowed: true, waitMs: 0 });
  });

  it("does not count 4xx other than 429 as failures; they reset the count", async () => {
    const { stub } = await freshGuard();
    await stub.record(fail, BREAKER);
    await stub.record(fail, BREAKER);
    await stub.record({ kind: "client_error", status: 404 }, BREAKER);
    await stub.record(fail, BREAKER);
    expect((await stub.snapshot(BREAKER)).breaker.consecutiveFailures).toBe(1);
    await stub.record({ kind: "rate_limited", status: 429 }, BREAKER);
    await stub.record({ kind: "timeout" }, BREAKER);
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker.state).toBe("open");
    expect(snap.lastError).toMatchObject({ kind: "timeout" });
  });

  it("opens after N consecutive failures and fails fast with retryAt", async () => {
    const { stub, clock } = await freshGuard();
    await stub.admit(admitReq());
    await stub.record(fail, BREAKER);
    // Failures piggy-backed on the next admission count the same as recorded ones.
    await stub.admit(admitReq(BREAKER, { report: fail }));
    const third = await stub.admit(admitReq(BREAKER, { report: fail }));
    expect(third).toEqual({
      allowed: false,
      reason: "circuit_open",
      retryAt: T0 + 60_000,
      retryAfterMs: 60_000,
    });
    clock.t += 59_999;
    expect(await stub.admit(admitReq())).toMatchObject({
      allowed: false,
      reason: "circuit_open",
      retryAfterMs: 1,
    });
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker).toMatchObject({
      state: "open",
      consecutiveFailures: 3,
      openedAt: T0,
      retryAt: T0 + 60_000,
    });
    expect(snap.lastFailureAt).toBe(T0);
    expect(snap.counters.rejected).toBe(2);
  });

  it("open → half-open by alarm after the timeout, without traffic", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    expect((await stub.snapshot()).breaker.state).toBe("open");
    // The alarm fires early on the real clock but the guard clock decides: still open, re-armed.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.snapshot()).breaker.state).toBe("open");
    clock.t += 60_000;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.snapshot()).breaker).toMatchObject({
      state: "half_open",
      retryAt: null,
      probesInFlight: 0,
    });
    // Nothing left to do: no alarm is scheduled any more.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it("half-open admits exactly the probe limit under concurrent calls", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    clock.t += 60_000;
    const results = await Promise.all(Array.from({ length: 20 }, () => stub.admit(admitReq())));
    const allowed = results.filter((r) => r.allowed);
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ allowed: true, probeId: expect.any(Number) });
    expect(results.filter((r) => !r.allowed && r.reason === "probe_in_flight")).toHaveLength(19);

    const three = { ...BREAKER, halfOpenProbes: 3 };
    const more = await Promise.all(Array.from({ length: 20 }, () => stub.admit(admitReq(three))));
    // One probe is still in flight, so two more slots.
    expect(more.filter((r) => r.allowed)).toHaveLength(2);
    expect((await stub.snapshot(three)).breaker.probesInFlight).toBe(3);
  });

  it("a probe success closes the breaker", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    clock.t += 60_000;
    const probe = await stub.admit(admitReq());
    if (!probe.allowed) throw new Error("probe refused");
    // A late success from a call admitted before the breaker opened does not decide.
    await stub.record(ok, BREAKER);
    expect((await stub.snapshot()).breaker.state).toBe("half_open");
    await stub.record({ ...ok, probeId: probe.probeId }, BREAKER);
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker).toMatchObject({ state: "closed", consecutiveFailures: 0, openedAt: null });
    expect(await stub.admit(admitReq())).toEqual({ allowed: true, waitMs: 0 });
  });

  it("a probe failure re-opens the breaker for another timeout", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    clock.t += 60_000;
    const probe = await stub.admit(admitReq());
    if (!probe.allowed) throw new Error("probe refused");
    clock.t += 1_000;
    const next = await stub.admit(admitReq(BREAKER, { report: { ...fail, probeId: probe.probeId } }));
    expect(next).toEqual({
      allowed: false,
      reason: "circuit_open",
      retryAt: T0 + 121_000,
      retryAfterMs: 60_000,
    });
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker).toMatchObject({ state: "open", timesOpened: 2 });
  });

  it("a probe whose outcome never arrives frees its slot when its lease ends", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    clock.t += 60_000;
    expect((await stub.admit(admitReq())).allowed).toBe(true);
    clock.t += 29_999;
    expect(await stub.admit(admitReq())).toMatchObject({ allowed: false, reason: "probe_in_flight" });
    clock.t += 1;
    expect(await stub.admit(admitReq())).toMatchObject({ allowed: true, probeId: expect.any(Number) });
  });

  it("keeps its state across an eviction (persisted in storage)", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    await stub.recordDrift("getThing");
    await evictDurableObject(stub);
    // A new instance: only storage survived, so re-inject the clock.
    await runInDurableObject(stub, (instance: VendorGuard) => {
      instance.now = () => clock.t;
    });
    const snap = await stub.snapshot();
    expect(snap.breaker.state).toBe("open");
    expect(snap.drift).toEqual({ getThing: 1 });
    await runInDurableObject(stub, (_instance, state) => {
      expect(state.storage.kv.get("breaker")).toMatchObject({ state: "open", consecutiveFailures: 3 });
    });
  });

  it("after an eviction: the breaker is exact, success counters lose at most the last second", async () => {
    const { stub, clock } = await freshGuard();
    await stub.record(fail, BREAKER);
    await stub.record(fail, BREAKER);
    clock.t += 100;
    // Clears the failures: a breaker change, so it and the counters are written at once.
    await stub.record(ok, BREAKER);
    clock.t += 100;
    await stub.record(ok, BREAKER); // within the second: counted in memory only
    clock.t += 1_000;
    await stub.record(ok, BREAKER); // a second later: written with everything before it
    clock.t += 100;
    await stub.record(ok, BREAKER); // lost by the eviction below
    expect((await stub.snapshot()).counters.successes).toBe(4);
    await evictDurableObject(stub);
    await runInDurableObject(stub, (instance: VendorGuard) => {
      instance.now = () => clock.t;
    });
    const snap = await stub.snapshot();
    expect(snap.breaker).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(snap.counters).toMatchObject({ failures: 2, successes: 3 });
    expect(snap.lastSuccessAt).toBeGreaterThan(snap.lastFailureAt ?? Number.POSITIVE_INFINITY);
  });
});

describe("VendorGuard token bucket", () => {
  const limited = (requestsPerSecond: number, burst: number): GuardConfig => ({
    ...BREAKER,
    rateLimit: { requestsPerSecond, burst },
  });

  it("lets a burst through at once, then makes callers wait with reserved tokens", async () => {
    const { stub } = await freshGuard();
    const config = limited(10, 5);
    const results = await Promise.all(Array.from({ length: 8 }, () => stub.admit(admitReq(config))));
    expect(results.map((r) => (r.allowed ? r.waitMs : -1))).toEqual([0, 0, 0, 0, 0, 100, 200, 300]);
    expect((await stub.snapshot(config)).rateLimiter).toEqual({
      enabled: true,
      tokens: -3,
      requestsPerSecond: 10,
      burst: 5,
    });
  });

  it("refills at the rate up to the burst", async () => {
    const { stub, clock } = await freshGuard();
    const config = limited(2, 3);
    for (let i = 0; i < 3; i++)
      expect(await stub.admit(admitReq(config))).toEqual({ allowed: true, waitMs: 0 });
    expect(await stub.admit(admitReq(config))).toEqual({ allowed: true, waitMs: 500 });
    clock.t += 500; // pays back the reserved token only
    expect(await stub.admit(admitReq(config))).toEqual({ allowed: true, waitMs: 500 });
    clock.t += 10_000; // far more than needed: capped at the burst
    expect((await stub.snapshot(config)).rateLimiter.tokens).toBe(3);
    for (let i = 0; i < 3; i++)
      expect(await stub.admit(admitReq(config))).toEqual({ allowed: true, waitMs: 0 });
    expect((await stub.admit(admitReq(config))).allowed && true).toBe(true);
  });

  it("rejects with retryAt when the wait exceeds the caller's budget, reserving nothing", async () => {
    const { stub } = await freshGuard();
    const config = limited(1, 1);
    expect(await stub.admit(admitReq(config))).toEqual({ allowed: true, waitMs: 0 });
    expect(await stub.admit(admitReq(config, { maxWaitMs: 999 }))).toEqual({
      allowed: false,
      reason: "rate_limited",
      retryAt: T0 + 1000,
      retryAfterMs: 1000,
    });
    // The rejected call took no token: the next one waits exactly one interval.
    expect(await stub.admit(admitReq(config, { maxWaitMs: 1000 }))).toEqual({ allowed: true, waitMs: 1000 });
  });

  it("never hands out more than burst + rate × elapsed tokens", async () => {
    const { stub, clock } = await freshGuard();
    const config = limited(5, 2);
    const starts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await stub.admit(admitReq(config));
      if (!r.allowed) throw new Error("rejected");
      starts.push(clock.t + r.waitMs);
      clock.t += 37; // callers arrive every 37 ms: faster than the 200 ms interval
    }
    for (const windowEnd of starts) {
      const inWindow = starts.filter((s) => s <= windowEnd && s > windowEnd - 1000).length;
      expect(inWindow).toBeLessThanOrEqual(5 + 2);
    }
  });

  it("is off when the config has no rate limit", async () => {
    const { stub } = await freshGuard();
    const results = await Promise.all(Array.from({ length: 50 }, () => stub.admit(admitReq())));
    expect(results.every((r) => r.allowed && r.waitMs === 0)).toBe(true);
    expect((await stub.snapshot(BREAKER)).rateLimiter.enabled).toBe(false);
  });

  it("an open breaker rejects before taking a token", async () => {
    const { stub } = await freshGuard();
    const config = limited(1, 1);
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    expect((await stub.admit(admitReq(config))).allowed).toBe(false);
    expect((await stub.snapshot(config)).rateLimiter.tokens).toBe(1);
  });
});

describe("VendorGuard per-caller breakers (one caller cannot open the vendor's breaker)", () => {
  const failOf = (caller: string): AttemptOutcome => ({ ...fail, caller });
  const okOf = (caller: string): AttemptOutcome => ({ ...ok, caller });

  it("one caller's streak opens that caller's breaker only: it fails fast, the others are served", async () => {
    const { stub } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(failOf("a"), BREAKER);
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker).toMatchObject({ state: "closed", consecutiveFailures: 3, callersOpen: 1 });
    expect(snap.breaker.timesOpened).toBe(0);
    expect(await stub.admit(admitReq(BREAKER, { caller: "a" }))).toEqual({
      allowed: false,
      reason: "circuit_open",
      retryAt: T0 + 60_000,
      retryAfterMs: 60_000,
      scope: "caller",
    });
    expect(await stub.admit(admitReq(BREAKER, { caller: "b" }))).toEqual({ allowed: true, waitMs: 0 });
    // No caller key: the gateway itself (health probes) or client auth off.
    expect(await stub.admit(admitReq())).toEqual({ allowed: true, waitMs: 0 });
  });

  it("a streak with failures of two callers opens the vendor's breaker for everyone", async () => {
    const { stub } = await freshGuard();
    await stub.record(failOf("a"), BREAKER);
    await stub.record(failOf("a"), BREAKER);
    await stub.record(failOf("b"), BREAKER);
    expect((await stub.snapshot(BREAKER)).breaker).toMatchObject({ state: "open", timesOpened: 1 });
    expect(await stub.admit(admitReq(BREAKER, { caller: "c" }))).toMatchObject({
      allowed: false,
      reason: "circuit_open",
    });
  });

  it("a failure without a caller key is shared evidence: with it in the streak, the vendor opens", async () => {
    const { stub } = await freshGuard();
    await stub.record(failOf("a"), BREAKER);
    await stub.record(fail, BREAKER);
    await stub.record(failOf("a"), BREAKER);
    expect((await stub.snapshot(BREAKER)).breaker.state).toBe("open");
  });

  it("another caller's success ends the streak, so a caller failing alone never reaches the threshold", async () => {
    const { stub } = await freshGuard();
    await stub.record(failOf("a"), BREAKER);
    await stub.record(failOf("a"), BREAKER);
    await stub.record(okOf("b"), BREAKER);
    await stub.record(failOf("a"), BREAKER);
    expect((await stub.snapshot(BREAKER)).breaker).toMatchObject({
      state: "closed",
      consecutiveFailures: 1,
      callersOpen: 0,
    });
  });

  it("a caller's breaker half-opens after the timeout: a failed probe re-opens it, a good one closes it", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(failOf("a"), BREAKER);
    clock.t += 60_000;
    const probe = await stub.admit(admitReq(BREAKER, { caller: "a" }));
    expect(probe).toMatchObject({ allowed: true, probeId: expect.any(Number), scope: "caller" });
    expect(await stub.admit(admitReq(BREAKER, { caller: "a" }))).toMatchObject({
      allowed: false,
      reason: "probe_in_flight",
      scope: "caller",
    });
    const probeId = (probe as { probeId: number }).probeId;
    await stub.record({ ...failOf("a"), probeId }, BREAKER);
    expect(await stub.admit(admitReq(BREAKER, { caller: "a" }))).toMatchObject({
      allowed: false,
      reason: "circuit_open",
      retryAfterMs: 60_000,
    });
    clock.t += 60_000;
    const second = (await stub.admit(admitReq(BREAKER, { caller: "a" }))) as { probeId: number };
    await stub.record({ ...okOf("a"), probeId: second.probeId }, BREAKER);
    expect(await stub.admit(admitReq(BREAKER, { caller: "a" }))).toEqual({ allowed: true, waitMs: 0 });
    expect((await stub.snapshot(BREAKER)).breaker).toMatchObject({
      state: "closed",
      consecutiveFailures: 0,
      callersOpen: 0,
    });
  });

  it("keeps caller breakers across an eviction, and at most MAX_CALLER_BREAKERS of them", async () => {
    const { stub, clock } = await freshGuard();
    await runInDurableObject(stub, (instance: VendorGuard) => {
      for (let i = 0; i <= MAX_CALLER_BREAKERS; i++) {
        clock.t += 1;
        instance.record(ok, BREAKER);
        for (let k = 0; k < 3; k++) instance.record(failOf(`caller-${i}`), BREAKER);
      }
    });
    await evictDurableObject(stub);
    await runInDurableObject(stub, (instance: VendorGuard) => {
      instance.now = () => clock.t;
    });
    expect((await stub.snapshot(BREAKER)).breaker.callersOpen).toBe(MAX_CALLER_BREAKERS);
    // The first one opened was dropped; the newest is kept.
    expect((await stub.admit(admitReq(BREAKER, { caller: "caller-0" }))).allowed).toBe(true);
    expect(await stub.admit(admitReq(BREAKER, { caller: `caller-${MAX_CALLER_BREAKERS}` }))).toMatchObject({
      allowed: false,
      scope: "caller",
    });
  });

  it("an attempt that was never sent frees its probe slot and decides nothing", async () => {
    const { stub, clock } = await freshGuard();
    for (let i = 0; i < 3; i++) await stub.record(fail, BREAKER);
    clock.t += 60_000;
    const probe = (await stub.admit(admitReq())) as { probeId: number };
    await stub.record({ kind: "not_sent", probeId: probe.probeId }, BREAKER);
    const snap = await stub.snapshot(BREAKER);
    expect(snap.breaker).toMatchObject({ state: "half_open", probesInFlight: 0, consecutiveFailures: 3 });
    expect(snap.counters.failures).toBe(3);
    expect(await stub.admit(admitReq())).toMatchObject({ allowed: true, probeId: expect.any(Number) });
  });
});
