/**
 * The metrics store (src/ops/vendor-metrics.ts) through its RPC methods and storage: exact counts,
 * rolling windows on the samples' clock, percentiles from the histogram, recent failures, totals
 * that pruning never lowers, and the alarm that prunes.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CallOutcome, CallSample } from "../../../src/call-outcome.ts";
import {
  HOUR_MS,
  histogramQuantile,
  LATENCY_BOUNDS_MS,
  latencyBucket,
  MINUTE_MS,
  RECENT_FAILURES,
  type VendorMetrics,
} from "../../../src/ops/vendor-metrics.ts";

/** 10:00:00 UTC: minute- and hour-aligned. */
const T0 = Date.UTC(2026, 0, 1, 10);

let counter = 0;
/** A fresh object per test (storage is shared within the file), its pruning clock at `now`. */
async function freshStore(now = T0) {
  const name = `metrics-test-${++counter}`;
  const stub = env.VENDOR_METRICS.get(env.VENDOR_METRICS.idFromName(name));
  const clock = { t: now };
  await runInDurableObject(stub, (instance: VendorMetrics) => {
    instance.now = () => clock.t;
  });
  return { stub, clock, name };
}

function sample(tool: string, outcome: CallOutcome, latencyMs: number, time = T0 + 5_000): CallSample {
  return { vendor: "v", tool, outcome, latencyMs, time };
}

function rows(stub: DurableObjectStub<VendorMetrics>, sql: string): Promise<Record<string, unknown>[]> {
  return runInDurableObject(stub, (_instance: VendorMetrics, state) => state.storage.sql.exec(sql).toArray());
}

describe("VendorMetrics counts", () => {
  it("counts every sample of concurrent records exactly, per tool and outcome", async () => {
    const { stub } = await freshStore();
    const outcomes: CallOutcome[] = ["ok", "tool_error", "upstream_error", "timeout"];
    const sent = Array.from({ length: 200 }, (_, i) => sample(i % 3 === 0 ? "a" : "b", outcomes[i % 4]!, i));
    const answers = await Promise.all(sent.map((s) => stub.record([s])));
    expect(answers.reduce((sum, n) => sum + n, 0)).toBe(200);
    const snap = await stub.snapshot(T0 + 30_000);
    const expected = (tool: string) => {
      const counts: Record<string, number> = {};
      for (const s of sent.filter((x) => x.tool === tool)) counts[s.outcome] = (counts[s.outcome] ?? 0) + 1;
      return counts;
    };
    expect(snap.hour.calls).toBe(200);
    expect(snap.day.calls).toBe(200);
    expect(snap.hour.errors).toBe(100);
    for (const tool of ["a", "b"]) {
      const t = snap.tools.find((x) => x.tool === tool)!;
      expect(t.hour.outcomes).toEqual(expected(tool));
      expect(t.day.outcomes).toEqual(expected(tool));
    }
    // The whole window sits in one minute: the current one, last of 60.
    expect(snap.hour.buckets).toHaveLength(60);
    expect(snap.hour.buckets.at(-1)).toMatchObject({ start: T0, calls: 200 });
    expect(snap.hour.buckets.slice(0, -1).every((b) => b.calls === 0 && b.p50Ms === undefined)).toBe(true);
    expect(snap.day.buckets).toHaveLength(24);
    expect(snap.day.buckets.at(-1)).toMatchObject({ start: T0, calls: 200 });
  });

  it("drops samples that are not call samples and keeps the rest", async () => {
    const { stub } = await freshStore();
    const bad = [
      { ...sample("a", "ok", 1), outcome: "exploded" },
      { ...sample("a", "ok", 1), latencyMs: Number.NaN },
      { ...sample("a", "ok", 1), tool: 42 },
      null,
    ] as unknown as CallSample[];
    expect(await stub.record([...bad, sample("a", "ok", 1)])).toBe(1);
    expect((await stub.snapshot(T0)).hour.outcomes).toEqual({ ok: 1 });
  });
});

