/**
 * The `CredentialSource` for an authenticated caller: the user's own
 * credential, else their team's, else the organisation's (secrets, and OAuth
 * client credentials) — as the vendor's `auth.mode` permits.
 *
 * Tenant isolation: the owner ids come from the validated token's user and the
 * configured team, never from the request; KV keys are per owner and every
 * ciphertext is bound to its key.
 *
 * @module
 */
import type { SecurityScheme, VendorBundle } from "../bundle/types.ts";
import type { ToolOutcome } from "../tool-error.ts";
import { credentialsPageUrl } from "./availability.ts";
import type { Caller } from "./caller.ts";
import {
  type CredentialOwner,
  credentialOwners,
  type StoredSecret,
  setCredentialStatus,
} from "./credential-store.ts";
import { credentialCipher } from "./crypto.ts";
import type { CredentialSource, UpstreamCredential } from "./upstream-credentials.ts";
import { envCredentialSource } from "./upstream-credentials.ts";
import {
  acceptsPersonalCredentials,
  acceptsSharedCredentials,
  vendorAuth,
  vendorClientSecret,
} from "./vendor-auth.ts";
import { clientCredentialsToken, freshCredential, VendorOAuthError } from "./vendor-oauth.ts";

/** A credential source that can also say how to fix a missing or rejected credential. */
export interface CallerCredentialSource extends CredentialSource {
  /**
   * The upstream answered 401/403 with the credential this source handed out: marks a
   * personal or team credential invalid and returns what the user should do.
   */
  rejected(status: number): Promise<string | undefined>;
  /** When no credential was found: how the caller gets one. */
  missingHint(): string | undefined;
}

export interface CallerCredentialOptions {
  env: Env;
  bundle: VendorBundle;
  /** `undefined`: client auth is off; only the organisation's credentials are used. */
  caller: Caller | undefined;
  /** The gateway's public origin, for "fix it here" links (default: where the caller came in). */
  origin?: string | undefined;
  fetch?: typeof fetch;
}

/** The OAuth secrets held with a token the gateway obtained, scrubbed from results like the token. */
function oauthRelated(env: Env, bundle: VendorBundle, refreshToken?: string): { related?: string[] } {
  const related = [refreshToken, vendorClientSecret(env, bundle)].filter((s): s is string => s !== undefined);
  return related.length === 0 ? {} : { related };
}

function toUpstream(env: Env, bundle: VendorBundle, secret: StoredSecret): UpstreamCredential {
  switch (secret.type) {
    case "apiKey":
      return { type: "apiKey", value: secret.value };
    case "bearer":
      return { type: "bearer", token: secret.token };
    case "basic":
      return { type: "basic", username: secret.username, password: secret.password };
    case "oauth2":
      return { type: "bearer", token: secret.accessToken, ...oauthRelated(env, bundle, secret.refreshToken) };
  }
}

