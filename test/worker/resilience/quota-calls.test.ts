/**
 * Quotas (GATEWAY_QUOTAS) through real tool calls: signed-in users call the fault upstream's
 * vendor through the Worker entry, the QuotaGuard Durable Object counts them, and the upstream
 * counts what reached it. Time is the injected clock (GATEWAY_TEST_CLOCK), so windows end when
 * the test says.
 */
import { env as baseEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import { validateConfiguration } from "../../../src/health/configuration.ts";
import { ADMISSION_TIMEOUT_MS } from "../../../src/resilience/guard-client.ts";
import { MAX_SPARE_UNITS, QUOTA_LEASE_MS, readQuotaUsage } from "../../../src/resilience/quota-client.ts";
import type { QuotaAdmitRequest, QuotaUsageRequest } from "../../../src/resilience/quota-guard.ts";
import type { QuotaUsage } from "../../../src/resilience/quota-types.ts";
import { type ManualClock, manualClock } from "../../support/clocks.ts";
import { authEnv, gatewayFetch, mcp, mcpResult, type TestEnv, tokensFor } from "../auth/helpers.ts";
import { startRequest, toolsCallInit, until, upstreamAttempts } from "./support.ts";

let days = 0;
/**
 * 12:00:30 UTC: half a minute into a minute window, 11.5 h before the day's reset, on a day of
 * its own (the objects' storage lives as long as the file), so no test sees another's counts.
 */
function clockAtHalfMinute(): ManualClock {
  const day = (Math.floor(Date.now() / 86_400_000) - ++days) * 86_400_000;
  return manualClock(day + 12 * 3_600_000 + 30_000);
}

interface CallResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
}

let base: TestEnv;
const tokens: Record<string, string> = {};
beforeAll(async () => {
  base = await authEnv();
  // Tokens come from one env; every test's env has the same users and KV, so they stay valid.
  for (const user of ["alice", "bob", "dave"] as const)
    tokens[user] = (await tokensFor(base, user)).access_token;
});

/** An env of the test's own (quota policy and guard leases are cached per env object). */
function quotaEnv(quotas: unknown, clock: ManualClock, more: Record<string, unknown> = {}): TestEnv {
  return {
    ...base,
    ...(quotas === undefined ? {} : { GATEWAY_QUOTAS: JSON.stringify(quotas) }),
    GATEWAY_TEST_CLOCK: clock,
    ...more,
  } as TestEnv;
}

async function call(env: TestEnv, user: string, key: string): Promise<CallResult> {
  return mcpResult<CallResult>(
    await mcp(env, "/v1/mcp", tokens[user], "tools/call", {
      name: "faulty_getFault",
      arguments: { key, mode: "ok" },
    }),
  );
}

function body(result: CallResult): Record<string, unknown> {
  return JSON.parse(result.content[0]?.text ?? "null") as Record<string, unknown>;
}

const freshKey = () => `quota-${crypto.randomUUID()}`;

