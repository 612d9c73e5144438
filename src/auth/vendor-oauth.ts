/**
 * OAuth 2.0 to vendors, with oauth4webapi:
 * - client credentials: one organisation token, cached (isolate memory, and KV
 *   encrypted when a key is configured) until shortly before it expires;
 * - authorization code + PKCE (S256) through the gateway's callback
 *   `/oauth/vendors/<vendor>/callback`, with a single-use `state` bound to the
 *   user's session; tokens stored encrypted per user or team;
 * - refresh before expiry; a refresh the vendor refuses marks the credential
 *   `needs_reauth` for that owner.
 *
 * @module
 */
import * as oauth from "oauth4webapi";
import type { VendorBundle } from "../bundle/types.ts";
import { type Clock, clockFor } from "../clock.ts";
import { type EnvVars, envString, plainHttpAllowedHost, vendorVarName } from "../config.ts";
import { errorText, log } from "../log.ts";
import { SecretScrubber } from "../redaction/scrub.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import {
  clientTokenKey,
  KV_MIN_TTL_SECONDS,
  TOKEN_REFRESH_SKEW_SECONDS,
  VENDOR_STATE_PREFIX,
  VENDOR_STATE_TTL_SECONDS,
} from "../storage/keys.ts";
import {
  type CredentialOwner,
  getCredential,
  metaFor,
  putCredential,
  type StoredCredential,
  type StoredSecret,
  setCredentialStatus,
} from "./credential-store.ts";
import { type CredentialCipher, sha256Hex } from "./crypto.ts";
import { pkceAuthorizationUrl, putStateRecord, takeStateRecord } from "./state-record.ts";
import { type VendorOAuthConfig, vendorOAuthConfig } from "./vendor-auth.ts";

