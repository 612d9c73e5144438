/**
 * Connecting a vendor with OAuth from the credentials page: `POST /credentials/<vendor>/connect`
 * sends the browser to the vendor, `GET /oauth/vendors/<vendor>/callback` stores the token.
 *
 * @module
 */
import type { Hono } from "hono";
import { allBundles, getBundle } from "../../bundle/registry.ts";
import { GatewayError } from "../../errors.ts";
import { deleteCredential } from "../credential-store.ts";
import { credentialCipher } from "../crypto.ts";
import {
  CLIENT_METADATA_PATH,
  clientMetadataDocument,
  finishMcpAuthorization,
  startMcpAuthorization,
} from "../mcp-credentials.ts";
import { oauthError } from "../oauth-error.ts";
import { canonicalOrigin } from "../oauth-server.ts";
import { continueToAuthorizationPage, pageHeaders } from "../pages.ts";
import { acceptsPersonalCredentials, vendorAuth } from "../vendor-auth.ts";
import { finishVendorAuthorization, startVendorAuthorization, VendorOAuthError } from "../vendor-oauth.ts";
import { auditCredential, credentialAction, credentialsUrl } from "./credentials.ts";
import { authConfig, authOff, redirect, signedIn } from "./shared.ts";

/** Registers the connect and callback routes on the auth app. */
export function vendorConnectRoutes(app: Hono<{ Bindings: Env }>): void {
  app.post("/credentials/:vendor/connect", async (c) => {
    const action = await credentialAction(c);
    if (action instanceof Response) return action;
    const { env, config, bundle, owner, who } = action;
    if (vendorAuth(bundle).kind !== "oauth2-code" || !acceptsPersonalCredentials(vendorAuth(bundle))) {
      throw new GatewayError("bad_request", `${bundle.displayName} is not connected with OAuth.`);
    }
    const cipher = credentialCipher(env);
    if (cipher === undefined) {
      throw new GatewayError(
        "invalid_configuration",
        "Per-user credentials need CREDENTIALS_ENCRYPTION_KEY.",
      );
    }
    try {
      const origin = canonicalOrigin(config, c.req.raw);
      if (bundle.kind === "mcp") {
        const location = await startMcpAuthorization(
          env,
          bundle,
          await cipher,
          owner,
          who.session.hash,
          who.user.id,
          origin,
        );
        return new Response(continueToAuthorizationPage(bundle.displayName, location), {
          headers: pageHeaders(),
        });
      }
      const location = await startVendorAuthorization(
        env,
        bundle,
        owner,
        who.session.hash,
        who.user.id,
        origin,
      );
      return redirect(location);
    } catch (error) {
      if (error instanceof VendorOAuthError) return redirect(credentialsUrl(error.code, bundle.vendor));
      throw error;
    }
  });

  // The gateway's client ID metadata document: authorization servers of MCP vendors that support
  // them fetch it to learn the gateway's callbacks (public, no secrets, cacheable).
  app.get(CLIENT_METADATA_PATH, (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const origin = canonicalOrigin(config, c.req.raw);
    const vendors = allBundles()
      .filter((bundle) => bundle.kind === "mcp")
      .map((bundle) => bundle.vendor);
    return c.json(clientMetadataDocument(origin, vendors), 200, { "Cache-Control": "public, max-age=3600" });
  });

  app.get("/oauth/vendors/:vendor/callback", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const env = c.env;
    const vendor = c.req.param("vendor");
    const bundle = getBundle(vendor);
    if (bundle === undefined) return oauthError(404, "not_found", `Unknown vendor "${vendor}"`);
    const who = await signedIn(c, config);
    if (who === undefined)
      return oauthError(401, "access_denied", "Sign in to the gateway first, then connect again.");
    const cipher = credentialCipher(env);
    if (cipher === undefined) {
      return oauthError(500, "server_error", "Per-user credentials need CREDENTIALS_ENCRYPTION_KEY.");
    }
    try {
      const owner =
        bundle.kind === "mcp"
          ? await finishMcpAuthorization(
              env,
              bundle,
              await cipher,
              new URL(c.req.url),
              who.session.hash,
              canonicalOrigin(config, c.req.raw),
            )
          : await finishVendorAuthorization(env, bundle, await cipher, new URL(c.req.url), who.session.hash);
      if (
        owner.kind === "user"
          ? owner.id !== who.user.id
          : owner.id !== who.user.teamId || who.user.role !== "admin"
      ) {
        // Defense in depth: the session binding already makes this unreachable.
        await deleteCredential(env, owner, bundle.vendor);
        return redirect(credentialsUrl("session_mismatch", vendor));
      }
      auditCredential(c, { who, owner, bundle }, "credential_connected", "OAuth");
      return redirect(credentialsUrl("connected", vendor));
    } catch (error) {
      if (error instanceof VendorOAuthError) return redirect(credentialsUrl(error.code, vendor));
      throw error;
    }
  });
}