describe("quotas through tool calls", () => {
  it("admits exactly the limit of 32 concurrent calls; the rest get the quota error and send nothing", async () => {
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ vendors: { faulty: { user: { perMinute: 7 } } } }, clock);
    const key = freshKey();
    const results = await Promise.all(Array.from({ length: 32 }, () => call(env, "alice", key)));
    const ok = results.filter((r) => !r.isError);
    const refused = results.filter((r) => r.isError);
    expect(ok).toHaveLength(7);
    expect(refused).toHaveLength(25);
    const resetAt = clock.now() + 30_000;
    for (const result of refused) {
      expect(body(result)).toEqual({
        error: "quota_exceeded",
        vendor: "faulty",
        tool: "getFault",
        message:
          "Quota exceeded: your limit of 7 calls per minute to faulty is used up (7 of 7). " +
          `It resets at ${new Date(resetAt).toISOString()} (in 30 s). Nothing was sent to faulty.`,
        quota: { scope: "user", window: "minute", vendor: "faulty", limit: 7, used: 7 },
        resetAt: new Date(resetAt).toISOString(),
        resetInSeconds: 30,
        retryAfterSeconds: 30,
      });
    }
    // None lost, none over: the upstream saw exactly the admitted calls.
    expect(await upstreamAttempts(key)).toBe(7);
  });

  it("counts a team's users together, each user alone, and a vendor's limit apart from the others", async () => {
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ user: { perMinute: 3 }, team: { perMinute: 4 } }, clock);
    const key = freshKey();
    expect((await call(env, "alice", key)).isError).toBeFalsy();
    expect((await call(env, "alice", key)).isError).toBeFalsy();
    expect((await call(env, "alice", key)).isError).toBeFalsy();
    expect(body(await call(env, "alice", key))).toMatchObject({
      quota: { scope: "user", limit: 3, used: 3 },
    });
    expect((await call(env, "bob", key)).isError).toBeFalsy();
    // Bob has used 1 of his 3, but the team's 4 are gone.
    expect(body(await call(env, "bob", key))).toMatchObject({
      error: "quota_exceeded",
      quota: { scope: "team", window: "minute", vendor: "all", limit: 4, used: 4 },
    });
    // Dave has no team: only his own limit.
    for (let i = 0; i < 3; i++) expect((await call(env, "dave", key)).isError).toBeFalsy();
    expect(await upstreamAttempts(key)).toBe(7);

    const perVendor = quotaEnv(
      { user: { perMinute: 100 }, vendors: { faulty: { user: { perMinute: 1 } } } },
      clock,
    );
    const other = freshKey();
    expect((await call(perVendor, "dave", other)).isError).toBeFalsy();
    expect(body(await call(perVendor, "dave", other))).toMatchObject({
      quota: { vendor: "faulty", limit: 1 },
    });
  });

  it("starts the minute over at the next UTC minute, and the day at 00:00 UTC", async () => {
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ user: { perMinute: 1, perDay: 2 } }, clock);
    const key = freshKey();
    expect((await call(env, "dave", key)).isError).toBeFalsy();
    clock.advance(29_999);
    expect(body(await call(env, "dave", key))).toMatchObject({
      quota: { window: "minute" },
      resetInSeconds: 1,
    });
    clock.advance(1);
    expect((await call(env, "dave", key)).isError).toBeFalsy();
    clock.advance(60_000);
    const daily = body(await call(env, "dave", key));
    expect(daily).toMatchObject({
      quota: { window: "day", limit: 2, used: 2 },
      resetInSeconds: 12 * 3600 - 120,
    });
    expect(daily.resetAt).toMatch(/T00:00:00\.000Z$/);
    // 12:02:00 now: the day ends in 11 h 58 min.
    clock.advance(12 * 3_600_000 - 120_000 - 1);
    expect((await call(env, "dave", key)).isError).toBe(true);
    clock.advance(1);
    expect((await call(env, "dave", key)).isError).toBeFalsy();
    expect(await upstreamAttempts(key)).toBe(3);
  });

  it("team overrides replace the defaults for that team; null lifts one", async () => {
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ user: { perMinute: 1 }, teams: { eng: { user: { perMinute: null } } } }, clock);
    const key = freshKey();
    for (let i = 0; i < 3; i++) expect((await call(env, "alice", key)).isError).toBeFalsy();
    expect((await call(env, "dave", key)).isError).toBeFalsy();
    expect((await call(env, "dave", key)).isError).toBe(true);
  });

  it("gateway_status shows the caller's usage, and readQuotaUsage the team's", async () => {
    const clock = clockAtHalfMinute();
    const env = quotaEnv(
      { user: { perDay: 50 }, team: { perMinute: 20 }, vendors: { faulty: { user: { perMinute: 5 } } } },
      clock,
    );
    const key = freshKey();
    await call(env, "alice", key);
    await call(env, "alice", key);
    await call(env, "bob", key);
    const status = await mcpResult<CallResult>(
      await mcp(env, "/v1/mcp", tokens.alice, "tools/call", { name: "gateway_status", arguments: {} }),
    );
    const quotas = status.structuredContent?.quotas as QuotaUsage[];
    const minute = clock.now() + 30_000;
    expect(quotas).toEqual([
      { scope: "user", subject: "alice", window: "day", used: 2, limit: 50, resetAt: expect.any(Number) },
      { scope: "team", subject: "eng", window: "minute", used: 3, limit: 20, resetAt: minute },
      {
        scope: "user",
        subject: "alice",
        vendor: "faulty",
        window: "minute",
        used: 2,
        limit: 5,
        resetAt: minute,
      },
    ]);
    expect(status.content[0]?.text).toContain(
      `Quota: 2 of 5 calls this minute (you, faulty); resets at ${new Date(minute).toISOString()}.`,
    );
    const team = await readQuotaUsage(env, "eng", clock);
    expect(team.map((u) => [u.scope, u.subject, u.vendor ?? "*", u.window, u.used])).toEqual([
      ["user", "alice", "*", "day", 2],
      ["user", "bob", "*", "day", 1],
      ["team", "eng", "*", "minute", 3],
      ["user", "alice", "faulty", "minute", 2],
      ["user", "bob", "faulty", "minute", 1],
    ]);
  });
});

