/**
 * What kind of upstream credential a vendor needs, and where its OAuth 2.0
 * endpoints, client and scopes come from.
 *
 * Configuration, most specific first:
 * - `<VENDOR>_OAUTH2_AUTHORIZATION_URL`, `<VENDOR>_OAUTH2_TOKEN_URL` override the spec's flow URLs
 *   (relative spec URLs resolve against the vendor's base URL);
 * - `<VENDOR>_OAUTH2_SCOPES=read,write` overrides `vendor.json` `auth.scopes`;
 * - the client id and secret come from the secrets `vendor.json` `auth.secrets.clientId` /
 *   `clientSecret` name, else `<VENDOR>_OAUTH2_CLIENT_ID` / `<VENDOR>_OAUTH2_CLIENT_SECRET`.
 *
 * @module
 */

import { resolveBaseUrl } from "../base-url.ts";
import type { SecurityScheme, VendorBundle } from "../bundle/types.ts";
import { type EnvVars, envString, vendorVarName } from "../config.ts";

/** What the credentials page asks a user for, and what the gateway sends upstream. */
export type CredentialKind =
  /** No tool of the vendor needs auth. */
  | "none"
  | "apiKey"
  | "bearer"
  | "basic"
  /** OAuth 2.0 authorization code (+PKCE): each user (or team) connects their account. */
  | "oauth2-code"
  /** OAuth 2.0 client credentials only: one organisation token. */
  | "oauth2-client"
  /** A scheme the gateway cannot satisfy (openIdConnect discovery, mutualTLS). */
  | "unsupported";

/** Where a vendor's credential may come from (`vendor.json` `auth.mode`; unset = any). */
export type CredentialMode = "shared" | "user" | "any";

export interface VendorAuthInfo {
  vendor: string;
  kind: CredentialKind;
  mode: CredentialMode;
  schemeName?: string;
  scheme?: SecurityScheme;
}

const SUPPORTED_KINDS = new Set<CredentialKind>([
  "apiKey",
  "bearer",
  "basic",
  "oauth2-code",
  "oauth2-client",
]);

function kindOf(scheme: SecurityScheme): CredentialKind {
  switch (scheme.type) {
    case "apiKey":
      return "apiKey";
    case "http": {
      const name = scheme.scheme.toLowerCase();
      if (name === "bearer") return "bearer";
      if (name === "basic") return "basic";
      return "unsupported";
    }
    case "oauth2":
      if (scheme.flows.authorizationCode) return "oauth2-code";
      if (scheme.flows.clientCredentials) return "oauth2-client";
      return "unsupported";
    default:
      return "unsupported";
  }
}

const infoCache = new WeakMap<VendorBundle, VendorAuthInfo>();

/**
 * The scheme the gateway satisfies for a vendor: `vendor.json` `auth.scheme`, else the
 * first scheme the tools require that the gateway supports.
 */
export function vendorAuth(bundle: VendorBundle): VendorAuthInfo {
  const cached = infoCache.get(bundle);
  if (cached !== undefined) return cached;
  const mode: CredentialMode = bundle.auth?.mode ?? "any";
  if (bundle.kind === "mcp") {
    const mcp = mcpVendorAuth(bundle, mode);
    infoCache.set(bundle, mcp);
    return mcp;
  }
  let info: VendorAuthInfo = { vendor: bundle.vendor, kind: "none", mode };
  const configured = bundle.auth?.scheme;
  const candidates: string[] = [];
  if (configured !== undefined) candidates.push(configured);
  for (const tool of bundle.tools) {
    for (const requirement of tool.security) candidates.push(...Object.keys(requirement));
  }
  let fallback: VendorAuthInfo | undefined;
  for (const name of candidates) {
    const scheme = bundle.securitySchemes[name];
    if (scheme === undefined) continue;
    const kind = kindOf(scheme);
    const candidate: VendorAuthInfo = { vendor: bundle.vendor, kind, mode, schemeName: name, scheme };
    if (SUPPORTED_KINDS.has(kind)) {
      info = candidate;
      fallback = undefined;
      break;
    }
    fallback ??= candidate;
  }
  if (fallback !== undefined) info = fallback;
  // Client credentials are an organisation credential by nature.
  if (info.kind === "oauth2-client") info = { ...info, mode: "shared" };
  infoCache.set(bundle, info);
  return info;
}

/** The scheme name MCP vendors' credentials are filed under (they have no OpenAPI schemes). */
export const MCP_SCHEME_NAME = "mcp";

