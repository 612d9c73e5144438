/**
 * Sign-in through an external OpenID Connect provider: authorization code +
 * PKCE with oauth4webapi; the ID token's signature checked with jose against
 * the provider's JWKS (oauth4webapi checks the claims: iss, aud, exp, nonce).
 *
 * The `state` names a KV record encrypted under the state itself (KV holds
 * its hash) and is bound to the browser by a `__Host-` cookie, so a stolen
 * callback URL cannot be finished elsewhere (login CSRF).
 *
 * @module
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import { plainHttpAllowedHost } from "../config.ts";
import { OIDC_STATE_PREFIX, OIDC_STATE_TTL_SECONDS } from "../storage/keys.ts";
import { type AuthConfig, OIDC_UNLISTED_PREFIX, type OidcConfig } from "./config.ts";
import { randomToken, sha256Hex, timingSafeEqualStrings } from "./crypto.ts";
import { pkceAuthorizationUrl, putStateRecord, takeStateRecord } from "./state-record.ts";

/** Binds an OIDC sign-in to the browser that started it. */
export const OIDC_BINDING_COOKIE = "__Host-gw-oidc";
const DISCOVERY_TIMEOUT_MS = 10_000;

export class OidcSignInError extends Error {
  override readonly name = "OidcSignInError";
  readonly code: "not_configured" | "invalid_state" | "provider_error" | "id_token_invalid" | "not_listed";
  constructor(code: OidcSignInError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface OidcStateRecord {
  verifier: string;
  nonce: string;
  returnTo: string;
  bindingHash: string;
  redirectUri: string;
}

function insecureOk(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === "http:" && plainHttpAllowedHost(parsed.hostname);
}

function httpOptions(url: string): { signal: AbortSignal; [oauth.allowInsecureRequests]?: boolean } {
  return {
    signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    ...(insecureOk(url) ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}

const discoveries = new Map<string, Promise<oauth.AuthorizationServer>>();
const keySets = new Map<string, JWTVerifyGetKey>();

async function discover(config: OidcConfig): Promise<oauth.AuthorizationServer> {
  let pending = discoveries.get(config.issuer);
  if (pending === undefined) {
    pending = (async () => {
      const issuer = new URL(config.issuer);
      const response = await oauth.discoveryRequest(issuer, {
        algorithm: "oidc",
        ...httpOptions(config.issuer),
      });
      return oauth.processDiscoveryResponse(issuer, response);
    })();
    discoveries.set(config.issuer, pending);
    // A failed discovery is retried on the next sign-in, not cached.
    pending.catch(() => discoveries.delete(config.issuer));
  }
  return pending;
}

function client(config: OidcConfig): oauth.Client {
  return { client_id: config.clientId };
}

function clientAuth(config: OidcConfig): oauth.ClientAuth {
  return config.clientSecret === undefined ? oauth.None() : oauth.ClientSecretBasic(config.clientSecret);
}

function oidcCallbackUrl(origin: string): string {
  return `${origin}/signin/oidc/callback`;
}

/** Starts the provider sign-in: returns where to send the browser and the binding cookie value. */
export async function startOidcSignIn(
  env: Env,
  config: AuthConfig,
  origin: string,
  returnTo: string,
): Promise<{ location: string; binding: string }> {
  const oidc = config.oidc;
  if (oidc === undefined)
    throw new OidcSignInError("not_configured", "OpenID Connect sign-in is not configured.");
  let as: oauth.AuthorizationServer;
  try {
    as = await discover(oidc);
  } catch (error) {
    throw new OidcSignInError("provider_error", "The sign-in provider could not be reached.", {
      cause: error,
    });
  }
  if (as.authorization_endpoint === undefined) {
    throw new OidcSignInError("provider_error", "The sign-in provider has no authorization endpoint.");
  }
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const verifier = oauth.generateRandomCodeVerifier();
  const binding = randomToken();
  const redirectUri = oidcCallbackUrl(origin);
  const record: OidcStateRecord = {
    verifier,
    nonce,
    returnTo,
    bindingHash: await sha256Hex(binding),
    redirectUri,
  };
  await putStateRecord(env.OAUTH_KV, OIDC_STATE_PREFIX, state, record, OIDC_STATE_TTL_SECONDS);

  const location = await pkceAuthorizationUrl(as.authorization_endpoint, {
    clientId: oidc.clientId,
    redirectUri,
    scope: oidc.scopes.join(" "),
    state,
    nonce,
    verifier,
  });
  return { location, binding };
}

/**
 * Finishes the provider sign-in at the callback: consumes the state, checks the
 * browser binding, exchanges the code, verifies the ID token, maps it to a user.
 */
export async function finishOidcSignIn(
  env: Env,
  config: AuthConfig,
  callbackUrl: URL,
  binding: string | undefined,
): Promise<{ userId: string; returnTo: string }> {
  const oidc = config.oidc;
  if (oidc === undefined)
    throw new OidcSignInError("not_configured", "OpenID Connect sign-in is not configured.");
  const state = callbackUrl.searchParams.get("state");
  if (state === null || state.length > 512)
    throw new OidcSignInError("invalid_state", "The sign-in callback has no state.");
  const taken = await takeStateRecord<OidcStateRecord>(env.OAUTH_KV, OIDC_STATE_PREFIX, state);
  if (taken === undefined)
    throw new OidcSignInError("invalid_state", "This sign-in was already used or has expired.");
  const record = taken.record;
  if (record === undefined) throw new OidcSignInError("invalid_state", "The sign-in state is not valid.");
  if (binding === undefined || !timingSafeEqualStrings(await sha256Hex(binding), record.bindingHash)) {
    throw new OidcSignInError("invalid_state", "This sign-in was started in another browser.");
  }

  const as = await discover(oidc);
  const params = new URLSearchParams(callbackUrl.search);
  let idToken: string;
  let claims: oauth.IDToken;
  try {
    const validated = oauth.validateAuthResponse(as, client(oidc), params, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client(oidc),
      clientAuth(oidc),
      validated,
      record.redirectUri,
      record.verifier,
      httpOptions(as.token_endpoint ?? oidc.issuer),
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client(oidc), response, {
      expectedNonce: record.nonce,
      requireIdToken: true,
    });
    const maybeClaims = oauth.getValidatedIdTokenClaims(result);
    if (result.id_token === undefined || maybeClaims === undefined) throw new Error("no ID token");
    idToken = result.id_token;
    claims = maybeClaims;
  } catch (error) {
    throw new OidcSignInError("provider_error", "The sign-in provider did not complete the sign-in.", {
      cause: error,
    });
  }

  // oauth4webapi checked the claims; the signature is checked here against the provider's keys.
  if (as.jwks_uri === undefined)
    throw new OidcSignInError("id_token_invalid", "The provider publishes no signing keys.");
  let keys = keySets.get(as.jwks_uri);
  if (keys === undefined) {
    keys = createRemoteJWKSet(new URL(as.jwks_uri));
    keySets.set(as.jwks_uri, keys);
  }
  try {
    const { payload } = await jwtVerify(idToken, keys, { issuer: as.issuer, audience: oidc.clientId });
    if (payload.sub !== claims.sub || payload.nonce !== record.nonce) throw new Error("claims differ");
  } catch (error) {
    throw new OidcSignInError("id_token_invalid", "The ID token's signature is not valid.", { cause: error });
  }

  return { userId: await mapUser(config, oidc, claims), returnTo: record.returnTo };
}

/** The configured user an ID token belongs to: by subject, else by verified email; else unlisted (if allowed). */
async function mapUser(config: AuthConfig, oidc: OidcConfig, claims: oauth.IDToken): Promise<string> {
  for (const user of config.users.values()) {
    if (user.oidcSubject !== undefined && user.oidcSubject === claims.sub) return user.id;
  }
  const email = typeof claims.email === "string" ? claims.email.toLowerCase() : undefined;
  if (email !== undefined && claims.email_verified === true) {
    for (const user of config.users.values()) {
      if (user.email !== undefined && user.email.toLowerCase() === email) return user.id;
    }
  }
  if (oidc.allowUnlisted) {
    return `${OIDC_UNLISTED_PREFIX}${(await sha256Hex(`${claims.iss}|${claims.sub}`)).slice(0, 24)}`;
  }
  throw new OidcSignInError(
    "not_listed",
    "Your account is not on this gateway's user list. Ask the operator to add you.",
  );
}
