/**
 * The credentials page: `GET /credentials` (the signed-in user's vendors, their state, forms to
 * fix them, MCP clients with access), storing and removing a typed credential, revoking a
 * client's grant. Connecting with vendor OAuth is in vendor-connect.ts.
 *
 * @module
 */

import type { Hono } from "hono";
import { recordAuditFrom } from "../../audit-events.ts";
import { allBundles, getBundle } from "../../bundle/registry.ts";
import type { VendorBundle } from "../../bundle/types.ts";
import { GatewayError } from "../../errors.ts";
import { grantKey } from "../../storage/keys.ts";
import { computeAvailability, sharedCredentialPresent } from "../availability.ts";
import { type AuthConfig, teamAllowlist } from "../config.ts";
import {
  type CredentialOwner,
  credentialKey,
  deleteCredential,
  listCredentials,
  putCredential,
  type StoredSecret,
} from "../credential-store.ts";
import { credentialCipher } from "../crypto.ts";
import { mcpUpstreamUrl } from "../mcp-credentials.ts";
import { authorizationServerFor, canonicalOrigin } from "../oauth-server.ts";
import { type ClientGrantRow, type CredentialRow, credentialsPage, pageHeaders } from "../pages.ts";
import { checkCsrf } from "../session.ts";
import { acceptsPersonalCredentials, vendorAuth, vendorOAuthConfig } from "../vendor-auth.ts";
import {
  type AuthContext,
  authConfig,
  authOff,
  formOf,
  redirect,
  type SignedIn,
  signedIn,
} from "./shared.ts";

/** Longest secret a user can store: real API keys are far shorter; KV values could take more. */
const MAX_SECRET_CHARS = 8192;

const NOTICES: Record<string, { kind: "ok" | "error"; text: string }> = {
  saved: { kind: "ok", text: "Saved." },
  removed: { kind: "ok", text: "Removed. The vendor needs a credential again before its tools work." },
  connected: { kind: "ok", text: "Connected." },
  revoked: { kind: "ok", text: "The client's access was revoked." },
  authorization_denied: { kind: "error", text: "The vendor did not authorize the connection." },
  invalid_state: { kind: "error", text: "That connection attempt expired or was already used. Start again." },
  session_mismatch: { kind: "error", text: "That connection attempt was started in another session." },
  token_request_failed: {
    kind: "error",
    text: "The vendor refused to issue a token. Try again or ask the operator.",
  },
  not_configured: { kind: "error", text: "The vendor's OAuth client is not configured on this gateway." },
  discovery_failed: {
    kind: "error",
    text: "The vendor's authorization server could not be found or is not safe to use (it needs https and PKCE). Ask the operator.",
  },
  registration_unavailable: {
    kind: "error",
    text: "The vendor's authorization server does not let the gateway register. The operator must configure a client id.",
  },
};

function wantsJson(c: AuthContext): boolean {
  return (c.req.header("accept") ?? "").includes("application/json");
}

export function credentialsUrl(notice?: string, vendor?: string): string {
  const params = new URLSearchParams();
  if (notice !== undefined) params.set("notice", notice);
  if (vendor !== undefined) params.set("vendor", vendor);
  const query = params.size > 0 ? `?${params}` : "";
  return `/credentials${query}${vendor === undefined ? "" : `#vendor-${vendor}`}`;
}

