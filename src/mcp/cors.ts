/**
 * CORS for browser MCP clients (the MCP Inspector's web UI, in-browser agents) on
 * `/v1/*` when the gateway answers there itself, that is with client auth off
 * (`GATEWAY_AUTH=none`). With auth on, workers-oauth-provider answers preflights
 * and adds CORS headers before the app runs; this middleware sends the same set,
 * so a browser client sees one behaviour in both modes.
 *
 * Only origins the endpoint accepts (`ALLOWED_ORIGINS`, or loopback on a loopback
 * gateway; see `origin.ts`) get CORS headers. A preflight from any other origin is
 * the endpoint's JSON 403 `origin_not_allowed`, so the browser stops there.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { isOriginAllowed } from "./origin.ts";

/** How long a browser may reuse a preflight answer (the library's value). */
const PREFLIGHT_MAX_AGE_SECONDS = 86_400;

/** Response headers a browser client must read: auth challenges, backoff, the MCP transport's own, our request id. */
const EXPOSED_HEADERS = "WWW-Authenticate, Retry-After, Mcp-Session-Id, Mcp-Protocol-Version, X-Request-Id";

/** Middleware factory: preflights answered with 204, CORS headers on every answer to an allowed origin. */
export function mcpCors(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin === undefined || !isOriginAllowed(origin, c.req.raw, c.env)) return next();
    const preflight =
      c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    if (preflight) {
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Origin": origin,
          "Access-Control-Allow-Methods": "POST",
          // Bearer tokens and MCP's own headers (Mcp-Protocol-Version, Mcp-Method, Mcp-Name, …).
          "Access-Control-Allow-Headers": c.req.header("access-control-request-headers") ?? "",
          "Access-Control-Max-Age": String(PREFLIGHT_MAX_AGE_SECONDS),
          Vary: "Origin, Access-Control-Request-Headers",
        },
      });
    }
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    c.res.headers.append("Vary", "Origin");
  };
}
