/**
 * The transport rules the MCP endpoint checks before the SDK sees a message, each answering
 * its own error (the table in src/mcp/endpoint.ts): the response format `Accept` allows,
 * the request body within its byte limit (a refused streamed body is drained, within a bound,
 * so the 413 reaches the client), and the JSON-RPC message shape with the params of the
 * methods the gateway implements.
 *
 * @module
 */
import * as v from "valibot";
import { readTextUpTo } from "../body-text.ts";
import { GatewayError } from "../errors.ts";
import {
  JSONRPC_INVALID_PARAMS,
  JSONRPC_INVALID_REQUEST,
  type JsonRpcId,
  jsonRpcErrorResponse,
} from "./jsonrpc.ts";

/** How the response to a JSON-RPC request is framed. */
export type ResponseMode = "json" | "sse";

/** Picks JSON or SSE from `Accept` (q-values honoured; ties go to JSON). `undefined`: neither is acceptable. */
export function negotiateResponseMode(accept: string | null): ResponseMode | undefined {
  if (accept === null || accept.trim() === "") return "json";
  let json = 0;
  let sse = 0;
  let jsonSpecificity = -1;
  let sseSpecificity = -1;
  for (const part of accept.split(",")) {
    const [rawType = "", ...params] = part.split(";");
    const type = rawType.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=");
      if (key?.trim().toLowerCase() === "q") {
        const parsed = Number(value?.trim());
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      }
    }
    // The most specific matching range decides (RFC 9110 §12.5.1).
    const jsonMatch = matchSpecificity(type, "application", "json");
    if (jsonMatch > jsonSpecificity) {
      jsonSpecificity = jsonMatch;
      json = q;
    }
    const sseMatch = matchSpecificity(type, "text", "event-stream");
    if (sseMatch > sseSpecificity) {
      sseSpecificity = sseMatch;
      sse = q;
    }
  }
  if (json === 0 && sse === 0) return undefined;
  return sse > json ? "sse" : "json";
}

function matchSpecificity(range: string, type: string, subtype: string): number {
  if (range === `${type}/${subtype}`) return 2;
  if (range === `${type}/*`) return 1;
  if (range === "*/*") return 0;
  return -1;
}

/**
 * How much of a too-large streamed body is still read (and dropped) before the 413 goes out.
 * workerd closes a connection whose request body is unread, and an HTTP/1.1 client still sending
 * then gets a connection reset instead of the answer (Node's fetch lost the 413 to a 20 MB chunked
 * POST about one time in three). Past this much the connection is closed unread, so the work a
 * hostile body buys stays bounded; Cloudflare's own request limit starts at 100 MB.
 */
const MAX_DRAINED_BODY_BYTES = 32 * 1024 * 1024;

/** Reads and drops the rest of a refused body, up to {@link MAX_DRAINED_BODY_BYTES}, then cancels it. */
async function drainBody(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let drained = 0;
  try {
    while (drained <= MAX_DRAINED_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      drained += value.byteLength;
    }
  } catch {
    return; // the client went away: nobody is left to answer
  }
  await reader.cancel().catch(() => {});
}

/**
 * Reads the body as text, refusing more than `maxBytes` (declared or streamed) with a 413 that
 * reaches the client (the rest of a streamed body is drained first, within a bound).
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new GatewayError("payload_too_large", `The request body exceeds ${maxBytes} bytes`, {
      details: { maxBytes },
    });
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  // Unread, and the 413 still arrives (workerd handles a declared length itself; see the test).
  if (declared > maxBytes) throw tooLarge();
  if (request.body === null) return "";
  // A declared length within the limit: one native read (the runtime holds the body to its length).
  if (declared >= 0) return request.text();
  const reader = request.body.getReader();
  const text = await readTextUpTo(reader, maxBytes);
  if (text !== undefined) return text;
  await drainBody(reader);
  throw tooLarge();
}

const JsonRpcIdSchema = v.union([v.string(), v.pipe(v.number(), v.integer())]);
const JsonRpcMessageSchema = v.union([
  // request / notification
  v.object({
    jsonrpc: v.literal("2.0"),
    method: v.string(),
    id: v.optional(JsonRpcIdSchema),
    params: v.optional(v.unknown()),
  }),
  // response to a server request
  v.object({ jsonrpc: v.literal("2.0"), id: JsonRpcIdSchema, result: v.record(v.string(), v.unknown()) }),
  v.object({
    jsonrpc: v.literal("2.0"),
    id: v.nullable(JsonRpcIdSchema),
    error: v.object({ code: v.number(), message: v.string() }),
  }),
]);

/** The JSON-RPC shape rules the gateway enforces before the SDK; `undefined` when the message may pass. */
export function checkMessage(body: unknown): Response | undefined {
  if (Array.isArray(body)) {
    return jsonRpcErrorResponse(
      400,
      null,
      JSONRPC_INVALID_REQUEST,
      "Invalid Request: JSON-RPC batches are not supported (removed in MCP 2025-06-18); send one message per POST",
    );
  }
  const id = requestIdIn(body);
  const parsed = v.safeParse(JsonRpcMessageSchema, body);
  if (!parsed.success) {
    return jsonRpcErrorResponse(
      400,
      id,
      JSONRPC_INVALID_REQUEST,
      'Invalid Request: expected a JSON-RPC 2.0 message ({"jsonrpc":"2.0","method":…})',
    );
  }
  if ("method" in parsed.output) {
    const { method, params } = parsed.output;
    if (params !== undefined && (params === null || typeof params !== "object" || Array.isArray(params))) {
      return jsonRpcErrorResponse(
        400,
        id,
        JSONRPC_INVALID_PARAMS,
        "Invalid params: params must be an object",
      );
    }
    const schema = PARAMS_BY_METHOD.get(method);
    if (schema !== undefined) {
      const checked = v.safeParse(schema, params ?? {});
      if (!checked.success) {
        const problems = checked.issues.map(
          (issue) => `${v.getDotPath(issue) ?? "params"}: ${issue.message}`,
        );
        return jsonRpcErrorResponse(
          400,
          id,
          JSONRPC_INVALID_PARAMS,
          `Invalid params for ${method}: ${problems.join("; ")}`,
        );
      }
    }
  }
  return undefined;
}

/**
 * Params of the methods the gateway implements, checked here so a bad one is a readable -32602.
 * A Map: the method name is the client's, and `__proto__` or `constructor` must find nothing.
 */
const PARAMS_BY_METHOD: ReadonlyMap<string, v.GenericSchema> = new Map<string, v.GenericSchema>([
  ["tools/list", v.looseObject({ cursor: v.optional(v.string("cursor must be a string")) })],
  [
    "tools/call",
    v.looseObject({
      name: v.string("name must be a string"),
      arguments: v.optional(v.record(v.string(), v.unknown(), "arguments must be an object")),
    }),
  ],
]);

/** The id of a JSON-RPC request, for echoing on errors; `null` when there is none to echo. */
export function requestIdIn(body: unknown): JsonRpcId {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  const { id, method } = body as { id?: unknown; method?: unknown };
  if (typeof method !== "string") return null;
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id)) ? id : null;
}
