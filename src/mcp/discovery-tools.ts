/**
 * Discovery mode's three tools at call time: validates their arguments and runs `search`,
 * `describe` or `call` (the listing and the mode rule are in src/mcp/discovery.ts).
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import * as v from "valibot";
import { type Caller, SCOPE_WRITE } from "../auth/caller.ts";
import type { ToolDefinition, VendorBundle } from "../bundle/types.ts";
import type { ToolErrorCode, ToolFailure } from "../tool-error.ts";
import { toolEffects, toolsByName } from "../vendors/registry.ts";
import { mayCall } from "./authorize.ts";
import { type DiscoveryToolKind, MAX_DESCRIBE_TOOLS } from "./discovery.ts";
import { searchTools } from "./discovery-index.ts";
import { httpFields, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT } from "./discovery-search.ts";
import { failureResult } from "./tool-result.ts";

/** What a discovery tool call needs from the MCP request. */
export interface DiscoveryContext {
  bundle: VendorBundle;
  caller: Caller | undefined;
  /** The tool name prefix on this endpoint (`""` or `<vendor>_`), for hints in answers. */
  prefix: string;
  /** Runs an operation through the normal execution path (validation, auth, resilience, upstream). */
  run: (recipe: ToolDefinition, args: unknown) => Promise<CallToolResult>;
  /** Told of a call refused for its scope (the audit log's `access_denied`, #14). */
  denied?: (tool: string, detail: string) => void;
  /**
   * `call` refused before `run` (its own arguments, an unknown operation, the write scope): the
   * code, and the operation when it resolved; reported as the call's one `tool_call` event.
   */
  refused?: (code: ToolErrorCode, operation: string | undefined) => void;
}

const SearchArgs = v.strictObject({
  query: v.optional(v.pipe(v.string(), v.maxLength(MAX_QUERY_CHARS))),
  tag: v.optional(v.string()),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_SEARCH_LIMIT))),
});
const DescribeArgs = v.strictObject({
  names: v.pipe(v.array(v.string()), v.minLength(1), v.maxLength(MAX_DESCRIBE_TOOLS)),
});
const CallArgs = v.strictObject({
  name: v.string(),
  arguments: v.optional(v.unknown()),
});

function jsonResult(body: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(body) }], structuredContent: body };
}

/** A failure of one of the three discovery tools, named as this endpoint lists it. */
function discoveryFailure(
  ctx: DiscoveryContext,
  kind: DiscoveryToolKind,
  failure: ToolFailure,
): CallToolResult {
  return failureResult(failure, ctx.bundle.vendor, `${ctx.prefix}${kind}`);
}

function invalidArguments(ctx: DiscoveryContext, kind: DiscoveryToolKind, issues: v.BaseIssue<unknown>[]) {
  return discoveryFailure(ctx, kind, {
    code: "invalid_arguments",
    message: `Invalid arguments for ${ctx.prefix}${kind}`,
    errors: issues.map((issue) => ({
      pointer: `/${(issue.path ?? []).map((p) => String(p.key)).join("/")}`.replace(/\/$/, ""),
      message: issue.message,
    })),
  });
}

function visibleTo(ctx: DiscoveryContext): ((tool: string) => boolean) | undefined {
  const caller = ctx.caller;
  if (caller === undefined) return undefined;
  const vendor = ctx.bundle.vendor;
  return (tool) => caller.toolAllowed(vendor, tool);
}

/** The operation `name` names (unprefixed, or with this endpoint's prefix), if the caller may use it. */
function resolveOperation(ctx: DiscoveryContext, name: string): ToolDefinition | undefined {
  // Not the search index: `describe` and `call` must not wait for it.
  const byName = toolsByName(ctx.bundle);
  const vendorPrefix = `${ctx.bundle.vendor}_`;
  const recipe =
    byName.get(name) ??
    (name.startsWith(vendorPrefix) ? byName.get(name.slice(vendorPrefix.length)) : undefined);
  if (recipe === undefined) return undefined;
  const visible = visibleTo(ctx);
  return visible === undefined || visible(recipe.name) ? recipe : undefined;
}

