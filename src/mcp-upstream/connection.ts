/**
 * The gateway's client side of MCP streamable HTTP towards one upstream MCP server, for one
 * credential owner: `mcpConnection(options).request(method, params, options)`.
 *
 * Transport: every request is one `POST` of a JSON-RPC message with
 * `Accept: application/json, text/event-stream`; the answer is either one JSON body or an SSE
 * stream. On a stream, messages that come before the answer are handled in order:
 * `notifications/progress` for this request go to `onProgress`, other notifications are dropped,
 * server-to-client requests are answered through `onServerRequest` (default: `ping` gets `{}`,
 * everything else JSON-RPC error -32601, since the gateway declares no client capabilities) and
 * the answer is POSTed back. A stream that closes before the answer after sending event ids is
 * resumed with `GET` + `Last-Event-ID` once its `retry:` delay has passed (SEP-1699), at most
 * {@link MAX_SSE_RECONNECTS} times. Everything the upstream sends is hostile: the bytes read for
 * one request (all streams together) stop at `maxResponseBytes` (default
 * {@link MAX_UPSTREAM_RESPONSE_BYTES}), the SSE parser is linear, messages are validated with
 * valibot, and redirects are not followed (a 3xx is an `http` exchange).
 *
 * Revisions, negotiated once per session key and kept in the session store:
 * - 2026-07-28 (modern) first, as the SDK's `versionNegotiation: 'auto'` does: a
 *   `server/discover` probe carrying the per-request `_meta` envelope. A valid discover result
 *   listing 2026-07-28 selects it: no session, every request carries the envelope plus the
 *   `MCP-Protocol-Version`, `Mcp-Method` and (for `tools/call`, `prompts/get`,
 *   `resources/read`) `Mcp-Name` headers. Anything else without a modern offer (an invalid
 *   result, a JSON-RPC error, a 4xx) falls back; 401/403 and 5xx answers end the request
 *   as `http` exchanges; an `UnsupportedProtocolVersion` (-32022) error naming 2026-07-28
 *   gets one corrected probe.
 * - 2025-11-25, 2025-06-18, 2025-03-26 (legacy): `initialize` offering the newest, the server's
 *   counter-offer accepted when it is one of them, then `notifications/initialized`. A session
 *   id the server issues is sent on every later request; `MCP-Protocol-Version` goes on every
 *   request after initialisation from 2025-06-18 on.
 *
 * Sessions: a bounded per-isolate LRU store ({@link MAX_UPSTREAM_SESSIONS}) keyed by
 * `sessionKey`, filled lazily; concurrent first requests for one key share one initialisation.
 * When the upstream answers 404 to a request that carried a session id (it forgot the session),
 * or a modern upstream refuses the revision (-32022), the entry is dropped, negotiated again and
 * the request resent once, unseen by the caller. An evicted session gets a best-effort `DELETE`.
 *
 * Credentials: only the authorizer's headers are sent (the gateway's own client token never
 * is); on 401, or 403 with `insufficient_scope`, `authorizer.challenged` decides whether one
 * retry with fresh headers is worth it.
 *
 * Failures: network errors and aborts throw as `fetch` throws them (the resilience layer
 * classifies them); an answer that breaks the protocol (too large, malformed, a stream that ends
 * without the answer) throws {@link McpResponseError}, which carries `remote: true` so the
 * resilience layer counts it as a failed attempt of the upstream; a non-2xx status is an `http`
 * exchange with the first {@link MAX_HTTP_ERROR_BODY_BYTES} of the body.
 *
 * Runs in workerd and Node 22 alike (fetch, streams, TextDecoder; no Node APIs, no eval): the
 * conformance adapter (scripts/mcp-client-adapter.ts) runs this same module.
 *
 * @module
 */
import * as v from "valibot";
import { utf8Length } from "../call-outcome.ts";
import { type Clock, realClock } from "../clock.ts";
import { refusalOr } from "../request-refusal.ts";

/** A JSON-RPC error object as the upstream sent it. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** What one request to the upstream came back with. Network failures and aborts throw instead. */
export type McpExchange =
  /** A JSON-RPC result (a tool result with `isError: true` is a result too). */
  | { kind: "result"; result: Record<string, unknown> }
  /** A JSON-RPC error response. */
  | { kind: "error"; error: RpcError }
  /**
   * The upstream answered the HTTP request with a non-2xx status that a re-initialised session
   * did not fix (401, 403, 429, 5xx, …). `body`: the first bytes as text, untrusted.
   */
  | { kind: "http"; status: number; headers: Headers; body: string };

