/**
 * The gateway as an OAuth 2.1 client of an upstream MCP server (MCP authorization, revisions
 * 2025-03-26 … 2025-11-25), with oauth4webapi for the grants:
 *
 * - discovery from the upstream's 401: `WWW-Authenticate: Bearer resource_metadata=… scope=…`,
 *   then Protected Resource Metadata (RFC 9728: the header's URL, else
 *   `/.well-known/oauth-protected-resource/<path>`, else the root form), whose `resource` must
 *   cover the MCP URL; then the authorization server's metadata (RFC 8414 path insertion, OIDC
 *   discovery both ways), whose `issuer` must be the one asked for. No PRM at all is the
 *   2025-03-26 layout: the MCP origin is the issuer, and without metadata its `/authorize`,
 *   `/token`, `/register` are used;
 * - PKCE S256 always; an authorization server that does not advertise S256 is refused;
 * - `resource` (RFC 8707) on the authorization and token requests;
 * - client registration, in order: a pre-registered client, a client ID metadata document when
 *   the server advertises `client_id_metadata_document_supported`, dynamic registration
 *   (RFC 7591);
 * - token endpoint authentication `none`, `client_secret_basic` or `client_secret_post`.
 *
 * Everything the upstream and its authorization server send is hostile: URLs must be https
 * (http only to a loopback host), redirects are not followed, bodies are read up to
 * {@link MAX_METADATA_BYTES}, documents are validated with valibot.
 *
 * Pure protocol: no storage, no env. `mcp-credentials.ts` stores and applies what this finds.
 *
 * @module
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { readTextUpTo } from "../body-text.ts";
import { plainHttpAllowedHost } from "../config.ts";
import { pkceAuthorizationUrl } from "./state-record.ts";

/** Metadata documents and OAuth responses are small; a bigger answer is an attack or a mistake. */
export const MAX_METADATA_BYTES = 64 * 1024;
/** A `WWW-Authenticate` header longer than this is not parsed (bounded work on hostile input). */
const MAX_CHALLENGE_CHARS = 4096;
/** URLs in metadata: anything longer is not a real endpoint. */
const MAX_URL_CHARS = 2048;
/** Scopes requested at once: a longer list from metadata is cut. */
const MAX_SCOPES = 64;

/** One string union of what can go wrong, for pages, hints and tests. */
export type McpOAuthErrorCode =
  | "discovery_failed"
  | "resource_mismatch"
  | "pkce_unsupported"
  | "registration_unavailable"
  | "registration_failed"
  | "authorization_denied"
  | "invalid_callback"
  | "token_request_failed";

export class McpOAuthError extends Error {
  override readonly name = "McpOAuthError";
  readonly code: McpOAuthErrorCode;
  constructor(code: McpOAuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** How requests go out: an injectable `fetch` and the caller's cancellation. */
export interface McpOAuthRequestOptions {
  fetch?: typeof fetch | undefined;
  signal: AbortSignal;
}

/**
 * `raw` as a URL the gateway may request: absolute https (http only to a loopback host), no
 * user info, no fragment. `undefined` otherwise.
 */
export function safeOAuthUrl(raw: unknown): URL | undefined {
  if (typeof raw !== "string" || raw.length > MAX_URL_CHARS) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.username !== "" || url.password !== "" || url.hash !== "") return undefined;
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && plainHttpAllowedHost(url.hostname)) return url;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate

/** The parameters of a `Bearer` challenge that matter here. */
export interface BearerChallenge {
  resourceMetadata?: string;
  scope?: string;
  error?: string;
}

/**
 * The `Bearer` challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1 auth-params), or
 * `undefined` when there is none. One left-to-right scan, no regular expression: linear in the
 * header, which is capped at {@link MAX_CHALLENGE_CHARS}.
 */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  if (header == null || header.length > MAX_CHALLENGE_CHARS) return undefined;
  const params = new Map<string, string>();
  let scheme: string | undefined;
  let bearerSeen = false;
  let i = 0;
  const n = header.length;
  const isSpace = (c: string) => c === " " || c === "\t";
  const readToken = () => {
    const start = i;
    while (i < n && !isSpace(header[i] as string) && header[i] !== "," && header[i] !== "=") i++;
    return header.slice(start, i);
  };
  while (i < n) {
    while (i < n && (isSpace(header[i] as string) || header[i] === ",")) i++;
    if (i >= n) break;
    const token = readToken();
    let j = i;
    while (j < n && isSpace(header[j] as string)) j++;
    if (header[j] === "=" && token !== "") {
      // auth-param: name = token / quoted-string
      i = j + 1;
      while (i < n && isSpace(header[i] as string)) i++;
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && header[i] !== "," && !isSpace(header[i] as string)) i++;
        value = header.slice(start, i);
      }
      const name = token.toLowerCase();
      if (scheme === "bearer" && !params.has(name)) params.set(name, value);
    } else if (token === "") {
      i++;
    } else {
      scheme = token.toLowerCase();
      // Only the first Bearer challenge counts.
      if (scheme === "bearer") {
        if (bearerSeen) scheme = "bearer-again";
        bearerSeen = true;
      }
    }
  }
  if (!bearerSeen) return undefined;
  const pick = (name: string) => {
    const value = params.get(name);
    return value === undefined || value === ""
      ? {}
      : { [name === "resource_metadata" ? "resourceMetadata" : name]: value };
  };
  return { ...pick("resource_metadata"), ...pick("scope"), ...pick("error") };
}

