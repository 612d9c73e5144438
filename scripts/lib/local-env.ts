/**
 * The environment `npm start` hands the gateway under `wrangler dev`, worked out before it
 * starts so it can be checked first: wrangler.toml's `[vars]` and `.dev.vars` read by wrangler's
 * own loader, then the settings given in the shell (`GATEWAY_AUTH=oauth npm start`), then the
 * client-auth mode and, with OAuth on and no users configured, a demo user with a password made
 * for this start.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { unstable_getVarsForDev, unstable_readConfig } from "wrangler";
import { randomToken } from "../../src/auth/crypto.ts";
import { hashPassword } from "../../src/auth/password.ts";
import { SETTING_NAMES } from "../../src/config.ts";
import { ROOT } from "./dev-server.ts";

/** The demo user's id when OAuth is on locally and `GATEWAY_USERS` is not set. */
export const DEMO_USER_ID = "demo";
/** 24 base64url characters: 144 random bits, printed once per start. */
const DEMO_PASSWORD_BYTES = 18;

/**
 * Settings the shell may give `npm start` over `.dev.vars` (none of them a secret: they end up on
 * wrangler's command line). Secrets stay in `.dev.vars`.
 */
const AUTH_SETTINGS = ["GATEWAY_AUTH", "GATEWAY_USERS", "GATEWAY_TEAMS", "GATEWAY_PUBLIC_URL"];

export interface LocalEnv {
  /** Everything the Worker will see as vars and secrets (for the configuration check). */
  env: Record<string, string>;
  /** What `npm start` passes as `--var` over wrangler's own loading. */
  overrides: Record<string, string>;
  /** `false`: `GATEWAY_AUTH=none`. */
  authRequired: boolean;
  /** Set when `npm start` made the demo user for this start. */
  demoUser?: { id: string; password: string };
}

/** Vendor folders under specs/ (for hints naming a real `<VENDOR>_…` setting). */
export function specVendors(): string[] {
  try {
    return readdirSync(join(ROOT, "specs"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** The vendors of `specs/` that are OpenAPI specs (not upstream MCP servers: no `mcp` in vendor.json). */
export function specOpenApiVendors(): string[] {
  return specVendors().filter((vendor) => {
    try {
      const config = JSON.parse(readFileSync(join(ROOT, "specs", vendor, "vendor.json"), "utf8")) as unknown;
      return !(config !== null && typeof config === "object" && "mcp" in config);
    } catch {
      return true;
    }
  });
}

/**
 * The local env: `[vars]` ← `.dev.vars` ← shell settings ← `extra` (the demo upstream's URL).
 * `GATEWAY_AUTH` defaults to `none` locally (a deployment defaults to `oauth`).
 */
export async function localEnv(shell: NodeJS.ProcessEnv, extra: Record<string, string>): Promise<LocalEnv> {
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const loaded = unstable_getVarsForDev(config.configPath, undefined, config.vars, undefined, true);
  const env: Record<string, string> = {};
  for (const [name, binding] of Object.entries(loaded)) {
    const value = (binding as { value: unknown }).value;
    env[name] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const overrides: Record<string, string> = { ...extra };
  for (const name of new Set([...AUTH_SETTINGS, ...SETTING_NAMES, ...Object.keys(config.vars)])) {
    const value = shell[name];
    if (value !== undefined) overrides[name] = value;
  }
  overrides.GATEWAY_AUTH = (overrides.GATEWAY_AUTH ?? env.GATEWAY_AUTH ?? "").trim() || "none";
  Object.assign(env, overrides);

  const authRequired = env.GATEWAY_AUTH?.toLowerCase() !== "none";
  const hasUsers = (env.GATEWAY_USERS ?? "").trim() !== "" || (env.OIDC_ISSUER ?? "").trim() !== "";
  if (!authRequired || hasUsers) return { env, overrides, authRequired };

  const password = randomToken(DEMO_PASSWORD_BYTES);
  const users = JSON.stringify([
    // A gateway admin (no team), so the demo user also sees /status and the audit log.
    { id: DEMO_USER_ID, name: "Demo user", role: "admin", passwordHash: await hashPassword(password) },
  ]);
  overrides.GATEWAY_USERS = users;
  env.GATEWAY_USERS = users;
  return { env, overrides, authRequired, demoUser: { id: DEMO_USER_ID, password } };
}
