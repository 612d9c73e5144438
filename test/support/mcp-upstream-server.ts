/**
 * Real upstream MCP servers for the gateway's MCP client tests (vitest globalSetup, runs in
 * Node), built with the SDK the gateway serves with (`@modelcontextprotocol/server` v2), on one
 * 127.0.0.1 port:
 *
 * - `/modern` — `createMcpHandler`: 2026-07-28 (`server/discover`) and stateless 2025 fallback
 * - `/stateful-json`, `/stateful-sse` — 2025 sessions (`Mcp-Session-Id`), JSON or SSE answers
 *   (SSE resumable: event ids, `retry:` {@link SSE_RETRY_MS}); `POST <path>/forget` makes the
 *   server forget every session (it then answers 404)
 * - `/stateless` — 2025, no sessions
 * - `/old` — 2025, speaks only 2025-03-26 (counter-offers it)
 * - `/auth/<path>` — `<path>` behind a bearer check: `Bearer good` passes, anything else gets
 *   401 with `WWW-Authenticate` (`/auth/scope/<path>`: 403 `insufficient_scope` instead)
 * - `/hostile/<mode>` — hand-written: initialise like a 2025 server without sessions, then
 *   answer `tools/call` with {@link HOSTILE_BYTES} of JSON (`json`) or of SSE notifications that
 *   never end in a response (`sse`); an SSE answer with CRLF lines and multi-line data cut into
 *   7-byte pieces (`split`); HTML (`html`); a response with another id (`wrong-id`); 40
 *   server-to-client pings (`requests`); a 307 elsewhere (`redirect`)
 *
 * Tools (SDK servers): `echo` (returns its arguments and the MCP headers the request carried),
 * `progress` (two `notifications/progress`, then a result), `ask` (sends
 * `sampling/createMessage` to the client and reports how that went), `wait` (answers only when
 * the request is cancelled), `resume` (progress, closes its SSE stream, more progress and the
 * result, which the client gets by resuming the stream).
 *
 * `GET /__requests?path=<prefix>` lists recorded requests (method, path, headers, JSON-RPC
 * method) whose path starts with the prefix.
 */
import { createServer, type IncomingMessage } from "node:http";
import { getRequestListener } from "@hono/node-server";
import {
  createMcpHandler,
  type EventStore,
  type JSONRPCMessage,
  Server,
  type ServerContext,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { TestProject } from "vitest/node";
import { listenOnLoopback } from "./local-http.ts";
import { SSE_RETRY_MS } from "./mcp-upstream-constants.ts";

/** What a hostile route sends for `tools/call`: well over any `maxResponseBytes` a test sets. */
export const HOSTILE_BYTES = 4 * 1024 * 1024;

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  rpcMethod?: string;
}
const MAX_RECORDED = 2000;
const recorded: Recorded[] = [];

const TOOLS = [
  {
    name: "echo",
    description: "Returns its arguments and the MCP request headers",
    inputSchema: { type: "object" },
  },
  { name: "progress", description: "Reports progress twice", inputSchema: { type: "object" } },
  { name: "ask", description: "Asks the client for sampling", inputSchema: { type: "object" } },
  { name: "wait", description: "Answers when cancelled", inputSchema: { type: "object" } },
  {
    name: "resume",
    description: "Closes its SSE stream, then answers on the resumed one",
    inputSchema: { type: "object" },
  },
] as const;

/** The SDK's resumability seam, in memory: every event of every stream, replayable after an id. */
function memoryEventStore(): EventStore {
  const events: { id: string; streamId: string; message: JSONRPCMessage }[] = [];
  let next = 0;
  return {
    storeEvent: async (streamId, message) => {
      const id = `${streamId}:${++next}`;
      events.push({ id, streamId, message });
      return id;
    },
    replayEventsAfter: async (lastEventId, { send }) => {
      const at = events.findIndex((event) => event.id === lastEventId);
      const streamId = events[at]?.streamId ?? "";
      for (const event of events.slice(at + 1)) {
        if (event.streamId === streamId) await send(event.id, event.message);
      }
      return streamId;
    },
  };
}

function text(value: unknown) {
  return { content: [{ type: "text" as const, text: JSON.stringify(value) }] };
}

function mcpHeaders(req: Request | undefined): Record<string, string | null> {
  const names = [
    "mcp-protocol-version",
    "mcp-session-id",
    "mcp-method",
    "mcp-name",
    "authorization",
    "traceparent",
    "tracestate",
  ];
  return Object.fromEntries(names.map((name) => [name, req?.headers.get(name) ?? null]));
}

