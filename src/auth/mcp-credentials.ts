/**
 * Upstream credentials for MCP vendors: which credential a call to the upstream MCP server
 * carries, and connecting a user's account with OAuth (MCP authorization, `mcp-oauth.ts`).
 *
 * {@link mcpAuthorizerFor} picks, as `vendor.json` `auth.mode` permits: the caller's own OAuth
 * connection or saved token (then their team's), else the organisation's secret
 * (`<VENDOR>_TOKEN` as a bearer token, or `<VENDOR>_API_KEY` in `auth.header`), else nothing.
 * A 401 refreshes an OAuth token once; a refused refresh, a refused static credential, or a 403
 * `insufficient_scope` (step-up: the user must consent to more) marks the stored credential and
 * leaves a hint with the credentials page's address.
 *
 * The client's own token to the gateway never reaches this module: the authorizer only ever
 * sends what the owner stored or the operator configured.
 *
 * @module
 */
import * as oauth from "oauth4webapi";
import { resolveMcpUrl } from "../base-url.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { clockFor } from "../clock.ts";
import { type EnvVars, envString, vendorEnvPrefix, vendorVarName } from "../config.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import {
  MCP_CLIENT_REGISTRATION_TTL_SECONDS,
  mcpClientKey,
  TOKEN_REFRESH_SKEW_SECONDS,
  VENDOR_STATE_PREFIX,
  VENDOR_STATE_TTL_SECONDS,
} from "../storage/keys.ts";
import { credentialsPageUrl } from "./availability.ts";
import {
  type CredentialOwner,
  credentialOwners,
  getCredential,
  type McpGrant,
  metaFor,
  putCredential,
  type StoredCredential,
  type StoredSecret,
  setCredentialStatus,
} from "./credential-store.ts";
import { type CredentialCipher, credentialCipher, sha256Hex } from "./crypto.ts";
import {
  boundedFetch,
  clientRefused,
  discoverMcpAuthorization,
  exchangeMcpCode,
  joinScopes,
  type McpAuthServer,
  type McpOAuthClient,
  McpOAuthError,
  type McpOAuthErrorCode,
  type McpTokens,
  mcpAuthorizationUrl,
  parseBearerChallenge,
  refreshMcpTokens,
  refreshRefused,
  registerMcpClient,
} from "./mcp-oauth.ts";
import { putStateRecord } from "./state-record.ts";
import { secretNames } from "./upstream-credentials.ts";
import {
  acceptsPersonalCredentials,
  acceptsSharedCredentials,
  vendorAuth,
  vendorScopes,
} from "./vendor-auth.ts";
import {
  takeVendorState,
  VendorOAuthError,
  type VendorStateRecord,
  vendorCallbackUrl,
} from "./vendor-oauth.ts";

/** Discovery, registration and token requests together: a hanging authorization server must not hang the call. */
const OAUTH_REQUEST_TIMEOUT_MS = 10_000;
/** The path of the gateway's client ID metadata document on its origin. */
export const CLIENT_METADATA_PATH = "/oauth/client-metadata.json";
/** What the gateway calls itself to authorization servers. */
const CLIENT_NAME = "mcp-edge-gateway";

/** The upstream MCP endpoint (`<VENDOR>_MCP_URL`, else vendor.json `mcp.url`); `undefined` when unusable. */
export function mcpUpstreamUrl(env: EnvVars, bundle: VendorBundle): URL | undefined {
  try {
    return resolveMcpUrl(env, bundle);
  } catch {
    return undefined;
  }
}

/**
 * The gateway's client ID metadata document (draft-ietf-oauth-client-id-metadata-document),
 * served at {@link CLIENT_METADATA_PATH}: its URL is the client id authorization servers that
 * support it accept without registration. Lists the callback of every MCP vendor.
 */
