/**
 * Real MCP SDK clients against the Worker: the v1 SDK (`@modelcontextprotocol/sdk`,
 * 2025 revisions, `initialize` handshake) and the v2 client pinned to 2026-07-28.
 * Their HTTP transport's `fetch` goes straight into the Worker's fetch entry.
 */
import { exports } from "cloudflare:workers";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { afterEach, describe, expect, it } from "vitest";
import { TOOLS_LIST_PAGE_SIZE } from "../../../src/mcp/pagination.ts";
import { BASE } from "./helpers.ts";

const workerFetch = (url: string | URL, init?: RequestInit) => exports.default.fetch(url, init);
const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.close()));
});

async function legacyClient(path: string): Promise<Client> {
  const client = new Client(
    { name: "gateway-tests", version: "1.0.0" },
    // The default ajv validator compiles code at run time, which workerd forbids.
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(`${BASE}${path}`), { fetch: workerFetch }));
  open.push(client);
  return client;
}

async function modernClient(path: string): Promise<ModernClient> {
  const client = new ModernClient(
    { name: "gateway-tests", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } } },
  );
  await client.connect(new ModernTransport(new URL(`${BASE}${path}`), { fetch: workerFetch }));
  open.push(client);
  return client;
}

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
