/**
 * Auth configuration: the user list (`GATEWAY_USERS`) and teams with their allowlists
 * (`GATEWAY_TEAMS`), checked with valibot against the auth service's own rules, over the
 * variables src/config.ts reads and parses (the auth mode, `OIDC_*`, the public URL).
 *
 * A bad value throws `GatewayError` `invalid_configuration` naming the setting.
 *
 * @module
 */
import * as v from "valibot";
import {
  type AuthSettings,
  type EnvVars,
  invalidVariable,
  loadConfig,
  type OidcSettings,
  parseJsonVariable as parseJson,
  TEAM_ID,
  VENDOR_NAME as VENDOR,
} from "../config.ts";
import { GatewayError } from "../errors.ts";
import { memoized } from "../memo.ts";
import type { TeamAllowlist, TeamRole } from "./caller.ts";
import { PASSWORD_HASH_PATTERN } from "./password.ts";

/** User ids end up in token strings and KV keys where `:` is the separator. */
const USER_ID = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9._@+-]{1,64}$/, "user id: 1-64 of A-Z a-z 0-9 . _ @ + -"),
);

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
  /** `role: "admin"` and no team: sees every operator surface (`/status`, `/metrics`, `/admin/*`). */
  gatewayAdmin?: true;
}

export type OidcConfig = OidcSettings;

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

const cache = new WeakMap<AuthSettings, AuthConfig | GatewayError>();

/**
 * Auth configuration for this env: parsed once per env (the variables by src/config.ts, the
 * users and teams here, cached per those variables), errors included.
 *
 * @throws {GatewayError} `invalid_configuration` naming the bad variable.
 */
export function loadAuthConfig(env: EnvVars): AuthConfig {
  const cached = memoized(cache, loadConfig(env).auth, buildAuthConfig);
  if (cached instanceof GatewayError) throw cached;
  return cached;
}

function buildAuthConfig(vars: AuthSettings): AuthConfig | GatewayError {
  try {
    return resolveUsers(vars);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
}

function resolveUsers(vars: AuthSettings): AuthConfig {
  const userList = parseJson("GATEWAY_USERS", vars.users, UsersSchema, []);
  const teamRecord = parseJson("GATEWAY_TEAMS", vars.teams, TeamsSchema, {});
  const teams = new Map(Object.entries(teamRecord));
  const users = new Map<string, UserConfig>();
  for (const user of userList) {
    if (users.has(user.id)) throw invalidVariable("GATEWAY_USERS", `duplicate user id "${user.id}"`);
    if (user.team !== undefined && !teams.has(user.team)) {
      throw invalidVariable(
        "GATEWAY_USERS",
        `user "${user.id}" names team "${user.team}", which GATEWAY_TEAMS does not define`,
      );
    }
    // `admin` without a team is a gateway admin (operator surfaces); `member` needs a team to be one of.
    if (user.role === "member" && user.team === undefined) {
      throw invalidVariable("GATEWAY_USERS", `user "${user.id}" has a role but no team`);
    }
    users.set(user.id, user);
  }
  return {
    required: vars.required,
    ...(vars.publicUrl === undefined ? {} : { publicUrl: vars.publicUrl }),
    users,
    teams,
    ...(vars.oidc === undefined ? {} : { oidc: vars.oidc }),
    passwordSignIn: userList.some((user) => user.passwordHash !== undefined),
  };
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
      ...(user.team === undefined && user.role === "admin" ? { gatewayAdmin: true as const } : {}),
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
