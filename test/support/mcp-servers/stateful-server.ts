/**
 * (1c) A stateful MCP server built with the v2 SDK: `initialize` opens a session
 * (`Mcp-Session-Id`), every later request must carry it, and a session it does not know gets
 * 404, as the streamable HTTP transport specifies. `restart()` (or `POST /_control/restart`)
 * brings it back on the same port having forgotten every session, as a redeployed upstream
 * does; `fail()`/`hang()` switch the faults of `http-host.ts`.
 *
 * Besides the test catalogue (`catalog.ts`) it serves `increment`: a counter kept per session,
 * so a test sees whether two calls shared one. `sessionIds()` lists the live sessions and
 * `initializeCount()` counts handshakes (a gateway that re-initialises after a 404 shows here).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { Server, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { catalogControl, type Definitions, registerTestCatalog, TEST_CAPABILITIES } from "./catalog.ts";
import { Gates } from "./gates.ts";
import { type HostedServer, hostFetchHandler } from "./http-host.ts";

export const STATEFUL_SERVER_INFO = { name: "stateful-test-server", version: "1.0.0" } as const;

export interface StatefulMcpServer extends HostedServer {
  gates: Gates;
  /** `definitions.changed = true` makes the next listings rug-pull (catalog.ts). */
  definitions: Definitions;
  /** Sessions alive now (empty right after a restart). */
  sessionIds(): string[];
  /** `initialize` requests answered since the server first started. */
  initializeCount(): number;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

async function isInitialize(request: Request): Promise<boolean> {
  if (request.method !== "POST") return false;
  try {
    const body = (await request.clone().json()) as { method?: unknown };
    return body.method === "initialize";
  } catch {
    return false;
  }
}

export async function startStatefulServer(options: { port?: number } = {}): Promise<StatefulMcpServer> {
  const gates = new Gates();
  const definitions: Definitions = { changed: false };
  const sessions = new Map<string, Session>();
  let initializeCount = 0;

  const openSession = async (): Promise<Session> => {
    const server = new Server(STATEFUL_SERVER_INFO, { capabilities: TEST_CAPABILITIES });
    const counts = { value: 0 };
    registerTestCatalog(server, {
      gates,
      definitions,
      pushRequests: true,
      extraTools: [
        {
          name: "increment",
          description: "Adds one to this session's counter and returns it.",
          inputSchema: { type: "object", properties: {} },
        },
      ],
      callExtra: async (name) => {
        if (name !== "increment") return undefined;
        counts.value++;
        return {
          content: [{ type: "text", text: String(counts.value) }],
          structuredContent: { count: counts.value },
        };
      },
    });
    const session: Session = {
      server,
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, session);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      }),
    };
    await server.connect(session.transport);
    return session;
  };

  const handler = async (request: Request): Promise<Response> => {
    const id = request.headers.get("mcp-session-id");
    if (id !== null) {
      const session = sessions.get(id);
      if (session === undefined) return jsonRpcError(404, -32001, "Session not found");
      return session.transport.handleRequest(request);
    }
    if (!(await isInitialize(request))) {
      return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    initializeCount++;
    const session = await openSession();
    return session.transport.handleRequest(request);
  };

  const forgetAll = async () => {
    const open = [...sessions.values()];
    sessions.clear();
    gates.clear();
    await Promise.all(open.map((s) => s.server.close().catch(() => {})));
  };

  const hosted = await hostFetchHandler(handler, {
    ...options,
    onRestart: forgetAll,
    control: {
      ...catalogControl(gates, definitions),
      sessions: () => ({ sessions: [...sessions.keys()], initializeCount }),
    },
  });
  const stop = hosted.stop;
  return Object.assign(hosted, {
    gates,
    definitions,
    sessionIds: () => [...sessions.keys()],
    initializeCount: () => initializeCount,
    stop: async () => {
      await stop();
      await forgetAll();
    },
  });
}
