/**
 * Sign-in routes: `GET/POST /signin` (password, throttled), `GET /signin/oidc` and its
 * callback (single sign-on), `POST /signout`. Errors are pages, KV down included.
 *
 * @module
 */
import type { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { recordAuditFrom } from "../../audit-events.ts";
import { GatewayError } from "../../errors.ts";
import { errorText, log } from "../../log.ts";
import { OIDC_STATE_TTL_SECONDS } from "../../storage/keys.ts";
import { type AuthConfig, resolveUser } from "../config.ts";
import { randomToken, sha256B64 } from "../crypto.ts";
import { isKvUnavailable } from "../kv-guard.ts";
import { AUTHORIZE_PATH, canonicalOrigin } from "../oauth-server.ts";
import { finishOidcSignIn, OIDC_BINDING_COOKIE, OidcSignInError, startOidcSignIn } from "../oidc.ts";
import { pageHeaders, signInPage } from "../pages.ts";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "../password.ts";
import { checkCsrf, createSession, destroySession, getSession, hostCookie } from "../session.ts";
import { reserveSignIn, type SignInRefusal } from "../signin-throttle.ts";
import { authConfig, authOff, formOf, type Handler, redirect, signedIn } from "./shared.ts";

/** Binds the password form to the browser that loaded it (login CSRF). */
const SIGNIN_FORM_COOKIE = "__Host-gw-signin";
const SIGNIN_FORM_TTL_SECONDS = 600;
/** Retry-After when the sign-in guard cannot answer: a Durable Object restart takes seconds. */
const SIGNIN_UNAVAILABLE_RETRY_SECONDS = 30;

/** Only same-site paths we serve: no open redirect through `return`. */
function safeReturn(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 4096) return undefined;
  if (!value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return undefined;
  if (
    value === "/credentials" ||
    value.startsWith("/credentials?") ||
    value === "/status" ||
    value.startsWith("/status?") ||
    value.startsWith(`${AUTHORIZE_PATH}?`)
  ) {
    return value;
  }
  return undefined;
}

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

/** Registers the sign-in and sign-out routes on the auth app. */
export function signInRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/signin",
    signInSurface(async (c) => {
      const config = authConfig(c);
      if (config === undefined) return authOff();
      // `next`: what operator pages send (src/ops/access.ts); same checks as `return`.
      const returnTo = safeReturn(c.req.query("return") ?? c.req.query("next")) ?? "/credentials";
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
        // #14 audit: the typed name is never stored (it may be a password typed in the wrong field).
        const known = config.users.get(username);
        recordAuditFrom(c, {
          type: "sign_in",
          outcome: "denied",
          userId: known?.id,
          teamId: known?.team,
          detail: `password: throttled (${attempt.reason})`,
        });
        const page = await renderSignIn(config, returnTo, 429, refusalText(attempt));
        page.headers.set("retry-after", String(attempt.retryAfterSeconds));
        return page;
      }
      const user = config.users.get(username);
      // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
      if (user === undefined || user.passwordHash === undefined || !ok) {
        recordAuditFrom(c, {
          type: "sign_in",
          outcome: "failure",
          userId: user?.id,
          teamId: user?.team,
          detail: user === undefined ? "password: unknown user" : "password: wrong password",
        });
        return renderSignIn(config, returnTo, 401, "Wrong user name or password.");
      }
      const headers = new Headers();
      headers.append("set-cookie", await attempt.succeeded());
      headers.append("set-cookie", await createSession(env, user.id, "password"));
      headers.append("set-cookie", hostCookie(SIGNIN_FORM_COOKIE, "", 0));
      recordAuditFrom(c, {
        type: "sign_in",
        outcome: "success",
        userId: user.id,
        teamId: user.team,
        detail: "password",
      });
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
      const signedInUser = resolveUser(config, userId);
      recordAuditFrom(c, {
        type: "sign_in",
        outcome: "success",
        userId,
        teamId: signedInUser?.teamId,
        detail: "oidc",
      });
      return redirect(safeReturn(returnTo) ?? "/credentials", headers);
    } catch (error) {
      if (error instanceof OidcSignInError) {
        recordAuditFrom(c, { type: "sign_in", outcome: "failure", detail: `oidc: ${error.code}` });
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
