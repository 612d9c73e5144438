/**
 * Discovery mode (src/mcp/discovery.ts): the mcp-discovery fixture (`"toolMode": "discovery"`)
 * is served as search/describe/call, through real MCP requests into the Worker and the
 * echoing test upstream (MCP_DISCOVERY_BASE_URL).
 */
import { describe, expect, it } from "vitest";
import { createCaller } from "../../../src/auth/caller.ts";
import { getBundle } from "../../../src/bundle/registry.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { discoveryThreshold } from "../../../src/config.ts";
import { GatewayError } from "../../../src/errors.ts";
import { findDiscoveryTool, listTools } from "../../../src/mcp/catalog.ts";
import {
  callDiscoveryTool,
  DEFAULT_DISCOVERY_TOOL_THRESHOLD,
  searchTools,
  usesDiscovery,
} from "../../../src/mcp/discovery.ts";
import { call, legacyRequest, modernRequest } from "./helpers.ts";

const VENDOR_PATH = "/v1/mcp-discovery/mcp";

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

interface Hit {
  name: string;
  method: string;
  path: string;
  summary: string;
  tags: string[];
}

interface Echo {
  method: string;
  path: string;
  rawQuery: string;
  bodyText: string;
}

async function callTool(path: string, name: string, args: unknown): Promise<ToolResult> {
  const { status, body } = await call(path, legacyRequest("tools/call", { name, arguments: args }));
  expect(status).toBe(200);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

function json(result: ToolResult): Record<string, unknown> {
  return JSON.parse(result.content[0]?.text ?? "null") as Record<string, unknown>;
}

async function listAll(
  path: string,
): Promise<Array<{ name: string; annotations?: Record<string, unknown> }>> {
  const tools: Array<{ name: string }> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const { body } = await call(path, legacyRequest("tools/list", cursor ? { cursor } : {}));
    const result = body.result as { tools: Array<{ name: string }>; nextCursor?: string };
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return tools;
}

function fixture(): VendorBundle {
  const bundle = getBundle("mcp-discovery");
  if (!bundle)
    throw new Error("mcp-discovery fixture missing: run npm test (it compiles test/fixtures/specs)");
  return bundle;
}

describe("tools/list in discovery mode", () => {
  it("lists search, describe and call instead of the vendor's operations", async () => {
    const tools = await listAll(VENDOR_PATH);
    expect(tools.map((t) => t.name)).toEqual(["search", "describe", "call"]);
    expect(tools[0]?.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools[2]?.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
  });

  it("offers the vendor's tags as the search tag enum", async () => {
    const { body } = await call(VENDOR_PATH, legacyRequest("tools/list"));
    const search = (body.result as { tools: Array<{ inputSchema: { properties: Record<string, unknown> } }> })
      .tools[0];
    expect(search?.inputSchema.properties.tag).toMatchObject({
      enum: ["repos", "issues", "comments", "labels", "users"],
    });
  });

  it("prefixes the three tools on /v1/mcp and hides the operations there too", async () => {
    const names = (await listAll("/v1/mcp")).map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(["mcp-discovery_search", "mcp-discovery_describe", "mcp-discovery_call"]),
    );
    expect(names.filter((n) => n.startsWith("mcp-discovery_"))).toHaveLength(3);
    // Other vendors are untouched: mcp-bulk (130 tools, "toolMode": "tools") still lists every tool.
    expect(names.filter((n) => n.startsWith("mcp-bulk_")).length).toBeGreaterThan(
      DEFAULT_DISCOVERY_TOOL_THRESHOLD,
    );
  });
});

describe("search", () => {
  it("ranks the operation a plain request means first", async () => {
    const cases: Array<[string, string]> = [
      ["create issue", "createIssue"],
      ["add a comment to an issue", "createComment"],
      ["delete comment", "deleteComment"],
      ["get repository", "getRepo"],
      ["who am I: the authenticated user", "getAuthenticatedUser"],
      ["fork a repo", "createFork"],
      ["list labels", "listLabels"],
    ];
    for (const [query, expected] of cases) {
      const result = await callTool(VENDOR_PATH, "search", { query, limit: 3 });
      expect(result.isError, query).toBeFalsy();
      const hits = (result.structuredContent as { results: Hit[] }).results;
      expect(hits[0]?.name, query).toBe(expected);
    }
  });

  it("answers name, method, path, summary and tags for each hit", async () => {
    const result = await callTool(VENDOR_PATH, "search", { query: "create issue", limit: 1 });
    expect((result.structuredContent as { results: Hit[] }).results).toEqual([
      {
        name: "createIssue",
        method: "POST",
        path: "/repos/{owner}/{repo}/issues",
        summary: "Create an issue",
        tags: ["issues"],
        score: expect.any(Number),
      },
    ]);
    // The text content carries the same JSON for clients that ignore structuredContent.
    expect(json(result)).toEqual(result.structuredContent);
  });

  it("filters by tag, alone or with a query", async () => {
    const byTag = await callTool(VENDOR_PATH, "search", { tag: "comments" });
    expect((byTag.structuredContent as { results: Hit[] }).results.map((h) => h.name)).toEqual([
      "listComments",
      "createComment",
      "deleteComment",
    ]);
    const both = await callTool(VENDOR_PATH, "search", { query: "create", tag: "labels" });
    expect((both.structuredContent as { results: Hit[] }).results.map((h) => h.name)).toEqual([
      "createLabel",
    ]);
  });

  it("ranks a deprecated operation below a current one that matches as well", () => {
    const { hits } = searchTools(fixture(), { query: "issue", limit: 20 });
    const names = hits.map((h) => h.name);
    expect(names.indexOf("unlockIssue")).toBeGreaterThan(names.indexOf("getIssue"));
    expect(hits.find((h) => h.name === "unlockIssue")?.deprecated).toBe(true);
  });

  it("says so when nothing matches", async () => {
    const result = await callTool(VENDOR_PATH, "search", { query: "kubernetes cluster autoscaler" });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ results: [], matched: 0, hint: expect.any(String) });
  });

  it("refuses bad arguments as a tool error naming the field", async () => {
    const empty = await callTool(VENDOR_PATH, "search", {});
    expect(empty.isError).toBe(true);
    expect(json(empty)).toMatchObject({ error: "invalid_arguments", tool: "search" });
    const unknownField = await callTool(VENDOR_PATH, "search", { query: "issue", sort: "desc" });
    expect(unknownField.isError).toBe(true);
    const badLimit = await callTool(VENDOR_PATH, "search", { query: "issue", limit: 500 });
    expect(json(badLimit)).toMatchObject({ error: "invalid_arguments", errors: [{ pointer: "/limit" }] });
  });
});

