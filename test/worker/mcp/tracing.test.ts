/**
 * W3C Trace Context through the gateway (src/trace-context.ts): the client's `traceparent`
 * (header or `_meta`) reaches the real local upstreams — the OpenAPI echo server
 * (test/support/upstream-server.ts) and the MCP fixture's `echo` tool
 * (test/support/mcp-upstream-server.ts) — with the same trace id and a new span id; an invalid
 * one starts a new trace; the trace id is in error answers and log events.
 */
import { exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  newSpanId,
  newTrace,
  parseTraceparent,
  traceFrom,
  upstreamTraceHeaders,
} from "../../../src/trace-context.ts";
import { BASE, call, legacyRequest, modernRequest } from "./helpers.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
const TRACEPARENT_SHAPE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

function echoHeaders(result: ToolResult): Record<string, string | null | undefined> {
  const first = result.content[0];
  expect(first?.type).toBe("text");
  return (JSON.parse(first?.text ?? "{}") as { headers: Record<string, string | null> }).headers;
}

function partsOf(traceparent: string | null | undefined): { traceId: string; spanId: string; flags: string } {
  const match = TRACEPARENT_SHAPE.exec(traceparent ?? "");
  expect(match, `traceparent ${traceparent}`).not.toBeNull();
  return { traceId: match![1]!, spanId: match![2]!, flags: match![3]! };
}

