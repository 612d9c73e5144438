/**
 * A real local MCP server protected by OAuth, with its authorization server, for the upstream
 * MCP authorization tests (vitest globalSetup, runs in Node). One origin serves several
 * variants, each `<variant>`:
 *
 * - `/<variant>/mcp`: the protected resource. Without a valid token: 401 with
 *   `WWW-Authenticate: Bearer resource_metadata=…, scope="mcp:read"` (the `oidc` variant leaves
 *   out `resource_metadata`). `tools/call` needs `mcp:write` too: 403 `insufficient_scope`.
 *   Tokens must have been issued for this resource (RFC 8707). Answers JSON-RPC with the
 *   subject and scopes, never the token.
 * - PRM at `/.well-known/oauth-protected-resource/<variant>/mcp` (`resource` = the MCP URL;
 *   `mismatch`: another origin's; `redirect`: a 302 to a `file:` URL).
 * - the authorization server, issuer `<origin>/as/<variant>`: metadata by RFC 8414 path
 *   insertion, except `oidc` (only `<issuer>/.well-known/openid-configuration`); `nopkce` leaves
 *   out `code_challenge_methods_supported`; `cimd` advertises client ID metadata documents and
 *   has no registration endpoint; the others register dynamically (client_secret_basic).
 *   `/as/<variant>/authorize` approves at once; `/as/<variant>/token` checks PKCE, the client,
 *   `resource`, and rotates refresh tokens (a used one is refused).
 * - `POST /_forget_clients` forgets every registered client (as servers expire idle ones).
 * - `POST /_expire?token=` revokes an access token (the resource answers 401 as for an expired
 *   one); `GET /_requests` lists every request (path, authorization header, query, form).
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";
import { listenOnLoopback, readBody } from "./local-http.ts";

interface Issued {
  sub: string;
  scope: string;
  resource: string;
  clientId: string;
}

export const MCP_AUTH_VARIANTS = ["dcr", "cimd", "oidc", "nopkce", "mismatch", "redirect"] as const;

export async function startMcpAuthServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  let origin = "";
  const clients = new Map<string, { secret: string; redirectUris: string[] }>();
  const codes = new Map<string, Issued & { challenge: string; redirectUri: string }>();
  const accessTokens = new Map<string, Issued>();
  const refreshTokens = new Map<string, Issued>();
  const requests: { path: string; authorization?: string; query: string; form?: Record<string, string> }[] =
    [];

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const issue = (issued: Issued) => {
    const access = `at-${randomBytes(12).toString("hex")}`;
    const refresh = `rt-${randomBytes(12).toString("hex")}`;
    accessTokens.set(access, issued);
    refreshTokens.set(refresh, issued);
    return {
      access_token: access,
      token_type: "Bearer",
      expires_in: 3600,
      refresh_token: refresh,
      scope: issued.scope,
    };
  };
  const clientOf = (req: IncomingMessage, form: URLSearchParams): string | undefined => {
    const basic = req.headers.authorization;
    if (basic?.startsWith("Basic ")) {
      const [id, secret] = Buffer.from(basic.slice(6), "base64")
        .toString()
        .split(":")
        .map(decodeURIComponent);
      return id !== undefined && clients.get(id)?.secret === secret ? id : undefined;
    }
    const id = form.get("client_id") ?? "";
    // Metadata-document clients are public: their id is an https URL.
    return id.startsWith("https://") ? id : undefined;
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", origin);
      const path = url.pathname;
      const body = req.method === "POST" ? (await readBody(req)).toString("utf8") : "";
      const form = req.headers["content-type"]?.includes("x-www-form-urlencoded")
        ? new URLSearchParams(body)
        : undefined;
      requests.push({
        path,
        ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
        query: url.search,
        ...(form === undefined ? {} : { form: Object.fromEntries(form) }),
      });
      if (path === "/_requests") return json(res, 200, requests);
      if (path === "/_forget_clients") {
        clients.clear();
        return json(res, 200, { ok: true });
      }
      if (path === "/_expire") {
        accessTokens.delete(url.searchParams.get("token") ?? "");
        return json(res, 200, { ok: true });
      }
      const prm = /^\/\.well-known\/oauth-protected-resource\/([a-z]+)\/mcp$/.exec(path);
      if (prm !== null) {
        const variant = prm[1] as string;
        if (variant === "redirect") {
          res.writeHead(302, { Location: "file:///etc/passwd" });
          return res.end();
        }
        return json(res, 200, {
          resource: variant === "mismatch" ? "https://evil.example/mcp" : `${origin}/${variant}/mcp`,
          authorization_servers: [`${origin}/as/${variant}`],
          scopes_supported: ["mcp:read", "mcp:write"],
        });
      }
      const asMeta =
        /^\/\.well-known\/oauth-authorization-server\/as\/([a-z]+)$/.exec(path) ??
        /^\/as\/(oidc)\/\.well-known\/openid-configuration$/.exec(path);
      if (asMeta !== null) {
        const variant = asMeta[1] as string;
        if (variant === "oidc" && path.startsWith("/.well-known/"))
          return json(res, 404, { error: "not_found" });
        const issuer = `${origin}/as/${variant}`;
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          ...(variant === "cimd"
            ? { client_id_metadata_document_supported: true }
            : { registration_endpoint: `${issuer}/register` }),
          response_types_supported: ["code"],
          grant_types_supported: ["authorization_code", "refresh_token"],
          token_endpoint_auth_methods_supported: variant === "cimd" ? ["none"] : ["client_secret_basic"],
          ...(variant === "nopkce" ? {} : { code_challenge_methods_supported: ["S256"] }),
          scopes_supported: ["mcp:read", "mcp:write"],
        });
      }
      const as = /^\/as\/([a-z]+)\/(authorize|token|register)$/.exec(path);
      if (as !== null) {
        const [, variant, endpoint] = as as unknown as [string, string, string];
        if (endpoint === "register") {
          const meta = JSON.parse(body) as { redirect_uris?: string[] };
          const id = `dcr-${randomBytes(6).toString("hex")}`;
          const secret = `dcr-secret-${randomBytes(12).toString("hex")}`;
          clients.set(id, { secret, redirectUris: meta.redirect_uris ?? [] });
          return json(res, 201, {
            client_id: id,
            client_secret: secret,
            token_endpoint_auth_method: "client_secret_basic",
            redirect_uris: meta.redirect_uris,
          });
        }
        if (endpoint === "authorize") {
          const q = url.searchParams;
          const redirectUri = q.get("redirect_uri") ?? "";
          const clientId = q.get("client_id") ?? "";
          if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
            return json(res, 400, { error: "invalid_request", error_description: "PKCE S256 required" });
          }
          if (
            !clientId.startsWith("https://") &&
            !clients.get(clientId)?.redirectUris.includes(redirectUri)
          ) {
            return json(res, 400, { error: "invalid_client" });
          }
          const code = `code-${randomBytes(8).toString("hex")}`;
          codes.set(code, {
            sub: q.get("login_as") ?? "user-1",
            scope: q.get("scope") ?? "",
            resource: q.get("resource") ?? "",
            clientId,
            challenge: q.get("code_challenge") ?? "",
            redirectUri,
          });
          const back = new URL(redirectUri);
          back.searchParams.set("code", code);
          back.searchParams.set("state", q.get("state") ?? "");
          back.searchParams.set("iss", `${origin}/as/${variant}`);
          res.writeHead(302, { Location: back.href });
          return res.end();
        }
        const params = form ?? new URLSearchParams();
        const clientId = clientOf(req, params);
        if (clientId === undefined) return json(res, 401, { error: "invalid_client" });
        if (params.get("grant_type") === "authorization_code") {
          const record = codes.get(params.get("code") ?? "");
          codes.delete(params.get("code") ?? "");
          const verifier = params.get("code_verifier") ?? "";
          const challenge = createHash("sha256").update(verifier).digest("base64url");
          if (
            record === undefined ||
            record.clientId !== clientId ||
            record.challenge !== challenge ||
            record.redirectUri !== params.get("redirect_uri") ||
            record.resource !== params.get("resource")
          ) {
            return json(res, 400, { error: "invalid_grant" });
          }
          return json(res, 200, issue(record));
        }
        if (params.get("grant_type") === "refresh_token") {
          const token = params.get("refresh_token") ?? "";
          const record = refreshTokens.get(token);
          refreshTokens.delete(token);
          if (
            record === undefined ||
            record.clientId !== clientId ||
            record.resource !== params.get("resource")
          ) {
            return json(res, 400, { error: "invalid_grant" });
          }
          return json(res, 200, issue(record));
        }
        return json(res, 400, { error: "unsupported_grant_type" });
      }
      const mcp = /^\/([a-z]+)\/mcp$/.exec(path);
      if (mcp !== null && req.method === "POST") {
        const variant = mcp[1] as string;
        const resource = `${origin}/${variant}/mcp`;
        const message = JSON.parse(body || "{}") as { id?: number; method?: string };
        const challenge = (scope: string, error?: string) =>
          `Bearer ${error === undefined ? "" : `error="${error}", `}scope="${scope}"${variant === "oidc" ? "" : `, resource_metadata="${origin}/.well-known/oauth-protected-resource/${variant}/mcp"`}`;
        const auth = req.headers.authorization ?? "";
        const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
        const issued = accessTokens.get(token);
        if (issued === undefined || issued.resource !== resource) {
          return json(
            res,
            401,
            { error: "invalid_token" },
            { "WWW-Authenticate": challenge("mcp:read", issued ? "invalid_token" : undefined) },
          );
        }
        const scopes = issued.scope.split(" ");
        if (message.method === "tools/call" && !scopes.includes("mcp:write")) {
          return json(
            res,
            403,
            { error: "insufficient_scope" },
            {
              "WWW-Authenticate": challenge("mcp:read mcp:write", "insufficient_scope"),
            },
          );
        }
        return json(res, 200, {
          jsonrpc: "2.0",
          id: message.id ?? null,
          result: { sub: issued.sub, scopes },
        });
      }
      json(res, 404, { error: `no route ${path}` });
    } catch (error) {
      json(res, 500, { error: String(error) });
    }
  });
  const listening = await listenOnLoopback(server);
  origin = listening.origin;
  return { origin, close: listening.close };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startMcpAuthServer();
  project.provide("mcpAuthOrigin", server.origin);
  return server.close;
}

declare module "vitest" {
  export interface ProvidedContext {
    mcpAuthOrigin: string;
  }
}
