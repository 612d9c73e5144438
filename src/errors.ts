/**
 * Errors and the JSON-only error surface of the gateway.
 *
 * Every response on every route is JSON. Cloudflare turns an uncaught
 * exception into an HTML 1101 page, so nothing may escape: typed failures are
 * thrown as {@link GatewayError} and become their 4xx/5xx JSON answer; any
 * other exception is logged with the request id and becomes a JSON 500.
 *
 * Body shape (stable, every non-OAuth, non-JSON-RPC answer):
 *
 * ```json
 * {"error":{"code":"not_found","message":"…","requestId":"…","details":{…}}}
 * ```
 *
 * Wiring (see `src/app.ts`):
 *
 * ```ts
 * app.use(requestId((env) => clockFor(env as Env)));
 * app.onError(handleError);
 * app.notFound(handleNotFound);
 * app.get("/health", …);
 * app.all("/health", methodNotAllowed(["GET", "HEAD"])); // after the real routes
 * ```
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { errorText, log } from "./log.ts";
import { continuedTrace, newTrace, parseTraceparent, type TraceContext, traceFrom } from "./trace-context.ts";

/** Stable, machine-readable error codes. Add new codes here (additive only). */
export type GatewayErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "origin_not_allowed"
  | "not_found"
  | "method_not_allowed"
  | "not_acceptable"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "invalid_configuration"
  | "internal_error"
  | "upstream_unavailable"
  | "storage_unavailable";

const DEFAULT_STATUS: Record<GatewayErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  invalid_configuration: 500,
  internal_error: 500,
  upstream_unavailable: 503,
  storage_unavailable: 503,
};

export interface GatewayErrorOptions {
  /** HTTP status; defaults to the code's usual status. */
  status?: number;
  /** Extra machine-readable context, sent to the client: never put secrets here. */
  details?: Record<string, unknown>;
  /** Extra response headers (`Allow`, `Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The JSON error body every gateway error response carries. */
export interface GatewayErrorBody {
  error: {
    code: GatewayErrorCode;
    message: string;
    requestId: string;
    /** The W3C trace id of the request (src/trace-context.ts), on every route. */
    traceId?: string;
    details?: Record<string, unknown>;
  };
}

/**
 * A typed, expected failure that becomes a JSON 4xx/5xx answer
 * (hono `HTTPException` style: the error builds its own response).
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly code: GatewayErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: GatewayErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.details = options.details;
    this.headers = options.headers;
  }

  /** The JSON body of this error, tagged with the request id (and the trace id when the request has one). */
  getBody(requestId: string, traceId?: string): GatewayErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        requestId,
        ...(traceId === undefined ? {} : { traceId }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }

  /** The JSON response for this error, tagged with the request id. */
  getResponse(requestId: string, traceId?: string): Response {
    const body = this.getBody(requestId, traceId);
    const headers = new Headers(this.headers);
    headers.set("content-type", "application/json; charset=utf-8");
    headers.set(REQUEST_ID_HEADER, requestId);
    return new Response(JSON.stringify(body), { status: this.status, headers });
  }
}

/** Response header carrying the request id (also accepted from a trusted proxy in front). */
const REQUEST_ID_HEADER = "x-request-id";

/** An incoming id is reused only when it is short and plain, so it cannot forge log lines. */
const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * hono variables set by {@link requestId}: the request id and the request's W3C trace
 * (src/trace-context.ts), `traceHeader` when it came from a valid `traceparent` header (else the
 * MCP endpoint may take one from the message's `_meta`, replacing `trace` and `traceId`).
 * `requestInfo`: what a route adds to the request's `request` event (the MCP endpoint: its endpoint,
 * JSON-RPC method and client).
 */
export type RequestIdVariables = {
  requestId: string;
  traceId: string;
  trace: TraceContext;
  traceHeader: boolean;
  requestInfo?: RequestInfo;
};

/** What a route adds to its request's `request` log event. */
export interface RequestInfo {
  endpoint?: string;
  mcpMethod?: string;
  clientName?: string;
  clientVersion?: string;
}

/**
 * Middleware factory: gives every request an id (`c.var.requestId`, echoed in `x-request-id` so a
 * JSON 500 the user reports can be found in the logs) and a W3C trace (`c.var.trace`: the client's
 * `traceparent`/`tracestate` header, else a new one), and logs one `request` event when the app
 * has answered: method, route pattern, status, duration, ids, caller and what the route added.
 * `clockOf`: the request's clock (the app passes `clockFor`, src/clock.ts, which this leaf cannot
 * import without a cycle through config.ts); default `Date`.
 */
