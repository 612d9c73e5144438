/**
 * Real local stand-ins for the auth tests (vitest globalSetup, runs in Node):
 *
 * - `/oidc/*` — an OpenID Connect provider (discovery, authorize, token, JWKS). The
 *   "browser" (the test) picks who signs in by adding `login_as=<sub>&email=<email>`
 *   to the authorization URL; `bad_signature=1` signs the ID token with a key the
 *   JWKS does not publish.
 * - `/vendor/*` — a vendor's OAuth 2.0 server and API: authorize (auto-approves
 *   `login_as`, or `deny=1`), token (authorization_code with PKCE S256 checked,
 *   rotating refresh_token, client_credentials), `GET /vendor/api/me` (echoes the credentials
 *   in `debug`, as a careless vendor would),
 *   `POST /vendor/api/items` (bearer checked). `POST /vendor/_revoke?sub=` kills a
 *   subject's tokens (as a user revoking the app would). Tokens issued to client
 *   id `short-lived-client` expire in 30 s (inside the gateway's refresh skew).
 * - `/cimd/<name>?as=<client_id>` — a client ID metadata document naming `<client_id>`.
 * - `/keyvendor/api/whoami` — an API-key API that answers with the key it got
 *   (`X-API-Key`), and 401 for `revoked-*` keys.
 *
 * Every request is recorded; `GET /_requests?path=<prefix>` lists them.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { TestProject } from "vitest/node";
import {
  CC_CLIENT_ID,
  CC_CLIENT_SECRET,
  OIDC_CLIENT_ID,
  OIDC_CLIENT_SECRET,
  SHORT_LIVED_CLIENT_ID,
  VENDOR_CLIENT_ID,
  VENDOR_CLIENT_SECRET,
} from "./auth-clients.ts";
import { listenOnLoopback, readBody } from "./local-http.ts";

interface CodeRecord {
  clientId: string;
  redirectUri: string;
  challenge: string | undefined;
  nonce: string | undefined;
  sub: string;
  email: string | undefined;
  badSignature: boolean;
  scope: string;
}

interface TokenRecord {
  sub: string;
  clientId: string;
  expiresAt: number;
  scope: string;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** Client authentication: HTTP Basic (form-urlencoded id/secret) or client_secret_post. */
function clientOf(
  req: IncomingMessage,
  form: URLSearchParams,
): { id: string | undefined; secret: string | undefined } {
  const header = req.headers.authorization;
  if (header?.startsWith("Basic ")) {
    const [id, secret] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":");
    return { id: decodeURIComponent(id ?? ""), secret: decodeURIComponent(secret ?? "") };
  }
  return { id: form.get("client_id") ?? undefined, secret: form.get("client_secret") ?? undefined };
}

