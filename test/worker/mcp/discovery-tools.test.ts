/**
 * Discovery mode's `describe` and `call` tools (src/mcp/discovery-tools.ts), through real MCP
 * requests into the Worker and the echoing test upstream, and what a caller may see and run.
 */
import { describe, expect, it } from "vitest";
import { createCaller } from "../../../src/auth/caller.ts";
import { callDiscoveryTool } from "../../../src/mcp/discovery-tools.ts";
import {
  callTool,
  type Echo,
  fixture,
  type Hit,
  json,
  type ToolResult,
  VENDOR_PATH,
} from "./discovery-helpers.ts";
import { call, legacyRequest, modernRequest } from "./helpers.ts";

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
