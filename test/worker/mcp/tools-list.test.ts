import { describe, expect, it } from "vitest";
import type { Caller } from "../../../src/auth/caller.ts";
import { vendorNames } from "../../../src/bundle/registry.ts";
import { findTool, listTools } from "../../../src/mcp/catalog.ts";
import { TOOLS_LIST_PAGE_SIZE } from "../../../src/mcp/pagination.ts";
import { COMPILED_VENDORS } from "../../../src/vendors/view.ts";
import { call, type JsonRpcResponse, legacyRequest, modernRequest } from "./helpers.ts";

interface ListedTool {
  name: string;
  title?: string;
  description: string;
  inputSchema: { type: string };
  outputSchema?: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

async function listPage(path: string, cursor?: string, modern = false) {
  const params = cursor === undefined ? {} : { cursor };
  const request = modern ? modernRequest("tools/list", params) : legacyRequest("tools/list", params);
  const { status, body } = await call(path, request);
  expect(status).toBe(200);
  return body.result as { tools: ListedTool[]; nextCursor?: string };
}

async function listAll(path: string, modern = false): Promise<{ tools: ListedTool[]; pages: number }> {
  const tools: ListedTool[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listPage(path, cursor, modern);
    tools.push(...page.tools);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 1000);
  return { tools, pages };
}

function byName(tools: ListedTool[]): Map<string, ListedTool> {
  return new Map(tools.map((tool) => [tool.name, tool]));
}

describe("tools/list entries", () => {
  it("derives annotations from the HTTP method", async () => {
    const tools = byName((await listPage("/v1/mcp-alpha/mcp")).tools);
    const hints = (name: string) => {
      const { readOnlyHint, destructiveHint, idempotentHint, openWorldHint } =
        tools.get(name)?.annotations ?? {};
      return { readOnlyHint, destructiveHint, idempotentHint, openWorldHint };
    };
    const open = { openWorldHint: true };
    expect(hints("listItems")).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      ...open,
    });
    expect(hints("getItem")).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      ...open,
    });
    expect(hints("checkItem")).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      ...open,
    });
    expect(hints("createItem")).toEqual({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      ...open,
    });
    expect(hints("updateItem")).toEqual({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      ...open,
    });
    expect(hints("replaceItem")).toEqual({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      ...open,
    });
    expect(hints("deleteItem")).toEqual({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      ...open,
    });
  });

  it("lists title, description, input schema and the object output schema", async () => {
    const tools = byName((await listPage("/v1/mcp-alpha/mcp")).tools);
    const getItem = tools.get("getItem");
    expect(getItem).toMatchObject({
      title: "Get an item",
      description: expect.stringContaining("Returns one item"),
      inputSchema: { type: "object" },
      annotations: { title: "Get an item" },
    });
    // The tolerant form of the documented Item (scripts/compiler/schema.ts): no required, nulls allowed.
    expect(getItem?.outputSchema).toEqual({
      type: "object",
      properties: {
        id: { type: ["string", "null"] },
        name: { type: ["string", "null"] },
        tags: { type: ["array", "null"], items: { type: ["string", "null"] } },
      },
    });
    // An array response has no object schema to advertise.
    expect(tools.get("listItems")?.outputSchema).toBeUndefined();
  });

  it("names tools by vendor on /v1/mcp and unprefixed on /v1/<vendor>/mcp", async () => {
    const vendorTools = (await listAll("/v1/mcp-alpha/mcp")).tools.map((tool) => tool.name);
    const unified = (await listAll("/v1/mcp")).tools.map((tool) => tool.name);
    expect(vendorTools).toContain("getItem");
    expect(unified).toContain("mcp-alpha_getItem");
    expect(unified).not.toContain("getItem");
    const alpha = unified.filter((name) => name.startsWith("mcp-alpha_"));
    expect(alpha).toEqual(vendorTools.map((name) => `mcp-alpha_${name}`));
  });

  it("lists every vendor's tools on /v1/mcp, each once", async () => {
    const unified = (await listAll("/v1/mcp")).tools.map((tool) => tool.name);
    expect(new Set(unified).size).toBe(unified.length);
    let expected = 0;
    for (const vendor of vendorNames()) expected += (await listAll(`/v1/${vendor}/mcp`)).tools.length;
    expect(unified.length).toBe(expected);
    expect(vendorNames()).toEqual(expect.arrayContaining(["mcp-alpha", "mcp-bulk"]));
  });
});