export function clientMetadataDocument(origin: string, vendors: readonly string[]): Record<string, unknown> {
  return {
    client_id: `${origin}${CLIENT_METADATA_PATH}`,
    client_name: CLIENT_NAME,
    client_uri: origin,
    redirect_uris: vendors.map((vendor) => vendorCallbackUrl(origin, vendor)),
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
}

function preRegisteredClient(
  env: EnvVars,
  bundle: VendorBundle,
): { clientId: string; clientSecret?: string } | undefined {
  const secrets = bundle.auth?.secrets ?? {};
  const clientId = envString(env, secrets.clientId ?? vendorVarName(bundle.vendor, "OAUTH2_CLIENT_ID"));
  if (clientId === undefined) return undefined;
  const clientSecret = envString(
    env,
    secrets.clientSecret ?? vendorVarName(bundle.vendor, "OAUTH2_CLIENT_SECRET"),
  );
  return clientSecret === undefined ? { clientId } : { clientId, clientSecret };
}

/** The gateway's client at `server`: pre-registered, CIMD, or dynamically registered (cached encrypted in KV). */
async function clientFor(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  server: McpAuthServer,
  redirectUri: string,
  origin: string,
  options: { fetch?: typeof fetch | undefined; signal: AbortSignal },
): Promise<McpOAuthClient> {
  const preRegistered = preRegisteredClient(env, bundle);
  const metadataDocumentUrl = origin.startsWith("https://") ? `${origin}${CLIENT_METADATA_PATH}` : undefined;
  if (preRegistered !== undefined || (server.clientIdMetadataDocumentSupported && metadataDocumentUrl)) {
    return registerMcpClient(server, {
      ...options,
      preRegistered,
      metadataDocumentUrl,
      redirectUri,
      clientName: CLIENT_NAME,
    });
  }
  const key = await registrationKey(bundle, server, redirectUri);
  const sealed = await env.OAUTH_KV.get(key);
  const cached = sealed === null ? undefined : await cipher.decrypt<McpOAuthClient>(sealed, key);
  if (cached !== undefined) return cached;
  const client = await registerMcpClient(server, { ...options, redirectUri, clientName: CLIENT_NAME });
  await env.OAUTH_KV.put(key, await cipher.encrypt(client, key), {
    expirationTtl: MCP_CLIENT_REGISTRATION_TTL_SECONDS,
  });
  return client;
}

function registrationKey(bundle: VendorBundle, server: McpAuthServer, redirectUri: string): Promise<string> {
  return sha256Hex(`${server.issuer}|${redirectUri}`).then((hash) => mcpClientKey(bundle.vendor, hash));
}

/** What the state record adds for an MCP vendor's flow: no secret (the state travels through the browser). */
interface McpStateRecord extends VendorStateRecord {
  mcp: { server: McpAuthServer; resource: string; clientId: string; scope?: string };
}

/** The upstream's 401 challenge, asked for without a credential: it names the scope to request. */
async function probeChallenge(
  url: URL,
  options: { fetch?: typeof fetch | undefined; signal: AbortSignal },
): Promise<string | null> {
  try {
    const response = await boundedFetch(options.fetch)(url.href, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      signal: options.signal,
    });
    return response.status === 401 ? response.headers.get("www-authenticate") : null;
  } catch (error) {
    if (options.signal.aborted) throw error;
    return null;
  }
}

/** The credentials page's notice code for what went wrong while connecting. */
const VENDOR_ERROR_CODES: Record<McpOAuthErrorCode, VendorOAuthError["code"]> = {
  discovery_failed: "discovery_failed",
  resource_mismatch: "discovery_failed",
  pkce_unsupported: "discovery_failed",
  registration_unavailable: "registration_unavailable",
  registration_failed: "registration_unavailable",
  authorization_denied: "authorization_denied",
  invalid_callback: "invalid_state",
  token_request_failed: "token_request_failed",
};

