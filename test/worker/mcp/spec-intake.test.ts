/**
 * What real specs taught (issue #11, item 15), checked through the MCP endpoints: the
 * discovery-mode instructions, the missing-credential error of a vendor whose vendor.json
 * pins a scheme (test/fixtures/specs/pinned-auth, Stripe-shaped), and HTML summaries.
 */
import { describe, expect, it } from "vitest";
import { call, legacyRequest } from "./helpers.ts";

const initialize = () => ({
  message: {
    jsonrpc: "2.0",
    id: "init",
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "gateway-tests", version: "1.0.0" },
    },
  },
  headers: {},
});

async function instructions(path: string): Promise<string> {
  const { status, body } = await call(path, initialize());
  expect(status).toBe(200);
  return body.result?.instructions as string;
}

// The first request of a file starts the isolate and parses bundles: seconds on a busy 2-core machine.
const FIRST_REQUEST_TIMEOUT_MS = 20_000;

describe("server instructions say how the tools work", { timeout: FIRST_REQUEST_TIMEOUT_MS }, () => {
  it("a discovery-mode vendor: search, describe, call (not one tool per operation)", async () => {
    const text = await instructions("/v1/mcp-discovery/mcp");
    expect(text).toBe(
      "The mcp-discovery API (13 operations), served by mcp-edge-gateway in discovery mode through three tools: call search with plain words (and optionally a tag) to find operations, describe with their names to get each one's input schema, then call with name and arguments to run one.",
    );
    expect(text).not.toContain("Each tool calls one API operation");
  });

  it("a vendor listed tool by tool keeps the one-tool-per-operation text", async () => {
    expect(await instructions("/v1/mcp-alpha/mcp")).toBe(
      "Tools of the mcp-alpha API, served by mcp-edge-gateway. Each tool calls one API operation.",
    );
  });

  it("/v1/mcp explains the <api>_search/_describe/_call tools without naming vendors", async () => {
    const text = await instructions("/v1/mcp");
    expect(text).toContain(
      "APIs too big to list are served in discovery mode as <api>_search, <api>_describe and <api>_call: call search",
    );
    expect(text).not.toContain("mcp-discovery");
  });
});

describe("a vendor.json that pins auth.scheme (Stripe: basicAuth or bearerAuth in the spec, bearerAuth pinned)", {
  timeout: FIRST_REQUEST_TIMEOUT_MS,
}, () => {
  it("the missing-credential error names only the pinned scheme and its secret", async () => {
    const { status, body } = await call(
      "/v1/pinned-auth/mcp",
      legacyRequest("tools/call", { name: "GetCustomers", arguments: {} }),
    );
    expect(status).toBe(200);
    const result = body.result as { isError?: boolean; content: { type: string; text: string }[] };
    expect(result.isError).toBe(true);
    const error = JSON.parse(result.content[0]!.text) as { error: string; message: string };
    expect(error.error).toBe("missing_credentials");
    expect(error.message).toBe(
      "No upstream credentials are configured for GetCustomers; it needs bearerAuth (set PINNED_AUTH_SECRET_KEY)",
    );
    expect(error.message).not.toMatch(/basicAuth|USERNAME|PASSWORD/);
  });

  it("its HTML summary is listed as plain text", async () => {
    const { body } = await call("/v1/pinned-auth/mcp", legacyRequest("tools/list"));
    const tools = body.result?.tools as { name: string; title?: string; description: string }[];
    expect(tools.map((t) => [t.name, t.title, t.description])).toEqual([
      ["GetCustomers", "List all customers", "List all customers"],
    ]);
  });
});