/** A QUOTA_GUARD binding whose objects fail every call; `calls` counts what reached them. */
function failingGuard() {
  const calls: string[] = [];
  const fail = (name: string) => () => {
    calls.push(name);
    return Promise.reject(new Error("Durable Object is overloaded. Too many requests queued."));
  };
  const binding = {
    idFromName: (name: string) => baseEnv.QUOTA_GUARD.idFromName(name),
    get: () => ({ admit: fail("admit"), usage: fail("usage") }),
  };
  return { binding, calls };
}

describe("the quota guard on and off the call path", () => {
  it("without GATEWAY_QUOTAS no call reaches the quota guard", async () => {
    const guard = failingGuard();
    const env = quotaEnv(undefined, clockAtHalfMinute(), { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    const results = await Promise.all(Array.from({ length: 4 }, () => call(env, "alice", key)));
    expect(results.every((r) => !r.isError)).toBe(true);
    const status = await mcpResult<CallResult>(
      await mcp(env, "/v1/mcp", tokens.alice, "tools/call", { name: "gateway_status", arguments: {} }),
    );
    expect(status.structuredContent).not.toHaveProperty("quotas");
    expect(guard.calls).toEqual([]);
  });

  it("with quotas, a failing guard is asked once per call and the call goes ahead (fail open, logged)", async () => {
    const guard = failingGuard();
    const env = quotaEnv({ user: { perMinute: 1 } }, clockAtHalfMinute(), { QUOTA_GUARD: guard.binding });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = freshKey();
    try {
      const results = await Promise.all(Array.from({ length: 3 }, () => call(env, "alice", key)));
      expect(results.every((r) => !r.isError)).toBe(true);
      expect(guard.calls).toEqual(["admit", "admit", "admit"]);
      const events = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
      expect(events.filter((e) => e.event === "quota_guard_unavailable")).toHaveLength(3);
      expect(events.find((e) => e.event === "quota_guard_unavailable")).toMatchObject({
        vendor: "faulty",
        op: "admit",
        error: expect.stringContaining("overloaded"),
      });
    } finally {
      warn.mockRestore();
    }
    expect(await upstreamAttempts(key)).toBe(3);
  });

  it('with whenUnavailable "refuse", a failing guard refuses the call and nothing is sent', async () => {
    const guard = failingGuard();
    const env = quotaEnv({ user: { perMinute: 100 }, whenUnavailable: "refuse" }, clockAtHalfMinute(), {
      QUOTA_GUARD: guard.binding,
    });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = freshKey();
    try {
      expect(body(await call(env, "alice", key))).toMatchObject({
        error: "retry_later",
        retryAfterSeconds: 5,
      });
    } finally {
      warn.mockRestore();
    }
    expect(await upstreamAttempts(key)).toBe(0);
  });

  it("the first upstream request waits for the quota's answer: a silent guard holds it until the timeout", async () => {
    const calls: string[] = [];
    const binding = {
      idFromName: (name: string) => baseEnv.QUOTA_GUARD.idFromName(name),
      get: () => ({
        admit: () => {
          calls.push("admit");
          return new Promise(() => {});
        },
      }),
    };
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ user: { perMinute: 100 } }, clock, { QUOTA_GUARD: binding });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = freshKey();
    try {
      const pending = call(env, "alice", key);
      await until(() => calls.length === 1);
      // Arguments checked, request built, vendor guard admitted: only the quota's answer is missing.
      clock.advance(ADMISSION_TIMEOUT_MS - 1);
      expect(await upstreamAttempts(key)).toBe(0);
      clock.advance(1);
      expect((await pending).isError).toBeFalsy();
    } finally {
      warn.mockRestore();
    }
    expect(await upstreamAttempts(key)).toBe(1);
  });

  it("an upstream MCP server's vendor: a refused call sends it no tools/call", async () => {
    const clock = clockAtHalfMinute();
    const env = {
      ...baseEnv,
      GATEWAY_QUOTAS: '{"vendors":{"mcp-up":{"user":{"perMinute":2}}}}',
      GATEWAY_TEST_CLOCK: clock,
    };
    const traceId = crypto.randomUUID().replaceAll("-", "");
    const texts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const init = toolsCallInit("echo", { word: "quota" });
      const headers = new Headers(init.headers);
      headers.set("traceparent", `00-${traceId}-${"1".repeat(15)}${i}-01`);
      const { response, done } = startRequest(env, "/v1/mcp-up/mcp", { ...init, headers });
      texts.push(await (await response).text());
      await done;
    }
    expect(texts.filter((text) => text.includes("quota_exceeded"))).toHaveLength(2);
    const recorded = (await (await fetch(`${inject("mcpUpstreamOrigin")}/__requests?path=/`)).json()) as {
      rpcMethod?: string;
      method?: string;
      headers: Record<string, string>;
    }[];
    const ours = recorded.filter((r) => (r.headers.traceparent ?? "").includes(traceId));
    expect(ours.filter((r) => JSON.stringify(r).includes('"tools/call"'))).toHaveLength(2);
  });

  it("with client auth off every call counts as the one local user", async () => {
    const clock = clockAtHalfMinute();
    const env = { ...baseEnv, GATEWAY_QUOTAS: '{"user":{"perMinute":2}}', GATEWAY_TEST_CLOCK: clock };
    const key = freshKey();
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response, done } = startRequest(
        env,
        "/v1/faulty/mcp",
        toolsCallInit("getFault", { key, mode: "ok" }),
      );
      texts.push(await (await response).text());
      await done;
    }
    expect(texts.filter((text) => text.includes("quota_exceeded"))).toHaveLength(1);
    expect(await upstreamAttempts(key)).toBe(2);
  });
});

