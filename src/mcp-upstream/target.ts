/**
 * The connection an MCP vendor's request uses: where it goes (`resolveMcpUrl` in
 * src/base-url.ts), whose session it is, and the credential it carries.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import type { CredentialSource } from "../auth/upstream-credentials.ts";
import type { Clock } from "../clock.ts";
import { bearerAuthorizer } from "./authorizer.ts";
import { type McpAuthorizer, type McpConnection, mcpConnection } from "./connection.ts";

/**
 * Whose upstream session a request uses: one per caller (never shared between users or
 * teams), `anonymous` when client auth is off.
 */
export function sessionOwner(caller: Pick<Caller, "userId"> | undefined): string {
  return caller === undefined ? "anonymous" : `user:${caller.userId}`;
}

/** The session store's key: vendor, endpoint and owner. */
function sessionKeyOf(vendor: string, url: URL, owner: string): string {
  return `${vendor}|${url.href}|${owner}`;
}

/** What one upstream connection needs. */
export interface UpstreamTarget {
  vendor: string;
  url: URL;
  /** {@link sessionOwner}, or a fixed owner such as the health probe's. */
  owner: string;
  credentials: CredentialSource;
  clock: Clock;
  waitUntil: (promise: Promise<unknown>) => void;
  fetch?: typeof fetch;
}

/** The connection for `target`, and the authorizer whose secrets its answers are scrubbed of. */
export function upstreamConnection(target: UpstreamTarget): {
  connection: McpConnection;
  authorizer: McpAuthorizer;
} {
  const authorizer = bearerAuthorizer(target.credentials);
  const connection = mcpConnection({
    url: target.url,
    sessionKey: sessionKeyOf(target.vendor, target.url, target.owner),
    authorizer,
    clock: target.clock,
    waitUntil: target.waitUntil,
    ...(target.fetch === undefined ? {} : { fetch: target.fetch }),
  });
  return { connection, authorizer };
}