async function renderCredentials(c: AuthContext, config: AuthConfig, who: SignedIn): Promise<Response> {
  const env = c.env;
  const origin = canonicalOrigin(config, c.req.raw);
  const allowlist = teamAllowlist(config, who.user.teamId);
  const personalStorage = credentialCipher(env) !== undefined;
  const [availability, mine, team] = await Promise.all([
    computeAvailability(env, who.user, allowlist, origin),
    personalStorage ? listCredentials(env, { kind: "user", id: who.user.id }) : new Map(),
    personalStorage && who.user.teamId !== undefined
      ? listCredentials(env, { kind: "team", id: who.user.teamId })
      : new Map(),
  ]);
  const rows: CredentialRow[] = [];
  /** Where "Connect" forms redirect (the vendors' authorization endpoints): `form-action` allows them. */
  const connectTargets: string[] = [];
  for (const bundle of allBundles()) {
    const info = vendorAuth(bundle);
    const vendorAvailability = availability.get(bundle.vendor);
    if (vendorAvailability === undefined) continue;
    const connectUrl = vendorOAuthConfig(env, bundle, "authorizationCode")?.authorizationUrl;
    rows.push({
      vendor: bundle.vendor,
      displayName: bundle.displayName,
      kind: info.kind,
      mode: info.mode,
      availability: vendorAvailability,
      mine: mine.get(bundle.vendor),
      team: team.get(bundle.vendor),
      sharedPresent: sharedCredentialPresent(env, bundle, info),
      allowed: vendorAvailability.reason !== "not_allowed",
      // MCP vendors find their authorization server when the user connects.
      acceptsToken: bundle.kind === "mcp",
      canConnect:
        bundle.kind === "mcp" ? mcpUpstreamUrl(env, bundle) !== undefined : connectUrl !== undefined,
      personal: acceptsPersonalCredentials(info),
    });
    if (connectUrl !== undefined) connectTargets.push(connectUrl);
  }
  const oauthApi = authorizationServerFor(origin).getOAuthApi(env);
  const grants: ClientGrantRow[] = [];
  const listed = await oauthApi.listUserGrants(who.user.id);
  for (const grant of listed.items) {
    const client = await oauthApi.lookupClient(grant.clientId).catch(() => null);
    grants.push({
      grantId: grant.id,
      clientName: client?.clientName ?? grant.clientId,
      scope: grant.scope,
      createdAt: grant.createdAt,
    });
  }
  const noticeCode = c.req.query("notice");
  // Own keys only: `?notice=constructor` must not find Object.prototype's.
  const notice =
    noticeCode !== undefined && Object.hasOwn(NOTICES, noticeCode) ? NOTICES[noticeCode] : undefined;
  const html = credentialsPage({
    userId: who.user.id,
    userName: who.user.name,
    ...(who.user.teamId === undefined ? {} : { teamId: who.user.teamId }),
    teamAdmin: who.user.role === "admin",
    csrf: who.session.csrf,
    rows,
    grants,
    ...(notice === undefined ? {} : { notice }),
    personalStorage,
  });
  return new Response(html, { headers: pageHeaders(undefined, connectTargets) });
}

interface CredentialsForm {
  env: Env;
  config: AuthConfig;
  who: SignedIn;
  form: FormData;
}

/** Checks of every form posted from the credentials page: auth on, a live session, its CSRF token. */
async function credentialsForm(c: AuthContext): Promise<CredentialsForm | Response> {
  const config = authConfig(c);
  if (config === undefined) return authOff();
  const env = c.env;
  const who = await signedIn(c, config);
  if (who === undefined) throw new GatewayError("unauthorized", "Sign in first: your session has ended.");
  const form = await formOf(c);
  if (!checkCsrf(who.session, form.get("csrf"))) {
    throw new GatewayError("forbidden", "The form's CSRF token does not match your session.");
  }
  return { env, config, who, form };
}

interface CredentialAction extends CredentialsForm {
  bundle: VendorBundle;
  owner: CredentialOwner;
}

/** Shared checks of every credential form: those of `credentialsForm`, then vendor, allowlist, owner role. */
export async function credentialAction(c: AuthContext): Promise<CredentialAction | Response> {
  const checked = await credentialsForm(c);
  if (checked instanceof Response) return checked;
  const { config, who, form } = checked;
  const vendor = c.req.param("vendor") ?? "";
  const bundle = getBundle(vendor);
  if (bundle === undefined) throw new GatewayError("not_found", `Unknown vendor "${vendor}"`);
  const allowlist = teamAllowlist(config, who.user.teamId);
  if (allowlist?.vendors !== undefined && !allowlist.vendors.includes(vendor)) {
    throw new GatewayError("forbidden", `Your team may not use vendor "${vendor}"`);
  }
  const ownerKind = form.get("owner") === "team" ? "team" : "user";
  let owner: CredentialOwner;
  if (ownerKind === "team") {
    if (who.user.teamId === undefined || who.user.role !== "admin") {
      throw new GatewayError("forbidden", "Only a team admin manages the team's credentials.");
    }
    owner = { kind: "team", id: who.user.teamId };
  } else {
    owner = { kind: "user", id: who.user.id };
  }
  return { ...checked, bundle, owner };
}

/** #14 audit: a credential stored, replaced or removed; `detail` says whose (the user's or the team's). */
export function auditCredential(
  c: AuthContext,
  action: Pick<CredentialAction, "who" | "owner" | "bundle">,
  type: "credential_connected" | "credential_changed" | "credential_removed",
  how?: string,
): void {
  const { who, owner, bundle } = action;
  recordAuditFrom(c, {
    type,
    outcome: "success",
    userId: who.user.id,
    teamId: owner.kind === "team" ? owner.id : who.user.teamId,
    vendor: bundle.vendor,
    detail: `${owner.kind === "team" ? "team" : "personal"} credential${how === undefined ? "" : ` (${how})`}`,
  });
}