describe("VendorMetrics windows", () => {
  it("a call in minute 0 and one in minute 61: the hour window drops the first, the day keeps both", async () => {
    const { stub } = await freshStore();
    await stub.record([sample("a", "ok", 10, T0 + 5_000)]);
    await stub.record([sample("a", "upstream_error", 10, T0 + 61 * MINUTE_MS + 5_000)]);
    const at61 = await stub.snapshot(T0 + 61 * MINUTE_MS + 30_000);
    expect(at61.hour).toMatchObject({ calls: 1, errors: 1, outcomes: { upstream_error: 1 } });
    expect(at61.hour.buckets[0]!.start).toBe(T0 + 2 * MINUTE_MS);
    expect(at61.hour.buckets.at(-1)).toMatchObject({ start: T0 + 61 * MINUTE_MS, calls: 1 });
    expect(at61.day).toMatchObject({ calls: 2, errors: 1, outcomes: { ok: 1, upstream_error: 1 } });
    expect(at61.day.buckets.at(-2)).toMatchObject({ start: T0, calls: 1 });
    expect(at61.day.buckets.at(-1)).toMatchObject({ start: T0 + HOUR_MS, calls: 1 });
    // At minute 59 both calls' minutes (0 and … not yet 61) are in; a day later neither.
    expect((await stub.snapshot(T0 + 59 * MINUTE_MS)).hour.calls).toBe(1);
    expect((await stub.snapshot(T0 + 24 * HOUR_MS)).day.calls).toBe(1);
    expect((await stub.snapshot(T0 + 25 * HOUR_MS)).day.calls).toBe(0);
  });
});

describe("VendorMetrics percentiles", () => {
  it("interpolates within the bucket of the rank, as histogram_quantile does", async () => {
    const { stub } = await freshStore();
    const latencies = [
      ...Array<number>(50).fill(3), // (2, 5]
      ...Array<number>(45).fill(150), // (100, 200]
      ...Array<number>(5).fill(4_000), // (2000, 5000]
    ];
    await stub.record(latencies.map((ms) => sample("a", "ok", ms)));
    const snap = await stub.snapshot(T0);
    // p50: rank 50 ends bucket (2,5] → 5; p95: rank 95 ends (100,200] → 200; p99: 4 of 5 into (2000,5000].
    expect(snap.hour).toMatchObject({ p50Ms: 5, p95Ms: 200, p99Ms: 4_400 });
    expect(snap.tools[0]!.day).toMatchObject({ p50Ms: 5, p95Ms: 200, p99Ms: 4_400 });
    expect(snap.hour.buckets.at(-1)).toMatchObject({ p50Ms: 5, p95Ms: 200, p99Ms: 4_400 });
    // The documented bound: each estimate lies in the bucket of the true percentile.
    expect(latencyBucket(snap.hour.p50Ms!)).toBe(latencyBucket(3));
    expect(latencyBucket(snap.hour.p95Ms!)).toBe(latencyBucket(150));
    expect(latencyBucket(snap.hour.p99Ms!)).toBe(latencyBucket(4_000));
  });

  it("is exact for evenly spread latencies and caps the +Inf bucket at the last bound", () => {
    const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    counts[latencyBucket(150)] = 100; // 100 calls spread evenly over (100, 200]
    expect(histogramQuantile(0.5, counts)).toBe(150);
    expect(histogramQuantile(0.9, counts)).toBe(190);
    const slow = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    slow[latencyBucket(200_000)] = 3;
    expect(latencyBucket(200_000)).toBe(LATENCY_BOUNDS_MS.length);
    expect(histogramQuantile(0.99, slow)).toBe(90_000);
    expect(histogramQuantile(0.5, new Array<number>(16).fill(0))).toBeUndefined();
    // `le` is inclusive: a latency on a bound belongs to that bucket.
    expect(latencyBucket(1)).toBe(0);
    expect(latencyBucket(1.5)).toBe(1);
    expect(latencyBucket(0)).toBe(0);
  });
});

describe("VendorMetrics recent failures", () => {
  it("keeps the last 20 failures, newest first; ok and tool errors are not failures", async () => {
    const { stub } = await freshStore();
    for (let i = 0; i < 25; i++) {
      await stub.record([
        { ...sample("a", "upstream_error", 5, T0 + i), errorCode: "upstream_error", message: `fault ${i}` },
        sample("a", "ok", 5, T0 + i),
        sample("a", "tool_error", 5, T0 + i),
      ]);
    }
    const failures = (await stub.snapshot(T0)).recentFailures;
    expect(failures).toHaveLength(RECENT_FAILURES);
    expect(failures[0]).toEqual({
      time: T0 + 24,
      tool: "a",
      outcome: "upstream_error",
      errorCode: "upstream_error",
      message: "fault 24",
    });
    expect(failures.at(-1)!.message).toBe("fault 5");
    expect(await rows(stub, "SELECT count(*) AS n FROM metrics_failures")).toEqual([{ n: RECENT_FAILURES }]);
  });
});