export async function startAuthServers(): Promise<{ origin: string; close: () => Promise<void> }> {
  const signing = await generateKeyPair("RS256", { extractable: true });
  const rogue = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(signing.publicKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
  const oidcCodes = new Map<string, CodeRecord>();
  const vendorCodes = new Map<string, CodeRecord>();
  const accessTokens = new Map<string, TokenRecord>();
  const refreshTokens = new Map<string, TokenRecord>();
  const recorded: { method: string; path: string; query: string }[] = [];
  let origin = "";

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", origin);
      recorded.push({ method: req.method ?? "GET", path: url.pathname, query: url.search });
      if (recorded.length > 5000) recorded.shift();
      const path = url.pathname;

      if (path === "/_requests") {
        const prefix = url.searchParams.get("path") ?? "";
        json(
          res,
          200,
          recorded.filter((r) => r.path.startsWith(prefix)),
        );
        return;
      }

      // ---------------------------------------------------------------- OIDC provider
      if (path === "/oidc/.well-known/openid-configuration") {
        json(res, 200, {
          issuer: `${origin}/oidc`,
          authorization_endpoint: `${origin}/oidc/authorize`,
          token_endpoint: `${origin}/oidc/token`,
          jwks_uri: `${origin}/oidc/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          code_challenge_methods_supported: ["S256"],
        });
        return;
      }
      if (path === "/oidc/jwks") {
        json(res, 200, { keys: [publicJwk] });
        return;
      }
      if (path === "/oidc/authorize") {
        const redirectUri = url.searchParams.get("redirect_uri") ?? "";
        const code = randomBytes(16).toString("base64url");
        oidcCodes.set(code, {
          clientId: url.searchParams.get("client_id") ?? "",
          redirectUri,
          challenge: url.searchParams.get("code_challenge") ?? undefined,
          nonce: url.searchParams.get("nonce") ?? undefined,
          sub: url.searchParams.get("login_as") ?? "anonymous",
          email: url.searchParams.get("email") ?? undefined,
          badSignature: url.searchParams.get("bad_signature") === "1",
          scope: url.searchParams.get("scope") ?? "",
        });
        const target = new URL(redirectUri);
        target.searchParams.set("code", code);
        target.searchParams.set("state", url.searchParams.get("state") ?? "");
        res.writeHead(302, { Location: target.href });
        res.end();
        return;
      }
      if (path === "/oidc/token" && req.method === "POST") {
        const form = new URLSearchParams((await readBody(req)).toString("utf8"));
        const client = clientOf(req, form);
        if (client.id !== OIDC_CLIENT_ID || client.secret !== OIDC_CLIENT_SECRET) {
          json(res, 401, { error: "invalid_client" });
          return;
        }
        const record = oidcCodes.get(form.get("code") ?? "");
        oidcCodes.delete(form.get("code") ?? "");
        if (
          record === undefined ||
          record.redirectUri !== form.get("redirect_uri") ||
          record.challenge !== s256(form.get("code_verifier") ?? "")
        ) {
          json(res, 400, { error: "invalid_grant" });
          return;
        }
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({
          nonce: record.nonce,
          ...(record.email === undefined ? {} : { email: record.email, email_verified: true }),
        })
          .setProtectedHeader({ alg: "RS256", kid: "test-key-1" })
          .setIssuer(`${origin}/oidc`)
          .setSubject(record.sub)
          .setAudience(OIDC_CLIENT_ID)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(record.badSignature ? rogue.privateKey : signing.privateKey);
        json(res, 200, {
          access_token: randomBytes(16).toString("base64url"),
          token_type: "Bearer",
          expires_in: 300,
          id_token: idToken,
        });
        return;
      }

      // ---------------------------------------------------------------- vendor OAuth + API
      if (path === "/vendor/authorize") {
        const redirectUri = url.searchParams.get("redirect_uri") ?? "";
        const target = new URL(redirectUri);
        target.searchParams.set("state", url.searchParams.get("state") ?? "");
        if (url.searchParams.get("deny") === "1") {
          target.searchParams.set("error", "access_denied");
        } else {
          if (url.searchParams.get("code_challenge_method") !== "S256") {
            json(res, 400, { error: "invalid_request", error_description: "PKCE S256 required" });
            return;
          }
          const code = randomBytes(16).toString("base64url");
          vendorCodes.set(code, {
            clientId: url.searchParams.get("client_id") ?? "",
            redirectUri,
            challenge: url.searchParams.get("code_challenge") ?? undefined,
            nonce: undefined,
            sub: url.searchParams.get("login_as") ?? "vendor-user",
            email: undefined,
            badSignature: false,
            scope: url.searchParams.get("scope") ?? "",
          });
          target.searchParams.set("code", code);
        }
        res.writeHead(302, { Location: target.href });
        res.end();
        return;
      }
      if (path === "/vendor/token" && req.method === "POST") {
        const form = new URLSearchParams((await readBody(req)).toString("utf8"));
        const client = clientOf(req, form);
        const knownSecrets: Record<string, string> = {
          [VENDOR_CLIENT_ID]: VENDOR_CLIENT_SECRET,
          [SHORT_LIVED_CLIENT_ID]: VENDOR_CLIENT_SECRET,
          [CC_CLIENT_ID]: CC_CLIENT_SECRET,
        };
        if (client.id === undefined || knownSecrets[client.id] !== client.secret) {
          json(res, 401, { error: "invalid_client" });
          return;
        }
        const lifetime = client.id === SHORT_LIVED_CLIENT_ID ? 30 : 3600;
        const issue = (sub: string, scope: string, withRefresh: boolean) => {
          const access = `vat-${randomBytes(16).toString("base64url")}`;
          accessTokens.set(access, {
            sub,
            clientId: client.id ?? "",
            expiresAt: Date.now() + lifetime * 1000,
            scope,
          });
          const body: Record<string, unknown> = {
            access_token: access,
            token_type: "Bearer",
            expires_in: lifetime,
            scope,
          };
          if (withRefresh) {
            const refresh = `vrt-${randomBytes(16).toString("base64url")}`;
            refreshTokens.set(refresh, {
              sub,
              clientId: client.id ?? "",
              expiresAt: Date.now() + 86_400_000,
              scope,
            });
            body.refresh_token = refresh;
          }
          return body;
        };
        const grant = form.get("grant_type");
        if (grant === "authorization_code") {
          const record = vendorCodes.get(form.get("code") ?? "");
          vendorCodes.delete(form.get("code") ?? "");
          if (
            record === undefined ||
            record.clientId !== client.id ||
            record.redirectUri !== form.get("redirect_uri") ||
            record.challenge !== s256(form.get("code_verifier") ?? "")
          ) {
            json(res, 400, { error: "invalid_grant" });
            return;
          }
          json(res, 200, issue(record.sub, record.scope, true));
          return;
        }
        if (grant === "refresh_token") {
          const token = form.get("refresh_token") ?? "";
          const record = refreshTokens.get(token);
          if (record === undefined || record.clientId !== client.id) {
            json(res, 400, { error: "invalid_grant", error_description: "refresh token revoked" });
            return;
          }
          refreshTokens.delete(token); // rotation
          json(res, 200, issue(record.sub, record.scope, true));
          return;
        }
        if (grant === "client_credentials") {
          json(res, 200, issue(`client:${client.id}`, form.get("scope") ?? "", false));
          return;
        }
        json(res, 400, { error: "unsupported_grant_type" });
        return;
      }
      if (path === "/vendor/_revoke" && req.method === "POST") {
        const sub = url.searchParams.get("sub");
        for (const [token, record] of accessTokens) if (record.sub === sub) accessTokens.delete(token);
        for (const [token, record] of refreshTokens) if (record.sub === sub) refreshTokens.delete(token);
        json(res, 200, { revoked: sub });
        return;
      }
      if (path.startsWith("/vendor/api/")) {
        const header = req.headers.authorization ?? "";
        const record = header.startsWith("Bearer ") ? accessTokens.get(header.slice(7)) : undefined;
        if (record === undefined || record.expiresAt < Date.now()) {
          json(res, 401, { error: "invalid_token" }, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
          return;
        }
        if (path === "/vendor/api/me") {
          // A careless vendor echoes credentials in a debug field: the gateway must scrub its access
          // token, the refresh token it holds (the latest issued) and its client secret.
          let refreshToken: string | undefined;
          for (const [token, r] of refreshTokens) if (r.sub === record.sub) refreshToken = token;
          json(res, 200, {
            sub: record.sub,
            scope: record.scope,
            debug: {
              authorization: header,
              refreshToken: refreshToken ?? null,
              clientSecret: record.clientId === CC_CLIENT_ID ? CC_CLIENT_SECRET : VENDOR_CLIENT_SECRET,
            },
          });
          return;
        }
        if (path === "/vendor/api/items" && req.method === "POST") {
          json(res, 201, {
            created: JSON.parse((await readBody(req)).toString("utf8") || "{}"),
            by: record.sub,
          });
          return;
        }
        json(res, 404, { error: "not_found" });
        return;
      }
      if (path.startsWith("/cimd/")) {
        // A client ID metadata document. Its `client_id` is the https URL the gateway fetched it
        // from (the test routes that URL here), given as `?as=`.
        const clientId = url.searchParams.get("as") ?? "";
        json(res, 200, {
          client_id: clientId,
          client_name: "CIMD Test Client",
          redirect_uris: ["http://127.0.0.1:33418/callback"],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "none",
        });
        return;
      }
      if (path === "/keyvendor/api/whoami") {
        const key = req.headers["x-api-key"];
        if (typeof key !== "string" || key.startsWith("revoked-")) {
          json(res, 401, { error: "bad key" });
          return;
        }
        // The key comes back scrubbed (src/redaction/scrub.ts); its first word says whose it
        // was and its last four characters which of that owner's keys it was.
        json(res, 200, { key, owner: key.split("-")[0], last4: key.slice(-4) });
        return;
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

/** vitest globalSetup: start the servers, hand their origin to the workers project. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await startAuthServers();
  project.provide("authServersOrigin", servers.origin);
  return servers.close;
}

declare module "vitest" {
  export interface ProvidedContext {
    authServersOrigin: string;
  }
}
