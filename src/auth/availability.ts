/**
 * Which vendors a caller can use right now, why not, and where to fix it.
 *
 * Computed once per MCP request from two KV `list`s (the user's and the team's
 * credential metadata; nothing is decrypted) plus which shared secrets exist.
 * Feeds `Caller.vendorAvailable` (the `/v1/mcp` listing) and the
 * `gateway_status` tool.
 *
 * @module
 */
import { allBundles } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { type EnvVars, envString, loadConfig } from "../config.ts";
import type { TeamAllowlist } from "./caller.ts";
import type { ResolvedUser } from "./config.ts";
import { type CredentialMeta, type CredentialOwner, listCredentials } from "./credential-store.ts";
import { type SecretRole, secretNames } from "./upstream-credentials.ts";
import {
  acceptsPersonalCredentials,
  acceptsSharedCredentials,
  type VendorAuthInfo,
  vendorAuth,
  vendorOAuthConfig,
} from "./vendor-auth.ts";

/** Why a vendor is unavailable (stable codes; the message is for people). */
export type UnavailableReason =
  | "not_allowed"
  | "not_connected"
  | "needs_reauthorization"
  | "credential_rejected"
  | "not_configured"
  | "unsupported_auth";

export interface VendorAvailability {
  vendor: string;
  displayName: string;
  available: boolean;
  /** Whose credential a call would use. */
  source?: "user" | "team" | "shared" | "none_needed";
  reason?: UnavailableReason;
  message?: string;
  /** Where a person fixes it (the credentials page), when they can. */
  fixUrl?: string;
}

/** The credentials page anchor for a vendor. */
export function credentialsPageUrl(origin: string, vendor?: string): string {
  return `${origin}/credentials${vendor === undefined ? "" : `#vendor-${vendor}`}`;
}

/** Usable now or after a refresh. */
function isUsable(meta: CredentialMeta | undefined, now = Date.now()): boolean {
  if (meta === undefined || meta.status !== "ok") return false;
  if (meta.type === "oauth2" && meta.expiresAt !== undefined && meta.expiresAt <= now && !meta.refreshable)
    return false;
  return true;
}

/**
 * The organisation credential exists in secrets (names from `vendor.json`
 * `auth.secrets`, else `<VENDOR>_API_KEY`, `<VENDOR>_TOKEN`, `<VENDOR>_USERNAME` +
 * `<VENDOR>_PASSWORD`; OAuth: a client-credentials client).
 */
export function sharedCredentialPresent(env: EnvVars, bundle: VendorBundle, info: VendorAuthInfo): boolean {
  // The names the upstream credential source reads, so "present" here means the same secret.
  const names = secretNames(bundle);
  const has = (role: SecretRole) => envString(env, names[role]) !== undefined;
  switch (info.kind) {
    case "apiKey":
      return has("apiKey");
    case "bearer":
      return has("token");
    case "basic":
      return has("username") && has("password");
    case "oauth2-code":
    case "oauth2-client":
      return vendorOAuthConfig(env, bundle, "clientCredentials") !== undefined || has("token");
    default:
      return false;
  }
}

const NEEDS_REAUTH_MESSAGE = "the connection expired and could not be renewed: connect it again";
const REJECTED_MESSAGE = "the vendor rejected the stored credential: replace it or connect again";

/** Availability of one vendor for a user, given their and their team's credential metadata. */
export function vendorAvailability(
  env: EnvVars,
  bundle: VendorBundle,
  allowlist: TeamAllowlist | undefined,
  user: ResolvedUser | undefined,
  mine: ReadonlyMap<string, CredentialMeta>,
  team: ReadonlyMap<string, CredentialMeta>,
  origin: string,
  personalStorage: boolean,
): VendorAvailability {
  const base = { vendor: bundle.vendor, displayName: bundle.displayName };
  const fixUrl = credentialsPageUrl(origin, bundle.vendor);
  if (allowlist?.vendors !== undefined && !allowlist.vendors.includes(bundle.vendor)) {
    return {
      ...base,
      available: false,
      reason: "not_allowed",
      message: "your team's allowlist does not include it",
    };
  }
  const info = vendorAuth(bundle);
  if (info.kind === "none") return { ...base, available: true, source: "none_needed" };
  if (info.kind === "unsupported") {
    return {
      ...base,
      available: false,
      reason: "unsupported_auth",
      message: "its auth scheme is not supported",
    };
  }
  if (user !== undefined && acceptsPersonalCredentials(info) && personalStorage) {
    const own = mine.get(bundle.vendor);
    if (isUsable(own)) return { ...base, available: true, source: "user" };
    const shared = team.get(bundle.vendor);
    if (isUsable(shared)) return { ...base, available: true, source: "team" };
    if (acceptsSharedCredentials(info) && sharedCredentialPresent(env, bundle, info)) {
      return { ...base, available: true, source: "shared" };
    }
    const broken = own ?? shared;
    // A stored credential that is not usable: rejected by the vendor, else expired beyond renewal.
    if (broken !== undefined && broken.status === "invalid") {
      return { ...base, available: false, reason: "credential_rejected", message: REJECTED_MESSAGE, fixUrl };
    }
    if (broken !== undefined) {
      return {
        ...base,
        available: false,
        reason: "needs_reauthorization",
        message: NEEDS_REAUTH_MESSAGE,
        fixUrl,
      };
    }
    const action = info.kind === "oauth2-code" ? "connect your account" : "enter your credential";
    return {
      ...base,
      available: false,
      reason: "not_connected",
      message: `no credential yet: ${action}`,
      fixUrl,
    };
  }
  if (acceptsSharedCredentials(info) && sharedCredentialPresent(env, bundle, info)) {
    return { ...base, available: true, source: "shared" };
  }
  return {
    ...base,
    available: false,
    reason: "not_configured",
    message: personalStorage
      ? "the operator has not configured a credential for it"
      : "the operator has not configured a credential for it (per-user credentials need CREDENTIALS_ENCRYPTION_KEY)",
  };
}

/** Availability of every vendor for a user. */
export async function computeAvailability(
  env: Env,
  user: ResolvedUser,
  allowlist: TeamAllowlist | undefined,
  origin: string,
): Promise<Map<string, VendorAvailability>> {
  const personalStorage = loadConfig(env).auth.credentialsKey !== undefined;
  const owners: [CredentialOwner, CredentialOwner | undefined] = [
    { kind: "user", id: user.id },
    user.teamId === undefined ? undefined : { kind: "team", id: user.teamId },
  ];
  const empty = new Map<string, CredentialMeta>();
  const [mine, team] = personalStorage
    ? await Promise.all(owners.map((owner) => (owner === undefined ? empty : listCredentials(env, owner))))
    : [empty, empty];
  const result = new Map<string, VendorAvailability>();
  for (const bundle of allBundles()) {
    result.set(
      bundle.vendor,
      vendorAvailability(env, bundle, allowlist, user, mine ?? empty, team ?? empty, origin, personalStorage),
    );
  }
  return result;
}
