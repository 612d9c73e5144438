/**
 * A stateless MCP server built with the v2 SDK (no sessions; test/support/mcp-servers/
 * stateless-server.ts) as the vendor `stateless`, driven by the v1 and v2 SDK clients through
 * the Worker.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, legacyRequest } from "../../worker/mcp/helpers.ts";
import { closeSdkClients, connectLegacyClient, connectModernClient } from "../../worker/mcp/sdk-clients.ts";
import { textOf, vendorHealth } from "./helpers.ts";

afterEach(closeSdkClients);

describe("a stateless SDK server behind the gateway", () => {
  it("lists its tools with titles, schemas and annotations, unprefixed and prefixed", async () => {
    const vendor = await connectLegacyClient("/v1/stateless/mcp");
    const tools = (await vendor.listTools()).tools;
    expect(tools.find((t) => t.name === "add")).toMatchObject({
      title: "Add two numbers",
      inputSchema: { type: "object", required: ["a", "b"] },
      outputSchema: { type: "object", properties: { sum: { type: "number" } } },
    });
    expect(tools.find((t) => t.name === "read_note")?.annotations).toMatchObject({
      readOnlyHint: true,
      idempotentHint: true,
    });

    const unified = await connectLegacyClient("/v1/mcp");
    const names = (await unified.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["stateless_echo", "stateless_add", "stateless_read_note"]));
  });

  it("calls them from 2025 and 2026-07-28 clients; structured content passes the outputSchema check", async () => {
    const legacy = await connectLegacyClient("/v1/mcp");
    await legacy.listTools();
    const sum = await legacy.callTool({ name: "stateless_add", arguments: { a: 20, b: 22 } });
    expect(sum.isError).toBeFalsy();
    expect(sum.structuredContent).toEqual({ sum: 42 });

    const modern = await connectModernClient("/v1/stateless/mcp");
    const note = await modern.callTool({ name: "read_note", arguments: { id: "2" } });
    expect(textOf(note)).toBe("Second: The second note.");
  });

  it("an isError result is the tool's answer: passed through, and the vendor stays healthy", async () => {
    const client = await connectLegacyClient("/v1/stateless/mcp");
    const failed = await client.callTool({ name: "always_fails", arguments: {} });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toBe("This tool failed on purpose.");
    expect((await vendorHealth()).stateless).toMatchObject({
      status: "up",
      breaker: { state: "closed", consecutiveFailures: 0 },
    });
  });

  it("sends the vendor's own token upstream, never the client's Authorization or cookies, and scrubs it from the answer", async () => {
    const { status, body } = await call(
      "/v1/stateless/mcp",
      legacyRequest("tools/call", { name: "echo_headers", arguments: {} }),
      { headers: { authorization: "Bearer client-token-e2e", cookie: "session=client-cookie-e2e" } },
    );
    expect(status).toBe(200);
    const result = body.result as {
      structuredContent?: { headers: Record<string, string> };
      content: unknown;
    };
    const text = JSON.stringify(body);
    expect(text).not.toContain("client-token-e2e");
    expect(text).not.toContain("client-cookie-e2e");
    // The upstream echoed the STATELESS_TOKEN it received; the client never sees the value.
    expect(text).not.toContain("e2e-upstream-token-4d1f");
    expect(result.structuredContent?.headers.authorization).toBe("Bearer [REDACTED]");
    expect(result.structuredContent?.headers.cookie).toBeUndefined();
  });
});
