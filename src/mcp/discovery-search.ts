/**
 * Discovery mode's search engine: ranked keyword search over a vendor's operations (BM25F over
 * weighted fields, light stemming, a few synonyms), used by the `search` tool and by the
 * suggestions of an unknown operation name (src/mcp/discovery-tools.ts).
 *
 * The index is built lazily, once per isolate and bundle, from the compiled recipes.
 *
 * @module
 */
import type { HttpMethod, ToolDefinition, ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { memoized } from "../memo.ts";
import { toolsOf } from "../vendors/registry.ts";

/** Search hits returned unless the client asks for a number. */
export const DEFAULT_SEARCH_LIMIT = 10;
/** Most hits one search returns: each is ~60 tokens. */
export const MAX_SEARCH_LIMIT = 50;
/** Longest search query accepted (a query is keywords, not a document). */
export const MAX_QUERY_CHARS = 500;
/** Summary length in search hits: enough for the first sentence. */
const SUMMARY_CHARS = 160;
/** Description text indexed per operation: the opening says what it does; the rest is mostly caveats. */
const INDEXED_DESCRIPTION_CHARS = 600;

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
function stem(word: string): string {
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
  recipe: ToolDefinition;
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

function summaryOf(recipe: ToolDefinition): string {
  const title = recipe.title?.trim();
  if (title) return title.length > SUMMARY_CHARS ? `${title.slice(0, SUMMARY_CHARS - 1)}…` : title;
  const first = recipe.description.split(/\n\s*\n|(?<=\.)\s/)[0]?.trim() ?? "";
  return first.length > SUMMARY_CHARS ? `${first.slice(0, SUMMARY_CHARS - 1)}…` : first;
}

/** The HTTP operation behind a tool, when its kind has one (OpenAPI). */
export function httpOperation(recipe: ToolDefinition): ToolRecipe | undefined {
  return "method" in recipe && "path" in recipe ? (recipe as ToolRecipe) : undefined;
}

/** Argument names: the recipe's parameters, else the input schema's top-level properties. */
function argumentKeys(recipe: ToolDefinition, http: ToolRecipe | undefined): string[] {
  if (http !== undefined) return http.params.map((p) => p.key);
  const properties = recipe.inputSchema["properties"];
  return properties !== null && typeof properties === "object" ? Object.keys(properties) : [];
}

function fieldTokens(recipe: ToolDefinition): Record<Field, string[]> {
  // The name is usually the sanitized operationId: count its words once.
  const name = [...new Set([...tokenize(recipe.name), ...tokenize(recipe.operationId ?? "")])];
  const http = httpOperation(recipe);
  return {
    name,
    title: tokenize(recipe.title ?? ""),
    tags: tokenize(recipe.tags.join(" ")),
    path: http === undefined ? [] : tokenize(http.path.replace(/\{[^{}]*\}/g, " ")),
    description: tokenize(recipe.description.slice(0, INDEXED_DESCRIPTION_CHARS)),
    params: tokenize(argumentKeys(recipe, http).join(" ")),
    method: http === undefined ? [] : tokenize(METHOD_WORDS[http.method]),
  };
}

function searchIndex(bundle: VendorBundle): SearchIndex {
  const cached = indexes.get(bundle);
  if (cached !== undefined) return cached;
  const recipes = toolsOf(bundle);
  const perTool = recipes.map(fieldTokens);
  const averages = {} as Record<Field, number>;
  for (const field of FIELDS) {
    const total = perTool.reduce((n, fields) => n + fields[field].length, 0);
    averages[field] = Math.max(1, total / Math.max(1, perTool.length));
  }
  const tools: IndexedTool[] = [];
  const documentFrequency = new Map<string, number>();
  recipes.forEach((recipe, i) => {
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
  /** OpenAPI operations only. */
  method?: HttpMethod;
  path?: string;
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
    ...httpFields(tool.recipe),
    summary: tool.summary,
    tags: tool.recipe.tags,
    ...(tool.recipe.deprecated ? { deprecated: true as const } : {}),
    score: Math.round(score * 100) / 100,
  }));
  return { hits, matched: scored.length };
}

/** `method` and `path` of an HTTP operation; nothing for tools of other kinds. */
export function httpFields(recipe: ToolDefinition): { method?: HttpMethod; path?: string } {
  const http = httpOperation(recipe);
  return http === undefined ? {} : { method: http.method, path: http.path };
}
