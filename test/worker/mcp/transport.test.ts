import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  BASE,
  call,
  LEGACY_VERSION,
  legacyRequest,
  MODERN_VERSION,
  modernRequest,
  post,
  postRaw,
  readJsonRpc,
} from "./helpers.ts";

const VENDOR_PATH = "/v1/mcp-alpha/mcp";
const ENDPOINTS = ["/v1/mcp", VENDOR_PATH];

interface GatewayErrorBody {
  error: { code: string; message: string; requestId: string };
}

async function expectGatewayError(res: Response, status: number, code: string): Promise<GatewayErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as GatewayErrorBody;
  expect(body.error).toMatchObject({ code, requestId: res.headers.get("x-request-id") });
  return body;
}

async function expectJsonRpcError(
  res: Response,
  status: number,
  code: number,
  id: string | number | null = null,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = await readJsonRpc(res);
  expect(body).toMatchObject({ jsonrpc: "2.0", id, error: { code } });
  return body;
}

describe("HTTP methods", () => {
  for (const path of ENDPOINTS) {
    for (const method of ["GET", "DELETE", "PUT", "PATCH", "OPTIONS"]) {
      it(`${method} ${path} is a JSON 405 that allows POST`, async () => {
        const res = await exports.default.fetch(`${BASE}${path}`, {
          method,
          headers: { accept: "text/event-stream" },
        });
        await expectGatewayError(res, 405, "method_not_allowed");
        expect(res.headers.get("allow")).toBe("POST");
      });
    }
  }

  it("answers an unknown vendor with a JSON 404", async () => {
    const res = await post("/v1/no-such-vendor/mcp", legacyRequest("ping").message);
    const body = await expectGatewayError(res, 404, "not_found");
    expect(body.error.message).toContain("no-such-vendor");
  });
});

