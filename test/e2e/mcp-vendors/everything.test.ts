/**
 * `@modelcontextprotocol/server-everything` (the reference server, stateful over streamable HTTP)
 * as a vendor of the gateway, driven by real MCP SDK clients through the Worker: its tools on
 * `/v1/everything/mcp` as the server names them and on `/v1/mcp` as `everything_<tool>`, with
 * their schemas, annotations and titles; calls whose answers only that server can give; its
 * resources, templates and prompts (namespaced on `/v1/mcp`) and its progress notifications; and the
 * same server behind discovery mode (vendor `everything-search`).
 */
import { afterEach, describe, expect, it } from "vitest";
import { legacyRequest, post } from "../../worker/mcp/helpers.ts";
import { closeSdkClients, connectLegacyClient, connectModernClient } from "../../worker/mcp/sdk-clients.ts";
import { textOf } from "./helpers.ts";

afterEach(closeSdkClients);

type Tool = {
  name: string;
  title?: string;
  description?: string;
  inputSchema: {
    type: string;
    properties?: Record<string, { type?: string; enum?: unknown[] }>;
    required?: string[];
  };
  outputSchema?: { type: string; properties?: Record<string, { type?: string }> };
  annotations?: Record<string, unknown>;
};

/** The tools every server-everything session registers (the conditional ones need client capabilities). */
const CORE_TOOLS = [
  "echo",
  "get-sum",
  "get-structured-content",
  "get-annotated-message",
  "trigger-long-running-operation",
];

describe("server-everything behind the gateway", () => {
  it("lists its tools unprefixed on /v1/everything/mcp with schemas, annotations and titles", async () => {
    const client = await connectLegacyClient("/v1/everything/mcp");
    const { tools } = (await client.listTools()) as { tools: Tool[] };
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of CORE_TOOLS) expect(byName.has(name), name).toBe(true);
    expect(tools.some((t) => t.name.startsWith("everything_"))).toBe(false);

    expect(byName.get("echo")).toMatchObject({
      title: "Echo Tool",
      description: "Echoes back the input string",
      inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    });
    expect(byName.get("get-structured-content")).toMatchObject({
      title: "Get Structured Content Tool",
      inputSchema: { properties: { location: { enum: ["New York", "Chicago", "Los Angeles"] } } },
      outputSchema: {
        type: "object",
        properties: {
          temperature: { type: "number" },
          conditions: { type: "string" },
          humidity: { type: "number" },
        },
      },
    });
  });

  it("lists them on /v1/mcp as everything_<tool>, next to the demo OpenAPI vendor's", async () => {
    const client = await connectLegacyClient("/v1/mcp");
    const { tools } = (await client.listTools()) as { tools: Tool[] };
    const names = tools.map((t) => t.name);
    for (const name of CORE_TOOLS) expect(names).toContain(`everything_${name}`);
    expect(names).not.toContain("echo");
    expect(names.some((n) => n.startsWith("demo_"))).toBe(true);
    expect(tools.find((t) => t.name === "everything_get-sum")).toMatchObject({
      title: "Get Sum Tool",
      inputSchema: { properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] },
      annotations: { readOnlyHint: true },
    });
  });

  it("calls its tools on both endpoints; structured content passes the SDK client's outputSchema check", async () => {
    const vendor = await connectLegacyClient("/v1/everything/mcp");
    const echo = await vendor.callTool({ name: "echo", arguments: { message: "through the gateway" } });
    expect(echo.isError).toBeFalsy();
    expect(textOf(echo)).toBe("Echo: through the gateway");

    const unified = await connectLegacyClient("/v1/mcp");
    const sum = await unified.callTool({ name: "everything_get-sum", arguments: { a: 2, b: 40 } });
    expect(textOf(sum)).toBe("The sum of 2 and 40 is 42.");
    // The v1 client validates structuredContent against the listed outputSchema (it throws on a mismatch).
    await unified.listTools();
    const weather = await unified.callTool({
      name: "everything_get-structured-content",
      arguments: { location: "Chicago" },
    });
    expect(weather.isError).toBeFalsy();
    expect(weather.structuredContent).toEqual({
      temperature: 36,
      conditions: "Light rain / drizzle",
      humidity: 82,
    });
  });

  it("its own argument errors come back as tool errors, not protocol failures", async () => {
    const client = await connectLegacyClient("/v1/everything/mcp");
    const result = await client.callTool({ name: "get-sum", arguments: { a: "two", b: 2 } });
    expect(result.isError).toBe(true);
  });

  it("serves a 2026-07-28 client too (translated to the session-based revision upstream)", async () => {
    const client = await connectModernClient("/v1/everything/mcp");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("echo");
    const echo = await client.callTool({ name: "echo", arguments: { message: "modern" } });
    expect(textOf(echo)).toBe("Echo: modern");
  });
});

