/**
 * (1b) A stateless MCP server built with the v2 SDK (`createMcpHandler`: a fresh low-level
 * `Server` per request, no `Mcp-Session-Id`), serving 2025-era clients through the SDK's
 * stateless fallback and 2026-07-28 clients natively. It serves the test catalogue
 * (`catalog.ts`), and the faults of `http-host.ts` can be switched on it too.
 *
 * @module
 */
import { createMcpHandler, Server } from "@modelcontextprotocol/server";
import { catalogControl, type Definitions, registerTestCatalog, TEST_CAPABILITIES } from "./catalog.ts";
import { Gates } from "./gates.ts";
import { type HostedServer, hostFetchHandler } from "./http-host.ts";

export const STATELESS_SERVER_INFO = { name: "stateless-test-server", version: "1.0.0" } as const;

export interface StatelessMcpServer extends HostedServer {
  gates: Gates;
  /** `definitions.changed = true` makes the next listings rug-pull (catalog.ts). */
  definitions: Definitions;
}

/** The fetch handler alone (for hosts other than `hostFetchHandler`). */
export function statelessHandler(
  gates: Gates,
  definitions: Definitions,
): (request: Request) => Promise<Response> {
  const handler = createMcpHandler(() => {
    const server = new Server(STATELESS_SERVER_INFO, { capabilities: TEST_CAPABILITIES });
    registerTestCatalog(server, { gates, definitions });
    return server;
  });
  return (request) => handler.fetch(request);
}

/** Starts the server on 127.0.0.1; MCP at `<origin>/mcp`. Gates open over HTTP (`POST /_control/release?key=`); `redefine` changes the definitions. */
export async function startStatelessServer(options: { port?: number } = {}): Promise<StatelessMcpServer> {
  const gates = new Gates();
  const definitions: Definitions = { changed: false };
  const hosted = await hostFetchHandler(statelessHandler(gates, definitions), {
    ...options,
    onRestart: () => gates.clear(),
    control: catalogControl(gates, definitions),
  });
  return Object.assign(hosted, { gates, definitions });
}