/** Token endpoint calls are bounded: a hanging vendor must not hang the tool call. */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/** A failure the user or operator can act on (shown on pages, in tool results). */
export class VendorOAuthError extends Error {
  override readonly name = "VendorOAuthError";
  readonly code:
    | "not_configured"
    | "invalid_state"
    | "session_mismatch"
    | "authorization_denied"
    | "token_request_failed"
    | "refresh_rejected"
    /** MCP vendors: no usable authorization server (metadata missing, not https, no PKCE S256, wrong resource). */
    | "discovery_failed"
    /** MCP vendors: the authorization server lets the gateway neither register nor use a metadata document. */
    | "registration_unavailable";
  constructor(code: VendorOAuthError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** What every grant request to a vendor's token endpoint takes. */
interface TokenEndpoint {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  auth: oauth.ClientAuth;
  options: oauth.TokenEndpointRequestOptions;
}

/**
 * Runs one token endpoint exchange (request and response processing) bounded by
 * {@link TOKEN_REQUEST_TIMEOUT_MS} on `clock`; the timer is cleared when it ends.
 */
async function tokenExchange<T>(
  env: EnvVars,
  vendor: string,
  config: VendorOAuthConfig,
  clock: Clock,
  fetchImpl: typeof fetch | undefined,
  exchange: (endpoint: TokenEndpoint) => Promise<T>,
): Promise<T> {
  const deadline = deadlineAfter(TOKEN_REQUEST_TIMEOUT_MS, undefined, clock);
  try {
    return await exchange({
      as: serverFor(config),
      client: { client_id: config.clientId },
      auth: clientAuthFor(env, vendor, config),
      options: requestOptions(config.tokenUrl, deadline.signal, fetchImpl),
    });
  } finally {
    deadline.clear();
  }
}

function requestOptions(
  url: string,
  signal: AbortSignal,
  fetchImpl?: typeof fetch,
): oauth.TokenEndpointRequestOptions {
  const parsed = new URL(url);
  return {
    signal,
    // Plain http only to a loopback vendor (local development and tests).
    ...(parsed.protocol === "http:" && plainHttpAllowedHost(parsed.hostname)
      ? { [oauth.allowInsecureRequests]: true }
      : {}),
    ...(fetchImpl === undefined ? {} : { [oauth.customFetch]: fetchImpl }),
  };
}

function serverFor(config: VendorOAuthConfig): oauth.AuthorizationServer {
  return {
    // Vendors rarely publish RFC 8414 metadata: the issuer is nominal. Mix-up defense comes from
    // the per-vendor callback URL, so an `iss` the vendor adds is dropped, not compared.
    issuer: new URL(config.tokenUrl).origin,
    token_endpoint: config.tokenUrl,
    ...(config.authorizationUrl === undefined ? {} : { authorization_endpoint: config.authorizationUrl }),
  };
}

function clientAuthFor(env: EnvVars, vendor: string, config: VendorOAuthConfig): oauth.ClientAuth {
  if (config.clientSecret === undefined) return oauth.None();
  const method = envString(env, vendorVarName(vendor, "OAUTH2_CLIENT_AUTH"))?.toLowerCase();
  return method === "post"
    ? oauth.ClientSecretPost(config.clientSecret)
    : oauth.ClientSecretBasic(config.clientSecret);
}

function secretFromTokenResponse(
  response: oauth.TokenEndpointResponse,
  now: number,
  previousRefresh?: string,
): StoredSecret {
  const refreshToken = response.refresh_token ?? previousRefresh;
  return {
    type: "oauth2",
    accessToken: response.access_token,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(typeof response.expires_in === "number" ? { expiresAt: now + response.expires_in * 1000 } : {}),
    ...(response.scope === undefined ? {} : { scope: response.scope }),
  };
}

/** The vendor's error text, without the client secret (a token endpoint may echo what it was sent). */
function describeTokenError(error: unknown, config: VendorOAuthConfig): string {
  const secrets = new SecretScrubber();
  secrets.add(config.clientSecret);
  if (error instanceof oauth.ResponseBodyError)
    return secrets.scrub(`${error.error}${error.error_description ? `: ${error.error_description}` : ""}`);
  return secrets.scrub(error instanceof Error ? error.message : String(error));
}

// ---------------------------------------------------------------------------------------------
// Client credentials

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which it must not be used (expiry minus the skew). */
  useUntil: number;
}

const clientTokens = new Map<string, CachedToken>();
const clientTokenFetches = new Map<string, Promise<CachedToken>>();

/**
 * The organisation's client-credentials access token for a vendor, or `undefined`
 * when the vendor has no client-credentials flow or no client configured.
 * Throws {@link VendorOAuthError} when the vendor refuses.
 */
export async function clientCredentialsToken(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher | undefined,
  fetchImpl?: typeof fetch,
): Promise<string | undefined> {
  const config = vendorOAuthConfig(env, bundle, "clientCredentials");
  if (config === undefined) return undefined;
  const cacheKey = await sha256Hex(
    `${bundle.vendor}|${config.tokenUrl}|${config.clientId}|${config.scopes.join(" ")}`,
  );
  const clock = clockFor(env);
  const now = clock.now();
  const memory = clientTokens.get(cacheKey);
  if (memory !== undefined && memory.useUntil > now) return memory.accessToken;

  const kvKey = clientTokenKey(bundle.vendor, cacheKey);
  if (cipher !== undefined) {
    // A cache: with KV down the gateway asks the vendor for a token instead of failing the call.
    const sealed = await env.OAUTH_KV.get(kvKey).catch(() => null);
    const cached = sealed === null ? undefined : await cipher.decrypt<CachedToken>(sealed, kvKey);
    if (cached !== undefined && cached.useUntil > now) {
      clientTokens.set(cacheKey, cached);
      return cached.accessToken;
    }
  }

  let pending = clientTokenFetches.get(cacheKey);
  if (pending === undefined) {
    pending = (async () => {
      const parameters = new URLSearchParams();
      if (config.scopes.length > 0) parameters.set("scope", config.scopes.join(" "));
      let result: oauth.TokenEndpointResponse;
      try {
        result = await tokenExchange(env, bundle.vendor, config, clock, fetchImpl, async (e) =>
          oauth.processClientCredentialsResponse(
            e.as,
            e.client,
            await oauth.clientCredentialsGrantRequest(e.as, e.client, e.auth, parameters, e.options),
          ),
        );
      } catch (error) {
        throw new VendorOAuthError(
          "token_request_failed",
          `${bundle.displayName} refused the gateway's client credentials (${describeTokenError(error, config)})`,
          { cause: error },
        );
      }
      const lifetimeSeconds = typeof result.expires_in === "number" ? result.expires_in : 3600;
      const token: CachedToken = {
        accessToken: result.access_token,
        useUntil: clock.now() + Math.max(0, lifetimeSeconds - TOKEN_REFRESH_SKEW_SECONDS) * 1000,
      };
      clientTokens.set(cacheKey, token);
      const ttl = lifetimeSeconds - TOKEN_REFRESH_SKEW_SECONDS;
      if (cipher !== undefined && ttl >= KV_MIN_TTL_SECONDS) {
        await env.OAUTH_KV.put(kvKey, await cipher.encrypt(token, kvKey), { expirationTtl: ttl }).catch(
          (error: unknown) => log({ event: "token_cache_write_failed", error: errorText(error) }),
        );
      }
      return token;
    })().finally(() => clientTokenFetches.delete(cacheKey));
    clientTokenFetches.set(cacheKey, pending);
  }
  return (await pending).accessToken;
}

// ---------------------------------------------------------------------------------------------
// Authorization code + PKCE

export interface VendorStateRecord {
  vendor: string;
  owner: CredentialOwner;
  /** sha256 of the browser session that started it: the callback must come from the same one. */
  sessionHash: string;
  verifier: string;
  redirectUri: string;
  /** The user who connected it (differs from the owner for team credentials). */
  startedBy: string;
}

/** The gateway's callback for a vendor's authorization code flow. */
export function vendorCallbackUrl(origin: string, vendor: string): string {
  return `${origin}/oauth/vendors/${encodeURIComponent(vendor)}/callback`;
}

/**
 * Starts connecting a vendor account: stores a single-use state (encrypted under
 * the state itself, KV keeps only its hash) and returns the vendor's authorization URL.
 */
export async function startVendorAuthorization(
  env: Env,
  bundle: VendorBundle,
  owner: CredentialOwner,
  sessionHash: string,
  startedBy: string,
  origin: string,
): Promise<string> {
  const config = vendorOAuthConfig(env, bundle, "authorizationCode");
  if (config?.authorizationUrl === undefined) {
    throw new VendorOAuthError(
      "not_configured",
      `${bundle.displayName} has no OAuth client configured on this gateway.`,
    );
  }
  const state = oauth.generateRandomState();
  const verifier = oauth.generateRandomCodeVerifier();
  const redirectUri = vendorCallbackUrl(origin, bundle.vendor);
  const record: VendorStateRecord = {
    vendor: bundle.vendor,
    owner,
    sessionHash,
    verifier,
    redirectUri,
    startedBy,
  };
  await putStateRecord(env.OAUTH_KV, VENDOR_STATE_PREFIX, state, record, VENDOR_STATE_TTL_SECONDS);

  return pkceAuthorizationUrl(config.authorizationUrl, {
    clientId: config.clientId,
    redirectUri,
    scope: config.scopes.join(" "),
    state,
    verifier,
  });
}

/**
 * Takes the state of a vendor callback: single use (gone from KV before anything else
 * happens; the session binding keeps a racing second use to the same browser), for this
 * vendor, started by this browser session. Throws {@link VendorOAuthError} otherwise.
 */
export async function takeVendorState<R extends { vendor: string; sessionHash: string }>(
  env: Env,
  bundle: VendorBundle,
  callbackUrl: URL,
  sessionHash: string,
): Promise<{ state: string; record: R }> {
  const state = callbackUrl.searchParams.get("state");
  if (state === null || state.length > 512)
    throw new VendorOAuthError("invalid_state", "The callback has no state.");
  const taken = await takeStateRecord<R>(env.OAUTH_KV, VENDOR_STATE_PREFIX, state);
  if (taken === undefined) {
    throw new VendorOAuthError(
      "invalid_state",
      "This authorization was already used or has expired. Start again.",
    );
  }
  const record = taken.record;
  if (record === undefined || record.vendor !== bundle.vendor) {
    throw new VendorOAuthError("invalid_state", "The callback's state does not belong to this vendor.");
  }
  if (record.sessionHash !== sessionHash) {
    throw new VendorOAuthError("session_mismatch", "This authorization was started in another session.");
  }
  return { state, record };
}

/**
 * Finishes the vendor callback: consumes the state (single use), checks it was
 * started by this browser session, exchanges the code (PKCE) and stores the
 * tokens for the owner who started it. Returns that owner.
 */
export async function finishVendorAuthorization(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  callbackUrl: URL,
  sessionHash: string,
  fetchImpl?: typeof fetch,
): Promise<CredentialOwner> {
  const { state, record } = await takeVendorState<VendorStateRecord>(env, bundle, callbackUrl, sessionHash);
  const config = vendorOAuthConfig(env, bundle, "authorizationCode");
  if (config === undefined)
    throw new VendorOAuthError("not_configured", `${bundle.displayName} is not configured.`);
  const clock = clockFor(env);
  const params = new URLSearchParams(callbackUrl.search);
  params.delete("iss");
  let result: oauth.TokenEndpointResponse;
  try {
    result = await tokenExchange(env, bundle.vendor, config, clock, fetchImpl, async (e) => {
      const validated = oauth.validateAuthResponse(e.as, e.client, params, state);
      const response = await oauth.authorizationCodeGrantRequest(
        e.as,
        e.client,
        e.auth,
        validated,
        record.redirectUri,
        record.verifier,
        e.options,
      );
      return oauth.processAuthorizationCodeResponse(e.as, e.client, response);
    });
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new VendorOAuthError(
        "authorization_denied",
        `${bundle.displayName} did not authorize: ${error.error}`,
        {
          cause: error,
        },
      );
    }
    throw new VendorOAuthError(
      "token_request_failed",
      `${bundle.displayName} refused the authorization code (${describeTokenError(error, config)})`,
      { cause: error },
    );
  }
  const secret = secretFromTokenResponse(result, clock.now());
  await putCredential(
    env,
    cipher,
    record.owner,
    bundle.vendor,
    secret,
    metaFor(secret, { by: record.startedBy }),
  );
  return record.owner;
}

