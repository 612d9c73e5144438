/**
 * Auth configuration from vars and secrets, validated with valibot: the user
 * list (`GATEWAY_USERS`), teams and their allowlists (`GATEWAY_TEAMS`), the
 * OpenID Connect sign-in provider (`OIDC_*`) and the auth mode (`GATEWAY_AUTH`).
 *
 * A bad value throws `GatewayError` `invalid_configuration` naming the setting.
 *
 * @module
 */
import * as v from "valibot";
import { GatewayError } from "../errors.ts";
import type { TeamAllowlist, TeamRole } from "./caller.ts";
import { type AuthEnv, envString } from "./env.ts";
import { PASSWORD_HASH_PATTERN } from "./password.ts";

/** User ids end up in token strings and KV keys where `:` is the separator. */
const USER_ID = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9._@+-]{1,64}$/, "user id: 1-64 of A-Z a-z 0-9 . _ @ + -"),
);
const TEAM_ID = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "team id: 1-64 of a-z 0-9 _ -"));
const VENDOR = v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "vendor name: a-z 0-9 -"));

const UserSchema = v.strictObject({
  id: USER_ID,
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** `pbkdf2-sha256$<iterations>$<salt>$<hash>` from `npm run hash-password`. */
  passwordHash: v.optional(
    v.pipe(v.string(), v.regex(PASSWORD_HASH_PATTERN, "passwordHash: make one with npm run hash-password")),
  ),
  /** Matched against the OIDC `email` claim when the provider says it is verified. */
  email: v.optional(v.pipe(v.string(), v.email())),
  /** Matched against the OIDC `sub` claim. */
  oidcSubject: v.optional(v.pipe(v.string(), v.minLength(1))),
  team: v.optional(TEAM_ID),
  role: v.optional(v.picklist(["admin", "member"])),
});

const TeamSchema = v.strictObject({
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** Vendors the team may use; absent = all. */
  vendors: v.optional(v.array(VENDOR)),
  /** Per vendor, the tools (unprefixed) the team may use; absent entry = all of that vendor's tools. */
  tools: v.optional(v.record(VENDOR, v.array(v.string()))),
});

const UsersSchema = v.array(UserSchema);
const TeamsSchema = v.record(TEAM_ID, TeamSchema);

export type UserConfig = v.InferOutput<typeof UserSchema>;
export type TeamConfig = v.InferOutput<typeof TeamSchema>;

/** A signed-in person as the gateway knows them now (team and role re-read from config on every request). */
export interface ResolvedUser {
  id: string;
  name: string;
  teamId?: string;
  role?: TeamRole;
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  scopes: string[];
  allowUnlisted: boolean;
  displayName: string;
}

export interface AuthConfig {
  /** `false` only when `GATEWAY_AUTH=none`. */
  required: boolean;
  publicUrl?: string;
  users: ReadonlyMap<string, UserConfig>;
  teams: ReadonlyMap<string, TeamConfig>;
  oidc?: OidcConfig;
  /** At least one user has a password hash. */
  passwordSignIn: boolean;
}

/** Prefix of user ids minted for OIDC users not in the user list. */
export const OIDC_UNLISTED_PREFIX = "oidc.";

const cache = new WeakMap<object, AuthConfig>();

function invalid(setting: string, message: string): GatewayError {
  return new GatewayError("invalid_configuration", `${setting}: ${message}`, { details: { setting } });
}

function parseJson<T>(
  setting: string,
  raw: string | undefined,
  schema: v.GenericSchema<unknown, T>,
  empty: T,
): T {
  if (raw === undefined) return empty;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw invalid(setting, "is not valid JSON");
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue?.path?.map((item) => String(item.key)).join(".") ?? "";
    throw invalid(setting, `${path ? `${path}: ` : ""}${issue?.message ?? "invalid"}`);
  }
  return result.output;
}

function parseHttpsUrl(setting: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(setting, "is not a URL");
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw invalid(setting, "must be https (http only on a loopback host)");
  }
  return url.href.replace(/\/$/, "");
}