// ---------------------------------------------------------------------------------------------
// Fetching hostile documents

/**
 * `fetch` that never follows a redirect (metadata must not lead elsewhere, least of all to
 * another scheme) and reads at most {@link MAX_METADATA_BYTES} of the body: what oauth4webapi
 * and the discovery below use.
 */
export function boundedFetch(base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, { ...init, redirect: "manual" });
    const reader = response.body?.getReader();
    const text = reader === undefined ? "" : await readTextUpTo(reader, MAX_METADATA_BYTES);
    if (text === undefined) {
      await reader?.cancel().catch(() => undefined);
      throw new McpOAuthError("discovery_failed", "The authorization server's answer is too large.");
    }
    const headers = new Headers();
    const type = response.headers.get("content-type");
    if (type !== null) headers.set("content-type", type);
    const challenge = response.headers.get("www-authenticate");
    if (challenge !== null) headers.set("www-authenticate", challenge);
    const location = response.headers.get("location");
    if (location !== null) headers.set("location", location);
    // 1xx/204/304 cannot carry a body.
    const bodyless = response.status === 204 || response.status === 304;
    return new Response(bodyless ? null : text, { status: response.status, headers });
  };
}

/** GET `url` as JSON: the parsed body on 200, `undefined` on any other status or unparsable body. */
async function getJson(url: URL, options: McpOAuthRequestOptions): Promise<unknown> {
  const response = await boundedFetch(options.fetch)(url.href, {
    headers: { Accept: "application/json", "MCP-Protocol-Version": "2025-11-25" },
    signal: options.signal,
  });
  if (response.status !== 200) return undefined;
  try {
    return JSON.parse(await response.text());
  } catch {
    return undefined;
  }
}

const URL_STRING = v.pipe(v.string(), v.maxLength(MAX_URL_CHARS));
const STRINGS = v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(MAX_SCOPES));

const ProtectedResourceMetadataSchema = v.object({
  resource: URL_STRING,
  authorization_servers: v.optional(v.pipe(v.array(URL_STRING), v.maxLength(16))),
  scopes_supported: v.optional(STRINGS),
});

const AuthorizationServerMetadataSchema = v.object({
  issuer: URL_STRING,
  authorization_endpoint: URL_STRING,
  token_endpoint: URL_STRING,
  registration_endpoint: v.optional(URL_STRING),
  scopes_supported: v.optional(STRINGS),
  code_challenge_methods_supported: v.optional(STRINGS),
  token_endpoint_auth_methods_supported: v.optional(STRINGS),
  client_id_metadata_document_supported: v.optional(v.boolean()),
  authorization_response_iss_parameter_supported: v.optional(v.boolean()),
});

const RegistrationResponseSchema = v.object({
  client_id: v.pipe(v.string(), v.minLength(1), v.maxLength(512)),
  client_secret: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  token_endpoint_auth_method: v.optional(v.pipe(v.string(), v.maxLength(64))),
});

// ---------------------------------------------------------------------------------------------
// Discovery

/** What the gateway needs to know about the authorization server (no secrets: safe in state records). */
export interface McpAuthServer {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
  scopesSupported?: string[];
  tokenEndpointAuthMethods?: string[];
  clientIdMetadataDocumentSupported?: boolean;
}