async function callTool(name: string, args: Record<string, unknown>, ctx: ServerContext) {
  switch (name) {
    case "echo":
      return text({ arguments: args, headers: mcpHeaders(ctx.http?.req) });
    case "progress": {
      const token = ctx.mcpReq._meta?.progressToken;
      if (token !== undefined) {
        for (const progress of [1, 2]) {
          await ctx.mcpReq.notify({
            method: "notifications/progress",
            params: { progressToken: token, progress, total: 2 },
          });
        }
        // A progress notification for another request, which the client must not forward.
        await ctx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken: "other", progress: 9 },
        });
      }
      return text({ done: true, token: token ?? null });
    }
    case "ask":
      try {
        const answer = await ctx.mcpReq.send({
          method: "sampling/createMessage",
          params: { messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 5 },
        });
        return text({ answered: answer });
      } catch (error) {
        return text({ refused: (error as { code?: unknown }).code ?? String(error) });
      }
    case "resume": {
      const token = ctx.mcpReq._meta?.progressToken;
      await ctx.mcpReq.notify({
        method: "notifications/progress",
        params: { progressToken: token ?? 0, progress: 1 },
      });
      ctx.http?.closeSSE?.();
      await ctx.mcpReq.notify({
        method: "notifications/progress",
        params: { progressToken: token ?? 0, progress: 2 },
      });
      return text({ resumed: true, closable: ctx.http?.closeSSE !== undefined });
    }
    case "wait":
      await new Promise<void>((resolve) => {
        ctx.mcpReq.signal.addEventListener("abort", () => resolve(), { once: true });
        // Never a test's clock: only frees the upstream if a client forgot to cancel.
        setTimeout(resolve, 30_000).unref();
      });
      return text({ waited: true });
    default:
      throw new Error(`unknown tool ${name}`);
  }
}

function mcpServer(options: { versions?: string[] } = {}): Server {
  const server = new Server(
    { name: "test-upstream", version: "1.2.3" },
    {
      capabilities: { tools: {} },
      instructions: "Test upstream for the gateway's MCP client.",
      ...(options.versions === undefined ? {} : { supportedProtocolVersions: options.versions }),
    },
  );
  server.setRequestHandler("tools/list", () => ({ tools: [...TOOLS] }));
  server.setRequestHandler("tools/call", (request, ctx) =>
    callTool(
      request.params.name,
      (request.params.arguments ?? {}) as Record<string, unknown>,
      ctx as ServerContext,
    ),
  );
  return server;
}

/** A 2025 endpoint with sessions, as the SDK's examples wire one. */
function statefulEndpoint(enableJsonResponse: boolean, eventStore?: EventStore) {
  const transports = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const handle = async (request: Request): Promise<Response> => {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId !== null) {
      const transport = transports.get(sessionId);
      if (transport === undefined) {
        return Response.json(
          { jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } },
          { status: 404 },
        );
      }
      return transport.handleRequest(request);
    }
    const body =
      request.method === "POST"
        ? await request
            .clone()
            .json()
            .catch(() => undefined)
        : undefined;
    if ((body as { method?: unknown } | undefined)?.method !== "initialize") {
      return Response.json(
        {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32000, message: "Bad Request: No valid session ID provided" },
        },
        { status: 400 },
      );
    }
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableJsonResponse,
      ...(eventStore === undefined ? {} : { eventStore, retryInterval: SSE_RETRY_MS }),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
      },
    });
    await mcpServer().connect(transport);
    return transport.handleRequest(request);
  };
  const forget = async () => {
    const all = [...transports.values()];
    transports.clear();
    await Promise.all(all.map((transport) => transport.close().catch(() => {})));
  };
  return { handle, forget };
}

/** A 2025 endpoint without sessions: a fresh server and transport per request. */
async function statelessRequest(request: Request, versions?: string[]): Promise<Response> {
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  await mcpServer(versions === undefined ? {} : { versions }).connect(transport);
  return transport.handleRequest(request);
}

/** A body of `bytes` produced as it is read, never held whole. */
function stream(head: string, filler: string, bytes: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === 0) {
        const first = encoder.encode(head);
        sent += first.byteLength;
        controller.enqueue(first);
        return;
      }
      if (sent >= bytes) {
        controller.close();
        return;
      }
      const chunk = encoder.encode(filler);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

