/**
 * The browser-facing auth routes, mounted into the app with {@link mountAuth}:
 *
 * | route | what |
 * |---|---|
 * | `GET/POST /authorize` | MCP client authorization: sign-in check, consent page, grant |
 * | `GET/POST /signin`, `GET /signin/oidc`, `GET /signin/oidc/callback`, `POST /signout` | sign-in |
 * | `GET /credentials` | the signed-in user's vendors, their state, forms to fix them |
 * | `POST /credentials/<vendor>/{secret,connect,disconnect}` | store / connect / remove (force re-authorization) |
 * | `POST /credentials/clients/<grantId>/revoke` | revoke an MCP client's grant |
 * | `GET /oauth/vendors/<vendor>/callback` | vendor OAuth callback |
 * | any other `/oauth/*`, `/.well-known/*` | JSON 404 in the RFC 6749 error shape |
 *
 * Pages are HTML; every error on `/authorize`, `/oauth/*` and `/.well-known/*` is
 * JSON (`{"error","error_description"}`), as OAuth clients expect.
 *
 * @module
 */
import {
  AuthorizationError,
  authorizationErrorRedirect,
  CimdFetchError,
} from "@cloudflare/workers-oauth-provider";
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { allBundles, getBundle } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { GatewayError } from "../errors.ts";
import { errorText, log } from "../log.ts";
import { grantKey, OIDC_STATE_TTL_SECONDS } from "../storage/keys.ts";
import { computeAvailability, sharedCredentialPresent } from "./availability.ts";
import type { CallerProps } from "./caller.ts";
import { type AuthConfig, loadAuthConfig, type ResolvedUser, resolveUser, teamAllowlist } from "./config.ts";
import {
  type CredentialOwner,
  deleteCredential,
  listCredentials,
  putCredential,
  type StoredSecret,
} from "./credential-store.ts";
import { credentialCipher, randomToken, sha256B64 } from "./crypto.ts";
import { isKvUnavailable, type KvUnavailableError } from "./kv-guard.ts";
import {
  AUTHORIZE_PATH,
  authServersFor,
  canonicalOrigin,
  REQUIRED_SCOPES,
  SCOPE_READ,
  SCOPE_WRITE,
  SCOPES_SUPPORTED,
} from "./oauth-server.ts";
import { finishOidcSignIn, OIDC_BINDING_COOKIE, OidcSignInError, startOidcSignIn } from "./oidc.ts";
import {
  type ClientGrantRow,
  type CredentialRow,
  consentPage,
  credentialsPage,
  pageHeaders,
  signInPage,
} from "./pages.ts";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "./password.ts";
import { checkCsrf, createSession, destroySession, getSession, hostCookie, type Session } from "./session.ts";
import { reserveSignIn, type SignInRefusal } from "./signin-throttle.ts";
import { acceptsPersonalCredentials, vendorAuth, vendorOAuthConfig } from "./vendor-auth.ts";
import { finishVendorAuthorization, startVendorAuthorization, VendorOAuthError } from "./vendor-oauth.ts";

/** Binds the password form to the browser that loaded it (login CSRF). */
const SIGNIN_FORM_COOKIE = "__Host-gw-signin";
const SIGNIN_FORM_TTL_SECONDS = 600;
/** Retry-After when the sign-in guard cannot answer: a Durable Object restart takes seconds. */
const SIGNIN_UNAVAILABLE_RETRY_SECONDS = 30;
/** Longest secret a user can store: real API keys are far shorter; KV values could take more. */
const MAX_SECRET_CHARS = 8192;

const SCOPE_DESCRIPTIONS: Record<string, string> = {
  [SCOPE_READ]: "list the tools of the APIs you can use and call the ones that only read",
  [SCOPE_WRITE]: "call tools that create, change or delete data",
  offline_access: "stay connected without signing in again (refresh tokens)",
};

const NOTICES: Record<string, { kind: "ok" | "error"; text: string }> = {
  saved: { kind: "ok", text: "Saved." },
  removed: { kind: "ok", text: "Removed. The vendor needs a credential again before its tools work." },
  connected: { kind: "ok", text: "Connected." },
  revoked: { kind: "ok", text: "The client's access was revoked." },
  authorization_denied: { kind: "error", text: "The vendor did not authorize the connection." },
  invalid_state: { kind: "error", text: "That connection attempt expired or was already used. Start again." },
  session_mismatch: { kind: "error", text: "That connection attempt was started in another session." },
  token_request_failed: {
    kind: "error",
    text: "The vendor refused to issue a token. Try again or ask the operator.",
  },
  not_configured: { kind: "error", text: "The vendor's OAuth client is not configured on this gateway." },
};

