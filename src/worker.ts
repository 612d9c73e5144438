/**
 * Worker entry: routes live in `app.ts`; Durable Object classes are exported here
 * so wrangler can bind them.
 */
import { createApp } from "./app.ts";
import { oauthErrorFromGateway, oauthErrorResponse } from "./auth/oauth-error.ts";
import { createAuthGateway, isOAuthSurface } from "./auth/oauth-server.ts";
import { openApiVendorNames } from "./bundle/registry.ts";
import { clockFor } from "./clock.ts";
import { type GatewayError, lastResortResponse, logOutside, requestAnsweredOutsideApp } from "./errors.ts";
import { checkConfiguration } from "./health/configuration.ts";
import { probeVendors } from "./health/probe.ts";
import { errorText, log } from "./log.ts";

export { SignInGuard } from "./auth/signin-guard.ts";
export { AuditLog } from "./ops/audit-log.ts";
export { VendorMetrics } from "./ops/vendor-metrics.ts";
export { QuotaGuard } from "./resilience/quota-guard.ts";
export { VendorGuard } from "./resilience/vendor-guard.ts";

const app = createApp();
// With client auth on (GATEWAY_AUTH unset or "oauth"), OAuth protocol endpoints and /v1/ MCP endpoints
// go through workers-oauth-provider first; everything else, and every request when GATEWAY_AUTH=none, to the app.
const gateway = createAuthGateway({ fetch: app.fetch });

/**
 * The answer of every request while the configuration is invalid: `/health` says so with a 503
 * (`{"status":"misconfigured","error":{…}}`, so monitors alert); the OAuth endpoints answer the
 * RFC 6749 shape their clients parse (`server_error`, the message as `error_description`); every
 * other route answers the error itself (500 `invalid_configuration`, `details.setting` naming it).
 */
function misconfiguredResponse(request: Request, error: GatewayError): Response {
  const path = new URL(request.url).pathname;
  if (isOAuthSurface(path)) {
    return requestAnsweredOutsideApp(request, oauthErrorResponse(oauthErrorFromGateway(error)), 0);
  }
  const requestId = crypto.randomUUID();
  const answer = error.getResponse(requestId);
  logOutside(request, path === "/health" ? 503 : answer.status, 0, requestId);
  if (path !== "/health") return answer;
  return new Response(JSON.stringify({ status: "misconfigured", ...error.getBody(requestId) }), {
    status: 503,
    headers: answer.headers,
  });
}

export default {
  // The app answers its own errors as JSON; this catch is for anything that escapes it,
  // which Cloudflare would otherwise turn into an HTML 1101 page.
  async fetch(request, env, ctx) {
    try {
      // A bad setting fails every route with the same JSON error naming it (and /health with a 503),
      // rather than whichever route happens to read it first.
      const { error } = checkConfiguration(env, openApiVendorNames);
      if (error !== undefined) return misconfiguredResponse(request, error);
      const clock = clockFor(env);
      const started = clock.now();
      // Answers of the OAuth library (the app logs its own) get their `request` event here.
      const response = await gateway.fetch(request, env, ctx);
      return requestAnsweredOutsideApp(request, response, clock.now() - started);
    } catch (error) {
      return lastResortResponse(error);
    }
  },
  // Cron trigger (wrangler.toml [triggers]): probes vendors that name a healthTool (src/health/probe.ts).
  async scheduled(_controller, env, ctx) {
    try {
      await probeVendors(env, (p) => ctx.waitUntil(p));
    } catch (error) {
      log({ event: "health_probe_failed", error: errorText(error) });
    }
  },
} satisfies ExportedHandler<Env>;