/** The outcome of discovery for one upstream MCP URL. */
export interface McpAuthDiscovery {
  /** The `resource` parameter: the PRM's `resource` (it covers the MCP URL), else the MCP URL. */
  resource: string;
  server: McpAuthServer;
  /** The scope to request: the challenge's, else the PRM's `scopes_supported`; absent: omit it. */
  scope?: string;
}

/** The PRM's `resource` covers `mcpUrl`: same origin, and its path is the URL's path or a parent of it. */
function resourceCovers(resource: string, mcpUrl: URL): boolean {
  const parsed = safeOAuthUrl(resource);
  if (parsed === undefined || parsed.origin !== mcpUrl.origin || parsed.search !== "") return false;
  const base = parsed.pathname.endsWith("/") ? parsed.pathname : `${parsed.pathname}/`;
  const path = mcpUrl.pathname.endsWith("/") ? mcpUrl.pathname : `${mcpUrl.pathname}/`;
  return path.startsWith(base);
}

function wellKnown(origin: string, name: string, path = ""): URL {
  return new URL(`${origin}/.well-known/${name}${path === "/" ? "" : path}`);
}

async function protectedResourceMetadata(
  mcpUrl: URL,
  challenge: BearerChallenge | undefined,
  options: McpOAuthRequestOptions,
): Promise<v.InferOutput<typeof ProtectedResourceMetadataSchema> | undefined> {
  const candidates: URL[] = [];
  const announced = safeOAuthUrl(challenge?.resourceMetadata);
  if (announced !== undefined) candidates.push(announced);
  if (mcpUrl.pathname !== "/")
    candidates.push(wellKnown(mcpUrl.origin, "oauth-protected-resource", mcpUrl.pathname));
  candidates.push(wellKnown(mcpUrl.origin, "oauth-protected-resource"));
  for (const url of candidates) {
    const parsed = v.safeParse(ProtectedResourceMetadataSchema, await getJson(url, options));
    if (!parsed.success) continue;
    if (!resourceCovers(parsed.output.resource, mcpUrl)) {
      // A document for another resource: using it would hand this server's grant to that one.
      throw new McpOAuthError(
        "resource_mismatch",
        `The upstream's protected resource metadata is for ${parsed.output.resource}, not ${mcpUrl.href}.`,
      );
    }
    return parsed.output;
  }
  return undefined;
}

/** RFC 8414 §3.1 and OIDC discovery: where an issuer's metadata may live, in the spec's order. */
function metadataUrls(issuer: URL): URL[] {
  const path = issuer.pathname.replace(/\/$/, "");
  if (path === "") {
    return [
      wellKnown(issuer.origin, "oauth-authorization-server"),
      wellKnown(issuer.origin, "openid-configuration"),
    ];
  }
  return [
    wellKnown(issuer.origin, "oauth-authorization-server", path),
    wellKnown(issuer.origin, "openid-configuration", path),
    new URL(`${issuer.origin}${path}/.well-known/openid-configuration`),
  ];
}

function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/$/, "") === b.replace(/\/$/, "");
}

/**
 * `legacy`: the 2025-03-26 layout, where the issuer was never announced, only the MCP origin's
 * metadata location: an issuer on that origin is accepted.
 */
async function authorizationServerMetadata(
  issuer: URL,
  options: McpOAuthRequestOptions,
  legacy = false,
): Promise<McpAuthServer | undefined> {
  for (const url of metadataUrls(issuer)) {
    const parsed = v.safeParse(AuthorizationServerMetadataSchema, await getJson(url, options));
    if (!parsed.success) continue;
    const m = parsed.output;
    const issuerOk = legacy
      ? safeOAuthUrl(m.issuer)?.origin === issuer.origin
      : sameIssuer(m.issuer, issuer.href);
    if (!issuerOk) {
      throw new McpOAuthError(
        "discovery_failed",
        `The authorization server's metadata names issuer ${m.issuer}, not ${issuer.href}.`,
      );
    }
    const authorizationEndpoint = safeOAuthUrl(m.authorization_endpoint);
    const tokenEndpoint = safeOAuthUrl(m.token_endpoint);
    const registrationEndpoint =
      m.registration_endpoint === undefined ? undefined : safeOAuthUrl(m.registration_endpoint);
    if (
      authorizationEndpoint === undefined ||
      tokenEndpoint === undefined ||
      (m.registration_endpoint !== undefined && registrationEndpoint === undefined)
    ) {
      throw new McpOAuthError("discovery_failed", "The authorization server's endpoints must be https URLs.");
    }
    if (!m.code_challenge_methods_supported?.includes("S256")) {
      throw new McpOAuthError(
        "pkce_unsupported",
        "The authorization server does not support PKCE with S256; the gateway does not connect without it.",
      );
    }
    return {
      issuer: m.issuer,
      authorizationEndpoint: authorizationEndpoint.href,
      tokenEndpoint: tokenEndpoint.href,
      ...(registrationEndpoint === undefined ? {} : { registrationEndpoint: registrationEndpoint.href }),
      ...(m.scopes_supported === undefined ? {} : { scopesSupported: m.scopes_supported }),
      ...(m.token_endpoint_auth_methods_supported === undefined
        ? {}
        : { tokenEndpointAuthMethods: m.token_endpoint_auth_methods_supported }),
      ...(m.client_id_metadata_document_supported === true
        ? { clientIdMetadataDocumentSupported: true }
        : {}),
    };
  }
  return undefined;
}

