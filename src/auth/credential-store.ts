/**
 * Per-user and per-team upstream credentials in KV, encrypted at rest.
 *
 * Key: `cred:<u|t>:<sha256(owner) 32 hex>:<vendor>`. Value: AES-GCM ciphertext
 * of the secret (additional data = the key, so a value moved under another
 * owner does not decrypt). KV metadata (plaintext, listable, no secrets): the
 * credential's type, status and expiry, so one `list()` tells which vendors a
 * user can use without decrypting anything.
 *
 * @module
 */
import { credentialOwnerPrefix } from "../storage/keys.ts";
import { type CredentialCipher, hashId } from "./crypto.ts";

/** Whose credential: a user's own, or their team's (shared by its members, managed by admins). */
export type CredentialOwner = { kind: "user" | "team"; id: string };

/** The secret part, only ever stored encrypted. */
export type StoredSecret =
  | { type: "apiKey"; value: string }
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string }
  | {
      type: "oauth2";
      accessToken: string;
      refreshToken?: string;
      /** Epoch ms. */
      expiresAt?: number;
      scope?: string;
      /** MCP vendors: where and as whom the tokens were obtained (refresh needs it). */
      mcp?: McpGrant;
    };

/** The authorization server and client behind an MCP vendor's OAuth tokens. */
export interface McpGrant {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** The RFC 8707 resource the tokens are for. */
  resource: string;
  clientId: string;
  clientSecret?: string;
  authMethod: "none" | "client_secret_basic" | "client_secret_post";
}

/**
 * - `ok`: usable (an OAuth token may be expired but refreshable);
 * - `invalid`: the vendor rejected it (401/403): replace or reconnect;
 * - `needs_reauth`: an OAuth refresh failed: connect again.
 */
export type CredentialStatus = "ok" | "invalid" | "needs_reauth";

/** KV metadata: plaintext, so never anything secret (KV caps metadata at 1024 bytes). */
export interface CredentialMeta {
  type: StoredSecret["type"];
  status: CredentialStatus;
  updatedAt: number;
  /** OAuth access token expiry, epoch ms. */
  expiresAt?: number;
  refreshable?: boolean;
  /** Short machine-readable reason for a non-ok status. */
  reason?: string;
  /** Who stored it (user id), for team credentials. */
  by?: string;
  /** MCP vendors: the scope the upstream asked for (403 `insufficient_scope`); the next connect requests it. */
  wantScope?: string;
}

export interface StoredCredential {
  secret: StoredSecret;
  meta: CredentialMeta;
}

/** Whose credentials a caller may use, in order: their own, then their team's. */
export function credentialOwners(caller: { userId: string; teamId?: string | undefined }): CredentialOwner[] {
  const owners: CredentialOwner[] = [{ kind: "user", id: caller.userId }];
  if (caller.teamId !== undefined) owners.push({ kind: "team", id: caller.teamId });
  return owners;
}

async function ownerPrefix(owner: CredentialOwner): Promise<string> {
  return credentialOwnerPrefix(owner.kind, await hashId(owner.kind, owner.id));
}

/** The KV key of an owner's credential for a vendor. */
export async function credentialKey(owner: CredentialOwner, vendor: string): Promise<string> {
  return `${await ownerPrefix(owner)}${vendor}`;
}

export function metaFor(secret: StoredSecret, extra: Partial<CredentialMeta> = {}): CredentialMeta {
  return {
    type: secret.type,
    status: "ok",
    updatedAt: Date.now(),
    ...(secret.type === "oauth2" && secret.expiresAt !== undefined ? { expiresAt: secret.expiresAt } : {}),
    ...(secret.type === "oauth2" ? { refreshable: secret.refreshToken !== undefined } : {}),
    ...extra,
  };
}

export async function putCredential(
  env: Env,
  cipher: CredentialCipher,
  owner: CredentialOwner,
  vendor: string,
  secret: StoredSecret,
  meta: CredentialMeta = metaFor(secret),
): Promise<void> {
  const key = await credentialKey(owner, vendor);
  await env.OAUTH_KV.put(key, await cipher.encrypt(secret, key), { metadata: meta });
}

/** The owner's credential for a vendor, decrypted; `undefined` when absent or undecryptable. */
export async function getCredential(
  env: Env,
  cipher: CredentialCipher,
  owner: CredentialOwner,
  vendor: string,
): Promise<StoredCredential | undefined> {
  const key = await credentialKey(owner, vendor);
  const { value, metadata } = await env.OAUTH_KV.getWithMetadata<CredentialMeta>(key, "text");
  if (value === null || metadata === null) return undefined;
  const secret = await cipher.decrypt<StoredSecret>(value, key);
  if (secret === undefined) return undefined;
  if (cipher.needsReseal(value)) await env.OAUTH_KV.put(key, await cipher.encrypt(secret, key), { metadata });
  return { secret, meta: metadata };
}

/** Changes a credential's status (keeps the ciphertext as is). */
export async function setCredentialStatus(
  env: Env,
  owner: CredentialOwner,
  vendor: string,
  status: CredentialStatus,
  reason?: string,
  extra: Pick<CredentialMeta, "wantScope"> = {},
): Promise<void> {
  const key = await credentialKey(owner, vendor);
  const { value, metadata } = await env.OAUTH_KV.getWithMetadata<CredentialMeta>(key, "text");
  if (value === null || metadata === null) return;
  const { reason: _previous, ...rest } = metadata;
  const meta: CredentialMeta = {
    ...rest,
    status,
    updatedAt: Date.now(),
    ...(reason === undefined ? {} : { reason }),
    ...extra,
  };
  await env.OAUTH_KV.put(key, value, { metadata: meta });
}

export async function deleteCredential(env: Env, owner: CredentialOwner, vendor: string): Promise<void> {
  await env.OAUTH_KV.delete(await credentialKey(owner, vendor));
}

/** Status of every credential an owner has stored, by vendor (one KV `list`, nothing decrypted). */
export async function listCredentials(
  env: Env,
  owner: CredentialOwner,
): Promise<Map<string, CredentialMeta>> {
  const prefix = await ownerPrefix(owner);
  const result = new Map<string, CredentialMeta>();
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<CredentialMeta, string> = await env.OAUTH_KV.list<CredentialMeta>({
      prefix,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const key of page.keys) {
      if (key.metadata !== undefined) result.set(key.name.slice(prefix.length), key.metadata);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return result;
}
