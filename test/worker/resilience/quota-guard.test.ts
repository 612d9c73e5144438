/**
 * The quota guard's Durable Object (src/resilience/quota-guard.ts) through its RPC methods:
 * every applicable limit is checked and counted at once or not at all, exactly under concurrent
 * callers, in fixed UTC-aligned windows moved by the caller's `now`; counters survive eviction.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QuotaLimit } from "../../../src/resilience/quota-config.ts";
import type { QuotaAdmission } from "../../../src/resilience/quota-guard.ts";

/** 12:00:30 UTC: half a minute into a minute window. */
const T0 = Date.UTC(2026, 5, 1, 12, 0, 30);
const NEXT_MINUTE = Date.UTC(2026, 5, 1, 12, 1, 0);
const NEXT_DAY = Date.UTC(2026, 5, 2);

let counter = 0;
function freshGuard() {
  return env.QUOTA_GUARD.get(env.QUOTA_GUARD.idFromName(`team:quota-test-${++counter}`));
}

const userPerMinute = (limit: number): QuotaLimit => ({ scope: "user", window: "minute", limit });

describe("QuotaGuard", () => {
  it("admits exactly the limit of 32 concurrent callers and counts every admitted one", async () => {
    const guard = freshGuard();
    const limits: QuotaLimit[] = [userPerMinute(10), { scope: "team", window: "day", limit: 1000 }];
    const answers = (await Promise.all(
      Array.from({ length: 32 }, () =>
        guard.admit({ userId: "u1", teamId: "t", vendor: "v", limits, now: T0 }),
      ),
    )) as QuotaAdmission[];
    expect(answers.filter((a) => a.admitted)).toHaveLength(10);
    const refused = answers.filter((a) => !a.admitted);
    expect(refused).toHaveLength(22);
    for (const answer of refused) {
      expect(answer.refused).toEqual({
        scope: "user",
        subject: "u1",
        window: "minute",
        used: 10,
        limit: 10,
        resetAt: NEXT_MINUTE,
      });
    }
    // Refused calls counted nowhere: the team's day counter saw exactly the 10 admitted ones.
    const usage = await guard.usage({ userIds: ["u1"], teamId: "t", limits, now: T0 });
    expect(usage.map((u) => [u.scope, u.window, u.used])).toEqual([
      ["user", "minute", 10],
      ["team", "day", 10],
    ]);
  });

  it("refuses in all or nothing: a used-up limit keeps the others uncounted", async () => {
    const guard = freshGuard();
    const vendorLimit: QuotaLimit = { scope: "user", window: "minute", vendor: "github", limit: 2 };
    const limits: QuotaLimit[] = [userPerMinute(100), vendorLimit];
    const admit = (vendor: string, own: QuotaLimit[]) =>
      guard.admit({ userId: "u1", teamId: "t", vendor, limits: own, now: T0 }) as Promise<QuotaAdmission>;
    expect((await admit("github", limits)).admitted).toBe(true);
    expect((await admit("github", limits)).admitted).toBe(true);
    const third = await admit("github", limits);
    expect(third).toMatchObject({ admitted: false, refused: { vendor: "github", used: 2, limit: 2 } });
    // Another vendor counts only across vendors: still admitted, and the refused call is not in the count.
    expect(await admit("slack", [userPerMinute(100)])).toMatchObject({
      admitted: true,
      usage: [{ scope: "user", window: "minute", used: 3, limit: 100 }],
    });
  });

  it("grants a block of admissions up to the headroom of every limit, counted at grant time", async () => {
    const guard = freshGuard();
    const limits: QuotaLimit[] = [userPerMinute(10), { scope: "team", window: "minute", limit: 12 }];
    const admit = (want: number) =>
      guard.admit({
        userId: "u1",
        teamId: "t",
        vendor: "v",
        limits,
        now: T0,
        want,
      }) as Promise<QuotaAdmission>;
    expect(await admit(4)).toMatchObject({ admitted: true, granted: 4 });
    // The user's limit has 6 left: a block of 8 gets 6, all counted in both limits at once.
    expect(await admit(8)).toMatchObject({
      admitted: true,
      granted: 6,
      usage: [
        { scope: "user", used: 10 },
        { scope: "team", used: 10 },
      ],
    });
    expect(await admit(3)).toMatchObject({ admitted: false, refused: { scope: "user", used: 10 } });
    // Another user: the team's 2 left cap the block.
    expect(
      await guard.admit({ userId: "u2", teamId: "t", vendor: "v", limits, now: T0, want: 5 }),
    ).toMatchObject({ admitted: true, granted: 2 });
    // A nonsense want is one admission.
    expect(
      await guard.admit({ userId: "u3", vendor: "v", limits: [userPerMinute(10)], now: T0, want: -3 }),
    ).toMatchObject({ admitted: true, granted: 1 });
  });

  it("keeps users apart and counts the team across them", async () => {
    const guard = freshGuard();
    const limits: QuotaLimit[] = [userPerMinute(2), { scope: "team", window: "minute", limit: 3 }];
    const admit = (userId: string) =>
      guard.admit({ userId, teamId: "t", vendor: "v", limits, now: T0 }) as Promise<QuotaAdmission>;
    expect((await admit("a")).admitted).toBe(true);
    expect((await admit("a")).admitted).toBe(true);
    expect(await admit("a")).toMatchObject({ admitted: false, refused: { scope: "user", subject: "a" } });
    expect((await admit("b")).admitted).toBe(true);
    expect(await admit("b")).toMatchObject({
      admitted: false,
      refused: { scope: "team", subject: "t", used: 3 },
    });
  });

  it("reports the used-up limit that resets last, and starts a window over at its UTC boundary", async () => {
    const guard = freshGuard();
    const limits: QuotaLimit[] = [userPerMinute(1), { scope: "user", window: "day", limit: 2 }];
    const admit = (now: number) =>
      guard.admit({ userId: "u", vendor: "v", limits, now }) as Promise<QuotaAdmission>;
    expect((await admit(T0)).admitted).toBe(true);
    // One millisecond before the minute ends: still the same window.
    expect(await admit(NEXT_MINUTE - 1)).toMatchObject({
      admitted: false,
      refused: { window: "minute", resetAt: NEXT_MINUTE },
    });
    expect((await admit(NEXT_MINUTE)).admitted).toBe(true);
    // Both are used up now: the day's limit is the one to wait for.
    expect(await admit(NEXT_MINUTE + 60_000)).toMatchObject({
      admitted: false,
      refused: { window: "day", used: 2, limit: 2, resetAt: NEXT_DAY },
    });
    expect((await admit(NEXT_DAY)).admitted).toBe(true);
  });

  it("keeps its counts when the object is evicted, and sweeps ended windows on a new day", async () => {
    const guard = freshGuard();
    const limits: QuotaLimit[] = [{ scope: "user", window: "day", limit: 2 }];
    await guard.admit({ userId: "u", vendor: "v", limits, now: T0 });
    await evictDurableObject(guard);
    expect(await guard.admit({ userId: "u", vendor: "v", limits, now: T0 })).toMatchObject({
      admitted: true,
    });
    expect(await guard.admit({ userId: "u", vendor: "v", limits, now: T0 })).toMatchObject({
      admitted: false,
    });
    await guard.admit({ userId: "other", vendor: "v", limits, now: NEXT_DAY });
    const usage = await guard.usage({ userIds: ["u", "other"], limits, now: NEXT_DAY });
    expect(usage.map((u) => [u.subject, u.used])).toEqual([
      ["u", 0],
      ["other", 1],
    ]);
  });
});