/** Space-separated scopes without duplicates, order kept. */
export function joinScopes(...lists: (string | readonly string[] | undefined)[]): string | undefined {
  const seen = new Set<string>();
  for (const list of lists) {
    if (list === undefined) continue;
    for (const scope of typeof list === "string" ? list.split(" ") : list) {
      if (scope !== "" && seen.size < MAX_SCOPES) seen.add(scope);
    }
  }
  return seen.size === 0 ? undefined : [...seen].join(" ");
}

/**
 * Finds the authorization server of the MCP server at `mcpUrl`, given the `WWW-Authenticate`
 * header of its 401 (or `null` when connecting before any request).
 */
export async function discoverMcpAuthorization(
  mcpUrl: URL,
  wwwAuthenticate: string | null,
  options: McpOAuthRequestOptions,
): Promise<McpAuthDiscovery> {
  const challenge = parseBearerChallenge(wwwAuthenticate);
  const prm = await protectedResourceMetadata(mcpUrl, challenge, options);
  let issuer: URL | undefined;
  if (prm !== undefined) {
    issuer = safeOAuthUrl(prm.authorization_servers?.[0]);
    if (issuer === undefined) {
      throw new McpOAuthError("discovery_failed", "The upstream names no usable authorization server.");
    }
  } else {
    // 2025-03-26: no PRM; the MCP server's origin is the authorization server.
    issuer = new URL(mcpUrl.origin);
  }
  let server = await authorizationServerMetadata(issuer, options, prm === undefined);
  if (server === undefined) {
    if (prm !== undefined) {
      throw new McpOAuthError(
        "discovery_failed",
        `No authorization server metadata found for ${issuer.href}.`,
      );
    }
    // 2025-03-26 fallback: the default endpoints at the MCP origin.
    server = {
      issuer: mcpUrl.origin,
      authorizationEndpoint: `${mcpUrl.origin}/authorize`,
      tokenEndpoint: `${mcpUrl.origin}/token`,
      registrationEndpoint: `${mcpUrl.origin}/register`,
    };
  }
  let scope = challenge?.scope ?? joinScopes(prm?.scopes_supported);
  // A refresh token needs `offline_access` at servers that list it (SEP-2207).
  if (scope !== undefined && server.scopesSupported?.includes("offline_access")) {
    scope = joinScopes(scope, ["offline_access"]);
  }
  return {
    resource: prm?.resource ?? mcpUrl.href,
    server,
    ...(scope === undefined ? {} : { scope }),
  };
}

// ---------------------------------------------------------------------------------------------
// Client registration

export type TokenEndpointAuthMethod = "none" | "client_secret_basic" | "client_secret_post";

/** The gateway's client at one authorization server. `secret` only for confidential clients. */
export interface McpOAuthClient {
  clientId: string;
  clientSecret?: string;
  authMethod: TokenEndpointAuthMethod;
  source: "pre-registered" | "metadata-document" | "dynamic";
}

export interface ClientRegistrationOptions extends McpOAuthRequestOptions {
  /** `<VENDOR>_OAUTH2_CLIENT_ID` / `_SECRET` (or the conformance context's). */
  preRegistered?: { clientId: string; clientSecret?: string | undefined } | undefined;
  /** The https URL of the gateway's client ID metadata document. */
  metadataDocumentUrl?: string | undefined;
  redirectUri: string;
  clientName: string;
}

/** With a secret: basic unless the server lists only post; without: none. */
function secretMethod(server: McpAuthServer): TokenEndpointAuthMethod {
  const methods = server.tokenEndpointAuthMethods;
  if (methods === undefined || methods.includes("client_secret_basic")) return "client_secret_basic";
  if (methods.includes("client_secret_post")) return "client_secret_post";
  return "client_secret_basic";
}