describe("VendorMetrics pruning", () => {
  it("the alarm deletes slots past retention, keeps the totals, and stops once nothing is left", async () => {
    const { stub, clock } = await freshStore();
    await stub.record([sample("a", "ok", 10, T0 + 5_000)]);
    await stub.record([sample("a", "timeout", 3_000, T0 + 61 * MINUTE_MS)]);
    const totalsBefore = await stub.totals();
    expect(await rows(stub, "SELECT count(*) AS n FROM metrics_slots WHERE kind = 0")).toEqual([{ n: 2 }]);

    // Three hours on: minute 0 is past the two hours minute slots are kept, minute 61 is not.
    clock.t = T0 + 3 * HOUR_MS;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows(stub, "SELECT start FROM metrics_slots WHERE kind = 0")).toEqual([
      { start: T0 + 61 * MINUTE_MS },
    ]);
    expect(await rows(stub, "SELECT count(*) AS n FROM metrics_slots WHERE kind = 1")).toEqual([{ n: 2 }]);
    expect(await stub.totals()).toEqual(totalsBefore);
    expect((await stub.snapshot(clock.t)).day.calls).toBe(2);
    // Slots are left: the alarm is set again.
    expect(
      await runInDurableObject(stub, (_i: VendorMetrics, state) => state.storage.getAlarm()),
    ).not.toBeNull();

    // Two days on: every slot is gone, the totals are not, and no alarm is left.
    clock.t = T0 + 48 * HOUR_MS;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows(stub, "SELECT count(*) AS n FROM metrics_slots WHERE kind != 2")).toEqual([{ n: 0 }]);
    expect(await stub.totals()).toEqual(totalsBefore);
    expect(totalsBefore.calls).toEqual([
      { tool: "a", outcome: "ok", count: 1 },
      { tool: "a", outcome: "timeout", count: 1 },
    ]);
    expect(totalsBefore.latency).toEqual([{ tool: "a", buckets: expect.any(Array), sumMs: 3_010, count: 2 }]);
    expect(await runInDurableObject(stub, (_i: VendorMetrics, state) => state.storage.getAlarm())).toBeNull();
    // A new sample schedules it again.
    await stub.record([sample("a", "ok", 1, clock.t)]);
    expect(
      await runInDurableObject(stub, (_i: VendorMetrics, state) => state.storage.getAlarm()),
    ).not.toBeNull();
  });
});

describe("VendorMetrics folding", () => {
  it("finished minutes reach the hour rows and totals exactly once, late samples included", async () => {
    const { stub, clock } = await freshStore();
    await stub.record([sample("a", "ok", 10, T0 + 5_000), sample("a", "ok", 10, T0 + 2 * MINUTE_MS)]);
    clock.t = T0 + 10 * MINUTE_MS;
    await runDurableObjectAlarm(stub);
    // Folded: the hour row has both; the minute rows stay for the hour window.
    expect(await rows(stub, "SELECT o_ok FROM metrics_slots WHERE kind = 1")).toEqual([{ o_ok: 2 }]);
    expect(await rows(stub, "SELECT count(*) AS n FROM metrics_slots WHERE kind = 0")).toEqual([{ n: 2 }]);
    // A late sample for a folded minute, and a current one.
    await stub.record([
      sample("a", "timeout", 10, T0 + 3 * MINUTE_MS),
      sample("a", "ok", 10, T0 + 10 * MINUTE_MS + 1),
    ]);
    // Folding again (and again) adds only the minutes not folded yet.
    clock.t = T0 + 20 * MINUTE_MS;
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, (instance: VendorMetrics) => instance.prune(clock.t));
    const snap = await stub.snapshot(clock.t);
    expect(snap.hour.outcomes).toEqual({ ok: 3, timeout: 1 });
    expect(snap.day.outcomes).toEqual({ ok: 3, timeout: 1 });
    const totals = await stub.totals();
    expect(totals.calls).toEqual([
      { tool: "a", outcome: "ok", count: 3 },
      { tool: "a", outcome: "timeout", count: 1 },
    ]);
    expect(totals.latency[0]).toMatchObject({ sumMs: 40, count: 4 });
  });
});
