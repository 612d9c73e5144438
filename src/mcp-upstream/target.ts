/**
 * Where an MCP vendor's requests go and whose session they use.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { envString, plainHttpAllowedHost, vendorVarName } from "../config.ts";
import { memoized } from "../memo.ts";
import { ToolError } from "../tool-error.ts";

const parsedUrls = new Map<string, URL>();

/**
 * The vendor's MCP endpoint: `<VENDOR>_MCP_URL`, else vendor.json `mcp.url`. Absolute http(s)
 * without credentials, query or fragment; plain http only to a local host.
 *
 * @throws ToolError `configuration_error` when no usable URL is configured.
 */
export function mcpUrlOf(env: Env, bundle: VendorBundle): URL {
  const envName = vendorVarName(bundle.vendor, "MCP_URL");
  const raw = envString(env, envName) ?? bundle.mcp?.url;
  if (raw === undefined) {
    throw new ToolError(
      "configuration_error",
      `No MCP URL is configured for vendor "${bundle.vendor}": set ${envName} or mcp.url in vendor.json`,
    );
  }
  return memoized(parsedUrls, raw, () => checkedUrl(raw, bundle.vendor));
}

function checkedUrl(raw: string, vendor: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError("configuration_error", `The MCP URL of vendor "${vendor}" is not an absolute URL`);
  }
  const plainOk = url.protocol === "http:" && plainHttpAllowedHost(url.hostname);
  if (url.protocol !== "https:" && !plainOk) {
    throw new ToolError(
      "configuration_error",
      `The MCP URL of vendor "${vendor}" must be https (plain http only to localhost)`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ToolError(
      "configuration_error",
      `The MCP URL of vendor "${vendor}" must not contain credentials, a query or a fragment`,
    );
  }
  return url;
}

/**
 * Whose upstream session a request uses: one per caller (never shared between users or
 * teams), `anonymous` when client auth is off.
 */
export function sessionOwner(caller: Pick<Caller, "userId"> | undefined): string {
  return caller === undefined ? "anonymous" : `user:${caller.userId}`;
}

/** The session store's key: vendor, endpoint and owner. */
export function sessionKeyOf(vendor: string, url: URL, owner: string): string {
  return `${vendor}|${url.href}|${owner}`;
}