type AuthContext = Context<{ Bindings: Env }>;

/** KV is down, on a route whose clients read RFC 6749 errors (`/authorize`, `/oauth/*`). */
function storageUnavailable(error: KvUnavailableError): Response {
  return oauthError(503, "temporarily_unavailable", error.message, error.headers);
}

/** RFC 6749-shaped JSON error. */
function oauthError(status: number, error: string, description: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json; charset=utf-8");
  h.set("cache-control", "no-store");
  return new Response(JSON.stringify({ error, error_description: description }), { status, headers: h });
}

function redirect(location: string, headers?: Headers, status = 303): Response {
  const h = headers ?? new Headers();
  h.set("location", location);
  h.set("cache-control", "no-store");
  return new Response(null, { status, headers: h });
}

/** The config when auth is on; `undefined` when it is off (routes answer 404). */
function authConfig(c: AuthContext): AuthConfig | undefined {
  const config = loadAuthConfig(c.env);
  return config.required ? config : undefined;
}

const authOff = () => oauthError(404, "not_found", "Client auth is off on this gateway (GATEWAY_AUTH=none).");

/** Only same-site paths we serve: no open redirect through `return`. */
function safeReturn(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 4096) return undefined;
  if (!value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return undefined;
  if (
    value === "/credentials" ||
    value.startsWith("/credentials?") ||
    value.startsWith(`${AUTHORIZE_PATH}?`)
  ) {
    return value;
  }
  return undefined;
}

/** The request as the provider must see it: the canonical origin, no body (already read). */
function canonicalRequest(c: AuthContext, origin: string): Request {
  const url = new URL(c.req.url);
  return new Request(`${origin}${url.pathname}${url.search}`, {
    method: c.req.method,
    headers: c.req.raw.headers,
  });
}

interface SignedIn {
  session: Session;
  user: ResolvedUser;
}

async function signedIn(c: AuthContext, config: AuthConfig): Promise<SignedIn | undefined> {
  const session = await getSession(c, c.env);
  if (session === undefined) return undefined;
  const user = resolveUser(config, session.userId);
  return user === undefined ? undefined : { session, user };
}

function wantsJson(c: AuthContext): boolean {
  return (c.req.header("accept") ?? "").includes("application/json");
}

async function formOf(c: AuthContext): Promise<FormData> {
  try {
    return await c.req.formData();
  } catch {
    throw new GatewayError("bad_request", "Expected a form submission.");
  }
}

// ---------------------------------------------------------------------------------------------
// Sign-in

async function renderSignIn(
  config: AuthConfig,
  returnTo: string,
  status = 200,
  error?: string,
): Promise<Response> {
  const binding = randomToken();
  const headers = pageHeaders();
  headers.append("set-cookie", hostCookie(SIGNIN_FORM_COOKIE, binding, SIGNIN_FORM_TTL_SECONDS));
  const html = signInPage({
    returnTo,
    formToken: await sha256B64(`signin:${binding}`),
    password: config.passwordSignIn,
    ...(config.oidc === undefined ? {} : { oidcName: config.oidc.displayName }),
    ...(error === undefined ? {} : { error }),
  });
  return new Response(html, { status, headers });
}

/** What a refused sign-in tells the user: why, and when (or how) to try again. */
function refusalText(refusal: SignInRefusal): string {
  const minutes = Math.ceil(refusal.retryAfterSeconds / 60);
  const wait = `Try again in ${minutes} minute${minutes === 1 ? "" : "s"}`;
  switch (refusal.reason) {
    case "address":
      return `Too many failed sign-ins from your network. ${wait}.`;
    case "consecutive":
      return `Password sign-in for this user is paused after too many failed attempts. ${wait}, or sign in from a browser that signed in as this user before.`;
    default:
      return `Too many failed sign-ins for this user. ${wait}, or sign in from a browser that signed in as this user before.`;
  }
}

type Handler = (c: AuthContext) => Promise<Response>;

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

