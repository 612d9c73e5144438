/**
 * INTERIM (replaced by curate.ts + definitions.ts when they land): a fetched list turned into
 * the tools the gateway serves — routable names, vendor.json overrides, bounded descriptions,
 * and each definition's hash as the upstream sent it.
 *
 * @module
 */
import type { JsonSchema, McpToolRecipe, VendorBundle } from "../bundle/types.ts";
import { DEFAULT_MAX_DESCRIPTION_CHARS, type RawTool, sha256Hex } from "./tool-list.ts";

const SAFE_NAME = /[^A-Za-z0-9_-]/g;
const MAX_NAME_CHARS = 64;

/** JSON with sorted keys: the same definition always hashes the same. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

function withoutFixed(schema: JsonSchema, fixed: Record<string, unknown>): JsonSchema {
  const properties = { ...((schema["properties"] as Record<string, unknown> | undefined) ?? {}) };
  for (const key of Object.keys(fixed)) delete properties[key];
  const required = Array.isArray(schema["required"])
    ? (schema["required"] as unknown[]).filter((k) => typeof k === "string" && !(k in fixed))
    : undefined;
  return { ...schema, properties, ...(required === undefined ? {} : { required }) };
}

export async function curateTools(bundle: VendorBundle, raw: RawTool[]): Promise<McpToolRecipe[]> {
  const config = bundle.mcp;
  const maxChars = config?.maxDescriptionChars ?? DEFAULT_MAX_DESCRIPTION_CHARS;
  const used = new Set<string>();
  const tools: McpToolRecipe[] = [];
  for (const tool of raw) {
    const override = config?.toolOverrides?.[tool.name];
    let name = (override?.name ?? tool.name).replace(SAFE_NAME, "_").slice(0, MAX_NAME_CHARS);
    for (let n = 2; used.has(name); n++) name = `${name.slice(0, MAX_NAME_CHARS - 4)}_${n}`;
    used.add(name);
    const description = override?.description ?? tool.description;
    const title = override?.title ?? tool.title ?? tool.annotations?.title;
    const recipe: McpToolRecipe = {
      name,
      upstreamName: tool.name,
      description: description.length > maxChars ? `${description.slice(0, maxChars - 1)}…` : description,
      inputSchema:
        override?.fixed === undefined ? tool.inputSchema : withoutFixed(tool.inputSchema, override.fixed),
      tags: [],
      definitionHash: await sha256Hex(
        canonical({
          name: tool.name,
          title: tool.title,
          description: tool.description,
          inputSchema: tool.inputSchema,
          outputSchema: tool.outputSchema,
          annotations: tool.annotations,
        }),
      ),
    };
    if (title !== undefined) recipe.title = title;
    if (tool.outputSchema !== undefined) recipe.outputSchema = tool.outputSchema;
    if (tool.annotations !== undefined) recipe.annotations = tool.annotations;
    if (tool.meta !== undefined) recipe.meta = tool.meta;
    if (override?.fixed !== undefined) recipe.fixed = override.fixed;
    tools.push(recipe);
  }
  return tools;
}