/** Picks (or registers) the gateway's client: pre-registered, then metadata document, then RFC 7591. */
export async function registerMcpClient(
  server: McpAuthServer,
  options: ClientRegistrationOptions,
): Promise<McpOAuthClient> {
  const pre = options.preRegistered;
  if (pre !== undefined) {
    return pre.clientSecret === undefined
      ? { clientId: pre.clientId, authMethod: "none", source: "pre-registered" }
      : {
          clientId: pre.clientId,
          clientSecret: pre.clientSecret,
          authMethod: secretMethod(server),
          source: "pre-registered",
        };
  }
  const document = options.metadataDocumentUrl;
  if (server.clientIdMetadataDocumentSupported && document?.startsWith("https://")) {
    return { clientId: document, authMethod: "none", source: "metadata-document" };
  }
  const endpoint = server.registrationEndpoint;
  if (endpoint === undefined) {
    throw new McpOAuthError(
      "registration_unavailable",
      "The authorization server offers no client registration; configure a client id for this vendor.",
    );
  }
  const methods = server.tokenEndpointAuthMethods;
  const requested: TokenEndpointAuthMethod =
    methods === undefined || methods.includes("client_secret_basic")
      ? "client_secret_basic"
      : methods.includes("client_secret_post")
        ? "client_secret_post"
        : "none";
  const response = await boundedFetch(options.fetch)(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({
      client_name: options.clientName,
      redirect_uris: [options.redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: requested,
    }),
    signal: options.signal,
  });
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = undefined;
  }
  const parsed = v.safeParse(RegistrationResponseSchema, body);
  if ((response.status !== 201 && response.status !== 200) || !parsed.success) {
    throw new McpOAuthError(
      "registration_failed",
      `The authorization server refused to register the gateway (HTTP ${response.status}).`,
    );
  }
  const { client_id, client_secret, token_endpoint_auth_method } = parsed.output;
  if (client_secret === undefined) return { clientId: client_id, authMethod: "none", source: "dynamic" };
  const granted =
    token_endpoint_auth_method === "client_secret_post" ||
    token_endpoint_auth_method === "client_secret_basic"
      ? token_endpoint_auth_method
      : requested === "none"
        ? "client_secret_basic"
        : requested;
  return { clientId: client_id, clientSecret: client_secret, authMethod: granted, source: "dynamic" };
}

// ---------------------------------------------------------------------------------------------
// Grants

/** The authorization URL (PKCE S256, `resource`, `scope` only when there is one). */
export function mcpAuthorizationUrl(
  server: McpAuthServer,
  client: McpOAuthClient,
  params: {
    redirectUri: string;
    state: string;
    verifier: string;
    scope?: string | undefined;
    resource: string;
  },
): Promise<string> {
  return pkceAuthorizationUrl(server.authorizationEndpoint, {
    clientId: client.clientId,
    redirectUri: params.redirectUri,
    state: params.state,
    verifier: params.verifier,
    ...(params.scope === undefined ? {} : { scope: params.scope }),
    resource: params.resource,
  });
}

