import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MixedDeployment, startMixedDeployment } from "../support/e2e-deployment.ts";
import { runInspector, startMcpRemote } from "./support/client-tools.ts";

/** One answer through a client process: it starts, connects, then relays one HTTP exchange. */
const ANSWER_TIMEOUT_MS = 30_000;

let deployment: MixedDeployment | undefined;
let work: string;
const unified = () => `${(deployment as MixedDeployment).gateway.origin}/v1/mcp`;

beforeAll(async () => {
  deployment = await startMixedDeployment();
  work = deployment.work;
}, 120_000);

afterAll(async () => {
  await deployment?.stop();
});

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.find((c) => c.type === "text")?.text ?? "";
}

describe("the v1 SDK client (@modelcontextprotocol/sdk) on /v1/mcp", () => {
  it("lists both vendors' tools and calls each", async () => {
    const client = new Client({ name: "mixed-e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(unified())));
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining(["demo_listNotes", "demo_getNote", "stateless_add", "stateless_echo"]),
      );
      expect(tools.find((t) => t.name === "stateless_add")).toMatchObject({
        title: "Add two numbers",
        outputSchema: { properties: { sum: { type: "number" } } },
      });

      const note = await client.callTool({ name: "demo_getNote", arguments: { id: "1" } });
      expect(note.isError).toBeFalsy();
      expect(JSON.parse(textOf(note))).toMatchObject({ id: "1", title: "Welcome" });

      // The SDK client checks structuredContent against the listed outputSchema.
      const sum = await client.callTool({ name: "stateless_add", arguments: { a: 19, b: 23 } });
      expect(sum.isError).toBeFalsy();
      expect(sum.structuredContent).toEqual({ sum: 42 });
    } finally {
      await client.close();
    }
  });
});

describe("the MCP Inspector CLI on /v1/mcp", () => {
  it("--method tools/list shows both vendors", async () => {
    const { code, stdout, stderr } = await runInspector(
      [unified(), "--method", "tools/list"],
      work,
      ANSWER_TIMEOUT_MS,
    );
    expect(code, stderr).toBe(0);
    const names = (JSON.parse(stdout) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["demo_listNotes", "stateless_read_note"]));
  });

  it("--method tools/call on the MCP vendor's tool", async () => {
    const { code, stdout, stderr } = await runInspector(
      [
        unified(),
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "stateless_add",
        "--tool-arg",
        "a=2",
        "b=3",
      ],
      work,
      ANSWER_TIMEOUT_MS,
    );
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { isError?: boolean; structuredContent?: unknown };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ sum: 5 });
  });
});

describe("mcp-remote (the stdio bridge Claude Desktop runs) on /v1/mcp", () => {
  it("relays initialize, tools/list and calls to both vendors", async () => {
    const session = await startMcpRemote(unified(), work, ANSWER_TIMEOUT_MS);
    try {
      const init = await session.request(1, "initialize", {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "claude-desktop-stand-in", version: "1.0.0" },
      });
      expect(init.result).toMatchObject({ serverInfo: { name: "mcp-edge-gateway" } });
      session.notify("notifications/initialized");

      const list = await session.request(2, "tools/list");
      const names = ((list.result as { tools: Array<{ name: string }> }).tools ?? []).map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["demo_createNote", "stateless_echo"]));

      const echo = await session.request(3, "tools/call", {
        name: "stateless_echo",
        arguments: { text: "via mcp-remote" },
      });
      expect(textOf(echo.result)).toBe("via mcp-remote");
      const created = await session.request(4, "tools/call", {
        name: "demo_createNote",
        arguments: { title: "From mcp-remote", body: "through the gateway" },
      });
      expect(created.result).not.toHaveProperty("isError", true);
      expect(JSON.parse(textOf(created.result))).toMatchObject({ title: "From mcp-remote" });
    } finally {
      await session.close();
    }
  });
});
