/**
 * Discovery mode: a vendor too big to list tool by tool exposes three tools instead.
 *
 * | Tool | Does |
 * |---|---|
 * | `search`   | ranked keyword (and tag) search over the vendor's operations: name, summary, path, tags, description, arguments and their values |
 * | `describe` | the full input schema (and output schema) of up to {@link MAX_DESCRIBE_TOOLS} operations |
 * | `call`     | runs one operation by name with arguments, through the normal execution path |
 *
 * On `/v1/<vendor>/mcp` they are named `search`, `describe`, `call`; on `/v1/mcp`,
 * `<vendor>_search` and so on. Operation names inside them are always unprefixed.
 *
 * A vendor is in discovery mode when its `vendor.json` says `"toolMode": "discovery"`, or
 * when it says nothing and has more tools than `DISCOVERY_TOOL_THRESHOLD` (default
 * {@link DEFAULT_DISCOVERY_TOOL_THRESHOLD}). `"toolMode": "tools"` always lists every tool.
 *
 * GitHub's 1,223 operations cost a client about 608,000 tokens as tools and about 680 as
 * discovery tools (`npm run bench` measures both).
 *
 * The search index is built lazily, once per isolate and bundle (on the first search; listing,
 * describe and call never wait for it), from the compiled recipes and input schemas: no compiler
 * change, nothing extra shipped. `npm run bench` measures its build and query times.
 *
 * This file holds the tool kinds and the three listing entries (src/config.ts reads the threshold); the search engine is
 * src/mcp/discovery-search.ts, the tools' arguments and answers src/mcp/discovery-tools.ts.
 *
 * @module
 */
import type { Tool } from "@modelcontextprotocol/server";
import type { VendorBundle } from "../bundle/types.ts";
import { toolsOf } from "../vendors/registry.ts";
import { DEFAULT_SEARCH_LIMIT, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT } from "./discovery-search.ts";

/** Most operations one `describe` returns: GitHub's larger input schemas run to ~6,000 tokens each. */
export const MAX_DESCRIBE_TOOLS = 10;

export type DiscoveryToolKind = "search" | "describe" | "call";
const DISCOVERY_TOOL_KINDS: readonly DiscoveryToolKind[] = ["search", "describe", "call"];

/** The discovery tool `name` stands for (`search`, or `<vendor>_search` on /v1/mcp), if any. */
export function discoveryKind(name: string, prefix: string): DiscoveryToolKind | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return (DISCOVERY_TOOL_KINDS as readonly string[]).includes(rest) ? (rest as DiscoveryToolKind) : undefined;
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

const listings = new WeakMap<VendorBundle, Map<string, Tool[]>>();

/** The three listing entries of a discovery vendor, names prefixed with `prefix`. Shared: do not mutate. */
export function discoveryTools(bundle: VendorBundle, prefix: string): Tool[] {
  let byPrefix = listings.get(bundle);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    listings.set(bundle, byPrefix);
  }
  const cached = byPrefix.get(prefix);
  if (cached !== undefined) return cached;
  const api = bundle.displayName;
  const operations = toolsOf(bundle);
  const count = operations.length;
  // Listing must stay cheap: the tags come from one pass, the search index waits for the first search.
  const tags = [...new Set(operations.flatMap((tool) => tool.tags))];
  const tools: Tool[] = [
    {
      name: `${prefix}search`,
      title: `Search ${api} operations`,
      description:
        `Find operations of the ${api} API (${count} operations) by keywords, ranked by relevance: ` +
        `names, summaries, paths, tags, descriptions, arguments and their values are searched. ` +
        `Returns operation names with method, path and summary; a hit found through one of its arguments ` +
        `says which in \`via\` (e.g. {"param": "state", "value": "closed"}: set that argument). ` +
        `Next: \`${prefix}describe\` for their arguments, then \`${prefix}call\` to run one.`,
      inputSchema: {
        type: "object",
        properties: {
          query: {
            type: "string",
            maxLength: MAX_QUERY_CHARS,
            description: 'What you want to do, in a few words, e.g. "create issue" or "list pull requests".',
          },
          ...(tags.length > 0
            ? {
                tag: {
                  type: "string",
                  description: "Only operations with this tag (API section).",
                  ...(tags.length <= 100 ? { enum: tags } : {}),
                },
              }
            : {}),
          limit: {
            type: "integer",
            minimum: 1,
            maximum: MAX_SEARCH_LIMIT,
            default: DEFAULT_SEARCH_LIMIT,
            description: "Most results to return.",
          },
        },
        additionalProperties: false,
      },
      annotations: { title: `Search ${api} operations`, readOnlyHint: true, openWorldHint: false },
    },
    {
      name: `${prefix}describe`,
      title: `Describe ${api} operations`,
      description:
        `The full input schema (arguments) and output schema of up to ${MAX_DESCRIBE_TOOLS} ${api} operations, ` +
        `by the names \`${prefix}search\` returned.`,
      inputSchema: {
        type: "object",
        properties: {
          names: {
            type: "array",
            items: { type: "string" },
            minItems: 1,
            maxItems: MAX_DESCRIBE_TOOLS,
            description: "Operation names.",
          },
        },
        required: ["names"],
        additionalProperties: false,
      },
      annotations: { title: `Describe ${api} operations`, readOnlyHint: true, openWorldHint: false },
    },
    {
      name: `${prefix}call`,
      title: `Call a ${api} operation`,
      description:
        `Run one ${api} operation: \`name\` from \`${prefix}search\`, \`arguments\` as \`${prefix}describe\` ` +
        `showed. Returns the API's answer. Operations that change data change it for real.`,
      inputSchema: {
        type: "object",
        properties: {
          name: { type: "string", description: "Operation name." },
          arguments: {
            type: "object",
            description: "The operation's arguments, matching its input schema.",
          },
        },
        required: ["name"],
        additionalProperties: false,
      },
      annotations: {
        title: `Call a ${api} operation`,
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
  ];
  byPrefix.set(prefix, tools);
  return tools;
}