async function callTool(path: string, name: string, args: Record<string, unknown>, headers = {}) {
  const { status, body } = await call(path, legacyRequest("tools/call", { name, arguments: args }), {
    headers,
  });
  expect(status).toBe(200);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("trace-context parsing", () => {
  it("accepts exactly a version-00 traceparent in lowercase hex with non-zero ids", () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({ traceId: TRACE_ID, parentId: CLIENT_SPAN, flags: "01" });
    for (const bad of [
      TRACEPARENT.toUpperCase(),
      `01-${TRACE_ID}-${CLIENT_SPAN}-01`,
      `ff-${TRACE_ID}-${CLIENT_SPAN}-01`,
      `00-${"0".repeat(32)}-${CLIENT_SPAN}-01`,
      `00-${TRACE_ID}-${"0".repeat(16)}-01`,
      `00-${TRACE_ID}-${CLIENT_SPAN}-01-extra`,
      `00-${TRACE_ID}-${CLIENT_SPAN}-1`,
      ` ${TRACEPARENT}`,
      `00-${TRACE_ID.slice(1)}g-${CLIENT_SPAN}-01`,
      "",
      42,
      undefined,
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });

  it("keeps a valid tracestate with its traceparent, drops an oversized or control-character one", () => {
    expect(traceFrom(TRACEPARENT, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7").state).toBe(
      "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
    );
    expect(traceFrom(TRACEPARENT, `a=${"x".repeat(600)}`).state).toBeUndefined();
    expect(traceFrom(TRACEPARENT, "a=b\u0000c").state).toBeUndefined();
    // A tracestate without a valid traceparent is not continued.
    const fresh = traceFrom("garbage", "congo=t61rcWkgMzE");
    expect(fresh.state).toBeUndefined();
    expect(fresh.traceId).not.toBe(TRACE_ID);
  });

  it("starts random, valid, sampled traces and gives every upstream request its own span", () => {
    const a = newTrace();
    const b = newTrace();
    expect(a.traceId).not.toBe(b.traceId);
    expect(parseTraceparent(`00-${a.traceId}-${a.parentId}-${a.flags}`)).toEqual(a);
    expect(a.flags).toBe("01");
    expect(newSpanId()).toMatch(/^[0-9a-f]{16}$/);
    const first = partsOf(upstreamTraceHeaders(a).traceparent);
    const second = partsOf(upstreamTraceHeaders(a).traceparent);
    expect(first.traceId).toBe(a.traceId);
    expect(first.spanId).not.toBe(second.spanId);
    expect(first.spanId).not.toBe(a.parentId);
  });
});

describe("a client's trace continues to the upstream", () => {
  it("reaches an OpenAPI upstream with the same trace id, a new span id and the tracestate", async () => {
    const result = await callTool(
      "/v1/mcp",
      "mcp-alpha_getItem",
      { itemId: "1" },
      { traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" },
    );
    expect(result.isError).toBeFalsy();
    const headers = echoHeaders(result);
    const sent = partsOf(headers["traceparent"]);
    expect(sent).toMatchObject({ traceId: TRACE_ID, flags: "01" });
    expect(sent.spanId).not.toBe(CLIENT_SPAN);
    expect(headers["tracestate"]).toBe("congo=t61rcWkgMzE");
  });

  it("reaches an upstream MCP server with the same trace id and a new span id", async () => {
    const result = await callTool("/v1/mcp-up/mcp", "echo", { word: "hi" }, { traceparent: TRACEPARENT });
    expect(result.isError).toBeFalsy();
    const headers = echoHeaders(result);
    const sent = partsOf(headers["traceparent"]);
    expect(sent.traceId).toBe(TRACE_ID);
    expect(sent.spanId).not.toBe(CLIENT_SPAN);
    expect(headers["tracestate"]).toBeNull();
  });

  it("takes the trace from params._meta.traceparent (SEP-414) when no header carries one", async () => {
    const metaTrace = "0af7651916cd43dd8448eb211c80319c";
    const result = await callTool("/v1/mcp", "mcp-alpha_getItem", { itemId: "2" }, {});
    const unrelated = partsOf(echoHeaders(result)["traceparent"]);
    expect(unrelated.traceId).not.toBe(metaTrace);
    const { body } = await call(
      "/v1/mcp",
      legacyRequest("tools/call", {
        name: "mcp-alpha_getItem",
        arguments: { itemId: "3" },
        _meta: { traceparent: `00-${metaTrace}-b7ad6b7169203331-00`, tracestate: "rojo=1" },
      }),
    );
    const headers = echoHeaders(body.result as unknown as ToolResult);
    expect(partsOf(headers["traceparent"])).toMatchObject({ traceId: metaTrace, flags: "00" });
    expect(headers["tracestate"]).toBe("rojo=1");
  });

  it("starts a new trace when the traceparent is invalid, and never forwards the invalid one", async () => {
    const invalid = `00-${TRACE_ID.toUpperCase()}-${CLIENT_SPAN}-01`;
    const result = await callTool(
      "/v1/mcp",
      "mcp-alpha_getItem",
      { itemId: "4" },
      { traceparent: invalid, tracestate: "congo=t61rcWkgMzE" },
    );
    const headers = echoHeaders(result);
    const sent = partsOf(headers["traceparent"]);
    expect(sent.traceId).not.toBe(TRACE_ID.toLowerCase());
    expect(sent.traceId).not.toBe("0".repeat(32));
    expect(headers["tracestate"]).toBeUndefined();
  });

  it("continues a 2026-07-28 request's trace too", async () => {
    const { status, body } = await call(
      "/v1/mcp",
      modernRequest(
        "tools/call",
        { name: "mcp-alpha_getItem", arguments: { itemId: "8" } },
        "mcp-alpha_getItem",
      ),
      { headers: { traceparent: TRACEPARENT } },
    );
    expect(status).toBe(200);
    const sent = partsOf(echoHeaders(body.result as unknown as ToolResult)["traceparent"]);
    expect(sent.traceId).toBe(TRACE_ID);
    expect(sent.spanId).not.toBe(CLIENT_SPAN);
  });

  it("carries a v1 SDK client's traceparent (sent through requestInit) to the upstream", async () => {
    const client = new Client(
      { name: "trace-tests", version: "1.0.0" },
      { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${BASE}/v1/mcp`), {
        fetch: (url, init) => exports.default.fetch(url, init),
        requestInit: { headers: { traceparent: TRACEPARENT } },
      }),
    );
    try {
      const result = (await client.callTool({
        name: "mcp-alpha_getItem",
        arguments: { itemId: "5" },
      })) as ToolResult;
      const sent = partsOf(echoHeaders(result)["traceparent"]);
      expect(sent.traceId).toBe(TRACE_ID);
      expect(sent.spanId).not.toBe(CLIENT_SPAN);
    } finally {
      await client.close();
    }
  });
});

describe("the trace id in errors and log events", () => {
  it("is in a JSON-RPC error's data (here an unsupported MCP-Protocol-Version), from the header or _meta", async () => {
    const { status, body } = await call("/v1/mcp", legacyRequest("tools/list", {}, "1999-01-01"), {
      headers: { traceparent: TRACEPARENT },
    });
    expect(status).toBe(400);
    expect(body.error?.data).toMatchObject({ requested: "1999-01-01", traceId: TRACE_ID });
    const metaTrace = "0af7651916cd43dd8448eb211c80319c";
    const fromMeta = await call(
      "/v1/mcp",
      legacyRequest(
        "tools/list",
        { _meta: { traceparent: `00-${metaTrace}-b7ad6b7169203331-01` } },
        "1999-01-01",
      ),
    );
    expect(fromMeta.body.error?.data).toMatchObject({ traceId: metaTrace });
  });

  it("is in the response_drift event of a traced call", async () => {
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    // The echo body does not match getItem's documented schema: RESPONSE_VALIDATION_MODE=warn logs it.
    await callTool("/v1/mcp", "mcp-alpha_getItem", { itemId: "7" }, { traceparent: TRACEPARENT });
    const lines = warned.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "response_drift", vendor: "mcp-alpha", traceId: TRACE_ID }),
    );
  });

  it("is in the event of an upstream MCP server's request the gateway refused", async () => {
    const logged = vi.spyOn(console, "log").mockImplementation(() => {});
    // The fixture's `ask` tool sends sampling/createMessage back on its call's stream.
    await callTool("/v1/mcp-up/mcp", "ask", {}, { traceparent: TRACEPARENT });
    const lines = logged.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "mcp_server_request_refused", vendor: "mcp-up", traceId: TRACE_ID }),
    );
  });

  it("is in the JSON error body of an MCP endpoint, the new trace's id when none came", async () => {
    const traced = await exports.default.fetch(`${BASE}/v1/no-such-vendor/mcp`, {
      method: "POST",
      headers: { traceparent: TRACEPARENT },
    });
    expect(traced.status).toBe(404);
    expect(((await traced.json()) as { error: { traceId?: string } }).error.traceId).toBe(TRACE_ID);
    const fresh = await exports.default.fetch(`${BASE}/v1/no-such-vendor/mcp`, { method: "POST" });
    const freshId = ((await fresh.json()) as { error: { traceId?: string } }).error.traceId;
    expect(freshId).toMatch(/^[0-9a-f]{32}$/);
    expect(freshId).not.toBe(TRACE_ID);
  });
});
