/**
 * Which {@link VendorKind} serves a vendor, and its tools as the MCP layer (listing,
 * discovery, allowlists, scopes) reads them: the bundle's `kind` picks the OpenAPI kind
 * (src/upstream/) or the upstream-MCP-server kind (src/mcp-upstream/).
 *
 * @module
 */
import type { McpToolRecipe, ToolDefinition, ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { mcpServerKind } from "../mcp-upstream/kind.ts";
import { memoized } from "../memo.ts";
import { openApiKind } from "../upstream/kind.ts";
import type { ToolEffects, VendorKind } from "./kind.ts";

// Checked against the seam here, so the kinds never import it.
const OPENAPI: VendorKind<ToolRecipe> = openApiKind;
const MCP_SERVER: VendorKind<McpToolRecipe> = mcpServerKind;

/** The kind that lists, calls and probes this vendor's tools. */
export function vendorKindOf(bundle: VendorBundle): VendorKind {
  // Each kind is handed only the tools it listed itself.
  return (bundle.kind === "mcp" ? MCP_SERVER : OPENAPI) as VendorKind;
}

/** The vendor's tools in listing order (shared: do not mutate). */
export function toolsOf(bundle: VendorBundle): readonly ToolDefinition[] {
  return vendorKindOf(bundle).tools(bundle);
}

/** What calling one of the vendor's tools does (annotations, the write-scope rule). */
export function toolEffects(bundle: VendorBundle, tool: ToolDefinition): ToolEffects {
  return vendorKindOf(bundle).effects(tool);
}

const toolMaps = new WeakMap<VendorBundle, Map<string, ToolDefinition>>();

/** The tools a call may name by (unprefixed) name, built once per bundle. */
export function toolsByName(bundle: VendorBundle): ReadonlyMap<string, ToolDefinition> {
  return memoized(toolMaps, bundle, (b) => {
    const kind = vendorKindOf(b);
    const tools = kind.callable?.(b) ?? kind.tools(b);
    return new Map(tools.map((tool) => [tool.name, tool]));
  });
}