describe("describe", () => {
  it("returns the full input schema of the named operations and lists unknown names", async () => {
    const result = await callTool(VENDOR_PATH, "describe", { names: ["createIssue", "noSuchThing"] });
    expect(result.isError).toBeFalsy();
    const { tools, unknown } = result.structuredContent as {
      tools: Array<{
        name: string;
        method: string;
        inputSchema: { properties: Record<string, unknown>; required: string[] };
      }>;
      unknown: string[];
    };
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({ name: "createIssue", method: "POST", readOnly: false });
    expect(Object.keys(tools[0]?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(["owner", "repo", "title", "body", "labels"]),
    );
    expect(tools[0]?.inputSchema.required).toEqual(expect.arrayContaining(["owner", "repo", "title"]));
    expect(unknown).toEqual(["noSuchThing"]);
  });

  it("answers an unknown operation with a tool error and suggestions", async () => {
    const result = await callTool(VENDOR_PATH, "describe", { names: ["create_issue"] });
    expect(result.isError).toBe(true);
    expect(json(result)).toMatchObject({
      error: "unknown_operation",
      suggestions: expect.arrayContaining(["createIssue"]),
    });
  });
});

describe("call", () => {
  it("runs the named operation through the normal execution path", async () => {
    const result = await callTool(VENDOR_PATH, "call", {
      name: "createIssue",
      arguments: { owner: "octo", repo: "hello", title: "Found a bug", labels: ["bug"] },
    });
    expect(result.isError).toBeFalsy();
    const echo = JSON.parse(result.content[0]?.text ?? "") as Echo;
    expect(echo).toMatchObject({ method: "POST", path: "/mcp-discovery/api/repos/octo/hello/issues" });
    expect(JSON.parse(echo.bodyText)).toEqual({ title: "Found a bug", labels: ["bug"] });
  });

  it("serves the 2026-07-28 revision the same way (per-request envelope, Mcp-Name header)", async () => {
    const request = modernRequest(
      "tools/call",
      { name: "search", arguments: { query: "create issue", limit: 1 } },
      "search",
    );
    const { status, body } = await call(VENDOR_PATH, request);
    expect(status).toBe(200);
    const result = body.result as unknown as ToolResult;
    expect((result.structuredContent as { results: Hit[] }).results[0]?.name).toBe("createIssue");
  });

  it("works through the prefixed tool on /v1/mcp, with query parameters", async () => {
    const result = await callTool("/v1/mcp", "mcp-discovery_call", {
      name: "listIssues",
      arguments: { owner: "octo", repo: "hello", state: "closed" },
    });
    const echo = JSON.parse(result.content[0]?.text ?? "") as Echo;
    expect(echo).toMatchObject({
      method: "GET",
      path: "/mcp-discovery/api/repos/octo/hello/issues",
      rawQuery: "state=closed",
    });
  });

  it("validates the operation's arguments like a direct call (every bad field named)", async () => {
    const result = await callTool(VENDOR_PATH, "call", {
      name: "createIssue",
      arguments: { owner: "octo", repo: "hello", title: "", extra: 1 },
    });
    expect(result.isError).toBe(true);
    const body = json(result) as { error: string; errors: Array<{ pointer: string }> };
    expect(body.error).toBe("invalid_arguments");
    expect(body.errors.map((e) => e.pointer)).toEqual(expect.arrayContaining(["/title", "/extra"]));
  });

  it("refuses an unknown operation without calling the upstream", async () => {
    const result = await callTool(VENDOR_PATH, "call", { name: "dropDatabase", arguments: {} });
    expect(result.isError).toBe(true);
    expect(json(result)).toMatchObject({ error: "unknown_operation" });
  });

  it("is a protocol error only for tools that do not exist at all", async () => {
    const { body } = await call(VENDOR_PATH, legacyRequest("tools/call", { name: "explode", arguments: {} }));
    expect(body.error?.code).toBe(-32602);
  });
});

describe("who may search and call what", () => {
  const bundle = () => fixture();
  const run = async () => ({ content: [{ type: "text" as const, text: "ran" }] });

  it("hides operations outside the team allowlist from search, describe and call", async () => {
    const caller = createCaller(
      { userId: "local:alice" },
      { tools: { "mcp-discovery": ["listIssues", "getIssue"] } },
      ["mcp:read", "mcp:write"],
    );
    const ctx = { bundle: bundle(), caller, prefix: "", run };
    const search = await callDiscoveryTool(ctx, "search", { query: "issue", limit: 50 });
    expect((search.structuredContent as { results: Hit[] }).results.map((h) => h.name).sort()).toEqual([
      "getIssue",
      "listIssues",
    ]);
    const describeHidden = await callDiscoveryTool(ctx, "describe", { names: ["createIssue"] });
    expect(describeHidden.isError).toBe(true);
    const callHidden = await callDiscoveryTool(ctx, "call", { name: "createIssue", arguments: {} });
    expect(JSON.parse((callHidden.content[0] as { text: string }).text)).toMatchObject({
      error: "unknown_operation",
    });
    const allowed = await callDiscoveryTool(ctx, "call", { name: "getIssue", arguments: {} });
    expect(allowed).toEqual({ content: [{ type: "text", text: "ran" }] });
  });

  it("needs the mcp:write scope to call an operation that changes data", async () => {
    const reader = createCaller({ userId: "local:bob" }, undefined, ["mcp:read"]);
    const ctx = { bundle: bundle(), caller: reader, prefix: "", run };
    const write = await callDiscoveryTool(ctx, "call", { name: "createIssue", arguments: {} });
    expect(write.isError).toBe(true);
    expect(JSON.parse((write.content[0] as { text: string }).text)).toMatchObject({
      error: "insufficient_scope",
    });
    const read = await callDiscoveryTool(ctx, "call", { name: "listIssues", arguments: {} });
    expect(read.isError).toBeFalsy();
  });
});

describe("when a vendor is in discovery mode", () => {
  it("follows vendor.json toolMode, else the tool count against DISCOVERY_TOOL_THRESHOLD", () => {
    const alpha = getBundle("mcp-alpha") as VendorBundle;
    const bulk = getBundle("mcp-bulk") as VendorBundle;
    expect(alpha.toolMode).toBeUndefined();
    expect(usesDiscovery(alpha, alpha.tools.length)).toBe(false);
    expect(usesDiscovery(alpha, alpha.tools.length - 1)).toBe(true);
    // Explicit modes win over the count.
    expect(usesDiscovery(bulk, 1)).toBe(false);
    expect(usesDiscovery(fixture(), 1_000_000)).toBe(true);

    const small = { discoveryThreshold: alpha.tools.length - 1 };
    expect(listTools({ kind: "vendor", vendor: "mcp-alpha" }, undefined, small).map((t) => t.name)).toEqual([
      "search",
      "describe",
      "call",
    ]);
    expect(findDiscoveryTool({ kind: "unified" }, undefined, "mcp-alpha_search", small)?.kind).toBe("search");
    expect(findDiscoveryTool({ kind: "unified" }, undefined, "mcp-alpha_search")).toBeUndefined();
    expect(listTools({ kind: "vendor", vendor: "mcp-alpha" }, undefined).length).toBe(alpha.tools.length);
  });

  it("reads DISCOVERY_TOOL_THRESHOLD once per env and rejects a bad value as a configuration error", () => {
    expect(discoveryThreshold({})).toBe(DEFAULT_DISCOVERY_TOOL_THRESHOLD);
    expect(discoveryThreshold({ DISCOVERY_TOOL_THRESHOLD: "40" })).toBe(40);
    for (const bad of ["0", "-5", "ten", "1.5", "99999999"]) {
      expect(() => discoveryThreshold({ DISCOVERY_TOOL_THRESHOLD: bad }), bad).toThrow(GatewayError);
    }
    try {
      discoveryThreshold({ DISCOVERY_TOOL_THRESHOLD: "lots" });
    } catch (error) {
      expect(error).toMatchObject({
        code: "invalid_configuration",
        message: expect.stringContaining("DISCOVERY_TOOL_THRESHOLD"),
      });
    }
  });
});