describe("tools/list pagination", () => {
  it("pages a vendor with more tools than one page holds", async () => {
    const first = await listPage("/v1/mcp-bulk/mcp");
    expect(first.tools).toHaveLength(TOOLS_LIST_PAGE_SIZE);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await listPage("/v1/mcp-bulk/mcp", first.nextCursor);
    expect(second.tools).toHaveLength(130 - TOOLS_LIST_PAGE_SIZE);
    expect(second.nextCursor).toBeUndefined();
    const names = [...first.tools, ...second.tools].map((tool) => tool.name);
    expect(names).toEqual(Array.from({ length: 130 }, (_, i) => `getThing${String(i + 1).padStart(3, "0")}`));
  });

  it("pages the same way on 2026-07-28", async () => {
    const legacy = await listAll("/v1/mcp-bulk/mcp");
    const modern = await listAll("/v1/mcp-bulk/mcp", true);
    expect(modern.pages).toBe(2);
    expect(modern.tools.map((tool) => tool.name)).toEqual(legacy.tools.map((tool) => tool.name));
  });

  it("pages the unified list to the end", async () => {
    const { tools, pages } = await listAll("/v1/mcp");
    expect(pages).toBe(Math.ceil(tools.length / TOOLS_LIST_PAGE_SIZE));
  });

  async function listError(path: string, cursor: string): Promise<JsonRpcResponse["error"]> {
    const { body } = await call(path, legacyRequest("tools/list", { cursor }));
    return body.error;
  }

  it("refuses a cursor it did not issue with -32602", async () => {
    for (const cursor of ["", "garbage", "djEuMTAwLmRlYWRiZWVm", "../../etc", "x".repeat(500)]) {
      expect(await listError("/v1/mcp-bulk/mcp", cursor)).toMatchObject({ code: -32602 });
    }
  });

  it("refuses a cursor from another endpoint with -32602", async () => {
    const { nextCursor } = await listPage("/v1/mcp-bulk/mcp");
    expect(await listError("/v1/mcp", nextCursor ?? "")).toMatchObject({ code: -32602 });
  });
});

describe("tools/call routing", () => {
  it("answers an unknown tool with -32602 (a protocol error, per spec)", async () => {
    for (const [path, name] of [
      ["/v1/mcp-alpha/mcp", "noSuchTool"],
      ["/v1/mcp-alpha/mcp", "mcp-alpha_getItem"],
      ["/v1/mcp", "getItem"],
      ["/v1/mcp", "no-such-vendor_getItem"],
      ["/v1/mcp", "mcp-alpha_noSuchTool"],
      ["/v1/mcp", "_getItem"],
    ] as const) {
      const { body } = await call(path, legacyRequest("tools/call", { name, arguments: {} }));
      expect(body.error, `${path} ${name}`).toMatchObject({ code: -32602, message: `Unknown tool: ${name}` });
    }
  });

  it("answers an unknown tool with -32602 on 2026-07-28 too", async () => {
    const { body } = await call(
      "/v1/mcp-alpha/mcp",
      modernRequest("tools/call", { name: "noSuchTool", arguments: {} }, "noSuchTool"),
    );
    expect(body.error).toMatchObject({ code: -32602 });
  });
});

describe("caller filtering seam", () => {
  const caller = (
    allowed: Record<string, string[] | "all">,
    available: string[] = Object.keys(allowed),
  ): Caller => ({
    userId: "u1",
    scopes: [],
    vendorAllowed: (vendor) => vendor in allowed,
    vendorAvailable: (vendor) => available.includes(vendor),
    toolAllowed: (vendor, tool) => {
      const tools = allowed[vendor];
      return tools === "all" || (tools?.includes(tool) ?? false);
    },
  });

  it("lists everything when auth is off", () => {
    const names = listTools({ kind: "unified" }, undefined, COMPILED_VENDORS).map((tool) => tool.name);
    expect(names).toContain("mcp-alpha_getItem");
    expect(names).toContain("mcp-bulk_getThing001");
  });

  it("lists and resolves only the vendors and tools the caller may use", () => {
    const alice = caller({ "mcp-alpha": ["getItem", "listItems"] });
    const names = (tools: readonly { name: string }[]) => tools.map((tool) => tool.name).sort();
    expect(names(listTools({ kind: "unified" }, alice, COMPILED_VENDORS))).toEqual([
      "mcp-alpha_getItem",
      "mcp-alpha_listItems",
    ]);
    expect(names(listTools({ kind: "vendor", vendor: "mcp-alpha" }, alice, COMPILED_VENDORS))).toEqual([
      "getItem",
      "listItems",
    ]);
    expect(findTool({ kind: "unified" }, alice, "mcp-alpha_getItem", COMPILED_VENDORS)?.recipe.name).toBe(
      "getItem",
    );
    expect(findTool({ kind: "unified" }, alice, "mcp-alpha_deleteItem", COMPILED_VENDORS)).toBeUndefined();
    expect(findTool({ kind: "unified" }, alice, "mcp-bulk_getThing001", COMPILED_VENDORS)).toBeUndefined();
    expect(
      findTool({ kind: "vendor", vendor: "mcp-alpha" }, alice, "deleteItem", COMPILED_VENDORS),
    ).toBeUndefined();
  });

  it("hides vendors the caller has no usable credentials for from the unified list", () => {
    const bob = caller({ "mcp-alpha": "all", "mcp-bulk": "all" }, ["mcp-bulk"]);
    const names = listTools({ kind: "unified" }, bob, COMPILED_VENDORS).map((tool) => tool.name);
    expect(names.some((name) => name.startsWith("mcp-alpha_"))).toBe(false);
    expect(names).toContain("mcp-bulk_getThing130");
    expect(findTool({ kind: "unified" }, bob, "mcp-alpha_getItem", COMPILED_VENDORS)).toBeUndefined();
  });
});
