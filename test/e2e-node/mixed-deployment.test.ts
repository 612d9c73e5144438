/**
 * A mixed deployment under `wrangler dev`, as an operator runs one: the demo OpenAPI vendor
 * (`specs/demo/`, its upstream hosted locally) beside an MCP vendor (`stateless`: a stateless
 * server built with the v2 SDK, test/support/mcp-servers/), both on `/v1/mcp`, driven by the three
 * clients the README names: the v1 SDK client (`@modelcontextprotocol/sdk`), the Inspector CLI and
 * mcp-remote. Each call's answer can only come from its own upstream.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevGateway, startDevGateway } from "../../scripts/lib/dev-server.ts";
import { compileDeployment, startDemoUpstream } from "../support/e2e-deployment.ts";
import type { HostedServer } from "../support/mcp-servers/http-host.ts";
import { startStatelessServer } from "../support/mcp-servers/stateless-server.ts";
import { runInspector, startMcpRemote } from "./support/client-tools.ts";

/** One answer through a client process: it starts, connects, then relays one HTTP exchange. */
const ANSWER_TIMEOUT_MS = 30_000;

let work: string;
let demo: HostedServer | undefined;
let stateless: HostedServer | undefined;
let gateway: DevGateway | undefined;
const unified = () => `${(gateway as DevGateway).origin}/v1/mcp`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gateway-mixed-"));
  [demo, stateless] = await Promise.all([
    startDemoUpstream(),
    startStatelessServer(),
    compileDeployment(join(work, "generated"), ["stateless"]),
  ]);
  gateway = await startDevGateway({
    bundlesIndex: join(work, "generated", "index.ts"),
    vars: { GATEWAY_AUTH: "none", DEMO_BASE_URL: demo.origin, STATELESS_MCP_URL: stateless.url },
  });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([demo?.stop(), stateless?.stop()]);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
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
