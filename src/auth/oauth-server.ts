/**
 * The gateway as an OAuth 2.1 authorization server and protected MCP resource
 * server (MCP authorization 2025-06-18 / 2025-11-25), built on
 * `@cloudflare/workers-oauth-provider` with grants and tokens in `OAUTH_KV`.
 *
 * Every MCP endpoint is its own protected resource (RFC 8707 audience):
 * `<origin>/v1/mcp` and `<origin>/v1/<vendor>/mcp`. A token issued for one is
 * refused at every other; each publishes its RFC 9728 metadata at
 * `/.well-known/oauth-protected-resource/v1/…`, and the root form serves the
 * unified endpoint's. The authorization server (issuer = origin) publishes RFC
 * 8414 metadata, dynamic client registration (RFC 7591), authorization code
 * with PKCE S256 only, rotating refresh tokens and revocation (RFC 7009).
 *
 * Scopes: `mcp:read` lists tools and calls read-only ones (RFC 9110 safe
 * methods, src/bundle/http-methods.ts); `mcp:write` calls the rest. The 401
 * challenge asks for both; a user can untick `mcp:write` on the consent page,
 * and a write tool then answers 403 `insufficient_scope` (step-up). A token
 * without `mcp:read` is refused here; the write rule needs the parsed message
 * and the resolved tool, so the MCP endpoint applies it (src/mcp/authorize.ts)
 * with the step-up answer this layer puts on the caller.
 *
 * @module
 */

import {
  insufficientScope,
  OAuthAuthorizationServer,
  type OAuthResourceContext,
  OAuthResourceServer,
} from "@cloudflare/workers-oauth-provider";
import { recordAudit } from "../audit-events.ts";
import { hasVendor, vendorNames } from "../bundle/registry.ts";
import { plainHttpAllowedHost } from "../config.ts";
import { GatewayError, lastResortResponse } from "../errors.ts";
import { errorText, log } from "../log.ts";
import { boundedCache, memoized } from "../memo.ts";
import { ACCESS_TOKEN_TTL_SECONDS, REFRESH_TOKEN_TTL_SECONDS } from "../storage/keys.ts";
import { computeAvailability, type VendorAvailability } from "./availability.ts";
import {
  type CallerMessage,
  type CallerProps,
  createCaller,
  type McpEndpoint,
  SCOPE_READ,
  SCOPE_WRITE,
  type TeamAllowlist,
  WRITE_SCOPE_DESCRIPTION,
} from "./caller.ts";
import { contextWithProps } from "./caller-context.ts";
import { type AuthConfig, loadAuthConfig, type ResolvedUser, resolveUser, teamAllowlist } from "./config.ts";
import {
  isKvUnavailable,
  KV_RETRY_AFTER_SECONDS,
  type KvUnavailableError,
  withGuardedKv,
} from "./kv-guard.ts";
import { OAuthError, oauthError, oauthErrorFromGateway, oauthErrorResponse } from "./oauth-error.ts";
import { isReuse, readRefreshRequest, recordRotation, revokeReusedGrant } from "./refresh-reuse.ts";

/** Everything the authorization server can grant (RFC 8414 `scopes_supported`). */
export const SCOPES_SUPPORTED = [SCOPE_READ, SCOPE_WRITE, "offline_access"];
/** What the 401 challenge and resource metadata ask for: full use by default, read-only by choice. */
export const REQUIRED_SCOPES = [SCOPE_READ, SCOPE_WRITE];

export const AUTHORIZE_PATH = "/authorize";
const TOKEN_PATH = "/oauth/token";
const REGISTER_PATH = "/oauth/register";
const AS_METADATA_PATH = "/.well-known/oauth-authorization-server";
const PRM_PATH = "/.well-known/oauth-protected-resource";

/** Origins we keep provider instances for: a handful in practice; bounded against Host-header churn. */
const MAX_CACHED_ORIGINS = 16;

