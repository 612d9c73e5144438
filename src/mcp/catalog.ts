/**
 * The MCP tool catalog: compiled recipes turned into `tools/list` entries
 * once per isolate, and tool names resolved back to their recipe.
 *
 * Listing entries are built once per bundle and shared by every request, so
 * a unified list of thousands of tools costs one slice per page, not a
 * rebuild. Only a caller with an allowlist gets a filtered copy.
 *
 * @module
 */
import type { Tool, ToolAnnotations } from "@modelcontextprotocol/server";
import type { Caller, McpEndpoint } from "../auth/caller.ts";
import type { ToolDefinition, VendorBundle } from "../bundle/types.ts";
import { toolEffects, toolsByName, toolsOf } from "../vendors/registry.ts";
import type { VendorView } from "../vendors/view.ts";
import { type DiscoveryToolKind, discoveryKind, discoveryTools } from "./discovery.ts";
import { DEFAULT_DISCOVERY_TOOL_THRESHOLD, usesDiscovery } from "./discovery-mode.ts";
import { toolUiMeta } from "./resource-uris.ts";

export type { McpEndpoint };

/** Separates the vendor from the tool in unified names; vendor names (`[a-z0-9-]+`) never contain it. */
const UNIFIED_NAME_SEPARATOR = "_";

/** The vendor a `/v1/mcp` tool name starts with; `undefined` when it has no vendor prefix. */
export function unifiedVendorOf(name: string): string | undefined {
  const separator = name.indexOf(UNIFIED_NAME_SEPARATOR);
  return separator > 0 ? name.slice(0, separator) : undefined;
}

/** A tool name resolved to what executes it. */
export interface ResolvedTool {
  bundle: VendorBundle;
  recipe: ToolDefinition;
}

interface VendorCatalog {
  bundle: VendorBundle;
  /** Discovery mode (src/mcp/discovery.ts): the listings hold the three discovery tools. */
  discovery: boolean;
  /** Listing entries with unprefixed names (`/v1/<vendor>/mcp`). */
  unprefixed: Tool[];
  /** Listing entries with `<vendor>_` names (`/v1/mcp`). */
  prefixed: Tool[];
  byName: ReadonlyMap<string, ToolDefinition>;
}

/** MCP tool annotations from what the vendor's kind says the tool does (hints for clients). */
function annotationsFor(bundle: VendorBundle, recipe: ToolDefinition): ToolAnnotations {
  const effects = toolEffects(bundle, recipe);
  return {
    ...(recipe.title === undefined ? {} : { title: recipe.title }),
    readOnlyHint: effects.readOnly,
    destructiveHint: effects.destructive,
    idempotentHint: effects.idempotent,
    // An API call reaches an external system; an upstream MCP tool's own hint says whether it does.
    openWorldHint: effects.openWorld ?? true,
  };
}

/**
 * The `tools/list` entry of a recipe under the given name; `unified`: listed on `/v1/mcp`, where
 * resource URIs in its MCP Apps `_meta` carry the vendor (resource-uris.ts).
 */
function listedTool(bundle: VendorBundle, recipe: ToolDefinition, name: string, unified: boolean): Tool {
  const meta = toolUiMeta(recipe.meta, unified ? bundle.vendor : undefined);
  return {
    name,
    ...(recipe.title === undefined ? {} : { title: recipe.title }),
    description: recipe.description,
    inputSchema: recipe.inputSchema as Tool["inputSchema"],
    ...(recipe.outputSchema === undefined
      ? {}
      : { outputSchema: recipe.outputSchema as Tool["outputSchema"] }),
    annotations: annotationsFor(bundle, recipe),
    ...(meta === undefined ? {} : { _meta: meta }),
  };
}

/** Settings from the environment that change what the catalog lists. */
export interface CatalogOptions {
  /** `DISCOVERY_TOOL_THRESHOLD`: vendors with more tools (and no `toolMode`) list the discovery tools. */
  discoveryThreshold: number;
}

const DEFAULT_CATALOG_OPTIONS: CatalogOptions = { discoveryThreshold: DEFAULT_DISCOVERY_TOOL_THRESHOLD };

/**
 * Keyed by bundle and mode: the mode depends on the threshold, which comes from the environment.
 * By bundle object, not vendor name: an upstream MCP server's bundle is a new object whenever its
 * tool list changed, and the old one's entries go with it.
 */