function asOf(server: McpAuthServer): oauth.AuthorizationServer {
  return {
    issuer: server.issuer,
    token_endpoint: server.tokenEndpoint,
    authorization_endpoint: server.authorizationEndpoint,
  };
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 encodes Basic credentials. */
function formEncoded(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * client_secret_basic with the form encoding of RFC 6749 §2.3.1 (oauth4webapi's own also
 * escapes unreserved characters such as `-`, which servers that skip the decoding reject).
 */
function basicAuth(clientSecret: string): oauth.ClientAuth {
  return (_as, client, _body, headers) => {
    const credentials = `${formEncoded(client.client_id)}:${formEncoded(clientSecret)}`;
    headers.set("authorization", `Basic ${btoa(credentials)}`);
  };
}

export function clientAuth(client: Pick<McpOAuthClient, "clientSecret" | "authMethod">): oauth.ClientAuth {
  if (client.clientSecret === undefined || client.authMethod === "none") return oauth.None();
  return client.authMethod === "client_secret_post"
    ? oauth.ClientSecretPost(client.clientSecret)
    : basicAuth(client.clientSecret);
}

function tokenOptions(
  server: McpAuthServer,
  resource: string,
  options: McpOAuthRequestOptions,
): oauth.TokenEndpointRequestOptions {
  const endpoint = new URL(server.tokenEndpoint);
  return {
    signal: options.signal,
    additionalParameters: { resource },
    [oauth.customFetch]: boundedFetch(options.fetch),
    ...(endpoint.protocol === "http:" && plainHttpAllowedHost(endpoint.hostname)
      ? { [oauth.allowInsecureRequests]: true }
      : {}),
  };
}

/** A token endpoint answer, as the gateway keeps it. */
export interface McpTokens {
  accessToken: string;
  refreshToken?: string;
  /** Seconds, as the server said. */
  expiresIn?: number;
  scope?: string;
}

function tokensOf(response: oauth.TokenEndpointResponse): McpTokens {
  return {
    accessToken: response.access_token,
    ...(response.refresh_token === undefined ? {} : { refreshToken: response.refresh_token }),
    ...(typeof response.expires_in === "number" ? { expiresIn: response.expires_in } : {}),
    ...(response.scope === undefined ? {} : { scope: response.scope }),
  };
}

function tokenError(error: unknown, what: string): McpOAuthError {
  if (error instanceof McpOAuthError) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    return new McpOAuthError(
      "authorization_denied",
      `The authorization server did not authorize: ${error.error}`,
      {
        cause: error,
      },
    );
  }
  const detail =
    error instanceof oauth.ResponseBodyError
      ? error.error
      : error instanceof Error
        ? error.name
        : "unknown error";
  return new McpOAuthError("token_request_failed", `${what} failed (${detail}).`, { cause: error });
}

/** Thrown by {@link refreshMcpTokens} when the server refuses the refresh token (4xx): reconnect. */
export function refreshRefused(error: unknown): boolean {
  const cause = error instanceof McpOAuthError ? error.cause : error;
  return cause instanceof oauth.ResponseBodyError && cause.status >= 400 && cause.status < 500;
}

/** The token endpoint refused the client itself (`invalid_client`): its registration is gone. */
export function clientRefused(error: unknown): boolean {
  const cause = error instanceof McpOAuthError ? error.cause : error;
  if (cause instanceof oauth.ResponseBodyError) return cause.error === "invalid_client";
  return (
    cause instanceof oauth.AuthorizationResponseError &&
    (cause.error === "invalid_client" || cause.error === "unauthorized_client")
  );
}

/**
 * Checks the callback (state, `iss` when present, error) and exchanges the code (PKCE verifier,
 * `resource`).
 */
export async function exchangeMcpCode(
  server: McpAuthServer,
  client: McpOAuthClient,
  callback: URLSearchParams,
  params: { state: string; redirectUri: string; verifier: string; resource: string },
  options: McpOAuthRequestOptions,
): Promise<McpTokens> {
  const parameters = new URLSearchParams(callback);
  const iss = parameters.get("iss");
  // Mix-up defence (RFC 9207): an `iss` must be the server the flow started with.
  if (iss !== null && !sameIssuer(iss, server.issuer)) {
    throw new McpOAuthError("invalid_callback", "The callback came from another authorization server.");
  }
  parameters.delete("iss");
  const as = asOf(server);
  const oauthClient: oauth.Client = { client_id: client.clientId };
  try {
    const validated = oauth.validateAuthResponse(as, oauthClient, parameters, params.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      oauthClient,
      clientAuth(client),
      validated,
      params.redirectUri,
      params.verifier,
      tokenOptions(server, params.resource, options),
    );
    return tokensOf(await oauth.processAuthorizationCodeResponse(as, oauthClient, response));
  } catch (error) {
    throw tokenError(error, "The authorization code exchange");
  }
}

/** Refreshes (the server may rotate the refresh token; the new one is returned when it does). */
export async function refreshMcpTokens(
  server: Pick<McpAuthServer, "issuer" | "tokenEndpoint" | "authorizationEndpoint">,
  client: McpOAuthClient,
  refreshToken: string,
  resource: string,
  options: McpOAuthRequestOptions,
): Promise<McpTokens> {
  const full: McpAuthServer = { ...server };
  const as = asOf(full);
  const oauthClient: oauth.Client = { client_id: client.clientId };
  try {
    const response = await oauth.refreshTokenGrantRequest(
      as,
      oauthClient,
      clientAuth(client),
      refreshToken,
      tokenOptions(full, resource, options),
    );
    return tokensOf(await oauth.processRefreshTokenResponse(as, oauthClient, response));
  } catch (error) {
    throw tokenError(error, "The token refresh");
  }
}
