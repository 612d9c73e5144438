/**
 * `Origin` validation for the MCP endpoints (DNS rebinding and cross-site
 * request protection; MUST since MCP 2025-11-25).
 *
 * - No `Origin` header: allowed (non-browser clients do not send one).
 * - An origin listed in `ALLOWED_ORIGINS` (comma-separated origins, e.g.
 *   `https://claude.ai,https://inspector.example.com`): allowed.
 * - A loopback origin (`localhost`, `127.0.0.0/8`, `[::1]`) while the request
 *   itself came to a loopback host: allowed, so local tools work against
 *   `wrangler dev` without configuration.
 * - Anything else, including `null` and unparsable values: 403.
 *
 * The request's own host is deliberately NOT trusted as an allowed origin:
 * under DNS rebinding the attacker's page and the Host header share the
 * attacker's name.
 *
 * @module
 */
import { allowedOrigins, type EnvVars, serializedOrigin } from "../config.ts";
import { GatewayError } from "../errors.ts";

/**
 * `localhost`, `*.localhost` (browsers resolve it to loopback), `127.0.0.0/8` and `[::1]`, any
 * case: both ends of a local browser-to-gateway request. Wider than the config's
 * `plainHttpAllowedHost`, which decides where plain http is tolerated.
 */
export function resolvesToLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/** Whether a request with this `Origin` header value may use the MCP endpoints. */
export function isOriginAllowed(origin: string, request: Request, env: EnvVars): boolean {
  const serialized = serializedOrigin(origin, true);
  if (serialized === undefined) return false;
  if (allowedOrigins(env).has(serialized)) return true;
  return (
    resolvesToLoopback(new URL(serialized).hostname) && resolvesToLoopback(new URL(request.url).hostname)
  );
}

/** Throws 403 `origin_not_allowed` when the request carries an Origin this endpoint must refuse. */
export function assertOriginAllowed(request: Request, env: EnvVars): void {
  const origin = request.headers.get("origin");
  if (origin === null || isOriginAllowed(origin, request, env)) return;
  throw new GatewayError("origin_not_allowed", `Origin ${JSON.stringify(origin)} is not allowed`, {
    details: { hint: "Add the origin to ALLOWED_ORIGINS to allow browser clients from it." },
  });
}