/** Per request: cancellation and what to do with messages the upstream sends before its answer. */
export interface McpRequestOptions {
  /** Aborts the request (attempt timeout, call deadline, the client went away). */
  signal: AbortSignal;
  /** `notifications/progress` for this request (params as sent upstream, untrusted). */
  onProgress?: (params: Record<string, unknown>) => void;
  /**
   * Server-to-client requests (sampling, elicitation, roots) arriving on this request's stream:
   * the answer to send back. Default: JSON-RPC error -32601 (the gateway declares none of them),
   * except `ping`, which every MCP client answers with `{}`.
   */
  onServerRequest?: (method: string, params: unknown) => Promise<{ result: unknown } | { error: RpcError }>;
  /**
   * 2026-07-28 only: the client capabilities this request's envelope declares (default none), so
   * a server may answer with input requests the gateway can relay (multi round-trip requests).
   */
  clientCapabilities?: Record<string, unknown>;
  /**
   * Where this request's body sizes go (a tool call's stats, src/call-outcome.ts): the JSON-RPC
   * request as POSTed, and the answer's bytes as read (all its streams, or a non-2xx body's head).
   */
  bytes?: { requestBytes: number; responseBytes: number };
}

/** Supplies and refreshes the upstream credential for one credential owner. */
export interface McpAuthorizer {
  /** Headers that carry the credential (`Authorization`, a static API-key header), possibly none. */
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  /**
   * The upstream refused the credential (401, or 403 `insufficient_scope`): refresh, step up,
   * or give up. `true`: `headers()` now returns something worth one more try.
   */
  challenged(status: number, wwwAuthenticate: string | null, signal: AbortSignal): Promise<boolean>;
  /** Every secret value the authorizer attached, for scrubbing from results and logs. */
  secrets(): readonly string[];
}

/** How to reach one upstream for one credential owner. */
export interface McpConnectionOptions {
  /** The upstream's MCP endpoint (already checked: absolute http(s), no credentials). */
  url: URL;
  /** Key of the session in the store: vendor, URL and credential owner, never shared between owners. */
  sessionKey: string;
  authorizer?: McpAuthorizer;
  /** Injectable for tests and the conformance adapter; default the global `fetch`. */
  fetch?: typeof fetch;
  /** `clientInfo` sent at initialisation. */
  clientInfo?: { name: string; version: string };
  /** Waits between an SSE stream's close and its resumption (`retry:`); default the real clock. */
  clock?: Clock;
  /** Bytes read for one request, all its streams together; default {@link MAX_UPSTREAM_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
  /** Keeps best-effort work (the `DELETE` of an evicted session) alive past the response. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * W3C Trace Context headers for each HTTP request this connection sends (`traceparent` with a
   * new span id each time, `tracestate`): the gateway request's trace continued upstream
   * (src/trace-context.ts). Absent: none sent.
   */
  traceHeaders?: () => Record<string, string>;
}

/** What the upstream declared about itself at negotiation. */
export interface McpServerDescription {
  capabilities: Record<string, unknown>;
  info?: { name?: string; version?: string };
  instructions?: string;
}

/** One upstream as seen by one credential owner. */
export interface McpConnection {
  /**
   * Sends one JSON-RPC request (`tools/list`, `tools/call`, `resources/read`, `ping`, …),
   * initialising a session first when the upstream needs one. Throws only on network errors
   * and aborts (the resilience layer classifies those).
   */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    options: McpRequestOptions,
  ): Promise<McpExchange>;
  /** The revision negotiated with the upstream, once known. */
  protocolVersion(): string | undefined;
  /** The upstream's declared capabilities and info, once known. */
  server(): McpServerDescription | undefined;
}

/** Why an upstream's answer was refused. */
export type McpResponseErrorCode =
  /** More than `maxResponseBytes` for one request. */
  | "response_too_large"
  /** Not a JSON-RPC answer to our request (bad JSON, wrong shape, unexpected content type or status). */
  | "malformed_response"
  /** The stream ended (or could not be resumed) before the answer arrived. */
  | "stream_ended"
  /** The upstream insists on a revision this client does not speak. */
  | "unsupported_protocol_version";

/**
 * The upstream's answer broke the protocol. `remote: true`: the resilience layer counts it as a
 * failed attempt of the upstream (like a dropped connection), never as a gateway bug.
 */
export class McpResponseError extends Error {
  readonly code: McpResponseErrorCode;
  readonly remote = true;
  constructor(code: McpResponseErrorCode, message: string) {
    super(message);
    this.name = "McpResponseError";
    this.code = code;
  }
}

/** Revisions this client speaks, newest first. */
export const MCP_CLIENT_PROTOCOL_VERSIONS = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"] as const;
/** Revisions negotiated with `server/discover` (no sessions, per-request `_meta`). */
const MODERN_VERSIONS: readonly string[] = ["2026-07-28"];
/** Revisions negotiated with `initialize`, newest first. */
const LEGACY_VERSIONS: readonly string[] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/** The one revision that has no `MCP-Protocol-Version` header. */
const UNVERSIONED_HEADER_REVISION = "2025-03-26";