const vendorCatalogs = new WeakMap<VendorBundle, { tools?: VendorCatalog; discovery?: VendorCatalog }>();

interface UnifiedCatalog {
  tools: Tool[];
  vendors: VendorCatalog[];
}

/** The last unified catalog per threshold, with the bundles it was built from. */
const unifiedCatalogs = new Map<number, UnifiedCatalog>();

function vendorCatalog(bundle: VendorBundle, options: CatalogOptions): VendorCatalog {
  const discovery = usesDiscovery(bundle, options.discoveryThreshold);
  let byMode = vendorCatalogs.get(bundle);
  if (byMode === undefined) {
    byMode = {};
    vendorCatalogs.set(bundle, byMode);
  }
  const cached = discovery ? byMode.discovery : byMode.tools;
  if (cached !== undefined) return cached;
  const unprefixed: Tool[] = [];
  const prefixed: Tool[] = [];
  const byName = toolsByName(bundle);
  if (!discovery) {
    for (const recipe of toolsOf(bundle)) {
      unprefixed.push(listedTool(bundle, recipe, recipe.name, false));
      prefixed.push(
        listedTool(bundle, recipe, `${bundle.vendor}${UNIFIED_NAME_SEPARATOR}${recipe.name}`, true),
      );
    }
  } else {
    unprefixed.push(...discoveryTools(bundle, ""));
    prefixed.push(...discoveryTools(bundle, `${bundle.vendor}${UNIFIED_NAME_SEPARATOR}`));
  }
  const catalog = { bundle, discovery, unprefixed, prefixed, byName };
  if (discovery) byMode.discovery = catalog;
  else byMode.tools = catalog;
  return catalog;
}

function unified(view: VendorView, options: CatalogOptions): UnifiedCatalog {
  const bundles = view.all();
  const cached = unifiedCatalogs.get(options.discoveryThreshold);
  if (cached !== undefined && sameBundles(cached.vendors, bundles)) return cached;
  const vendors = bundles.map((bundle) => vendorCatalog(bundle, options));
  const catalog = { tools: vendors.flatMap((vendor) => vendor.prefixed), vendors };
  unifiedCatalogs.set(options.discoveryThreshold, catalog);
  return catalog;
}

function sameBundles(vendors: readonly VendorCatalog[], bundles: readonly VendorBundle[]): boolean {
  if (vendors.length !== bundles.length) return false;
  for (let i = 0; i < bundles.length; i++) if (vendors[i]?.bundle !== bundles[i]) return false;
  return true;
}

/**
 * Caller seam: whether `caller` may see and call this vendor's tools on the unified
 * endpoint. `undefined` (auth off) sees everything.
 */
export function callerSeesVendor(caller: Caller | undefined, vendor: string): boolean {
  return caller === undefined || (caller.vendorAllowed(vendor) && caller.vendorAvailable(vendor));
}

/** Caller seam: whether `caller` may see and call one tool (unprefixed name). */
function callerSeesTool(caller: Caller | undefined, vendor: string, tool: string): boolean {
  return caller === undefined || caller.toolAllowed(vendor, tool);
}

function filterForCaller(catalog: VendorCatalog, tools: Tool[], caller: Caller | undefined): Tool[] {
  // Discovery tools filter operations per caller themselves.
  if (caller === undefined || catalog.discovery) return tools;
  const recipes = toolsOf(catalog.bundle);
  return tools.filter((_, index) => {
    const recipe = recipes[index];
    return recipe !== undefined && callerSeesTool(caller, catalog.bundle.vendor, recipe.name);
  });
}

/** Every tool the endpoint lists for this caller, in stable order. Shared arrays: do not mutate. */
export function listTools(
  endpoint: McpEndpoint,
  caller: Caller | undefined,
  view: VendorView,
  options: CatalogOptions = DEFAULT_CATALOG_OPTIONS,
): readonly Tool[] {
  if (endpoint.kind === "vendor") {
    const bundle = view.get(endpoint.vendor);
    if (bundle === undefined) return [];
    const catalog = vendorCatalog(bundle, options);
    return filterForCaller(catalog, catalog.unprefixed, caller);
  }
  const all = unified(view, options);
  if (caller === undefined) return all.tools;
  const tools: Tool[] = [];
  for (const catalog of all.vendors) {
    if (!callerSeesVendor(caller, catalog.bundle.vendor)) continue;
    tools.push(...filterForCaller(catalog, catalog.prefixed, caller));
  }
  return tools;
}

