/**
 * The endpoint answers plain 2025-era JSON `tools/call` and `tools/list` without an SDK
 * server (src/mcp/endpoint.ts `serveDirect`). SSE answers always come from the SDK, so
 * each message here is sent both ways and the two JSON-RPC answers must be the same.
 */
import { describe, expect, it } from "vitest";
import { call, legacyRequest, modernRequest } from "./helpers.ts";

const CASES: [string, string, Record<string, unknown> | undefined][] = [
  ["tools/list", "/v1/mcp", undefined],
  ["tools/list", "/v1/mcp-alpha/mcp", {}],
  ["tools/list", "/v1/mcp", { cursor: "not-a-cursor" }],
  ["tools/list", "/v1/mcp", { cursor: 7 }],
  ["tools/list", "/v1/mcp", { _meta: { progressToken: "p" } }],
  ["tools/call", "/v1/mcp", { name: "mcp-alpha_noSuchTool", arguments: {} }],
  ["tools/call", "/v1/mcp", { name: "mcp-alpha_createItem", arguments: { name: 5, color: "red" } }],
  ["tools/call", "/v1/mcp", { name: "mcp-alpha_createItem" }],
  ["tools/call", "/v1/mcp", { arguments: {} }],
  ["tools/call", "/v1/mcp", { name: 42 }],
  ["tools/call", "/v1/mcp", { name: "mcp-alpha_createItem", arguments: [1] }],
  ["tools/call", "/v1/mcp", { name: "mcp-alpha_noSuchTool", _meta: { progressToken: 1 } }],
];

describe("JSON fast path answers exactly as the SDK does", () => {
  for (const [method, path, params] of CASES) {
    it(`${method} ${path} ${JSON.stringify(params)}`, async () => {
      const request = legacyRequest(method, params);
      const json = await call(path, request, { accept: "application/json" });
      const sse = await call(path, request, { accept: "text/event-stream" });
      expect(json.status).toBe(sse.status);
      expect(json.body).toEqual(sse.body);
    });
  }
});

/**
 * The endpoint decides the plainest messages are 2025-era without the SDK's classifier
 * (`plainLegacyCall`); whatever it is not certain of still goes to the SDK, so each of these
 * gets the same answer as JSON (fast path or SDK) and as SSE (always the SDK).
 */
const CLASSIFIED: [string, { message: Record<string, unknown>; headers: Record<string, string> }][] = [
  [
    "an extra top-level key",
    { ...legacyRequest("tools/list"), message: { ...legacyRequest("tools/list").message, extra: 1 } },
  ],
  [
    "an id beyond the safe integers",
    { ...legacyRequest("tools/list"), message: { ...legacyRequest("tools/list").message, id: 2 ** 60 } },
  ],
  [
    "a string id",
    { ...legacyRequest("tools/list"), message: { ...legacyRequest("tools/list").message, id: "a" } },
  ],
  ["no MCP-Protocol-Version", { message: legacyRequest("tools/list").message, headers: {} }],
  ["MCP-Protocol-Version with blanks", legacyRequest("tools/list", undefined, " 2025-11-25 ")],
  [
    "MCP-Protocol-Version 2025-06-18",
    legacyRequest("tools/call", { name: "mcp-alpha_noSuchTool" }, "2025-06-18"),
  ],
  ["a 2026-07-28 header without the envelope", legacyRequest("tools/list", {}, "2026-07-28")],
  [
    "a 2026-07-28 header with Mcp-Method",
    {
      ...legacyRequest("tools/list", {}, "2026-07-28"),
      headers: { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" },
    },
  ],
  ["a 2026-07-28 envelope", modernRequest("tools/list")],
  [
    "a 2026-07-28 tools/call",
    modernRequest("tools/call", { name: "mcp-alpha_noSuchTool", arguments: {} }, "mcp-alpha_noSuchTool"),
  ],
];

describe("the fast path's own classification agrees with the SDK's", () => {
  for (const [title, request] of CLASSIFIED) {
    it(title, async () => {
      const json = await call("/v1/mcp", request, { accept: "application/json" });
      const sse = await call("/v1/mcp", request, { accept: "text/event-stream" });
      expect(json.status).toBe(sse.status);
      expect(json.body).toEqual(sse.body);
    });
  }
});
