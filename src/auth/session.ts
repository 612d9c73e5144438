/**
 * Browser sessions for the gateway's own pages (sign-in, consent, credentials).
 *
 * The cookie carries a random id; KV holds `session:<sha256(id)>` with the user
 * id only. The CSRF token of a session is derived from its id, so it is never
 * stored and a KV reader learns nothing usable.
 *
 * Cookies are `__Host-` (Secure, host-only, Path=/). Browsers accept Secure
 * cookies from `http://localhost` and `127.0.0.1`, which is all `wrangler dev`
 * needs; anything else must be https (the OAuth library refuses plain http
 * off-loopback anyway).
 *
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { SESSION_TTL_SECONDS, sessionKey } from "../storage/keys.ts";
import { randomToken, sha256B64, sha256Hex, timingSafeEqualStrings } from "./crypto.ts";

const SESSION_COOKIE = "__Host-gw-session";

export interface SessionRecord {
  userId: string;
  /** How they signed in. */
  via: "password" | "oidc";
  createdAt: number;
}

export interface Session extends SessionRecord {
  /** sha256 of the session id: names the session without revealing it. */
  hash: string;
  /** Put in every form; checked by {@link checkCsrf}. */
  csrf: string;
}

/** A cookie header value for a `__Host-` cookie. `maxAge` 0 deletes it. */
export function hostCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`;
}

async function csrfFor(sessionId: string): Promise<string> {
  return sha256B64(`csrf:${sessionId}`);
}

/** Starts a session and returns the `Set-Cookie` value. */
export async function createSession(env: Env, userId: string, via: SessionRecord["via"]): Promise<string> {
  const id = randomToken();
  const record: SessionRecord = { userId, via, createdAt: Date.now() };
  await env.OAUTH_KV.put(sessionKey(await sha256Hex(id)), JSON.stringify(record), {
    expirationTtl: SESSION_TTL_SECONDS,
  });
  return hostCookie(SESSION_COOKIE, id, SESSION_TTL_SECONDS);
}

/** The session of this request, if its cookie names a live one. */
export async function getSession(c: Context, env: Env): Promise<Session | undefined> {
  const id = getCookie(c, SESSION_COOKIE);
  if (id === undefined || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const hash = await sha256Hex(id);
  const record = await env.OAUTH_KV.get<SessionRecord>(sessionKey(hash), "json");
  if (record === null || typeof record.userId !== "string") return undefined;
  if (Date.now() - record.createdAt > SESSION_TTL_SECONDS * 1000) return undefined;
  return { ...record, hash, csrf: await csrfFor(id) };
}

/** Ends the session: deletes the record, returns the `Set-Cookie` that clears the cookie. */
export async function destroySession(env: Env, session: Session | undefined): Promise<string> {
  if (session !== undefined) await env.OAUTH_KV.delete(sessionKey(session.hash));
  return hostCookie(SESSION_COOKIE, "", 0);
}

/** The form's CSRF token matches the session. */
export function checkCsrf(session: Session, token: unknown): boolean {
  return typeof token === "string" && timingSafeEqualStrings(token, session.csrf);
}