/** Sessions kept per isolate: a few hundred owners × vendors of one isolate fit in far less than 1 MiB of its 128 MB. */
export const MAX_UPSTREAM_SESSIONS = 256;
/** One request's answer, every stream together: large tool results fit; a hostile stream cannot fill the isolate's 128 MB. */
export const MAX_UPSTREAM_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Body kept of a non-2xx answer: enough for an error message, nothing a hostile upstream can grow. */
export const MAX_HTTP_ERROR_BODY_BYTES = 4096;
/** Resumptions of one request's stream (the SDK's default `maxRetries`). */
export const MAX_SSE_RECONNECTS = 2;
/** Wait before resuming a stream that sent no `retry:` (the SDK's initial reconnection delay). */
const DEFAULT_SSE_RETRY_MS = 1000;
/** Longest `retry:` honoured: the request's signal bounds the wait anyway. */
const MAX_SSE_RETRY_MS = 60_000;
/** An evicted session's `DELETE` and a `notifications/cancelled` are courtesies: they get this long, in the background. */
const BACKGROUND_REQUEST_TIMEOUT_MS = 5000;
/** Server-to-client requests answered on one request's streams: a hostile upstream cannot keep us posting. */
export const MAX_SERVER_REQUESTS_PER_CALL = 16;
/** Longest `Mcp-Session-Id` accepted (the spec allows visible ASCII only; real ids are UUIDs or tokens). */
const MAX_SESSION_ID_CHARS = 1024;
/** Visible ASCII (0x21–0x7E) only, as the spec requires of session ids. */
const SESSION_ID_PATTERN = /^[\x21-\x7e]+$/;

/** Statuses a 2026-07-28 server answers protocol errors with (not 401/403/429: those stay `http`). */
const PROTOCOL_ERROR_STATUSES: ReadonlySet<number> = new Set([400, 404, 405, 406, 409, 413, 415, 422]);

const JSON_RPC_METHOD_NOT_FOUND = -32601;
/** `UnsupportedProtocolVersion` (2026-07-28). */
const JSON_RPC_UNSUPPORTED_PROTOCOL_VERSION = -32022;

const PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion";
const CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo";
const CLIENT_CAPABILITIES_META_KEY = "io.modelcontextprotocol/clientCapabilities";
const SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo";
/** Which param names a request for `Mcp-Name` (2026-07-28). */
const MCP_NAME_SOURCE: Readonly<Record<string, string>> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

const DEFAULT_CLIENT_INFO = { name: "mcp-edge-gateway", version: "0.1.0" };
const ACCEPT = "application/json, text/event-stream";

// ---------------------------------------------------------------------------------------------
// Messages (valibot: the trust boundary)

const IdSchema = v.union([v.string(), v.number()]);
const RpcErrorSchema = v.object({
  code: v.pipe(v.number(), v.integer()),
  message: v.string(),
  data: v.optional(v.unknown()),
});
const ObjectSchema = v.record(v.string(), v.unknown());
const ResultResponseSchema = v.object({ jsonrpc: v.literal("2.0"), id: IdSchema, result: ObjectSchema });
const ErrorResponseSchema = v.object({
  jsonrpc: v.literal("2.0"),
  id: v.nullish(IdSchema),
  error: RpcErrorSchema,
});
const RequestSchema = v.object({
  jsonrpc: v.literal("2.0"),
  id: IdSchema,
  method: v.string(),
  params: v.optional(v.unknown()),
});
const NotificationSchema = v.object({
  jsonrpc: v.literal("2.0"),
  method: v.string(),
  params: v.optional(v.unknown()),
});
const ImplementationSchema = v.object({ name: v.optional(v.string()), version: v.optional(v.string()) });
const InitializeResultSchema = v.object({
  protocolVersion: v.string(),
  capabilities: ObjectSchema,
  serverInfo: v.optional(ImplementationSchema),
  instructions: v.optional(v.string()),
});
const DiscoverResultSchema = v.object({
  supportedVersions: v.array(v.string()),
  capabilities: ObjectSchema,
  instructions: v.optional(v.string()),
  _meta: v.optional(ObjectSchema),
});

type Incoming =
  | { kind: "response"; id: string | number | null; exchange: McpExchange }
  | { kind: "request"; id: string | number; method: string; params: unknown }
  | { kind: "notification"; method: string; params: unknown }
  | { kind: "invalid" };

