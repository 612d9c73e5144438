/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for one gateway request: the
 * client's `traceparent`/`tracestate` accepted, or a new trace started, and the trace
 * continued to every upstream request a tool call makes.
 *
 * Where a trace comes from, first that applies:
 * 1. the HTTP `traceparent` header of any request (the app's first middleware, `requestId` in
 *    src/errors.ts, so every route's JSON errors and `request` log events carry the trace id);
 * 2. on the MCP endpoints, `params._meta.traceparent` of the JSON-RPC request (SEP-414: MCP's
 *    `_meta` keys `traceparent` and `tracestate`, same formats as the headers);
 * 3. none, or invalid: a new trace (random 16-byte trace id), as the spec asks of a receiver
 *    that cannot parse what it got.
 *
 * Validation is strict: version `00` only, exactly `00-<32 hex>-<16 hex>-<2 hex>` in lowercase,
 * neither id all zeros. Anything else is ignored (never an error: tracing must not fail a call).
 * `tracestate` travels only with the `traceparent` it came with, and only when it is at most
 * {@link MAX_TRACESTATE_LENGTH} characters of printable ASCII; the gateway adds no entry of its own.
 *
 * Upstream: each upstream request (a tool call's attempts, and a shared, cached tool-list fetch of an
 * upstream MCP server, with the trace of the request that triggered it) gets `traceparent: 00-<trace id>-<new span id>-<flags>` (a fresh
 * random 8-byte span id per request, so each attempt is its own child of the client's span) and
 * the client's `tracestate` as is. A trace the gateway starts is marked sampled (`01`): the
 * gateway's log events carry its id, so upstreams that sample on the flag keep their side too.
 *
 * Cost: one header parse (a length check and one linear-time regex) per request, and one
 * `crypto.getRandomValues` of 8 bytes per upstream request (16 more when no trace came).
 * Leaf module: imports nothing.
 *
 * @module
 */

/** The trace a request belongs to. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zeros. */
  readonly traceId: string;
  /** The client's span (its `parent-id`), or the gateway's own root span when the trace started here. */
  readonly parentId: string;
  /** `trace-flags`: 2 lowercase hex digits (`01`: sampled). */
  readonly flags: string;
  /** The client's `tracestate`, passed on unchanged; absent when none came or it was invalid. */
  readonly state?: string;
}

/** Longer `tracestate` values are dropped rather than truncated (the spec's propagation minimum is 512). */
export const MAX_TRACESTATE_LENGTH = 512;

const TRACEPARENT_LENGTH = 55;
// Linear: fixed-length character classes, no nesting or alternation.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);
// Printable ASCII (space to tilde) only: no control characters, nothing a header could not carry.
const TRACESTATE = /^[\x20-\x7e]*$/;

/** A `traceparent` value parsed strictly, `undefined` when it is not a valid version-00 one. */
export function parseTraceparent(
  value: unknown,
): { traceId: string; parentId: string; flags: string } | undefined {
  if (typeof value !== "string" || value.length !== TRACEPARENT_LENGTH) return undefined;
  const match = TRACEPARENT.exec(value);
  if (match === null) return undefined;
  const [, traceId, parentId, flags] = match as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { traceId, parentId, flags };
}

/**
 * The request's trace: the client's when `traceparent` is valid (with its `tracestate` when that is
 * acceptable), else a new one. `traceparent`/`tracestate` are the raw values (header or `_meta`).
 */
export function traceFrom(traceparent: unknown, tracestate: unknown): TraceContext {
  const parent = parseTraceparent(traceparent);
  return parent === undefined ? newTrace() : continuedTrace(parent, tracestate);
}

/** The client's trace from its parsed `traceparent`, with its `tracestate` when that is acceptable. */
export function continuedTrace(
  parent: { traceId: string; parentId: string; flags: string },
  tracestate: unknown,
): TraceContext {
  const state = validTracestate(tracestate);
  return state === undefined ? parent : { ...parent, state };
}

/** A new trace: random trace id and root span id, sampled. */
export function newTrace(): TraceContext {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  let traceId = hex(bytes, 0, 16);
  let parentId = hex(bytes, 16, 24);
  // 2^-128 and 2^-64: but an all-zero id is invalid, so never send one.
  if (traceId === ZERO_TRACE_ID) traceId = `${ZERO_TRACE_ID.slice(1)}1`;
  if (parentId === ZERO_SPAN_ID) parentId = `${ZERO_SPAN_ID.slice(1)}1`;
  return { traceId, parentId, flags: "01" };
}

/** A new random span id: 16 lowercase hex digits, never all zeros. */
export function newSpanId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  const id = hex(bytes, 0, 8);
  return id === ZERO_SPAN_ID ? `${ZERO_SPAN_ID.slice(1)}1` : id;
}

/** The headers one upstream request carries: `traceparent` with a new span id, and `tracestate` when the client sent one. */
export function upstreamTraceHeaders(trace: TraceContext): Record<string, string> {
  const traceparent = `00-${trace.traceId}-${newSpanId()}-${trace.flags}`;
  return trace.state === undefined ? { traceparent } : { traceparent, tracestate: trace.state };
}

function validTracestate(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (trimmed === "" || trimmed.length > MAX_TRACESTATE_LENGTH || !TRACESTATE.test(trimmed)) return undefined;
  return trimmed;
}

function hex(bytes: Uint8Array, from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) out += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return out;
}
