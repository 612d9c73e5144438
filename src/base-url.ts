/**
 * Where a vendor's requests go. Scheme, host, port and the path prefix of every
 * upstream request come from here and nowhere else: tool arguments only ever
 * fill in path segments, query, headers and body below this URL.
 *
 * @module
 */
import type { ToolRecipe, VendorBundle } from "./bundle/types.ts";
import { type EnvVars, envString, vendorVarName } from "./config.ts";
import { memoized } from "./memo.ts";
import { ToolError } from "./tool-error.ts";

/**
 * Base URLs already parsed and checked, by their text: a URL parse per tool call is CPU
 * spent on the same few strings. Shared `URL`s: callers only read them.
 */
const parsedBaseUrls = new Map<string, URL>();
/** Vendors × servers of one deployment stay far below this; a bound keeps odd specs from growing it. */
const MAX_PARSED_BASE_URLS = 256;
/** origin and path prefix of each base URL: `URL` getters are native calls in workerd. */
const baseParts = new WeakMap<URL, { origin: string; prefix: string }>();

/**
 * The vendor's base URL: env `<VENDOR>_BASE_URL`, else the bundle's `baseUrl`,
 * else the operation's absolute server URL. Only absolute http(s) URLs without
 * credentials, query or fragment are accepted.
 *
 * @throws ToolError `configuration_error` when no usable base URL is configured.
 */
export function resolveBaseUrl(env: EnvVars, bundle: VendorBundle, tool?: ToolRecipe): URL {
  const envName = vendorVarName(bundle.vendor, "BASE_URL");
  const fromEnv = envString(env, envName);
  const raw = fromEnv ?? bundle.baseUrl ?? tool?.serverUrl;
  const cached = raw === undefined ? undefined : parsedBaseUrls.get(raw);
  if (cached !== undefined) return cached;
  const source = fromEnv ? envName : bundle.baseUrl ? "the bundle's baseUrl" : "the spec's server URL";
  if (raw === undefined) {
    throw new ToolError(
      "configuration_error",
      `No base URL is configured for vendor "${bundle.vendor}": set ${envName} or baseUrl in vendor.json`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError("configuration_error", `The base URL from ${source} is not an absolute URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ToolError("configuration_error", `The base URL from ${source} must be http(s)`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ToolError(
      "configuration_error",
      `The base URL from ${source} must not contain credentials, a query or a fragment`,
    );
  }
  if (parsedBaseUrls.size >= MAX_PARSED_BASE_URLS) parsedBaseUrls.clear();
  parsedBaseUrls.set(raw, url);
  return url;
}

function partsOf(base: URL): { origin: string; prefix: string } {
  return memoized(baseParts, base, (b) => ({ origin: b.origin, prefix: b.pathname.replace(/\/+$/, "") }));
}

/** The base URL's path without a trailing slash (`""` for the root): every request path starts with it. */
export function basePathPrefix(base: URL): string {
  return partsOf(base).prefix;
}

/** True when `url` has the base URL's origin and lies at or below its path prefix. */
export function isUnderBase(url: URL, base: URL): boolean {
  const { origin, prefix } = partsOf(base);
  if (url.origin !== origin) return false;
  const path = url.pathname;
  return path === prefix || path.startsWith(`${prefix}/`);
}
