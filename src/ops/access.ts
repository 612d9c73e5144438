/**
 * Who may see the operator surfaces (`/status`, `/metrics`, `/admin/*`), and how much of them.
 *
 * - `Authorization: Bearer <OPS_TOKEN>` (a secret; scrapers and scripts): everything.
 * - A signed-in browser session (src/auth/session.ts) of a user whose `role` is `admin` and who
 *   belongs to no team: everything. A team `admin`: their team (its vendors, audit log and quota
 *   use). A team `member`: their team's vendors and quota use, no audit log.
 * - `GATEWAY_AUTH=none` (local use): open, but only when the request came to a loopback host;
 *   off loopback nobody gets in (nothing authenticates anyone).
 *
 * Refusals are `GatewayError`s (401 with a hint naming both ways in, 403), so every route answers JSON.
 *
 * @module
 */

import type { Context } from "hono";
import { loadAuthConfig, resolveUser, teamAllowlist } from "../auth/config.ts";
import { timingSafeEqualStrings } from "../auth/crypto.ts";
import { getSession } from "../auth/session.ts";
import { envString, plainHttpAllowedHost } from "../config.ts";
import { GatewayError } from "../errors.ts";

/** What a viewer of the operator surfaces may see. */
export type OpsViewer =
  /** Everything: the ops token, a gateway admin, or local use with auth off. */
  | { readonly scope: "all"; readonly via: "token" | "session" | "local"; readonly userId?: string }
  /** One team: its vendors and quota use; its audit log only for `role: "admin"`. */
  | {
      readonly scope: "team";
      readonly via: "session";
      readonly userId: string;
      readonly teamId: string;
      readonly role: "admin" | "member";
    };

/** What a surface needs from its viewer. */
export type OpsNeed =
  /** Vendor state, metrics, quota use (members see their team's). */
  | "view"
  /** The audit log (admins only). */
  | "audit";

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * The viewer of this request, or the `GatewayError` to answer.
 *
 * @throws {GatewayError} `unauthorized` (nobody recognised), `forbidden` (recognised, not allowed),
 *   `not_found` with auth off off loopback (the surface does not exist there).
 */
export async function opsViewer(c: Context, env: Env, need: OpsNeed): Promise<OpsViewer> {
  const config = loadAuthConfig(env);
  const url = new URL(c.req.url);
  if (!config.required) {
    if (plainHttpAllowedHost(url.hostname)) return { scope: "all", via: "local" };
    throw new GatewayError(
      "not_found",
      "Operator pages are served on loopback only while GATEWAY_AUTH=none.",
    );
  }
  const authorization = c.req.header("authorization");
  if (authorization !== undefined) {
    const token = BEARER.exec(authorization)?.[1];
    const expected = envString(env, "OPS_TOKEN");
    if (token !== undefined && expected !== undefined && timingSafeEqualStrings(token, expected)) {
      return { scope: "all", via: "token" };
    }
    throw new GatewayError("unauthorized", "The bearer token is not this gateway's OPS_TOKEN.", {
      headers: { "www-authenticate": 'Bearer realm="ops"' },
    });
  }
  const session = await getSession(c, env);
  const user = session === undefined ? undefined : resolveUser(config, session.userId);
  if (user === undefined) {
    throw new GatewayError(
      "unauthorized",
      "Sign in to see this page, or send the gateway's OPS_TOKEN as a bearer token.",
      {
        headers: { "www-authenticate": 'Bearer realm="ops"' },
        details: { signIn: `/signin?next=${encodeURIComponent(url.pathname)}` },
      },
    );
  }
  if (user.teamId === undefined) {
    if (user.gatewayAdmin === true) return { scope: "all", via: "session", userId: user.id };
    throw new GatewayError("forbidden", "Only gateway admins and team members see operator pages.");
  }
  const role = user.role ?? "member";
  if (need === "audit" && role !== "admin") {
    throw new GatewayError("forbidden", "The audit log is for team admins.");
  }
  return { scope: "team", via: "session", userId: user.id, teamId: user.teamId, role };
}

/**
 * Which vendors `viewer` may see on every operator surface: all of them for `scope: "all"`, else
 * their team's `vendors` allowlist (all vendors when the team has none).
 */
export function viewerSeesVendor(env: Env, viewer: OpsViewer): (vendor: string) => boolean {
  if (viewer.scope === "all") return () => true;
  const allowed = teamAllowlist(loadAuthConfig(env), viewer.teamId)?.vendors;
  if (allowed === undefined) return () => true;
  const vendors = new Set(allowed);
  return (vendor) => vendors.has(vendor);
}
