/**
 * The whole environment checked at once: the gateway settings (`src/config.ts`) and the
 * client-auth settings (`src/auth/config.ts`), with the same valibot schemas the routes use.
 * The Worker runs it before routing (a bad setting fails every route with a JSON error naming
 * it, and `/health` with a 503), and `npm start` runs it over the env it passes to `wrangler dev`
 * so a mistake shows at once instead of as a start-up that never gets ready.
 *
 * It also names settings of the original Python generator that this gateway does not read
 * (`BASE_URL`, `HTTPX_*`, …): a deployment that still sets them would silently run without them.
 *
 * @module
 */
import { loadAuthConfig } from "../auth/config.ts";
import type { AuthEnv } from "../auth/env.ts";
import { loadSettings } from "../config.ts";
import { GatewayError } from "../errors.ts";
import { memoized } from "../memo.ts";

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

/**
 * Settings from the Python generator's documentation, matched by exact name or by prefix,
 * with their replacement here (`<VENDOR>` is the vendor's env prefix, e.g. `DEMO`).
 */
const LEGACY_SETTINGS: readonly {
  match: (name: string) => boolean;
  replacement: (name: string) => string;
}[] = [
  { match: (n) => n === "BASE_URL", replacement: () => "<VENDOR>_BASE_URL (one per vendor)" },
  {
    match: (n) => n.startsWith("HTTPX_") && n.endsWith("TIMEOUT"),
    replacement: () => "UPSTREAM_TIMEOUT (one attempt) and TOOL_EXECUTION_TIMEOUT (the whole call)",
  },
  {
    match: (n) => n.startsWith("HTTPX_"),
    replacement: () => "nothing: Workers' fetch has no such setting (README.md#resilience, Timeouts)",
  },
  {
    match: (n) => n === "CONNECTION_POOL_SIZE" || n === "MAX_KEEPALIVE_CONNECTIONS",
    replacement: () => "nothing: the Workers runtime pools upstream connections itself",
  },
  { match: (n) => n.startsWith("OAUTH2_"), replacement: (n) => `<VENDOR>_${n} (one per vendor)` },
];

/** The ignored settings `env` holds, each with its replacement. */
export function ignoredSettings(env: object): IgnoredSetting[] {
  const found: IgnoredSetting[] = [];
  for (const name of Object.keys(env).sort()) {
    const rule = LEGACY_SETTINGS.find((r) => r.match(name));
    if (rule !== undefined) found.push({ name, replacement: rule.replacement(name) });
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
export function validateConfiguration(env: object): GatewayError | undefined {
  try {
    loadSettings(env);
    loadAuthConfig(env as AuthEnv);
    return undefined;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    return new GatewayError("invalid_configuration", `Invalid configuration: ${String(error)}`);
  }
}

const checks = new WeakMap<object, ConfigurationCheck>();

/**
 * The check of one env object, done once per object (in a deployment, once per isolate: a
 * `WeakMap` lookup per request after the first). The first check logs every ignored setting.
 */
export function checkConfiguration(env: object): ConfigurationCheck {
  return memoized(checks, env, (e) => {
    const ignored = ignoredSettings(e);
    for (const setting of ignored) {
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "ignored setting",
          setting: setting.name,
          message: describeIgnored(setting),
        }),
      );
    }
    return { error: validateConfiguration(e), ignored };
  });
}

/** Path of the liveness check, which reports a bad configuration instead of `ok`. */
const HEALTH_PATH = "/health";

/**
 * The answer of every request while the configuration is invalid: `/health` says so with a 503
 * (`{"status":"misconfigured","error":{…}}`, so monitors alert), every other route answers the
 * error itself (500 `invalid_configuration`, `details.setting` naming the setting).
 */
export function misconfiguredResponse(request: Request, error: GatewayError): Response {
  const requestId = crypto.randomUUID();
  const answer = error.getResponse(requestId);
  if (new URL(request.url).pathname !== HEALTH_PATH) return answer;
  const body = error.getBody(requestId);
  return new Response(JSON.stringify({ status: "misconfigured", ...body }), {
    status: 503,
    headers: answer.headers,
  });
}
