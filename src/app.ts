import { Hono } from "hono";
import type { Caller } from "./auth/caller.ts";
import { callerMiddleware } from "./auth/caller-context.ts";
import { mountAuth } from "./auth/routes.ts";
import { clockFor } from "./clock.ts";
import {
  handleError,
  handleNotFound,
  methodNotAllowed,
  type RequestIdVariables,
  requestId,
} from "./errors.ts";
import { vendorsHealthHandler } from "./health/vendors.ts";
import { mcpCors } from "./mcp/cors.ts";
import { mcpEndpoint } from "./mcp/endpoint.ts";
import { auditExportHandler, auditListHandler } from "./status/audit-api.ts";
import { adminMetricsHandler, prometheusMetricsHandler } from "./status/metrics-routes.ts";
import { statusRoutes } from "./status/page.ts";
import { LIVE_SOURCES } from "./status/sources.ts";

export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    /** Set by the auth middleware (src/auth/); `undefined` when client auth is off. */
    caller?: Caller | undefined;
  };
};

/** Builds the gateway's routes. Every answer, including every error, is JSON. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Request id, trace and the `request` log event, timed on the injected clock (src/clock.ts).
  app.use(requestId((env) => clockFor(env as Env)));
  app.onError(handleError);
  app.notFound(handleNotFound);

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.all("/health", methodNotAllowed(["GET", "HEAD"]));
  // Per-vendor breaker, rate limiter and drift state (src/health/vendors.ts).
  app.get("/health/vendors", vendorsHealthHandler);
  app.all("/health/vendors", methodNotAllowed(["GET", "HEAD"]));

  // The operator status page (src/status/page.ts), over the metrics store and the quota guards.
  app.route("/", statusRoutes(LIVE_SOURCES));

  // Audit log API (src/status/audit-api.ts, README.md#audit-log) (#14).
  app.get("/admin/audit", auditListHandler);
  app.all("/admin/audit", methodNotAllowed(["GET", "HEAD"]));
  app.get("/admin/audit/export", auditExportHandler);
  app.all("/admin/audit/export", methodNotAllowed(["GET", "HEAD"]));

  // Operator metrics (#14, src/status/metrics-routes.ts): JSON and Prometheus text.
  app.get("/admin/metrics", adminMetricsHandler);
  app.all("/admin/metrics", methodNotAllowed(["GET", "HEAD"]));
  app.get("/metrics", prometheusMetricsHandler);
  app.all("/metrics", methodNotAllowed(["GET", "HEAD"]));

  // Sign-in, consent, credentials pages, vendor OAuth callbacks; JSON 404s under /oauth/ and /.well-known/ (src/auth/routes.ts).
  mountAuth(app);

  // MCP streamable HTTP (src/mcp/endpoint.ts): every method lands here so GET/DELETE get a JSON 405.
  // `caller` comes from the OAuth resource server (src/auth/oauth-server.ts) when client auth is on.
  // Browser clients with client auth off (with auth on, the OAuth provider answers CORS first).
  app.use("/v1/*", mcpCors());
  app.use("/v1/*", callerMiddleware());
  const mcp = mcpEndpoint();
  app.all("/v1/mcp", mcp);
  app.all("/v1/:vendor/mcp", mcp);
  return app;
}
