/**
 * Real MCP SDK clients against the Worker: the v1 SDK (`@modelcontextprotocol/sdk`,
 * 2025 revisions, `initialize` handshake) and the v2 client pinned to 2026-07-28.
 * Their HTTP transport's `fetch` goes straight into the Worker's fetch entry.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TOOLS_LIST_PAGE_SIZE } from "../../../src/mcp/pagination.ts";
import {
  closeSdkClients,
  connectLegacyClient as legacyClient,
  connectModernClient as modernClient,
} from "./sdk-clients.ts";

afterEach(closeSdkClients);

describe("@modelcontextprotocol/sdk 1.x client (2025 revisions)", () => {
  it("connects, negotiates 2025-11-25 and pings", async () => {
    const client = await legacyClient("/v1/mcp");
    expect(client.getServerVersion()).toMatchObject({ name: "mcp-edge-gateway" });
    expect(client.getServerCapabilities()).toMatchObject({ tools: { listChanged: false } });
    expect(await client.ping()).toEqual({});
  });

  it("lists every page of the unified tools with vendor-prefixed names", async () => {
    const client = await legacyClient("/v1/mcp");
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      names.push(...page.tools.map((tool) => tool.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBeGreaterThan(1);
    expect(names).toContain("mcp-alpha_getItem");
    expect(names).toContain("mcp-bulk_getThing130");
    expect(new Set(names).size).toBe(names.length);
    expect(pages).toBe(Math.ceil(names.length / TOOLS_LIST_PAGE_SIZE));
  });

  it("lists one vendor's tools unprefixed, with annotations and output schema", async () => {
    const client = await legacyClient("/v1/mcp-alpha/mcp");
    const { tools } = await client.listTools();
    const getItem = tools.find((tool) => tool.name === "getItem");
    expect(getItem?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(getItem?.outputSchema).toMatchObject({ type: "object" });
  });

  it("gets -32602 for an unknown tool", async () => {
    const client = await legacyClient("/v1/mcp-alpha/mcp");
    await expect(client.callTool({ name: "noSuchTool", arguments: {} })).rejects.toMatchObject({
      code: -32602,
    });
  });
});

describe("@modelcontextprotocol/client 2.x pinned to 2026-07-28", () => {
  it("discovers the server without initialize and lists tools", async () => {
    const client = await modernClient("/v1/mcp-alpha/mcp");
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(["getItem", "deleteItem"]));
    expect(tools.find((tool) => tool.name === "deleteItem")?.annotations).toMatchObject({
      destructiveHint: true,
    });
  });

  it("collects every page of the unified list", async () => {
    const client = await modernClient("/v1/mcp");
    // The v2 client follows nextCursor itself.
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names.length).toBeGreaterThan(TOOLS_LIST_PAGE_SIZE);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(["mcp-alpha_getItem", "mcp-bulk_getThing130"]));
  });
});
