/**
 * Requests that cannot be sent never reach the vendor's breaker: what no common
 * server would accept is refused as `invalid_arguments` before anything is sent
 * (src/upstream/request.ts), and what the runtime refuses to build is told apart
 * from a network failure (src/resilience/retry.ts). Before the fix, a
 * 100,000-character path parameter failed inside the runtime, was retried, and
 * every attempt counted as a breaker failure: two such calls opened the breaker
 * for every user.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { loadSettings, vendorSettings } from "../../../src/config.ts";
import { guardClient } from "../../../src/resilience/guard-client.ts";
import { resilientFetch } from "../../../src/resilience/retry.ts";
import type { VendorGuard } from "../../../src/resilience/vendor-guard.ts";
import {
  MAX_HEADER_LINE_BYTES,
  MAX_REQUEST_HEAD_BYTES,
  MAX_REQUEST_TARGET_BYTES,
} from "../../../src/upstream/request.ts";
import { sendUpstream } from "../../../src/upstream/send.ts";
import { bareBundle } from "../../support/bare-bundle.ts";
import { manualClock, withManualClocks } from "../../support/clocks.ts";
import { type JsonRpcResponse, readJsonRpc } from "../mcp/helpers.ts";
import { upstreamAttempts as attempts, startRequest, toolsCallInit } from "./support.ts";

const upstream = inject("faultUpstreamUrl");
const faultyGuard = () => env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName("faulty"));

/**
 * The gateway's env for this test: a manual clock per request (the fixture's 0.3 s UPSTREAM_TIMEOUT
 * cannot fire on a busy machine), and an env of its own, so no admission lease or held success of
 * an earlier test carries over (guard-client.ts keeps them per env and vendor).
 */
let testEnv: Env;

beforeEach(async () => {
  testEnv = withManualClocks(env).env;
  await runInDurableObject(faultyGuard(), (instance: VendorGuard) => {
    instance.now = () => Date.now();
    instance.reset();
  });
});

let n = 0;
const freshKey = () => `unsendable-${++n}-${crypto.randomUUID().slice(0, 8)}`;

async function toolsCall(tool: string, args: Record<string, unknown>): Promise<JsonRpcResponse> {
  const { response, done } = startRequest(testEnv, "/v1/faulty/mcp", toolsCallInit(tool, args));
  await done;
  const res = await response;
  expect(res.status).toBe(200);
  return readJsonRpc(res);
}

async function toolError(tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const body = await toolsCall(tool, args);
  const result = body.result as { isError?: boolean; content: { text: string }[] };
  expect(result.isError).toBe(true);
  return JSON.parse(result.content[0]!.text);
}

async function breaker() {
  return (await guardClient(testEnv, vendorSettings(loadSettings(env), bareBundle("faulty"))).snapshot())
    .breaker;
}

describe("requests too large to send", () => {
  it("a 100,000-character path parameter: invalid_arguments, nothing sent, the breaker never hears of it", async () => {
    const key = freshKey();
    // Threshold 5 with 3 retries: two calls used to count 8 failures and open the breaker.
    for (let i = 0; i < 3; i++) {
      const body = await toolError("getFault", { key, mode: "a".repeat(100_000) });
      expect(body).toMatchObject({ error: "invalid_arguments", vendor: "faulty", tool: "getFault" });
      expect(JSON.stringify(body.errors)).toContain(
        `at most ${MAX_REQUEST_TARGET_BYTES.toLocaleString("en-US")}`,
      );
    }
    expect(await attempts(key)).toBe(0);
    expect(await breaker()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    // Just under the limit is sent.
    const body = await toolsCall("getFault", { key, mode: `ok${"-".repeat(7_000)}` });
    expect(body.error).toBeUndefined();
    expect(await attempts(key)).toBe(1);
  });

  it("a header over the per-header limit, and headers over the total limit", async () => {
    const key = freshKey();
    const single = await toolError("postFaultIdempotent", {
      key,
      mode: "ok",
      Idempotency_Key: "k".repeat(MAX_HEADER_LINE_BYTES),
    });
    expect(single).toMatchObject({ error: "invalid_arguments" });
    expect(JSON.stringify(single.errors)).toMatch(/idempotency-key header would be 8,0\d\d bytes/i);
    // Each part fits its own limit; together they pass the request head's.
    const total = await toolError("postFaultIdempotent", {
      key,
      mode: "x".repeat(7_500),
      Idempotency_Key: "k".repeat(7_500),
    });
    expect(JSON.stringify(total.errors)).toContain(
      `at most ${MAX_REQUEST_HEAD_BYTES.toLocaleString("en-US")}`,
    );
    expect(await attempts(key)).toBe(0);
    expect(await breaker()).toMatchObject({ consecutiveFailures: 0 });
  });
});

describe("requests the runtime refuses to build", () => {
  it("are not retried and never count for the breaker, unlike a network failure", async () => {
    const vendor = `refused-locally-${freshKey()}`;
    const settings = vendorSettings(loadSettings({}), bareBundle(vendor, { resilience: { maxRetries: 3 } }));
    const clock = manualClock();
    const key = freshKey();
    let sends = 0;
    const result = await resilientFetch({
      env,
      settings,
      tool: { name: "fault", method: "GET" },
      deadline: clock.now() + 90_000,
      waitUntil: () => {},
      clock,
      // A GET with a body: the runtime's Request constructor refuses it before any I/O.
      send: ({ signal }) => {
        sends += 1;
        return sendUpstream(
          { method: "GET", url: new URL(`${upstream}/faults/${key}/ok`), headers: new Headers(), body: "x" },
          { fetch, signal, base: new URL(upstream) },
        );
      },
    });
    expect(result).toMatchObject({ kind: "failure", attempts: 0, failure: { code: "invalid_arguments" } });
    expect((result as { failure: { message: string } }).failure.message).toMatch(
      /^The runtime refused to build the upstream request \(.+\); nothing was sent to refused-locally-/,
    );
    expect(sends).toBe(1);
    expect(await attempts(key)).toBe(0);
    const snap = await guardClient(env, settings, { clock }).snapshot();
    expect(snap.breaker.consecutiveFailures).toBe(0);
    expect(snap.counters.failures).toBe(0);
  });
});
