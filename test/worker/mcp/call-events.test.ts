/**
 * The `tool_call` and `request` log events (src/mcp/call-report.ts, src/errors.ts): every outcome
 * the gateway produces today gives exactly one `tool_call` event with the documented fields, from
 * real calls into the Worker against the real local upstreams (the fault upstream,
 * test/support/fault-upstream.ts; the echoing upstream, test/support/upstream-server.ts; the MCP
 * upstream, test/support/mcp-upstream-server.ts). Every request gets its own manual clock, so the
 * timeouts fire when the test moves time. Also: no secret or argument in any log line (unless the
 * vendor opts in, and then scrubbed), and a client's trace reaches the upstream and the events.
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { CALL_OUTCOMES } from "../../../src/call-outcome.ts";
import { failureOutcome, TOOL_ERROR_OUTCOMES } from "../../../src/mcp/call-report.ts";
import type { VendorGuard } from "../../../src/resilience/vendor-guard.ts";
import { TOOL_ERROR_CODES } from "../../../src/tool-error.ts";
import { withManualClocks } from "../../support/clocks.ts";
import { UPSTREAM_TEST_SECRETS } from "../../support/upstream-bindings.ts";
import { startRequest, timeOutEachAttempt } from "../resilience/support.ts";
import { BASE, call, legacyRequest, modernRequest, readJsonRpc } from "./helpers.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const mcpUpstream = inject("mcpUpstreamOrigin");

type Line = Record<string, unknown>;

/** Every line the logger wrote during the test, parsed (info lines go to console.log). */
let lines: () => Line[];
beforeEach(() => {
  const spies = [
    vi.spyOn(console, "log").mockImplementation(() => {}),
    vi.spyOn(console, "warn").mockImplementation(() => {}),
    vi.spyOn(console, "error").mockImplementation(() => {}),
  ];
  lines = () => spies.flatMap((spy) => spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Line));
});
afterEach(() => vi.restoreAllMocks());

const { env: testEnv, clocks } = withManualClocks(env);

let n = 0;
const freshId = () => `events-${++n}-${crypto.randomUUID().slice(0, 8)}`;

/** One 2025-era tools/call with our own request id; answers once its waitUntil work is done. */
async function toolsCall(
  path: string,
  name: string,
  args: Record<string, unknown>,
  options: {
    headers?: Record<string, string>;
    drive?: (requestId: string) => Promise<void>;
    env?: object;
  } = {},
): Promise<{ requestId: string; status: number; result: Record<string, unknown> | undefined }> {
  const requestId = freshId();
  const request = legacyRequest("tools/call", { name, arguments: args });
  const { response, done } = startRequest(options.env ?? testEnv, path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      "x-request-id": requestId,
      ...request.headers,
      ...options.headers,
    },
    body: JSON.stringify(request.message),
  });
  await options.drive?.(requestId);
  const res = await response;
  await done;
  const body = res.status === 200 ? await readJsonRpc(res) : undefined;
  return { requestId, status: res.status, result: body?.result as Record<string, unknown> | undefined };
}

function eventsOf(event: string, requestId: string): Line[] {
  return lines().filter((line) => line.event === event && line.requestId === requestId);
}

/** The request's one tool_call event, checked against the documented schema (README "Logs"). */
function toolCallEvent(requestId: string): Line {
  const events = eventsOf("tool_call", requestId);
  expect(events).toHaveLength(1);
  const event = events[0]!;
  expect(event.level).toBe("info");
  expect(new Date(String(event.time)).toISOString()).toBe(event.time);
  expect(event.traceId).toMatch(/^[0-9a-f]{32}$/);
  for (const field of ["endpoint", "vendor", "tool", "protocolVersion"])
    expect(typeof event[field]).toBe("string");
  expect(CALL_OUTCOMES).toContain(event.outcome);
  for (const field of ["attempts", "totalMs", "upstreamMs", "requestBytes", "responseBytes"]) {
    expect(Number.isInteger(event[field]) && (event[field] as number) >= 0, field).toBe(true);
  }
  if (event.outcome === "ok") expect(event.errorCode).toBeUndefined();
  else expect(TOOL_ERROR_CODES).toContain(event.errorCode);
  const allowed = new Set([
    "level",
    "event",
    "time",
    "requestId",
    "traceId",
    "userId",
    "teamId",
    "clientName",
    "clientVersion",
    "endpoint",
    "vendor",
    "tool",
    "protocolVersion",
    "outcome",
    "errorCode",
    "upstreamStatus",
    "attempts",
    "totalMs",
    "upstreamMs",
    "requestBytes",
    "responseBytes",
    "arguments",
  ]);
  for (const key of Object.keys(event)) expect(allowed.has(key), key).toBe(true);
  return event;
}

function guard(vendor: string) {
  return env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName(vendor));
}

