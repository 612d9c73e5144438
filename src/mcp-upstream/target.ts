/**
 * Whose upstream session an MCP vendor's request uses (where it goes: `resolveMcpUrl` in
 * src/base-url.ts).
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";

/**
 * Whose upstream session a request uses: one per caller (never shared between users or
 * teams), `anonymous` when client auth is off.
 */
export function sessionOwner(caller: Pick<Caller, "userId"> | undefined): string {
  return caller === undefined ? "anonymous" : `user:${caller.userId}`;
}

/** The session store's key: vendor, endpoint and owner. */
export function sessionKeyOf(vendor: string, url: URL, owner: string): string {
  return `${vendor}|${url.href}|${owner}`;
}
