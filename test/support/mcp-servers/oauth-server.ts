/**
 * (1d) An OAuth-protected MCP server and its authorization server on one 127.0.0.1 origin, as
 * the MCP authorization spec (2025-06-18, 2025-11-25) has them:
 *
 * - the MCP endpoint `/mcp` (stateless, v2 SDK, the test catalogue plus `whoami` and
 *   `admin_action`) is a resource server: no or a bad token → 401 with
 *   `WWW-Authenticate: Bearer resource_metadata="…", scope="mcp:read"` (the SDK's
 *   `requireBearerAuth`, checking the token's audience against `/mcp`); `admin_action` needs
 *   `mcp:admin` too, and a token without it gets 403 `insufficient_scope` naming both scopes
 *   (step-up);
 * - Protected Resource Metadata (RFC 9728) at `/.well-known/oauth-protected-resource/mcp` and
 *   AS metadata (RFC 8414) at `/.well-known/oauth-authorization-server` (the SDK's
 *   `oauthMetadataResponse`); the issuer is the origin;
 * - `POST /register`: dynamic client registration (RFC 7591): public clients
 *   (`token_endpoint_auth_method: "none"`) and confidential ones (`client_secret_post`,
 *   `client_secret_basic`);
 * - `GET /authorize`: auto-approves (no user, no page) by redirecting to the exact registered
 *   `redirect_uri` with a code; requires PKCE S256 and a `resource` (RFC 8707) this server
 *   serves (`/mcp`, or `/other/mcp` to mint tokens for another audience);
 * - `POST /token`: `authorization_code` (PKCE verified, redirect URI and client checked, single
 *   use) and `refresh_token` (rotated: the old one dies).
 *
 * The test controls token life, never time: `expireAccessTokens()` makes every issued access
 * token (or one) expired (the client must refresh), `revokeAll()` kills access and refresh tokens.
 * `requests` records what arrived (method, path, the Authorization header); over HTTP,
 * `POST /_control/expire-tokens[?token=]` and `POST /_control/requests[?since=n]`.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  type CallToolResult,
  createMcpHandler,
  getOAuthProtectedResourceMetadataUrl,
  OAuthError,
  OAuthErrorCode,
  type OAuthMetadata,
  oauthMetadataResponse,
  Server,
  verifyBearerToken,
} from "@modelcontextprotocol/server";
import { catalogControl, registerTestCatalog, TEST_CAPABILITIES } from "./catalog.ts";
import { Gates } from "./gates.ts";
import { type HostedServer, hostFetchHandler } from "./http-host.ts";

export const OAUTH_SERVER_INFO = { name: "oauth-test-server", version: "1.0.0" } as const;
export const SCOPE_READ = "mcp:read";
export const SCOPE_ADMIN = "mcp:admin";
export const SUPPORTED_SCOPES = [SCOPE_READ, SCOPE_ADMIN] as const;
/** A second audience this AS mints tokens for: such a token must not open `/mcp`. */
export const OTHER_RESOURCE_PATH = "/other/mcp";
const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
const MAX_RECORDED = 5000;
const TOKEN_AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"] as const;
type TokenAuthMethod = (typeof TOKEN_AUTH_METHODS)[number];

interface RegisteredClient {
  clientId: string;
  clientSecret: string | undefined;
  redirectUris: string[];
  authMethod: TokenAuthMethod;
  clientName: string | undefined;
}

interface Grant {
  clientId: string;
  scopes: string[];
  resource: string;
}

interface CodeRecord extends Grant {
  redirectUri: string;
  challenge: string;
}

interface AccessRecord extends Grant {
  expiresAt: number;
}

export interface RecordedOAuthRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface OAuthMcpServer extends HostedServer {
  gates: Gates;
  /** The AS issuer (the origin). */
  issuer: string;
  resourceMetadataUrl: string;
  requests: RecordedOAuthRequest[];
  clients(): RegisteredClient[];
  /** Every access token issued so far (or only `token`) is expired from now on. */
  expireAccessTokens(token?: string): void;
  /** Every access and refresh token is revoked. */
  revokeAll(): void;
  /** Access tokens issued (by both grants). */
  tokensIssued(): number;
}

