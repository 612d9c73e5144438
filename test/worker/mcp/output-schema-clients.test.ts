/**
 * Real MCP SDK clients check every structured result against the tool's listed
 * `outputSchema` and fail the whole call (-32602) when it does not match, or when a
 * successful result has none. Upstreams that drift from their spec must still work,
 * and a body of another shape must come back as an error result, not a thrown call.
 * The up-output fixture's upstream serves a widget as documented or drifted
 * (test/support/upstream-server.ts, `/respond/widget/<variant>`); mcp-alpha's getItem
 * answers with the echo, which is not the documented Item at all.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  closeSdkClients,
  connectLegacyClient,
  connectModernClient,
  type ModernClient,
} from "./sdk-clients.ts";

afterEach(closeSdkClients);

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** The v1 SDK client (1.32), after listTools so it holds each tool's output validator. */
async function legacyClient(path: string): Promise<Client> {
  const client = await connectLegacyClient(path);
  const { tools } = await client.listTools();
  expect(tools.find((t) => t.name === "getWidget" || t.name === "getItem")?.outputSchema).toBeDefined();
  return client;
}

async function modernClient(path: string): Promise<ModernClient> {
  const client = await connectModernClient(path);
  await client.listTools();
  return client;
}

function errorOf(result: ToolResult): { error: string; data?: unknown } {
  expect(result.isError).toBe(true);
  return JSON.parse(result.content[0]?.text ?? "") as { error: string; data?: unknown };
}

describe("@modelcontextprotocol/sdk 1.32 Client.callTool", () => {
  it("gets structured content for a body that drifts from its spec (mcp-alpha getItem answers with the echo)", async () => {
    const client = await legacyClient("/v1/mcp-alpha/mcp");
    const result = (await client.callTool({ name: "getItem", arguments: { itemId: "42" } })) as ToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ method: "GET", path: "/mcp-alpha/api/items/42" });
  });

  it.each(["exact", "extra", "missing", "nulls", "odd"])("accepts the %s widget", async (variant) => {
    const client = await legacyClient("/v1/up-output/mcp");
    const result = (await client.callTool({ name: "getWidget", arguments: { variant } })) as ToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual(JSON.parse(result.content[0]?.text ?? ""));
  });

  it.each(["mismatch", "array", "text", "empty", "malformed"])(
    "gets an error result, not a thrown -32602, for the %s body",
    async (variant) => {
      const client = await legacyClient("/v1/up-output/mcp");
      const result = (await client.callTool({ name: "getWidget", arguments: { variant } })) as ToolResult;
      expect(errorOf(result).error).toBe("output_schema_mismatch");
    },
  );

  it("the type mismatch still hands over the data", async () => {
    const client = await legacyClient("/v1/up-output/mcp");
    const result = (await client.callTool({
      name: "getWidget",
      arguments: { variant: "mismatch" },
    })) as ToolResult;
    expect(errorOf(result).data).toMatchObject({ id: 1, owner: "ada" });
  });
});

describe("@modelcontextprotocol/client 2.x (2026-07-28)", () => {
  it("accepts drift and gets an error result for another shape", async () => {
    const client = await modernClient("/v1/up-output/mcp");
    const drifted = (await client.callTool({
      name: "getWidget",
      arguments: { variant: "nulls" },
    })) as ToolResult;
    expect(drifted.isError).toBeFalsy();
    expect(drifted.structuredContent).toMatchObject({ id: 1, name: null, owner: null });
    const wrong = (await client.callTool({
      name: "getWidget",
      arguments: { variant: "mismatch" },
    })) as ToolResult;
    expect(errorOf(wrong).error).toBe("output_schema_mismatch");
  });
});