/** The sign-in page answers its errors as pages, so KV down does too (503, `Retry-After`). */
function signInSurface(handler: Handler): Handler {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      const config = authConfig(c);
      if (!isKvUnavailable(error) || config === undefined) throw error;
      const page = await renderSignIn(config, "/credentials", 503, `${error.message}`);
      for (const [name, value] of Object.entries(error.headers ?? {})) page.headers.set(name, value);
      return page;
    }
  };
}

function signInRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/signin",
    signInSurface(async (c) => {
      const config = authConfig(c);
      if (config === undefined) return authOff();
      const returnTo = safeReturn(c.req.query("return")) ?? "/credentials";
      if ((await signedIn(c, config)) !== undefined) return redirect(returnTo);
      return renderSignIn(config, returnTo);
    }),
  );

  app.post(
    "/signin",
    signInSurface(async (c) => {
      const config = authConfig(c);
      if (config === undefined) return authOff();
      const env = c.env;
      const form = await formOf(c);
      const returnTo = safeReturn(form.get("return")) ?? "/credentials";
      const binding = getCookie(c, SIGNIN_FORM_COOKIE);
      const token = form.get("form_token");
      if (
        binding === undefined ||
        typeof token !== "string" ||
        token !== (await sha256B64(`signin:${binding}`))
      ) {
        return renderSignIn(config, returnTo, 403, "The sign-in form expired. Try again.");
      }
      const username = String(form.get("username") ?? "").trim();
      const password = String(form.get("password") ?? "");
      // Reserved before the password is checked, so concurrent guesses cannot all be checked.
      let attempt: Awaited<ReturnType<typeof reserveSignIn>>;
      try {
        attempt = await reserveSignIn(c, env, username);
      } catch (error) {
        // Fail closed: without the throttle no password is checked.
        log({ event: "sign_in_guard_unavailable", error: errorText(error) });
        const page = await renderSignIn(
          config,
          returnTo,
          503,
          "Sign-in is unavailable for a moment. Try again shortly.",
        );
        page.headers.set("retry-after", String(SIGNIN_UNAVAILABLE_RETRY_SECONDS));
        return page;
      }
      if (!attempt.allowed) {
        const page = await renderSignIn(config, returnTo, 429, refusalText(attempt));
        page.headers.set("retry-after", String(attempt.retryAfterSeconds));
        return page;
      }
      const user = config.users.get(username);
      // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
      if (user === undefined || user.passwordHash === undefined || !ok) {
        return renderSignIn(config, returnTo, 401, "Wrong user name or password.");
      }
      const headers = new Headers();
      headers.append("set-cookie", await attempt.succeeded());
      headers.append("set-cookie", await createSession(env, user.id, "password"));
      headers.append("set-cookie", hostCookie(SIGNIN_FORM_COOKIE, "", 0));
      return redirect(returnTo, headers);
    }),
  );

  app.get("/signin/oidc", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const returnTo = safeReturn(c.req.query("return")) ?? "/credentials";
    if (config.oidc === undefined)
      return renderSignIn(config, returnTo, 404, "Single sign-on is not configured.");
    try {
      const { location, binding } = await startOidcSignIn(
        c.env,
        config,
        canonicalOrigin(config, c.req.raw),
        returnTo,
      );
      const headers = new Headers();
      headers.append("set-cookie", hostCookie(OIDC_BINDING_COOKIE, binding, OIDC_STATE_TTL_SECONDS));
      return redirect(location, headers, 302);
    } catch (error) {
      if (error instanceof OidcSignInError) return renderSignIn(config, returnTo, 502, error.message);
      throw error;
    }
  });

  app.get("/signin/oidc/callback", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const env = c.env;
    try {
      const { userId, returnTo } = await finishOidcSignIn(
        env,
        config,
        new URL(c.req.url),
        getCookie(c, OIDC_BINDING_COOKIE),
      );
      const headers = new Headers();
      headers.append("set-cookie", await createSession(env, userId, "oidc"));
      headers.append("set-cookie", hostCookie(OIDC_BINDING_COOKIE, "", 0));
      return redirect(safeReturn(returnTo) ?? "/credentials", headers);
    } catch (error) {
      if (error instanceof OidcSignInError) {
        const status = error.code === "not_listed" ? 403 : 400;
        return renderSignIn(config, "/credentials", status, error.message);
      }
      throw error;
    }
  });

  app.post("/signout", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const env = c.env;
    const session = await getSession(c, env);
    const form = await formOf(c);
    if (session !== undefined && !checkCsrf(session, form.get("csrf"))) {
      throw new GatewayError("forbidden", "The form's CSRF token does not match your session.");
    }
    const headers = new Headers();
    headers.append("set-cookie", await destroySession(env, session));
    return redirect("/signin", headers);
  });
}

