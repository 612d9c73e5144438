import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app.ts";
import { vendorNames } from "../../../src/bundle/registry.ts";
import type { McpToolRecipe, VendorBundle } from "../../../src/bundle/types.ts";
import { collectVendorHealth, vendorStatus } from "../../../src/health/vendors.ts";
import type { GuardSnapshot } from "../../../src/resilience/vendor-guard.ts";
import { bareBundle } from "../../support/bare-bundle.ts";
import { manualClock } from "../../support/clocks.ts";
import { mcpBundle, mcpTool, reviewAndWait } from "../../support/mcp-tools.ts";

const BASE = "http://gateway.test";

describe("GET /health/vendors", () => {
  it("reports every compiled vendor, all up before any traffic", async () => {
    const res = await exports.default.fetch(`${BASE}/health/vendors`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as {
      status: string;
      checkedAt: string;
      vendors: Record<string, unknown>;
    };
    expect(body.status).toBe("ok");
    expect(Number.isNaN(Date.parse(body.checkedAt))).toBe(false);
    expect(Object.keys(body.vendors).sort()).toEqual([...vendorNames()].sort());
    expect(body.vendors.faulty).toEqual({
      status: "up",
      breaker: {
        state: "closed",
        consecutiveFailures: 0,
        openedAt: null,
        retryAt: null,
        probesInFlight: 0,
        timesOpened: 0,
        callersOpen: 0,
      },
      consecutiveFailures: 0,
      lastSuccessAt: null,
      lastFailureAt: null,
      lastError: null,
      rateLimiter: { enabled: false, tokens: null, requestsPerSecond: null, burst: null },
      drift: { total: 0, tools: {} },
      counters: { admitted: 0, rejected: 0, successes: 0, failures: 0 },
    });
    // vendor.json enables the limiter for this one: a full bucket.
    expect((body.vendors["faulty-strict"] as { rateLimiter: unknown }).rateLimiter).toEqual({
      enabled: true,
      tokens: 2,
      requestsPerSecond: 5,
      burst: 2,
    });
  });

  it("answers other methods with a JSON 405", async () => {
    const res = await exports.default.fetch(`${BASE}/health/vendors`, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await res.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });

  it("a bad setting is a JSON invalid_configuration error naming it, not a crash", async () => {
    const app = createApp();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await app.fetch(
      new Request(`${BASE}/health/vendors`),
      { ...env, CIRCUIT_BREAKER_FAILURE_THRESHOLD: "many" },
      createExecutionContext(),
    );
    // Logged as the foreseen failure it is: code and message on one line, no stack.
    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    logged.mockRestore();
    expect(lines).toEqual([
      expect.objectContaining({
        level: "error",
        event: "gateway_error",
        code: "invalid_configuration",
        status: 500,
      }),
    ]);
    expect(lines[0]).not.toHaveProperty("stack");
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      error: {
        code: "invalid_configuration",
        message: expect.stringContaining(
          "CIRCUIT_BREAKER_FAILURE_THRESHOLD must be an integer from 1 to 1000",
        ),
        details: { setting: "CIRCUIT_BREAKER_FAILURE_THRESHOLD" },
      },
    });
  });
});

describe("GET /health/vendors for upstream MCP vendors", () => {
  const tool = mcpTool;
  it("reports changed definitions and withheld tools; OpenAPI vendors have no definitions field", async () => {
    const clock = manualClock(Date.UTC(2026, 11, 1));
    const changed = mcpBundle("health-mcp-changed", "withhold");
    const quiet = mcpBundle("health-mcp-quiet", "withhold");
    const review = (bundle: VendorBundle, tools: McpToolRecipe[]) => reviewAndWait(env, clock, bundle, tools);
    await review(changed, [tool("search", "a".repeat(64)), tool("send", "b".repeat(64))]);
    await review(quiet, [tool("search", "a".repeat(64))]);
    clock.advance(60_000);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await review(changed, [tool("search", "a".repeat(64)), tool("send", "c".repeat(64))]);
    warn.mockRestore();

    const body = await collectVendorHealth(env, [changed, quiet, bareBundle("health-openapi")]);
    expect(body.vendors["health-mcp-changed"]?.definitions).toEqual({
      changes: [
        {
          tool: "send",
          firstSeenHash: "b".repeat(64),
          currentHash: "c".repeat(64),
          firstSeenAt: "2026-12-01T00:00:00.000Z",
          changedAt: "2026-12-01T00:01:00.000Z",
        },
      ],
      withheld: ["send"],
    });
    expect(body.vendors["health-mcp-quiet"]?.definitions).toEqual({ changes: [], withheld: [] });
    expect(body.vendors["health-openapi"]).not.toHaveProperty("definitions");
    // The breaker's view decides the status; definition changes are reported beside it.
    expect(body.vendors["health-mcp-changed"]?.status).toBe("up");
  });

  it("an MCP vendor nothing is known about yet reports definitions null", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const body = await collectVendorHealth(
      { ...env, OAUTH_KV: { get: () => Promise.reject(new Error("KV down")) } as unknown as KVNamespace },
      [mcpBundle("health-mcp-unknown", "withhold")],
    );
    warn.mockRestore();
    expect(body.vendors["health-mcp-unknown"]?.definitions).toBeNull();
  });
});

describe("vendorStatus", () => {
  const snap = (state: GuardSnapshot["breaker"]["state"], consecutiveFailures: number) =>
    ({ breaker: { state, consecutiveFailures } }) as GuardSnapshot;
  it("down while open, degraded while half-open or failing, up otherwise", () => {
    expect(vendorStatus(snap("open", 5))).toBe("down");
    expect(vendorStatus(snap("half_open", 0))).toBe("degraded");
    expect(vendorStatus(snap("closed", 2))).toBe("degraded");
    expect(vendorStatus(snap("closed", 0))).toBe("up");
  });
});