/** user → team → shared, as `vendor.json` `auth.mode` permits. */
export function callerCredentialSource(options: CallerCredentialOptions): CallerCredentialSource {
  const { env, bundle, caller } = options;
  const info = vendorAuth(bundle);
  const shared = envCredentialSource(env, bundle);
  let usedOwner: CredentialOwner | undefined;
  let missing: string | undefined;
  const origin = options.origin ?? caller?.origin;
  const fixUrl = origin === undefined ? undefined : credentialsPageUrl(origin, bundle.vendor);

  async function personal(schemeName: string): Promise<UpstreamCredential | undefined> {
    if (caller === undefined || !acceptsPersonalCredentials(info) || schemeName !== info.schemeName)
      return undefined;
    const cipherPromise = credentialCipher(env);
    if (cipherPromise === undefined) return undefined;
    const cipher = await cipherPromise;
    for (const owner of credentialOwners(caller)) {
      let stored: Awaited<ReturnType<typeof freshCredential>>;
      try {
        stored = await freshCredential(env, bundle, cipher, owner, options.fetch);
      } catch (error) {
        if (error instanceof VendorOAuthError) {
          missing = `${error.message}; try again shortly`;
          continue;
        }
        throw error;
      }
      if (stored === undefined) continue;
      if (stored.meta.status !== "ok") {
        missing =
          stored.meta.status === "needs_reauth"
            ? `Your ${bundle.displayName} connection expired and could not be renewed.`
            : `${bundle.displayName} rejected the stored credential.`;
        continue;
      }
      usedOwner = owner;
      return toUpstream(env, bundle, stored.secret);
    }
    return undefined;
  }

  async function organisation(
    schemeName: string,
    scheme: SecurityScheme,
  ): Promise<UpstreamCredential | undefined> {
    if (caller !== undefined && !acceptsSharedCredentials(info)) return undefined;
    if (scheme.type === "oauth2" && scheme.flows.clientCredentials !== undefined) {
      const cipher = credentialCipher(env);
      try {
        const token = await clientCredentialsToken(
          env,
          bundle,
          cipher === undefined ? undefined : await cipher,
          options.fetch,
        );
        if (token !== undefined) return { type: "bearer", token, ...oauthRelated(env, bundle) };
      } catch (error) {
        if (!(error instanceof VendorOAuthError)) throw error;
        missing = error.message;
        return undefined;
      }
    }
    return shared.get(schemeName, scheme);
  }

  return {
    async get(schemeName, scheme) {
      usedOwner = undefined;
      const mine = await personal(schemeName);
      if (mine !== undefined) return mine;
      return organisation(schemeName, scheme);
    },

    async rejected(status) {
      const owner = usedOwner;
      if (owner === undefined) {
        return `${bundle.displayName} rejected the organisation's credential (HTTP ${status}); ask the gateway operator.`;
      }
      await setCredentialStatus(env, owner, bundle.vendor, "invalid", `rejected_${status}`);
      const whose = owner.kind === "team" ? "your team's" : "your";
      const action = info.kind === "oauth2-code" ? "reconnect" : "replace";
      return (
        `${bundle.displayName} rejected ${whose} credential (HTTP ${status}); it is now marked invalid. ` +
        (fixUrl === undefined
          ? `${action} it on the gateway's credentials page.`
          : `${action} it at ${fixUrl}`)
      );
    },

    missingHint() {
      if (caller === undefined || !acceptsPersonalCredentials(info)) return undefined;
      const action =
        info.kind === "oauth2-code"
          ? `connect your ${bundle.displayName} account`
          : `enter your ${bundle.displayName} credential`;
      const prefix = missing === undefined ? "" : `${missing} `;
      return fixUrl === undefined
        ? `${prefix}${action} on the gateway's credentials page`
        : `${prefix}${action} at ${fixUrl}`;
    },
  };
}

/**
 * The credential source for one tool call: the caller's (user → team → organisation) when
 * client auth is on, the organisation's secrets (and OAuth client credentials) when it is off.
 */
export function credentialSourceFor(
  env: Env,
  bundle: VendorBundle,
  caller: Caller | undefined,
  fetchImpl?: typeof fetch,
): CallerCredentialSource {
  return callerCredentialSource({
    env,
    bundle,
    caller,
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
  });
}

/** HTTP statuses that mean "this credential is not (or no longer) accepted". */
const REJECTED_STATUSES = new Set([401, 403]);

/**
 * Adds what the user can do to a failed call: an upstream 401/403 marks the credential that
 * was used invalid (`rejected`) and says how to reconnect; a missing credential says where to
 * add one. A failure that already says how to fix it is kept: a kind that attaches its own
 * credentials (an upstream MCP server's authorizer, src/auth/mcp-credentials.ts) knows which one it
 * sent and why it was refused (a step-up, a refused refresh); this source never handed one out.
 */
export async function withCredentialFeedback(
  outcome: ToolOutcome,
  source: CallerCredentialSource,
): Promise<ToolOutcome> {
  if (outcome.ok || outcome.failure.reconnect !== undefined) return outcome;
  const { failure } = outcome;
  let hint: string | undefined;
  if (failure.code === "missing_credentials") {
    hint = source.missingHint();
  } else if (failure.status !== undefined && REJECTED_STATUSES.has(failure.status)) {
    hint = await source.rejected(failure.status);
  }
  if (hint === undefined) return outcome;
  return { ok: false, failure: { ...failure, reconnect: hint } };
}
