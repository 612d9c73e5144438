/**
 * The gateway's storage schema: every key it reads or writes in KV and in Durable Object
 * storage, the record each key holds and how long it lives. The README's "Storage schema"
 * section shows the same tables; `test/scripts/storage-schema.test.ts` fails when the two
 * differ, so a new key is added here first and documented there.
 *
 * KV namespace `OAUTH_KV`. IDs of tokens, sessions and states appear only as hashes (lower-case
 * hex SHA-256), never raw, so a KV reader learns no secret; the builders take the hash, the
 * callers compute it.
 *
 * | key | holds | TTL |
 * | --- | --- | --- |
 * | `client:<clientId>` | the library's `ClientInfo` (read only by the library) | {@link CLIENT_REGISTRATION_TTL_SECONDS} |
 * | `grant:<userId>:<grantId>` | the library's `Grant`; the gateway reads its refresh token hashes (`auth/refresh-reuse.ts`) and its existence (`auth/routes/credentials.ts`) | {@link AUTHORIZATION_CODE_TTL_SECONDS}, then {@link REFRESH_TOKEN_TTL_SECONDS} |
 * | `token:<userId>:<grantId>:<hash>` | the library's access token record | {@link ACCESS_TOKEN_TTL_SECONDS} |
 * | `transaction:<hash>` | the library's sealed consent handle | {@link TRANSACTION_TTL_SECONDS} |
 * | `session:<sha256(session id)>` | `SessionRecord` (`auth/session.ts`), JSON | {@link SESSION_TTL_SECONDS} |
 * | `refresh-retired:<userId>:<grantId>` | `string[]` of retired refresh token hashes, JSON | {@link REFRESH_TOKEN_TTL_SECONDS} |
 * | `oidc-state:<sha256(state)>` | `OidcStateRecord` (`auth/oidc.ts`), sealed under the state | {@link OIDC_STATE_TTL_SECONDS} |
 * | `vstate:<sha256(state)>` | `VendorStateRecord` (`auth/vendor-oauth.ts`), sealed under the state | {@link VENDOR_STATE_TTL_SECONDS} |
 * | `cred:u:<sha256(user)>:<vendor>` | `StoredSecret`, AES-GCM; metadata `CredentialMeta` (`auth/credential-store.ts`) | none |
 * | `cred:t:<sha256(team)>:<vendor>` | the same for a team | none |
 * | `cctoken:<vendor>:<hash>` | `CachedToken` (`auth/vendor-oauth.ts`), AES-GCM | token lifetime − {@link TOKEN_REFRESH_SKEW_SECONDS} |
 * | `tooldefs:<vendor>` | `DefinitionRecord` (`mcp-upstream/definition-record.ts`), JSON: an MCP vendor's approved tool definition hashes and changes, at most 1,000 tools | none |
 * | `mcpclient:<vendor>:<hash>` | `McpOAuthClient` (`auth/mcp-credentials.ts`): the gateway's dynamically registered client at an MCP vendor's authorization server, AES-GCM | {@link MCP_CLIENT_REGISTRATION_TTL_SECONDS} |
 *
 * Durable Object storage (each object's synchronous SQLite KV):
 *
 * | namespace, object name | key | holds |
 * | --- | --- | --- |
 * | `VENDOR_GUARD`, `<vendor>` | {@link VENDOR_GUARD_BREAKER_KEY} | `Breaker` (`resilience/vendor-guard.ts`) |
 * | | {@link VENDOR_GUARD_BUCKET_KEY} | `Bucket` |
 * | | {@link VENDOR_GUARD_STATS_KEY} | `Stats` |
 * | | {@link VENDOR_GUARD_DRIFT_KEY} | `Record<toolName, mismatches>` |
 * | `SIGNIN_GUARD`, {@link signInAccountName} / {@link signInAddressName} | {@link SIGNIN_GUARD_STATE_KEY} | `State` (`auth/signin-guard.ts`) |
 * | `AUDIT_LOG`, {@link auditLogTeamName} / {@link AUDIT_LOG_GATEWAY_NAME} | {@link AUDIT_LOG_TABLE} (SQL table) | audit events (`ops/audit-log.ts`) |
 * | `QUOTA_GUARD`, {@link quotaGuardName} | {@link quotaCounterKey} | `Counter` (`resilience/quota-guard.ts`) |
 * | `VENDOR_METRICS`, `<vendor>` (SQL tables) | {@link VENDOR_METRICS_SLOTS_TABLE} | per slot and tool: calls per outcome and latency bucket (`ops/vendor-metrics.ts`) |
 * | | {@link VENDOR_METRICS_FAILURES_TABLE} | the last 20 failures |
 * | | {@link VENDOR_METRICS_FOLDED_KEY} (KV) | epoch ms: minute rows before it are folded into hour and total rows |
 *
 * A leaf module: it imports nothing, so every layer may use it. Changing a format here orphans
 * the records stored under the old one: existing keys keep their format.
 *
 * @module
 */

