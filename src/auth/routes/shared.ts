/**
 * What every browser-facing auth route uses: the env and auth config of a request,
 * redirects, the signed-in user and the posted form.
 *
 * @module
 */
import type { Context } from "hono";
import { GatewayError } from "../../errors.ts";
import { type AuthConfig, loadAuthConfig, type ResolvedUser, resolveUser } from "../config.ts";
import { oauthError } from "../oauth-error.ts";
import { getSession, type Session } from "../session.ts";

export type AuthContext = Context<{ Bindings: Env }>;

export function redirect(location: string, headers?: Headers, status = 303): Response {
  const h = headers ?? new Headers();
  h.set("location", location);
  h.set("cache-control", "no-store");
  return new Response(null, { status, headers: h });
}

/** The config when auth is on; `undefined` when it is off (routes answer 404). */
export function authConfig(c: AuthContext): AuthConfig | undefined {
  const config = loadAuthConfig(c.env);
  return config.required ? config : undefined;
}

export const authOff = () =>
  oauthError(404, "not_found", "Client auth is off on this gateway (GATEWAY_AUTH=none).");

export interface SignedIn {
  session: Session;
  user: ResolvedUser;
}

export async function signedIn(c: AuthContext, config: AuthConfig): Promise<SignedIn | undefined> {
  const session = await getSession(c, c.env);
  if (session === undefined) return undefined;
  const user = resolveUser(config, session.userId);
  return user === undefined ? undefined : { session, user };
}

export async function formOf(c: AuthContext): Promise<FormData> {
  try {
    return await c.req.formData();
  } catch {
    throw new GatewayError("bad_request", "Expected a form submission.");
  }
}

/** A route handler, for wrappers that turn some failures into answers. */
export type Handler = (c: AuthContext) => Promise<Response>;