/** A fetch handler the resource servers hand authenticated requests to (the hono app). */
export interface FetchApp {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

interface ProtectedResource {
  endpoint: McpEndpoint;
  server: OAuthResourceServer<Env, CallerProps>;
}

/** An origin's protected resources, by resource path (`/v1/mcp`, `/v1/<vendor>/mcp`). */
type ProtectedResources = Map<string, ProtectedResource>;

function hasStrictlyPublicFetch(): boolean {
  const flags = (globalThis as { Cloudflare?: { compatibilityFlags?: Record<string, boolean> } }).Cloudflare
    ?.compatibilityFlags;
  return flags?.global_fetch_strictly_public === true;
}

/** The canonical origin: `GATEWAY_PUBLIC_URL` when set, else the request's. */
export function canonicalOrigin(config: AuthConfig, request: Request): string {
  return config.publicUrl ?? new URL(request.url).origin;
}

/** Every MCP endpoint, by resource path: the unified one and one per vendor. */
function mcpEndpoints(): Map<string, McpEndpoint> {
  const endpoints = new Map<string, McpEndpoint>([["/v1/mcp", { kind: "unified" }]]);
  for (const vendor of vendorNames()) endpoints.set(`/v1/${vendor}/mcp`, { kind: "vendor", vendor });
  return endpoints;
}

const authorizationServers = boundedCache<string, OAuthAuthorizationServer<Env>>(MAX_CACHED_ORIGINS);

/**
 * The authorization server for an origin (built once per isolate and origin).
 * Throws `invalid_configuration` for a plain-http origin off loopback: OAuth 2.1 needs https.
 */
export function authorizationServerFor(origin: string): OAuthAuthorizationServer<Env> {
  const cached = authorizationServers.get(origin);
  if (cached !== undefined) return cached;
  const url = new URL(origin);
  if (url.protocol !== "https:" && !plainHttpAllowedHost(url.hostname)) {
    throw new GatewayError(
      "invalid_configuration",
      "OAuth needs https (plain http only on localhost). Serve the gateway over https, set GATEWAY_PUBLIC_URL, or set GATEWAY_AUTH=none for local use.",
    );
  }
  const server = new OAuthAuthorizationServer<Env>({
    issuer: origin,
    resources: [...mcpEndpoints().keys()].map((path) => `${origin}${path}`),
    // Clients that omit `resource` (pre-RFC 8707) get the unified endpoint.
    defaultResource: `${origin}/v1/mcp`,
    authorizeEndpoint: AUTHORIZE_PATH,
    tokenEndpoint: TOKEN_PATH,
    clientRegistrationEndpoint: REGISTER_PATH,
    scopesSupported: SCOPES_SUPPORTED,
    accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTTL: REFRESH_TOKEN_TTL_SECONDS,
    // CIMD fetches client URLs; only safe with the strictly-public fetch flag (SSRF).
    clientIdMetadataDocumentEnabled: hasStrictlyPublicFetch(),
    onError: ({ code, status, internal }) => {
      log({ event: "oauth_error", code, status, category: internal.category, reason: internal.reason });
    },
  });
  authorizationServers.set(origin, server);
  return server;
}

/** An origin's protected resources, each handing authenticated requests to `app`. */
function buildProtectedResources(origin: string, app: FetchApp): ProtectedResources {
  const authorizationServer = authorizationServerFor(origin);
  const resources: ProtectedResources = new Map();
  for (const [path, endpoint] of mcpEndpoints()) {
    const server = new OAuthResourceServer<Env, CallerProps>({
      resourceMetadata: {
        resource: `${origin}${path}`,
        authorization_servers: [origin],
        resource_name:
          endpoint.kind === "unified"
            ? "MCP Edge Gateway (all APIs)"
            : `MCP Edge Gateway: ${endpoint.vendor}`,
      },
      requiredScopes: REQUIRED_SCOPES,
      validateToken: (env) => async (resource, token) => {
        const result = await authorizationServer
          .validateToken(resource, token, env)
          .catch((error: unknown) => {
            // The library answers other throws with a bare 503: say which dependency, and when to retry.
            if (!isKvUnavailable(error)) throw error;
            throw new OAuthError("temporarily_unavailable", {
              description: `${error.message} (token validation needs it)`,
              statusCode: 503,
              headers: { "Retry-After": String(KV_RETRY_AFTER_SECONDS) },
            });
          });
        if (result === null) return null;
        // A user removed from the configuration loses access on their next request.
        const props = result.props as CallerProps | undefined;
        if (
          typeof props?.userId !== "string" ||
          resolveUser(loadAuthConfig(env), props.userId) === undefined
        ) {
          return null;
        }
        return result;
      },
      handler: {
        fetch: (request, env, ctx) => serveProtected(request, env, ctx, origin, app),
      },
    });
    resources.set(path, { endpoint, server });
  }
  return resources;
}

interface AvailabilityResult {
  availability: Map<string, VendorAvailability>;
  /** Set when KV failed and the map holds only what needs no KV. */
  degraded?: KvUnavailableError;
}

async function availabilityFor(
  env: Env,
  user: ResolvedUser,
  allowlist: TeamAllowlist | undefined,
  origin: string,
): Promise<AvailabilityResult> {
  try {
    return { availability: await computeAvailability(env, user, allowlist, origin) };
  } catch (error) {
    // KV can fail: degrade to what needs no KV (organisation credentials, keyless vendors)
    // rather than failing every request; a tool call reads its credential again anyway.
    log({ event: "credential_listing_failed", error: errorText(error) });
    const unavailable = await computeAvailability(
      { ...env, CREDENTIALS_ENCRYPTION_KEY: undefined },
      user,
      allowlist,
      origin,
    ).catch(() => new Map<string, VendorAvailability>());
    return { availability: unavailable, ...(isKvUnavailable(error) ? { degraded: error } : {}) };
  }
}

/**
 * Hands an authenticated MCP request to the app with its `Caller`. What the message is only the
 * MCP endpoint knows (it parses the body once), so the caller loads its vendor availability when
 * the endpoint asks (`prepare`), and carries the step-up answer the endpoint gives a write tool
 * called without `mcp:write`.
 */
async function serveProtected(
  request: Request,
  env: Env,
  ctx: OAuthResourceContext<CallerProps>,
  origin: string,
  app: FetchApp,
): Promise<Response> {
  const config = loadAuthConfig(env);
  const user = resolveUser(config, ctx.props.userId);
  if (user === undefined) throw new Error("validated token without a configured user");
  if (!ctx.auth.scope.includes(SCOPE_READ)) {
    return insufficientScope(ctx.auth, [SCOPE_READ], "This token does not allow using MCP tools");
  }
  const allowlist = teamAllowlist(config, user.teamId);
  let availability: ReadonlyMap<string, VendorAvailability> = new Map();
  let prepared: Promise<void> | undefined;
  const prepare = async (message: CallerMessage): Promise<void> => {
    // The handshake looks at no vendor: no credential lookups for it.
    const loaded = message.needsVendors ? await availabilityFor(env, user, allowlist, origin) : undefined;
    if (loaded !== undefined) availability = loaded.availability;
    const degraded = loaded?.degraded;
    if (degraded === undefined) return;
    // A tool whose vendor the degraded listing lost (personal or team credentials live in KV) is
    // a storage outage to its caller, not an unknown tool.
    const vendor = message.toolVendor?.();
    if (vendor !== undefined && availability.get(vendor)?.available !== true) throw degraded;
  };
  const caller = createCaller(
    {
      userId: user.id,
      ...(user.teamId === undefined ? {} : { teamId: user.teamId, role: user.role ?? "member" }),
    },
    allowlist,
    ctx.auth.scope,
    (vendor) => availability.get(vendor)?.available ?? false,
    {
      prepare: (message) => {
        prepared ??= prepare(message);
        return prepared;
      },
      writeScopeChallenge: () => insufficientScope(ctx.auth, REQUIRED_SCOPES, WRITE_SCOPE_DESCRIPTION),
      origin,
      availability: () => availability,
    },
  );
  return app.fetch(request, env, contextWithProps(ctx, { caller }));
}

/** An OAuth-shaped JSON body for the provider's bare (bodiless) error answers. */
async function ensureJsonError(response: Response): Promise<Response> {
  if (response.status < 400) return response;
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) return response;
  const challenge = response.headers.get("www-authenticate") ?? "";
  const [error, description] = ((): [string, string] => {
    switch (response.status) {
      case 401:
        return challenge.includes('error="invalid_token"')
          ? ["invalid_token", "The access token is invalid, expired, revoked or for another resource."]
          : ["unauthorized", "This endpoint needs an OAuth access token; see WWW-Authenticate."];
      case 403:
        return ["insufficient_scope", "The access token does not grant this."];
      case 404:
        return ["not_found", "No such OAuth endpoint."];
      case 405:
        return ["method_not_allowed", `Use ${response.headers.get("allow") ?? "another method"}.`];
      case 503:
        return ["temporarily_unavailable", "Token validation is unavailable; retry shortly."];
      default:
        return response.status >= 500
          ? ["server_error", "The authorization server failed."]
          : ["invalid_request", "Bad request."];
    }
  })();
  await response.body?.cancel();
  return oauthError(response.status, error, description, Object.fromEntries(response.headers));
}

