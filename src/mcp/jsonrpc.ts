/**
 * JSON-RPC errors on the MCP endpoints: every one the gateway builds comes
 * from here, either as an HTTP response (transport-level: the message could
 * not be parsed or routed) or as a `ProtocolError` thrown from a request
 * handler (the SDK turns it into the error response of that request).
 *
 * @module
 */
import { ProtocolError } from "@modelcontextprotocol/server";

/** JSON-RPC 2.0 and MCP error codes the gateway emits. */
export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_INVALID_PARAMS = -32602;
export const JSONRPC_INTERNAL_ERROR = -32603;
/** MCP: the request names a protocol version the server does not serve. */
export const MCP_UNSUPPORTED_PROTOCOL_VERSION = -32022;

export type JsonRpcId = string | number | null;

interface JsonRpcErrorBody {
  jsonrpc: "2.0";
  id: JsonRpcId;
  error: { code: number; message: string; data?: unknown };
}

/** Builds a JSON-RPC error object. */
function jsonRpcError(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcErrorBody {
  return { jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/** A JSON-RPC error as an HTTP response (for failures before the message reaches a handler). */
export function jsonRpcErrorResponse(
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  data?: unknown,
  headers?: HeadersInit,
): Response {
  const responseHeaders = new Headers(headers);
  responseHeaders.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(jsonRpcError(id, code, message, data)), {
    status,
    headers: responseHeaders,
  });
}

/** An error to throw from a request handler: the SDK answers the request with it. */
export function protocolError(code: number, message: string, data?: unknown): ProtocolError {
  return new ProtocolError(code, message, data);
}

/** `-32602` from a handler: the params name something that does not exist or is malformed. */
export function invalidParams(message: string, data?: unknown): ProtocolError {
  return protocolError(JSONRPC_INVALID_PARAMS, message, data);
}
