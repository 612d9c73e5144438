/**
 * Hosts a web-standard `fetch` handler (an MCP server built with the SDK) on 127.0.0.1 for tests,
 * `npm start`'s neighbours and the bench, with the faults a gateway must survive switched by the
 * test, never by a timer:
 *
 * - `fail(status = 500)`: every request on the MCP path gets an HTML error page with that status
 *   (a crashed app behind a proxy: 500, 502, 503, …);
 * - `hang()`: requests on the MCP path are accepted and never answered until `releaseHung()`
 *   drops their connections;
 * - `stall()`: the same, but each answer starts (200, `text/event-stream`, headers sent) and no
 *   event ever follows: a server that died mid-stream;
 * - `restart()`: the server goes away and comes back on the same port, forgetting whatever the
 *   handler kept (`onRestart`), as a redeployed upstream does;
 * - `heal()`: back to serving.
 *
 * Tests inside workerd cannot call these functions, so the same switches answer over HTTP under
 * `/_control/` (`POST /_control/fail[?status=502]|hang|stall|heal|release-hung|restart`,
 * `GET /_control/state`), plus
 * whatever routes the server adds (`control`). Control routes work in every mode.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";

export const LOOPBACK_HOST = "127.0.0.1";
export const CONTROL_PREFIX = "/_control/";

export type HostMode = "serve" | "fail" | "hang" | "stall";

/** Extra control routes of one server: `POST /_control/<name>?…` → the function's answer as JSON. */
export type ControlRoutes = Record<string, (query: URLSearchParams) => unknown | Promise<unknown>>;

export interface HostOptions {
  /** A fixed port (a restart keeps it anyway); default an ephemeral one. */
  port?: number;
  /** Where the MCP endpoint lives; faults apply under this path only. Default `/mcp`. */
  mcpPath?: string;
  /** Called on `restart()` while the server is down: forget sessions and other per-process state. */
  onRestart?: () => void | Promise<void>;
  control?: ControlRoutes;
}

export interface HostedServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** The MCP endpoint: `origin` + `mcpPath`. */
  url: string;
  readonly mode: HostMode;
  fail(status?: number): void;
  hang(): void;
  stall(): void;
  heal(): void;
  /**
   * POSTs (JSON-RPC messages) held by `hang()` or `stall()` right now. A held GET (a client's standalone
   * event stream, opened in the background after `initialize`) is held too but not counted, so
   * a test waiting for its call is not woken by the stream.
   */
  readonly hungCount: number;
  /** Resolves once `count` POSTs are being held (a test's signal that the caller is waiting). */
  hungRequests(count?: number): Promise<void>;
  /** Drops the connections of every held request (the caller sees a reset, as from a dead server). */
  releaseHung(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** What a proxy in front of a crashed app sends: not JSON, not MCP. */
export const FAILURE_HTML =
  "<!DOCTYPE html><html><head><title>Server Error</title></head>" +
  "<body><h1>Server Error</h1><p>The upstream application crashed.</p></body></html>";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Serves `handler` on 127.0.0.1 (ephemeral port unless `options.port`). */
export async function hostFetchHandler(
  handler: (request: Request) => Promise<Response>,
  options: HostOptions = {},
): Promise<HostedServer> {
  const mcpPath = options.mcpPath ?? "/mcp";
  const listener = getRequestListener(handler, { hostname: LOOPBACK_HOST });
  let mode: HostMode = "serve";
  let failStatus = 500;
  /** Held answers and whether each is a POST. */
  const held = new Map<ServerResponse, boolean>();
  const heldPosts = () => [...held.values()].filter(Boolean).length;
  let heldWaiters: Array<{ count: number; resolve: () => void }> = [];
  let server: Server;
  let port = options.port ?? 0;

  const noteHeld = () => {
    heldWaiters = heldWaiters.filter((w) => {
      if (heldPosts() < w.count) return true;
      w.resolve();
      return false;
    });
  };

  const releaseHung = () => {
    for (const res of held.keys()) res.socket?.destroy();
    held.clear();
  };

  const control = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const name = url.pathname.slice(CONTROL_PREFIX.length);
    if (name === "state" && req.method === "GET") {
      sendJson(res, 200, { mode, hung: heldPosts() });
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "control routes take POST" });
      return;
    }
    const builtIn: Record<string, () => void> = {
      fail: () => hosted.fail(Number(url.searchParams.get("status") ?? 500)),
      hang: () => hosted.hang(),
      stall: () => hosted.stall(),
      heal: () => hosted.heal(),
      "release-hung": releaseHung,
    };
    if (name === "restart") {
      // Answered first: the restart drops this connection too.
      res.writeHead(200, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ restarting: true }), () => {
        hosted.restart().catch((error: unknown) => console.error(`restart on port ${port} failed:`, error));
      });
      return;
    }
    const route = builtIn[name];
    if (route !== undefined) {
      route();
      sendJson(res, 200, { mode, hung: heldPosts() });
      return;
    }
    const extra = options.control?.[name];
    if (extra === undefined) {
      sendJson(res, 404, { error: `no control route ${name}` });
      return;
    }
    sendJson(res, 200, (await extra(url.searchParams)) ?? { ok: true });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", `http://${LOOPBACK_HOST}`);
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      control(req, res, url).catch((error: unknown) => sendJson(res, 500, { error: String(error) }));
      return;
    }
    const onMcpPath = url.pathname === mcpPath || url.pathname.startsWith(`${mcpPath}/`);
    if (onMcpPath && mode === "fail") {
      req.resume();
      res.writeHead(failStatus, { "content-type": "text/html; charset=utf-8" }).end(FAILURE_HTML);
      return;
    }
    if (onMcpPath && (mode === "hang" || mode === "stall")) {
      req.resume();
      if (mode === "stall") res.writeHead(200, { "content-type": "text/event-stream" }).flushHeaders();
      held.set(res, req.method === "POST");
      res.on("close", () => held.delete(res));
      noteHeld();
      return;
    }
    void listener(req, res);
  };

  const listen = async (): Promise<void> => {
    server = createServer(onRequest);
    // Keep-alive sockets of clients (workerd, autocannon) stay open between calls.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, LOOPBACK_HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
  };

  const close = () =>
    new Promise<void>((resolve) => {
      releaseHung();
      server.closeAllConnections();
      server.close(() => resolve());
    });

  await listen();
  const origin = `http://${LOOPBACK_HOST}:${port}`;
  const hosted: HostedServer = {
    origin,
    port,
    url: origin + mcpPath,
    get mode() {
      return mode;
    },
    fail: (status = 500) => {
      if (!Number.isInteger(status) || status < 400 || status > 599) {
        throw new RangeError(`fail(): ${status} is not an HTTP error status`);
      }
      mode = "fail";
      failStatus = status;
    },
    hang: () => {
      mode = "hang";
    },
    stall: () => {
      mode = "stall";
    },
    heal: () => {
      mode = "serve";
      releaseHung();
    },
    get hungCount() {
      return heldPosts();
    },
    hungRequests: (count = 1) =>
      new Promise<void>((resolve) => {
        heldWaiters.push({ count, resolve });
        noteHeld();
      }),
    releaseHung,
    restart: async () => {
      await close();
      await options.onRestart?.();
      mode = "serve";
      await listen();
      // One more turn of the event loop: a client in this process has then read the end of its
      // old connections, so its next request opens a new one (and meets the restarted server)
      // instead of failing on a pooled socket that is already closed.
      await new Promise((resolve) => setImmediate(resolve));
    },
    stop: close,
  };
  return hosted;
}
