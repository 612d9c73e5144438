/**
 * Resource URIs on `/v1/mcp`, where many vendors' resources meet: each upstream URI is wrapped
 * with its vendor's name, so the URI says where a `resources/read` goes and two vendors' equal
 * URIs stay apart. The scheme is reversible by plain string slicing (no decoding, so a URI, a
 * URI template and its expansions survive unchanged) and every result is a valid URI:
 *
 * - MCP Apps `ui://<rest>` becomes `ui://<vendor>/<rest>`: hosts only render `ui://` resources, so
 *   the scheme stays; a tool's `_meta.ui.resourceUri` is rewritten the same way.
 * - any other URI `<uri>` becomes `mcp-gw://<vendor>/<uri>` (e.g. `mcp-gw://docs/file:///a.md`:
 *   the upstream URI is the wrapper's path, query and fragment).
 *
 * `/v1/<vendor>/mcp` serves the upstream's URIs as they are.
 *
 * @module
 */

const UI_SCHEME = "ui://";
const GATEWAY_SCHEME = "mcp-gw://";
/** Vendor names as the compiler allows them (`specs/<vendor>/`). */
const VENDOR_NAME = /^[a-z0-9-]+$/;

/** The URI (or URI template) a `/v1/mcp` client sees for `vendor`'s `uri`. */
export function unifiedResourceUri(vendor: string, uri: string): string {
  return uri.startsWith(UI_SCHEME)
    ? `${UI_SCHEME}${vendor}/${uri.slice(UI_SCHEME.length)}`
    : `${GATEWAY_SCHEME}${vendor}/${uri}`;
}

/** The vendor and its own URI behind a `/v1/mcp` URI; `undefined` for a URI the gateway did not make. */
export function upstreamResourceUri(uri: string): { vendor: string; uri: string } | undefined {
  const scheme = uri.startsWith(UI_SCHEME)
    ? UI_SCHEME
    : uri.startsWith(GATEWAY_SCHEME)
      ? GATEWAY_SCHEME
      : undefined;
  if (scheme === undefined) return undefined;
  const rest = uri.slice(scheme.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const vendor = rest.slice(0, slash);
  if (!VENDOR_NAME.test(vendor)) return undefined;
  const inner = rest.slice(slash + 1);
  if (inner === "") return undefined;
  return { vendor, uri: scheme === UI_SCHEME ? `${UI_SCHEME}${inner}` : inner };
}

/** MCP Apps `_meta` keys that name a resource. */
const UI_KEY = "ui";
const LEGACY_UI_KEY = "ui/resourceUri";

/**
 * A tool's `_meta` as a client of the endpoint gets it: only the MCP Apps keys (the rest is
 * the upstream's business), with resource URIs wrapped when `vendor` is given (`/v1/mcp`).
 * `undefined` when nothing is left.
 */
export function toolUiMeta(
  meta: Record<string, unknown> | undefined,
  vendor: string | undefined,
): Record<string, unknown> | undefined {
  if (meta === undefined) return undefined;
  const wrap = (uri: unknown) =>
    typeof uri === "string" && vendor !== undefined ? unifiedResourceUri(vendor, uri) : uri;
  const out: Record<string, unknown> = {};
  const ui = meta[UI_KEY];
  if (ui !== null && typeof ui === "object" && !Array.isArray(ui)) {
    const { resourceUri, ...rest } = ui as Record<string, unknown>;
    out[UI_KEY] = resourceUri === undefined ? rest : { ...rest, resourceUri: wrap(resourceUri) };
  }
  if (typeof meta[LEGACY_UI_KEY] === "string") out[LEGACY_UI_KEY] = wrap(meta[LEGACY_UI_KEY]);
  return Object.keys(out).length === 0 ? undefined : out;
}

type ContentItem = { type: string; [key: string]: unknown };

/**
 * A tool result's content as `/v1/mcp` serves it: `resource_link` and embedded `resource` URIs of
 * `vendor` wrapped, so the client can `resources/read` what the tool pointed at.
 */
export function unifiedContentUris<T extends ContentItem>(vendor: string, content: readonly T[]): T[] {
  return content.map((item) => {
    if (item.type === "resource_link" && typeof item["uri"] === "string") {
      return { ...item, uri: unifiedResourceUri(vendor, item["uri"]) };
    }
    const resource = item["resource"];
    if (item.type === "resource" && resource !== null && typeof resource === "object") {
      const inner = resource as { uri?: unknown };
      if (typeof inner.uri === "string") {
        return { ...item, resource: { ...inner, uri: unifiedResourceUri(vendor, inner.uri) } };
      }
    }
    return item;
  });
}