/** Cloudflare KV refuses an `expirationTtl` below this. */
export const KV_MIN_TTL_SECONDS = 60;

/** A browser session: a working day, long enough to connect vendors, short enough that a lost laptop expires. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/** How long the OIDC provider's sign-in may take. */
export const OIDC_STATE_TTL_SECONDS = 600;
/** How long a vendor authorization may take between the redirect and the callback. */
export const VENDOR_STATE_TTL_SECONDS = 600;
/** Access tokens: short enough that a removed user or revoked grant stops quickly, long enough to not churn. */
export const ACCESS_TOKEN_TTL_SECONDS = 60 * 60;
/** Refresh tokens and their grant: thirty days from sign-in, then the user signs in again. */
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
/** Vendor tokens are refreshed this long before expiry; the client-credentials cache entry expires as early. */
export const TOKEN_REFRESH_SKEW_SECONDS = 60;
/** workers-oauth-provider's default for self-registered clients (renewed while in use); the gateway keeps it. */
const CLIENT_REGISTRATION_TTL_SECONDS = 90 * 24 * 60 * 60;
/** workers-oauth-provider: a grant lives this long while only its authorization code exists. */
const AUTHORIZATION_CODE_TTL_SECONDS = 600;
/** workers-oauth-provider: a consent transaction lives this long. */
const TRANSACTION_TTL_SECONDS = 600;

const SESSION_PREFIX = "session:";
const REFRESH_RETIRED_PREFIX = "refresh-retired:";
export const OIDC_STATE_PREFIX = "oidc-state:";
export const VENDOR_STATE_PREFIX = "vstate:";
const CREDENTIAL_PREFIX = "cred:";
const CLIENT_TOKEN_PREFIX = "cctoken:";
const TOOL_DEFINITIONS_PREFIX = "tooldefs:";
const MCP_CLIENT_PREFIX = "mcpclient:";
/** A dynamically registered client is registered again after this (servers expire idle clients). */
export const MCP_CLIENT_REGISTRATION_TTL_SECONDS = 30 * 24 * 60 * 60;
/** workers-oauth-provider's grant records: the gateway reads them, only the library writes them. */
const GRANT_PREFIX = "grant:";

/** The single-use `state` records of `auth/state-record.ts`. */
export type StatePrefix = typeof OIDC_STATE_PREFIX | typeof VENDOR_STATE_PREFIX;

/** Hex characters of the config hash in a `cctoken:` key: unique enough, and keeps keys short. */
const CLIENT_TOKEN_HASH_CHARS = 32;

export function sessionKey(sessionHash: string): string {
  return `${SESSION_PREFIX}${sessionHash}`;
}

export function stateKey(prefix: StatePrefix, stateHash: string): string {
  return `${prefix}${stateHash}`;
}

/** The library's grant record (its storage schema; the user id keeps one user's grant ids out of another's reach). */
export function grantKey(userId: string, grantId: string): string {
  return `${GRANT_PREFIX}${userId}:${grantId}`;
}

