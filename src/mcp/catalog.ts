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
import type { Caller } from "../auth/caller.ts";
import { allBundles, getBundle } from "../bundle/registry.ts";
import type { HttpMethod, ToolRecipe, VendorBundle } from "../bundle/types.ts";

/** Which tools an MCP endpoint serves. */
export type McpEndpoint = { kind: "unified" } | { kind: "vendor"; vendor: string };

/** Separates the vendor from the tool in unified names; vendor names (`[a-z0-9-]+`) never contain it. */
export const UNIFIED_NAME_SEPARATOR = "_";

/** A tool name resolved to what executes it. */
export interface ResolvedTool {
  bundle: VendorBundle;
  recipe: ToolRecipe;
}

interface VendorCatalog {
  bundle: VendorBundle;
  /** Listing entries with unprefixed names (`/v1/<vendor>/mcp`). */
  unprefixed: Tool[];
  /** Listing entries with `<vendor>_` names (`/v1/mcp`). */
  prefixed: Tool[];
  byName: Map<string, ToolRecipe>;
}

/** RFC 9110 safe methods: they do not change state upstream. */
const SAFE_METHODS: ReadonlySet<HttpMethod> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
/** RFC 9110 idempotent methods: repeating the call has the same effect as making it once. */
const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
]);

/** MCP tool annotations derived from the HTTP method (hints for clients, never trusted for security). */
export function annotationsFor(recipe: ToolRecipe): ToolAnnotations {
  return {
    ...(recipe.title === undefined ? {} : { title: recipe.title }),
    readOnlyHint: SAFE_METHODS.has(recipe.method),
    destructiveHint: recipe.method === "DELETE",
    idempotentHint: IDEMPOTENT_METHODS.has(recipe.method),
    // Every tool calls an external API.
    openWorldHint: true,
  };
}

/** The `tools/list` entry of a recipe under the given name. */
export function listedTool(recipe: ToolRecipe, name: string): Tool {
  return {
    name,
    ...(recipe.title === undefined ? {} : { title: recipe.title }),
    description: recipe.description,
    inputSchema: recipe.inputSchema as Tool["inputSchema"],
    ...(recipe.outputSchema === undefined
      ? {}
      : { outputSchema: recipe.outputSchema as Tool["outputSchema"] }),
    annotations: annotationsFor(recipe),
  };
}

const vendorCatalogs = new Map<string, VendorCatalog>();
let unifiedCatalog: { tools: Tool[]; vendors: VendorCatalog[] } | undefined;

function vendorCatalog(bundle: VendorBundle): VendorCatalog {
  const cached = vendorCatalogs.get(bundle.vendor);
  if (cached !== undefined) return cached;
  const unprefixed: Tool[] = [];
  const prefixed: Tool[] = [];
  const byName = new Map<string, ToolRecipe>();
  for (const recipe of bundle.tools) {
    unprefixed.push(listedTool(recipe, recipe.name));
    prefixed.push(listedTool(recipe, `${bundle.vendor}${UNIFIED_NAME_SEPARATOR}${recipe.name}`));
    byName.set(recipe.name, recipe);
  }
  const catalog = { bundle, unprefixed, prefixed, byName };
  vendorCatalogs.set(bundle.vendor, catalog);
  return catalog;
}

function unified(): { tools: Tool[]; vendors: VendorCatalog[] } {
  if (unifiedCatalog !== undefined) return unifiedCatalog;
  const vendors = allBundles().map(vendorCatalog);
  unifiedCatalog = { tools: vendors.flatMap((catalog) => catalog.prefixed), vendors };
  return unifiedCatalog;
}

/**
 * Caller seam: whether `caller` may see and call this vendor's tools on the unified
 * endpoint. `undefined` (auth off) sees everything.
 */
function callerSeesVendor(caller: Caller | undefined, vendor: string): boolean {
  return caller === undefined || (caller.vendorAllowed(vendor) && caller.vendorAvailable(vendor));
}

/** Caller seam: whether `caller` may see and call one tool (unprefixed name). */
function callerSeesTool(caller: Caller | undefined, vendor: string, tool: string): boolean {
  return caller === undefined || caller.toolAllowed(vendor, tool);
}

function filterForCaller(catalog: VendorCatalog, tools: Tool[], caller: Caller | undefined): Tool[] {
  if (caller === undefined) return tools;
  const recipes = catalog.bundle.tools;
  return tools.filter((_, index) => {
    const recipe = recipes[index];
    return recipe !== undefined && callerSeesTool(caller, catalog.bundle.vendor, recipe.name);
  });
}

/** Every tool the endpoint lists for this caller, in stable order. Shared arrays: do not mutate. */
export function listTools(endpoint: McpEndpoint, caller: Caller | undefined): readonly Tool[] {
  if (endpoint.kind === "vendor") {
    const bundle = getBundle(endpoint.vendor);
    if (bundle === undefined) return [];
    const catalog = vendorCatalog(bundle);
    return filterForCaller(catalog, catalog.unprefixed, caller);
  }
  const all = unified();
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
  const bundle = getBundle(vendor);
  if (bundle === undefined) return undefined;
  const recipe = vendorCatalog(bundle).byName.get(toolName);
  if (recipe === undefined || !callerSeesTool(caller, vendor, toolName)) return undefined;
  return { bundle, recipe };
}

/**
 * Identifies the listing a cursor belongs to: cursors from another endpoint or
 * an older deploy are refused instead of silently skipping or repeating tools.
 */
export function listingFingerprint(endpoint: McpEndpoint): string {
  const key = endpoint.kind === "vendor" ? endpoint.vendor : "*";
  const cached = fingerprints.get(key);
  if (cached !== undefined) return cached;
  const hashes =
    endpoint.kind === "vendor"
      ? [getBundle(endpoint.vendor)?.contentHash ?? ""]
      : unified().vendors.map((catalog) => catalog.bundle.contentHash);
  const fingerprint = fnv1a(`${key}|${hashes.join(",")}`);
  fingerprints.set(key, fingerprint);
  return fingerprint;
}

const fingerprints = new Map<string, string>();

/** FNV-1a 32-bit, hex: a cheap, stable fingerprint (not a security boundary). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