beforeEach(async () => {
  clocks.length = 0;
  await runInDurableObject(guard("faulty"), (instance: VendorGuard) => {
    instance.now = () => Date.now();
    instance.reset();
  });
});

const fault = (mode: string, options: Parameters<typeof toolsCall>[3] = {}) =>
  toolsCall("/v1/faulty/mcp", "getFault", { key: freshId(), mode }, options);

// First in the file: the isolate's cached list of mcp-up must not exist yet.
describe("the trace of a shared, cached upstream fetch", () => {
  it("is the trace of the request that triggered the upstream MCP server's tools/list", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const { status } = await call("/v1/mcp-up/mcp", legacyRequest("tools/list"), {
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    expect(status).toBe(200);
    const recorded = (await (await fetch(`${mcpUpstream}/__requests?path=/stateful-sse`)).json()) as Array<{
      method?: string;
      rpcMethod?: string;
      headers: Record<string, string>;
    }>;
    const listings = recorded.filter((r) => r.rpcMethod === "tools/list");
    expect(listings.length).toBeGreaterThan(0);
    expect(listings.some((r) => r.headers.traceparent?.startsWith(`00-${traceId}-`))).toBe(true);
  });
});

describe("one tool_call event per tools/call, for every outcome", () => {
  it("ok: the upstream's status, one attempt, its time and both bodies' sizes", async () => {
    const { requestId, result } = await fault("ok");
    expect(result?.isError).toBeFalsy();
    expect(toolCallEvent(requestId)).toMatchObject({
      requestId,
      endpoint: "faulty",
      vendor: "faulty",
      tool: "getFault",
      protocolVersion: "2025-11-25",
      outcome: "ok",
      upstreamStatus: 200,
      attempts: 1,
      requestBytes: 0,
    });
    expect(toolCallEvent(requestId).responseBytes).toBe(JSON.stringify({ ok: true, attempt: 1 }).length);
    expect(toolCallEvent(requestId).userId).toBeUndefined();
  });

  it("tool_error: a 4xx the model can fix, not retried", async () => {
    const { requestId } = await fault("status-404");
    expect(toolCallEvent(requestId)).toMatchObject({
      outcome: "tool_error",
      errorCode: "upstream_error",
      upstreamStatus: 404,
      attempts: 1,
    });
  });

  it("upstream_error: a 5xx after every retry, each attempt counted", async () => {
    const { requestId } = await fault("status-500");
    expect(toolCallEvent(requestId)).toMatchObject({
      outcome: "upstream_error",
      errorCode: "upstream_error",
      upstreamStatus: 500,
      attempts: 4,
    });
  });

  it("rate_limited: the upstream's 429 after every retry", async () => {
    const { requestId } = await fault("status-429");
    expect(toolCallEvent(requestId)).toMatchObject({
      outcome: "rate_limited",
      upstreamStatus: 429,
      attempts: 4,
    });
  });

  it("rate_limited: the vendor's own token bucket cannot serve the call in time, nothing sent", async () => {
    // One token, refilled every 100 s: the second call would wait past TOOL_EXECUTION_TIMEOUT (90 s).
    const limited = {
      ...testEnv,
      RATE_LIMITING: "enabled",
      RATE_LIMIT_REQUESTS_PER_SECOND: "0.01",
      RATE_LIMIT_BURST: "1",
    };
    const call = () =>
      toolsCall("/v1/faulty/mcp", "getFault", { key: freshId(), mode: "ok" }, { env: limited });
    expect(toolCallEvent((await call()).requestId)).toMatchObject({ outcome: "ok", attempts: 1 });
    const { requestId } = await call();
    expect(toolCallEvent(requestId)).toMatchObject({
      vendor: "faulty",
      outcome: "rate_limited",
      errorCode: "rate_limited",
      attempts: 0,
    });
  });

  it("invalid_arguments: nothing sent, no attempt", async () => {
    const { requestId } = await toolsCall("/v1/faulty/mcp", "getFault", { key: 1 });
    expect(toolCallEvent(requestId)).toMatchObject({
      outcome: "invalid_arguments",
      errorCode: "invalid_arguments",
      attempts: 0,
      upstreamMs: 0,
      responseBytes: 0,
    });
    expect(toolCallEvent(requestId).upstreamStatus).toBeUndefined();
  });

  it("invalid_arguments: an unknown tool of a known vendor (a protocol error), the name never logged", async () => {
    const { requestId, status } = await toolsCall("/v1/mcp", "faulty_noSuchTool-secret-name", {});
    expect(status).toBe(200);
    expect(toolCallEvent(requestId)).toMatchObject({
      endpoint: "unified",
      vendor: "faulty",
      tool: "(unknown)",
      outcome: "invalid_arguments",
      errorCode: "unknown_operation",
      attempts: 0,
    });
    expect(JSON.stringify(lines())).not.toContain("secret-name");
    // A name without a known vendor names no vendor: no event.
    const other = await toolsCall("/v1/mcp", "nosuchvendor_tool", {});
    expect(eventsOf("tool_call", other.requestId)).toHaveLength(0);
  });

  it("breaker_open: refused by the open breaker without an attempt", async () => {
    await fault("status-503"); // 4 failures
    const opening = await fault("status-503"); // the 5th opens the breaker; its retry is refused
    expect(toolCallEvent(opening.requestId)).toMatchObject({
      outcome: "breaker_open",
      errorCode: "circuit_open",
      attempts: 1,
      upstreamStatus: 503,
    });
    const { requestId } = await fault("ok");
    expect(toolCallEvent(requestId)).toMatchObject({
      outcome: "breaker_open",
      errorCode: "circuit_open",
      attempts: 0,
      upstreamMs: 0,
    });
  });

  it("timeout: every attempt past UPSTREAM_TIMEOUT, the upstream time on the call's clock", async () => {
    const key = freshId();
    const { requestId } = await toolsCall(
      "/v1/faulty/mcp",
      "getFault",
      { key, mode: "hang" },
      { drive: () => timeOutEachAttempt(key, 4, 300, () => clocks) },
    );
    const event = toolCallEvent(requestId);
    expect(event).toMatchObject({ outcome: "timeout", errorCode: "upstream_timeout", attempts: 4 });
    // Four attempts of 300 ms each on the manual clock: time the test moved, nothing else.
    expect(event.upstreamMs).toBe(1200);
    expect(event.totalMs as number).toBeGreaterThanOrEqual(1200);
  });

  it("an upstream MCP server's call: bytes of the JSON-RPC exchange, status 200", async () => {
    const { requestId, result } = await toolsCall("/v1/mcp-up/mcp", "echo", { word: "hi" });
    expect(result?.isError).toBeFalsy();
    const event = toolCallEvent(requestId);
    expect(event).toMatchObject({
      vendor: "mcp-up",
      tool: "echo",
      outcome: "ok",
      upstreamStatus: 200,
      attempts: 1,
    });
    expect(event.requestBytes as number).toBeGreaterThan(JSON.stringify({ word: "hi" }).length);
    expect(event.responseBytes as number).toBeGreaterThan(0);
  });

  it("a 2026-07-28 request names its client and revision from its envelope", async () => {
    const requestId = freshId();
    const { status } = await call(
      "/v1/mcp",
      modernRequest(
        "tools/call",
        { name: "faulty_getFault", arguments: { key: freshId(), mode: "ok" } },
        "faulty_getFault",
      ),
      { headers: { "x-request-id": requestId } },
    );
    expect(status).toBe(200);
    expect(toolCallEvent(requestId)).toMatchObject({
      endpoint: "unified",
      tool: "getFault",
      protocolVersion: "2026-07-28",
      clientName: "gateway-tests",
      clientVersion: "1.0.0",
    });
  });

  it("quota_exceeded: the quota guard refuses the call, nothing sent", async () => {
    // A per-vendor quota of one call a minute for the (local) user: the second call is refused.
    const quotaEnv = { ...testEnv, GATEWAY_QUOTAS: '{"vendors":{"faulty":{"user":{"perMinute":1}}}}' };
    const first = await fault("ok", { env: quotaEnv });
    expect(toolCallEvent(first.requestId)).toMatchObject({ outcome: "ok", attempts: 1 });
    const second = await fault("ok", { env: quotaEnv });
    expect(second.result?.isError).toBe(true);
    const event = toolCallEvent(second.requestId);
    expect(event).toMatchObject({ outcome: "quota_exceeded", errorCode: "quota_exceeded", attempts: 0 });
    expect(event.upstreamStatus).toBeUndefined();
    expect(eventsOf("tool_call", second.requestId)).toHaveLength(1);
  });

  it("every outcome but ok and tool_error is some tool error code's", () => {
    expect(TOOL_ERROR_OUTCOMES.quota_exceeded).toBe("quota_exceeded");
    expect(failureOutcome({ code: "quota_exceeded" })).toBe("quota_exceeded");
    // Every outcome but `ok` and `tool_error` (an answered call) is some code's.
    const reached = new Set(Object.values(TOOL_ERROR_OUTCOMES));
    for (const outcome of CALL_OUTCOMES.filter((o) => o !== "ok" && o !== "tool_error")) {
      expect(reached.has(outcome), outcome).toBe(true);
    }
  });
});

describe("the request event", () => {
  it("one per request: the route pattern, status, duration and ids, on MCP and other routes", async () => {
    const { requestId } = await fault("ok");
    const [mcp] = eventsOf("request", requestId);
    expect(eventsOf("request", requestId)).toHaveLength(1);
    expect(mcp).toMatchObject({
      level: "info",
      method: "POST",
      route: "/v1/:vendor/mcp",
      status: 200,
      endpoint: "faulty",
      mcpMethod: "tools/call",
      traceId: toolCallEvent(requestId).traceId,
    });
    expect(Number.isInteger(mcp?.durationMs)).toBe(true);

    const missing = await exports.default.fetch(`${BASE}/no/such/path/42`, {
      headers: { "x-request-id": "events-missing-1", traceparent: TRACEPARENT },
    });
    expect(missing.status).toBe(404);
    // Every route's JSON error carries the trace id now, not only the MCP endpoints'.
    expect(((await missing.json()) as { error: { traceId?: string } }).error.traceId).toBe(TRACE_ID);
    expect(eventsOf("request", "events-missing-1")).toEqual([
      expect.objectContaining({ method: "GET", route: "(none)", status: 404, traceId: TRACE_ID }),
    ]);
    const health = await exports.default.fetch(`${BASE}/health/vendors`, {
      headers: { "x-request-id": "events-health-1" },
    });
    expect(health.status).toBe(200);
    expect(eventsOf("request", "events-health-1")).toEqual([
      expect.objectContaining({ route: "/health/vendors", status: 200 }),
    ]);
  });
});

describe("no secret or argument in any log line", () => {
  const ARGUMENT_SECRET = "arg-value-SUPERSECRET-77";

  it("keeps credentials and argument values out of every line; an opted-in vendor's arguments are scrubbed", async () => {
    // mcp-alpha does not log arguments: the value never appears.
    const plain = await toolsCall("/v1/mcp", "mcp-alpha_getItem", { itemId: ARGUMENT_SECRET });
    expect(toolCallEvent(plain.requestId).arguments).toBeUndefined();
    // up-secrets opts in (vendor.json logArguments): the arguments appear, its API key does not,
    // even where a client sends it as an argument, and the upstream's echo of it neither.
    const opted = await toolsCall("/v1/up-secrets/mcp", "leakHeaderKey", { mode: "body" });
    expect(toolCallEvent(opted.requestId)).toMatchObject({ outcome: "ok", arguments: '{"mode":"body"}' });
    const smuggled = await toolsCall("/v1/up-secrets/mcp", "leakHeaderKey", {
      mode: `x${UPSTREAM_TEST_SECRETS.UP_SECRETS_API_KEY}`,
    });
    expect(toolCallEvent(smuggled.requestId).arguments).toBe('{"mode":"x[REDACTED]"}');
    for (const mode of ["error-text", "error-500", "status-line"]) {
      await toolsCall("/v1/up-secrets/mcp", "leakBearer", { mode });
      await toolsCall("/v1/up-secrets/mcp", "leakQueryKey", { mode });
    }
    const written = lines().map((line) => JSON.stringify(line));
    expect(written.length).toBeGreaterThan(10);
    for (const secret of [
      ARGUMENT_SECRET,
      ...Object.values(UPSTREAM_TEST_SECRETS).filter((s) => s.length > 8),
    ]) {
      for (const line of written) expect(line).not.toContain(secret);
      expect(written.join("\n")).not.toContain(encodeURIComponent(secret));
    }
  });
});

describe("a client's trace", () => {
  it("from a v1 SDK client reaches the upstream and both events; the SDK's initialize names the client", async () => {
    const client = new Client(
      { name: "trace-tests", version: "2.3.4" },
      { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
    );
    // A custom fetch adds the header, as an instrumented client does.
    const traced = (url: string | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set("traceparent", TRACEPARENT);
      return exports.default.fetch(url, { ...init, headers });
    };
    await client.connect(new StreamableHTTPClientTransport(new URL(`${BASE}/v1/mcp`), { fetch: traced }));
    try {
      const result = (await client.callTool({ name: "mcp-alpha_getItem", arguments: { itemId: "5" } })) as {
        content: { text: string }[];
      };
      const echoed = JSON.parse(result.content[0]!.text) as { headers: Record<string, string> };
      expect(echoed.headers.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    } finally {
      await client.close();
    }
    const [event] = lines().filter((line) => line.event === "tool_call");
    expect(event).toMatchObject({ traceId: TRACE_ID, vendor: "mcp-alpha", tool: "getItem", outcome: "ok" });
    const requests = lines().filter((line) => line.event === "request");
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const request of requests) expect(request.traceId).toBe(TRACE_ID);
    expect(requests.find((r) => r.mcpMethod === "initialize")).toMatchObject({
      clientName: "trace-tests",
      clientVersion: "2.3.4",
    });
    expect(requests.find((r) => r.mcpMethod === "tools/call")).toMatchObject({
      route: "/v1/mcp",
      status: 200,
    });
  });
});
