/**
 * The write-scope rule and the caller's vendor availability, settled once in the MCP layer
 * (src/mcp/authorize.ts) on the message as the endpoint parsed it: the step-up answer is the
 * same whatever the transport framing, on every endpoint, and discovery's `<vendor>_call`
 * applies the same rule to the operation it names. The handshake reads no credentials.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { READ_ONLY_METHODS } from "../../../src/bundle/http-methods.ts";
import { authEnv, gatewayFetch, mcp, mcpResult, ORIGIN, type TestEnv, tokensFor } from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

const STEP_UP_BODY = {
  error: "insufficient_scope",
  error_description: "This tool changes data: it needs the mcp:write scope",
};

async function expectStepUp(response: Response, resourcePath: string): Promise<void> {
  expect(response.status).toBe(403);
  const challenge = response.headers.get("www-authenticate") ?? "";
  expect(challenge).toContain('error="insufficient_scope"');
  expect(challenge).toContain('scope="mcp:read mcp:write"');
  expect(challenge).toContain(
    `resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource${resourcePath}"`,
  );
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(await response.json()).toEqual(STEP_UP_BODY);
}

function post(
  path: string,
  token: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Response> {
  return gatewayFetch(env, path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });
}

describe("write scope (mcp:write), checked by the MCP endpoint", () => {
  it("answers the same step-up 403 in JSON, SSE and 2026-07-28 framing", async () => {
    const t = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    const params = { name: "mcp-alpha_createItem", arguments: { name: "x" } };
    await expectStepUp(await mcp(env, "/v1/mcp", t.access_token, "tools/call", params), "/v1/mcp");
    const sse = await post(
      "/v1/mcp",
      t.access_token,
      { jsonrpc: "2.0", id: 1, method: "tools/call", params },
      { accept: "text/event-stream", "mcp-protocol-version": "2025-11-25" },
    );
    await expectStepUp(sse, "/v1/mcp");
    const modern = await post(
      "/v1/mcp",
      t.access_token,
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: {
          ...params,
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": { name: "scope-tests", version: "1.0.0" },
          },
        },
      },
      {
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": params.name,
      },
    );
    await expectStepUp(modern, "/v1/mcp");
  });

  it("holds on a vendor endpoint, and lets read tools through", async () => {
    const resource = `${ORIGIN}/v1/mcp-alpha/mcp`;
    const t = await tokensFor(env, "alice", { approve: ["mcp:read"], resource });
    const write = await mcp(env, "/v1/mcp-alpha/mcp", t.access_token, "tools/call", {
      name: "createItem",
      arguments: { name: "x" },
    });
    await expectStepUp(write, "/v1/mcp-alpha/mcp");
    const read = await mcp(env, "/v1/mcp-alpha/mcp", t.access_token, "tools/call", {
      name: "getItem",
      arguments: { id: "1" },
    });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).not.toContain("insufficient_scope");
  });

  it("lets a token with mcp:write call a write tool", async () => {
    const t = await tokensFor(env, "alice");
    const write = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-alpha_createItem",
      arguments: { name: "x" },
    });
    expect(write.status).toBe(200);
    expect(JSON.stringify(await write.json())).not.toContain("insufficient_scope");
  });

  it("applies to the operation a discovery call names, with the same method set", async () => {
    const t = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    const write = await mcpResult<{ isError?: boolean; content: { text: string }[] }>(
      await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
        name: "mcp-discovery_call",
        arguments: { name: "createIssue", arguments: {} },
      }),
    );
    expect(write.isError).toBe(true);
    expect(JSON.parse(write.content[0]?.text ?? "{}")).toMatchObject({ error: "insufficient_scope" });
    const read = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-discovery_call",
      arguments: { name: "listIssues", arguments: {} },
    });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).not.toContain("insufficient_scope");
    // Annotations, the scope rule and discovery's `readOnly` read one set: RFC 9110's safe methods.
    expect([...READ_ONLY_METHODS].sort()).toEqual(["GET", "HEAD", "OPTIONS", "TRACE"]);
  });
});

describe("vendor availability, loaded when the message needs it", () => {
  it("reads no credential listing for the handshake, and one for tools/list", async () => {
    const t = await tokensFor(env, "dave");
    let lists = 0;
    const kv = env.OAUTH_KV;
    const counting = new Proxy(kv, {
      get(target, property) {
        if (property === "list") {
          return (...args: Parameters<KVNamespace["list"]>) => {
            lists++;
            return target.list(...args);
          };
        }
        const value = Reflect.get(target, property) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const counted = { ...env, OAUTH_KV: counting } as TestEnv;
    const initialize = await mcp(counted, "/v1/mcp", t.access_token, "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "scope-tests", version: "1.0.0" },
    });
    expect(initialize.status).toBe(200);
    expect(await mcp(counted, "/v1/mcp", t.access_token, "ping")).toHaveProperty("status", 200);
    expect(lists).toBe(0);
    const list = await mcp(counted, "/v1/mcp", t.access_token, "tools/list");
    expect(list.status).toBe(200);
    expect(lists).toBeGreaterThan(0);
  });
});