function done(c: AuthContext, notice: string, vendor: string): Response {
  if (wantsJson(c)) return c.json({ ok: true, notice, vendor });
  return redirect(credentialsUrl(notice, vendor));
}

/** Registers the credentials page and its store, remove and revoke forms on the auth app. */
export function credentialsRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get("/credentials", async (c) => {
    const config = authConfig(c);
    if (config === undefined) return authOff();
    const who = await signedIn(c, config);
    if (who === undefined) return redirect(`/signin?return=${encodeURIComponent("/credentials")}`);
    return renderCredentials(c, config, who);
  });

  app.post("/credentials/:vendor/secret", async (c) => {
    const action = await credentialAction(c);
    if (action instanceof Response) return action;
    const { env, bundle, owner, form, who } = action;
    const info = vendorAuth(bundle);
    if (!acceptsPersonalCredentials(info)) {
      throw new GatewayError("bad_request", `${bundle.displayName} uses the organisation's credential only.`);
    }
    const cipher = credentialCipher(env);
    if (cipher === undefined) {
      throw new GatewayError(
        "invalid_configuration",
        "Per-user credentials need CREDENTIALS_ENCRYPTION_KEY.",
      );
    }
    const value = String(form.get("secret") ?? "").trim();
    if (value === "" || value.length > MAX_SECRET_CHARS)
      throw new GatewayError("bad_request", "Enter the credential.");
    let secret: StoredSecret;
    switch (info.kind) {
      case "apiKey":
        secret = { type: "apiKey", value };
        break;
      case "bearer":
        secret = { type: "bearer", token: value };
        break;
      case "oauth2-code":
        // An MCP vendor takes a token the user got elsewhere as well as its OAuth connection.
        if (bundle.kind !== "mcp") {
          throw new GatewayError(
            "bad_request",
            `${bundle.displayName} is connected with OAuth, not a typed credential.`,
          );
        }
        secret = { type: "bearer", token: value };
        break;
      case "basic": {
        const username = String(form.get("username") ?? "").trim();
        if (username === "") throw new GatewayError("bad_request", "Enter the user name.");
        secret = { type: "basic", username, password: value };
        break;
      }
      default:
        throw new GatewayError(
          "bad_request",
          `${bundle.displayName} is connected with OAuth, not a typed credential.`,
        );
    }
    const key = await credentialKey(owner, bundle.vendor);
    // #14 audit: connected or changed (KV is eventually consistent: a change within seconds of the first store may read as connected).
    const existed = (await env.OAUTH_KV.get(key, "text")) !== null;
    await putCredential(env, await cipher, owner, bundle.vendor, secret, {
      type: secret.type,
      status: "ok",
      updatedAt: Date.now(),
      by: who.user.id,
    });
    auditCredential(c, action, existed ? "credential_changed" : "credential_connected");
    return done(c, "saved", bundle.vendor);
  });

  app.post("/credentials/:vendor/disconnect", async (c) => {
    const action = await credentialAction(c);
    if (action instanceof Response) return action;
    await deleteCredential(action.env, action.owner, action.bundle.vendor);
    auditCredential(c, action, "credential_removed");
    return done(c, "removed", action.bundle.vendor);
  });

  app.post("/credentials/clients/:grantId/revoke", async (c) => {
    const checked = await credentialsForm(c);
    if (checked instanceof Response) return checked;
    const { config, env, who } = checked;
    const grantId = c.req.param("grantId");
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(grantId)) throw new GatewayError("bad_request", "Bad grant id.");
    // The grant key includes the user id (library storage schema): another user's grant id is not found,
    // and saying so (not `ok`) tells a confused client that nothing was revoked.
    const grant = await env.OAUTH_KV.get<{ clientId?: unknown }>(grantKey(who.user.id, grantId), "json");
    if (grant === null) {
      throw new GatewayError("not_found", "You have no client grant with this id.");
    }
    const oauthApi = authorizationServerFor(canonicalOrigin(config, c.req.raw)).getOAuthApi(env);
    await oauthApi.revokeGrant(grantId, who.user.id);
    recordAuditFrom(c, {
      type: "token_revoked",
      outcome: "success",
      userId: who.user.id,
      teamId: who.user.teamId,
      clientId: typeof grant.clientId === "string" ? grant.clientId : undefined,
      detail: "revoked by the user on /credentials",
    });
    if (wantsJson(c)) return c.json({ ok: true, notice: "revoked" });
    return redirect(credentialsUrl("revoked"));
  });
}
