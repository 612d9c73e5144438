/**
 * The vendor guard's Durable Object is down, failing or silent: what each route
 * does. Tool calls of vendors with shared credentials keep working without
 * breaker or rate limit (fail open, logged); `/health/vendors` answers JSON with
 * the vendor `unknown`; `/health` and `tools/list` do not need the guard. A
 * guard that never answers is given up on after ADMISSION_TIMEOUT_MS on the
 * call's clock, which the test drives (GATEWAY_TEST_CLOCK), so nothing here
 * waits on real time.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ADMISSION_TIMEOUT_MS } from "../../../src/resilience/guard-client.ts";
import { type ManualClock, manualClock } from "../../support/clocks.ts";
import { legacyRequest, readJsonRpc } from "../mcp/helpers.ts";
import { upstreamAttempts as attempts, startRequest, toolsCallInit, until } from "./support.ts";

type Outage = "namespace throws" | "calls reject" | "never answers";

/** A VENDOR_GUARD binding in the given state; `calls` counts what reached the stubs. */
function brokenGuard(outage: Outage) {
  const calls: string[] = [];
  const stubCall = (name: string) => () => {
    calls.push(name);
    return outage === "calls reject"
      ? Promise.reject(new Error("Durable Object is overloaded. Too many requests queued."))
      : new Promise(() => {});
  };
  const binding = {
    idFromName(name: string) {
      if (outage === "namespace throws") throw new Error("Durable Object namespace unavailable");
      return env.VENDOR_GUARD.idFromName(name);
    },
    get() {
      return {
        admit: stubCall("admit"),
        record: stubCall("record"),
        recordDrift: stubCall("recordDrift"),
        snapshot: stubCall("snapshot"),
      };
    },
  };
  return { binding, calls };
}

/** An env of its own per test, so no admission lease of an earlier test carries over (guard-client.ts keeps them per env). */
function gatewayEnv(outage: Outage, clock: ManualClock) {
  const guard = brokenGuard(outage);
  return {
    env: { ...env, VENDOR_GUARD: guard.binding, GATEWAY_TEST_CLOCK: clock } as unknown as Env,
    calls: guard.calls,
  };
}

describe.each<Outage>(["namespace throws", "calls reject", "never answers"])(
  "vendor guard outage: %s",
  (outage) => {
    it("tools/call of a vendor with shared credentials keeps working (fail open)", async () => {
      const clock = manualClock();
      const g = gatewayEnv(outage, clock);
      const key = `outage-${crypto.randomUUID()}`;
      const { response, done } = startRequest(
        g.env,
        "/v1/faulty/mcp",
        toolsCallInit("getFault", { key, mode: "ok" }),
      );
      if (outage === "never answers") {
        await until(() => g.calls.includes("admit"));
        // Both bounds run on the call's clock, not on real time: the TOOL_EXECUTION_TIMEOUT
        // deadline and the admission timeout. A slow machine cannot make either fire.
        expect(clock.pendingTimers()).toBe(2);
        // Just short of the admission timeout the call is still waiting for the guard.
        clock.advance(ADMISSION_TIMEOUT_MS - 1);
        expect(await attempts(key)).toBe(0);
        clock.advance(1);
      }
      const res = await response;
      expect(res.status).toBe(200);
      const body = await readJsonRpc(res);
      const result = body.result as { isError?: boolean; structuredContent?: unknown };
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({ ok: true, attempt: 1 });
      expect(await attempts(key)).toBe(1);
      // The outcome report is bounded the same way: the call's waitUntil work ends.
      if (outage === "never answers") {
        await until(() => g.calls.includes("record"));
        clock.advance(ADMISSION_TIMEOUT_MS);
      }
      await done;
    });

    it("logs the outage as guard_unavailable with the request's id", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      try {
        const clock = manualClock();
        const g = gatewayEnv(outage, clock);
        const key = `outage-log-${crypto.randomUUID()}`;
        const requestId = `req-outage-${crypto.randomUUID()}`;
        const init = toolsCallInit("getFault", { key, mode: "ok" });
        const { response, done } = startRequest(g.env, "/v1/faulty/mcp", {
          ...init,
          headers: { ...(init.headers as Record<string, string>), "x-request-id": requestId },
        });
        if (outage === "never answers") {
          await until(() => g.calls.includes("admit"));
          clock.advance(ADMISSION_TIMEOUT_MS);
        }
        expect((await response).status).toBe(200);
        if (outage === "never answers") {
          await until(() => g.calls.includes("record"));
          clock.advance(ADMISSION_TIMEOUT_MS);
        }
        await done;
        const lines = warn.mock.calls
          .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
          .filter((line) => line.event === "guard_unavailable");
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) expect(line).toMatchObject({ requestId, vendor: "faulty" });
      } finally {
        warn.mockRestore();
      }
    });

    it("/health/vendors answers JSON 200 with every vendor unknown, never a 500 or HTML", async () => {
      const clock = manualClock();
      const g = gatewayEnv(outage, clock);
      const { response } = startRequest(g.env, "/health/vendors");
      if (outage === "never answers") {
        await until(() => clock.pendingTimers() > 0 && g.calls.length === clock.pendingTimers());
        clock.advance(ADMISSION_TIMEOUT_MS);
      }
      const res = await response;
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await res.json()) as { status: string; vendors: Record<string, Record<string, unknown>> };
      expect(body.status).toBe("degraded");
      expect(body.vendors.faulty).toMatchObject({
        status: "unknown",
        breaker: null,
        consecutiveFailures: null,
        error: expect.stringMatching(/^vendor guard unavailable: /),
      });
      expect(Object.values(body.vendors).every((v) => v.status === "unknown")).toBe(true);
    });

    it("/health and tools/list do not need the guard", async () => {
      const clock = manualClock();
      const g = gatewayEnv(outage, clock);
      const health = await startRequest(g.env, "/health").response;
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok" });
      const list = legacyRequest("tools/list", {});
      const tools = await startRequest(g.env, "/v1/faulty/mcp", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...list.headers },
        body: JSON.stringify(list.message),
      }).response;
      expect(tools.status).toBe(200);
      expect(((await readJsonRpc(tools)).result as { tools: unknown[] }).tools.length).toBeGreaterThan(0);
      expect(g.calls).toEqual([]);
    });
  },
);
