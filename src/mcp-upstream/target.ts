/**
 * The connection an MCP vendor's request uses: where it goes (`resolveMcpUrl` in
 * src/base-url.ts), whose session it is, and the credential it carries.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import { mcpAuthorizerFor, type UpstreamMcpAuthorizer } from "../auth/mcp-credentials.ts";
import type { VendorBundle } from "../bundle/types.ts";
import type { Clock } from "../clock.ts";
import { type TraceContext, upstreamTraceHeaders } from "../trace-context.ts";
import { type McpConnection, mcpConnection } from "./connection.ts";

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
  env: Env;
  bundle: VendorBundle;
  url: URL;
  /** Whose credential the requests carry; `undefined`: the organisation's (auth off, the health probe). */
  caller: Pick<Caller, "userId" | "teamId" | "origin"> | undefined;
  /** {@link sessionOwner}, or a fixed owner such as the health probe's. */
  owner: string;
  clock: Clock;
  waitUntil: (promise: Promise<unknown>) => void;
  fetch?: typeof fetch;
  /** The gateway request's trace, continued on every upstream request; absent (a probe): none sent. */
  trace?: TraceContext;
}

/** The connection for `target`, and the authorizer whose secrets its answers are scrubbed of. */
export function upstreamConnection(target: UpstreamTarget): {
  connection: McpConnection;
  authorizer: UpstreamMcpAuthorizer;
} {
  const authorizer = mcpAuthorizerFor({
    env: target.env,
    bundle: target.bundle,
    caller: target.caller,
    url: target.url,
    ...(target.fetch === undefined ? {} : { fetch: target.fetch }),
  });
  const connection = mcpConnection({
    url: target.url,
    sessionKey: sessionKeyOf(target.bundle.vendor, target.url, target.owner),
    authorizer,
    clock: target.clock,
    waitUntil: target.waitUntil,
    ...(target.fetch === undefined ? {} : { fetch: target.fetch }),
    ...(target.trace === undefined ? {} : { traceHeaders: traceHeadersOf(target.trace) }),
  });
  return { connection, authorizer };
}

function traceHeadersOf(trace: TraceContext): () => Record<string, string> {
  return () => upstreamTraceHeaders(trace);
}