function asVendorError(error: unknown, bundle: VendorBundle): unknown {
  if (error instanceof McpOAuthError) {
    return new VendorOAuthError(VENDOR_ERROR_CODES[error.code], `${bundle.displayName}: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof Error && error.name === "TimeoutError") {
    return new VendorOAuthError(
      "discovery_failed",
      `${bundle.displayName}: the authorization server did not answer in time.`,
      { cause: error },
    );
  }
  return error;
}

/**
 * Starts connecting an MCP vendor account: discovers the authorization server, picks the
 * gateway's client, stores a single-use state and returns the authorization URL. The scope
 * covers what the upstream asks for now and what it asked for in a 403 (`wantScope`).
 */
export async function startMcpAuthorization(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  owner: CredentialOwner,
  sessionHash: string,
  startedBy: string,
  origin: string,
  fetchImpl?: typeof fetch,
): Promise<string> {
  const url = mcpUpstreamUrl(env, bundle);
  if (url === undefined) {
    throw new VendorOAuthError("not_configured", `${bundle.displayName} has no usable MCP URL.`);
  }
  const deadline = deadlineAfter(OAUTH_REQUEST_TIMEOUT_MS, undefined, clockFor(env));
  const options = { fetch: fetchImpl, signal: deadline.signal };
  try {
    const discovery = await discoverMcpAuthorization(url, await probeChallenge(url, options), options);
    const redirectUri = vendorCallbackUrl(origin, bundle.vendor);
    const client = await clientFor(env, bundle, cipher, discovery.server, redirectUri, origin, options);
    const previous = await getCredential(env, cipher, owner, bundle.vendor).catch(() => undefined);
    const scope = joinScopes(
      discovery.scope,
      vendorScopes(env, bundle),
      previous?.secret.type === "oauth2" ? previous.secret.scope : undefined,
      previous?.meta.wantScope,
    );
    const state = oauth.generateRandomState();
    const verifier = oauth.generateRandomCodeVerifier();
    const record: McpStateRecord = {
      vendor: bundle.vendor,
      owner,
      sessionHash,
      verifier,
      redirectUri,
      startedBy,
      mcp: {
        server: discovery.server,
        resource: discovery.resource,
        clientId: client.clientId,
        ...(scope === undefined ? {} : { scope }),
      },
    };
    await putStateRecord(env.OAUTH_KV, VENDOR_STATE_PREFIX, state, record, VENDOR_STATE_TTL_SECONDS);
    return await mcpAuthorizationUrl(discovery.server, client, {
      redirectUri,
      state,
      verifier,
      scope,
      resource: discovery.resource,
    });
  } catch (error) {
    throw asVendorError(error, bundle);
  } finally {
    deadline.clear();
  }
}

/**
 * Finishes an MCP vendor's callback: consumes the state (single use, same browser session),
 * exchanges the code and stores the tokens with what refreshing them needs. Returns the owner.
 */
export async function finishMcpAuthorization(
  env: Env,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  callbackUrl: URL,
  sessionHash: string,
  origin: string,
  fetchImpl?: typeof fetch,
): Promise<CredentialOwner> {
  const { state, record } = await takeVendorState<McpStateRecord>(env, bundle, callbackUrl, sessionHash);
  if (record.mcp === undefined) {
    throw new VendorOAuthError("invalid_state", "The callback's state does not belong to this vendor.");
  }
  const clock = clockFor(env);
  const deadline = deadlineAfter(OAUTH_REQUEST_TIMEOUT_MS, undefined, clock);
  const options = { fetch: fetchImpl, signal: deadline.signal };
  try {
    const { server, resource } = record.mcp;
    const client = await clientFor(env, bundle, cipher, server, record.redirectUri, origin, options);
    if (client.clientId !== record.mcp.clientId) {
      throw new VendorOAuthError(
        "invalid_state",
        "The gateway's client changed during the authorization. Start again.",
      );
    }
    const tokens = await exchangeMcpCode(
      server,
      client,
      callbackUrl.searchParams,
      { state, redirectUri: record.redirectUri, verifier: record.verifier, resource },
      options,
    ).catch(async (error: unknown) => {
      // The server forgot the client it registered: register again on the next connect.
      if (client.source === "dynamic" && clientRefused(error)) {
        await env.OAUTH_KV.delete(await registrationKey(bundle, server, record.redirectUri));
      }
      throw error;
    });
    const grant: McpGrant = {
      issuer: server.issuer,
      authorizationEndpoint: server.authorizationEndpoint,
      tokenEndpoint: server.tokenEndpoint,
      resource,
      clientId: client.clientId,
      ...(client.clientSecret === undefined ? {} : { clientSecret: client.clientSecret }),
      authMethod: client.authMethod,
    };
    const secret = secretOf(tokens, grant, clock.now(), undefined, record.mcp.scope);
    await putCredential(
      env,
      cipher,
      record.owner,
      bundle.vendor,
      secret,
      metaFor(secret, { by: record.startedBy }),
    );
    return record.owner;
  } catch (error) {
    throw asVendorError(error, bundle);
  } finally {
    deadline.clear();
  }
}

function secretOf(
  tokens: McpTokens,
  grant: McpGrant,
  now: number,
  previousRefresh?: string,
  requestedScope?: string,
): StoredSecret {
  const refreshToken = tokens.refreshToken ?? previousRefresh;
  const scope = tokens.scope ?? requestedScope;
  return {
    type: "oauth2",
    accessToken: tokens.accessToken,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(tokens.expiresIn === undefined ? {} : { expiresAt: now + tokens.expiresIn * 1000 }),
    ...(scope === undefined ? {} : { scope }),
    mcp: grant,
  };
}

// ---------------------------------------------------------------------------------------------
// The authorizer

/**
 * Supplies and refreshes the credential of one call to an MCP vendor: structurally the
 * `McpAuthorizer` of `src/mcp-upstream/connection.ts`, plus {@link UpstreamMcpAuthorizer.hint}.
 */
export interface UpstreamMcpAuthorizer {
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  challenged(status: number, wwwAuthenticate: string | null, signal: AbortSignal): Promise<boolean>;
  secrets(): readonly string[];
  /** After a missing or refused credential: what the user can do, with the credentials page's address. */
  hint(): string | undefined;
}

export interface McpAuthorizerOptions {
  env: Env;
  bundle: VendorBundle;
  /** `undefined`: client auth is off; only the organisation's credential is used. */
  caller: { userId: string; teamId?: string | undefined; origin?: string | undefined } | undefined;
  /** The upstream MCP endpoint the credential is for. */
  url: URL;
  fetch?: typeof fetch;
}

type Resolved =
  | { kind: "none" }
  | { kind: "static"; headers: Record<string, string>; secret: string; owner?: CredentialOwner }
  | { kind: "oauth"; owner: CredentialOwner; stored: StoredCredential };

const refreshes = new Map<string, Promise<StoredCredential | undefined>>();

/** The credential of one upstream MCP call for `caller` (see the module doc for the order). */
export function mcpAuthorizerFor(options: McpAuthorizerOptions): UpstreamMcpAuthorizer {
  const { env, bundle, caller } = options;
  const info = vendorAuth(bundle);
  const origin = caller?.origin;
  const fixUrl = origin === undefined ? undefined : credentialsPageUrl(origin, bundle.vendor);
  const where = fixUrl === undefined ? "on the gateway's credentials page" : `at ${fixUrl}`;
  const headerName = bundle.auth?.header;
  const attached = new Set<string>();
  let resolved: Resolved | undefined;
  let hint: string | undefined;
  let retried = false;

  const staticHeaders = (value: string): Record<string, string> =>
    headerName !== undefined ? { [headerName]: value } : { Authorization: `Bearer ${value}` };

  async function personal(): Promise<Resolved | undefined> {
    if (caller === undefined || !acceptsPersonalCredentials(info)) return undefined;
    const cipherPromise = credentialCipher(env);
    if (cipherPromise === undefined) return undefined;
    const cipher = await cipherPromise;
    for (const owner of credentialOwners(caller)) {
      const stored = await getCredential(env, cipher, owner, bundle.vendor);
      if (stored === undefined) continue;
      if (stored.meta.status !== "ok") {
        hint = `Your ${bundle.displayName} connection needs attention (${stored.meta.reason ?? stored.meta.status}): reconnect ${where}.`;
        continue;
      }
      const secret = stored.secret;
      if (secret.type === "oauth2") {
        const fresh = needsRefresh(secret, clockFor(env).now())
          ? await refreshOnce(owner, stored, cipher)
          : stored;
        if (fresh === undefined || fresh.meta.status !== "ok") {
          // Another call's refresh (shared, below) said why; this one says where to fix it.
          hint ??= `Your ${bundle.displayName} connection could not be renewed: reconnect ${where}.`;
          continue;
        }
        return { kind: "oauth", owner, stored: fresh };
      }
      const value =
        secret.type === "apiKey" ? secret.value : secret.type === "bearer" ? secret.token : undefined;
      if (value !== undefined) return { kind: "static", headers: staticHeaders(value), secret: value, owner };
    }
    return undefined;
  }

  function organisation(): Resolved | undefined {
    if (caller !== undefined && !acceptsSharedCredentials(info)) return undefined;
    const names = secretNames(bundle);
    const value = envString(env, headerName !== undefined ? names.apiKey : names.token);
    return value === undefined ? undefined : { kind: "static", headers: staticHeaders(value), secret: value };
  }

  /**
   * One refresh per owner and vendor at a time in this isolate: concurrent calls share it (a
   * rotating server would refuse the second use of the refresh token). Bounded by its own
   * deadline, not by any one call's signal, so one cancelled call does not fail the others.
   */
  async function refreshOnce(
    owner: CredentialOwner,
    stored: StoredCredential,
    cipher: CredentialCipher,
  ): Promise<StoredCredential | undefined> {
    const flight = `${owner.kind}:${owner.id}:${bundle.vendor}`;
    let pending = refreshes.get(flight);
    if (pending === undefined) {
      pending = refresh(owner, stored, cipher).finally(() => refreshes.delete(flight));
      refreshes.set(flight, pending);
    }
    return pending;
  }

  async function refresh(
    owner: CredentialOwner,
    stored: StoredCredential,
    cipher: CredentialCipher,
  ): Promise<StoredCredential | undefined> {
    const secret = stored.secret;
    if (secret.type !== "oauth2") return stored;
    const grant = secret.mcp;
    if (secret.refreshToken === undefined || grant === undefined) {
      await setCredentialStatus(env, owner, bundle.vendor, "needs_reauth", "expired");
      hint = `Your ${bundle.displayName} connection expired: connect it again ${where}.`;
      return undefined;
    }
    const clock = clockFor(env);
    const deadline = deadlineAfter(OAUTH_REQUEST_TIMEOUT_MS, undefined, clock);
    try {
      const tokens = await refreshMcpTokens(
        {
          issuer: grant.issuer,
          tokenEndpoint: grant.tokenEndpoint,
          authorizationEndpoint: grant.authorizationEndpoint,
        },
        {
          clientId: grant.clientId,
          ...(grant.clientSecret === undefined ? {} : { clientSecret: grant.clientSecret }),
          authMethod: grant.authMethod,
          source: "dynamic",
        },
        secret.refreshToken,
        grant.resource,
        { fetch: options.fetch, signal: deadline.signal },
      );
      const next = secretOf(tokens, grant, clock.now(), secret.refreshToken, secret.scope);
      const meta = metaFor(next, stored.meta.by === undefined ? {} : { by: stored.meta.by });
      await putCredential(env, cipher, owner, bundle.vendor, next, meta);
      return { secret: next, meta };
    } catch (error) {
      if (!refreshRefused(error)) {
        hint = `Could not refresh the ${bundle.displayName} token; try again shortly.`;
        return undefined;
      }
      // Another isolate may have rotated the refresh token first: its fresh token wins.
      const current = await getCredential(env, cipher, owner, bundle.vendor);
      if (
        current?.secret.type === "oauth2" &&
        current.secret.accessToken !== secret.accessToken &&
        current.meta.status === "ok"
      ) {
        return current;
      }
      await setCredentialStatus(env, owner, bundle.vendor, "needs_reauth", "refresh_rejected");
      hint = `Your ${bundle.displayName} connection expired and could not be renewed: connect it again ${where}.`;
      return undefined;
    } finally {
      deadline.clear();
    }
  }

  function remember(credential: Resolved): Record<string, string> {
    if (credential.kind === "static") {
      attached.add(credential.secret);
      return credential.headers;
    }
    if (credential.kind === "oauth") {
      const secret = credential.stored.secret;
      if (secret.type !== "oauth2") return {};
      attached.add(secret.accessToken);
      if (secret.refreshToken !== undefined) attached.add(secret.refreshToken);
      if (secret.mcp?.clientSecret !== undefined) attached.add(secret.mcp.clientSecret);
      return { Authorization: `Bearer ${secret.accessToken}` };
    }
    return {};
  }

  return {
    async headers() {
      resolved ??= (await personal()) ?? organisation() ?? { kind: "none" };
      if (
        resolved.kind === "none" &&
        hint === undefined &&
        caller !== undefined &&
        acceptsPersonalCredentials(info)
      ) {
        hint =
          info.kind === "oauth2-code"
            ? `Connect your ${bundle.displayName} account ${where}.`
            : `Enter your ${bundle.displayName} credential ${where}.`;
      }
      return remember(resolved);
    },

    async challenged(status, wwwAuthenticate) {
      const current = resolved ?? { kind: "none" };
      const challenge = parseBearerChallenge(wwwAuthenticate);
      if (status === 403 && challenge?.error === "insufficient_scope") {
        // Step-up: only the user can consent to more; the next connect asks for this scope too.
        if (current.kind === "oauth") {
          const wantScope = joinScopes(
            current.stored.secret.type === "oauth2" ? current.stored.secret.scope : undefined,
            challenge.scope,
          );
          await setCredentialStatus(env, current.owner, bundle.vendor, "needs_reauth", "insufficient_scope", {
            ...(wantScope === undefined ? {} : { wantScope: wantScope.slice(0, 512) }),
          });
          hint = `${bundle.displayName} needs more permissions${challenge.scope === undefined ? "" : ` (${challenge.scope.slice(0, 200)})`}: reconnect ${where}.`;
        } else {
          hint = `${bundle.displayName} refused the credential for lack of permissions; ask the gateway operator.`;
        }
        return false;
      }
      if (status !== 401 && status !== 403) return false;
      if (current.kind === "oauth" && status === 401 && !retried) {
        retried = true;
        const cipherPromise = credentialCipher(env);
        if (cipherPromise === undefined) return false;
        const fresh = await refreshOnce(current.owner, current.stored, await cipherPromise);
        if (fresh === undefined) {
          hint ??= `Your ${bundle.displayName} connection could not be renewed: reconnect ${where}.`;
          return false;
        }
        resolved = { kind: "oauth", owner: current.owner, stored: fresh };
        return true;
      }
      if (status === 403) {
        // A 403 without insufficient_scope refuses this request, not necessarily the credential.
        hint = `${bundle.displayName} refused the request (HTTP 403).`;
        return false;
      }
      const owner = current.kind === "none" ? undefined : current.owner;
      if (owner !== undefined) {
        await setCredentialStatus(env, owner, bundle.vendor, "invalid", `rejected_${status}`);
        const whose = owner.kind === "team" ? "your team's" : "your";
        hint = `${bundle.displayName} rejected ${whose} credential (HTTP ${status}); it is now marked invalid: ${info.kind === "oauth2-code" ? "reconnect" : "replace"} it ${where}.`;
      } else if (current.kind === "static") {
        hint = `${bundle.displayName} rejected the organisation's credential (HTTP ${status}); ask the gateway operator.`;
      } else if (caller !== undefined && acceptsPersonalCredentials(info)) {
        hint ??= `${bundle.displayName} needs a credential: ${info.kind === "oauth2-code" ? "connect your account" : "enter your credential"} ${where}.`;
      } else {
        hint ??= `${bundle.displayName} needs a credential (HTTP ${status}); ask the gateway operator to set ${vendorEnvPrefix(bundle.vendor)}_TOKEN.`;
      }
      return false;
    },

    secrets() {
      return [...attached];
    },

    hint() {
      return hint;
    },
  };
}

function needsRefresh(secret: StoredSecret, now: number): boolean {
  return (
    secret.type === "oauth2" &&
    secret.expiresAt !== undefined &&
    secret.expiresAt - TOKEN_REFRESH_SKEW_SECONDS * 1000 <= now
  );
}
