/**
 * Refresh-token reuse detection (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2) around
 * workers-oauth-provider 1.2.3's rotation.
 *
 * The library keeps two refresh tokens of a grant valid: the current one and
 * the one it replaced (`previousRefreshTokenId`), a grace for a client whose
 * refresh answer was lost. Presenting the previous one rotates again and
 * silently drops the current one, so a thief and the client can keep
 * alternating without either noticing. The library keeps no older hashes, so
 * it cannot tell a reused token from a made-up one.
 *
 * This module keeps what the library drops: after each successful refresh the
 * hashes that stopped being valid (the old previous token, and the current
 * one when the grace token was used) go to `refresh-retired:<userId>:<grantId>`.
 * A refresh presenting one of them is reuse: the whole grant is revoked (every
 * access and refresh token of it) and the answer is `invalid_grant`. So when a
 * stolen token and the client's own both get used, whichever comes second ends
 * the grant, as the RFCs ask. What stays: the grace token itself (one lost
 * answer does not log the client out) and a detection that waits for the
 * second party's next refresh.
 *
 * Cost: on refresh requests only, one KV read of the grant and one of the
 * retired list before the library runs, and one KV write after a rotation.
 *
 * @module
 */
import type { OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { log } from "../log.ts";
import { grantKey, refreshRetiredKey } from "../storage/keys.ts";
import { sha256Hex } from "./crypto.ts";
import { oauthError } from "./oauth-error.ts";

/** Retired hashes kept per grant: a client refreshing hourly for the grant's life never reaches it. */
const MAX_RETIRED_HASHES = 64;
/** Token requests are small forms; past this the library refuses them anyway. */
const MAX_TOKEN_FORM_BYTES = 64 * 1024;

interface GrantHashes {
  refreshTokenId?: string;
  previousRefreshTokenId?: string;
}

/** A refresh request the gateway watches: the grant it names and the presented token's hash. */
export interface RefreshCheck {
  userId: string;
  grantId: string;
  hash: string;
  grant: GrantHashes;
  retired: string[];
}

/** The refresh grant a token request carries, when it names an existing grant; `undefined` otherwise. */
export async function readRefreshRequest(request: Request, env: Env): Promise<RefreshCheck | undefined> {
  if (request.method !== "POST") return undefined;
  if (!(request.headers.get("content-type") ?? "").includes("application/x-www-form-urlencoded"))
    return undefined;
  if (Number(request.headers.get("content-length") ?? "0") > MAX_TOKEN_FORM_BYTES) return undefined;
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(await request.clone().text());
  } catch {
    return undefined;
  }
  if (form.get("grant_type") !== "refresh_token") return undefined;
  const token = form.get("refresh_token") ?? "";
  const parts = token.split(":");
  if (parts.length !== 3) return undefined;
  const [userId = "", grantId = ""] = parts;
  const [grant, retired] = await Promise.all([
    env.OAUTH_KV.get<GrantHashes>(grantKey(userId, grantId), "json"),
    env.OAUTH_KV.get<string[]>(refreshRetiredKey(userId, grantId), "json"),
  ]);
  if (grant === null) return undefined;
  return { userId, grantId, hash: await sha256Hex(token), grant, retired: retired ?? [] };
}

/** The presented token was valid once and has been replaced: reuse. */
export function isReuse(check: RefreshCheck): boolean {
  return check.retired.includes(check.hash);
}

/** Ends the grant after a detected reuse: every token of it stops working. */
export async function revokeReusedGrant(check: RefreshCheck, oauthApi: OAuthHelpers): Promise<Response> {
  log({ event: "refresh_token_reuse", grantId: check.grantId });
  await oauthApi.revokeGrant(check.grantId, check.userId);
  return oauthError(
    400,
    "invalid_grant",
    "This refresh token was already used. The grant is revoked; authorize the client again.",
  );
}

/** After a successful rotation: remembers the hashes the library just made invalid. */
export async function recordRotation(check: RefreshCheck, env: Env, ttlSeconds: number): Promise<void> {
  const dropped = [check.grant.refreshTokenId, check.grant.previousRefreshTokenId].filter(
    (hash): hash is string => hash !== undefined && hash !== check.hash,
  );
  if (dropped.length === 0) return;
  const retired = [...check.retired.filter((hash) => !dropped.includes(hash)), ...dropped].slice(
    -MAX_RETIRED_HASHES,
  );
  await env.OAUTH_KV.put(refreshRetiredKey(check.userId, check.grantId), JSON.stringify(retired), {
    expirationTtl: ttlSeconds,
  });
}
