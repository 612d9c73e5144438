/**
 * One upstream attempt: sends a prepared request and follows redirects that
 * stay under the vendor's base URL itself. This is the unit the resilience
 * layer wraps (retries, circuit breaker, rate limit): one call here is one attempt.
 *
 * Redirects are never followed automatically: a `Location` on another origin,
 * or outside the base path on the same origin, would receive the credentials
 * attached to the request. A target is held to the first request's rule
 * (`isUnderBase`, after the URL parser has resolved `..` and `%2e%2e`; an
 * encoded slash stays inside its segment, as in a path parameter). A response
 * redirecting elsewhere is returned as is, and the executor reports it as not
 * followed. Cookies the upstream sets are never read or replayed.
 *
 * @module
 */
import { isUnderBase } from "../base-url.ts";
import { refusalOr } from "../resilience/retry.ts";
import type { PreparedRequest } from "./request.ts";

/** Redirects followed per attempt before giving up (browsers allow 20; APIs need one or two). */
const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface SendOptions {
  fetch: typeof fetch;
  /** Aborts the attempt, body reading included (the tool call's deadline). */
  signal: AbortSignal;
  /** The vendor's base URL: redirects are followed only below it. */
  base: URL;
  /** Rewrites what a failed fetch threw before it is rethrown (the executor scrubs credentials from its text). */
  onError?: (error: unknown) => unknown;
}

/**
 * Sends `req`, following at most `MAX_REDIRECTS` redirects that stay under `base`. A request the
 * runtime refuses to build rejects with the resilience layer's `RequestNotSent` (`refusalOr`),
 * not as a network failure.
 */
export async function sendUpstream(
  req: PreparedRequest,
  { fetch: fetchImpl, signal, base, onError }: SendOptions,
): Promise<Response> {
  let url = req.url;
  let method: string = req.method;
  let body = req.body;
  // Copied only when a redirect rewrites it: the prepared request is re-sent on retries.
  let headers = req.headers;
  for (let hop = 0; ; hop++) {
    const init: RequestInit = { method, headers, body, redirect: "manual", signal };
    let response: Response;
    try {
      response = await fetchImpl(url.href, init);
    } catch (error) {
      const thrown = refusalOr(error, url.href, init);
      throw onError === undefined ? thrown : onError(thrown);
    }
    if (!REDIRECT_STATUSES.has(response.status)) return response;
    const location = response.headers.get("Location");
    if (location === null || hop >= MAX_REDIRECTS) return response;
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return response;
    }
    if (!isUnderBase(next, base)) return response;
    // Free the connection (Workers allow 6 at a time); a failure to cancel changes nothing here.
    await response.body?.cancel().catch(() => {});
    // Fetch-standard method rewriting: 303 always becomes GET; 301/302 turn a POST into GET.
    if (
      (response.status === 303 && method !== "HEAD") ||
      ((response.status === 301 || response.status === 302) && method === "POST")
    ) {
      method = "GET";
      body = undefined;
      headers = new Headers(headers);
      headers.delete("Content-Type");
    }
    url = next;
  }
}