/** The real QUOTA_GUARD behind a binding that records the `want` of every `admit` reaching it. */
function countingGuard() {
  const wants: number[] = [];
  const binding = {
    idFromName: (name: string) => baseEnv.QUOTA_GUARD.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = baseEnv.QUOTA_GUARD.get(id);
      return {
        admit: (request: QuotaAdmitRequest) => {
          wants.push(request.want ?? 1);
          return stub.admit(request);
        },
        usage: (request: QuotaUsageRequest) => stub.usage(request),
      };
    },
  };
  return { binding, wants };
}

/** Alice's count in her per-minute limit now (the guard's own answer). */
async function aliceMinuteUsed(env: TestEnv, clock: ManualClock): Promise<number> {
  const usage = await readQuotaUsage(env, "eng", clock);
  return usage.find((u) => u.subject === "alice" && u.window === "minute")?.used ?? 0;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe("quota admission leases", () => {
  const LARGE = { user: { perMinute: 1000, perDay: 100_000 } };

  it("sequential calls under large limits share grants: a few admits, every call counted, none over", async () => {
    const guard = countingGuard();
    const clock = clockAtHalfMinute();
    const env = quotaEnv(LARGE, clock, { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    for (let i = 0; i < 40; i++) expect((await call(env, "alice", key)).isError).toBeFalsy();
    expect(await upstreamAttempts(key)).toBe(40);
    // One admit per call before leases; now the blocks grow with the isolate's pace up to the cap.
    expect(guard.wants.length).toBeLessThanOrEqual(10);
    expect(Math.max(...guard.wants)).toBe(MAX_SPARE_UNITS + 1);
    const used = await aliceMinuteUsed(env, clock);
    expect(used).toBe(sum(guard.wants));
    expect(used).toBeGreaterThanOrEqual(40);
    expect(used).toBeLessThanOrEqual(40 + MAX_SPARE_UNITS);
  });

  it("32 concurrent calls share grants instead of asking each", async () => {
    const guard = countingGuard();
    const clock = clockAtHalfMinute();
    const env = quotaEnv(LARGE, clock, { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    const results = await Promise.all(Array.from({ length: 32 }, () => call(env, "alice", key)));
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(await upstreamAttempts(key)).toBe(32);
    expect(guard.wants.length).toBeLessThanOrEqual(8);
    const used = await aliceMinuteUsed(env, clock);
    expect(used).toBeGreaterThanOrEqual(32);
    expect(used).toBeLessThanOrEqual(32 + MAX_SPARE_UNITS);
  });

  it("a leased limit still admits exactly its count: near it the calls go one by one", async () => {
    const guard = countingGuard();
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ user: { perMinute: 40 } }, clock, { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    const results: CallResult[] = [];
    for (let i = 0; i < 50; i++) results.push(await call(env, "alice", key));
    expect(results.filter((r) => !r.isError)).toHaveLength(40);
    expect(body(results[40] as CallResult)).toMatchObject({ quota: { limit: 40, used: 40 } });
    expect(await upstreamAttempts(key)).toBe(40);
    expect(await aliceMinuteUsed(env, clock)).toBe(40);
    // Blocks while far from the limit, single admissions near it, one admit per refused call.
    expect(Math.max(...guard.wants)).toBeGreaterThan(1);
    expect(guard.wants.slice(-12)).toEqual(Array(12).fill(1));
    expect(guard.wants.length).toBeLessThan(50);
  });

  /** Alice, 20 calls in under a large per-minute quota, so she holds a lease; `asked`: the guard's grants so far. */
  async function aliceLeased() {
    const guard = countingGuard();
    const clock = clockAtHalfMinute();
    const env = quotaEnv({ user: { perMinute: 1000 } }, clock, { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    for (let i = 0; i < 20; i++) await call(env, "alice", key);
    return { guard, clock, env, key, asked: guard.wants.length };
  }

  it("a small limit is admitted call by call", async () => {
    const guard = countingGuard();
    const env = quotaEnv({ user: { perMinute: 19 } }, clockAtHalfMinute(), { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    for (let i = 0; i < 10; i++) await call(env, "alice", key);
    expect(guard.wants).toEqual(Array(10).fill(1));
  });

  it("a lease ends at its window's end: the next call asks again and counts in the new window", async () => {
    const guard = countingGuard();
    const clock = clockAtHalfMinute();
    clock.advance(29_000); // 12:00:59: the minute ends within the lease time
    const env = quotaEnv({ user: { perMinute: 1000 } }, clock, { QUOTA_GUARD: guard.binding });
    const key = freshKey();
    for (let i = 0; i < 20; i++) await call(env, "alice", key);
    const asked = guard.wants.length;
    const before = await aliceMinuteUsed(env, clock);
    expect(before).toBeGreaterThan(20); // spare units left in the lease, counted
    clock.advance(999);
    await call(env, "alice", key);
    expect(guard.wants.length).toBe(asked);
    clock.advance(1);
    await call(env, "alice", key);
    expect(guard.wants.length).toBe(asked + 1);
    // The new minute holds only the new grant: the old lease's spare units stayed in the old one.
    expect(await aliceMinuteUsed(env, clock)).toBe(guard.wants.at(-1));
    expect(await upstreamAttempts(key)).toBe(22);
  });

  it("a lease ends QUOTA_LEASE_MS after its grant on the call's clock", async () => {
    const { guard, clock, env, key, asked } = await aliceLeased();
    clock.advance(QUOTA_LEASE_MS - 1);
    await call(env, "alice", key);
    expect(guard.wants.length).toBe(asked);
    clock.advance(1);
    await call(env, "alice", key);
    expect(guard.wants.length).toBe(asked + 1);
  });

  it("other quotas start without a lease: the first call asks the guard for itself alone", async () => {
    const { guard, clock, env, key, asked } = await aliceLeased();
    await call(env, "alice", key);
    expect(guard.wants.length).toBe(asked); // still leased under the old quotas
    const changed = quotaEnv({ user: { perMinute: 2000 } }, clock, { QUOTA_GUARD: guard.binding });
    await call(changed, "alice", key);
    expect(guard.wants.slice(asked)).toEqual([1]);
  });
});

describe("GATEWAY_QUOTAS validation", () => {
  const cases: [string, string, string][] = [
    ["not JSON", "{user:", "GATEWAY_QUOTAS: is not valid JSON"],
    ["a zero limit", '{"user":{"perMinute":0}}', "GATEWAY_QUOTAS: user.perMinute: at least 1"],
    ["a string limit", '{"team":{"perDay":"10"}}', "GATEWAY_QUOTAS: team.perDay: an integer"],
    ["a fraction", '{"user":{"perDay":1.5}}', "GATEWAY_QUOTAS: user.perDay: an integer"],
    ["an unknown window", '{"user":{"perHour":10}}', "GATEWAY_QUOTAS: user.perHour"],
    ["a bad vendor name", '{"vendors":{"Git Hub":{"user":{"perDay":1}}}}', "GATEWAY_QUOTAS: vendors.Git Hub"],
    [
      "an unknown team",
      '{"teams":{"sales":{"team":{"perDay":1}}}}',
      "GATEWAY_QUOTAS: teams.sales: GATEWAY_TEAMS does not define this team",
    ],
    [
      "a bad policy",
      '{"whenUnavailable":"maybe"}',
      'GATEWAY_QUOTAS: whenUnavailable: one of "admit", "refuse"',
    ],
  ];
  it.each(cases)("names the setting for %s", (_, value, message) => {
    const error = validateConfiguration({ ...base, GATEWAY_QUOTAS: value });
    expect(error?.code).toBe("invalid_configuration");
    expect(error?.message).toContain(message);
  });

  it("fails every route with the error naming GATEWAY_QUOTAS, /health with a 503", async () => {
    const env = { ...base, GATEWAY_QUOTAS: '{"user":{"perMinute":-1}}' } as TestEnv;
    const health = await gatewayFetch(env, "/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: "misconfigured",
      error: { code: "invalid_configuration", details: { setting: "GATEWAY_QUOTAS" } },
    });
  });

  it("accepts the documented example", () => {
    const example = {
      user: { perMinute: 60, perDay: 5000 },
      team: { perDay: 50000 },
      vendors: { github: { user: { perMinute: 10 } } },
      teams: { eng: { team: { perDay: 100000 }, vendors: { github: { user: { perMinute: null } } } } },
      whenUnavailable: "admit",
    };
    expect(validateConfiguration({ ...base, GATEWAY_QUOTAS: JSON.stringify(example) })).toBeUndefined();
  });
});
