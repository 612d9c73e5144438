/**
 * The endpoint answers plain 2025-era JSON `tools/call` and `tools/list` without an SDK
 * server (src/mcp/endpoint.ts `serveDirect`). SSE answers always come from the SDK, so
 * each message here is sent both ways and the two JSON-RPC answers must be the same.
 */
import { describe, expect, it } from "vitest";
import { call, legacyRequest } from "./helpers.ts";

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
