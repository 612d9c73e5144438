/**
 * Where upstream credentials come from. The executor asks a `CredentialSource`
 * for the credential of one security scheme; this module provides the source
 * backed by Worker secrets/vars (`wrangler secret put`, `.dev.vars` locally).
 * Per-user and OAuth 2.0 sources (KV-backed, refreshed) implement the same
 * interface and are passed in instead. It lives in the auth service: vendor kinds
 * (src/upstream/) receive a `CredentialSource` and never look credentials up themselves.
 *
 * Secret names come from vendor.json `auth.secrets` by role; a role without an
 * entry falls back to `<VENDOR>_API_KEY`, `<VENDOR>_TOKEN`, `<VENDOR>_USERNAME`,
 * `<VENDOR>_PASSWORD`.
 *
 * @module
 */
import type { SecurityScheme, VendorBundle } from "../bundle/types.ts";
import { type EnvVars, envString, type VendorVariable, vendorVarName } from "../config.ts";
import { memoized } from "../memo.ts";

/**
 * A credential ready to attach; the scheme decides where it goes. `related`: secrets held with
 * it but not sent (a refresh token, the OAuth client secret), scrubbed from results like it.
 */
export type UpstreamCredential = (
  | { type: "apiKey"; value: string }
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string }
) & { related?: string[] };

/** Supplies the credential for one scheme of the tool's security requirements, if it has one. */
export interface CredentialSource {
  get(schemeName: string, scheme: SecurityScheme): Promise<UpstreamCredential | undefined>;
}

export type SecretRole = "apiKey" | "token" | "username" | "password";

/** The env names holding each credential role for a vendor. */
export function secretNames(bundle: VendorBundle): Readonly<Record<SecretRole, string>> {
  // Once per bundle and isolate: every tool call's credential source reads them.
  return memoized(secretNamesByBundle, bundle, namesOf);
}

const secretNamesByBundle = new WeakMap<VendorBundle, Readonly<Record<SecretRole, string>>>();

function namesOf(bundle: VendorBundle): Readonly<Record<SecretRole, string>> {
  const configured = bundle.auth?.secrets ?? {};
  const named = (suffix: VendorVariable) => vendorVarName(bundle.vendor, suffix);
  return Object.freeze({
    apiKey: configured.apiKey ?? named("API_KEY"),
    token: configured.token ?? named("TOKEN"),
    username: configured.username ?? named("USERNAME"),
    password: configured.password ?? named("PASSWORD"),
  });
}

/** The secret names that would satisfy `scheme`, for "set X" hints (names only, never values). */
export function expectedSecretNames(bundle: VendorBundle, scheme: SecurityScheme | undefined): string[] {
  const names = secretNames(bundle);
  if (!scheme) return [];
  switch (scheme.type) {
    case "apiKey":
      return [names.apiKey];
    case "http":
      return scheme.scheme.toLowerCase() === "basic" ? [names.username, names.password] : [names.token];
    case "oauth2":
    case "openIdConnect":
      return [names.token];
    default:
      return [];
  }
}

/**
 * Credentials from env secrets: one shared organisation credential per vendor.
 * Yields nothing for vendors in `user` mode (their credentials are per user) and,
 * when vendor.json names `auth.scheme`, for every other scheme. OAuth 2.0 and
 * OpenID Connect schemes accept a static token as a bearer credential.
 */
export function envCredentialSource(env: EnvVars, bundle: VendorBundle): CredentialSource {
  const names = secretNames(bundle);
  const read = (name: string) => envString(env, name);
  return {
    async get(schemeName, scheme) {
      if (bundle.auth?.mode === "user") return undefined;
      if (bundle.auth?.scheme && bundle.auth.scheme !== schemeName) return undefined;
      switch (scheme.type) {
        case "apiKey": {
          const value = read(names.apiKey);
          return value === undefined ? undefined : { type: "apiKey", value };
        }
        case "http": {
          if (scheme.scheme.toLowerCase() === "basic") {
            const username = read(names.username);
            return username === undefined
              ? undefined
              : { type: "basic", username, password: read(names.password) ?? "" };
          }
          const token = read(names.token);
          return token === undefined ? undefined : { type: "bearer", token };
        }
        case "oauth2":
        case "openIdConnect": {
          const token = read(names.token);
          return token === undefined ? undefined : { type: "bearer", token };
        }
        default:
          return undefined;
      }
    },
  };
}
