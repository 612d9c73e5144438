/**
 * An upstream MCP server's tool list as the gateway lists it: vendor.json `include`/`exclude`
 * (upstream tool-name globs) and `tools` overrides (rename, title, description, fixed arguments)
 * applied, names made safe and unique, descriptions cut. The compiler runs it on a snapshot
 * (`npm run compile -- --snapshot`); the MCP vendor kind runs it on every fetched list, so it is
 * pure, allocation-light and never throws on what an upstream sends (a malformed tool is dropped
 * and reported through `onDropped`).
 *
 * Everything in `rawTools` is hostile: names, descriptions and schemas come from the upstream.
 * Nothing here runs a regular expression whose time grows worse than linearly in upstream text.
 *
 * @module
 */
import type {
  JsonSchema,
  McpToolAnnotations,
  McpToolOverride,
  McpToolRecipe,
  McpVendorConfig,
} from "../bundle/types.ts";
import { isRecord } from "../is-record.ts";
import { DefinitionHashError, definitionHash } from "./definition-hash.ts";
import { MAX_DESCRIPTION_CHARS, screenDescription } from "./screen-description.ts";

/** Many MCP clients cut or reject tool names longer than 64 characters. */
export const MCP_TOOL_NAME_MAX_CHARS = 64;
/** A title is a label; the same bound the compiler puts on generated titles. */
export const MCP_TITLE_MAX_CHARS = 200;

/** A tool name clients accept. */
const TOOL_NAME_CHARS = /^[A-Za-z0-9_-]+$/;

/**
 * Longest unprefixed tool name for a vendor, so `<vendor>_<name>` on `/v1/mcp` fits
 * {@link MCP_TOOL_NAME_MAX_CHARS} too (the compiler's rule for OpenAPI vendors).
 */
export function mcpToolNameLimit(vendor?: string): number {
  return vendor === undefined ? MCP_TOOL_NAME_MAX_CHARS : MCP_TOOL_NAME_MAX_CHARS - vendor.length - 1;
}

const isDash = (c: string) => c === "_" || c === "-";

/**
 * `[A-Za-z0-9_-]` only: runs of other characters become one `_`, repeated `_` collapse, and
 * `_`/`-` at either end go (the compiler's rule for operationIds). May return `""`.
 */
export function sanitizeToolName(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/_{2,}/g, "_");
  // Trimmed with loops: an anchored `[_-]+$` backtracks quadratically on long runs of `_`.
  let start = 0;
  let end = cleaned.length;
  while (start < end && isDash(cleaned[start]!)) start++;
  while (end > start && isDash(cleaned[end - 1]!)) end--;
  return cleaned.slice(start, end);
}

/**
 * The name a tool the operator did not rename gets (before `_2`, `_3` for names already taken):
 * its upstream name sanitised and cut to `limit`, `tool` when nothing is left.
 */
export function generatedToolName(upstreamName: string, limit: number): string {
  return fitName(sanitizeToolName(upstreamName), limit) || "tool";
}

/** `name` cut to `max` characters without a trailing `_`/`-`; `""` stays `""`. */
function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  let end = max;
  while (end > 0 && isDash(name[end - 1]!)) end--;
  return name.slice(0, end);
}

/**
 * Glob match of a whole tool name: `*` any run of characters (none included), `?` exactly one,
 * everything else literal. The greedy two-pointer algorithm: O(name × glob) in the worst case,
 * never exponential, whatever the name holds.
 */
export function nameGlobMatches(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = glob[g];
    if (c === "*") {
      star = g++;
      resume = n;
    } else if (c !== undefined && (c === "?" || c === name[n])) {
      g++;
      n++;
    } else if (star >= 0) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}

/**
 * Why vendor.json `include`/`exclude` drop the upstream tool `name`, or `undefined` when it is
 * listed. Include narrows (one of its globs must match), exclude removes (any of its globs).
 */
export function mcpToolFilterReason(
  config: Pick<McpVendorConfig, "include" | "exclude">,
  name: string,
): string | undefined {
  if (config.include !== undefined && !config.include.some((glob) => nameGlobMatches(glob, name))) {
    return "not matched by vendor.json include";
  }
  const excluded = config.exclude?.find((glob) => nameGlobMatches(glob, name));
  if (excluded !== undefined) return `excluded by vendor.json exclude (${JSON.stringify(excluded)})`;
  return undefined;
}

const ANNOTATION_HINTS = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] as const;

