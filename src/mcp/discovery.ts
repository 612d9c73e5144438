/**
 * Discovery mode: a vendor too big to list tool by tool exposes three tools instead.
 *
 * | Tool | Does |
 * |---|---|
 * | `search`   | ranked keyword (and tag) search over the vendor's operations: name, method, path, summary |
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
 * GitHub's 1,223 operations cost a client about 608,000 tokens as tools and about 640 as
 * discovery tools (`npm run bench` measures both).
 *
 * The search index is built lazily, once per isolate and bundle (≈ 50 ms for GitHub, on the
 * first search; listing, describe and call never wait for it), from the compiled recipes: no
 * compiler change, nothing extra shipped.
 *
 * @module
 */
import type { CallToolResult, Tool } from "@modelcontextprotocol/server";
import * as v from "valibot";
import type { Caller } from "../auth/caller.ts";
import { recipesByName } from "../bundle/registry.ts";
import type { HttpMethod, ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { memoized } from "../memo.ts";

// The rule itself lives in a leaf module so the compiler's summary can apply it too.
export {
  DEFAULT_DISCOVERY_TOOL_THRESHOLD,
  MAX_DISCOVERY_TOOL_THRESHOLD,
  usesDiscovery,
} from "./discovery-mode.ts";

/** Search hits returned unless the client asks for a number. */
export const DEFAULT_SEARCH_LIMIT = 10;
/** Most hits one search returns: each is ~60 tokens. */
export const MAX_SEARCH_LIMIT = 50;
/** Most operations one `describe` returns: GitHub's larger input schemas run to ~6,000 tokens each. */
export const MAX_DESCRIBE_TOOLS = 10;
/** Longest search query accepted (a query is keywords, not a document). */
export const MAX_QUERY_CHARS = 500;
/** Summary length in search hits: enough for the first sentence. */
const SUMMARY_CHARS = 160;
/** Description text indexed per operation: the opening says what it does; the rest is mostly caveats. */
const INDEXED_DESCRIPTION_CHARS = 600;

export type DiscoveryToolKind = "search" | "describe" | "call";
export const DISCOVERY_TOOL_KINDS: readonly DiscoveryToolKind[] = ["search", "describe", "call"];

/** OAuth scope a discovery `call` of a non-read-only operation needs (as `src/auth/oauth-server.ts`). */
const SCOPE_WRITE = "mcp:write";
const READ_ONLY_METHODS: ReadonlySet<HttpMethod> = new Set(["GET", "HEAD", "OPTIONS"]);

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
  const count = bundle.tools.length;
  // Listing must stay cheap: the tags come from one pass, the search index waits for the first search.
  const tags = [...new Set(bundle.tools.flatMap((tool) => tool.tags))];
  const tools: Tool[] = [
    {
      name: `${prefix}search`,
      title: `Search ${api} operations`,
      description:
        `Find operations of the ${api} API (${count} operations) by keywords, ranked by relevance: ` +
        `names, summaries, paths and tags are searched. Returns operation names with method, path and summary. ` +
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

// ---------------------------------------------------------------------------------------
// Search index
// ---------------------------------------------------------------------------------------

/** Words that say nothing about which operation is meant. */
const STOPWORDS = new Set(
  "a an the for of to in on by with and or is are be this that from as at it its your you my me i we our all any can how do does into via using use api endpoint operation".split(
    " ",
  ),
);

/** What a method usually means, indexed at low weight so "create", "delete" and "list" favour the right verb. */
const METHOD_WORDS: Record<HttpMethod, string> = {
  GET: "get list read show fetch",
  HEAD: "check exists",
  OPTIONS: "options",
  POST: "create add new post send",
  PUT: "update set replace put",
  PATCH: "update edit modify change patch",
  DELETE: "delete remove",
  TRACE: "trace",
};

/** Query words that often mean another word the spec uses (matched at half weight). */
const SYNONYMS: Record<string, string[]> = {
  add: ["create"],
  new: ["create"],
  make: ["create"],
  open: ["create"],
  remove: ["delete"],
  destroy: ["delete"],
  edit: ["update"],
  modify: ["update"],
  change: ["update"],
  find: ["search", "list", "get"],
  fetch: ["get"],
  retrieve: ["get"],
  show: ["get", "list"],
  read: ["get"],
  all: ["list"],
  pr: ["pull"],
  repo: ["repository"],
  repository: ["repo"],
  org: ["organization"],
  organization: ["org"],
  user: ["member"],
};

/** Field weights: a match in the name or summary says more than one in the long description. */
const FIELD_WEIGHTS = {
  name: 3,
  title: 3,
  tags: 1.5,
  path: 1,
  description: 0.5,
  params: 0.3,
  method: 0.3,
} as const;
type Field = keyof typeof FIELD_WEIGHTS;
const FIELDS = Object.keys(FIELD_WEIGHTS) as Field[];
/** BM25F saturation and per-field length normalisation (the usual values). */
const BM25_K1 = 1.2;
const BM25_B = 0.75;
/**
 * How much a hit gains when the query explains its whole name or summary ("create issue"
 * is all of "Create an issue" but only part of "Create an issue comment").
 */
const COVERAGE_WEIGHT = 1;
/** A hit that matches every query word ranks above partial matches of rarer words. */
const ALL_TERMS_BONUS = 1.5;
const SYNONYM_WEIGHT = 0.5;
const DEPRECATED_PENALTY = 0.5;

/** Light stemming: plurals and common suffixes, so "issues" finds "issue" and "labels" finds "label". */
export function stem(word: string): string {
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(ss|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !/(ss|us|is)$/.test(word)) return word.slice(0, -1);
  if (word.length > 5 && word.endsWith("ing")) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith("ed")) return word.slice(0, -2);
  return word;
}

/** Words of a text: camelCase and snake/kebab split, lower-cased, stop words dropped, stemmed. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  // One pass: lower-case runs, capitalised words, acronyms (not the capital that starts the next word), digits.
  for (const match of text.matchAll(WORD_PATTERN)) {
    const word = match[0].toLowerCase();
    if (STOPWORDS.has(word)) continue;
    // Search queries bring words of their own: a bound keeps them from growing the cache for ever.
    if (stems.size >= MAX_CACHED_STEMS) stems.clear();
    out.push(memoized(stems, word, stem));
  }
  return out;
}

// Linear on V8 (queries are untrusted): each attempt reads one run of one character class
// and, but for a one-character give-back before a lower-case letter, matches it.
const WORD_PATTERN = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g;
/** Stems seen so far (a vendor's vocabulary is a few thousand words). */
const stems = new Map<string, string>();
/** Far above any vendor's vocabulary (GitHub's is a few thousand words). */
const MAX_CACHED_STEMS = 50_000;

interface IndexedTool {
  recipe: ToolRecipe;
  /** Token → BM25F pseudo-frequency (field-weighted, each field length-normalised). */
  terms: Map<string, number>;
  /** Distinct words of the name and summary, for the coverage bonus. */
  headline: Set<string>;
  tagsLower: string[];
  summary: string;
}

interface SearchIndex {
  tools: IndexedTool[];
  /** Token → number of tools containing it. */
  documentFrequency: Map<string, number>;
}

const indexes = new WeakMap<VendorBundle, SearchIndex>();

function summaryOf(recipe: ToolRecipe): string {
  const title = recipe.title?.trim();
  if (title) return title.length > SUMMARY_CHARS ? `${title.slice(0, SUMMARY_CHARS - 1)}…` : title;
  const first = recipe.description.split(/\n\s*\n|(?<=\.)\s/)[0]?.trim() ?? "";
  return first.length > SUMMARY_CHARS ? `${first.slice(0, SUMMARY_CHARS - 1)}…` : first;
}

function fieldTokens(recipe: ToolRecipe): Record<Field, string[]> {
  // The name is usually the sanitized operationId: count its words once.
  const name = [...new Set([...tokenize(recipe.name), ...tokenize(recipe.operationId ?? "")])];
  return {
    name,
    title: tokenize(recipe.title ?? ""),
    tags: tokenize(recipe.tags.join(" ")),
    path: tokenize(recipe.path.replace(/\{[^{}]*\}/g, " ")),
    description: tokenize(recipe.description.slice(0, INDEXED_DESCRIPTION_CHARS)),
    params: tokenize(recipe.params.map((p) => p.key).join(" ")),
    method: tokenize(METHOD_WORDS[recipe.method]),
  };
}

function searchIndex(bundle: VendorBundle): SearchIndex {
  const cached = indexes.get(bundle);
  if (cached !== undefined) return cached;
  const perTool = bundle.tools.map(fieldTokens);
  const averages = {} as Record<Field, number>;
  for (const field of FIELDS) {
    const total = perTool.reduce((n, fields) => n + fields[field].length, 0);
    averages[field] = Math.max(1, total / Math.max(1, perTool.length));
  }
  const tools: IndexedTool[] = [];
  const documentFrequency = new Map<string, number>();
  bundle.tools.forEach((recipe, i) => {
    const fields = perTool[i] as Record<Field, string[]>;
    const terms = new Map<string, number>();
    for (const field of FIELDS) {
      const tokens = fields[field];
      if (tokens.length === 0) continue;
      const weight = FIELD_WEIGHTS[field] / (1 - BM25_B + (BM25_B * tokens.length) / averages[field]);
      for (const token of tokens) terms.set(token, (terms.get(token) ?? 0) + weight);
    }
    for (const token of terms.keys()) documentFrequency.set(token, (documentFrequency.get(token) ?? 0) + 1);
    tools.push({
      recipe,
      terms,
      headline: new Set(fields.title.length > 0 ? fields.title : fields.name),
      tagsLower: recipe.tags.map((t) => t.toLowerCase()),
      summary: summaryOf(recipe),
    });
  });
  const index: SearchIndex = { tools, documentFrequency };
  indexes.set(bundle, index);
  return index;
}

/** One search result. */
export interface SearchHit {
  name: string;
  method: HttpMethod;
  path: string;
  summary: string;
  tags: string[];
  deprecated?: true;
  score: number;
}

export interface SearchOptions {
  query?: string;
  tag?: string;
  limit?: number;
  /** Operations the caller may not use are never returned. */
  visible?: (tool: string) => boolean;
}

/** Ranked search over a vendor's operations (BM25 over weighted fields, light stemming, a few synonyms). */
export function searchTools(
  bundle: VendorBundle,
  options: SearchOptions,
): { hits: SearchHit[]; matched: number } {
  const index = searchIndex(bundle);
  const limit = Math.min(MAX_SEARCH_LIMIT, Math.max(1, options.limit ?? DEFAULT_SEARCH_LIMIT));
  const tag = options.tag?.trim().toLowerCase();
  const words = [...new Set(tokenize(options.query ?? ""))];
  const query = new Map<string, { weight: number; word: string }>();
  for (const word of words) query.set(word, { weight: 1, word });
  for (const word of words) {
    // Own keys only: a query word such as "constructor" must not find Object.prototype's.
    for (const synonym of (Object.hasOwn(SYNONYMS, word) && SYNONYMS[word]) || []) {
      const token = stem(synonym);
      if (!query.has(token)) query.set(token, { weight: SYNONYM_WEIGHT, word });
    }
  }
  const n = index.tools.length;
  const scored: Array<{ tool: IndexedTool; score: number; order: number }> = [];
  index.tools.forEach((tool, order) => {
    if (tag !== undefined && tag !== "" && !tool.tagsLower.includes(tag)) return;
    if (options.visible && !options.visible(tool.recipe.name)) return;
    if (query.size === 0) {
      scored.push({ tool, score: 0, order });
      return;
    }
    let score = 0;
    let covered = 0;
    const matchedWords = new Set<string>();
    for (const [token, { weight, word }] of query) {
      const tf = tool.terms.get(token);
      if (tf === undefined) continue;
      const df = index.documentFrequency.get(token) ?? 0;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      score += weight * idf * ((tf * (BM25_K1 + 1)) / (tf + BM25_K1));
      matchedWords.add(word);
      if (weight === 1 && tool.headline.has(token)) covered++;
    }
    if (score === 0) return;
    if (tool.headline.size > 0) score *= 1 + (COVERAGE_WEIGHT * covered) / tool.headline.size;
    if (matchedWords.size === words.length) score *= ALL_TERMS_BONUS;
    if (tool.recipe.deprecated) score *= DEPRECATED_PENALTY;
    scored.push({ tool, score, order });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  const hits = scored.slice(0, limit).map(({ tool, score }) => ({
    name: tool.recipe.name,
    method: tool.recipe.method,
    path: tool.recipe.path,
    summary: tool.summary,
    tags: tool.recipe.tags,
    ...(tool.recipe.deprecated ? { deprecated: true as const } : {}),
    score: Math.round(score * 100) / 100,
  }));
  return { hits, matched: scored.length };
}

// ---------------------------------------------------------------------------------------
// The three tools
// ---------------------------------------------------------------------------------------

/** What a discovery tool call needs from the MCP request. */
export interface DiscoveryContext {
  bundle: VendorBundle;
  caller: Caller | undefined;
  /** The tool name prefix on this endpoint (`""` or `<vendor>_`), for hints in answers. */
  prefix: string;
  /** Runs an operation through the normal execution path (validation, auth, resilience, upstream). */
  run: (recipe: ToolRecipe, args: unknown) => Promise<CallToolResult>;
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

function jsonResult(body: Record<string, unknown>, isError = false): CallToolResult {
  return {
    ...(isError ? { isError: true } : {}),
    content: [{ type: "text", text: JSON.stringify(body) }],
    ...(isError ? {} : { structuredContent: body }),
  };
}

function invalidArguments(ctx: DiscoveryContext, kind: DiscoveryToolKind, issues: v.BaseIssue<unknown>[]) {
  return jsonResult(
    {
      error: "invalid_arguments",
      vendor: ctx.bundle.vendor,
      tool: `${ctx.prefix}${kind}`,
      message: `Invalid arguments for ${ctx.prefix}${kind}`,
      errors: issues.map((issue) => ({
        pointer: `/${(issue.path ?? []).map((p) => String(p.key)).join("/")}`.replace(/\/$/, ""),
        message: issue.message,
      })),
    },
    true,
  );
}

function visibleTo(ctx: DiscoveryContext): ((tool: string) => boolean) | undefined {
  const caller = ctx.caller;
  if (caller === undefined) return undefined;
  const vendor = ctx.bundle.vendor;
  return (tool) => caller.toolAllowed(vendor, tool);
}

/** The operation `name` names (unprefixed, or with this endpoint's prefix), if the caller may use it. */
function resolveOperation(ctx: DiscoveryContext, name: string): ToolRecipe | undefined {
  // Not the search index: `describe` and `call` must not wait for it.
  const byName = recipesByName(ctx.bundle);
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
  return jsonResult(
    {
      error: "unknown_operation",
      vendor: ctx.bundle.vendor,
      tool: `${ctx.prefix}${kind}`,
      message: `No ${ctx.bundle.displayName} operation named "${name}". Use ${ctx.prefix}search to find one.`,
      ...(suggestions.length > 0 ? { suggestions } : {}),
    },
    true,
  );
}

function describeRecipe(recipe: ToolRecipe): Record<string, unknown> {
  return {
    name: recipe.name,
    ...(recipe.title === undefined ? {} : { title: recipe.title }),
    method: recipe.method,
    path: recipe.path,
    description: recipe.description,
    inputSchema: recipe.inputSchema,
    ...(recipe.outputSchema === undefined ? {} : { outputSchema: recipe.outputSchema }),
    readOnly: READ_ONLY_METHODS.has(recipe.method),
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
      return jsonResult(
        {
          error: "invalid_arguments",
          vendor: ctx.bundle.vendor,
          tool: `${ctx.prefix}search`,
          message: "Give a query, a tag, or both",
        },
        true,
      );
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
      else tools.push(describeRecipe(recipe));
    }
    if (tools.length === 0) return unknownOperation(ctx, kind, unknown[0] ?? "");
    return jsonResult({ tools, ...(unknown.length > 0 ? { unknown } : {}) });
  }
  const parsed = v.safeParse(CallArgs, input);
  if (!parsed.success) return invalidArguments(ctx, kind, parsed.issues);
  const recipe = resolveOperation(ctx, parsed.output.name);
  if (recipe === undefined) return unknownOperation(ctx, kind, parsed.output.name);
  // The OAuth layer checks scopes against the MCP tool name; here the real operation is known.
  if (
    ctx.caller !== undefined &&
    !READ_ONLY_METHODS.has(recipe.method) &&
    !ctx.caller.scopes.includes(SCOPE_WRITE)
  ) {
    return jsonResult(
      {
        error: "insufficient_scope",
        vendor: ctx.bundle.vendor,
        tool: recipe.name,
        message: `${recipe.name} changes data: your access token needs the ${SCOPE_WRITE} scope`,
      },
      true,
    );
  }
  return ctx.run(recipe, parsed.output.arguments ?? {});
}
