/**
 * Where a vendor's requests go. Scheme, host, port and the path prefix of every
 * upstream request come from here and nowhere else: tool arguments only ever
 * fill in path segments, query, headers and body below this URL. An MCP vendor's
 * endpoint ({@link resolveMcpUrl}) is resolved and checked the same way.
 *
 * @module
 */
import type { ToolRecipe, VendorBundle } from "./bundle/types.ts";
import { type EnvVars, envString, plainHttpAllowedHost, vendorVarName } from "./config.ts";
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
  if (raw === undefined) {
    throw new ToolError(
      "configuration_error",
      `No base URL is configured for vendor "${bundle.vendor}": set ${envName} or baseUrl in vendor.json`,
    );
  }
  const source = fromEnv ? envName : bundle.baseUrl ? "the bundle's baseUrl" : "the spec's server URL";
  return checkedUrl(raw, () => `The base URL from ${source}`, false);
}

/**
 * An MCP vendor's endpoint: env `<VENDOR>_MCP_URL`, else vendor.json `mcp.url`. The checks of
 * {@link resolveBaseUrl}, and plain http only to a loopback host (`plainHttpAllowedHost`): the
 * gateway sends the vendor's credentials there.
 *
 * @throws ToolError `configuration_error` when the bundle is not an MCP vendor's or the URL is unusable.
 */
export function resolveMcpUrl(env: EnvVars, bundle: VendorBundle): URL {
  const envName = vendorVarName(bundle.vendor, "MCP_URL");
  const fromEnv = envString(env, envName);
  const raw = fromEnv ?? bundle.mcp?.url;
  if (raw === undefined) {
    throw new ToolError(
      "configuration_error",
      `No MCP URL is configured for vendor "${bundle.vendor}": set ${envName} or mcp.url in vendor.json`,
    );
  }
  return checkedUrl(raw, () => `The MCP URL from ${fromEnv ? envName : "vendor.json mcp.url"}`, true);
}

/** `raw` parsed and checked (cached by text); `what()` names it in errors. */
function checkedUrl(raw: string, what: () => string, loopbackOnlyHttp: boolean): URL {
  const cached = parsedBaseUrls.get(raw);
  if (cached !== undefined && (!loopbackOnlyHttp || secureEnough(cached))) return cached;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError("configuration_error", `${what()} is not an absolute URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ToolError("configuration_error", `${what()} must be http(s)`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ToolError(
      "configuration_error",
      `${what()} must not contain credentials, a query or a fragment`,
    );
  }
  if (loopbackOnlyHttp && !secureEnough(url)) {
    throw new ToolError(
      "configuration_error",
      `${what()} must be https (plain http only to localhost or 127.0.0.1)`,
    );
  }
  if (parsedBaseUrls.size >= MAX_PARSED_BASE_URLS) parsedBaseUrls.clear();
  parsedBaseUrls.set(raw, url);
  return url;
}

function secureEnough(url: URL): boolean {
  return url.protocol === "https:" || plainHttpAllowedHost(url.hostname);
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
