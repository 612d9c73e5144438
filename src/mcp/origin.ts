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
import { GatewayError } from "../errors.ts";

let parsedFor: string | undefined;
let parsedOrigins: ReadonlySet<string> = new Set();

/** The configured origins as a set of serialized origins (`scheme://host[:port]`). Cached per value. */
export function allowedOrigins(env: object): ReadonlySet<string> {
  const raw = (env as Record<string, unknown>).ALLOWED_ORIGINS;
  const value = typeof raw === "string" ? raw : "";
  if (value === parsedFor) return parsedOrigins;
  const origins = new Set<string>();
  for (const entry of value.split(",")) {
    const trimmed = entry.trim();
    if (trimmed === "") continue;
    const origin = serializedOrigin(trimmed, true);
    if (origin === undefined) {
      throw new GatewayError(
        "invalid_configuration",
        `ALLOWED_ORIGINS: "${trimmed}" is not an origin; use scheme://host[:port], e.g. https://claude.ai`,
      );
    }
    origins.add(origin);
  }
  parsedFor = value;
  parsedOrigins = origins;
  return origins;
}

/** `scheme://host[:port]` of an http(s) URL; with `bare`, only when the value has nothing else (no path, query, user). */
function serializedOrigin(value: string, bare = false): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (bare && (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== ""))
    return undefined;
  return url.origin;
}

/** `localhost`, `*.localhost`, `127.0.0.0/8` and `[::1]`. */
export function isLoopbackHostname(hostname: string): boolean {
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
export function isOriginAllowed(origin: string, request: Request, env: object): boolean {
  const serialized = serializedOrigin(origin, true);
  if (serialized === undefined) return false;
  if (allowedOrigins(env).has(serialized)) return true;
  return (
    isLoopbackHostname(new URL(serialized).hostname) && isLoopbackHostname(new URL(request.url).hostname)
  );
}

/** Throws 403 `origin_not_allowed` when the request carries an Origin this endpoint must refuse. */
export function assertOriginAllowed(request: Request, env: object): void {
  const origin = request.headers.get("origin");
  if (origin === null || isOriginAllowed(origin, request, env)) return;
  throw new GatewayError("origin_not_allowed", `Origin ${JSON.stringify(origin)} is not allowed`, {
    details: { hint: "Add the origin to ALLOWED_ORIGINS to allow browser clients from it." },
  });
}