export function requestId(
  clockOf: (env: unknown) => { now(): number } = () => Date,
): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async (c, next) => {
    // `app.fetch` without bindings (some tests) has no env to find a clock in.
    const clock = c.env === undefined || c.env === null ? Date : clockOf(c.env);
    const started = clock.now();
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const id = incoming !== undefined && INCOMING_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    const headerTrace = parseTraceparent(c.req.header("traceparent"));
    const trace =
      headerTrace === undefined ? newTrace() : continuedTrace(headerTrace, c.req.header("tracestate"));
    c.set("trace", trace);
    c.set("traceId", trace.traceId);
    c.set("traceHeader", headerTrace !== undefined);
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } catch (thrown) {
      // hono hands only `Error`s to onError and rethrows anything else; wrap it so it gets the JSON 500.
      throw thrown instanceof Error ? thrown : new Error(`non-Error thrown: ${String(thrown)}`);
    } finally {
      logRequest(c, status, clock.now() - started);
    }
    // The id marks the answer as the app's (logged here) for the entry's `requestAnsweredOutsideApp`.
    // Responses built elsewhere may have immutable headers (a fetched Response): answer a copy then.
    try {
      c.res.headers.set(REQUEST_ID_HEADER, id);
    } catch {
      const copy = new Response(c.res.body, c.res);
      copy.headers.set(REQUEST_ID_HEADER, id);
      c.res = copy;
    }
  };
}

/**
 * The `request` event of a request the app never answered: the OAuth library did (the token and
 * registration endpoints, their metadata, a `/v1/` request without a valid token), or the
 * configuration check did (`answeredBy: "configuration"`). The app's answers carry `x-request-id`
 * ({@link requestId}) and are logged there, so an answer with the header is returned untouched;
 * any other gets the header (the incoming id when plain, else a new one) and one `request` event.
 */
export function requestAnsweredOutsideApp(
  request: Request,
  response: Response,
  durationMs: number,
): Response {
  if (response.headers.has(REQUEST_ID_HEADER)) return response;
  const incoming = request.headers.get(REQUEST_ID_HEADER);
  const id = incoming !== null && INCOMING_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  logOutside(request, response.status, durationMs, id);
  try {
    response.headers.set(REQUEST_ID_HEADER, id);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(REQUEST_ID_HEADER, id);
    return copy;
  }
}

/** The `request` event of an answer the entry built itself with `requestId` (an invalid configuration). */
export function logOutside(request: Request, status: number, durationMs: number, requestId: string): void {
  try {
    const trace = traceFrom(request.headers.get("traceparent"), request.headers.get("tracestate"));
    log({
      event: "request",
      requestId,
      traceId: trace.traceId,
      method: request.method,
      route: outsideRoute(new URL(request.url).pathname),
      status,
      durationMs,
    });
  } catch {
    // the answer matters more than its log line
  }
}

/** OAuth endpoints the library answers before the app: their paths are their routes. */
const OUTSIDE_ROUTES = new Set([
  "/oauth/token",
  "/oauth/register",
  "/.well-known/oauth-authorization-server",
  "/.well-known/oauth-protected-resource",
]);

/** The route pattern of a request the app never saw; never the raw path (vendor names, ids). */
function outsideRoute(path: string): string {
  if (OUTSIDE_ROUTES.has(path)) return path;
  if (path.startsWith("/.well-known/oauth-protected-resource/"))
    return "/.well-known/oauth-protected-resource/*";
  if (path === "/v1/mcp" || path.startsWith("/v1/mcp/")) return "/v1/mcp";
  if (/^\/v1\/[a-z0-9-]+\/mcp(?:\/|$)/.test(path)) return "/v1/:vendor/mcp";
  if (path === "/v1" || path.startsWith("/v1/")) return "/v1/*";
  return "(none)";
}

/** The request's `request` event; never throws (a log line must not turn an answer into a 1101). */
function logRequest(c: Context, status: number, durationMs: number): void {
  try {
    const caller = c.get("caller") as { userId?: unknown; teamId?: unknown } | undefined | null;
    const info = c.get("requestInfo") as RequestInfo | undefined;
    log({
      event: "request",
      requestId: requestIdOf(c),
      traceId: traceIdOf(c) ?? "",
      method: c.req.method,
      route: routeOf(c, status),
      status,
      durationMs,
      ...(typeof caller?.userId === "string" ? { userId: caller.userId } : {}),
      ...(typeof caller?.teamId === "string" ? { teamId: caller.teamId } : {}),
      ...info,
    });
  } catch {
    // the answer matters more than its log line
  }
}

/**
 * The route pattern that answered (`/v1/:vendor/mcp`), never the raw path (ids, names); a request
 * no route took (404) is `(none)`: only a middleware's wildcard matched it.
 */
function routeOf(c: Context, status: number): string {
  const path = routePath(c);
  return path === "" || (status === 404 && path.endsWith("*")) ? "(none)" : path;
}