function unknownOperation(ctx: DiscoveryContext, kind: DiscoveryToolKind, name: string): CallToolResult {
  const visible = visibleTo(ctx);
  const suggestions = searchTools(ctx.bundle, {
    // The name is the caller's and unbounded: search only what a query may be.
    query: name.slice(0, MAX_QUERY_CHARS),
    limit: 5,
    ...(visible ? { visible } : {}),
  }).hits.map((h) => h.name);
  return discoveryFailure(ctx, kind, {
    code: "unknown_operation",
    message: `No ${ctx.bundle.displayName} operation named "${name}". Use ${ctx.prefix}search to find one.`,
    ...(suggestions.length > 0 ? { extra: { suggestions } } : {}),
  });
}

function describeRecipe(bundle: VendorBundle, recipe: ToolDefinition): Record<string, unknown> {
  return {
    name: recipe.name,
    ...(recipe.title === undefined ? {} : { title: recipe.title }),
    ...httpFields(recipe),
    description: recipe.description,
    inputSchema: recipe.inputSchema,
    ...(recipe.outputSchema === undefined ? {} : { outputSchema: recipe.outputSchema }),
    readOnly: toolEffects(bundle, recipe).readOnly,
    ...(recipe.deprecated ? { deprecated: true } : {}),
  };
}

/** Runs one of the three discovery tools. Failures are `isError` results, never throws. */
export async function callDiscoveryTool(
  ctx: DiscoveryContext,
  kind: DiscoveryToolKind,
  args: unknown,
): Promise<CallToolResult> {
  const input = args ?? {};
  if (kind === "search") {
    const parsed = v.safeParse(SearchArgs, input);
    if (!parsed.success) return invalidArguments(ctx, kind, parsed.issues);
    const { query, tag, limit } = parsed.output;
    if ((query === undefined || query.trim() === "") && (tag === undefined || tag.trim() === "")) {
      return discoveryFailure(ctx, kind, {
        code: "invalid_arguments",
        message: "Give a query, a tag, or both",
      });
    }
    const visible = visibleTo(ctx);
    const { hits, matched } = searchTools(ctx.bundle, {
      ...(query === undefined ? {} : { query }),
      ...(tag === undefined ? {} : { tag }),
      ...(limit === undefined ? {} : { limit }),
      ...(visible ? { visible } : {}),
    });
    return jsonResult({
      results: hits,
      matched,
      ...(hits.length === 0
        ? { hint: `Nothing matched; try other words${tag ? " or drop the tag" : ""}.` }
        : { next: `${ctx.prefix}describe with the names you want, then ${ctx.prefix}call.` }),
    });
  }
  if (kind === "describe") {
    const parsed = v.safeParse(DescribeArgs, input);
    if (!parsed.success) return invalidArguments(ctx, kind, parsed.issues);
    const tools: Record<string, unknown>[] = [];
    const unknown: string[] = [];
    for (const name of parsed.output.names) {
      const recipe = resolveOperation(ctx, name);
      if (recipe === undefined) unknown.push(name);
      else tools.push(describeRecipe(ctx.bundle, recipe));
    }
    if (tools.length === 0) return unknownOperation(ctx, kind, unknown[0] ?? "");
    return jsonResult({ tools, ...(unknown.length > 0 ? { unknown } : {}) });
  }
  const parsed = v.safeParse(CallArgs, input);
  if (!parsed.success) {
    ctx.refused?.("invalid_arguments", undefined);
    return invalidArguments(ctx, kind, parsed.issues);
  }
  const recipe = resolveOperation(ctx, parsed.output.name);
  if (recipe === undefined) {
    ctx.refused?.("unknown_operation", undefined);
    return unknownOperation(ctx, kind, parsed.output.name);
  }
  // The endpoint checks scopes against the MCP tool name (authorize.ts); here the real operation is known.
  if (!mayCall(ctx.caller, ctx.bundle, recipe)) {
    ctx.denied?.(recipe.name, `scope: ${SCOPE_WRITE} required`);
    ctx.refused?.("insufficient_scope", recipe.name);
    return failureResult(
      {
        code: "insufficient_scope",
        message: `${recipe.name} changes data: your access token needs the ${SCOPE_WRITE} scope`,
      },
      ctx.bundle.vendor,
      recipe.name,
    );
  }
  return ctx.run(recipe, parsed.output.arguments ?? {});
}