// ---------------------------------------------------------------------------------------------
// Refresh

const refreshes = new Map<string, Promise<StoredCredential | undefined>>();

function needsRefresh(secret: StoredSecret, now: number): boolean {
  return (
    secret.type === "oauth2" &&
    secret.expiresAt !== undefined &&
    secret.expiresAt - TOKEN_REFRESH_SKEW_SECONDS * 1000 <= now
  );
}

/**
 * The owner's credential, refreshed first when it is an OAuth token about to
 * expire. A refresh the vendor refuses marks the credential `needs_reauth` and
 * returns it with that status; a transient failure throws.
 */
export async function freshCredential(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  owner: CredentialOwner,
  fetchImpl?: typeof fetch,
): Promise<StoredCredential | undefined> {
  const stored = await getCredential(env, cipher, owner, bundle.vendor);
  const clock = clockFor(env);
  if (stored === undefined || stored.meta.status !== "ok" || !needsRefresh(stored.secret, clock.now()))
    return stored;
  const flightKey = `${owner.kind}:${owner.id}:${bundle.vendor}`;
  let pending = refreshes.get(flightKey);
  if (pending === undefined) {
    pending = refresh(env, bundle, cipher, owner, stored, clock, fetchImpl).finally(() =>
      refreshes.delete(flightKey),
    );
    refreshes.set(flightKey, pending);
  }
  return pending;
}

