/**
 * An upstream MCP server that fails (500 with an HTML page, what a proxy in front of a crashed
 * app sends), hangs or stalls mid-stream, as the vendor `flaky`: JSON errors every time, the
 * breaker opens after CIRCUIT_BREAKER_FAILURE_THRESHOLD consecutive failures (3 in this project),
 * `/health/vendors` shows it down, and the other vendors (the demo OpenAPI vendor, another MCP
 * server) go on answering. A hang ends at the vendor's UPSTREAM_TIMEOUT (0.3 s) on the request's manual
 * clock: the test moves it once the upstream holds the request, so no real time is waited on.
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { VendorGuard } from "../../../src/resilience/vendor-guard.ts";
import worker from "../../../src/worker.ts";
import { withManualClocks } from "../../support/clocks.ts";
import { legacyRequest, readJsonRpc } from "../../worker/mcp/helpers.ts";
import { startRequest, toolsCallInit, until } from "../../worker/resilience/support.ts";
import { control, vendorHealth } from "./helpers.ts";

const flaky = inject("e2eDeployment").flaky;
const { env: testEnv, clocks } = withManualClocks(env);

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
}

/** One request into the Worker on manual clocks; answers once its waitUntil work (guard reports) is done. */
async function gateway(path: string, init?: RequestInit, drive?: () => Promise<void>): Promise<Response> {
  const { response, done } = startRequest(testEnv, path, init);
  await drive?.();
  await done;
  return response;
}

async function callTool(
  path: string,
  name: string,
  args: Record<string, unknown>,
  drive?: () => Promise<void>,
) {
  const res = await gateway(path, toolsCallInit(name, args), drive);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^(application\/json|text\/event-stream)/);
  const body = await readJsonRpc(res);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

/** The POST of one 2025-era `tools/list`. */
function listInit(): RequestInit {
  const request = legacyRequest("tools/list", {});
  return {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...request.headers },
    body: JSON.stringify(request.message),
  };
}

/** The JSON error of an `isError` result; never an HTML page. */
function errorOf(result: ToolResult): Record<string, unknown> {
  expect(result.isError).toBe(true);
  const text = result.content[0]?.text ?? "";
  expect(text).not.toMatch(/<(!doctype|html|body)/i);
  return JSON.parse(text) as Record<string, unknown>;
}

beforeAll(async () => {
  // The tool list, fetched while the server is healthy (cached per isolate, as in production).
  const res = await gateway("/v1/flaky/mcp", toolsCallInit("echo", { text: "warm" }));
  expect(res.status).toBe(200);
});

beforeEach(async () => {
  clocks.length = 0;
  const guard = env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName("flaky"));
  await runInDurableObject(guard, (instance: VendorGuard) => instance.reset());
});

afterEach(async () => {
  await control(flaky.origin, "heal");
});

describe("a failing upstream MCP server", () => {
  it("500 HTML pages become JSON errors; the breaker opens at the threshold; the vendor shows down", async () => {
    await control(flaky.origin, "fail");
    // `echo` is not annotated read-only or idempotent: a 500 may have run it, so no retry.
    for (let i = 1; i <= 3; i++) {
      const body = errorOf(await callTool("/v1/flaky/mcp", "echo", { text: `call ${i}` }));
      expect(body).toMatchObject({ error: "upstream_error", status: 500, vendor: "flaky", tool: "echo" });
    }
    const fast = errorOf(await callTool("/v1/mcp", "flaky_echo", { text: "after the threshold" }));
    expect(fast).toMatchObject({ error: "circuit_open", vendor: "flaky" });

    const vendors = await vendorHealth();
    expect(vendors.flaky).toMatchObject({
      status: "down",
      breaker: { state: "open", consecutiveFailures: 3 },
    });
    expect(vendors.demo).toMatchObject({ status: "up" });
    expect(vendors.stateless).toMatchObject({ status: "up" });
  });

  it("other vendors are unaffected while its breaker is open", async () => {
    await control(flaky.origin, "fail");
    for (let i = 0; i < 3; i++) await callTool("/v1/flaky/mcp", "echo", { text: "x" });
    expect((await vendorHealth()).flaky).toMatchObject({ status: "down" });

    const notes = await callTool("/v1/mcp", "demo_listNotes", {});
    expect(notes.isError).toBeFalsy();
    expect(notes.content[0]?.text).toContain("Welcome");
    const sum = await callTool("/v1/mcp", "stateless_add", { a: 1, b: 1 });
    expect(sum.isError).toBeFalsy();
    expect(sum.content[0]?.text).toBe(JSON.stringify({ sum: 2 }));
  });

  it("listing and an unknown tool stay JSON-RPC answers: the last known list, -32602", async () => {
    await control(flaky.origin, "fail");
    const list = await gateway("/v1/flaky/mcp", listInit());
    expect(list.status).toBe(200);
    const listed = await readJsonRpc(list);
    expect((listed.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toContain("echo");

    const unknown = await gateway("/v1/flaky/mcp", toolsCallInit("no_such_tool", {}));
    expect(unknown.status).toBe(200);
    const body = await readJsonRpc(unknown);
    expect(body.error).toMatchObject({ code: -32602, message: "Unknown tool: no_such_tool" });
  });
});

describe("the health cron on an MCP vendor", () => {
  it("pings the recovered server through the guard: failures below the threshold are cleared", async () => {
    await control(flaky.origin, "fail");
    for (let i = 0; i < 2; i++) await callTool("/v1/flaky/mcp", "echo", { text: "x" });
    expect((await vendorHealth()).flaky).toMatchObject({
      status: "degraded",
      breaker: { consecutiveFailures: 2 },
    });

    await control(flaky.origin, "heal");
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), testEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect((await vendorHealth()).flaky).toMatchObject({ status: "up", breaker: { consecutiveFailures: 0 } });
  });
});

describe("a hanging upstream MCP server", () => {
  it.each([
    ["hang", "never answers"],
    ["stall", "sends 200 event-stream headers, then nothing"],
  ])(
    "%s (%s): the call ends at UPSTREAM_TIMEOUT with a JSON error, counted as a breaker failure",
    async (mode) => {
      await control(flaky.origin, mode);
      const drive = async () => {
        await until(async () => (await control<{ hung: number }>(flaky.origin, "state", "GET")).hung >= 1);
        for (const clock of clocks) clock.advance(300);
      };
      const body = errorOf(await callTool("/v1/flaky/mcp", "echo", { text: mode }, drive));
      expect(body).toMatchObject({ error: "upstream_timeout", vendor: "flaky", tool: "echo" });
      expect(String(body.message)).toContain("UPSTREAM_TIMEOUT (0.3 s)");
      expect((await vendorHealth()).flaky).toMatchObject({
        breaker: { consecutiveFailures: 1 },
        lastError: { kind: "timeout" },
      });
    },
  );
});
