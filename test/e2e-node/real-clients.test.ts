/**
 * The clients the README tells people to use, against the gateway under `wrangler dev`
 * (client auth off, as `npm start` runs it): `mcp-remote`, the stdio bridge Claude
 * Desktop launches, and the MCP Inspector CLI. The upstream is the echoing test server,
 * so a tool call proves the request that reached the API, not just an answer.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileAll } from "../../scripts/compiler/index.ts";
import { type DevGateway, ROOT, startDevGateway } from "../../scripts/lib/dev-server.ts";
import { startUpstream } from "../support/upstream-server.ts";
import { runInspector, startMcpRemote } from "./support/client-tools.ts";

/** One answer through a client process: it connects, then relays one HTTP exchange. */
const ANSWER_TIMEOUT_MS = 30_000;
const VENDOR = "mcp-alpha";

let work: string;
let upstream: { origin: string; close: () => Promise<void> };
let gateway: DevGateway | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gateway-clients-"));
  upstream = await startUpstream();
  cpSync(join(ROOT, "test", "fixtures", "specs", VENDOR), join(work, "specs", VENDOR), { recursive: true });
  await compileAll({ specsDir: join(work, "specs"), outDir: join(work, "generated") });
  gateway = await startDevGateway({
    bundlesIndex: join(work, "generated", "index.ts"),
    vars: { GATEWAY_AUTH: "none", MCP_ALPHA_BASE_URL: `${upstream.origin}/${VENDOR}/api` },
  });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

function echoedRequest(result: unknown): { method: string; path: string; headers: Record<string, unknown> } {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  const text = content.find((c) => c.type === "text")?.text ?? "";
  return JSON.parse(text) as { method: string; path: string; headers: Record<string, unknown> };
}

describe("mcp-remote (the stdio bridge Claude Desktop runs)", () => {
  it("relays initialize, tools/list and tools/call to /v1/mcp", async () => {
    const url = `${(gateway as DevGateway).origin}/v1/mcp`;
    const session = await startMcpRemote(url, work, ANSWER_TIMEOUT_MS);
    try {
      const init = await session.request(1, "initialize", {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "claude-desktop-stand-in", version: "1.0.0" },
      });
      expect(init.result).toMatchObject({
        protocolVersion: "2025-06-18",
        serverInfo: { name: "mcp-edge-gateway" },
        capabilities: { tools: {} },
      });
      session.notify("notifications/initialized");

      const list = await session.request(2, "tools/list");
      const names = ((list.result as { tools: Array<{ name: string }> }).tools ?? []).map((t) => t.name);
      expect(names).toContain(`${VENDOR}_getItem`);
      expect(names.every((n) => n.startsWith(`${VENDOR}_`))).toBe(true);

      const call = await session.request(3, "tools/call", {
        name: `${VENDOR}_getItem`,
        arguments: { itemId: "via-mcp-remote" },
      });
      expect(call.result).not.toHaveProperty("isError", true);
      const echoed = echoedRequest(call.result);
      expect(echoed.method).toBe("GET");
      expect(echoed.path).toBe(`/${VENDOR}/api/items/via-mcp-remote`);
    } finally {
      await session.close();
    }
  });
});

/** Runs the Inspector CLI once; resolves with its exit code and output. */
function inspector(args: string[]) {
  return runInspector(args, work, ANSWER_TIMEOUT_MS);
}

/** The Inspector CLI's `tools/call` over streamable HTTP with one `--tool-arg` (`key=value`). */
function inspectorToolCall(url: string, tool: string, toolArg: string) {
  return inspector([
    url,
    "--transport",
    "http",
    "--method",
    "tools/call",
    "--tool-name",
    tool,
    "--tool-arg",
    toolArg,
  ]);
}

describe("MCP Inspector CLI (the README's commands)", () => {
  it("--method tools/list on the unified endpoint", async () => {
    const url = `${(gateway as DevGateway).origin}/v1/mcp`;
    const { code, stdout, stderr } = await inspector([url, "--method", "tools/list"]);
    expect(code, stderr).toBe(0);
    const names = (JSON.parse(stdout) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(names).toContain(`${VENDOR}_createItem`);
  });

  it("--method tools/call with --tool-arg on a vendor endpoint", async () => {
    const url = `${(gateway as DevGateway).origin}/v1/${VENDOR}/mcp`;
    // The Inspector parses each value as JSON when it can: a string that looks like a number needs quotes.
    // A tool without outputSchema (getItem, with one, is the next test).
    const { code, stdout, stderr } = await inspectorToolCall(url, "deleteItem", 'itemId="42"');
    expect(code, stderr).toBe(0);
    const echoed = echoedRequest(JSON.parse(stdout));
    expect(echoed.method).toBe("DELETE");
    expect(echoed.path).toBe(`/${VENDOR}/api/items/42`);
  });

  it("--method tools/call on a tool with an outputSchema, whose upstream answer drifts from it", async () => {
    // getItem documents an Item ({id, name} required, no more); the echo has neither and other
    // fields. The Inspector checks structuredContent against the listed outputSchema with ajv
    // and fails the call (-32602) on a mismatch: the tolerant schema must let this through.
    const url = `${(gateway as DevGateway).origin}/v1/${VENDOR}/mcp`;
    const { code, stdout, stderr } = await inspectorToolCall(url, "getItem", 'itemId="7"');
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { isError?: boolean; structuredContent?: Record<string, unknown> };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ method: "GET", path: `/${VENDOR}/api/items/7` });
  });
});
