/**
 * MCP client authorization: `GET /authorize` checks the request and the sign-in and shows the
 * consent page; `POST /authorize` grants or denies. Every error is RFC 6749 JSON (or the
 * library's redirect to the client).
 *
 * @module
 */

import {
  AuthorizationError,
  authorizationErrorRedirect,
  CimdFetchError,
} from "@cloudflare/workers-oauth-provider";
import type { Hono } from "hono";
import { recordAuditFrom } from "../../audit-events.ts";
import { type CallerProps, SCOPE_READ, SCOPE_WRITE } from "../caller.ts";
import { isKvUnavailable, type KvUnavailableError } from "../kv-guard.ts";
import { oauthError, oauthErrorFromGateway, oauthErrorResponse } from "../oauth-error.ts";
import {
  AUTHORIZE_PATH,
  authorizationServerFor,
  canonicalOrigin,
  REQUIRED_SCOPES,
  SCOPES_SUPPORTED,
} from "../oauth-server.ts";
import { consentPage, pageHeaders } from "../pages.ts";
import { checkCsrf } from "../session.ts";
import { type AuthContext, authConfig, authOff, formOf, type Handler, redirect, signedIn } from "./shared.ts";

const SCOPE_DESCRIPTIONS: Record<string, string> = {
  [SCOPE_READ]: "list the tools of the APIs you can use and call the ones that only read",
  [SCOPE_WRITE]: "call tools that create, change or delete data",
  offline_access: "stay connected without signing in again (refresh tokens)",
};

/** KV is down, on a route whose clients read RFC 6749 errors (`/authorize`, `/oauth/*`). */
function storageUnavailable(error: KvUnavailableError): Response {
  return oauthErrorResponse(oauthErrorFromGateway(error));
}

/** The request as the provider must see it: the canonical origin, no body (already read). */
function canonicalRequest(c: AuthContext, origin: string): Request {
  const url = new URL(c.req.url);
  return new Request(`${origin}${url.pathname}${url.search}`, {
    method: c.req.method,
    headers: c.req.raw.headers,
  });
}

/** `/authorize`: KV down answers the RFC 6749 JSON its clients read. */
function oauthSurface(handler: Handler): Handler {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (isKvUnavailable(error)) return storageUnavailable(error);
      throw error;
    }
  };
}

function authorizationErrorResponse(error: unknown): Response {
  if (isKvUnavailable(error)) return storageUnavailable(error);
  if (error instanceof AuthorizationError) {
    if (error.redirectTo !== undefined) return redirect(error.redirectTo, undefined, 302);
    return oauthError(400, error.code, error.description);
  }
  if (error instanceof CimdFetchError) {
    return oauthError(
      400,
      "invalid_client",
      "The client's metadata document could not be fetched or is invalid.",
    );
  }
  throw error;
}

/** Registers `GET/POST /authorize` on the auth app. */
export function authorizeRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    AUTHORIZE_PATH,
    oauthSurface(async (c) => {
      const config = authConfig(c);
      if (config === undefined) return authOff();
      const env = c.env;
      const origin = canonicalOrigin(config, c.req.raw);
      const oauthApi = authorizationServerFor(origin).getOAuthApi(env);
      const request = canonicalRequest(c, origin);
      try {
        const authRequest = await oauthApi.parseAuthRequest(request);
        // OAuth 2.1: PKCE for every client, S256 only (the library already refuses `plain`).
        if (authRequest.codeChallenge === undefined || authRequest.codeChallengeMethod !== "S256") {
          return redirect(
            authorizationErrorRedirect(
              authRequest,
              "invalid_request",
              "PKCE with code_challenge_method=S256 is required",
            ),
            undefined,
            302,
          );
        }
        const who = await signedIn(c, config);
        if (who === undefined) {
          const url = new URL(c.req.url);
          return redirect(`/signin?return=${encodeURIComponent(`${url.pathname}${url.search}`)}`);
        }
        const details = await oauthApi.describeConsent(authRequest);
        const consent = await oauthApi.beginConsent(authRequest);
        const requested = authRequest.scope.filter((scope) => SCOPES_SUPPORTED.includes(scope));
        const html = consentPage({
          details,
          handle: consent.handle,
          csrf: who.session.csrf,
          userName: who.user.name,
          scopes: requested.length > 0 ? requested : REQUIRED_SCOPES,
          scopeDescriptions: SCOPE_DESCRIPTIONS,
        });
        // The library's headers carry the browser-binding cookie and frame-ancestors 'none'; the
        // form's POST redirects to the client's redirect URI, which `form-action` must allow.
        return new Response(html, { headers: pageHeaders(consent.headers, [authRequest.redirectUri]) });
      } catch (error) {
        return authorizationErrorResponse(error);
      }
    }),
  );

  app.post(
    AUTHORIZE_PATH,
    oauthSurface(async (c) => {
      const config = authConfig(c);
      if (config === undefined) return authOff();
      const env = c.env;
      const who = await signedIn(c, config);
      if (who === undefined)
        return oauthError(401, "access_denied", "Sign in first: your session has ended.");
      const form = await formOf(c);
      if (!checkCsrf(who.session, form.get("csrf"))) {
        return oauthError(403, "access_denied", "The consent form's CSRF token does not match your session.");
      }
      const handle = form.get("handle");
      if (typeof handle !== "string")
        return oauthError(400, "invalid_request", "The consent form has no handle.");
      const origin = canonicalOrigin(config, c.req.raw);
      const oauthApi = authorizationServerFor(origin).getOAuthApi(env);
      const request = canonicalRequest(c, origin);
      try {
        if (form.get("decision") !== "approve") {
          const denied = await oauthApi.denyConsent(request, handle);
          return new Response(null, { status: 302, headers: denied.headers });
        }
        const scope = form
          .getAll("scope")
          .map(String)
          .filter((value) => SCOPES_SUPPORTED.includes(value));
        const approved = await oauthApi.approveConsent(request, handle, { scope });
        const props: CallerProps = { userId: who.user.id, name: who.user.name };
        const { redirectTo } = await oauthApi.completeAuthorization({
          request: approved.request,
          userId: who.user.id,
          metadata: { via: who.session.via },
          scope: approved.request.scope,
          props,
        });
        recordAuditFrom(c, {
          type: "consent_granted",
          outcome: "success",
          userId: who.user.id,
          teamId: who.user.teamId,
          clientId: approved.request.clientId,
          detail: `scopes: ${approved.request.scope.join(" ")}`,
        });
        approved.headers.set("location", redirectTo);
        return new Response(null, { status: 302, headers: approved.headers });
      } catch (error) {
        return authorizationErrorResponse(error);
      }
    }),
  );
}
