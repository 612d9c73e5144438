/**
 * The upstream MCP servers the workers project starts (test/support/mcp-servers/setup.ts) are
 * reachable from inside workerd, and their faults switch over HTTP from here: what an MCP vendor
 * test relies on before it puts one behind the gateway.
 */
import { afterEach, describe, expect, inject, it } from "vitest";

const servers = inject("mcpServers");
const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-06-18",
};

const control = (origin: string, name: string) => fetch(`${origin}/_control/${name}`, { method: "POST" });

afterEach(async () => {
  await control(servers.stateless.origin, "heal");
});

describe("upstream MCP servers seen from workerd", () => {
  it("the stateless server answers a tools/call without a handshake", async () => {
    const res = await fetch(servers.stateless.url, {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "add", arguments: { a: 1, b: 2 } },
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"structuredContent":{"sum":3}');
  });

  it("a fault switched over HTTP applies until healed", async () => {
    expect(await (await control(servers.stateless.origin, "fail")).json()).toMatchObject({ mode: "fail" });
    const failed = await fetch(servers.stateless.url, { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(failed.status).toBe(500);
    expect(failed.headers.get("content-type")).toMatch(/^text\/html/);
    await failed.body?.cancel();
    expect(await (await control(servers.stateless.origin, "heal")).json()).toMatchObject({ mode: "serve" });
  });

  it("the OAuth server refuses a call without a token and the stateful one a call without a session", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const oauth = await fetch(servers.oauth.url, { method: "POST", headers: MCP_HEADERS, body });
    expect(oauth.status).toBe(401);
    expect(oauth.headers.get("www-authenticate")).toContain("resource_metadata=");
    await oauth.body?.cancel();
    const stateful = await fetch(servers.stateful.url, { method: "POST", headers: MCP_HEADERS, body });
    expect(stateful.status).toBe(400);
    await stateful.body?.cancel();
  });
});