describe("server-everything's resources, prompts and progress behind the gateway", () => {
  const FEATURES = "demo://resource/static/document/features.md";

  it("lists and reads its resources and templates as it names them, and namespaced on /v1/mcp", async () => {
    const vendor = await connectLegacyClient("/v1/everything/mcp");
    const { resources } = await vendor.listResources();
    expect(resources.map((r) => r.uri)).toContain(FEATURES);
    const read = await vendor.readResource({ uri: FEATURES });
    const text = (read.contents[0] as { text?: string }).text ?? "";
    expect(text.length).toBeGreaterThan(0);
    const { resourceTemplates } = await vendor.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(
      "demo://resource/dynamic/text/{resourceId}",
    );
    const dynamic = await vendor.readResource({ uri: "demo://resource/dynamic/text/3" });
    expect((dynamic.contents[0] as { text?: string }).text).toMatch(
      /^Resource 3: This is a plaintext resource/,
    );

    const unified = await connectLegacyClient("/v1/mcp");
    const wrapped = `mcp-gw://everything/${FEATURES}`;
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await unified.listResources(cursor === undefined ? {} : { cursor });
      all.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(all).toContain(wrapped);
    const again = await unified.readResource({ uri: wrapped });
    expect((again.contents[0] as { text?: string }).text).toBe(text);
  });

  it("lists and gets its prompts, unprefixed and as everything_<prompt>", async () => {
    const vendor = await connectLegacyClient("/v1/everything/mcp");
    const { prompts } = await vendor.listPrompts();
    expect(prompts.find((p) => p.name === "args-prompt")).toMatchObject({
      title: "Arguments Prompt",
      arguments: expect.arrayContaining([expect.objectContaining({ name: "city", required: true })]),
    });
    const got = await vendor.getPrompt({ name: "args-prompt", arguments: { city: "Lyon" } });
    expect(got.messages[0]?.content).toMatchObject({ type: "text", text: "What's weather in Lyon?" });

    const unified = await connectLegacyClient("/v1/mcp");
    const prefixed = await unified.getPrompt({ name: "everything_simple-prompt" });
    expect(prefixed.messages[0]?.content).toMatchObject({
      text: "This is a simple prompt without arguments.",
    });
  });

  it("relays its progress notifications, under the client's own token, to a client that takes SSE", async () => {
    // The JSON fast path carries the result alone; a client that only takes SSE gets the progress.
    const request = legacyRequest("tools/call", {
      name: "everything_trigger-long-running-operation",
      // A short operation: the upstream sleeps duration/steps seconds between two notifications.
      arguments: { duration: 0.02, steps: 2 },
      _meta: { progressToken: "e2e-progress" },
    });
    const res = await post("/v1/mcp", request.message, {
      headers: request.headers,
      accept: "text/event-stream",
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await res.text())
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map(
        (line) =>
          JSON.parse(line.slice(5)) as {
            method?: string;
            params?: Record<string, unknown>;
            result?: unknown;
          },
      );
    const progress = events.filter((e) => e.method === "notifications/progress").map((e) => e.params);
    expect(progress).toEqual([
      expect.objectContaining({ progressToken: "e2e-progress", progress: 1, total: 2 }),
      expect.objectContaining({ progressToken: "e2e-progress", progress: 2, total: 2 }),
    ]);
    expect(textOf(events.at(-1)?.result)).toContain("Long running operation completed");
  });
});

describe("server-everything in discovery mode (toolMode: discovery)", () => {
  it("lists search/describe/call instead of its tools", async () => {
    const client = await connectLegacyClient("/v1/everything-search/mcp");
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(["call", "describe", "search"]);
    // Its operations live upstream: the instructions count none of the compiled bundle's (empty) list.
    const instructions = client.getInstructions() ?? "";
    expect(instructions).toContain("discovery mode");
    expect(instructions).not.toContain("(0 operations)");
  });

  it("indexes its tools: search finds one, describe gives its schema, call runs it", async () => {
    const client = await connectLegacyClient("/v1/mcp");
    const found = await client.callTool({
      name: "everything-search_search",
      arguments: { query: "sum of two numbers" },
    });
    expect(found.isError).toBeFalsy();
    const hits = (found.structuredContent as { results: Array<{ name: string }> }).results;
    expect(hits[0]?.name).toBe("get-sum");

    const described = await client.callTool({
      name: "everything-search_describe",
      arguments: { names: ["echo"] },
    });
    const { tools } = described.structuredContent as {
      tools: Array<{ name: string; inputSchema: Tool["inputSchema"] }>;
    };
    expect(tools[0]).toMatchObject({
      name: "echo",
      inputSchema: { properties: { message: { type: "string" } } },
    });

    const called = await client.callTool({
      name: "everything-search_call",
      arguments: { name: "get-sum", arguments: { a: 1, b: 2 } },
    });
    expect(called.isError).toBeFalsy();
    expect(textOf(called)).toBe("The sum of 1 and 2 is 3.");
  });
});
