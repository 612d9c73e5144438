/**
 * The browser-facing auth routes, mounted into the app with {@link mountAuth}:
 *
 * | route | what | in `routes/` |
 * |---|---|---|
 * | `GET/POST /authorize` | MCP client authorization: sign-in check, consent page, grant | `consent.ts` |
 * | `GET/POST /signin`, `GET /signin/oidc`, `GET /signin/oidc/callback`, `POST /signout` | sign-in | `signin.ts` |
 * | `GET /credentials` | the signed-in user's vendors, their state, forms to fix them | `credentials.ts` |
 * | `POST /credentials/<vendor>/{secret,disconnect}` | store / remove (force re-authorization) | `credentials.ts` |
 * | `POST /credentials/clients/<grantId>/revoke` | revoke an MCP client's grant | `credentials.ts` |
 * | `POST /credentials/<vendor>/connect`, `GET /oauth/vendors/<vendor>/callback` | vendor OAuth connect and callback (OpenAPI and MCP vendors) | `vendor-connect.ts` |
 * | `GET /oauth/client-metadata.json` | the gateway's client ID metadata document, as an OAuth client of MCP vendors | `vendor-connect.ts` |
 * | any other `/oauth/*`, `/.well-known/*` | JSON 404 in the RFC 6749 error shape | here |
 *
 * Pages are HTML; every error on `/authorize`, `/oauth/*` and `/.well-known/*` is
 * JSON (`{"error","error_description"}`), as OAuth clients expect.
 *
 * @module
 */
import { Hono } from "hono";
import { oauthError } from "./oauth-error.ts";
import { authorizeRoutes } from "./routes/consent.ts";
import { credentialsRoutes } from "./routes/credentials.ts";
import { signInRoutes } from "./routes/signin.ts";
import { vendorConnectRoutes } from "./routes/vendor-connect.ts";

/** All auth routes as one hono app (mount with {@link mountAuth}). */
function authRoutes(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  signInRoutes(app);
  authorizeRoutes(app);
  credentialsRoutes(app);
  vendorConnectRoutes(app);
  // OAuth clients parse these prefixes' errors as RFC 6749 JSON, never HTML.
  app.all("/oauth/*", () => oauthError(404, "not_found", "No such OAuth endpoint."));
  app.all("/.well-known/*", () => oauthError(404, "not_found", "No such well-known document."));
  return app;
}

/** Mounts the auth routes into the gateway's app (call before the app's catch-all routes). */
export function mountAuth(app: { route(path: string, routes: Hono<{ Bindings: Env }>): unknown }): void {
  app.route("/", authRoutes());
}
