/**
 * OAuth errors as their clients read them (RFC 6749 §5.2): `{"error", "error_description"}`
 * JSON, never cached. One error class, workers-oauth-provider's `OAuthError` (what the provider
 * itself throws and answers), and one builder for every answer the gateway writes on the OAuth
 * surface (`/authorize`, `/oauth/*`, `/.well-known/*`): its routes, the provider's bodiless
 * answers, a `GatewayError` reaching that surface, the misconfigured Worker.
 *
 * @module
 */
import { OAuthError } from "@cloudflare/workers-oauth-provider";
import type { GatewayError } from "../errors.ts";

export { OAuthError };

/** The RFC 6749 answer to `error`, with its status and headers. */
export function oauthErrorResponse(error: OAuthError): Response {
  const headers = new Headers(error.headers);
  headers.delete("content-length");
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify({ error: error.code, error_description: error.description }), {
    status: error.statusCode,
    headers,
  });
}

/** Shorthand for {@link oauthErrorResponse} of a new `OAuthError`. */
export function oauthError(
  status: number,
  code: string,
  description: string,
  headers?: Record<string, string>,
): Response {
  return oauthErrorResponse(
    new OAuthError(code, { description, statusCode: status, ...(headers === undefined ? {} : { headers }) }),
  );
}

/**
 * A gateway error as OAuth clients read it: a 503 is `temporarily_unavailable`, any other 5xx
 * `server_error`, the rest `invalid_request`; the message is the description, status and
 * headers (`Retry-After`) are kept.
 */
export function oauthErrorFromGateway(error: GatewayError): OAuthError {
  const code =
    error.status === 503
      ? "temporarily_unavailable"
      : error.status >= 500
        ? "server_error"
        : "invalid_request";
  return new OAuthError(code, {
    description: error.message,
    statusCode: error.status,
    ...(error.headers === undefined ? {} : { headers: error.headers }),
  });
}