/** The protected resource serving a path, if any (exact path or a descendant). */
function resourceFor(resources: ProtectedResources, pathname: string): ProtectedResource | undefined {
  const match = /^\/v1\/(?:([a-z0-9-]+)\/)?mcp(?:\/|$)/.exec(pathname);
  if (match === null) return undefined;
  const vendor = match[1];
  // `/v1/mcp/...` is the unified resource unless a vendor is literally named `mcp`.
  return resources.get(vendor === undefined ? "/v1/mcp" : `/v1/${vendor}/mcp`);
}

/** Paths whose errors OAuth clients read: RFC 6749 `{error, error_description}`. */
export function isOAuthSurface(path: string): boolean {
  return path === AUTHORIZE_PATH || path.startsWith("/oauth/") || path.startsWith("/.well-known/");
}

let authOffAnnounced = false;

function announceAuthOff(): void {
  if (authOffAnnounced) return;
  authOffAnnounced = true;
  log({
    event: "client_auth_off",
    message:
      "GATEWAY_AUTH=none: MCP client authentication is OFF. Every caller reaches every vendor with the " +
      "organisation's shared credentials. Use this for local development only.",
  });
}

/** The token endpoint: the library's, with refresh-token reuse detection around it (refresh-reuse.ts). */
async function tokenEndpoint(
  authorizationServer: OAuthAuthorizationServer<Env>,
  request: Request,
  env: Env,
  ctx: ExecutionContext,
): Promise<Response> {
  const refresh = await readRefreshRequest(request, env);
  if (refresh !== undefined && isReuse(refresh)) {
    const answer = await revokeReusedGrant(refresh, authorizationServer.getOAuthApi(env));
    recordAudit(env, (p) => ctx.waitUntil(p), {
      type: "token_revoked",
      outcome: "success",
      userId: refresh.userId,
      teamId: resolveUser(loadAuthConfig(env), refresh.userId)?.teamId,
      detail: "refresh token reuse: the whole grant",
    });
    return answer;
  }
  const response = await ensureJsonError(await authorizationServer.fetch(request, env, ctx));
  if (refresh !== undefined && response.status === 200) {
    await recordRotation(refresh, env, REFRESH_TOKEN_TTL_SECONDS);
  }
  return response;
}