export function refreshRetiredKey(userId: string, grantId: string): string {
  return `${REFRESH_RETIRED_PREFIX}${userId}:${grantId}`;
}

/** Everything an owner stored ends with the vendor after this prefix (one KV `list` finds it all). */
export function credentialOwnerPrefix(kind: "user" | "team", ownerHash: string): string {
  return `${CREDENTIAL_PREFIX}${kind === "user" ? "u" : "t"}:${ownerHash}:`;
}

/** `configHash`: SHA-256 hex of the vendor's token URL, client id and scopes; a new config misses the old entry. */
export function clientTokenKey(vendor: string, configHash: string): string {
  return `${CLIENT_TOKEN_PREFIX}${vendor}:${configHash.slice(0, CLIENT_TOKEN_HASH_CHARS)}`;
}

/**
 * An MCP vendor's record of approved tool definitions (rug-pull detection): written by the Worker
 * when it sees a new or changed definition, and by `npm run approve-tools`. Kept until deleted:
 * deleting it makes the next definitions seen the approved ones.
 */
export function toolDefinitionsKey(vendor: string): string {
  return `${TOOL_DEFINITIONS_PREFIX}${vendor}`;
}

/** `configHash`: SHA-256 hex of the authorization server's issuer and the redirect URI. */
export function mcpClientKey(vendor: string, configHash: string): string {
  return `${MCP_CLIENT_PREFIX}${vendor}:${configHash.slice(0, CLIENT_TOKEN_HASH_CHARS)}`;
}

/** `VendorGuard`'s breaker state, caller breakers and probe leases. */
export const VENDOR_GUARD_BREAKER_KEY = "breaker";
/** `VendorGuard`'s token bucket; absent while rate limiting is off. */
export const VENDOR_GUARD_BUCKET_KEY = "bucket";
/** `VendorGuard`'s last success/failure, last error and counters. */
export const VENDOR_GUARD_STATS_KEY = "stats";
/** `VendorGuard`'s response-schema mismatches per tool. */
export const VENDOR_GUARD_DRIFT_KEY = "drift";
/** `SignInGuard`'s windows, consecutive failures and trusted devices. */
export const SIGNIN_GUARD_STATE_KEY = "state";

/** `VendorMetrics`' rows per (slot kind, slot start, tool): calls per outcome, per latency bucket, latency sum. */
export const VENDOR_METRICS_SLOTS_TABLE = "metrics_slots";
/** `VendorMetrics`' fold mark: minute rows before this time (epoch ms) are in their hour and total rows too. */
export const VENDOR_METRICS_FOLDED_KEY = "folded";
/** `VendorMetrics`' last failures (time, tool, outcome, error code, scrubbed message). */
export const VENDOR_METRICS_FAILURES_TABLE = "metrics_failures";

/** The `SIGNIN_GUARD` object of an account: `accountHash` is the SHA-256 hex of the lower-case user name. */
export function signInAccountName(accountHash: string): string {
  return `account:${accountHash}`;
}

/** The `SIGNIN_GUARD` object of a client address (IPv4, an IPv6 /64, or `unknown`). */
export function signInAddressName(address: string): string {
  return `address:${address}`;
}

/** `AuditLog`'s SQL table of events (src/ops/audit-log.ts): the object's only storage besides its alarm. */
export const AUDIT_LOG_TABLE = "audit_events";

/** The `AUDIT_LOG` object of a team. */
export function auditLogTeamName(teamId: string): string {
  return `team:${teamId}`;
}

/** The `AUDIT_LOG` object of events that belong to no team. */
export const AUDIT_LOG_GATEWAY_NAME = "gateway";

/** A `QuotaGuard` counter key: `quota:<scope>:<subject>:<vendor or *>:<window>` (one per configured limit). */
export const QUOTA_COUNTER_PREFIX = "quota:";

