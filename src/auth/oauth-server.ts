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
 * Scopes: `mcp:read` lists tools and calls read-only ones (GET/HEAD);
 * `mcp:write` calls the rest. The 401 challenge asks for both; a user can
 * untick `mcp:write` on the consent page, and a write tool then answers 403
 * `insufficient_scope` (step-up).
 *
 * @module
 */

import {
  insufficientScope,
  OAuthAuthorizationServer,
  OAuthError,
  type OAuthResourceContext,
  OAuthResourceServer,
} from "@cloudflare/workers-oauth-provider";
import { readTextUpTo } from "../body-text.ts";
import { hasVendor, vendorNames } from "../bundle/registry.ts";
import type { ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { plainHttpAllowedHost } from "../config.ts";
import { GatewayError, lastResortResponse } from "../errors.ts";
import { errorText, log } from "../log.ts";
import { ACCESS_TOKEN_TTL_SECONDS, REFRESH_TOKEN_TTL_SECONDS } from "../storage/keys.ts";
import { computeAvailability, rememberCallerContext, type VendorAvailability } from "./availability.ts";
import {
  type Caller,
  type CallerProps,
  createCaller,
  type McpEndpoint,
  type TeamAllowlist,
} from "./caller.ts";
import { attachCaller } from "./caller-context.ts";
import { type AuthConfig, loadAuthConfig, type ResolvedUser, resolveUser, teamAllowlist } from "./config.ts";
import {
  isKvUnavailable,
  KV_RETRY_AFTER_SECONDS,
  type KvUnavailableError,
  withGuardedKv,
} from "./kv-guard.ts";
import { isReuse, readRefreshRequest, recordRotation, revokeReusedGrant } from "./refresh-reuse.ts";

export const SCOPE_READ = "mcp:read";
export const SCOPE_WRITE = "mcp:write";
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
/** Methods that do not change upstream state: callable with `mcp:read` alone. */
const READ_ONLY_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
/** The auth layer peeks at the body only up to the MCP endpoint's own limit. */
const MAX_PEEK_BODY_BYTES = 4 * 1024 * 1024;

/** A fetch handler the resource servers hand authenticated requests to (the hono app). */
export interface FetchApp {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

/**
 * Resolves a tool name as an endpoint lists it (`findTool` of src/mcp/catalog.ts). The Worker
 * entry hands it down: the auth layer sits below the MCP layer and does not import it.
 */
export type ToolLookup = (
  endpoint: McpEndpoint,
  caller: Caller | undefined,
  name: string,
) => { bundle: VendorBundle; recipe: ToolRecipe } | undefined;

/** The app behind the resource servers, with the tool lookup the scope checks need. */
export interface ProtectedApp extends FetchApp {
  findTool: ToolLookup;
}

interface ProtectedResource {
  endpoint: McpEndpoint;
  server: OAuthResourceServer<Env, CallerProps>;
}

export interface AuthServers {
  origin: string;
  authorizationServer: OAuthAuthorizationServer<Env>;
  /** By resource path (`/v1/mcp`, `/v1/<vendor>/mcp`). */
  resources: Map<string, ProtectedResource>;
}

function hasStrictlyPublicFetch(): boolean {
  const flags = (globalThis as { Cloudflare?: { compatibilityFlags?: Record<string, boolean> } }).Cloudflare
    ?.compatibilityFlags;
  return flags?.global_fetch_strictly_public === true;
}

/** The canonical origin: `GATEWAY_PUBLIC_URL` when set, else the request's. */
export function canonicalOrigin(config: AuthConfig, request: Request): string {
  return config.publicUrl ?? new URL(request.url).origin;
}

const serversByOrigin = new Map<string, AuthServers>();

/**
 * The provider instances for an origin (built once per isolate and origin).
 * Throws `invalid_configuration` for a plain-http origin off loopback: OAuth 2.1 needs https.
 */
export function authServersFor(origin: string, app: ProtectedApp | undefined = appForResources): AuthServers {
  const cached = serversByOrigin.get(origin);
  if (cached !== undefined) return cached;
  const url = new URL(origin);
  if (url.protocol !== "https:" && !plainHttpAllowedHost(url.hostname)) {
    throw new GatewayError(
      "invalid_configuration",
      "OAuth needs https (plain http only on localhost). Serve the gateway over https, set GATEWAY_PUBLIC_URL, or set GATEWAY_AUTH=none for local use.",
    );
  }
  if (app === undefined)
    throw new Error("authServersFor: the app is not wired yet (createAuthGateway first)");
  const unified = `${origin}/v1/mcp`;
  const endpoints = new Map<string, McpEndpoint>([["/v1/mcp", { kind: "unified" }]]);
  for (const vendor of vendorNames()) endpoints.set(`/v1/${vendor}/mcp`, { kind: "vendor", vendor });

  const authorizationServer = new OAuthAuthorizationServer<Env>({
    issuer: origin,
    resources: [...endpoints.keys()].map((path) => `${origin}${path}`),
    // Clients that omit `resource` (pre-RFC 8707) get the unified endpoint.
    defaultResource: unified,
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

  const resources = new Map<string, ProtectedResource>();
  for (const [path, endpoint] of endpoints) {
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
        fetch: (request, env, ctx) => serveProtected(request, env, ctx, endpoint, origin, app),
      },
    });
    resources.set(path, { endpoint, server });
  }

  const servers: AuthServers = { origin, authorizationServer, resources };
  if (serversByOrigin.size >= MAX_CACHED_ORIGINS) {
    const oldest = serversByOrigin.keys().next().value;
    if (oldest !== undefined) serversByOrigin.delete(oldest);
  }
  serversByOrigin.set(origin, servers);
  return servers;
}

let appForResources: ProtectedApp | undefined;

/** What a POST asks for: the JSON-RPC method and, for `tools/call`, the tool (read from a clone). */
async function peekMessage(request: Request): Promise<{ method?: string; tool?: string }> {
  if (request.method !== "POST") return {};
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_PEEK_BODY_BYTES) return {};
  const stream = request.clone().body;
  if (stream === null) return {};
  // Streamed without a declared length: read at most the limit (the MCP endpoint refuses more).
  const reader = stream.getReader();
  const text = await readTextUpTo(reader, MAX_PEEK_BODY_BYTES).catch(() => undefined);
  if (text === undefined) {
    await reader.cancel().catch(() => {});
    return {};
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== "object" || body === null || Array.isArray(body)) return {};
    const message = body as { method?: unknown; params?: { name?: unknown } };
    if (typeof message.method !== "string") return {};
    const tool =
      message.method === "tools/call" && typeof message.params?.name === "string"
        ? message.params.name
        : undefined;
    return { method: message.method, ...(tool === undefined ? {} : { tool }) };
  } catch {
    return {}; // not JSON: the MCP endpoint answers that itself
  }
}

