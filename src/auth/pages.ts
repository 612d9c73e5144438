/**
 * Server-rendered pages: sign-in, consent, credentials. No scripts, no external
 * resources; every interpolated value is escaped (client names, scopes and
 * redirect URIs come from whoever registered the client).
 *
 * @module
 */
import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";
import type { VendorAvailability } from "./availability.ts";
import type { CredentialMeta } from "./credential-store.ts";
import type { CredentialKind, CredentialMode } from "./vendor-auth.ts";

/** No scripts, no framing, nothing loaded from elsewhere. */
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * A CSP source for where a form submission may end up: browsers (Chrome, Safari, Firefox ≥ 125)
 * apply `form-action` to the form's target *and every redirect after it*, so a page whose form
 * redirects elsewhere (consent → the client's redirect URI, connect → the vendor) lists that place.
 * Only the origin (or, for a custom scheme such as `cursor://`, the scheme) is used: the value
 * comes from whoever registered the client, and a path could carry `;` or `,` into the header.
 */
export function formTargetSource(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol === "https:" || parsed.protocol === "http:") return parsed.origin;
  if (["javascript:", "data:", "blob:", "file:"].includes(parsed.protocol)) return undefined;
  return /^[a-z][a-z0-9+.-]*:$/i.test(parsed.protocol) ? parsed.protocol : undefined;
}

/**
 * Security headers every page carries (the consent page adds the library's on top).
 * `formTargets`: where the page's forms may lead besides the gateway itself (`form-action`).
 */
