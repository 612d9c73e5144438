/**
 * Real MCP SDK clients connected to the Worker: their HTTP transport's `fetch` goes
 * straight into the Worker's fetch entry. Tests that open them call `closeSdkClients`
 * after each test.
 */
import { exports } from "cloudflare:workers";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { BASE } from "./helpers.ts";

export type { ModernClient };

const workerFetch = (url: string | URL, init?: RequestInit) => exports.default.fetch(url, init);
const open: Array<{ close(): Promise<void> }> = [];

/** The v1 SDK client (`@modelcontextprotocol/sdk`, 2025 revisions, `initialize` handshake). */
export async function connectLegacyClient(path: string): Promise<Client> {
  const client = new Client(
    { name: "gateway-tests", version: "1.0.0" },
    // The default ajv validator compiles code at run time, which workerd forbids.
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(`${BASE}${path}`), { fetch: workerFetch }));
  open.push(client);
  return client;
}

/** The v2 client (`@modelcontextprotocol/client`) pinned to 2026-07-28. */
export async function connectModernClient(path: string): Promise<ModernClient> {
  const client = new ModernClient(
    { name: "gateway-tests", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } } },
  );
  await client.connect(new ModernTransport(new URL(`${BASE}${path}`), { fetch: workerFetch }));
  open.push(client);
  return client;
}

/** Closes every client the connect functions opened. */
export async function closeSdkClients(): Promise<void> {
  await Promise.all(open.splice(0).map((client) => client.close()));
}