/** Resolves a tool name as the endpoint lists it; `undefined` when the caller cannot see such a tool. */
export function findTool(
  endpoint: McpEndpoint,
  caller: Caller | undefined,
  name: string,
  view: VendorView,
): ResolvedTool | undefined {
  let vendor: string;
  let toolName: string;
  if (endpoint.kind === "vendor") {
    vendor = endpoint.vendor;
    toolName = name;
  } else {
    const separator = name.indexOf(UNIFIED_NAME_SEPARATOR);
    if (separator <= 0) return undefined;
    vendor = name.slice(0, separator);
    toolName = name.slice(separator + 1);
    if (!callerSeesVendor(caller, vendor)) return undefined;
  }
  const bundle = view.get(vendor);
  if (bundle === undefined) return undefined;
  const recipe = toolsByName(bundle).get(toolName);
  if (recipe === undefined || !callerSeesTool(caller, vendor, toolName)) return undefined;
  return { bundle, recipe };
}

/** A discovery tool (`search`, `describe`, `call`) as the endpoint lists it. */
export interface ResolvedDiscoveryTool {
  bundle: VendorBundle;
  kind: DiscoveryToolKind;
  /** `""` on `/v1/<vendor>/mcp`, `<vendor>_` on `/v1/mcp`. */
  prefix: string;
}

/**
 * Resolves a discovery tool name of a vendor in discovery mode; `undefined` for any other
 * name (including every name of a vendor in tools mode). Checked before {@link findTool}.
 */
export function findDiscoveryTool(
  endpoint: McpEndpoint,
  caller: Caller | undefined,
  name: string,
  view: VendorView,
  options: CatalogOptions = DEFAULT_CATALOG_OPTIONS,
): ResolvedDiscoveryTool | undefined {
  let vendor: string;
  let prefix = "";
  if (endpoint.kind === "vendor") {
    vendor = endpoint.vendor;
  } else {
    const separator = name.indexOf(UNIFIED_NAME_SEPARATOR);
    if (separator <= 0) return undefined;
    vendor = name.slice(0, separator);
    prefix = `${vendor}${UNIFIED_NAME_SEPARATOR}`;
    if (!callerSeesVendor(caller, vendor)) return undefined;
  }
  const kind = discoveryKind(name, prefix);
  if (kind === undefined) return undefined;
  const bundle = view.get(vendor);
  if (bundle === undefined || !usesDiscovery(bundle, options.discoveryThreshold)) return undefined;
  return { bundle, kind, prefix };
}

/**
 * Identifies the listing a cursor belongs to: cursors from another endpoint or
 * an older deploy are refused instead of silently skipping or repeating tools.
 */
export function listingFingerprint(
  endpoint: McpEndpoint,
  view: VendorView,
  options: CatalogOptions = DEFAULT_CATALOG_OPTIONS,
): string {
  // The threshold is part of the key: it decides which vendors list discovery tools.
  const key = `${endpoint.kind === "vendor" ? endpoint.vendor : "*"}|${options.discoveryThreshold}`;
  const bundles = endpoint.kind === "vendor" ? [view.get(endpoint.vendor)] : view.all();
  const cached = fingerprints.get(key);
  if (
    cached !== undefined &&
    cached.bundles.length === bundles.length &&
    cached.bundles.every((b, i) => b === bundles[i])
  ) {
    return cached.fingerprint;
  }
  const hashes = bundles.map((bundle) => bundle?.contentHash ?? "");
  const fingerprint = fnv1a(`${key}|${hashes.join(",")}`);
  fingerprints.set(key, { bundles, fingerprint });
  return fingerprint;
}

/** The last fingerprint per endpoint and threshold, with the bundles it hashed. */
const fingerprints = new Map<
  string,
  { bundles: readonly (VendorBundle | undefined)[]; fingerprint: string }
>();

/** FNV-1a 32-bit, hex: a cheap, stable fingerprint (not a security boundary). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
