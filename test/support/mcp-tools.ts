/**
 * Upstream MCP tool lists for tests of definition review (src/mcp-upstream/definitions.ts):
 * tools with a given definition hash, MCP vendor bundles, and a review that waits for the KV
 * writes it started.
 */
import type { DefinitionChangePolicy, McpToolRecipe, VendorBundle } from "../../src/bundle/types.ts";
import type { Clock } from "../../src/clock.ts";
import { type ReviewedTools, reviewDefinitions } from "../../src/mcp-upstream/definitions.ts";
import { bareBundle } from "./bare-bundle.ts";

/** A tool as the MCP kind lists it, with the definition hash a test chooses. */
export function mcpTool(name: string, definitionHash: string, description = `Does ${name}.`): McpToolRecipe {
  return { name, upstreamName: name, description, inputSchema: { type: "object" }, tags: [], definitionHash };
}

/** A bundle of `kind: "mcp"`; `snapshot`: its compile-time tool list. */
export function mcpBundle(
  vendor: string,
  policy?: DefinitionChangePolicy,
  snapshot?: McpToolRecipe[],
): VendorBundle {
  return bareBundle(vendor, {
    kind: "mcp",
    mcp: { url: "http://127.0.0.1:9/mcp", ...(policy === undefined ? {} : { onDefinitionChange: policy }) },
    ...(snapshot === undefined ? {} : { mcpTools: snapshot }),
  });
}

/** Reviews `tools` and waits for the KV writes the review handed to `waitUntil`. */
export async function reviewAndWait(
  env: Env,
  clock: Clock,
  bundle: VendorBundle,
  tools: McpToolRecipe[],
): Promise<ReviewedTools> {
  const pending: Promise<unknown>[] = [];
  const result = await reviewDefinitions({ env, bundle, tools, clock, waitUntil: (p) => pending.push(p) });
  await Promise.all(pending);
  return result;
}
