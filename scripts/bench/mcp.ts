/**
 * Just enough MCP-over-HTTP for the bench: JSON-RPC POSTs, JSON or SSE answers, an
 * optional session handshake for peers that need one, and the check that a tool call
 * really returned the upstream's item.
 */
import { catalogItem } from "./upstream.ts";

export const PROTOCOL_VERSION = "2025-06-18";

/** The tool call every target serves: path + query parameters, small JSON answer. */
export const CALL_ARGUMENTS = { storeId: "s1", itemId: 7, currency: "USD", limit: 2 } as const;
export const EXPECTED_ITEM = catalogItem("s1", 7, "USD", 2);
/** The gateway's MCP endpoint for the bench vendor. */
export const GATEWAY_MCP_PATH = "/v1/benchapi/mcp";
export const UPSTREAM_PATH = "/stores/s1/items/7?currency=USD&limit=2";

export const MCP_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

export interface RpcMessage {
  jsonrpc: "2.0";
  id?: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** The JSON-RPC response in a JSON or SSE body (the last `data:` event that parses). */
export function parseRpcBody(text: string): RpcMessage | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      return JSON.parse(trimmed) as RpcMessage;
    } catch {
      return undefined;
    }
  }
  let found: RpcMessage | undefined;
  for (const line of trimmed.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    try {
      const value = JSON.parse(line.slice(5).trim()) as RpcMessage;
      if (value && ("result" in value || "error" in value)) found = value;
    } catch {
      // a non-JSON event (keep-alive comment, priming event)
    }
  }
  return found;
}

export interface RpcAnswer {
  status: number;
  headers: Headers;
  text: string;
  message: RpcMessage | undefined;
}

export async function rpc(
  url: string,
  method: string,
  params: Record<string, unknown> | undefined,
  opts: { id?: string | number; headers?: Record<string, string> } = {},
): Promise<RpcAnswer> {
  const body: Record<string, unknown> = { jsonrpc: "2.0", method };
  if (opts.id !== undefined) body.id = opts.id;
  if (params !== undefined) body.params = params;
  const res = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...opts.headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, message: parseRpcBody(text) };
}

/** Runs the initialize handshake; returns the headers later requests must carry. */
export async function initialize(url: string): Promise<Record<string, string>> {
  const init = await rpc(
    url,
    "initialize",
    {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "mcp-edge-gateway-bench", version: "1.0.0" },
    },
    { id: 0 },
  );
  if (init.status !== 200 || !init.message?.result) {
    throw new Error(`initialize failed: HTTP ${init.status} ${init.text.slice(0, 300)}`);
  }
  const headers: Record<string, string> = { "mcp-protocol-version": PROTOCOL_VERSION };
  const session = init.headers.get("mcp-session-id");
  if (session) headers["mcp-session-id"] = session;
  await rpc(url, "notifications/initialized", undefined, { headers });
  return headers;
}

export function toolCallBody(name: string, id: string | number): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: CALL_ARGUMENTS },
  });
}

/** True when a `tools/call` answer carries the upstream's item as its text content. */
export function isExpectedCallResult(message: RpcMessage | undefined): boolean {
  const result = message?.result as { content?: Array<{ type: string; text?: string }>; isError?: boolean };
  if (!result || result.isError) return false;
  const text = result.content?.find((c) => c.type === "text")?.text;
  if (!text) return false;
  // openapi-mcp-generator's servers put a status line before the JSON ("API Response (Status: 200):").
  const json = text.slice(text.indexOf("{"));
  try {
    return JSON.stringify(JSON.parse(json)) === JSON.stringify(EXPECTED_ITEM);
  } catch {
    return false;
  }
}

/**
 * The per-response check under load: cheap (no JSON parse) but specific enough that an
 * error result or another item cannot pass.
 */
export function quickCallCheck(status: number, body: string): boolean {
  return status === 200 && body.includes("Item 7") && !body.includes('"isError":true');
}

/** The tool in a `tools/list` answer that serves the catalog call (names differ per server). */
export function findItemTool(message: RpcMessage | undefined): string | undefined {
  const tools = (message?.result?.tools ?? []) as Array<{ name: string }>;
  return tools.find((t) => /get.?item/i.test(t.name))?.name;
}

/** The gateway's request headers and the name it lists the catalog item tool under. */
export async function gatewayItemTool(
  url: string,
): Promise<{ headers: Record<string, string>; tool: string }> {
  const headers = { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION };
  const list = await rpc(url, "tools/list", {}, { id: 1, headers });
  const tool = findItemTool(list.message);
  if (!tool) throw new Error(`gateway tools/list has no item tool: ${list.text.slice(0, 300)}`);
  return { headers, tool };
}
