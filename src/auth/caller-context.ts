/**
 * Hands the authenticated {@link Caller} from the resource server to the hono
 * app as the context variable `caller`.
 *
 * The resource server attaches the caller to the exact `Request` object it
 * passes to `app.fetch`; the middleware reads it back. A request that reaches
 * a `/v1/` route without one while auth is on is refused: routing is the
 * first defense, this is the second.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../errors.ts";
import type { Caller } from "./caller.ts";
import { loadAuthConfig } from "./config.ts";

const callers = new WeakMap<Request, Caller>();

/** Marks `request` as made by `caller` (resource-server side). */
export function attachCaller(request: Request, caller: Caller): void {
  callers.set(request, caller);
}

/** hono variables set by {@link callerMiddleware}. `undefined` means auth is off. */
export type CallerVariables = { caller: Caller | undefined };

/**
 * Middleware factory: sets `c.var.caller`. Mount it on the protected routes
 * (`/v1/*`). With auth on, a request without an authenticated caller gets 401.
 */
export function callerMiddleware(): MiddlewareHandler<{ Bindings: Env; Variables: CallerVariables }> {
  return async (c, next) => {
    const caller = callers.get(c.req.raw);
    if (caller === undefined && loadAuthConfig(c.env).required) {
      throw new GatewayError("unauthorized", "This endpoint needs an OAuth access token.");
    }
    c.set("caller", caller);
    await next();
  };
}
