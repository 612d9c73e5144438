/**
 * One caller cannot open a shared vendor's breaker for the others (client auth
 * on): tools/call as two signed-in users against the fault upstream, the real
 * VendorGuard behind them. Alice's failures alone open a breaker for Alice; Bob
 * is still served. Failures of both open the vendor's breaker for everyone.
 */
import { runInDurableObject } from "cloudflare:test";
import { env as baseEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { VendorGuard } from "../../../src/resilience/vendor-guard.ts";
import { withManualClocks } from "../../support/clocks.ts";
import { authEnv, gatewayFetch, mcp, mcpResult, type TestEnv, tokensFor } from "../auth/helpers.ts";
import { upstreamAttempts as attempts } from "./support.ts";

let baseTestEnv: TestEnv;
let env: TestEnv;
let alice: string;
let bob: string;
beforeAll(async () => {
  // A manual clock per request: the fixture's 0.3 s UPSTREAM_TIMEOUT cannot fire on a busy machine.
  baseTestEnv = withManualClocks(await authEnv()).env;
  alice = (await tokensFor(baseTestEnv, "alice")).access_token;
  bob = (await tokensFor(baseTestEnv, "bob")).access_token;
});

beforeEach(async () => {
  // An env of its own per test: no admission lease or held success of an earlier test carries over
  // (guard-client.ts keeps them per env and vendor).
  env = { ...baseTestEnv };
  const stub = baseEnv.VENDOR_GUARD.get(baseEnv.VENDOR_GUARD.idFromName("faulty"));
  await runInDurableObject(stub, (instance: VendorGuard) => {
    instance.now = () => Date.now();
    instance.reset();
  });
});

let n = 0;
const freshKey = () => `caller-${++n}-${crypto.randomUUID().slice(0, 8)}`;

interface CallResult {
  isError?: boolean;
  content: { text: string }[];
}

/** `faulty_getFault` as `token`'s user; the number of upstream attempts it made. */
async function getFault(token: string, mode: string) {
  const key = freshKey();
  const result = await mcpResult<CallResult>(
    await mcp(env, "/v1/mcp", token, "tools/call", { name: "faulty_getFault", arguments: { key, mode } }),
  );
  const body = result.isError ? (JSON.parse(result.content[0]!.text) as Record<string, unknown>) : undefined;
  return {
    ok: !result.isError,
    error: body?.error,
    message: body?.message,
    upstreamAttempts: await attempts(key),
  };
}

async function faultyHealth(): Promise<Record<string, unknown>> {
  const res = await gatewayFetch(env, "/health/vendors");
  return ((await res.json()) as { vendors: Record<string, Record<string, unknown>> }).vendors.faulty!;
}

describe("per-caller breakers through tools/call (threshold 5, 3 retries)", () => {
  it("one caller's failures open a breaker for that caller only; the other caller is served", async () => {
    expect(await getFault(alice, "status-503")).toMatchObject({
      error: "upstream_error",
      upstreamAttempts: 4,
    });
    // The 5th failure opens Alice's own breaker: her retry is refused.
    expect(await getFault(alice, "status-503")).toMatchObject({ error: "circuit_open", upstreamAttempts: 1 });
    const refused = await getFault(alice, "ok");
    expect(refused).toMatchObject({ error: "circuit_open", upstreamAttempts: 0 });
    expect(refused.message).toMatch(/faulty is failing/);

    expect(await getFault(bob, "ok")).toMatchObject({ ok: true, upstreamAttempts: 1 });
    const health = await faultyHealth();
    expect(health).toMatchObject({ breaker: { state: "closed", timesOpened: 0, callersOpen: 1 } });
    // Bob's success ended the streak; Alice stays refused until her own timeout.
    expect(await getFault(alice, "ok")).toMatchObject({ error: "circuit_open", upstreamAttempts: 0 });
  });

  it("failures of two callers open the vendor's breaker for everyone", async () => {
    await getFault(alice, "status-503"); // 4 failures, Alice only
    expect(await getFault(bob, "status-503")).toMatchObject({ error: "circuit_open", upstreamAttempts: 1 });
    expect(await faultyHealth()).toMatchObject({
      status: "down",
      breaker: { state: "open", timesOpened: 1 },
    });
    expect(await getFault(bob, "ok")).toMatchObject({ error: "circuit_open", upstreamAttempts: 0 });
    expect(await getFault(alice, "ok")).toMatchObject({ error: "circuit_open", upstreamAttempts: 0 });
  });

  it("the guard never sees a user id, only an opaque key", async () => {
    await getFault(alice, "status-503");
    await getFault(alice, "status-503");
    const stub = baseEnv.VENDOR_GUARD.get(baseEnv.VENDOR_GUARD.idFromName("faulty"));
    const stored = await runInDurableObject(stub, (_instance: VendorGuard, state) =>
      JSON.stringify([...state.storage.kv.list()]),
    );
    expect(stored).not.toContain("alice");
    expect(stored).toMatch(/"[0-9a-f]{32}":\{"state":"open"/);
  });
});