async function refresh(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  owner: CredentialOwner,
  stored: StoredCredential,
  clock: Clock,
  fetchImpl?: typeof fetch,
): Promise<StoredCredential | undefined> {
  const secret = stored.secret;
  if (secret.type !== "oauth2") return stored;
  const markNeedsReauth = async (reason: string): Promise<StoredCredential> => {
    await setCredentialStatus(env, owner, bundle.vendor, "needs_reauth", reason);
    return { secret, meta: { ...stored.meta, status: "needs_reauth", reason } };
  };
  if (secret.refreshToken === undefined) return markNeedsReauth("expired");
  const config = vendorOAuthConfig(env, bundle, "authorizationCode");
  if (config === undefined) return markNeedsReauth("not_configured");
  const refreshToken = secret.refreshToken;
  try {
    const result = await tokenExchange(env, bundle.vendor, config, clock, fetchImpl, async (e) =>
      oauth.processRefreshTokenResponse(
        e.as,
        e.client,
        await oauth.refreshTokenGrantRequest(e.as, e.client, e.auth, refreshToken, e.options),
      ),
    );
    const next = secretFromTokenResponse(result, clock.now(), secret.refreshToken);
    const meta = metaFor(next);
    await putCredential(env, cipher, owner, bundle.vendor, next, meta);
    return { secret: next, meta };
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.status >= 400 && error.status < 500) {
      // Another isolate may have rotated the refresh token first: if KV now holds a
      // different, fresh token, that one wins and nothing needs re-authorizing.
      const current = await getCredential(env, cipher, owner, bundle.vendor);
      if (
        current !== undefined &&
        current.secret.type === "oauth2" &&
        current.secret.accessToken !== secret.accessToken &&
        !needsRefresh(current.secret, clock.now())
      ) {
        return current;
      }
      return markNeedsReauth(error.error === "invalid_grant" ? "refresh_rejected" : `refresh_${error.error}`);
    }
    throw new VendorOAuthError("token_request_failed", `Could not refresh the ${bundle.displayName} token`, {
      cause: error,
    });
  }
}