// ---------------------------------------------------------------------------------------------
// MCP client authorization (consent)

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

function authorizeRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    AUTHORIZE_PATH,
    oauthSurface(async (c) => {
      const config = authConfig(c);
      if (config === undefined) return authOff();
      const env = c.env;
      const origin = canonicalOrigin(config, c.req.raw);
      const oauthApi = authServersFor(origin).authorizationServer.getOAuthApi(env);
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
      const oauthApi = authServersFor(origin).authorizationServer.getOAuthApi(env);
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
        approved.headers.set("location", redirectTo);
        return new Response(null, { status: 302, headers: approved.headers });
      } catch (error) {
        return authorizationErrorResponse(error);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Credentials

function credentialsUrl(notice?: string, vendor?: string): string {
  const params = new URLSearchParams();
  if (notice !== undefined) params.set("notice", notice);
  if (vendor !== undefined) params.set("vendor", vendor);
  const query = params.size > 0 ? `?${params}` : "";
  return `/credentials${query}${vendor === undefined ? "" : `#vendor-${vendor}`}`;
}

async function renderCredentials(c: AuthContext, config: AuthConfig, who: SignedIn): Promise<Response> {
  const env = c.env;
  const origin = canonicalOrigin(config, c.req.raw);
  const allowlist = teamAllowlist(config, who.user.teamId);
  const personalStorage = credentialCipher(env) !== undefined;
  const [availability, mine, team] = await Promise.all([
    computeAvailability(env, who.user, allowlist, origin),
    personalStorage ? listCredentials(env, { kind: "user", id: who.user.id }) : new Map(),
    personalStorage && who.user.teamId !== undefined
      ? listCredentials(env, { kind: "team", id: who.user.teamId })
      : new Map(),
  ]);
  const rows: CredentialRow[] = [];
  /** Where "Connect" forms redirect (the vendors' authorization endpoints): `form-action` allows them. */
  const connectTargets: string[] = [];
  for (const bundle of allBundles()) {
    const info = vendorAuth(bundle);
    const vendorAvailability = availability.get(bundle.vendor);
    if (vendorAvailability === undefined) continue;
    const connectUrl = vendorOAuthConfig(env, bundle, "authorizationCode")?.authorizationUrl;
    rows.push({
      vendor: bundle.vendor,
      displayName: bundle.displayName,
      kind: info.kind,
      mode: info.mode,
      availability: vendorAvailability,
      mine: mine.get(bundle.vendor),
      team: team.get(bundle.vendor),
      sharedPresent: sharedCredentialPresent(env, bundle, info),
      allowed: vendorAvailability.reason !== "not_allowed",
      canConnect: connectUrl !== undefined,
      personal: acceptsPersonalCredentials(info),
    });
    if (connectUrl !== undefined) connectTargets.push(connectUrl);
  }
  const oauthApi = authServersFor(origin).authorizationServer.getOAuthApi(env);
  const grants: ClientGrantRow[] = [];
  const listed = await oauthApi.listUserGrants(who.user.id);
  for (const grant of listed.items) {
    const client = await oauthApi.lookupClient(grant.clientId).catch(() => null);
    grants.push({
      grantId: grant.id,
      clientName: client?.clientName ?? grant.clientId,
      scope: grant.scope,
      createdAt: grant.createdAt,
    });
  }
  const noticeCode = c.req.query("notice");
  // Own keys only: `?notice=constructor` must not find Object.prototype's.
  const notice =
    noticeCode !== undefined && Object.hasOwn(NOTICES, noticeCode) ? NOTICES[noticeCode] : undefined;
  const html = credentialsPage({
    userId: who.user.id,
    userName: who.user.name,
    ...(who.user.teamId === undefined ? {} : { teamId: who.user.teamId }),
    teamAdmin: who.user.role === "admin",
    csrf: who.session.csrf,
    rows,
    grants,
    ...(notice === undefined ? {} : { notice }),
    personalStorage,
  });
  return new Response(html, { headers: pageHeaders(undefined, connectTargets) });
}

interface CredentialsForm {
  env: Env;
  config: AuthConfig;
  who: SignedIn;
  form: FormData;
}

/** Checks of every form posted from the credentials page: auth on, a live session, its CSRF token. */
async function credentialsForm(c: AuthContext): Promise<CredentialsForm | Response> {
  const config = authConfig(c);
  if (config === undefined) return authOff();
  const env = c.env;
  const who = await signedIn(c, config);
  if (who === undefined) throw new GatewayError("unauthorized", "Sign in first: your session has ended.");
  const form = await formOf(c);
  if (!checkCsrf(who.session, form.get("csrf"))) {
    throw new GatewayError("forbidden", "The form's CSRF token does not match your session.");
  }
  return { env, config, who, form };
}

interface CredentialAction extends CredentialsForm {
  bundle: VendorBundle;
  owner: CredentialOwner;
}

/** Shared checks of every credential form: those of `credentialsForm`, then vendor, allowlist, owner role. */
async function credentialAction(c: AuthContext): Promise<CredentialAction | Response> {
  const checked = await credentialsForm(c);
  if (checked instanceof Response) return checked;
  const { config, who, form } = checked;
  const vendor = c.req.param("vendor") ?? "";
  const bundle = getBundle(vendor);
  if (bundle === undefined) throw new GatewayError("not_found", `Unknown vendor "${vendor}"`);
  const allowlist = teamAllowlist(config, who.user.teamId);
  if (allowlist?.vendors !== undefined && !allowlist.vendors.includes(vendor)) {
    throw new GatewayError("forbidden", `Your team may not use vendor "${vendor}"`);
  }
  const ownerKind = form.get("owner") === "team" ? "team" : "user";
  let owner: CredentialOwner;
  if (ownerKind === "team") {
    if (who.user.teamId === undefined || who.user.role !== "admin") {
      throw new GatewayError("forbidden", "Only a team admin manages the team's credentials.");
    }
    owner = { kind: "team", id: who.user.teamId };
  } else {
    owner = { kind: "user", id: who.user.id };
  }
  return { ...checked, bundle, owner };
}

function done(c: AuthContext, notice: string, vendor: string): Response {
  if (wantsJson(c)) return c.json({ ok: true, notice, vendor });
  return redirect(credentialsUrl(notice, vendor));
}

function credentialsRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get("/credentials", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const who = await signedIn(c, config);
    if (who === undefined) return redirect(`/signin?return=${encodeURIComponent("/credentials")}`);
    return renderCredentials(c, config, who);
  });

  app.post("/credentials/:vendor/secret", async (c) => {
    const action = await credentialAction(c);
    if (action instanceof Response) return action;
    const { env, bundle, owner, form, who } = action;
    const info = vendorAuth(bundle);
    if (!acceptsPersonalCredentials(info)) {
      throw new GatewayError("bad_request", `${bundle.displayName} uses the organisation's credential only.`);
    }
    const cipher = credentialCipher(env);
    if (cipher === undefined) {
      throw new GatewayError(
        "invalid_configuration",
        "Per-user credentials need CREDENTIALS_ENCRYPTION_KEY.",
      );
    }
    const value = String(form.get("secret") ?? "").trim();
    if (value === "" || value.length > MAX_SECRET_CHARS)
      throw new GatewayError("bad_request", "Enter the credential.");
    let secret: StoredSecret;
    switch (info.kind) {
      case "apiKey":
        secret = { type: "apiKey", value };
        break;
      case "bearer":
        secret = { type: "bearer", token: value };
        break;
      case "basic": {
        const username = String(form.get("username") ?? "").trim();
        if (username === "") throw new GatewayError("bad_request", "Enter the user name.");
        secret = { type: "basic", username, password: value };
        break;
      }
      default:
        throw new GatewayError(
          "bad_request",
          `${bundle.displayName} is connected with OAuth, not a typed credential.`,
        );
    }
    await putCredential(env, await cipher, owner, bundle.vendor, secret, {
      type: secret.type,
      status: "ok",
      updatedAt: Date.now(),
      by: who.user.id,
    });
    return done(c, "saved", bundle.vendor);
  });

  app.post("/credentials/:vendor/connect", async (c) => {
    const action = await credentialAction(c);
    if (action instanceof Response) return action;
    const { env, config, bundle, owner, who } = action;
    if (vendorAuth(bundle).kind !== "oauth2-code" || !acceptsPersonalCredentials(vendorAuth(bundle))) {
      throw new GatewayError("bad_request", `${bundle.displayName} is not connected with OAuth.`);
    }
    if (credentialCipher(env) === undefined) {
      throw new GatewayError(
        "invalid_configuration",
        "Per-user credentials need CREDENTIALS_ENCRYPTION_KEY.",
      );
    }
    try {
      const location = await startVendorAuthorization(
        env,
        bundle,
        owner,
        who.session.hash,
        who.user.id,
        canonicalOrigin(config, c.req.raw),
      );
      return redirect(location);
    } catch (error) {
      if (error instanceof VendorOAuthError) return redirect(credentialsUrl(error.code, bundle.vendor));
      throw error;
    }
  });

  app.post("/credentials/:vendor/disconnect", async (c) => {
    const action = await credentialAction(c);
    if (action instanceof Response) return action;
    await deleteCredential(action.env, action.owner, action.bundle.vendor);
    return done(c, "removed", action.bundle.vendor);
  });

  app.post("/credentials/clients/:grantId/revoke", async (c) => {
    const checked = await credentialsForm(c);
    if (checked instanceof Response) return checked;
    const { config, env, who } = checked;
    const grantId = c.req.param("grantId");
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(grantId)) throw new GatewayError("bad_request", "Bad grant id.");
    // The grant key includes the user id (library storage schema): another user's grant id is not found,
    // and saying so (not `ok`) tells a confused client that nothing was revoked.
    if ((await env.OAUTH_KV.get(grantKey(who.user.id, grantId))) === null) {
      throw new GatewayError("not_found", "You have no client grant with this id.");
    }
    const oauthApi = authServersFor(canonicalOrigin(config, c.req.raw)).authorizationServer.getOAuthApi(env);
    await oauthApi.revokeGrant(grantId, who.user.id);
    if (wantsJson(c)) return c.json({ ok: true, notice: "revoked" });
    return redirect(credentialsUrl("revoked"));
  });

  app.get("/oauth/vendors/:vendor/callback", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const env = c.env;
    const vendor = c.req.param("vendor");
    const bundle = getBundle(vendor);
    if (bundle === undefined) return oauthError(404, "not_found", `Unknown vendor "${vendor}"`);
    const who = await signedIn(c, config);
    if (who === undefined)
      return oauthError(401, "access_denied", "Sign in to the gateway first, then connect again.");
    const cipher = credentialCipher(env);
    if (cipher === undefined) {
      return oauthError(500, "server_error", "Per-user credentials need CREDENTIALS_ENCRYPTION_KEY.");
    }
    try {
      const owner = await finishVendorAuthorization(
        env,
        bundle,
        await cipher,
        new URL(c.req.url),
        who.session.hash,
      );
      if (
        owner.kind === "user"
          ? owner.id !== who.user.id
          : owner.id !== who.user.teamId || who.user.role !== "admin"
      ) {
        // Defense in depth: the session binding already makes this unreachable.
        await deleteCredential(env, owner, bundle.vendor);
        return redirect(credentialsUrl("session_mismatch", vendor));
      }
      return redirect(credentialsUrl("connected", vendor));
    } catch (error) {
      if (error instanceof VendorOAuthError) return redirect(credentialsUrl(error.code, vendor));
      throw error;
    }
  });
}

/** All auth routes as one hono app (mount with {@link mountAuth}). */
export function authRoutes(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  signInRoutes(app);
  authorizeRoutes(app);
  credentialsRoutes(app);
  // OAuth clients parse these prefixes' errors as RFC 6749 JSON, never HTML.
  app.all("/oauth/*", () => oauthError(404, "not_found", "No such OAuth endpoint."));
  app.all("/.well-known/*", () => oauthError(404, "not_found", "No such well-known document."));
  return app;
}

/** Mounts the auth routes into the gateway's app (call before the app's catch-all routes). */
export function mountAuth(app: { route(path: string, routes: Hono<{ Bindings: Env }>): unknown }): void {
  app.route("/", authRoutes());
}