/** Messages that never look at vendors: no credential lookups for the handshake. */
const VENDOR_FREE_METHODS = new Set(["initialize", "notifications/initialized", "ping", "server/discover"]);

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

async function serveProtected(
  request: Request,
  env: Env,
  ctx: OAuthResourceContext<CallerProps>,
  endpoint: McpEndpoint,
  origin: string,
  app: ProtectedApp,
): Promise<Response> {
  const config = loadAuthConfig(env);
  const user = resolveUser(config, ctx.props.userId);
  if (user === undefined) throw new Error("validated token without a configured user");
  if (!ctx.auth.scope.includes(SCOPE_READ)) {
    return insufficientScope(ctx.auth, [SCOPE_READ], "This token does not allow using MCP tools");
  }
  const allowlist = teamAllowlist(config, user.teamId);
  const message = await peekMessage(request);
  const { availability, degraded } =
    message.method !== undefined && VENDOR_FREE_METHODS.has(message.method)
      ? { availability: new Map<string, VendorAvailability>(), degraded: undefined }
      : await availabilityFor(env, user, allowlist, origin);
  if (degraded !== undefined && message.tool !== undefined) {
    // A tool whose vendor the degraded listing lost (personal or team credentials live in KV) is
    // a storage outage to its caller, not an unknown tool.
    const vendor = app.findTool(endpoint, undefined, message.tool)?.bundle.vendor;
    if (vendor !== undefined && availability.get(vendor)?.available !== true) throw degraded;
  }
  const caller = createCaller(
    {
      userId: user.id,
      ...(user.teamId === undefined ? {} : { teamId: user.teamId, role: user.role ?? "member" }),
    },
    allowlist,
    ctx.auth.scope,
    (vendor) => availability.get(vendor)?.available ?? false,
  );
  rememberCallerContext(caller, { availability, origin });

  if (!ctx.auth.scope.includes(SCOPE_WRITE) && message.tool !== undefined) {
    const resolved = app.findTool(endpoint, caller, message.tool);
    if (resolved !== undefined && !READ_ONLY_METHODS.has(resolved.recipe.method)) {
      return insufficientScope(
        ctx.auth,
        REQUIRED_SCOPES,
        "This tool changes data: it needs the mcp:write scope",
      );
    }
  }
  attachCaller(request, caller);
  return app.fetch(request, env, ctx);
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
  const headers = new Headers(response.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.delete("content-length");
  await response.body?.cancel();
  return new Response(JSON.stringify({ error, error_description: description }), {
    status: response.status,
    headers,
  });
}

/** The protected resource serving a path, if any (exact path or a descendant). */
function resourceFor(servers: AuthServers, pathname: string): ProtectedResource | undefined {
  const match = /^\/v1\/(?:([a-z0-9-]+)\/)?mcp(?:\/|$)/.exec(pathname);
  if (match === null) return undefined;
  const vendor = match[1];
  // `/v1/mcp/...` is the unified resource unless a vendor is literally named `mcp`.
  return servers.resources.get(vendor === undefined ? "/v1/mcp" : `/v1/${vendor}/mcp`);
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
  servers: AuthServers,
  request: Request,
  env: Env,
  ctx: ExecutionContext,
): Promise<Response> {
  const refresh = await readRefreshRequest(request, env);
  if (refresh !== undefined && isReuse(refresh)) {
    return revokeReusedGrant(refresh, servers.authorizationServer.getOAuthApi(env));
  }
  const response = await ensureJsonError(await servers.authorizationServer.fetch(request, env, ctx));
  if (refresh !== undefined && response.status === 200) {
    await recordRotation(refresh, env, REFRESH_TOKEN_TTL_SECONDS);
  }
  return response;
}

/**
 * Wraps the app: with auth on, `/v1/` MCP endpoints go through their resource
 * servers, OAuth protocol endpoints through the authorization server, and
 * everything else (health, sign-in, consent, credentials pages) to the app.
 */
export function createAuthGateway(app: ProtectedApp): FetchApp {
  appForResources = app;
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
        const servers = authServersFor(origin, app);
        const canonical =
          url.origin === origin ? request : new Request(`${origin}${url.pathname}${url.search}`, request);

        if (path === TOKEN_PATH) return await tokenEndpoint(servers, canonical, env, ctx);
        if (path === AS_METADATA_PATH || path === REGISTER_PATH) {
          return await ensureJsonError(await servers.authorizationServer.fetch(canonical, env, ctx));
        }
        if (path === PRM_PATH || path === `${PRM_PATH}/`) {
          // Root form: the unified endpoint's metadata, for clients that only try the root.
          const unified = servers.resources.get("/v1/mcp");
          const metadataRequest = new Request(`${origin}${PRM_PATH}/v1/mcp`, { method: request.method });
          if (unified !== undefined)
            return await ensureJsonError(await unified.server.fetch(metadataRequest, env, ctx));
        }
        if (path.startsWith(`${PRM_PATH}/`)) {
          const resource = resourceFor(servers, path.slice(PRM_PATH.length));
          if (resource === undefined) return await ensureJsonError(new Response(null, { status: 404 }));
          return await ensureJsonError(await resource.server.fetch(canonical, env, ctx));
        }
        const resource = resourceFor(servers, path);
        if (
          resource === undefined ||
          (resource.endpoint.kind === "vendor" && !hasVendor(resource.endpoint.vendor))
        ) {
          throw new GatewayError("not_found", `No MCP endpoint at ${path}`, {
            details: { hint: "MCP endpoints are /v1/mcp and /v1/<vendor>/mcp." },
          });
        }
        // The resource server sets `props`/`auth` on the context it gets: hand it a fresh one.
        const resourceCtx = {
          waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise),
          passThroughOnException: () => ctx.passThroughOnException(),
          props: {},
        } as unknown as ExecutionContext;
        return await ensureJsonError(await resource.server.fetch(canonical, env, resourceCtx));
      } catch (error) {
        if (error instanceof GatewayError) {
          // OAuth clients parse RFC 6749 errors on the OAuth surface; everything else gets the gateway's shape.
          if (isOAuthSurface(new URL(request.url).pathname)) {
            const code =
              error.status === 503
                ? "temporarily_unavailable"
                : error.status >= 500
                  ? "server_error"
                  : "invalid_request";
            return Response.json(
              { error: code, error_description: error.message },
              { status: error.status, headers: { ...error.headers, "cache-control": "no-store" } },
            );
          }
          return error.getResponse(crypto.randomUUID());
        }
        return lastResortResponse(error);
      }
    },
  };
}
