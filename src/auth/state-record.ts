/**
 * Single-use OAuth `state` records (OIDC sign-in `oidc-state:`, vendor authorization
 * `vstate:`): stored under the hash of the state and sealed with the state itself, so
 * KV alone reveals nothing and a record can only be opened by whoever holds the state
 * (the KV key is the additional data, so a record moved under another key does not open).
 *
 * @module
 */
import * as oauth from "oauth4webapi";
import { type StatePrefix, stateKey } from "../storage/keys.ts";
import { openWithToken, sealWithToken, sha256Hex } from "./crypto.ts";

async function recordKey(prefix: StatePrefix, state: string): Promise<string> {
  return stateKey(prefix, await sha256Hex(state));
}

/** Stores `record` for `state` until it is taken or `ttlSeconds` pass. */
export async function putStateRecord(
  kv: KVNamespace,
  prefix: StatePrefix,
  state: string,
  record: unknown,
  ttlSeconds: number,
): Promise<void> {
  const key = await recordKey(prefix, state);
  await kv.put(key, await sealWithToken(state, record, key), { expirationTtl: ttlSeconds });
}

/**
 * Takes the record stored for `state`: `undefined` when there is none (already used or
 * expired); `{ record: undefined }` when it does not open (not our state, or tampered).
 * Either way it is gone from KV first (KV cannot make get+delete atomic; callers bind the
 * record to a browser or session so a racing second use gets nowhere).
 */
export async function takeStateRecord<T>(
  kv: KVNamespace,
  prefix: StatePrefix,
  state: string,
): Promise<{ record: T | undefined } | undefined> {
  const key = await recordKey(prefix, state);
  const sealed = await kv.get(key);
  if (sealed === null) return undefined;
  await kv.delete(key);
  return { record: await openWithToken<T>(state, sealed, key) };
}

/**
 * The authorization-code + PKCE (S256 only) redirect a flow that stored its state
 * record sends the browser to: OIDC sign-in and vendor authorization alike.
 */
export async function pkceAuthorizationUrl(
  endpoint: string,
  params: {
    clientId: string;
    redirectUri: string;
    state: string;
    verifier: string;
    scope?: string;
    nonce?: string;
    /** RFC 8707 resource indicator (the upstream MCP server). */
    resource?: string;
  },
): Promise<string> {
  const url = new URL(endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", params.clientId);
  url.searchParams.set("redirect_uri", params.redirectUri);
  if (params.scope) url.searchParams.set("scope", params.scope);
  url.searchParams.set("state", params.state);
  if (params.nonce !== undefined) url.searchParams.set("nonce", params.nonce);
  if (params.resource !== undefined) url.searchParams.set("resource", params.resource);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(params.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return url.href;
}