/** `localhost`, `127.0.0.0/8` and `::1`: the only hosts where plain http is tolerated. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname === "[::1]" ||
    hostname === "::1" ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}

/** Auth configuration for this env (parsed once per env object). */
export function loadAuthConfig(env: AuthEnv): AuthConfig {
  const cached = cache.get(env);
  if (cached !== undefined) return cached;

  const mode = envString(env, "GATEWAY_AUTH")?.toLowerCase();
  if (mode !== undefined && mode !== "none" && mode !== "oauth") {
    throw invalid("GATEWAY_AUTH", `must be "oauth" (default) or "none", got "${mode}"`);
  }
  const userList = parseJson("GATEWAY_USERS", envString(env, "GATEWAY_USERS"), UsersSchema, []);
  const teamRecord = parseJson("GATEWAY_TEAMS", envString(env, "GATEWAY_TEAMS"), TeamsSchema, {});
  const teams = new Map(Object.entries(teamRecord));
  const users = new Map<string, UserConfig>();
  for (const user of userList) {
    if (users.has(user.id)) throw invalid("GATEWAY_USERS", `duplicate user id "${user.id}"`);
    if (user.team !== undefined && !teams.has(user.team)) {
      throw invalid(
        "GATEWAY_USERS",
        `user "${user.id}" names team "${user.team}", which GATEWAY_TEAMS does not define`,
      );
    }
    if (user.role !== undefined && user.team === undefined) {
      throw invalid("GATEWAY_USERS", `user "${user.id}" has a role but no team`);
    }
    users.set(user.id, user);
  }

  let oidc: OidcConfig | undefined;
  const issuer = envString(env, "OIDC_ISSUER");
  if (issuer !== undefined) {
    const clientId = envString(env, "OIDC_CLIENT_ID");
    if (clientId === undefined) throw invalid("OIDC_CLIENT_ID", "is required when OIDC_ISSUER is set");
    const clientSecret = envString(env, "OIDC_CLIENT_SECRET");
    const scopes = (envString(env, "OIDC_SCOPES") ?? "openid email profile").split(/[\s,]+/).filter(Boolean);
    if (!scopes.includes("openid")) scopes.unshift("openid");
    oidc = {
      issuer: parseHttpsUrl("OIDC_ISSUER", issuer),
      clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      scopes,
      allowUnlisted: envString(env, "OIDC_ALLOW_UNLISTED_USERS") === "true",
      displayName: envString(env, "OIDC_DISPLAY_NAME") ?? "single sign-on",
    };
  }

  const publicUrl = envString(env, "GATEWAY_PUBLIC_URL");
  const config: AuthConfig = {
    required: mode !== "none",
    ...(publicUrl === undefined
      ? {}
      : { publicUrl: new URL(parseHttpsUrl("GATEWAY_PUBLIC_URL", publicUrl)).origin }),
    users,
    teams,
    ...(oidc === undefined ? {} : { oidc }),
    passwordSignIn: userList.some((user) => user.passwordHash !== undefined),
  };
  cache.set(env, config);
  return config;
}

/**
 * The user behind a user id as the configuration sees them now, or `undefined`
 * when they were removed (their tokens stop working on the next request).
 */
export function resolveUser(config: AuthConfig, userId: string): ResolvedUser | undefined {
  const user = config.users.get(userId);
  if (user !== undefined) {
    return {
      id: user.id,
      name: user.name ?? user.id,
      ...(user.team === undefined ? {} : { teamId: user.team, role: user.role ?? "member" }),
    };
  }
  if (userId.startsWith(OIDC_UNLISTED_PREFIX) && config.oidc?.allowUnlisted)
    return { id: userId, name: userId };
  return undefined;
}

/** The team's allowlist (`undefined`: no team, everything allowed). */
export function teamAllowlist(config: AuthConfig, teamId: string | undefined): TeamAllowlist | undefined {
  if (teamId === undefined) return undefined;
  const team = config.teams.get(teamId);
  if (team === undefined) return undefined;
  return {
    ...(team.vendors === undefined ? {} : { vendors: team.vendors }),
    ...(team.tools === undefined ? {} : { tools: team.tools }),
  };
}