/**
 * #14 audit: `client_registered` for a dynamic registration (RFC 7591) the library accepted; the
 * gateway-wide log (nobody is signed in). Only the library's generated client id is kept, never
 * the client's self-chosen name or URIs. Client ID Metadata Documents have no registration step:
 * such a client first appears in its `consent_granted` event (its id is its document's URL).
 */
async function auditRegistration(answer: Response, env: Env, ctx: ExecutionContext): Promise<void> {
  let clientId: unknown;
  try {
    clientId = ((await answer.clone().json()) as { client_id?: unknown }).client_id;
  } catch {
    return;
  }
  if (typeof clientId !== "string") return;
  recordAudit(env, (p) => ctx.waitUntil(p), {
    type: "client_registered",
    outcome: "success",
    clientId,
    detail: "dynamic client registration",
  });
}

/**
 * Wraps the app: with auth on, `/v1/` MCP endpoints go through their resource
 * servers, OAuth protocol endpoints through the authorization server, and
 * everything else (health, sign-in, consent, credentials pages) to the app.
 */
export function createAuthGateway(app: FetchApp): FetchApp {
  const resourcesByOrigin = boundedCache<string, ProtectedResources>(MAX_CACHED_ORIGINS);
  const resourcesFor = (origin: string) =>
    memoized(resourcesByOrigin, origin, () => buildProtectedResources(origin, app));
  return {
    async fetch(request, rawEnv, ctx) {
      // Every KV operation below is bounded and fails as a typed 503 (kv-guard.ts).
      const env = withGuardedKv(rawEnv);
      try {
        const config = loadAuthConfig(env);
        if (!config.required) {
          announceAuthOff();
          return await app.fetch(request, env, ctx);
        }
        const url = new URL(request.url);
        const path = url.pathname;
        const isProtocolPath =
          path === AS_METADATA_PATH ||
          path === TOKEN_PATH ||
          path === REGISTER_PATH ||
          path.startsWith(PRM_PATH);
        const isApiPath = path === "/v1" || path.startsWith("/v1/");
        if (!isProtocolPath && !isApiPath) return await app.fetch(request, env, ctx);

        const origin = canonicalOrigin(config, request);
        const authorizationServer = authorizationServerFor(origin);
        const canonical =
          url.origin === origin ? request : new Request(`${origin}${url.pathname}${url.search}`, request);

        if (path === TOKEN_PATH) return await tokenEndpoint(authorizationServer, canonical, env, ctx);
        if (path === AS_METADATA_PATH || path === REGISTER_PATH) {
          const answer = await ensureJsonError(await authorizationServer.fetch(canonical, env, ctx));
          if (path === REGISTER_PATH && answer.status === 201) await auditRegistration(answer, env, ctx);
          return answer;
        }
        if (path === PRM_PATH || path === `${PRM_PATH}/`) {
          // Root form: the unified endpoint's metadata, for clients that only try the root.
          const unified = resourcesFor(origin).get("/v1/mcp");
          const metadataRequest = new Request(`${origin}${PRM_PATH}/v1/mcp`, { method: request.method });
          if (unified !== undefined)
            return await ensureJsonError(await unified.server.fetch(metadataRequest, env, ctx));
        }
        if (path.startsWith(`${PRM_PATH}/`)) {
          const resource = resourceFor(resourcesFor(origin), path.slice(PRM_PATH.length));
          if (resource === undefined) return await ensureJsonError(new Response(null, { status: 404 }));
          return await ensureJsonError(await resource.server.fetch(canonical, env, ctx));
        }
        const resource = resourceFor(resourcesFor(origin), path);
        if (
          resource === undefined ||
          (resource.endpoint.kind === "vendor" && !hasVendor(resource.endpoint.vendor))
        ) {
          throw new GatewayError("not_found", `No MCP endpoint at ${path}`, {
            details: { hint: "MCP endpoints are /v1/mcp and /v1/<vendor>/mcp." },
          });
        }
        // The resource server sets `props`/`auth` on the context it gets: hand it a fresh one.
        const resourceCtx = contextWithProps(ctx, {});
        return await ensureJsonError(await resource.server.fetch(canonical, env, resourceCtx));
      } catch (error) {
        if (error instanceof GatewayError) {
          // OAuth clients parse RFC 6749 errors on the OAuth surface; everything else gets the gateway's shape.
          if (isOAuthSurface(new URL(request.url).pathname)) {
            return oauthErrorResponse(oauthErrorFromGateway(error));
          }
          return error.getResponse(crypto.randomUUID());
        }
        return lastResortResponse(error);
      }
    },
  };
}