function classify(raw: unknown): Incoming {
  const result = v.safeParse(ResultResponseSchema, raw);
  if (result.success)
    return {
      kind: "response",
      id: result.output.id,
      exchange: { kind: "result", result: result.output.result },
    };
  const error = v.safeParse(ErrorResponseSchema, raw);
  if (error.success) {
    const { code, message, data } = error.output.error;
    const rpc: RpcError = data === undefined ? { code, message } : { code, message, data };
    return { kind: "response", id: error.output.id ?? null, exchange: { kind: "error", error: rpc } };
  }
  const request = v.safeParse(RequestSchema, raw);
  if (request.success) return { kind: "request", ...request.output, params: request.output.params };
  const notification = v.safeParse(NotificationSchema, raw);
  if (notification.success)
    return { kind: "notification", method: notification.output.method, params: notification.output.params };
  return { kind: "invalid" };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Session store

/** What negotiation settled for one session key. */
interface Negotiated {
  era: "modern" | "legacy";
  protocolVersion: string;
  sessionId?: string;
  server: McpServerDescription;
}

type Established = { ok: true; session: Negotiated } | { ok: false; exchange: McpExchange };

interface StoreEntry {
  ready: Promise<Established>;
  /** The signal of the request that started the initialisation. */
  signal: AbortSignal;
  /** Set once `ready` settled with a session. */
  session?: Negotiated;
  /** Best-effort `DELETE` of the upstream session when the entry is evicted. */
  close: (session: Negotiated) => void;
}

/** Per isolate; Map order is recency order (oldest first). */
const sessions = new Map<string, StoreEntry>();

function touch(key: string, entry: StoreEntry): void {
  sessions.delete(key);
  sessions.set(key, entry);
}

function admit(key: string, entry: StoreEntry): void {
  sessions.delete(key);
  while (sessions.size >= MAX_UPSTREAM_SESSIONS) {
    const [oldestKey, oldest] = sessions.entries().next().value as [string, StoreEntry];
    sessions.delete(oldestKey);
    if (oldest.session?.sessionId !== undefined) oldest.close(oldest.session);
  }
  sessions.set(key, entry);
}

/** Drops `key`'s entry if it is still the one holding `session` (concurrent droppers drop once). */
function forget(key: string, session: Negotiated): void {
  if (sessions.get(key)?.session === session) sessions.delete(key);
}

/**
 * Upstream URLs that fell back to `initialize`: later sessions with them skip the
 * `server/discover` probe (a 2025 server costs one round trip less per new credential owner).
 * An upstream upgraded meanwhile is still served, in its 2025 era, until the isolate goes.
 */
const legacyUpstreams = new Set<string>();

function rememberLegacy(href: string): void {
  legacyUpstreams.delete(href);
  if (legacyUpstreams.size >= MAX_UPSTREAM_SESSIONS) {
    const oldest = legacyUpstreams.values().next().value;
    if (oldest !== undefined) legacyUpstreams.delete(oldest);
  }
  legacyUpstreams.add(href);
}

/** `promise`, or the signal's reason once it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** How many sessions the isolate keeps (tests). */
export function upstreamSessionCount(): number {
  return sessions.size;
}

// ---------------------------------------------------------------------------------------------
// SSE

interface SseEvent {
  data: string;
  id?: string;
}

/**
 * An incremental `text/event-stream` parser (WHATWG), linear in its input: each character is
 * looked at a bounded number of times, lines are split with a single-alternation regex.
 */
class SseParser {
  lastEventId: string | undefined;
  retryMs: number | undefined;

  constructor(resumed?: SseParser) {
    this.lastEventId = resumed?.lastEventId;
    this.retryMs = resumed?.retryMs;
  }

  private line = "";
  private afterCr = false;
  private data: string[] = [];
  private hasData = false;
  private eventId: string | undefined;

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.afterCr && text.startsWith("\n")) start = 1;
    this.afterCr = false;
    const breaks = /\r\n|\r|\n/g;
    breaks.lastIndex = start;
    for (let m = breaks.exec(text); m !== null; m = breaks.exec(text)) {
      const line = this.line + text.slice(start, m.index);
      this.line = "";
      start = m.index + m[0].length;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (m[0] === "\r" && start === text.length) this.afterCr = true;
      const event = this.onLine(line);
      if (event !== undefined) events.push(event);
    }
    this.line += text.slice(start);
    return events;
  }

  private onLine(line: string): SseEvent | undefined {
    if (line === "") {
      const event = this.hasData ? { data: this.data.join("\n"), id: this.eventId } : undefined;
      this.data = [];
      this.hasData = false;
      this.eventId = undefined;
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.hasData = true;
    } else if (field === "id") {
      if (!value.includes("\0")) {
        this.lastEventId = value;
        this.eventId = value;
      }
    } else if (field === "retry") {
      if (/^\d{1,9}$/.test(value)) this.retryMs = Number(value);
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

let nextRequestId = 0;
function newRequestId(): number {
  nextRequestId = (nextRequestId + 1) % Number.MAX_SAFE_INTEGER;
  return nextRequestId;
}

function mediaType(response: Response): string {
  return (response.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Reads a body as text up to the shared byte budget; over budget → `response_too_large`. */
async function readBounded(body: ReadableStream<Uint8Array> | null, budget: Budget): Promise<string> {
  if (body === null) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      budget.spend(value.byteLength);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The first `maxBytes` of a body as text; the rest is cancelled unread. */
async function headText(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (body === null) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let received = 0;
  try {
    while (received < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = value.subarray(0, maxBytes - received);
      received += take.byteLength;
      text += decoder.decode(take, { stream: true });
    }
    return text + decoder.decode();
  } catch {
    return text;
  } finally {
    reader.cancel().catch(() => {});
  }
}

class Budget {
  private readonly max: number;
  private left: number;
  constructor(max: number) {
    this.max = max;
    this.left = max;
  }
  /** Bytes read so far. */
  get spent(): number {
    return this.max - this.left;
  }
  spend(bytes: number): void {
    this.left -= bytes;
    if (this.left < 0) {
      throw new McpResponseError("response_too_large", `The upstream MCP answer exceeds ${this.max} bytes`);
    }
  }
}

function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}

/** `true` for an ASCII header value the spec lets go out as is (SEP-2243 value encoding). */
function plainHeaderValue(s: string): boolean {
  if (s.length === 0 || s !== s.trim()) return false;
  if (s.startsWith("=?base64?") && s.endsWith("?=")) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 9 && (c < 32 || c > 126)) return false;
  }
  return true;
}

function encodeHeaderValue(s: string): string {
  if (plainHeaderValue(s)) return s;
  let bin = "";
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return `=?base64?${btoa(bin)}?=`;
}

function isInsufficientScope(wwwAuthenticate: string | null): boolean {
  return wwwAuthenticate?.toLowerCase().includes("insufficient_scope") === true;
}

// ---------------------------------------------------------------------------------------------
// The connection

/** One POST's outcome: the answer (with the POST's response headers), or a non-2xx response, unread. */
type PostOutcome =
  | { kind: "exchange"; exchange: McpExchange; headers: Headers }
  | { kind: "http"; response: Response };

export function mcpConnection(options: McpConnectionOptions): McpConnection {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const clock = options.clock ?? realClock;
  const clientInfo = options.clientInfo ?? DEFAULT_CLIENT_INFO;
  const maxResponseBytes = options.maxResponseBytes ?? MAX_UPSTREAM_RESPONSE_BYTES;
  const url = options.url;
  const key = options.sessionKey;
  let known: Negotiated | undefined;

  /** One HTTP exchange with the authorizer's headers, retried once when a challenge says so. */
  async function send(
    method: "POST" | "GET" | "DELETE",
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const credential = (await options.authorizer?.headers(signal)) ?? {};
      const all: Record<string, string> = {};
      for (const [name, value] of Object.entries(credential)) all[name.toLowerCase()] = value;
      if (options.traceHeaders !== undefined) Object.assign(all, options.traceHeaders());
      // Protocol headers (lower-case names) win over anything the authorizer named alike.
      Object.assign(all, headers);
      const init: RequestInit = { method, headers: all, body, signal, redirect: "manual" };
      let response: Response;
      try {
        response = await doFetch(url, init);
      } catch (error) {
        // A header value the runtime refuses is not a network failure (nothing was sent).
        throw refusalOr(error, url.href, init);
      }
      const challenge = response.headers.get("www-authenticate");
      const refused = response.status === 401 || (response.status === 403 && isInsufficientScope(challenge));
      if (!refused || attempt > 0 || options.authorizer === undefined) return response;
      if (!(await options.authorizer.challenged(response.status, challenge, signal))) return response;
      discard(response);
    }
  }

  function sessionHeaders(session: Negotiated | undefined): Record<string, string> {
    const headers: Record<string, string> = {};
    if (session?.sessionId !== undefined) headers["mcp-session-id"] = session.sessionId;
    if (session !== undefined && session.protocolVersion !== UNVERSIONED_HEADER_REVISION) {
      headers["mcp-protocol-version"] = session.protocolVersion;
    }
    return headers;
  }

  async function httpExchange(response: Response): Promise<McpExchange> {
    return {
      kind: "http",
      status: response.status,
      headers: response.headers,
      body: await headText(response.body, MAX_HTTP_ERROR_BODY_BYTES),
    };
  }

  /**
   * Reads one POST's answer to request `id`: a JSON body or SSE stream(s). Non-2xx comes back
   * as `http` with the response unread.
   */
  async function readAnswer(
    response: Response,
    id: number | string,
    session: Negotiated | undefined,
    request: McpRequestOptions,
    progressToken: string | number | undefined,
  ): Promise<PostOutcome> {
    if (response.status < 200 || response.status > 299) return { kind: "http", response };
    const budget = new Budget(maxResponseBytes);
    try {
      return await readAnswerBody(response, id, session, request, progressToken, budget);
    } finally {
      if (request.bytes !== undefined) request.bytes.responseBytes = budget.spent;
    }
  }

  async function readAnswerBody(
    response: Response,
    id: number | string,
    session: Negotiated | undefined,
    request: McpRequestOptions,
    progressToken: string | number | undefined,
    budget: Budget,
  ): Promise<PostOutcome> {
    const type = mediaType(response);
    if (type === "application/json") {
      const message = classify(parseJson(await readBounded(response.body, budget)));
      if (
        message.kind === "response" &&
        (message.id === id || (message.id === null && message.exchange.kind === "error"))
      ) {
        return { kind: "exchange", exchange: message.exchange, headers: response.headers };
      }
      throw new McpResponseError(
        "malformed_response",
        "The upstream MCP server's JSON answer is not the response to the request",
      );
    }
    if (type !== "text/event-stream") {
      discard(response);
      throw new McpResponseError(
        "malformed_response",
        `The upstream MCP server answered ${response.status} with content type "${type.slice(0, 100)}"`,
      );
    }
    const state = { serverRequests: 0 };
    let stream: Response = response;
    let previous: SseParser | undefined;
    for (let reconnects = 0; ; reconnects++) {
      // The last event id and `retry:` carry over to a resumed stream that sends none.
      const parser = new SseParser(previous);
      previous = parser;
      const exchange = await readStream(stream, parser, id, session, request, progressToken, budget, state);
      if (exchange !== undefined) return { kind: "exchange", exchange, headers: response.headers };
      if (parser.lastEventId === undefined || reconnects >= MAX_SSE_RECONNECTS) {
        throw new McpResponseError(
          "stream_ended",
          "The upstream MCP server's stream ended before the response",
        );
      }
      await clock.sleep(Math.min(parser.retryMs ?? DEFAULT_SSE_RETRY_MS, MAX_SSE_RETRY_MS), request.signal);
      const resumed = await send(
        "GET",
        { accept: "text/event-stream", "last-event-id": parser.lastEventId, ...sessionHeaders(session) },
        undefined,
        request.signal,
      );
      if (resumed.status < 200 || resumed.status > 299 || mediaType(resumed) !== "text/event-stream") {
        discard(resumed);
        throw new McpResponseError(
          "stream_ended",
          `The upstream MCP server's stream ended before the response and resuming it got ${resumed.status}`,
        );
      }
      stream = resumed;
    }
  }

  /** Reads one SSE stream until our response (returned) or its end (`undefined`). */
  async function readStream(
    response: Response,
    parser: SseParser,
    id: number | string,
    session: Negotiated | undefined,
    request: McpRequestOptions,
    progressToken: string | number | undefined,
    budget: Budget,
    state: { serverRequests: number },
  ): Promise<McpExchange | undefined> {
    if (response.body === null) return undefined;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        // An event the stream did not finish with a blank line is dropped, as EventSource does.
        if (done) return undefined;
        budget.spend(value.byteLength);
        const events = parser.push(decoder.decode(value, { stream: true }));
        for (const event of events) {
          if (event.data === "") continue; // priming event (SEP-1699)
          const message = classify(parseJson(event.data));
          if (message.kind === "response") {
            if (message.id === id) return message.exchange;
          } else if (message.kind === "notification") {
            if (message.method === "notifications/progress" && request.onProgress !== undefined) {
              const params = v.safeParse(ObjectSchema, message.params);
              if (params.success && params.output.progressToken === progressToken)
                request.onProgress(params.output);
            }
          } else if (message.kind === "request") {
            state.serverRequests++;
            if (state.serverRequests > MAX_SERVER_REQUESTS_PER_CALL) {
              throw new McpResponseError(
                "malformed_response",
                "The upstream MCP server sent too many requests of its own",
              );
            }
            await answerServerRequest(message, session, request);
          }
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async function answerServerRequest(
    message: { id: string | number; method: string; params: unknown },
    session: Negotiated | undefined,
    request: McpRequestOptions,
  ): Promise<void> {
    let answer: { result: unknown } | { error: RpcError };
    if (request.onServerRequest !== undefined)
      answer = await request.onServerRequest(message.method, message.params);
    else if (message.method === "ping") answer = { result: {} };
    else answer = { error: { code: JSON_RPC_METHOD_NOT_FOUND, message: "Method not found" } };
    const body = JSON.stringify({ jsonrpc: "2.0", id: message.id, ...answer });
    const response = await send(
      "POST",
      { "content-type": "application/json", accept: ACCEPT, ...sessionHeaders(session) },
      body,
      request.signal,
    );
    discard(response);
  }

  /** POSTs one JSON-RPC request and reads its answer. */
  async function post(
    method: string,
    params: Record<string, unknown> | undefined,
    session: Negotiated | undefined,
    request: McpRequestOptions,
    extraHeaders: Record<string, string> = {},
  ): Promise<PostOutcome> {
    const id = newRequestId();
    let progressToken: number | undefined;
    let sentParams = params;
    if (request.onProgress !== undefined) {
      progressToken = id;
      const meta = v.safeParse(ObjectSchema, params?._meta);
      sentParams = { ...params, _meta: { ...(meta.success ? meta.output : {}), progressToken } };
    }
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id,
      method,
      ...(sentParams === undefined ? {} : { params: sentParams }),
    });
    if (request.bytes !== undefined) request.bytes.requestBytes = utf8Length(body);
    try {
      const response = await send(
        "POST",
        { "content-type": "application/json", accept: ACCEPT, ...sessionHeaders(session), ...extraHeaders },
        body,
        request.signal,
      );
      return await readAnswer(response, id, session, request, progressToken);
    } catch (error) {
      // 2025 revisions: tell the upstream to stop working on it (never for `initialize`).
      // 2026-07-28 has no such notification: the closed stream is the cancellation.
      if (request.signal.aborted && session?.era === "legacy") cancelInBackground(id, session);
      throw error;
    }
  }

  function cancelInBackground(id: number, session: Negotiated): void {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: id, reason: "The gateway's caller cancelled the request" },
    });
    const done = send(
      "POST",
      { "content-type": "application/json", accept: ACCEPT, ...sessionHeaders(session) },
      body,
      AbortSignal.timeout(BACKGROUND_REQUEST_TIMEOUT_MS),
    )
      .then(discard)
      .catch(() => {});
    options.waitUntil?.(done);
  }

  async function notify(
    method: string,
    session: Negotiated,
    signal: AbortSignal,
  ): Promise<McpExchange | undefined> {
    const response = await send(
      "POST",
      { "content-type": "application/json", accept: ACCEPT, ...sessionHeaders(session) },
      JSON.stringify({ jsonrpc: "2.0", method }),
      signal,
    );
    if (response.status >= 200 && response.status <= 299) {
      discard(response);
      return undefined;
    }
    return httpExchange(response);
  }

  function envelope(
    protocolVersion: string,
    capabilities: Record<string, unknown> = {},
  ): Record<string, unknown> {
    return {
      [PROTOCOL_VERSION_META_KEY]: protocolVersion,
      [CLIENT_INFO_META_KEY]: clientInfo,
      [CLIENT_CAPABILITIES_META_KEY]: capabilities,
    };
  }

  function modernHeaders(
    protocolVersion: string,
    method: string,
    params: Record<string, unknown> | undefined,
  ) {
    const headers: Record<string, string> = { "mcp-protocol-version": protocolVersion, "mcp-method": method };
    const field = Object.hasOwn(MCP_NAME_SOURCE, method) ? MCP_NAME_SOURCE[method] : undefined;
    const name = field === undefined ? undefined : params?.[field];
    if (typeof name === "string") headers["mcp-name"] = encodeHeaderValue(name);
    return headers;
  }

  /** `server/discover`: a modern session, `undefined` to fall back, or the exchange that ends the request. */
  async function discover(signal: AbortSignal): Promise<Established | undefined> {
    let offered = MODERN_VERSIONS[0] as string;
    for (let corrective = 0; ; corrective++) {
      const outcome = await post(
        "server/discover",
        { _meta: envelope(offered) },
        undefined,
        { signal },
        modernHeaders(offered, "server/discover", undefined),
      );
      let error: RpcError | undefined;
      if (outcome.kind === "http") {
        const status = outcome.response.status;
        const exchange = await httpExchange(outcome.response);
        if (status === 401 || status === 403 || status >= 500) return { ok: false, exchange };
        const parsed = classify(parseJson(exchange.kind === "http" ? exchange.body : ""));
        if (parsed.kind !== "response" || parsed.exchange.kind !== "error") return undefined;
        error = parsed.exchange.error;
      } else if (outcome.exchange.kind === "error") {
        error = outcome.exchange.error;
      } else {
        const result = v.safeParse(
          DiscoverResultSchema,
          outcome.exchange.kind === "result" ? outcome.exchange.result : undefined,
        );
        if (!result.success) return undefined;
        const version = MODERN_VERSIONS.find((m) => result.output.supportedVersions.includes(m));
        if (version === undefined) return undefined;
        const info = v.safeParse(ImplementationSchema, result.output._meta?.[SERVER_INFO_META_KEY]);
        return {
          ok: true,
          session: {
            era: "modern",
            protocolVersion: version,
            server: {
              capabilities: result.output.capabilities,
              ...(info.success ? { info: info.output } : {}),
              ...(result.output.instructions === undefined
                ? {}
                : { instructions: result.output.instructions }),
            },
          },
        };
      }
      if (error.code !== JSON_RPC_UNSUPPORTED_PROTOCOL_VERSION) return undefined;
      const supported = v.safeParse(v.object({ supported: v.array(v.string()) }), error.data);
      const mutual = supported.success
        ? MODERN_VERSIONS.find((m) => supported.output.supported.includes(m))
        : undefined;
      if (mutual === undefined || corrective > 0) return undefined;
      offered = mutual;
    }
  }

  /** `initialize` + `notifications/initialized`. */
  async function initialize(signal: AbortSignal): Promise<Established> {
    const outcome = await post(
      "initialize",
      { protocolVersion: LEGACY_VERSIONS[0], capabilities: {}, clientInfo },
      undefined,
      { signal },
    );
    if (outcome.kind === "http") return { ok: false, exchange: await httpExchange(outcome.response) };
    const answer = outcome.exchange;
    if (answer.kind !== "result") return { ok: false, exchange: answer };
    const result = v.safeParse(InitializeResultSchema, answer.result);
    if (!result.success) {
      throw new McpResponseError(
        "malformed_response",
        "The upstream MCP server's initialize result is malformed",
      );
    }
    const { protocolVersion, capabilities, serverInfo, instructions } = result.output;
    if (!LEGACY_VERSIONS.includes(protocolVersion)) {
      throw new McpResponseError(
        "unsupported_protocol_version",
        `The upstream MCP server speaks protocol revision "${protocolVersion.slice(0, 40)}", which this gateway does not`,
      );
    }
    const sessionId = outcome.headers.get("mcp-session-id") ?? undefined;
    if (
      sessionId !== undefined &&
      (sessionId.length > MAX_SESSION_ID_CHARS || !SESSION_ID_PATTERN.test(sessionId))
    ) {
      throw new McpResponseError(
        "malformed_response",
        "The upstream MCP server issued an invalid session id",
      );
    }
    const session: Negotiated = {
      era: "legacy",
      protocolVersion,
      ...(sessionId === undefined ? {} : { sessionId }),
      server: {
        capabilities,
        ...(serverInfo === undefined ? {} : { info: serverInfo }),
        ...(instructions === undefined ? {} : { instructions }),
      },
    };
    const refused = await notify("notifications/initialized", session, signal);
    return refused === undefined ? { ok: true, session } : { ok: false, exchange: refused };
  }

  async function establish(signal: AbortSignal): Promise<Established> {
    if (!legacyUpstreams.has(url.href)) {
      const modern = await discover(signal);
      if (modern !== undefined) return modern;
    }
    const established = await initialize(signal);
    if (established.ok) rememberLegacy(url.href);
    return established;
  }

  function closeSession(session: Negotiated): void {
    if (session.sessionId === undefined) return;
    const done = send(
      "DELETE",
      sessionHeaders(session),
      undefined,
      AbortSignal.timeout(BACKGROUND_REQUEST_TIMEOUT_MS),
    )
      .then(discard)
      .catch(() => {});
    options.waitUntil?.(done);
  }

  /** The session for this key: the stored one, one being set up, or a new one. */
  async function sessionFor(signal: AbortSignal): Promise<Established> {
    for (let tries = 0; ; tries++) {
      let entry = sessions.get(key);
      if (entry === undefined) {
        const fresh: StoreEntry = { ready: establish(signal), signal, close: closeSession };
        entry = fresh;
        admit(key, fresh);
        fresh.ready.then(
          (established) => {
            if (established.ok) fresh.session = established.session;
            else if (sessions.get(key) === fresh) sessions.delete(key);
          },
          () => {
            if (sessions.get(key) === fresh) sessions.delete(key);
          },
        );
      } else {
        touch(key, entry);
      }
      try {
        // A request that joined another's initialisation still ends when its own signal does.
        const established = await untilAborted(entry.ready, signal);
        if (established.ok) known = established.session;
        return established;
      } catch (error) {
        // The initialisation ended because the request that started it was cancelled: ours
        // may still go ahead, once.
        if (signal.aborted || tries > 0 || entry.signal === signal || !entry.signal.aborted) throw error;
      }
    }
  }

  async function request(
    method: string,
    params: Record<string, unknown> | undefined,
    requestOptions: McpRequestOptions,
  ): Promise<McpExchange> {
    for (let resent = 0; ; resent++) {
      const established = await sessionFor(requestOptions.signal);
      if (!established.ok) return established.exchange;
      const session = established.session;
      let outcome: PostOutcome;
      if (session.era === "modern") {
        const meta = v.safeParse(ObjectSchema, params?._meta);
        const enveloped = {
          ...params,
          _meta: {
            ...(meta.success ? meta.output : {}),
            ...envelope(session.protocolVersion, requestOptions.clientCapabilities),
          },
        };
        outcome = await post(
          method,
          enveloped,
          undefined,
          requestOptions,
          modernHeaders(session.protocolVersion, method, params),
        );
      } else {
        outcome = await post(method, params, session, requestOptions);
      }
      if (outcome.kind === "exchange") {
        const refusedRevision =
          session.era === "modern" &&
          outcome.exchange.kind === "error" &&
          outcome.exchange.error.code === JSON_RPC_UNSUPPORTED_PROTOCOL_VERSION;
        if (!refusedRevision || resent > 0) return outcome.exchange;
        forget(key, session);
        continue;
      }
      const response = outcome.response;
      if (response.status === 404 && session.sessionId !== undefined && resent === 0) {
        discard(response);
        forget(key, session);
        continue;
      }
      const exchange = await httpExchange(response);
      if (requestOptions.bytes !== undefined && exchange.kind === "http") {
        requestOptions.bytes.responseBytes = utf8Length(exchange.body);
      }
      if (session.era === "modern" && PROTOCOL_ERROR_STATUSES.has(response.status)) {
        // 2026-07-28 answers protocol errors (a refused revision, a header mismatch) with a
        // 4xx and a JSON-RPC error body: the error it is, as the SDK's client reads it.
        const parsed = classify(parseJson(exchange.kind === "http" ? exchange.body : ""));
        if (parsed.kind === "response" && parsed.exchange.kind === "error") {
          if (parsed.exchange.error.code !== JSON_RPC_UNSUPPORTED_PROTOCOL_VERSION) return parsed.exchange;
          if (resent === 0) {
            forget(key, session);
            continue;
          }
          return parsed.exchange;
        }
      }
      return exchange;
    }
  }

  return {
    request,
    protocolVersion: () => (known ?? sessions.get(key)?.session)?.protocolVersion,
    server: () => (known ?? sessions.get(key)?.session)?.server,
  };
}