/** The request id of this request, or a fresh one when the middleware did not run. */
export function requestIdOf(c: Context): string {
  const id: unknown = c.get("requestId");
  return typeof id === "string" ? id : crypto.randomUUID();
}

/** The request's W3C trace id ({@link requestId} starts or continues the trace), `undefined` without the middleware. */
export function traceIdOf(c: Context): string | undefined {
  const id: unknown = c.get("traceId");
  return typeof id === "string" ? id : undefined;
}

/** Logs an unexpected failure as one structured line. Never pass request headers or bodies here. */
export function logUnexpectedError(requestId: string, error: unknown, where: string, traceId?: string): void {
  log({
    event: "unexpected_error",
    requestId,
    ...(traceId === undefined ? {} : { traceId }),
    where,
    error: errorText(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
}

/**
 * Logs a typed server-side failure (a 5xx `GatewayError`: storage down, invalid configuration)
 * as one structured line: its code and message, and its cause's text, but no stack, since
 * the failure was foreseen and the stack says nothing an operator can act on.
 */
export function logGatewayError(
  requestId: string,
  error: GatewayError,
  where: string,
  traceId?: string,
): void {
  log({
    event: "gateway_error",
    requestId,
    ...(traceId === undefined ? {} : { traceId }),
    where,
    code: error.code,
    status: error.status,
    error: error.message,
    ...(error.cause instanceof Error ? { cause: errorText(error.cause) } : {}),
  });
}

/** The JSON 500 for an unexpected failure: the message never reveals internals. */
function internalErrorResponse(requestId: string, traceId?: string): Response {
  return new GatewayError(
    "internal_error",
    "The gateway hit an unexpected error. Quote the request id when reporting it.",
  ).getResponse(requestId, traceId);
}

/** Error statuses that hono's own middleware may throw as `HTTPException`. */
const HTTP_STATUS_CODES: Partial<Record<number, GatewayErrorCode>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  406: "not_acceptable",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

function isHttpException(error: unknown): error is Error & { status: number; getResponse(): Response } {
  return (
    error instanceof Error &&
    typeof (error as { status?: unknown }).status === "number" &&
    typeof (error as { getResponse?: unknown }).getResponse === "function"
  );
}

/**
 * hono `onError` handler: typed errors become their JSON answer; anything
 * else is logged with the request id and becomes a JSON 500.
 */
export function handleError(error: Error, c: Context): Response {
  const id = requestIdOf(c);
  const traceId = traceIdOf(c);
  try {
    if (error instanceof GatewayError) {
      if (error.status >= 500) logGatewayError(id, error, `${c.req.method} ${c.req.path}`, traceId);
      return error.getResponse(id, traceId);
    }
    // hono middleware (basic auth, body limit, …) throws HTTPException; keep its status, answer JSON.
    if (isHttpException(error)) {
      const code = HTTP_STATUS_CODES[error.status];
      if (code !== undefined) {
        const upstream = error.getResponse();
        const headers: Record<string, string> = {};
        for (const name of ["allow", "www-authenticate", "retry-after"]) {
          const value = upstream.headers.get(name);
          if (value !== null) headers[name] = value;
        }
        return new GatewayError(code, error.message || code.replaceAll("_", " "), {
          status: error.status,
          headers,
        }).getResponse(id, traceId);
      }
    }
    logUnexpectedError(id, error, `${c.req.method} ${c.req.path}`, traceId);
    return internalErrorResponse(id, traceId);
  } catch (handlerError) {
    // The handler itself must never throw: that would be an HTML 1101 page.
    logUnexpectedError(id, handlerError, "handleError", traceId);
    return internalErrorResponse(id, traceId);
  }
}

/** hono `notFound` handler: JSON 404 for every unknown path. */
export function handleNotFound(c: Context): Response {
  return new GatewayError("not_found", `No route for ${c.req.method} ${c.req.path}`).getResponse(
    requestIdOf(c),
    traceIdOf(c),
  );
}

/**
 * Handler for a known path hit with an unsupported method: JSON 405 with `Allow`.
 * Register it with `app.all(path, …)` after the path's real routes.
 */
export function methodNotAllowed(allowed: readonly string[]): (c: Context) => never {
  const allow = allowed.join(", ");
  return (c) => {
    throw new GatewayError("method_not_allowed", `${c.req.method} is not allowed here; use ${allow}`, {
      headers: { allow },
      details: { allowed: [...allowed] },
    });
  };
}

/**
 * Last resort for the Worker's `fetch` entry: a JSON 500 that needs nothing
 * but the error. Used only when the app itself threw past its own handlers.
 */
export function lastResortResponse(error: unknown): Response {
  const id = crypto.randomUUID();
  try {
    logUnexpectedError(id, error, "worker fetch");
  } catch {
    // logging must not turn a JSON 500 into an HTML 1101
  }
  return internalErrorResponse(id);
}