export function pageHeaders(extra?: HeadersInit, formTargets: readonly string[] = []): Headers {
  const headers = new Headers(extra);
  headers.set("content-type", "text/html; charset=utf-8");
  const sources = new Set(["'self'"]);
  for (const target of formTargets) {
    const source = formTargetSource(target);
    if (source !== undefined) sources.add(source);
  }
  headers.set("content-security-policy", `${PAGE_CSP}; form-action ${[...sources].join(" ")}`);
  headers.set("x-frame-options", "DENY");
  headers.set("referrer-policy", "no-referrer");
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  return headers;
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:0 0 .3rem}
.card{border:1px solid #d0d0d5;border-radius:8px;padding:1rem;margin:1rem 0}
.warn{background:#fff4e5;border-color:#f0b35a}.error{background:#fdecec;border-color:#e08a8a}.ok{background:#eaf7ee;border-color:#8ac79a}
label{display:block;margin:.3rem 0}input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}
button,a.button{padding:.4rem .9rem;margin:.3rem .3rem 0 0}a.button{display:inline-block;border:1px solid #767676;border-radius:3px;background:#efefef;color:inherit;text-decoration:none}.muted{color:#666}.status{font-weight:600}
code{background:#f2f2f5;padding:0 .2rem;border-radius:3px}form.inline{display:inline}
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

// ---------------------------------------------------------------------------------------------

export interface SignInPageOptions {
  returnTo: string;
  formToken: string;
  password: boolean;
  oidcName?: string;
  error?: string;
}

export function signInPage(options: SignInPageOptions): string {
  const error =
    options.error === undefined
      ? ""
      : `<div class="card error" role="alert">${escapeHtml(options.error)}</div>`;
  const password = options.password
    ? `<form method="post" action="/signin" class="card">
  <input type="hidden" name="return" value="${escapeHtml(options.returnTo)}">
  <input type="hidden" name="form_token" value="${escapeHtml(options.formToken)}">
  <label>User name <input type="text" name="username" autocomplete="username" required></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>`
    : "";
  const oidc =
    options.oidcName === undefined
      ? ""
      : // A link, not a form: it redirects to the provider, which the page's `form-action 'self'` would block.
        `<p class="card"><a class="button" href="/signin/oidc?return=${escapeHtml(encodeURIComponent(options.returnTo))}">Sign in with ${escapeHtml(options.oidcName)}</a></p>`;
  const none =
    !options.password && options.oidcName === undefined
      ? `<div class="card warn">No sign-in method is configured. The operator sets <code>GATEWAY_USERS</code> (with password hashes) or <code>OIDC_ISSUER</code>.</div>`
      : "";
  return layout("Sign in", `<h1>Sign in to MCP Edge Gateway</h1>${error}${oidc}${password}${none}`);
}

// ---------------------------------------------------------------------------------------------

export interface ConsentPageOptions {
  details: ConsentDescription;
  handle: string;
  csrf: string;
  userName: string;
  /** Scopes offered as checkboxes (the requested ones, or the defaults when none were requested). */
  scopes: readonly string[];
  scopeDescriptions: Readonly<Record<string, string>>;
}

export function consentPage(options: ConsentPageOptions): string {
  const { details } = options;
  const name = escapeHtml(details.clientName);
  const origin = details.clientDomain
    ? `Published by <strong>${escapeHtml(details.clientDomain)}</strong>.`
    : "This app registered itself: its name is <strong>not verified</strong>.";
  const loopback = details.redirectIsLoopback
    ? `<div class="card warn"><strong>This sends access to an app on your computer.</strong> Continue only if you just started signing in from it.</div>`
    : "";
  const scopes = options.scopes
    .map(
      (scope) =>
        `<label><input type="checkbox" name="scope" value="${escapeHtml(scope)}" checked> <code>${escapeHtml(scope)}</code> ${escapeHtml(options.scopeDescriptions[scope] ?? "")}</label>`,
    )
    .join("");
  return layout(
    `Authorize ${details.clientName}`,
    `<h1>Allow <span id="client-name">${name}</span> to use MCP Edge Gateway as ${escapeHtml(options.userName)}?</h1>
<div class="card"><p>${origin}</p>
<p>Access will be sent to <strong id="redirect-host">${escapeHtml(details.redirectHost)}</strong><br>
<span class="muted">Redirect URI: <code id="redirect-uri">${escapeHtml(details.redirectUri)}</code></span></p></div>
${loopback}
<form method="post" action="/authorize" class="card">
  <input type="hidden" name="handle" value="${escapeHtml(options.handle)}">
  <input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
  <p>Permissions:</p>${scopes}
  <p><button type="submit" name="decision" value="approve">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button></p>
</form>`,
  );
}

// ---------------------------------------------------------------------------------------------

export interface CredentialRow {
  vendor: string;
  displayName: string;
  kind: CredentialKind;
  mode: CredentialMode;
  availability: VendorAvailability;
  mine?: CredentialMeta;
  team?: CredentialMeta;
  sharedPresent: boolean;
  allowed: boolean;
  /** OAuth connect possible (client configured). */
  canConnect: boolean;
  /** An OAuth vendor that also takes a token the user pastes (MCP vendors). */
  acceptsToken?: boolean;
  personal: boolean;
}

export interface ClientGrantRow {
  grantId: string;
  clientName: string;
  scope: string[];
  createdAt: number;
}

export interface CredentialsPageOptions {
  userId: string;
  userName: string;
  teamId?: string;
  teamAdmin: boolean;
  csrf: string;
  rows: CredentialRow[];
  grants: ClientGrantRow[];
  notice?: { kind: "ok" | "error"; text: string };
  personalStorage: boolean;
}

function statusText(meta: CredentialMeta | undefined): string {
  if (meta === undefined) return "not set";
  switch (meta.status) {
    case "ok":
      if (meta.type === "oauth2") return meta.refreshable ? "connected" : "connected (expires, no refresh)";
      return "set";
    case "invalid":
      return "rejected by the vendor: replace it";
    case "needs_reauth":
      return "expired: connect again";
  }
}

function ownerForms(
  row: CredentialRow,
  owner: "user" | "team",
  meta: CredentialMeta | undefined,
  csrf: string,
): string {
  const vendor = escapeHtml(row.vendor);
  const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><input type="hidden" name="owner" value="${owner}">`;
  const who = owner === "user" ? "your" : "the team's";
  const forms: string[] = [];
  if (row.kind === "oauth2-code") {
    if (row.canConnect) {
      forms.push(
        `<form method="post" action="/credentials/${vendor}/connect" class="inline">${hidden}<button type="submit" data-action="connect-${owner}">${meta === undefined ? "Connect" : "Reconnect"} ${who} account</button></form>`,
      );
    } else {
      forms.push(
        `<span class="muted">The operator has not configured an OAuth client for this vendor.</span>`,
      );
    }
  }
  if (row.kind === "apiKey" || row.kind === "bearer" || (row.kind === "oauth2-code" && row.acceptsToken)) {
    const text =
      row.kind === "oauth2-code"
        ? `Or paste ${who} token`
        : `${meta === undefined ? "Enter" : "Replace"} ${who} ${row.kind === "apiKey" ? "API key" : "Token"}`;
    forms.push(`<form method="post" action="/credentials/${vendor}/secret">${hidden}
<label>${text} <input type="password" name="secret" autocomplete="off" required></label>
<button type="submit" data-action="save-${owner}">Save</button></form>`);
  } else if (row.kind === "basic") {
    forms.push(`<form method="post" action="/credentials/${vendor}/secret">${hidden}
<label>User name <input type="text" name="username" autocomplete="off" required></label>
<label>Password <input type="password" name="secret" autocomplete="off" required></label>
<button type="submit" data-action="save-${owner}">Save</button></form>`);
  }
  if (meta !== undefined) {
    forms.push(
      `<form method="post" action="/credentials/${vendor}/disconnect" class="inline">${hidden}<button type="submit" data-action="disconnect-${owner}">${row.kind === "oauth2-code" ? "Disconnect" : "Remove"} ${who} credential</button></form>`,
    );
  }
  return forms.join("\n");
}

/**
 * The step between "Connect" and an MCP vendor's authorization server: that server was
 * discovered from the upstream (untrusted), so the user sees its host before going there, and
 * the credentials page's `form-action` need not list servers nobody knew when it rendered.
 */
export function continueToAuthorizationPage(displayName: string, location: string): string {
  const host = new URL(location).host;
  return layout(
    `Connect ${displayName}`,
    `<h1>Connect ${escapeHtml(displayName)}</h1>
<p>${escapeHtml(displayName)} signs you in at <strong>${escapeHtml(host)}</strong>. Continue there to connect your account.</p>
<p><a class="button" href="${escapeHtml(location)}" data-action="continue" rel="noreferrer">Continue to ${escapeHtml(host)}</a>
<a href="/credentials">Cancel</a></p>`,
  );
}

function credentialCard(row: CredentialRow, options: CredentialsPageOptions): string {
  const a = row.availability;
  const state = a.available
    ? `<span class="status" data-state="available">available</span> <span class="muted">(using ${a.source === "none_needed" ? "no credential" : a.source === "shared" ? "the organisation's credential" : a.source === "team" ? "the team's credential" : "your credential"})</span>`
    : `<span class="status" data-state="unavailable">unavailable</span>: ${escapeHtml(a.message ?? a.reason ?? "")}`;
  const parts = [
    `<h2>${escapeHtml(row.displayName)} <span class="muted">(${escapeHtml(row.vendor)})</span></h2><p>${state}</p>`,
  ];
  if (row.allowed && row.personal && options.personalStorage) {
    parts.push(`<p>Your credential: <span data-owner="user">${escapeHtml(statusText(row.mine))}</span></p>`);
    parts.push(ownerForms(row, "user", row.mine, options.csrf));
    if (options.teamId !== undefined) {
      parts.push(
        `<p>Team credential: <span data-owner="team">${escapeHtml(statusText(row.team))}</span></p>`,
      );
      if (options.teamAdmin) parts.push(ownerForms(row, "team", row.team, options.csrf));
    }
  }
  if (row.kind !== "none" && row.mode !== "user") {
    parts.push(
      `<p class="muted">Organisation credential: ${row.sharedPresent ? "configured" : "not configured"}</p>`,
    );
  }
  const tone = a.available ? "ok" : row.allowed ? "warn" : "";
  return `<section class="card ${tone}" id="vendor-${escapeHtml(row.vendor)}" data-vendor="${escapeHtml(row.vendor)}">${parts.join("\n")}</section>`;
}

export function credentialsPage(options: CredentialsPageOptions): string {
  const notice =
    options.notice === undefined
      ? ""
      : `<div class="card ${options.notice.kind}" role="status" id="notice">${escapeHtml(options.notice.text)}</div>`;
  const storage = options.personalStorage
    ? ""
    : `<div class="card warn">Per-user credentials are off: the operator has not set <code>CREDENTIALS_ENCRYPTION_KEY</code>.</div>`;
  const grants =
    options.grants.length === 0
      ? `<p class="muted">No MCP client is authorized.</p>`
      : options.grants
          .map(
            (grant) =>
              `<form method="post" action="/credentials/clients/${escapeHtml(grant.grantId)}/revoke" class="card">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
<strong>${escapeHtml(grant.clientName)}</strong> <span class="muted">${escapeHtml(grant.scope.join(" "))} · since ${escapeHtml(new Date(grant.createdAt * 1000).toISOString().slice(0, 10))}</span>
<button type="submit">Revoke</button></form>`,
          )
          .join("");
  const team =
    options.teamId === undefined
      ? ""
      : ` · team <strong>${escapeHtml(options.teamId)}</strong>${options.teamAdmin ? " (admin)" : ""}`;
  return layout(
    "Credentials",
    `<h1>Your API credentials</h1>
<p>Signed in as <strong id="user">${escapeHtml(options.userName)}</strong>${team}.</p>
<form method="post" action="/signout" class="inline"><input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}"><button type="submit">Sign out</button></form>
${notice}${storage}
${options.rows.map((row) => credentialCard(row, options)).join("\n")}
<h1>MCP clients</h1>${grants}`,
  );
}