/** The known annotation hints with the right types; anything else the upstream put there is dropped. */
function pickAnnotations(raw: unknown): McpToolAnnotations | undefined {
  if (!isRecord(raw)) return undefined;
  const out: McpToolAnnotations = {};
  if (typeof raw.title === "string") out.title = screenDescription(raw.title, MCP_TITLE_MAX_CHARS);
  for (const hint of ANNOTATION_HINTS) if (typeof raw[hint] === "boolean") out[hint] = raw[hint];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The input schema without the fixed arguments (in `properties` and `required`). */
export function withoutFixed(schema: JsonSchema, fixed: Readonly<Record<string, unknown>>): JsonSchema {
  const next: JsonSchema = { ...schema };
  if (isRecord(schema.properties)) {
    const properties = { ...schema.properties };
    for (const arg of Object.keys(fixed)) delete properties[arg];
    next.properties = properties;
  }
  if (Array.isArray(schema.required)) {
    const required = schema.required.filter((r) => typeof r !== "string" || !Object.hasOwn(fixed, r));
    if (required.length > 0) next.required = required;
    else delete next.required;
  }
  return next;
}

export interface CurateMcpToolsOptions {
  /**
   * The vendor, so names fit `<vendor>_<name>` in 64 characters ({@link mcpToolNameLimit});
   * without it names are cut at 64.
   */
  vendor?: string;
  /** Told about every tool not listed: its upstream name (when it has one) and why. */
  onDropped?: (upstreamName: string | undefined, reason: string) => void;
}

interface Candidate {
  raw: Record<string, unknown>;
  upstreamName: string;
  override: McpToolOverride | undefined;
}

/**
 * The upstream's `tools` (every page of `tools/list`, as sent) curated for listing and calls,
 * in the upstream's order. Dropped: entries that are not tools (no string `name`, no
 * `inputSchema` object), a second tool with the same upstream name (calls go by that name), tools
 * `include`/`exclude` filter out, and definitions with no canonical hash (nested too deep).
 *
 * Names: an override's `name` (already checked at compile time), else the upstream name
 * sanitised to `[A-Za-z0-9_-]` and cut to the limit; override names are claimed first and a later
 * name already taken gets `_2`, `_3`, … (deterministic for the same list). Descriptions from the
 * upstream are cut to `maxDescriptionChars` (default {@link MAX_DESCRIPTION_CHARS}),
 * titles to {@link MCP_TITLE_MAX_CHARS}; the operator's override text is used as written.
 * `definitionHash` is the upstream definition's, before any of this.
 */
export async function curateMcpTools(
  config: McpVendorConfig,
  rawTools: readonly unknown[],
  options: CurateMcpToolsOptions = {},
): Promise<McpToolRecipe[]> {
  const drop = options.onDropped ?? (() => {});
  const limit = mcpToolNameLimit(options.vendor);
  const maxDescription = config.maxDescriptionChars ?? MAX_DESCRIPTION_CHARS;
  const overrides = config.toolOverrides;

  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  for (const raw of rawTools) {
    if (!isRecord(raw) || typeof raw.name !== "string" || raw.name === "") {
      drop(undefined, "not a tool: no name");
      continue;
    }
    const upstreamName = raw.name;
    if (!isRecord(raw.inputSchema)) {
      drop(upstreamName, "no inputSchema object");
      continue;
    }
    if (seen.has(upstreamName)) {
      drop(upstreamName, "a second tool with the same name");
      continue;
    }
    seen.add(upstreamName);
    const filtered = mcpToolFilterReason(config, upstreamName);
    if (filtered !== undefined) {
      drop(upstreamName, filtered);
      continue;
    }
    const override =
      overrides !== undefined && Object.hasOwn(overrides, upstreamName) ? overrides[upstreamName] : undefined;
    candidates.push({ raw, upstreamName, override });
  }

  const hashes = await Promise.all(
    candidates.map(({ raw }) =>
      definitionHash(raw).catch((error: unknown) => {
        if (error instanceof DefinitionHashError) return error;
        throw error;
      }),
    ),
  );

  // Operator names first: a generated name never takes one away from them.
  const names: (string | undefined)[] = candidates.map(({ override }) =>
    override?.name !== undefined && override.name.length <= limit && TOOL_NAME_CHARS.test(override.name)
      ? override.name
      : undefined,
  );
  const taken = new Set<string>();
  for (let i = 0; i < candidates.length; i++) {
    const name = names[i];
    if (name === undefined || hashes[i] instanceof DefinitionHashError) continue;
    if (taken.has(name)) names[i] = undefined;
    else taken.add(name);
  }

  const tools: McpToolRecipe[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const { raw, upstreamName, override } = candidates[i]!;
    const hash = hashes[i]!;
    if (hash instanceof DefinitionHashError) {
      drop(upstreamName, `definition not hashable: ${hash.message}`);
      continue;
    }
    const name = names[i] ?? uniqueName(generatedToolName(upstreamName, limit), limit, taken);
    const annotations = pickAnnotations(raw.annotations);
    const title =
      override?.title ??
      (typeof raw.title === "string"
        ? screenDescription(raw.title, MCP_TITLE_MAX_CHARS)
        : annotations?.title);
    const description =
      override?.description ??
      (typeof raw.description === "string" ? screenDescription(raw.description, maxDescription) : "");
    const inputSchema = raw.inputSchema as JsonSchema;
    const tool: McpToolRecipe = {
      name,
      upstreamName,
      ...(title !== undefined ? { title } : {}),
      description,
      inputSchema: override?.fixed !== undefined ? withoutFixed(inputSchema, override.fixed) : inputSchema,
      ...(isRecord(raw.outputSchema) ? { outputSchema: raw.outputSchema } : {}),
      tags: [],
      ...(override?.fixed !== undefined ? { fixed: override.fixed } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
      definitionHash: hash,
      ...(isRecord(raw._meta) ? { meta: raw._meta } : {}),
    };
    tools.push(tool);
  }
  return tools;
}

/** `base`, else `base_2`, `base_3`, … (cut so the suffix fits): the first free one, claimed. */
function uniqueName(base: string, limit: number, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) {
    const suffix = `_${n}`;
    name = `${fitName(base, limit - suffix.length)}${suffix}`;
  }
  taken.add(name);
  return name;
}