const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");
const token = (prefix: string) => `${prefix}_${randomBytes(24).toString("base64url")}`;

function oauthError(status: number, error: string, description: string): Response {
  return Response.json(
    { error, error_description: description },
    { status, headers: { "cache-control": "no-store" } },
  );
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/** The requested scopes this server knows, or `mcp:read` when none were asked for. */
function grantedScopes(requested: string | null): string[] {
  const known = (requested ?? "")
    .split(" ")
    .filter((s) => (SUPPORTED_SCOPES as readonly string[]).includes(s));
  return known.length > 0 ? known : [SCOPE_READ];
}

export async function startOAuthServer(options: { port?: number } = {}): Promise<OAuthMcpServer> {
  const gates = new Gates();
  const definitions = { changed: false };
  const clients = new Map<string, RegisteredClient>();
  const codes = new Map<string, CodeRecord>();
  const accessTokens = new Map<string, AccessRecord>();
  const refreshTokens = new Map<string, Grant>();
  const requests: RecordedOAuthRequest[] = [];
  let issued = 0;
  let origin = "";
  const mcpUrl = () => `${origin}/mcp`;
  const audiences = () => [mcpUrl(), origin + OTHER_RESOURCE_PATH];

  const metadata = (): OAuthMetadata => ({
    issuer: origin,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    registration_endpoint: `${origin}/register`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: [...TOKEN_AUTH_METHODS],
    scopes_supported: [...SUPPORTED_SCOPES],
  });
  const resourceMetadataUrl = () => getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl()));

  const verifier = {
    verifyAccessToken: async (value: string): Promise<AuthInfo> => {
      const record = accessTokens.get(value);
      if (record === undefined) throw new OAuthError(OAuthErrorCode.InvalidToken, "unknown token");
      return {
        token: value,
        clientId: record.clientId,
        scopes: record.scopes,
        expiresAt: record.expiresAt,
        resource: new URL(record.resource),
      };
    },
  };

  const issue = (grant: Grant) => {
    issued++;
    const access = token("at");
    const refresh = token("rt");
    accessTokens.set(access, {
      ...grant,
      expiresAt: Math.floor(Date.now() / 1000) + ACCESS_TOKEN_LIFETIME_SECONDS,
    });
    refreshTokens.set(refresh, grant);
    return Response.json(
      {
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
        refresh_token: refresh,
        scope: grant.scopes.join(" "),
      },
      { headers: { "cache-control": "no-store" } },
    );
  };

  const register = async (request: Request): Promise<Response> => {
    const body = (await request.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const uris = body?.redirect_uris;
    if (!Array.isArray(uris) || uris.length === 0 || !uris.every(isHttpUrl)) {
      return oauthError(
        400,
        "invalid_redirect_uri",
        "redirect_uris must be a non-empty list of http(s) URLs",
      );
    }
    const method = (body?.token_endpoint_auth_method ?? "client_secret_basic") as TokenAuthMethod;
    if (!TOKEN_AUTH_METHODS.includes(method)) {
      return oauthError(400, "invalid_client_metadata", `unsupported token_endpoint_auth_method ${method}`);
    }
    const client: RegisteredClient = {
      clientId: token("client"),
      clientSecret: method === "none" ? undefined : token("secret"),
      redirectUris: uris,
      authMethod: method,
      clientName: typeof body?.client_name === "string" ? body.client_name : undefined,
    };
    clients.set(client.clientId, client);
    return Response.json(
      {
        ...body,
        client_id: client.clientId,
        ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
        client_id_issued_at: Math.floor(Date.now() / 1000),
        token_endpoint_auth_method: method,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
      },
      { status: 201 },
    );
  };

  const authorize = (url: URL): Response => {
    const q = url.searchParams;
    const client = clients.get(q.get("client_id") ?? "");
    const redirectUri = q.get("redirect_uri") ?? "";
    // Before the redirect URI is trusted, errors are answered here, never redirected.
    if (client === undefined) return oauthError(400, "invalid_client", "unknown client_id");
    if (!client.redirectUris.includes(redirectUri)) {
      return oauthError(400, "invalid_request", "redirect_uri is not registered for this client");
    }
    const target = new URL(redirectUri);
    const state = q.get("state");
    if (state !== null) target.searchParams.set("state", state);
    target.searchParams.set("iss", origin);
    const refuse = (error: string, description: string) => {
      target.searchParams.set("error", error);
      target.searchParams.set("error_description", description);
      return new Response(null, { status: 302, headers: { location: target.href } });
    };
    if (q.get("response_type") !== "code") return refuse("unsupported_response_type", "code only");
    const challenge = q.get("code_challenge");
    if (q.get("code_challenge_method") !== "S256" || challenge === null) {
      return refuse("invalid_request", "PKCE with S256 is required");
    }
    const resource = q.get("resource");
    if (resource === null || !audiences().includes(resource)) {
      return refuse("invalid_target", "resource must name an MCP server of this authorization server");
    }
    const code = token("code");
    codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      challenge,
      resource,
      scopes: grantedScopes(q.get("scope")),
    });
    target.searchParams.set("code", code);
    return new Response(null, { status: 302, headers: { location: target.href } });
  };

  /** The registered client the token request authenticates as, or undefined. */
  const authenticate = (request: Request, form: URLSearchParams): RegisteredClient | undefined => {
    const header = request.headers.get("authorization");
    let id = form.get("client_id") ?? undefined;
    let secret = form.get("client_secret") ?? undefined;
    let method: TokenAuthMethod = secret === undefined ? "none" : "client_secret_post";
    if (header?.startsWith("Basic ")) {
      const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      id = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
      method = "client_secret_basic";
    }
    const client = clients.get(id ?? "");
    if (client === undefined || client.authMethod !== method) return undefined;
    if (client.clientSecret !== undefined && !safeEqual(client.clientSecret, secret ?? "")) return undefined;
    return client;
  };

  const tokenEndpoint = async (request: Request): Promise<Response> => {
    const form = new URLSearchParams(await request.text());
    const client = authenticate(request, form);
    if (client === undefined) return oauthError(401, "invalid_client", "client authentication failed");
    const resource = form.get("resource");
    const grantType = form.get("grant_type");
    if (grantType === "authorization_code") {
      const code = form.get("code") ?? "";
      const record = codes.get(code);
      codes.delete(code);
      if (
        record === undefined ||
        record.clientId !== client.clientId ||
        record.redirectUri !== form.get("redirect_uri") ||
        !safeEqual(record.challenge, s256(form.get("code_verifier") ?? ""))
      ) {
        return oauthError(400, "invalid_grant", "bad code, redirect_uri or code_verifier");
      }
      if (resource !== null && resource !== record.resource) {
        return oauthError(400, "invalid_target", "resource differs from the authorization request");
      }
      return issue(record);
    }
    if (grantType === "refresh_token") {
      const refresh = form.get("refresh_token") ?? "";
      const grant = refreshTokens.get(refresh);
      if (grant === undefined || grant.clientId !== client.clientId) {
        return oauthError(400, "invalid_grant", "unknown or revoked refresh token");
      }
      if (resource !== null && resource !== grant.resource) {
        return oauthError(400, "invalid_target", "resource differs from the grant");
      }
      refreshTokens.delete(refresh); // rotation: a refresh token works once
      return issue(grant);
    }
    return oauthError(400, "unsupported_grant_type", `unsupported grant_type ${grantType}`);
  };

  const mcp = createMcpHandler(() => {
    const server = new Server(OAUTH_SERVER_INFO, { capabilities: TEST_CAPABILITIES });
    registerTestCatalog(server, {
      gates,
      definitions,
      extraTools: [
        {
          name: "whoami",
          description: "The client and scopes of the access token this call carried.",
          inputSchema: { type: "object", properties: {} },
          annotations: { readOnlyHint: true },
        },
        {
          name: "admin_action",
          description: `Needs the ${SCOPE_ADMIN} scope (a token without it gets 403 insufficient_scope).`,
          inputSchema: { type: "object", properties: {} },
        },
      ],
      callExtra: async (name, _args, ctx): Promise<CallToolResult | undefined> => {
        const auth = ctx.http?.authInfo;
        if (name === "whoami") {
          const who = { clientId: auth?.clientId ?? null, scopes: auth?.scopes ?? [] };
          return { content: [{ type: "text", text: JSON.stringify(who) }], structuredContent: who };
        }
        if (name === "admin_action") return { content: [{ type: "text", text: "admin action done" }] };
        return undefined;
      },
    });
    return server;
  });

  /** The step-up rule: a call of `admin_action` needs both scopes. */
  const requiredScopesOf = async (request: Request): Promise<string[]> => {
    const body = (await request
      .clone()
      .json()
      .catch(() => undefined)) as { method?: unknown; params?: { name?: unknown } } | undefined;
    return body?.method === "tools/call" && body.params?.name === "admin_action"
      ? [...SUPPORTED_SCOPES]
      : [SCOPE_READ];
  };

  const serveMcp = async (request: Request): Promise<Response> => {
    const requiredScopes = await requiredScopesOf(request);
    const bearer = { verifier, requiredScopes, resourceMetadataUrl: resourceMetadataUrl() };
    let authInfo: AuthInfo;
    try {
      authInfo = await verifyBearerToken(request.headers.get("authorization"), {
        ...bearer,
        expectedResource: new URL(mcpUrl()),
      });
    } catch (error) {
      return bearerAuthChallengeResponse(error, bearer);
    }
    return mcp.fetch(request, { authInfo });
  };

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    requests.push({
      method: request.method,
      path: url.pathname,
      authorization: request.headers.get("authorization") ?? undefined,
    });
    if (requests.length > MAX_RECORDED) requests.shift();
    const discovery = oauthMetadataResponse(request, {
      oauthMetadata: metadata(),
      resourceServerUrl: new URL(mcpUrl()),
      scopesSupported: [...SUPPORTED_SCOPES],
      resourceName: "OAuth test MCP server",
      dangerouslyAllowInsecureIssuerUrl: true,
    });
    if (discovery !== undefined) return discovery;
    if (url.pathname === "/register" && request.method === "POST") return register(request);
    if (url.pathname === "/authorize" && request.method === "GET") return authorize(url);
    if (url.pathname === "/token" && request.method === "POST") return tokenEndpoint(request);
    if (url.pathname === "/mcp") return serveMcp(request);
    return Response.json({ error: "not_found" }, { status: 404 });
  };

  const hosted = await hostFetchHandler(handler, {
    ...options,
    control: {
      ...catalogControl(gates, definitions),
      "expire-tokens": (query) => server.expireAccessTokens(query.get("token") ?? undefined),
      // What arrived (method, path, Authorization header), from `since` on: a test inside workerd
      // checks which credential the gateway sent.
      requests: (query) => requests.slice(Number(query.get("since") ?? 0)),
      "revoke-all": () => server.revokeAll(),
    },
  });
  origin = hosted.origin;
  const server: OAuthMcpServer = Object.assign(hosted, {
    gates,
    issuer: origin,
    resourceMetadataUrl: resourceMetadataUrl(),
    requests,
    clients: () => [...clients.values()],
    expireAccessTokens: (only?: string) => {
      for (const [value, record] of accessTokens) {
        if (only === undefined || value === only) record.expiresAt = 1; // 1970: past for any clock
      }
    },
    revokeAll: () => {
      accessTokens.clear();
      refreshTokens.clear();
    },
    tokensIssued: () => issued,
  });
  return server;
}
