/**
 * An upstream MCP server as a vendor, through the gateway's MCP endpoints: the mcp-up fixture
 * (test/fixtures/specs/mcp-up) points at a stateful SDK server of
 * test/support/mcp-upstream-server.ts (sessions, SSE answers) via MCP_UP_MCP_URL.
 */
import { describe, expect, inject, it } from "vitest";
import { call, legacyRequest } from "../mcp/helpers.ts";

const UPSTREAM = `${inject("mcpUpstreamOrigin")}/stateful-sse`;

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

/** Every page of the endpoint's listing. */
async function listNames(path: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const { status, body } = await call(
      path,
      legacyRequest("tools/list", cursor === undefined ? {} : { cursor }),
    );
    expect(status).toBe(200);
    names.push(...((body.result?.["tools"] ?? []) as Array<{ name: string }>).map((tool) => tool.name));
    cursor = body.result?.["nextCursor"] as string | undefined;
  } while (cursor !== undefined);
  return names;
}

async function callTool(path: string, name: string, args: Record<string, unknown>) {
  const { status, body } = await call(path, legacyRequest("tools/call", { name, arguments: args }));
  expect(status).toBe(200);
  return body;
}

function echoOf(result: ToolResult): {
  arguments: Record<string, unknown>;
  headers: Record<string, string | null>;
} {
  const first = result.content[0];
  expect(first?.type).toBe("text");
  return JSON.parse(first?.text ?? "{}");
}

describe("an upstream MCP server as a vendor", () => {
  it("lists the upstream's tools unprefixed on /v1/<vendor>/mcp and prefixed on /v1/mcp", async () => {
    expect(await listNames("/v1/mcp-up/mcp")).toEqual(["echo", "progress", "ask", "wait", "resume"]);
    const unified = await listNames("/v1/mcp");
    expect(unified).toEqual(expect.arrayContaining(["mcp-up_echo", "mcp-up_progress", "mcp-alpha_getItem"]));
  });

  it("lists annotations from what the tool declares, with the spec's cautious defaults", async () => {
    const { body } = await call("/v1/mcp-up/mcp", legacyRequest("tools/list"));
    const tools = (body.result?.["tools"] ?? []) as Array<Record<string, unknown>>;
    const echo = tools.find((t) => t["name"] === "echo");
    expect(echo?.["annotations"]).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      openWorldHint: true,
    });
  });

  it("calls a tool through the gateway; the client's own token and headers never reach the upstream", async () => {
    const body = await callTool("/v1/mcp", "mcp-up_echo", { word: "hi" });
    const result = body.result as unknown as ToolResult;
    expect(result.isError).toBeFalsy();
    const echo = echoOf(result);
    expect(echo.arguments).toEqual({ word: "hi" });
    // A session the gateway holds for this owner, on the revision it negotiated.
    expect(echo.headers["mcp-session-id"]).toEqual(expect.any(String));
    expect(echo.headers["mcp-protocol-version"]).toBe("2025-11-25");
    expect(echo.headers["authorization"]).toBeNull();
  });

  it("re-initialises when the upstream forgets its sessions, unseen by the client", async () => {
    const first = echoOf(
      (await callTool("/v1/mcp-up/mcp", "echo", { n: 1 })).result as unknown as ToolResult,
    );
    const forgot = await fetch(`${UPSTREAM}/forget`, { method: "POST" });
    expect(forgot.ok).toBe(true);
    const body = await callTool("/v1/mcp-up/mcp", "echo", { n: 2 });
    expect(body.error).toBeUndefined();
    const second = echoOf(body.result as unknown as ToolResult);
    expect(second.arguments).toEqual({ n: 2 });
    expect(second.headers["mcp-session-id"]).not.toBe(first.headers["mcp-session-id"]);
  });

  it("answers an unknown tool as the MCP layer does for any vendor", async () => {
    const body = await callTool("/v1/mcp-up/mcp", "nope", {});
    expect(body.error).toMatchObject({ code: -32602 });
  });

  it("answers a sampling request from the upstream with an error, and the tool call still completes", async () => {
    const body = await callTool("/v1/mcp-up/mcp", "ask", {});
    const result = body.result as unknown as ToolResult;
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(result.content[0]?.text ?? "{}")).toEqual({ refused: -32601 });
  });
});
