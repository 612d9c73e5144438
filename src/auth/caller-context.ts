/**
 * Hands the authenticated {@link Caller} from the resource server to the hono
 * app as the context variable `caller`.
 *
 * The resource server calls the app with an execution context whose `props`
 * carry the caller (the Workers way of passing what authentication found to a
 * handler: `ctx.props`, which no client can set); the middleware reads it from
 * hono's `c.executionCtx`. A request that reaches a `/v1/` route without one
 * while auth is on is refused: routing is the first defense, this is the second.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { GatewayError } from "../errors.ts";
import type { Caller } from "./caller.ts";
import { loadAuthConfig } from "./config.ts";

/** The `props` the resource server hands the app: who is calling. */
export interface AuthenticatedProps {
  readonly caller: Caller;
}

/**
 * `ctx` with other `props`: the same request's context (its `waitUntil` and the rest go to
 * `ctx`), for handing to a handler that reads what was established about the request.
 */
export function contextWithProps<P>(ctx: ExecutionContext, props: P): ExecutionContext<P> {
  return {
    props,
    waitUntil: (promise) => ctx.waitUntil(promise),
    passThroughOnException: () => ctx.passThroughOnException(),
    get exports() {
      return ctx.exports;
    },
    get cache() {
      return ctx.cache;
    },
    get access() {
      return ctx.access;
    },
    get tracing() {
      return ctx.tracing;
    },
    mapVirtualHost: (fetcher, port) => ctx.mapVirtualHost(fetcher, port),
    abort: (reason) => ctx.abort(reason),
  };
}

function callerOf(c: Context): Caller | undefined {
  let props: unknown;
  try {
    props = c.executionCtx.props;
  } catch {
    return undefined; // app.fetch without an execution context: nobody authenticated it
  }
  const caller = (props as Partial<AuthenticatedProps> | undefined)?.caller;
  return caller === undefined ? undefined : caller;
}

/** hono variables set by {@link callerMiddleware}. `undefined` means auth is off. */
export type CallerVariables = { caller: Caller | undefined };

/**
 * Middleware factory: sets `c.var.caller`. Mount it on the protected routes
 * (`/v1/*`). With auth on, a request without an authenticated caller gets 401.
 */
export function callerMiddleware(): MiddlewareHandler<{ Bindings: Env; Variables: CallerVariables }> {
  return async (c, next) => {
    const caller = callerOf(c);
    if (caller === undefined && loadAuthConfig(c.env).required) {
      throw new GatewayError("unauthorized", "This endpoint needs an OAuth access token.");
    }
    c.set("caller", caller);
    await next();
  };
}
