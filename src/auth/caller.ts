/**
 * The authenticated caller of an MCP request.
 *
 * Set as the hono context variable `caller` on `/v1/` routes when client auth
 * is on. `undefined` means auth is off (`GATEWAY_AUTH=none`): every vendor and
 * tool is allowed and only shared (organisation) credentials are used.
 *
 * @module
 */
import type { VendorAvailability } from "./availability.ts";

/** Lists tools and calls those that only read (src/bundle/http-methods.ts `READ_ONLY_METHODS`). */
export const SCOPE_READ = "mcp:read";
/** Calls tools that change data (every other HTTP method). */
export const SCOPE_WRITE = "mcp:write";

/** A tool that changes data, called without {@link SCOPE_WRITE}: the step-up answer says why. */
export const WRITE_SCOPE_DESCRIPTION = "This tool changes data: it needs the mcp:write scope";

/**
 * Which tools an MCP endpoint serves: `/v1/mcp` (unified) or `/v1/<vendor>/mcp`. Each is also
 * an OAuth protected resource (src/auth/oauth-server.ts), so the type lives here, below the MCP layer.
 */
export type McpEndpoint = { kind: "unified" } | { kind: "vendor"; vendor: string };

/** Role of a user inside their team. */
export type TeamRole = "admin" | "member";

/** Who is calling, and what their team allowlist lets them reach. */
export interface Caller {
  /** Stable user id: the `id` from `GATEWAY_USERS`, or `oidc.<hash>` for an unlisted OpenID Connect user. Never contains `:`. */
  readonly userId: string;
  /** The user's team, when they belong to one. */
  readonly teamId?: string;
  /** The user's role in `teamId`. */
  readonly role?: TeamRole;
  /** OAuth scopes granted to the MCP client's access token. */
  readonly scopes: readonly string[];
  /** The team allowlist permits this vendor (true when the team has no vendor list). */
  vendorAllowed(vendor: string): boolean;
  /** The team allowlist permits this tool (unprefixed name) of `vendor`. Implies `vendorAllowed`. */
  toolAllowed(vendor: string, tool: string): boolean;
  /**
   * The caller has usable upstream credentials for the vendor (their own, their team's or the
   * organisation's; valid or refreshable). `/v1/mcp` lists only vendors that are allowed AND
   * available; the `gateway_status` tool explains the others.
   */
  vendorAvailable(vendor: string): boolean;
  /**
   * Loads what {@link vendorAvailable} answers from (the credential listings in KV), once per
   * request: the MCP endpoint calls it with the message it parsed, before anything asks (until
   * then no vendor is available). Throws the storage outage when KV is down and the message's
   * tool belongs to a vendor only KV could tell about. Set by the auth layer on the caller of a
   * request; absent, there is nothing to load.
   */
  prepare?(message: CallerMessage): Promise<void>;
  /**
   * The answer to a tool that changes data called without {@link SCOPE_WRITE}: the OAuth
   * step-up (403 `insufficient_scope`, a `WWW-Authenticate` challenge naming the scopes to ask
   * for and the resource's metadata), built by the auth layer, which knows the token.
   */
  writeScopeChallenge?(): Response;
  /** The gateway's public origin the caller reached, for "fix it here" links. */
  readonly origin?: string;
  /**
   * Every vendor's availability to this caller, as {@link prepare} loaded it (for the
   * `gateway_status` tool); absent when nothing was loaded for this caller.
   */
  availability?(): ReadonlyMap<string, VendorAvailability>;
}

/** What the MCP endpoint tells the caller about the message it serves. */
export interface CallerMessage {
  /** `false` for the handshake (`initialize`, `ping`, …): nothing looks at vendors, nothing is loaded. */
  readonly needsVendors: boolean;
  /** For `tools/call`: the vendor the named tool belongs to, if any (asked only when KV failed). */
  readonly toolVendor?: () => string | undefined;
}

/** The request-bound parts of a caller, which the auth layer supplies. */
export type CallerSession = Pick<Caller, "prepare" | "writeScopeChallenge" | "origin" | "availability">;

/**
 * What the authorization server stores as the grant's `props` (encrypted by
 * workers-oauth-provider) and hands back on every API request.
 */
export interface CallerProps {
  userId: string;
  teamId?: string;
  role?: TeamRole;
  /** Display name shown on pages; never used for authorization. */
  name?: string;
}

/** Per-team allowlist: absent list = everything allowed. */
export interface TeamAllowlist {
  /** Vendors the team may use; absent = all. */
  vendors?: readonly string[];
  /** Per vendor, the tools (unprefixed names) the team may use; absent entry = all tools of that vendor. */
  tools?: Readonly<Record<string, readonly string[]>>;
}

/** Builds a `Caller` from the grant props, the team allowlist, the token's scopes and credential availability. */
export function createCaller(
  props: CallerProps,
  allowlist: TeamAllowlist | undefined,
  scopes: readonly string[],
  available: (vendor: string) => boolean = () => true,
  session: CallerSession = {},
): Caller {
  const vendors = allowlist?.vendors ? new Set(allowlist.vendors) : undefined;
  const tools = allowlist?.tools;
  const vendorAllowed = (vendor: string): boolean => (vendors ? vendors.has(vendor) : true);
  return {
    userId: props.userId,
    ...(props.teamId !== undefined ? { teamId: props.teamId } : {}),
    ...(props.role !== undefined ? { role: props.role } : {}),
    scopes,
    vendorAllowed,
    vendorAvailable: available,
    ...session,
    toolAllowed(vendor, tool) {
      if (!vendorAllowed(vendor)) return false;
      const list = tools !== undefined && Object.hasOwn(tools, vendor) ? tools[vendor] : undefined;
      return list ? list.includes(tool) : true;
    },
  };
}
