/**
 * The Worker side of {@link SignInGuard}: which objects an attempt is counted
 * in (the account's, the client address's), the device cookie, and the
 * reserve → verify → settle sequence of a password sign-in.
 *
 * Client address: `CF-Connecting-IP`, which Cloudflare's edge always sets and
 * overwrites. IPv6 addresses count per /64 (one host usually owns a whole /64).
 * Without the header (local runs, tests calling the Worker directly) every
 * attempt shares the address `unknown`: omitting the header never escapes the
 * limit.
 *
 * Failure policy: fail closed. If a guard cannot answer, the sign-in is refused
 * with a 503 rather than letting unthrottled guesses through.
 *
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { signInAccountName, signInAddressName } from "../storage/keys.ts";
import { randomToken, sha256Hex } from "./crypto.ts";
import { hostCookie } from "./session.ts";
import { DEVICE_TTL_MS, type Reservation, type SignInGuard } from "./signin-guard.ts";

const DEVICE_COOKIE_PREFIX = "__Host-gw-device-";
const UNKNOWN_ADDRESS = "unknown";

/** The account object's name: the same for every spelling case of the user name. */
export async function accountGuardName(username: string): Promise<string> {
  return signInAccountName(await sha256Hex(username.toLowerCase()));
}

/** The address object's name: IPv4 as is, IPv6 by its /64 prefix, `unknown` without the header. */
export function addressGuardName(ip: string | undefined): string {
  const value = ip?.trim() ?? "";
  if (value === "") return signInAddressName(UNKNOWN_ADDRESS);
  if (!value.includes(":")) return signInAddressName(value);
  const [head = "", tail = ""] = value.split("::", 2);
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = value.includes("::")
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  const prefix = groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16));
  return signInAddressName(`${prefix.join(":")}::/64`);
}

/** One cookie per account, so a browser used by two people keeps both trusted. */
async function deviceCookieName(username: string): Promise<string> {
  return `${DEVICE_COOKIE_PREFIX}${(await sha256Hex(`device:${username.toLowerCase()}`)).slice(0, 16)}`;
}

function guard(env: Env, name: string): DurableObjectStub<SignInGuard> {
  return env.SIGNIN_GUARD.get(env.SIGNIN_GUARD.idFromName(name));
}

/** An attempt that may check the password; settle it with `succeeded` when the password is right. */
export interface SignInAttempt {
  allowed: true;
  /** The password was right: resets the account, frees the address slot, answers the device cookie. */
  succeeded(): Promise<string>;
}

export type SignInRefusal = {
  allowed: false;
  retryAfterSeconds: number;
  reason: Exclude<Reservation, { allowed: true }>["reason"];
};

/** Reserves one password check for `username` from this request's client (see the module doc). */
export async function reserveSignIn(
  c: Context,
  env: Env,
  username: string,
): Promise<SignInAttempt | SignInRefusal> {
  const cookieName = await deviceCookieName(username);
  const token = getCookie(c, cookieName);
  const presented =
    token !== undefined && /^[A-Za-z0-9_-]{43}$/.test(token) ? await sha256Hex(token) : undefined;
  const account = guard(env, await accountGuardName(username));
  const onAccount = await account.reserveAccount(presented);
  if (!onAccount.allowed) return refusal(onAccount);
  let address: DurableObjectStub<SignInGuard> | undefined;
  if (!onAccount.trusted) {
    address = guard(env, addressGuardName(c.req.header("cf-connecting-ip")));
    const onAddress = await address.reserveAddress();
    if (!onAddress.allowed) {
      await account.release();
      return refusal(onAddress);
    }
  }
  return {
    allowed: true,
    async succeeded() {
      const fresh = randomToken();
      await Promise.all([account.succeeded(await sha256Hex(fresh), presented), address?.release()]);
      return hostCookie(cookieName, fresh, DEVICE_TTL_MS / 1000);
    },
  };
}

function refusal(reservation: Exclude<Reservation, { allowed: true }>): SignInRefusal {
  return {
    allowed: false,
    reason: reservation.reason,
    retryAfterSeconds: Math.max(1, Math.ceil(reservation.retryAfterMs / 1000)),
  };
}