/** Initialises like a 2025 server without sessions, then floods `tools/call`. */
/** Bytes out in pieces of `size`, wherever they fall (inside a CRLF, inside a UTF-8 sequence). */
function inPieces(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

type HostileMode = "json" | "sse" | "split" | "html" | "wrong-id" | "requests" | "redirect";

async function hostile(request: Request, mode: HostileMode): Promise<Response> {
  if (request.method !== "POST") return new Response(null, { status: 405 });
  const message = (await request.json().catch(() => ({}))) as { id?: unknown; method?: string };
  if (message.id === undefined) return new Response(null, { status: 202 });
  if (message.method === "initialize") {
    return Response.json({
      jsonrpc: "2.0",
      id: message.id,
      result: {
        protocolVersion: "2025-11-25",
        capabilities: { tools: {} },
        serverInfo: { name: "hostile", version: "0" },
      },
    });
  }
  if (message.method !== "tools/call") {
    return Response.json({
      jsonrpc: "2.0",
      id: message.id,
      error: { code: -32601, message: "Method not found" },
    });
  }
  const id = JSON.stringify(message.id);
  switch (mode) {
    case "split": {
      // CRLF lines, a comment, a JSON message over two data lines, a multi-byte character, a
      // progress notification, all cut into 7-byte pieces.
      const body =
        ": comment\r\nid: 1\r\nretry: 10\r\ndata:\r\n\r\n" +
        `event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress",\r\ndata: "params":{"progressToken":"x","progress":1}}\r\n\r\n` +
        `data: {"jsonrpc":"2.0","id":${id},\r\ndata: "result":{"content":[{"type":"text","text":"\\"caf\u00e9 \u2713\\""}]}}\r\n\r\n`;
      return new Response(inPieces(body, 7), { headers: { "content-type": "text/event-stream" } });
    }
    case "html":
      return new Response("<html>maintenance</html>", { headers: { "content-type": "text/html" } });
    case "wrong-id":
      return Response.json({ jsonrpc: "2.0", id: `${id}-other`, result: {} });
    case "redirect":
      return new Response(null, { status: 307, headers: { location: "http://127.0.0.1:1/elsewhere" } });
    case "requests": {
      const pings = Array.from(
        { length: 40 },
        (_, i) => `data: ${JSON.stringify({ jsonrpc: "2.0", id: `ping-${i}`, method: "ping" })}\n\n`,
      ).join("");
      return new Response(pings, { headers: { "content-type": "text/event-stream" } });
    }
    default:
      break;
  }
  if (mode === "json") {
    const head = `{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":{"content":[{"type":"text","text":"`;
    return new Response(stream(head, "x".repeat(16 * 1024), HOSTILE_BYTES), {
      headers: { "content-type": "application/json" },
    });
  }
  const event = `data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x".repeat(16 * 1024) } })}\n\n`;
  return new Response(stream(": flood\n\n", event, HOSTILE_BYTES), {
    headers: { "content-type": "text/event-stream" },
  });
}

/** Bearer check in front of an endpoint. */
function withBearer(handler: (request: Request) => Promise<Response>, insufficientScope: boolean) {
  return async (request: Request): Promise<Response> => {
    if (request.headers.get("authorization") === "Bearer good") return handler(request);
    if (insufficientScope) {
      return Response.json(
        { error: "insufficient_scope" },
        { status: 403, headers: { "www-authenticate": 'Bearer error="insufficient_scope", scope="tools"' } },
      );
    }
    return Response.json(
      { error: "invalid_token" },
      {
        status: 401,
        headers: {
          "www-authenticate":
            'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"',
        },
      },
    );
  };
}

async function record(request: Request, path: string): Promise<void> {
  let rpcMethod: string | undefined;
  if (request.method === "POST") {
    const body = (await request
      .clone()
      .json()
      .catch(() => undefined)) as { method?: unknown } | undefined;
    if (typeof body?.method === "string") rpcMethod = body.method;
  }
  recorded.push({
    method: request.method,
    path,
    headers: Object.fromEntries(request.headers),
    ...(rpcMethod === undefined ? {} : { rpcMethod }),
  });
  if (recorded.length > MAX_RECORDED) recorded.shift();
}

export async function startMcpUpstream() {
  const modern = createMcpHandler(() => mcpServer(), { legacy: "stateless", responseMode: "auto" });
  const json = statefulEndpoint(true);
  const sse = statefulEndpoint(false, memoryEventStore());
  const routes: Record<string, (request: Request) => Promise<Response>> = {
    "/modern": (request) => modern.fetch(request),
    "/stateful-json": json.handle,
    "/stateful-sse": sse.handle,
    "/stateless": (request) => statelessRequest(request),
    "/old": (request) => statelessRequest(request, ["2025-03-26"]),
    ...Object.fromEntries(
      (["json", "sse", "split", "html", "wrong-id", "requests", "redirect"] as const).map((mode) => [
        `/hostile/${mode}`,
        (request: Request) => hostile(request, mode),
      ]),
    ),
  };
  const forgets: Record<string, () => Promise<void>> = {
    "/stateful-json": json.forget,
    "/stateful-sse": sse.forget,
  };

  const listener = getRequestListener(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/__requests") {
      const prefix = url.searchParams.get("path") ?? "";
      return Response.json(recorded.filter((entry) => entry.path.startsWith(prefix)));
    }
    await record(request, url.pathname);
    const forgetPath = url.pathname.replace(/\/forget$/, "");
    if (url.pathname.endsWith("/forget") && forgets[forgetPath] !== undefined) {
      await forgets[forgetPath]();
      return new Response(null, { status: 204 });
    }
    const auth = /^\/auth(\/scope)?(\/.*)$/.exec(url.pathname);
    const path = auth === null ? url.pathname : (auth[2] ?? "");
    const route = routes[path];
    if (route === undefined) return Response.json({ error: "not found" }, { status: 404 });
    return auth === null ? route(request) : withBearer(route, auth[1] !== undefined)(request);
  });
  const server = createServer((req: IncomingMessage, res) => {
    listener(req, res).catch(() => res.destroy());
  });
  const loopback = await listenOnLoopback(server);
  return {
    origin: loopback.origin,
    close: async () => {
      await Promise.all([json.forget(), sse.forget(), modern.close?.()]);
      await loopback.close();
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startMcpUpstream();
  project.provide("mcpUpstreamOrigin", upstream.origin);
  return upstream.close;
}

declare module "vitest" {
  export interface ProvidedContext {
    mcpUpstreamOrigin: string;
  }
}