/** The key of one quota counter: the subject is a user or team id (never `:`), `*` counts across vendors. */
export function quotaCounterKey(
  scope: "user" | "team",
  subject: string,
  vendor: string | undefined,
  window: "minute" | "day",
): string {
  return `${QUOTA_COUNTER_PREFIX}${scope}:${subject}:${vendor ?? "*"}:${window}`;
}

/** The `QUOTA_GUARD` object counting a team's calls (all its users), or a user's without a team. */
export function quotaGuardName(owner: { teamId: string } | { userId: string }): string {
  return "teamId" in owner ? `team:${owner.teamId}` : `user:${owner.userId}`;
}

/**
 * Each Durable Object namespace's storage keys, and whether it sets an alarm: what the
 * README's tables must list.
 */
export const DURABLE_OBJECT_KEYS = {
  VENDOR_GUARD: {
    keys: [VENDOR_GUARD_BREAKER_KEY, VENDOR_GUARD_BUCKET_KEY, VENDOR_GUARD_STATS_KEY, VENDOR_GUARD_DRIFT_KEY],
    alarm: true,
  },
  SIGNIN_GUARD: { keys: [SIGNIN_GUARD_STATE_KEY], alarm: true },
  AUDIT_LOG: { keys: [AUDIT_LOG_TABLE], alarm: true },

  QUOTA_GUARD: { keys: ["quota:<scope>:<subject>:<vendor or *>:<window>"], alarm: false },

  // SQLite tables, not KV keys (src/ops/vendor-metrics.ts).
  VENDOR_METRICS: {
    keys: [VENDOR_METRICS_SLOTS_TABLE, VENDOR_METRICS_FAILURES_TABLE, VENDOR_METRICS_FOLDED_KEY],
    alarm: true,
  },
} as const;

/**
 * Every KV key pattern (`<…>` marks a variable part) and the TTLs its README row names, in
 * order (`[]`: kept until deleted): what the README's KV table must list.
 */
export const KV_KEYS: readonly { pattern: string; ttlSeconds: readonly number[] }[] = [
  { pattern: "client:<clientId>", ttlSeconds: [CLIENT_REGISTRATION_TTL_SECONDS] },
  {
    pattern: `${GRANT_PREFIX}<userId>:<grantId>`,
    ttlSeconds: [AUTHORIZATION_CODE_TTL_SECONDS, REFRESH_TOKEN_TTL_SECONDS],
  },
  { pattern: "token:<userId>:<grantId>:<hash>", ttlSeconds: [ACCESS_TOKEN_TTL_SECONDS] },
  { pattern: "transaction:<hash>", ttlSeconds: [TRANSACTION_TTL_SECONDS] },
  { pattern: `${SESSION_PREFIX}<sha256(session id)>`, ttlSeconds: [SESSION_TTL_SECONDS] },
  { pattern: `${REFRESH_RETIRED_PREFIX}<userId>:<grantId>`, ttlSeconds: [REFRESH_TOKEN_TTL_SECONDS] },
  { pattern: `${OIDC_STATE_PREFIX}<sha256(state)>`, ttlSeconds: [OIDC_STATE_TTL_SECONDS] },
  { pattern: `${VENDOR_STATE_PREFIX}<sha256(state)>`, ttlSeconds: [VENDOR_STATE_TTL_SECONDS] },
  { pattern: `${CREDENTIAL_PREFIX}u:<sha256(user)>:<vendor>`, ttlSeconds: [] },
  { pattern: `${CREDENTIAL_PREFIX}t:<sha256(team)>:<vendor>`, ttlSeconds: [] },
  { pattern: `${CLIENT_TOKEN_PREFIX}<vendor>:<hash>`, ttlSeconds: [TOKEN_REFRESH_SKEW_SECONDS] },
  { pattern: `${TOOL_DEFINITIONS_PREFIX}<vendor>`, ttlSeconds: [] },
  { pattern: `${MCP_CLIENT_PREFIX}<vendor>:<hash>`, ttlSeconds: [MCP_CLIENT_REGISTRATION_TTL_SECONDS] },
];
