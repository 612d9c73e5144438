/**
 * The bindings, vars and secrets the auth module reads. All optional except
 * `OAUTH_KV` (the name workers-oauth-provider requires; our own prefixes live
 * there too). Declared here rather than in the generated `src/env.d.ts` because
 * most of them are secrets that `wrangler types` cannot see.
 *
 * @module
 */
import { vendorEnvPrefix } from "../config.ts";
import type { SignInGuard } from "./signin-guard.ts";

export interface AuthEnv {
  OAUTH_KV: KVNamespace;
  /** Password sign-in throttle (src/auth/signin-guard.ts). */
  SIGNIN_GUARD: DurableObjectNamespace<SignInGuard>;
  /** `none` turns client auth off (local use only); anything else, or unset, means OAuth is required. */
  GATEWAY_AUTH?: string;
  /** Canonical public origin (`https://mcp.example.com`); when unset the request's origin is used. */
  GATEWAY_PUBLIC_URL?: string;
  /** JSON array of users (valibot-checked in `config.ts`). */
  GATEWAY_USERS?: string;
  /** JSON object of teams by id (valibot-checked in `config.ts`). */
  GATEWAY_TEAMS?: string;
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  /** Space- or comma-separated; default `openid email profile`. */
  OIDC_SCOPES?: string;
  /** `true`: OIDC users not in `GATEWAY_USERS` may sign in (no team). Default: refused. */
  OIDC_ALLOW_UNLISTED_USERS?: string;
  /** Name on the sign-in button. */
  OIDC_DISPLAY_NAME?: string;
  /** Secret (>= 32 chars) the per-user credential encryption keys are derived from. */
  CREDENTIALS_ENCRYPTION_KEY?: string;
  /** The previous key during a rotation: still decrypts, never encrypts. */
  CREDENTIALS_ENCRYPTION_KEY_PREVIOUS?: string;
}

/** Reads an optional string var; empty and whitespace-only count as unset. */
export function envString(env: object, name: string): string | undefined {
  const value = (env as Record<string, unknown>)[name];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** `<VENDOR>_<SUFFIX>`: the same vendor prefix as `<VENDOR>_BASE_URL` and the upstream secrets. */
export function vendorVarName(vendor: string, suffix: string): string {
  return `${vendorEnvPrefix(vendor)}_${suffix}`;
}
