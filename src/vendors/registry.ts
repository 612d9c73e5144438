/**
 * Which {@link VendorKind} serves a vendor, and its tools as the MCP layer (listing,
 * discovery, allowlists, scopes) reads them. Every bundle is an OpenAPI bundle today; the
 * bundle's kind picks the implementation when upstream MCP servers arrive.
 *
 * @module
 */
import type { ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { memoized } from "../memo.ts";
import { openApiKind } from "../upstream/kind.ts";
import type { ToolEffects, VendorKind } from "./kind.ts";

const OPENAPI: VendorKind = openApiKind;

/** The kind that lists, calls and probes this vendor's tools. */
export function vendorKindOf(_bundle: VendorBundle): VendorKind {
  return OPENAPI;
}

/** The vendor's tools in listing order (shared: do not mutate). */
export function toolsOf(bundle: VendorBundle): readonly ToolRecipe[] {
  return vendorKindOf(bundle).tools(bundle);
}

/** What calling one of the vendor's tools does (annotations, the write-scope rule). */
export function toolEffects(bundle: VendorBundle, tool: ToolRecipe): ToolEffects {
  return vendorKindOf(bundle).effects(tool);
}

const toolMaps = new WeakMap<VendorBundle, Map<string, ToolRecipe>>();

/** The vendor's tools by (unprefixed) name, built once per bundle. */
export function toolsByName(bundle: VendorBundle): ReadonlyMap<string, ToolRecipe> {
  return memoized(toolMaps, bundle, (b) => new Map(toolsOf(b).map((tool) => [tool.name, tool])));
}