/**
 * MCP vendors (`vendor.json` `auth`, see `VendorAuthConfig`): no `auth` → `none`; `auth.header`
 * → an API key in that header; `auth.oauth: false` → a static bearer token; otherwise OAuth
 * (MCP authorization) with a static `<VENDOR>_TOKEN` as the organisation's fallback.
 */
function mcpVendorAuth(bundle: VendorBundle, mode: CredentialMode): VendorAuthInfo {
  const auth = bundle.auth;
  const kind: CredentialKind =
    auth === undefined
      ? "none"
      : auth.header !== undefined
        ? "apiKey"
        : auth.oauth === false
          ? "bearer"
          : "oauth2-code";
  return { vendor: bundle.vendor, kind, mode, ...(kind === "none" ? {} : { schemeName: MCP_SCHEME_NAME }) };
}

/** The vendor needs a credential a user or team can store (not shared-only, not keyless). */
export function acceptsPersonalCredentials(info: VendorAuthInfo): boolean {
  return info.mode !== "shared" && SUPPORTED_KINDS.has(info.kind) && info.kind !== "oauth2-client";
}

/** The vendor may fall back to the organisation's credential from secrets. */
export function acceptsSharedCredentials(info: VendorAuthInfo): boolean {
  return info.mode !== "user";
}

export interface VendorOAuthConfig {
  authorizationUrl?: string;
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  scopes: string[];
}

function absolute(url: string, env: EnvVars, bundle: VendorBundle): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    // A relative spec URL resolves against the base URL tool calls go to; when that is
    // unusable (resolveBaseUrl throws a configuration error) the flow has no URL either.
    try {
      const base = resolveBaseUrl(env, bundle).href;
      return new URL(url, base.endsWith("/") ? base : `${base}/`).href;
    } catch {
      return undefined;
    }
  }
}

/** Scopes from `<VENDOR>_OAUTH2_SCOPES` (comma or space separated), else `vendor.json` `auth.scopes`. */
export function vendorScopes(env: EnvVars, bundle: VendorBundle): string[] {
  const fromEnv = envString(env, vendorVarName(bundle.vendor, "OAUTH2_SCOPES"));
  if (fromEnv !== undefined) return fromEnv.split(/[\s,]+/).filter(Boolean);
  return [...(bundle.auth?.scopes ?? [])];
}

/** The vendor's OAuth 2.0 client secret, when one is configured. */
export function vendorClientSecret(env: EnvVars, bundle: VendorBundle): string | undefined {
  return envString(
    env,
    bundle.auth?.secrets?.clientSecret ?? vendorVarName(bundle.vendor, "OAUTH2_CLIENT_SECRET"),
  );
}

/**
 * The vendor's OAuth 2.0 client configuration for a flow, or `undefined` when the
 * scheme has no such flow or the client id is not configured.
 */
export function vendorOAuthConfig(
  env: EnvVars,
  bundle: VendorBundle,
  flow: "authorizationCode" | "clientCredentials",
): VendorOAuthConfig | undefined {
  const info = vendorAuth(bundle);
  if (info.scheme?.type !== "oauth2") return undefined;
  const spec = info.scheme.flows[flow];
  if (spec === undefined) return undefined;
  const secrets = bundle.auth?.secrets ?? {};
  const clientId = envString(env, secrets.clientId ?? vendorVarName(bundle.vendor, "OAUTH2_CLIENT_ID"));
  if (clientId === undefined) return undefined;
  const clientSecret = vendorClientSecret(env, bundle);
  const tokenUrl = absolute(
    envString(env, vendorVarName(bundle.vendor, "OAUTH2_TOKEN_URL")) ?? spec.tokenUrl,
    env,
    bundle,
  );
  if (tokenUrl === undefined) return undefined;
  let authorizationUrl: string | undefined;
  if (flow === "authorizationCode" && "authorizationUrl" in spec) {
    authorizationUrl = absolute(
      envString(env, vendorVarName(bundle.vendor, "OAUTH2_AUTHORIZATION_URL")) ?? spec.authorizationUrl,
      env,
      bundle,
    );
    if (authorizationUrl === undefined) return undefined;
  }
  return {
    ...(authorizationUrl === undefined ? {} : { authorizationUrl }),
    tokenUrl,
    clientId,
    ...(clientSecret === undefined ? {} : { clientSecret }),
    scopes: vendorScopes(env, bundle),
  };
}
