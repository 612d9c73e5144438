/**
 * tools/call through the MCP endpoints to a real local upstream (test/support/upstream-server.ts
 * echoes every request back as JSON; MCP_ALPHA_BASE_URL points the mcp-alpha fixture at it).
 */
import { describe, expect, it } from "vitest";
import { call, legacyRequest, modernRequest, post, readJsonRpc } from "./helpers.ts";
import { closeSdkClients, connectLegacyClient } from "./sdk-clients.ts";

interface Echo {
  method: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string>;
  bodyText: string;
}

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  resultType?: string;
}

function textOf(result: ToolResult): string {
  const first = result.content[0];
  expect(first?.type).toBe("text");
  return first?.text ?? "";
}

async function callTool(
  path: string,
  name: string,
  args: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const { status, body } = await call(path, legacyRequest("tools/call", { name, arguments: args }), {
    headers,
  });
  expect(status).toBe(200);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

describe("tools/call reaches the upstream", () => {
  it("sends the recipe's request for a prefixed tool on /v1/mcp", async () => {
    const result = await callTool("/v1/mcp", "mcp-alpha_getItem", { itemId: "42" });
    expect(result.isError).toBeFalsy();
    const echo = JSON.parse(textOf(result)) as Echo;
    expect(echo).toMatchObject({ method: "GET", path: "/mcp-alpha/api/items/42" });
    // getItem advertises an output schema, so the JSON body also comes back as structuredContent.
    expect(result.structuredContent).toMatchObject({ method: "GET" });
  });

  it("sends an unprefixed tool's request on /v1/<vendor>/mcp, with its JSON body", async () => {
    const result = await callTool("/v1/mcp-alpha/mcp", "createItem", { name: "widget", tags: ["a"] });
    const echo = JSON.parse(textOf(result)) as Echo;
    expect(echo).toMatchObject({ method: "POST", path: "/mcp-alpha/api/items" });
    expect(JSON.parse(echo.bodyText)).toEqual({ name: "widget", tags: ["a"] });
  });

  it("never forwards the MCP client's own Authorization header", async () => {
    const result = await callTool(
      "/v1/mcp-alpha/mcp",
      "deleteItem",
      { itemId: "7" },
      { authorization: "Bearer client-token-must-not-leak" },
    );
    const echo = JSON.parse(textOf(result)) as Echo;
    expect(echo.method).toBe("DELETE");
    expect(JSON.stringify(echo.headers)).not.toContain("client-token-must-not-leak");
  });

  it("answers invalid arguments with an isError result naming the field, not a protocol error", async () => {
    const result = await callTool("/v1/mcp", "mcp-alpha_createItem", { name: 5, color: "red" });
    expect(result.isError).toBe(true);
    const body = JSON.parse(textOf(result)) as { error: string; message: string };
    expect(body.error).toBe("invalid_arguments");
    expect(body.message).toContain("/name");
  });

  it("serves tools/call on 2026-07-28 with the Mcp-Name header", async () => {
    const request = modernRequest("tools/call", { name: "getItem", arguments: { itemId: "9" } }, "getItem");
    const { status, body } = await call("/v1/mcp-alpha/mcp", request);
    expect(status).toBe(200);
    const result = body.result as unknown as ToolResult;
    expect(result.resultType).toBe("complete");
    expect((JSON.parse(textOf(result)) as Echo).path).toBe("/mcp-alpha/api/items/9");
  });

  it("streams a tool call result over SSE when the client asks for it", async () => {
    const request = legacyRequest("tools/call", { name: "mcp-alpha_listItems", arguments: { limit: 3 } });
    const res = await post("/v1/mcp", request.message, {
      accept: "text/event-stream",
      headers: request.headers,
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const result = (await readJsonRpc(res)).result as unknown as ToolResult;
    expect((JSON.parse(textOf(result)) as Echo).rawQuery).toBe("limit=3");
  });

  it("works for a real MCP SDK client", async () => {
    const client = await connectLegacyClient("/v1/mcp");
    try {
      const result = (await client.callTool({
        name: "mcp-alpha_checkItem",
        arguments: { itemId: "1" },
      })) as ToolResult;
      expect(result.isError).toBeFalsy();
    } finally {
      await closeSdkClients();
    }
  });
});