describe("request checks before the protocol", () => {
  it("refuses a body that is not JSON content with 415", async () => {
    const res = await exports.default.fetch(`${BASE}/v1/mcp`, {
      method: "POST",
      headers: { "content-type": "text/plain", accept: "application/json" },
      body: "{}",
    });
    await expectGatewayError(res, 415, "unsupported_media_type");
  });

  it("refuses an Accept that takes neither JSON nor SSE with 406", async () => {
    const res = await post("/v1/mcp", legacyRequest("ping").message, { accept: "text/html" });
    await expectGatewayError(res, 406, "not_acceptable");
  });

  it("refuses an oversized body with 413, declared or streamed", async () => {
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "ping",
      params: { pad: "x".repeat(4 * 1024 * 1024) },
    });
    await expectGatewayError(await postRaw("/v1/mcp", big), 413, "payload_too_large");

    const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await exports.default.fetch(`${BASE}/v1/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: stream,
    });
    await expectGatewayError(res, 413, "payload_too_large");
  });

  it("answers malformed JSON with -32700", async () => {
    await expectJsonRpcError(await postRaw("/v1/mcp", '{"jsonrpc":"2.0",'), 400, -32700);
    await expectJsonRpcError(await postRaw("/v1/mcp", ""), 400, -32700);
  });

  it("answers a body that is not a JSON-RPC 2.0 message with -32600", async () => {
    await expectJsonRpcError(await post("/v1/mcp", { id: 1, method: "ping" }), 400, -32600, 1);
    await expectJsonRpcError(
      await post("/v1/mcp", { jsonrpc: "1.0", id: 2, method: "ping" }),
      400,
      -32600,
      2,
    );
    await expectJsonRpcError(await post("/v1/mcp", { jsonrpc: "2.0", id: 3 }), 400, -32600);
    await expectJsonRpcError(
      await post("/v1/mcp", { jsonrpc: "2.0", id: null, method: "ping" }),
      400,
      -32600,
    );
    await expectJsonRpcError(await post("/v1/mcp", "ping"), 400, -32600);
  });

  it("answers a JSON-RPC batch with -32600 (batches were removed in 2025-06-18)", async () => {
    const body = await expectJsonRpcError(
      await post("/v1/mcp", [legacyRequest("ping").message]),
      400,
      -32600,
    );
    expect(body.error?.message).toMatch(/batch/i);
  });

  it("answers params of the wrong shape with -32602", async () => {
    const arrayParams = { jsonrpc: "2.0", id: 7, method: "tools/list", params: [] };
    await expectJsonRpcError(await post("/v1/mcp", arrayParams), 400, -32602, 7);

    const numericCursor = legacyRequest("tools/list", { cursor: 5 });
    const res = await post(VENDOR_PATH, numericCursor.message, { headers: numericCursor.headers });
    const body = await expectJsonRpcError(res, 400, -32602, numericCursor.message.id);
    expect(body.error?.message).toContain("cursor must be a string");

    const noName = legacyRequest("tools/call", { arguments: {} });
    const noNameRes = await post(VENDOR_PATH, noName.message, { headers: noName.headers });
    expect((await expectJsonRpcError(noNameRes, 400, -32602, noName.message.id)).error?.message).toContain(
      "name",
    );

    const badArguments = legacyRequest("tools/call", { name: "listItems", arguments: "{}" });
    const badArgumentsRes = await post(VENDOR_PATH, badArguments.message, { headers: badArguments.headers });
    await expectJsonRpcError(badArgumentsRes, 400, -32602, badArguments.message.id);
  });
});

describe("Origin validation", () => {
  const ping = () => legacyRequest("ping");

  it("serves requests without an Origin (non-browser clients)", async () => {
    const { status, body } = await call("/v1/mcp", ping());
    expect(status).toBe(200);
    expect(body.result).toEqual({});
  });

  it("serves an origin listed in ALLOWED_ORIGINS", async () => {
    const { status } = await call("/v1/mcp", ping(), { headers: { origin: "https://allowed.example" } });
    expect(status).toBe(200);
  });

  for (const origin of [
    "https://evil.example",
    "null",
    "not a url",
    "https://allowed.example.evil.example",
  ]) {
    it(`refuses Origin ${JSON.stringify(origin)} with a JSON 403`, async () => {
      const request = ping();
      const res = await post("/v1/mcp", request.message, { headers: { ...request.headers, origin } });
      await expectGatewayError(res, 403, "origin_not_allowed");
    });
  }

  it("refuses a disallowed Origin on every method, before anything else", async () => {
    const res = await exports.default.fetch(`${BASE}${VENDOR_PATH}`, {
      method: "GET",
      headers: { origin: "https://evil.example" },
    });
    await expectGatewayError(res, 403, "origin_not_allowed");
  });

  it("allows a loopback origin only when the gateway itself is reached on loopback", async () => {
    const request = ping();
    const init = {
      method: "POST",
      headers: {
        ...request.headers,
        "content-type": "application/json",
        accept: "application/json",
        origin: "http://localhost:6274",
      },
      body: JSON.stringify(request.message),
    };
    expect((await exports.default.fetch("http://127.0.0.1:8787/v1/mcp", init)).status).toBe(200);
    expect((await exports.default.fetch("http://localhost:8787/v1/mcp", init)).status).toBe(200);
    await expectGatewayError(await exports.default.fetch(`${BASE}/v1/mcp`, init), 403, "origin_not_allowed");
  });

  it("refuses a rebinding attempt: attacker Origin matching the Host", async () => {
    const request = ping();
    const res = await exports.default.fetch("http://evil.example:8787/v1/mcp", {
      method: "POST",
      headers: {
        ...request.headers,
        "content-type": "application/json",
        accept: "application/json",
        origin: "http://evil.example:8787",
      },
      body: JSON.stringify(request.message),
    });
    await expectGatewayError(res, 403, "origin_not_allowed");
  });
});

describe("CORS for browser clients (client auth off)", () => {
  const preflight = (origin: string, path = "/v1/mcp") =>
    exports.default.fetch(`${BASE}${path}`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, mcp-protocol-version, authorization",
      },
    });

  for (const path of ENDPOINTS) {
    it(`answers an allowed origin's preflight on ${path} with 204 and the headers it asked for`, async () => {
      const res = await preflight("https://allowed.example", path);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
      expect(res.headers.get("access-control-allow-methods")).toBe("POST");
      expect(res.headers.get("access-control-allow-headers")).toBe(
        "content-type, mcp-protocol-version, authorization",
      );
      expect(res.headers.get("access-control-max-age")).toBe("86400");
      expect(res.headers.get("vary")).toContain("Origin");
    });
  }

  it("refuses a disallowed origin's preflight with the JSON 403 and no CORS headers", async () => {
    const res = await preflight("https://evil.example");
    await expectGatewayError(res, 403, "origin_not_allowed");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets a loopback page preflight a loopback gateway (npm start and the Inspector's web UI)", async () => {
    const res = await exports.default.fetch("http://127.0.0.1:8787/v1/mcp", {
      method: "OPTIONS",
      headers: { origin: "http://localhost:6274", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
  });

  it("marks answers and errors to an allowed origin readable, exposing the MCP and auth headers", async () => {
    const request = legacyRequest("ping");
    const ok = await post("/v1/mcp", request.message, {
      headers: { ...request.headers, origin: "https://allowed.example" },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect(ok.headers.get("access-control-expose-headers")).toContain("Mcp-Protocol-Version");
    expect(ok.headers.get("access-control-expose-headers")).toContain("WWW-Authenticate");

    const notAllowed = await exports.default.fetch(`${BASE}/v1/mcp`, {
      method: "GET",
      headers: { origin: "https://allowed.example" },
    });
    await expectGatewayError(notAllowed, 405, "method_not_allowed");
    expect(notAllowed.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
  });

  it("adds nothing for requests without an Origin", async () => {
    const res = await post("/v1/mcp", legacyRequest("ping").message);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("protocol versions", () => {
  const initialize = (protocolVersion: string) => ({
    message: {
      jsonrpc: "2.0",
      id: `init-${protocolVersion}`,
      method: "initialize",
      params: { protocolVersion, capabilities: {}, clientInfo: { name: "gateway-tests", version: "1.0.0" } },
    },
    headers: {},
  });

  for (const version of ["2025-06-18", "2025-11-25"]) {
    it(`initializes at ${version} and serves requests carrying that MCP-Protocol-Version`, async () => {
      for (const path of ENDPOINTS) {
        const { status, body } = await call(path, initialize(version));
        expect(status).toBe(200);
        expect(body.result).toMatchObject({
          protocolVersion: version,
          capabilities: { tools: { listChanged: false } },
          serverInfo: { name: "mcp-edge-gateway" },
        });
        const listed = await call(path, legacyRequest("tools/list", undefined, version));
        expect(listed.status).toBe(200);
        expect(Array.isArray(listed.body.result?.tools)).toBe(true);
      }
    });
  }

  it("counter-offers 2025-11-25 to a client asking for a revision it does not serve", async () => {
    const { body } = await call(VENDOR_PATH, initialize("2024-11-05"));
    expect(body.result?.protocolVersion).toBe("2025-11-25");
  });

  it("treats a request without MCP-Protocol-Version as 2025-03-26 and serves it", async () => {
    const { status, body } = await call(VENDOR_PATH, { message: legacyRequest("ping").message, headers: {} });
    expect(status).toBe(200);
    expect(body.result).toEqual({});
  });

  for (const version of ["2024-11-05", "2025-03-26", "2099-01-01", "banana"]) {
    it(`answers MCP-Protocol-Version ${version} with 400 and the supported list`, async () => {
      const request = legacyRequest("tools/list", undefined, version);
      const res = await post(VENDOR_PATH, request.message, { headers: request.headers });
      const body = await expectJsonRpcError(res, 400, -32022, request.message.id);
      expect(body.error?.data).toEqual({
        supported: ["2026-07-28", "2025-11-25", "2025-06-18"],
        requested: version,
        // The request's trace (a new one: no traceparent came), as in every error the gateway builds.
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    });
  }

  it("serves 2026-07-28: server/discover advertises the revision, no initialize needed", async () => {
    const { status, body } = await call(VENDOR_PATH, modernRequest("server/discover"));
    expect(status).toBe(200);
    expect(body.result).toMatchObject({
      supportedVersions: [MODERN_VERSION],
      capabilities: { tools: { listChanged: false } },
      resultType: "complete",
    });
  });

  it("serves 2026-07-28 tools/list from the per-request _meta envelope alone", async () => {
    const { status, body } = await call(VENDOR_PATH, modernRequest("tools/list"));
    expect(status).toBe(200);
    expect(body.result).toMatchObject({ resultType: "complete" });
    expect((body.result?.tools as unknown[] | undefined)?.length).toBeGreaterThan(0);
  });

  it("requires Mcp-Method on 2026-07-28 requests", async () => {
    const request = modernRequest("tools/list");
    const { "mcp-method": _, ...headers } = request.headers;
    const res = await post(VENDOR_PATH, request.message, { headers });
    expect(res.status).toBe(400);
    expect((await readJsonRpc(res)).error?.message).toMatch(/Mcp-Method/);
  });

  it("requires Mcp-Name to be present and to match the body on 2026-07-28 tools/call", async () => {
    const missing = modernRequest("tools/call", { name: "listItems", arguments: {} });
    const missingRes = await post(VENDOR_PATH, missing.message, { headers: missing.headers });
    expect(missingRes.status).toBe(400);
    expect((await readJsonRpc(missingRes)).error?.message).toMatch(/Mcp-Name/);

    const mismatched = modernRequest("tools/call", { name: "listItems", arguments: {} }, "deleteItem");
    const mismatchedRes = await post(VENDOR_PATH, mismatched.message, { headers: mismatched.headers });
    expect(mismatchedRes.status).toBe(400);
    expect((await readJsonRpc(mismatchedRes)).error?.message).toMatch(/Mcp-Name/);

    const methodMismatch = modernRequest("tools/list");
    const methodMismatchRes = await post(VENDOR_PATH, methodMismatch.message, {
      headers: { ...methodMismatch.headers, "mcp-method": "tools/call" },
    });
    expect(methodMismatchRes.status).toBe(400);
  });

  it("answers 2026-07-28 subscriptions/listen over SSE; nothing to subscribe to, so the stream ends", async () => {
    const request = modernRequest("subscriptions/listen", { notifications: { toolsListChanged: true } });
    const res = await post(VENDOR_PATH, request.message, { headers: request.headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await res.text();
    // The tool list never changes within a deploy (listChanged: false), so the ack grants nothing.
    expect(text).toContain(
      '"method":"notifications/subscriptions/acknowledged","params":{"notifications":{}',
    );
    expect((await readJsonRpc(new Response(text, { headers: res.headers }))).result).toMatchObject({
      resultType: "complete",
    });
  });

  it("refuses a 2026-07-28 header on a request without the envelope", async () => {
    const request = legacyRequest("tools/list", undefined, MODERN_VERSION);
    const res = await post(VENDOR_PATH, request.message, {
      headers: { ...request.headers, "mcp-method": "tools/list" },
    });
    expect(res.status).toBe(400);
    expect((await readJsonRpc(res)).error).toBeDefined();
  });

  it("answers an unknown method with -32601 on every revision", async () => {
    const legacy = await call(VENDOR_PATH, legacyRequest("resources/list"));
    expect(legacy.body.error?.code).toBe(-32601);
    const unknown = await call(VENDOR_PATH, legacyRequest("acme/frobnicate"));
    expect(unknown.body.error?.code).toBe(-32601);
    const modern = await call(VENDOR_PATH, modernRequest("acme/frobnicate"));
    expect(modern.body.error?.code).toBe(-32601);
  });

  it("answers ping on the 2025 revisions", async () => {
    const { body } = await call("/v1/mcp", legacyRequest("ping"));
    expect(body).toMatchObject({ jsonrpc: "2.0", result: {} });
  });

  it("keeps no session: no Mcp-Session-Id is ever issued", async () => {
    const res = await post(VENDOR_PATH, {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
  });
});

describe("notifications and responses", () => {
  it("answers a 2025 notification with 202 and no body", async () => {
    const res = await post(
      VENDOR_PATH,
      { jsonrpc: "2.0", method: "notifications/initialized" },
      {
        headers: { "mcp-protocol-version": LEGACY_VERSION },
      },
    );
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
  });

  it("answers a 2026-07-28 notification with 202 and no body", async () => {
    const envelope = (modernRequest("tools/list").message.params as { _meta: unknown })._meta;
    const res = await post(
      VENDOR_PATH,
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, _meta: envelope } },
      { headers: { "mcp-protocol-version": MODERN_VERSION, "mcp-method": "notifications/cancelled" } },
    );
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
  });

  it("answers a posted JSON-RPC response with 202 and no body", async () => {
    const res = await post("/v1/mcp", { jsonrpc: "2.0", id: 5, result: {} });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
  });
});

describe("JSON or SSE by Accept", () => {
  const cases: Array<[string, RegExp]> = [
    ["application/json", /^application\/json/],
    ["text/event-stream", /^text\/event-stream/],
    ["application/json, text/event-stream", /^application\/json/],
    ["text/event-stream, application/json;q=0.5", /^text\/event-stream/],
    ["*/*", /^application\/json/],
  ];
  for (const [accept, expected] of cases) {
    it(`answers Accept: ${accept} with ${expected.source.slice(1)} on 2025 and 2026-07-28`, async () => {
      for (const request of [legacyRequest("tools/list"), modernRequest("tools/list")]) {
        const res = await post(VENDOR_PATH, request.message, { accept, headers: request.headers });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toMatch(expected);
        const body = await readJsonRpc(res);
        expect(body.id).toBe(request.message.id);
        expect((body.result?.tools as unknown[] | undefined)?.length).toBeGreaterThan(0);
      }
    });
  }

  it("frames SSE as `event: message` with the response as data", async () => {
    const request = legacyRequest("ping");
    const res = await post("/v1/mcp", request.message, {
      accept: "text/event-stream",
      headers: request.headers,
    });
    const text = await res.text();
    expect(text).toMatch(/^event: message\ndata: \{.*"result":\{\}.*\}\n\n$/);
  });
});
