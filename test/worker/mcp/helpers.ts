/** Helpers for the MCP endpoint tests: real requests into the Worker's fetch entry. */
import { exports } from "cloudflare:workers";

export const BASE = "http://gateway.test";
export const LEGACY_VERSION = "2025-11-25";
export const MODERN_VERSION = "2026-07-28";
export const ACCEPT_BOTH = "application/json, text/event-stream";

let nextId = 1;

export interface PostOptions {
  headers?: Record<string, string>;
  accept?: string;
}

/** POSTs one raw body to an MCP endpoint. */
export function postRaw(path: string, body: string, options: PostOptions = {}): Promise<Response> {
  return exports.default.fetch(`${BASE}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: options.accept ?? ACCEPT_BOTH,
      ...options.headers,
    },
    body,
  });
}

/** POSTs one JSON-RPC message. */
export function post(path: string, message: unknown, options: PostOptions = {}): Promise<Response> {
  return postRaw(path, JSON.stringify(message), options);
}

/** A 2025-era request (no envelope) with the MCP-Protocol-Version header a client sends after initialize. */
export function legacyRequest(method: string, params?: Record<string, unknown>, version = LEGACY_VERSION) {
  return {
    message: { jsonrpc: "2.0", id: nextId++, method, ...(params === undefined ? {} : { params }) },
    headers: { "mcp-protocol-version": version },
  };
}

/** A 2026-07-28 request: `_meta` envelope plus the Mcp-Method / Mcp-Name headers. */
export function modernRequest(method: string, params: Record<string, unknown> = {}, name?: string) {
  return {
    message: {
      jsonrpc: "2.0",
      id: nextId++,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
          "io.modelcontextprotocol/clientCapabilities": {},
          "io.modelcontextprotocol/clientInfo": { name: "gateway-tests", version: "1.0.0" },
        },
      },
    },
    headers: {
      "mcp-protocol-version": MODERN_VERSION,
      "mcp-method": method,
      ...(name === undefined ? {} : { "mcp-name": name }),
    },
  };
}

/** Sends a JSON-RPC request and returns the parsed JSON-RPC response (JSON or SSE framing). */
export async function call(
  path: string,
  request: { message: unknown; headers: Record<string, string> },
  options: PostOptions = {},
): Promise<{ status: number; body: JsonRpcResponse }> {
  const res = await post(path, request.message, {
    ...options,
    headers: { ...request.headers, ...options.headers },
  });
  return { status: res.status, body: await readJsonRpc(res) };
}

export interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** Reads the JSON-RPC response from a JSON body or from the last `data:` event of an SSE stream. */
export async function readJsonRpc(res: Response): Promise<JsonRpcResponse> {
  const type = res.headers.get("content-type") ?? "";
  const text = await res.text();
  if (!type.includes("text/event-stream")) return JSON.parse(text) as JsonRpcResponse;
  const events = text
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trim())
    .filter((data) => data !== "");
  const last = events.at(-1);
  if (last === undefined) throw new Error(`no SSE data event in: ${text}`);
  return JSON.parse(last) as JsonRpcResponse;
}
