/**
 * The whole environment checked at once: every variable through the one config module
 * (`src/config.ts`), then the users and teams against the auth service's schemas
 * (`src/auth/config.ts`), the same parse the routes use.
 * The Worker runs it before routing (src/worker.ts: a bad setting fails every route with a JSON
 * error naming it, and `/health` with a 503), and `npm start` runs it over the env it passes to
 * `wrangler dev` so a mistake shows at once instead of as a start-up that never gets ready; so
 * this module stays importable from Node (no Worker-only imports).
 *
 * It also names settings of the original Python generator that this gateway does not read
 * (`BASE_URL`, `HTTPX_*`, …): a deployment that still sets them would silently run without them.
 *
 * @module
 */
import { loadAuthConfig } from "../auth/config.ts";
import { type EnvVars, invalidVariable, loadConfig, vendorEnvPrefix } from "../config.ts";
import { GatewayError } from "../errors.ts";
import { log } from "../log.ts";
import { memoized } from "../memo.ts";
import { loadQuotaPolicy } from "../resilience/quota-config.ts";

/** A setting this gateway does not read, and what replaces it. */
export interface IgnoredSetting {
  name: string;
  replacement: string;
}

export interface ConfigurationCheck {
  /** The first invalid setting, as the error every route answers. */
  error: GatewayError | undefined;
  ignored: IgnoredSetting[];
}

const NO_EQUIVALENT_HTTPX = "nothing: Workers' fetch has no such setting (README.md#resilience, Timeouts)";
const HTTPX_TIMEOUTS = "UPSTREAM_TIMEOUT (one attempt) and TOOL_EXECUTION_TIMEOUT (the whole call)";
const RUNTIME_POOL = "nothing: the Workers runtime pools upstream connections itself";

/**
 * What replaces a setting of the Python generator's documentation, or `undefined` for any other
 * name. A per-vendor replacement names the vendors' own variables (`DEMO_BASE_URL`): `vendors`
 * are the OpenAPI vendors (the ones those variables configure), asked for only when needed.
 */
function replacementOf(name: string, vendors: () => readonly string[]): string | undefined {
  const perVendor = (suffix: string) => {
    const examples = vendors().map((vendor) => `${vendorEnvPrefix(vendor)}_${suffix}`);
    return `<VENDOR>_${suffix}, one per vendor${examples.length > 0 ? ` (here: ${examples.join(", ")})` : ""}`;
  };
  if (name === "BASE_URL") return perVendor(name);
  if (name.startsWith("OAUTH2_")) return perVendor(name);
  if (name.startsWith("HTTPX_")) return name.endsWith("TIMEOUT") ? HTTPX_TIMEOUTS : NO_EQUIVALENT_HTTPX;
  if (name === "CONNECTION_POOL_SIZE" || name === "MAX_KEEPALIVE_CONNECTIONS") return RUNTIME_POOL;
  return undefined;
}

/** The settings of the Python generator `env` holds, each with its replacement. */
export function ignoredSettings(env: EnvVars, vendors: () => readonly string[] = () => []): IgnoredSetting[] {
  const found: IgnoredSetting[] = [];
  for (const name of Object.keys(env).sort()) {
    const replacement = replacementOf(name, vendors);
    if (replacement !== undefined) found.push({ name, replacement });
  }
  return found;
}

/** One line per ignored setting, for logs and `npm start`. */
export function describeIgnored(setting: IgnoredSetting): string {
  return `${setting.name} is set but this gateway does not read it; use ${setting.replacement}.`;
}

/**
 * The first invalid setting of `env`, checked by the schemas the routes use (`undefined`: valid).
 * `npm start` calls this over the env it hands to `wrangler dev`.
 */
export function validateConfiguration(env: EnvVars): GatewayError | undefined {
  try {
    loadConfig(env);
    const auth = loadAuthConfig(env);
    for (const team of loadQuotaPolicy(env)?.overriddenTeams ?? []) {
      if (!auth.teams.has(team)) {
        throw invalidVariable("GATEWAY_QUOTAS", `teams.${team}: GATEWAY_TEAMS does not define this team`);
      }
    }
    return undefined;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    return new GatewayError("invalid_configuration", `Invalid configuration: ${String(error)}`);
  }
}

const checks = new WeakMap<EnvVars, ConfigurationCheck>();

/**
 * The check of one env object, done once per object (in a deployment, once per isolate: a
 * `WeakMap` lookup per request after the first). The first check logs every ignored setting.
 */
export function checkConfiguration(
  env: EnvVars,
  vendors: () => readonly string[] = () => [],
): ConfigurationCheck {
  return memoized(checks, env, (e) => {
    const ignored = ignoredSettings(e, vendors);
    for (const setting of ignored) {
      log({ event: "ignored_setting", setting: setting.name, message: describeIgnored(setting) });
    }
    return { error: validateConfiguration(e), ignored };
  });
}
