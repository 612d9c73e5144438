/**
 * (1b) A stateless MCP server built with the v2 SDK (`createMcpHandler`: a fresh low-level
 * `Server` per request, no `Mcp-Session-Id`), serving 2025-era clients through the SDK's
 * stateless fallback and 2026-07-28 clients natively. It serves the test catalogue
 * (`catalog.ts`), and the faults of `http-host.ts` can be switched on it too.
 *
 * @module
 */
import { createMcpHandler, Server } from "@modelcontextprotocol/server";
import { registerTestCatalog, TEST_CAPABILITIES } from "./catalog.ts";
import { Gates } from "./gates.ts";
import { type HostedServer, hostFetchHandler } from "./http-host.ts";

export const STATELESS_SERVER_INFO = { name: "stateless-test-server", version: "1.0.0" } as const;

export interface StatelessMcpServer extends HostedServer {
  gates: Gates;
}

/** The fetch handler alone (for hosts other than `hostFetchHandler`). */
export function statelessHandler(gates: Gates): (request: Request) => Promise<Response> {
  const handler = createMcpHandler(() => {
    const server = new Server(STATELESS_SERVER_INFO, { capabilities: TEST_CAPABILITIES });
    registerTestCatalog(server, { gates });
    return server;
  });
  return (request) => handler.fetch(request);
}

/** Starts the server on 127.0.0.1; MCP at `<origin>/mcp`. Gates open over HTTP: `POST /_control/release?key=`. */
export async function startStatelessServer(options: { port?: number } = {}): Promise<StatelessMcpServer> {
  const gates = new Gates();
  const hosted = await hostFetchHandler(statelessHandler(gates), {
    ...options,
    onRestart: () => gates.clear(),
    control: { release: (query) => gates.release(query.get("key") ?? "") },
  });
  return Object.assign(hosted, { gates });
}
