/**
 * Discovery mode's search engine: ranked keyword search over a vendor's operations, used by the
 * `search` tool and by the suggestions of an unknown operation name (src/mcp/discovery-tools.ts).
 *
 * - **What is indexed**, each as its own BM25F field: the name (operationId), the summary, tags,
 *   path, the description's opening, argument names, argument descriptions, and the values an
 *   argument takes (enum, const and example values, and the values its description quotes in
 *   backticks). All of it comes from {@link ToolDefinition} and its `inputSchema`, so OpenAPI
 *   operations and an upstream MCP server's tools are searched alike.
 * - **Morphology**: the Porter stemmer (`stemmer`) joins inflections ("issues", "issue"); the
 *   more aggressive Lancaster stemmer (`lancaster-stemmer`) groups derived words ("contributed",
 *   "contributors"; "react", "reaction"), matched at lower weight.
 * - **Vocabulary learned from the spec**: a query word that names no operation reaches the
 *   naming words it keeps company with in the spec's arguments (an argument's name and the
 *   values it takes: `ref` with `heads/feature-a`), at a weight proportional to how strongly
 *   they are associated. Built with the index.
 * - **Explanations**: a hit that a query word reaches only through an argument or one of its
 *   values says which (`via: { param: "state", value: "closed" }`).
 *
 * The engine is pure (no I/O, no environment; importing it does nothing, and the compiler runs it
 * in Node): {@link buildSearchIndex} turns any list of tools into an index, {@link searchIndex}
 * queries it. `searchTools` (src/mcp/discovery-index.ts) keeps one index per bundle: the one the
 * compiler precomputed (src/mcp/search-index-format.ts), else built on the first search of an isolate.
 *
 * @module
 */
import { lancasterStemmer } from "lancaster-stemmer";
import { stemmer } from "stemmer";
import type { HttpMethod, ToolDefinition, ToolRecipe, ToolResource } from "../bundle/types.ts";
import { isRecord } from "../is-record.ts";
import { memoized } from "../memo.ts";

/** Search hits returned unless the client asks for a number. */
export const DEFAULT_SEARCH_LIMIT = 10;
/** Most hits one search returns: each is ~60 tokens. */
export const MAX_SEARCH_LIMIT = 50;
/** Longest search query accepted (a query is keywords, not a document). */
export const MAX_QUERY_CHARS = 500;
/** Summary length in search hits: enough for the first sentence. */
const SUMMARY_CHARS = 160;
/** Description text indexed per operation: the opening says what it does; the rest is mostly caveats. */
const INDEXED_DESCRIPTION_CHARS = 400;
/** Argument description text indexed: its first sentences say what the argument is for. */
const INDEXED_ARGUMENT_CHARS = 300;
/** Arguments read per tool (GitHub's widest has ~40): a hostile MCP server may send thousands. */
const MAX_INDEXED_ARGUMENTS = 64;
/** Values read per argument (an enum of every country or timezone says little about the task). */
const MAX_INDEXED_VALUES = 40;
/** A value longer than this is data, not a word a task would use. */
const MAX_VALUE_CHARS = 40;
/** Resource property texts read per tool (the compiler keeps fewer; a bundle is still input). */
const MAX_INDEXED_RESOURCE_PROPERTIES = 64;
/** Resource text characters read per piece (the compiler's bounds are lower). */
const MAX_INDEXED_RESOURCE_CHARS = 600;
/** Nesting read below an argument (`items`, `anyOf` alternatives) for its values. */
const MAX_VALUE_DEPTH = 3;
/** Letters a word shares with its Lancaster stem (which only rewrites endings, and keeps at least this many). */
const FAMILY_PREFIX_CHARS = 2;
/** Words longer than this are not stemmed: no English word needs it, and the stemmers' regexes are not linear. */
const MAX_STEMMED_CHARS = 40;

/** Words that say nothing about which operation is meant. */
const STOPWORDS = new Set(
  "a an the for of to in on by with and or is are be this that from as at it its your you we our all any can how do does into via using use api endpoint operation".split(
    " ",
  ),
);

/** What a method usually means, indexed at low weight so "create", "delete" and "list" favour the right verb. */
const METHOD_WORDS: Record<HttpMethod, string> = {
  GET: "get list read show fetch",
  HEAD: "exists",
  OPTIONS: "options",
  POST: "create add new post send",
  PUT: "update set replace put",
  PATCH: "update edit modify change patch",
  DELETE: "delete remove",
  TRACE: "trace",
};

/**
 * General English verbs and abbreviations that mean a word APIs use (matched at half weight).
 * Domain words are not listed here: they are learned from each spec (see `learnAssociations`).
 */
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
  // "my repositories": APIs name the caller the authenticated user (at RANKING.caller: Kubernetes'
  // "authentication" API shares the stem, and "my pods" is not about it).
  my: ["authenticated"],
  me: ["authenticated"],
  // "turn off", "switch off".
  off: ["disable"],
  cancel: ["delete"],
  revoke: ["delete"],
  drop: ["delete"],
  erase: ["delete"],
  kick: ["remove"],
  post: ["create"],
  submit: ["create"],
  register: ["create"],
  define: ["create"],
  publish: ["create"],
  save: ["create"],
  grant: ["add", "create"],
  give: ["add"],
  email: ["send"],
  upgrade: ["update"],
  downgrade: ["update"],
  bump: ["update"],
  abort: ["cancel"],
  stop: ["cancel"],
  halt: ["cancel"],
  freeze: ["update"],
  unfreeze: ["update"],
  share: ["create"],
  reply: ["create"],
  answer: ["create", "reply"],
  view: ["get", "list"],
  see: ["get", "list"],
  inspect: ["get"],
};

/** Words for the caller, whose synonyms count at RANKING.caller. */
const CALLER_WORDS = new Set(["my", "me"]);

/**
 * What a query asks to do, by its verbs (general English), and the HTTP methods that do it:
 * a hit whose method does what the query asks ranks higher ("change the schedule" → PATCH/PUT,
 * not POST create). Tools without a method (MCP) are neither favoured nor penalised.
 */
const INTENTS: Record<string, readonly HttpMethod[]> = {
  get: ["GET"],
  list: ["GET"],
  show: ["GET"],
  find: ["GET"],
  fetch: ["GET"],
  read: ["GET"],
  view: ["GET"],
  see: ["GET"],
  retrieve: ["GET"],
  search: ["GET"],
  which: ["GET"],
  who: ["GET"],
  what: ["GET"],
  many: ["GET"],
  download: ["GET"],
  check: ["GET"],
  inspect: ["GET"],
  look: ["GET"],
  count: ["GET"],
  create: ["POST", "PUT"],
  add: ["POST", "PUT"],
  new: ["POST", "PUT"],
  make: ["POST", "PUT"],
  start: ["POST", "PUT"],
  send: ["POST"],
  open: ["POST", "PUT"],
  share: ["POST", "PUT"],
  draft: ["POST", "PUT"],
  record: ["POST", "PUT"],
  reply: ["POST"],
  answer: ["POST"],
  email: ["POST"],
  post: ["POST"],
  submit: ["POST"],
  report: ["POST", "PUT"],
  register: ["POST", "PUT"],
  define: ["POST", "PUT"],
  publish: ["POST", "PUT"],
  save: ["POST", "PUT"],
  grant: ["POST", "PUT"],
  give: ["POST", "PUT"],
  upload: ["POST", "PUT"],
  invite: ["POST", "PUT"],
  update: ["PATCH", "PUT"],
  change: ["PATCH", "PUT"],
  edit: ["PATCH", "PUT"],
  modify: ["PATCH", "PUT"],
  set: ["PATCH", "PUT", "POST"],
  rename: ["PATCH", "PUT"],
  upgrade: ["PATCH", "PUT"],
  freeze: ["PATCH", "PUT"],
  unfreeze: ["PATCH", "PUT"],
  abort: ["DELETE", "POST"],
  stop: ["DELETE", "POST"],
  halt: ["DELETE", "POST"],
  bump: ["PATCH", "PUT"],
  promote: ["PATCH", "PUT"],
  downgrade: ["PATCH", "PUT"],
  renew: ["PATCH", "PUT"],
  resize: ["PATCH", "PUT"],
  scale: ["PATCH", "PUT"],
  suspend: ["PATCH", "PUT"],
  pause: ["PATCH", "PUT"],
  resume: ["PATCH", "PUT"],
  archive: ["PATCH", "PUT"],
  mark: ["PATCH", "PUT"],
  move: ["PATCH", "PUT"],
  turn: ["PATCH", "PUT", "POST", "DELETE"],
  enable: ["PATCH", "PUT", "POST"],
  disable: ["PATCH", "PUT", "POST", "DELETE"],
  delete: ["DELETE"],
  remove: ["DELETE"],
  destroy: ["DELETE"],
  cancel: ["DELETE", "POST"],
  revoke: ["DELETE", "POST"],
  drop: ["DELETE"],
  erase: ["DELETE"],
  kick: ["DELETE"],
};

/**
 * Field weights, chosen by evaluation (scripts/bench/search-eval): a match in the name or
 * summary says more than one in an argument's description. The resource fields are scored
 * apart (see {@link RESOURCE_FIELDS}).
 */
export const FIELD_WEIGHTS = {
  name: 3,
  title: 3,
  tags: 0,
  path: 1,
  description: 0.25,
  argNames: 1.33,
  argText: 0.4,
  values: 0.67,
  method: 0.4,
  /** What the operation acts on (`ToolResource`): its schema's description… */
  resource: 0.6,
  /** …its properties' names (`spec.schedule`)… */
  resourceNames: 0.3,
  /** …and their descriptions' first sentences. */
  resourceText: 0.3,
};
export type Field = keyof typeof FIELD_WEIGHTS;
const FIELDS = Object.keys(FIELD_WEIGHTS) as Field[];
/**
 * The fields of what an operation acts on: scored in postings of their own, so a query word
 * found only there adds to a hit's score but does not count as the hit matching that word
 * (most of a resource's many words are not what the operation does). They hold only words that
 * name no operation (are in no name or summary): "user" in a response's properties says little
 * next to the operations named by it, and pulled whole resource families above the one meant,
 * while "traffic" or "fees" are found nowhere else.
 */
const RESOURCE_FIELDS: ReadonlySet<Field> = new Set(["resource", "resourceNames", "resourceText"]);

/** Ranking constants (tuned together with the field weights; the bench prints what they give). */
export const RANKING = {
  /** BM25F saturation and per-field length normalisation (the usual values). */
  k1: 1.2,
  b: 0.75,
  /**
   * How much a hit gains when the query explains its whole name or summary ("create issue"
   * is all of "Create an issue" but only part of "Create an issue comment").
   */
  coverage: 1.77,
  /** A hit that matches every query word ranks above partial matches of rarer words. */
  allTerms: 1.5,
  synonym: 1,
  /** "my", "me" → "authenticated": a hint, weaker than a verb's synonym. */
  caller: 0.5,
  /** A clipped word's longer naming words ("promo" → "promotion"). */
  clipped: 1,
  /** Words of the same Lancaster family ("contributed" → "contributor"). */
  family: 0.6,
  /** Learned associations, times the association's strength (0–1). */
  learned: 0.6,
  deprecated: 0.5,
  /**
   * Kubernetes names each list and watch twice, in a namespace and `…ForAllNamespaces`: the
   * latter gains this when the query asks across namespaces or the cluster, and loses it otherwise.
   */
  allNamespaces: 1.5,
  /** Operations of the spec's bigger sections (tags), times 0–1. */
  section: 0.4,
  /** The hit's HTTP method does what the query's verbs ask (see INTENTS). */
  intent: 1.3,
  /** The same for a verb's other methods ("change": PATCH first, then PUT or POST), as a share of `intent`'s gain. */
  secondaryIntent: 0.5,
  /** The query names what the operation does (its first word: "star", "list", "delete"). */
  action: 1.3,
  /**
   * For a word some operation is named by: how much an operation that only mentions it
   * (arguments, description) counts towards its document frequency.
   */
  mentionShare: 0.3,
};

/** Learned vocabulary: kept when a pair co-occurs in at least this many texts… */
const MIN_ASSOCIATION_COUNT = 3;
/** …with at least this Ochiai coefficient (co-occurrences / √(count₁ · count₂))… */
const MIN_ASSOCIATION = 0.25;
/** …at most this many per word. */
const MAX_ASSOCIATIONS = 3;
/** Words that name a version or a number ("v", "1", "beta", "alpha"): not what an operation does. Linear. */
const VERSION_WORD = /^(?:v|alpha|beta|[0-9]+)$/;

// ---------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------

/** Stems seen so far (a vendor's vocabulary is a few thousand words). */
const stems = new Map<string, string>();
const families = new Map<string, string>();
/** Far above any vendor's vocabulary (GitHub's is a few thousand words). */
const MAX_CACHED_STEMS = 50_000;

function porter(word: string): string {
  return word.length > MAX_STEMMED_CHARS ? word : stemmer(word);
}

function lancaster(word: string): string {
  return word.length > MAX_STEMMED_CHARS ? word : lancasterStemmer(word);
}

// Linear on V8 (queries are untrusted): each attempt reads one run of one character class
// and, but for a one-character give-back before a lower-case letter, matches it. Native
// matching also keeps the first index build fast while the engine's own code is still cold.
const WORD_PATTERN = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g;

/**
 * Lower-cased words of a text, stop words dropped: runs of lower-case letters (with one leading
 * capital), acronyms (not the capital that starts the next word: "HTMLPage" is "html", "page"),
 * and digits; so camelCase, snake_case and kebab-case split.
 */
function words(text: string): string[] {
  const out: string[] = [];
  for (const match of text.match(WORD_PATTERN) ?? []) {
    const word = match.toLowerCase();
    if (!STOPWORDS.has(word)) out.push(word);
  }
  return out;
}

/**
 * Two-word verbs people use for what an API calls by one ("set up a team" creates it, "look up a
 * user" gets one), read as that one verb. General English, not any API's words.
 */
const PHRASAL_VERBS: Record<string, string> = {
  "set up": "create",
  "spin up": "create",
  "sign up": "create",
  "kick off": "start",
  "shut down": "close",
  "look up": "get",
  "find out": "get",
  "tear down": "delete",
  "get rid": "delete",
  "clean up": "delete",
  "hook up": "connect",
  "sign off": "approve",
  "give up": "close",
};

/** Capitals then a plural "s" ("PVCs"). Linear: one run of capitals, one letter, one look-ahead. */
const PLURAL_ACRONYM = /[A-Z]{2,}s(?![a-z])/g;

/**
 * A query's words (see {@link words}), with each two-word verb of {@link PHRASAL_VERBS} read as its
 * one word. Linear: one pass over the words.
 */
function queryWords(query: string): string[] {
  // A plural acronym ("HPAs", "CRDs") is one word, not "HP" and "As".
  const all = (
    query.replace(PLURAL_ACRONYM, (acronym) => acronym.toLowerCase()).match(WORD_PATTERN) ?? []
  ).map((word) => word.toLowerCase());
  const out: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const word = all[i] as string;
    const next = all[i + 1];
    const phrase = next === undefined ? undefined : `${word} ${next}`;
    if (phrase !== undefined && Object.hasOwn(PHRASAL_VERBS, phrase)) {
      out.push(PHRASAL_VERBS[phrase] as string);
      i++;
    } else if (!STOPWORDS.has(word)) out.push(word);
  }
  return out;
}

/** The Porter stem of a lower-case word. */
function stem(word: string): string {
  // Search queries bring words of their own: a bound keeps them from growing the cache for ever.
  if (stems.size >= MAX_CACHED_STEMS) stems.clear();
  return memoized(stems, word, porter);
}

/** The Lancaster stem of a lower-case word: its derivational family. */
export function family(word: string): string {
  if (families.size >= MAX_CACHED_STEMS) families.clear();
  return memoized(families, word, lancaster);
}

/** Words of a text: camelCase and snake/kebab split, lower-cased, stop words dropped, stemmed. */
export function tokenize(text: string): string[] {
  return words(text).map(stem);
}

// ---------------------------------------------------------------------------------------
// What a tool says about itself
// ---------------------------------------------------------------------------------------

/** One argument value the index knows, for the hit's explanation. */
interface ValueSource {
  param: string;
  value: string;
}

/**
 * Reads texts into word ids for one index build. Specs repeat themselves (GitHub says "The
 * account owner of the repository" on hundreds of operations), so each distinct text is read
 * once; ids keep the per-tool work to array indexing.
 */
interface Analyser {
  tokens(text: string): number[];
  /** The same for a text that will not come again (an operation's own description): not cached. */
  once(text: string): number[];
  /** Stem → id, and id → stem. */
  ids: Map<string, number>;
  vocabulary: string[];
  /** Every surface word read → its stem id (for the Lancaster families). */
  surface: Map<string, number>;
}

function analyser(): Analyser {
  const cache = new Map<string, number[]>();
  const ids = new Map<string, number>();
  const vocabulary: string[] = [];
  const surface = new Map<string, number>();
  // Each word as the text spells it ("Issue", "issue", "ISSUE") → its id, or -1 for a stop word:
  // a spec says the same few thousand words over and over, so each is lower-cased, looked up
  // and stemmed once per build.
  const spelled = new Map<string, number>();
  const idOf = (match: string): number => {
    let id = spelled.get(match);
    if (id === undefined) {
      const word = match.toLowerCase();
      id = STOPWORDS.has(word) ? -1 : surface.get(word);
      if (id === undefined) {
        const s = stem(word);
        id = ids.get(s);
        if (id === undefined) {
          id = vocabulary.length;
          ids.set(s, id);
          vocabulary.push(s);
        }
        surface.set(word, id);
      }
      spelled.set(match, id);
    }
    return id;
  };
  const read = (text: string): number[] => {
    const out: number[] = [];
    const matches = text.match(WORD_PATTERN);
    if (matches === null) return out;
    for (let i = 0; i < matches.length; i++) {
      const id = idOf(matches[i] as string);
      if (id >= 0) out.push(id);
    }
    return out;
  };
  return {
    ids,
    vocabulary,
    surface,
    once: read,
    tokens(text) {
      let out = cache.get(text);
      if (out === undefined) {
        out = read(text);
        cache.set(text, out);
      }
      return out;
    },
  };
}

/** The distinct argument texts of a vendor, to learn its vocabulary from. */
interface Units {
  texts: number[][];
  /** Argument description (its cached word ids) → the argument names seen with it. */
  seen: Map<number[], Set<string>>;
}

interface ToolText {
  fields: Record<Field, number[]>;
}

/** Scalar values an argument schema names: `enum`, `const`, `examples`, through `items` and alternatives. */
function schemaValues(schema: unknown, depth: number, out: string[]): void {
  if (!isRecord(schema) || depth > MAX_VALUE_DEPTH) return;
  const push = (value: unknown) => {
    if (out.length >= MAX_INDEXED_VALUES) return;
    if ((typeof value === "string" && value.length <= MAX_VALUE_CHARS) || typeof value === "boolean") {
      const text = String(value);
      if (text !== "" && !out.includes(text)) out.push(text);
    }
  };
  const listed = schema["enum"];
  if (Array.isArray(listed)) for (let i = 0; i < listed.length; i++) push(listed[i]);
  if ("const" in schema) push(schema["const"]);
  const examples = schema["examples"];
  if (Array.isArray(examples)) for (let i = 0; i < examples.length; i++) push(examples[i]);
  schemaValues(schema["items"], depth + 1, out);
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const alternatives = schema[key];
    if (Array.isArray(alternatives)) for (const alt of alternatives) schemaValues(alt, depth + 1, out);
  }
}

/** The first description found on an argument schema (on itself or one of its alternatives). */
function schemaDescription(schema: unknown, depth = 0): string {
  if (!isRecord(schema) || depth > MAX_VALUE_DEPTH) return "";
  if (typeof schema["description"] === "string") return schema["description"];
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const alternatives = schema[key];
    if (!Array.isArray(alternatives)) continue;
    for (const alt of alternatives) {
      const found = schemaDescription(alt, depth + 1);
      if (found !== "") return found;
    }
  }
  return "";
}

/** Code spans of a description that look like values (`APPROVE`, `closed`), not sentences. */
function quotedValues(description: string, out: string[]): void {
  // Split, not a regex: odd pieces are inside backticks.
  const pieces = description.split("`");
  for (let i = 1; i < pieces.length - 1 && out.length < MAX_INDEXED_VALUES; i += 2) {
    let span = pieces[i] ?? "";
    if (span.length > 1 && span.startsWith('"') && span.endsWith('"')) span = span.slice(1, -1);
    if (span.length === 0 || span.length > MAX_VALUE_CHARS || span.includes(" ")) continue;
    if (!out.includes(span)) out.push(span);
  }
}

export function summaryOf(recipe: ToolDefinition): string {
  const title = recipe.title?.trim();
  if (title) return title.length > SUMMARY_CHARS ? `${title.slice(0, SUMMARY_CHARS - 1)}…` : title;
  // The opening only: a description can run to pages (Kubernetes', Stripe's).
  const first =
    recipe.description
      .slice(0, SUMMARY_CHARS * 4)
      .split(/\n\s*\n|(?<=\.)\s/)[0]
      ?.trim() ?? "";
  return first.length > SUMMARY_CHARS ? `${first.slice(0, SUMMARY_CHARS - 1)}…` : first;
}

/** The HTTP operation behind a tool, when its kind has one (OpenAPI). */
export function httpOperation(recipe: ToolDefinition): ToolRecipe | undefined {
  return "method" in recipe && "path" in recipe ? (recipe as ToolRecipe) : undefined;
}

/** The description's opening, without a first line that repeats the summary (GitHub's do, and a summary taken from it does). */
function descriptionOpening(recipe: ToolDefinition, summary: string): string {
  let text = recipe.description.slice(0, INDEXED_DESCRIPTION_CHARS + SUMMARY_CHARS);
  if (summary !== "" && text.startsWith(summary)) text = text.slice(summary.length);
  return text.slice(0, INDEXED_DESCRIPTION_CHARS);
}

/**
 * What one tool says about itself, field by field. Each distinct argument (its name and values;
 * descriptions measured worse and cost more) is also added to `units`, the texts the vocabulary
 * is learned from.
 */
/** One argument as the index reads it: its name, its description's opening, and its values. */
interface ArgumentText {
  key: string;
  text: string;
  values: string[];
}

/** The top-level arguments of a tool's input schema, as indexed (OpenAPI and MCP tools alike). */
function argumentsOf(recipe: ToolDefinition): ArgumentText[] {
  const properties = recipe.inputSchema["properties"];
  if (!isRecord(properties)) return [];
  // Not Object.entries: a hostile server's schema may have a million properties.
  const entries: Array<[string, unknown]> = [];
  for (const key in properties) {
    if (!Object.hasOwn(properties, key)) continue;
    entries.push([key, properties[key]]);
    if (entries.length >= MAX_INDEXED_ARGUMENTS) break;
  }
  return entries.map(([key, schema]) => {
    const description = schemaDescription(schema);
    const text =
      description.length > INDEXED_ARGUMENT_CHARS
        ? description.slice(0, INDEXED_ARGUMENT_CHARS)
        : description;
    const found: string[] = [];
    schemaValues(schema, 0, found);
    quotedValues(text, found);
    // A quoted argument name is a cross-reference, not a value.
    return { key, text, values: found.filter((value) => !Object.hasOwn(properties, value)) };
  });
}

/**
 * Appends `more` to `out`. Indexed loops, here and in the index build: the build runs once per
 * isolate, mostly before the engine's code is optimised, and unoptimised `for…of` and spreads
 * allocate per element (GitHub: ~30 MB of garbage, a third of the build in scavenges).
 */
function append(out: number[], more: readonly number[]): void {
  for (let i = 0; i < more.length; i++) out.push(more[i] as number);
}

function toolText(
  recipe: ToolDefinition,
  summary: string,
  read: Analyser,
  units: Units,
  resourceOf: (recipe: ToolDefinition) => ResourceWords | undefined,
): ToolText {
  // The name is usually the sanitized operationId: count its words once.
  const name: number[] = [];
  for (const text of [recipe.name, recipe.operationId ?? ""]) {
    const tokens = read.tokens(text);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as number;
      if (!name.includes(token)) name.push(token);
    }
  }
  const http = httpOperation(recipe);
  const argNames: number[] = [];
  const argText: number[] = [];
  const valueTokens: number[] = [];
  const args = argumentsOf(recipe);
  for (let a = 0; a < args.length; a++) {
    const { key, text, values } = args[a] as ArgumentText;
    const nameTokens = read.tokens(key);
    append(argNames, nameTokens);
    const textTokens = read.tokens(text);
    append(argText, textTokens);
    // An argument the spec repeats (same name, same description) is one text to learn from.
    let seen = units.seen.get(textTokens);
    if (seen === undefined) {
      seen = new Set();
      units.seen.set(textTokens, seen);
    }
    const unit = seen.has(key) ? undefined : nameTokens.slice();
    seen.add(key);
    for (let v = 0; v < values.length; v++) {
      const tokens = read.tokens(values[v] as string);
      append(valueTokens, tokens);
      if (unit !== undefined) append(unit, tokens);
    }
    if (unit !== undefined) units.texts.push(unit);
  }
  const resource = resourceOf(recipe);
  return {
    fields: {
      name,
      // Without a title (Kubernetes, Stripe), the description's first sentence is the summary.
      title: read.tokens(summary),
      tags: read.tokens(recipe.tags.join(" ")),
      path: http === undefined ? [] : read.tokens(http.path.replace(/\{[^{}]*\}/g, " ")),
      description: read.once(descriptionOpening(recipe, summary)),
      argNames,
      argText,
      values: valueTokens,
      method: http === undefined ? [] : read.tokens(METHOD_WORDS[http.method]),
      resource: resource?.description ?? [],
      resourceNames: resource?.names ?? [],
      resourceText: resource?.text ?? [],
    },
  };
}

/** One entry of a bundle's `resources`, read into word ids. */
interface ResourceWords {
  description: number[];
  names: number[];
  text: number[];
}

/**
 * A resource's property texts, bounded (a bundle is input too), each split into its path and
 * its description's first sentence (`path: first sentence`, src/bundle/types.ts).
 */
function resourceProperties(resource: ToolResource | undefined): Array<{ path: string; text: string }> {
  const properties = resource !== undefined && Array.isArray(resource.properties) ? resource.properties : [];
  const out: Array<{ path: string; text: string }> = [];
  for (let p = 0; p < properties.length && p < MAX_INDEXED_RESOURCE_PROPERTIES; p++) {
    const entry = String(properties[p]).slice(0, MAX_INDEXED_RESOURCE_CHARS);
    const colon = entry.indexOf(": ");
    out.push(
      colon === -1
        ? { path: entry, text: "" }
        : { path: entry.slice(0, colon), text: entry.slice(colon + 2) },
    );
  }
  return out;
}

/** Reads a bundle's `resources` entries as tools refer to them, each once. */
function resourceReader(
  resources: readonly ToolResource[],
  read: Analyser,
): (recipe: ToolDefinition) => ResourceWords | undefined {
  const done = new Map<number, ResourceWords>();
  return (recipe) => {
    const at = recipe.resource;
    const resource = typeof at === "number" ? resources[at] : undefined;
    if (resource === undefined || typeof resource !== "object" || resource === null) return undefined;
    return memoized(done, at as number, () => {
      const names: number[] = [];
      const text: number[] = [];
      for (const entry of resourceProperties(resource)) {
        append(names, read.tokens(entry.path));
        append(text, read.tokens(entry.text));
      }
      const description = read.tokens(
        String(resource.description ?? "").slice(0, MAX_INDEXED_RESOURCE_CHARS),
      );
      return { description, names, text };
    });
  };
}

/** The verbs an operation is named by: "star" in `activity/star-repo…`, "list" in `listCoreV1Pod`, "Get" in `GetCharges`. */
function actionWords(recipe: ToolDefinition, title: number[], read: Analyser): number[] {
  const id = recipe.operationId ?? recipe.name;
  const first = read.tokens(id.slice(id.lastIndexOf("/") + 1))[0];
  const out = first === undefined ? [] : [first];
  if (title[0] !== undefined && title[0] !== first) out.push(title[0]);
  return out;
}

// ---------------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------------

export interface IndexedTool {
  recipe: ToolDefinition;
  /** Distinct words of the name, and of the summary, for the coverage bonus (versions and digits left out). */
  nameWords: Set<number>;
  titleWords: Set<number>;
  /** What the operation does: the first word of its operationId (after any `group/`) and of its summary. */
  actions: number[];
  /** Word ids of the fields that say what the operation is (name, summary, tags, path, method): worked out for a hit that may need explaining. */
  prominent?: Set<number>;
  /** Word id → the argument (and value) it comes from: worked out for a hit that needs explaining, then kept. */
  arguments?: { values: Map<number, ValueSource>; params: Map<number, string> };
  /** Its resource's properties and the words of their own names: worked out for a hit that needs explaining. */
  properties?: Array<[path: string, ids: number[]]>;
  /** How big the operation's API section is, 0–1 (log of its first tag's size over the largest's). */
  section: number;
  /** The HTTP method, when the tool has one. */
  method: HttpMethod | undefined;
  /** The operation reads every namespace of a Kubernetes cluster (`listCoreV1PodForAllNamespaces`). */
  allNamespaces: boolean;
  summary: string;
}

/** A vendor's search index: build once with {@link buildSearchIndex}, query with {@link searchIndex}. */
export interface SearchIndex {
  tools: IndexedTool[];
  /** Stem → word id. */
  ids: Map<string, number>;
  /**
   * By word id: the tools it occurs in, and its BM25F pseudo-frequency in each (field-weighted,
   * length-normalised), in 1/{@link FREQUENCY_SCALE} units.
   */
  postingTools: number[][];
  postingFrequencies: number[][];
  /** The same for the resource fields ({@link RESOURCE_FIELDS}). */
  resourceTools: number[][];
  resourceFrequencies: number[][];
  /** Naming words by their first letters, with their ids: the candidates of a Lancaster family. */
  namingWords: Map<string, Array<[word: string, id: number, family?: string]>>;
  /** Lancaster family → the ids of the vendor's naming words in it, filled as queries need them. */
  families: Map<string, number[]>;
  /** Learned vocabulary by word id: operation-naming words it keeps company with, and how strongly (0–1). */
  associations: Map<number, Array<[id: number, strength: number]>>;
  /** By word id: 1 when the word is in some operation's name or summary. */
  naming: Uint8Array;
  /** By word id: how many operations have it in their name or summary. */
  namingCount: Uint32Array;
  /** Every word the build read, lower-cased, → its id: a hit's explanation needs no stemmer for them. */
  surface: Map<string, number>;
  /** The bundle's `resources` the tools refer to (for explanations). */
  resources: readonly ToolResource[];
}

/**
 * Words that keep company with the words operations are named by, learned from the distinct
 * arguments (name and values). A pair is kept when it co-occurs often enough
 * with a high Ochiai coefficient; only naming words (in some operation's name or summary) are
 * targets, since those are what a query must reach.
 */
function learnAssociations(
  units: readonly number[][],
  naming: Uint8Array,
  vocabularySize: number,
): Map<number, Array<[number, number]>> {
  const count = new Uint32Array(vocabularySize);
  const distinctUnits: number[][] = [];
  for (let u = 0; u < units.length; u++) {
    const unit = units[u] as number[];
    const distinct: number[] = [];
    for (let k = 0; k < unit.length; k++) {
      const t = unit[k] as number;
      if (distinct.includes(t)) continue;
      distinct.push(t);
      count[t] = (count[t] as number) + 1;
    }
    distinctUnits.push(distinct);
  }
  // Pairs that cannot pass are never counted: both words need MIN_ASSOCIATION_COUNT texts, and
  // together / √(count₁·count₂) ≥ MIN_ASSOCIATION needs their counts within 1 / MIN_ASSOCIATION² of each other.
  const maxRatio = 1 / (MIN_ASSOCIATION * MIN_ASSOCIATION);
  const pairs = new Map<number, number>();
  for (let u = 0; u < distinctUnits.length; u++) {
    const distinct = distinctUnits[u] as number[];
    const targets = distinct.filter(
      (id) => naming[id] === 1 && (count[id] as number) >= MIN_ASSOCIATION_COUNT,
    );
    if (targets.length === 0) continue;
    for (let k = 0; k < distinct.length; k++) {
      const t = distinct[k] as number;
      const ct = count[t] as number;
      // Only words that name nothing are ever expanded (see queryTerms).
      if (naming[t] === 1 || ct < MIN_ASSOCIATION_COUNT) continue;
      for (let j = 0; j < targets.length; j++) {
        const h = targets[j] as number;
        const ch = count[h] as number;
        if (ch > ct * maxRatio || ct > ch * maxRatio) continue;
        // Small integer keys (GitHub: < 2^22): no boxed numbers in the map.
        const key = t * vocabularySize + h;
        pairs.set(key, (pairs.get(key) ?? 0) + 1);
      }
    }
  }
  const associations = new Map<number, Array<[number, number]>>();
  for (const [key, together] of pairs) {
    if (together < MIN_ASSOCIATION_COUNT) continue;
    const t = Math.floor(key / vocabularySize);
    const h = key % vocabularySize;
    const strength = together / Math.sqrt((count[t] as number) * (count[h] as number));
    if (strength < MIN_ASSOCIATION) continue;
    const kept = associations.get(t);
    if (kept === undefined) associations.set(t, [[h, strength]]);
    else kept.push([h, strength]);
  }
  for (const kept of associations.values()) {
    kept.sort((a, b) => b[1] - a[1]);
    kept.length = Math.min(kept.length, MAX_ASSOCIATIONS);
  }
  return associations;
}

/** Term frequencies are stored as integers in these units (rounding moves a score by < 0.1%). */
const FREQUENCY_SCALE = 4096;

/** Whether a path names one item (ends in a parameter: `/customers/{customer}`) rather than a collection. Linear. */
const ITEM_PATH = /\}\/?$/;

/**
 * The method as a query's verbs see it: a POST to one item (`POST /v1/prices/{price}`) changes
 * it, as a PATCH does; a POST to a collection creates.
 */
function intentMethod(http: ToolRecipe | undefined): HttpMethod | undefined {
  if (http === undefined) return undefined;
  return http.method === "POST" && ITEM_PATH.test(http.path) ? "PATCH" : http.method;
}

/** Moves one tool's frequencies of the words it `touched` into postings, and clears the scratch row. */
function flushPostings(
  tool: number,
  touched: number[],
  frequency: Int32Array,
  tools: number[][],
  frequencies: number[][],
): void {
  for (let k = 0; k < touched.length; k++) {
    const token = touched[k] as number;
    (tools[token] as number[]).push(tool);
    (frequencies[token] as number[]).push(frequency[token] as number);
    frequency[token] = 0;
  }
  touched.length = 0;
}

/** Builds the search index of a list of tools (pure; the bench measures it for GitHub). */
export function buildSearchIndex(
  recipes: readonly ToolDefinition[],
  weights: Record<Field, number> = FIELD_WEIGHTS,
  resources: readonly ToolResource[] = [],
): SearchIndex {
  const read = analyser();
  const units: Units = { texts: [], seen: new Map() };
  const summaries = recipes.map(summaryOf);
  const resourceOf = resourceReader(resources, read);
  const texts = recipes.map((recipe, i) => toolText(recipe, summaries[i] as string, read, units, resourceOf));
  const size = read.vocabulary.length;
  const averages = {} as Record<Field, number>;
  for (const field of FIELDS) {
    const total = texts.reduce((n, text) => n + text.fields[field].length, 0);
    averages[field] = Math.max(1, total / Math.max(1, texts.length));
  }
  const postingTools: number[][] = Array.from({ length: size }, () => []);
  const postingFrequencies: number[][] = Array.from({ length: size }, () => []);
  const resourceTools: number[][] = Array.from({ length: size }, () => []);
  const resourceFrequencies: number[][] = Array.from({ length: size }, () => []);
  // Words in some operation's name or summary, known before the postings: the resource fields keep only the others.
  const naming = new Uint8Array(size);
  const namingCount = new Uint32Array(size);
  for (let t = 0; t < texts.length; t++) {
    const { name, title } = (texts[t] as ToolText).fields;
    for (let k = 0; k < name.length; k++) {
      const id = name[k] as number;
      naming[id] = 1;
      namingCount[id] = (namingCount[id] as number) + 1;
    }
    for (let k = 0; k < title.length; k++) {
      const id = title[k] as number;
      naming[id] = 1;
      // Name words are distinct; count a summary word only when the name has not.
      if (!name.includes(id) && title.indexOf(id) === k) namingCount[id] = (namingCount[id] as number) + 1;
    }
  }
  // One scratch row for every tool's term frequencies, cleared through the list of words it touched.
  // Integers: unoptimised code (most of a first build) boxes every double it reads.
  const frequency = new Int32Array(size);
  const touched: number[] = [];
  const resourceFrequency = new Int32Array(size);
  const resourceTouched: number[] = [];
  // "V1beta1" says which version, not what the operation does.
  const versions = new Uint8Array(size);
  read.vocabulary.forEach((word, id) => {
    if (VERSION_WORD.test(word)) versions[id] = 1;
  });
  const isWord = (id: number) => versions[id] !== 1;
  const tools = recipes.map((recipe, i): IndexedTool => {
    const { fields } = texts[i] as ToolText;
    for (let f = 0; f < FIELDS.length; f++) {
      const field = FIELDS[f] as Field;
      const tokens = fields[field];
      if (tokens.length === 0 || weights[field] === 0) continue;
      const weight = Math.round(
        (FREQUENCY_SCALE * weights[field]) / (1 - RANKING.b + (RANKING.b * tokens.length) / averages[field]),
      );
      const resource = RESOURCE_FIELDS.has(field);
      const into = resource ? resourceFrequency : frequency;
      const list = resource ? resourceTouched : touched;
      for (let k = 0; k < tokens.length; k++) {
        const token = tokens[k] as number;
        if (resource && naming[token] === 1) continue;
        if (into[token] === 0) list.push(token);
        into[token] = (into[token] as number) + weight;
      }
    }
    flushPostings(i, touched, frequency, postingTools, postingFrequencies);
    flushPostings(i, resourceTouched, resourceFrequency, resourceTools, resourceFrequencies);
    return indexedTool(
      recipe,
      summaries[i] as string,
      actionWords(recipe, fields.title, read),
      fields.name.filter(isWord),
      fields.title.filter(isWord),
    );
  });
  assignSections(tools);
  const namingWords = namingBuckets();
  for (const [word, id] of read.surface) if (naming[id] === 1) addNamingWord(namingWords, word, id);
  return {
    tools,
    ids: read.ids,
    postingTools,
    postingFrequencies,
    resourceTools,
    resourceFrequencies,
    namingWords,
    families: new Map(),
    associations: learnAssociations(units.texts, naming, size),
    naming,
    namingCount,
    surface: read.surface,
    resources,
  };
}

// ---------------------------------------------------------------------------------------
// Assembling an index: shared by the build above and by precomputed indexes
// (src/mcp/search-index-format.ts), which store the parts that take words to work out.
// ---------------------------------------------------------------------------------------

/** One tool of the index, from what the index keeps of its words. */
export function indexedTool(
  recipe: ToolDefinition,
  summary: string,
  actions: number[],
  nameWords: readonly number[],
  titleWords: readonly number[],
): IndexedTool {
  return {
    recipe,
    actions,
    nameWords: new Set(nameWords),
    titleWords: new Set(titleWords),
    section: 0,
    method: intentMethod(httpOperation(recipe)),
    allNamespaces: ALL_NAMESPACES.test(recipe.operationId ?? recipe.name),
    summary,
  };
}

/**
 * The spec's own shape as a prior: its big sections (GitHub's repos, Kubernetes' core) hold
 * what is asked for most.
 */
export function assignSections(tools: readonly IndexedTool[]): void {
  const sections = new Map<string, number>();
  for (const { recipe } of tools) {
    const tag = recipe.tags[0];
    if (tag !== undefined) sections.set(tag, (sections.get(tag) ?? 0) + 1);
  }
  const largest = Math.log(1 + Math.max(1, ...sections.values()));
  tools.forEach((tool) => {
    const tag = tool.recipe.tags[0];
    tool.section = tag === undefined ? 0 : Math.log(1 + (sections.get(tag) ?? 0)) / largest;
  });
}

/**
 * Families only join naming words (the only ones a family expansion adds to a query), and are
 * worked out per query word: Lancaster keeps a word's first letters, so only words that share
 * them are candidates. Buckets keep the order words are added in.
 */
export function namingBuckets(): SearchIndex["namingWords"] {
  return new Map();
}

/** Adds a naming word to its bucket, with its Lancaster family when known (a precomputed index's). */
export function addNamingWord(
  buckets: SearchIndex["namingWords"],
  word: string,
  id: number,
  known?: string,
): void {
  const prefix = word.slice(0, FAMILY_PREFIX_CHARS);
  const entry: [string, number, string?] = known === undefined ? [word, id] : [word, id, known];
  const bucket = buckets.get(prefix);
  if (bucket === undefined) buckets.set(prefix, [entry]);
  else bucket.push(entry);
}

/**
 * The ids of a text's words (-1 for a word the index does not hold), as `tokenize` and the ids map
 * would give them, without stemming words the build has read (a precomputed index leaves the
 * isolate's stem cache empty: explaining a hit would otherwise stem its every argument word).
 */
function wordIds(index: SearchIndex, text: string): number[] {
  return words(text).map((word) => wordId(index, word) ?? -1);
}

/** One lower-case word's id: by its spelling when the build read it, else by its stem. */
function wordId(index: SearchIndex, word: string): number | undefined {
  return index.surface.get(word) ?? index.ids.get(stem(word));
}

/**
 * Bump when what toolText, argumentsOf, the analyser, learnAssociations or the postings loop
 * produce changes without a constant below changing: bundles compiled before the change would
 * otherwise be searched with their old words until the next `npm run compile` (which `npm test`
 * and `wrangler deploy` run first).
 */
const INDEX_REVISION = 2;

/**
 * What a precomputed index depends on besides the tools: an index built with other weights,
 * limits or word lists is refused (and the index built at run time). Field names are part of
 * it, so adding a field retires every precomputed index.
 */
export const SEARCH_INDEX_ENGINE = JSON.stringify([
  INDEX_REVISION,
  FIELD_WEIGHTS,
  RANKING.b,
  FREQUENCY_SCALE,
  [MIN_ASSOCIATION_COUNT, MIN_ASSOCIATION, MAX_ASSOCIATIONS],
  [INDEXED_DESCRIPTION_CHARS, INDEXED_ARGUMENT_CHARS, MAX_INDEXED_ARGUMENTS, MAX_INDEXED_VALUES],
  [MAX_VALUE_CHARS, MAX_VALUE_DEPTH, MAX_STEMMED_CHARS, FAMILY_PREFIX_CHARS, SUMMARY_CHARS],
  [...STOPWORDS].join(" "),
  METHOD_WORDS,
  VERSION_WORD.source,
]);

// ---------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------

/** Why a hit matched when the query reached it through an argument rather than its name or summary. */
export type SearchVia =
  | {
      /** The argument to set. */
      param: string;
      /** The value of it the query named (an enum value, example, or a value its description quotes). */
      value?: string;
    }
  | {
      /**
       * A property of what the operation acts on that the query named (`spec.suspend` of a
       * CronJob): set it in the body, or read it in the answer.
       */
      property: string;
    };

/** One search result. */
export interface SearchHit {
  name: string;
  /** OpenAPI operations only. */
  method?: HttpMethod;
  path?: string;
  summary: string;
  tags: string[];
  deprecated?: true;
  /** Set when a query word matched only one of the operation's arguments or argument values. */
  via?: SearchVia;
  score: number;
}

export interface SearchOptions {
  query?: string;
  tag?: string;
  limit?: number;
  /** Operations the caller may not use are never returned. */
  visible?: (tool: string) => boolean;
}

interface QueryTerm {
  id: number;
  weight: number;
  /** Index of the query word it stands for. */
  word: number;
}

/** The vendor's naming words in the Lancaster family of a query word. */
function familyOf(index: SearchIndex, word: string): number[] {
  const key = family(word);
  let members = index.families.get(key);
  if (members === undefined) {
    members = [];
    for (const [candidate, id, known] of index.namingWords.get(word.slice(0, FAMILY_PREFIX_CHARS)) ?? []) {
      if ((known ?? family(candidate)) === key && !members.includes(id)) members.push(id);
    }
    // Query words are the caller's: a bound keeps them from growing the index for ever.
    if (index.families.size >= MAX_CACHED_STEMS) index.families.clear();
    index.families.set(key, members);
  }
  return members;
}

/** Shortest query word read as the start of a longer one ("promo" → "promotion"). */
const MIN_CLIPPED_CHARS = 4;
/** A clipped word that begins more naming words than this says too little to expand. */
const MAX_CLIPPED_MEMBERS = 3;

/** The vendor's naming words that begin with `word` and are longer than it. */
function clippedOf(index: SearchIndex, word: string): number[] {
  const members: number[] = [];
  for (const [candidate, id] of index.namingWords.get(word.slice(0, FAMILY_PREFIX_CHARS)) ?? []) {
    if (candidate.length > word.length && candidate.startsWith(word) && !members.includes(id)) {
      members.push(id);
      if (members.length > MAX_CLIPPED_MEMBERS) return [];
    }
  }
  return members;
}

/** Shortest part of a compound word ("cron" of "cronjob"). */
const MIN_COMPOUND_PART_CHARS = 3;

/** A naming word's id for an exact lower-case spelling, if some operation is named by it. */
function namingId(index: SearchIndex, word: string): number | undefined {
  const id = wordId(index, word);
  return id !== undefined && index.naming[id] === 1 ? id : undefined;
}

/** The two naming words a query word runs together, at its first split that has them; [] if none. */
function compoundOf(index: SearchIndex, word: string): number[] {
  for (let at = MIN_COMPOUND_PART_CHARS; at <= word.length - MIN_COMPOUND_PART_CHARS; at++) {
    const left = namingId(index, word.slice(0, at));
    if (left === undefined) continue;
    const right = namingId(index, word.slice(at));
    if (right !== undefined) return [left, right];
  }
  return [];
}

/** Fewest humps of a CamelCase name whose initials are read as an acronym ("PersistentVolumeClaim"). */
const MIN_ACRONYM_PARTS = 3;
const acronymTables = new WeakMap<SearchIndex, Map<string, number[] | null>>();

/**
 * The words of the CamelCase name in the operations' summaries whose initials a query word is
 * ("pvc", "hpa", or a plural: "crds"); [] when none or when two names share the initials.
 */
function acronymOf(index: SearchIndex, word: string): number[] {
  if (word.length < MIN_ACRONYM_PARTS || word.length > 8) return [];
  const table = memoized(acronymTables, index, () => {
    const out = new Map<string, number[] | null>();
    for (const tool of index.tools) {
      for (const token of tool.summary.split(/[^A-Za-z]+/)) {
        const humps = token.match(WORD_PATTERN) ?? [];
        if (
          humps.length < MIN_ACRONYM_PARTS ||
          !humps.every((h) => h[0] !== undefined && h[0] >= "A" && h[0] <= "Z")
        )
          continue;
        const initials = humps.map((h) => (h[0] as string).toLowerCase()).join("");
        const ids = humps.map((h) => namingId(index, h.toLowerCase()) ?? -1);
        if (ids.includes(-1)) continue;
        const known = out.get(initials);
        if (known === undefined) out.set(initials, ids);
        else if (known !== null && known.join() !== ids.join()) out.set(initials, null);
      }
    }
    return out;
  });
  const found = table.get(word) ?? (word.endsWith("s") ? table.get(word.slice(0, -1)) : undefined);
  return found ?? [];
}

/**
 * The weighted word ids a query stands for, in query-word order: its stems, their synonyms,
 * Lancaster families and learned associates. `words` counts the distinct stems.
 */
function queryTerms(index: SearchIndex, said: readonly string[]): { terms: QueryTerm[]; words: number } {
  const surface = [...new Set(said)];
  const byId = new Map<number, QueryTerm>();
  const add = (id: number | undefined, weight: number, word: number) => {
    if (id === undefined) return;
    const existing = byId.get(id);
    if (existing === undefined || existing.weight < weight) byId.set(id, { id, weight, word });
  };
  const idsOf = surface.map((raw) => wordId(index, raw));
  idsOf.forEach((id, word) => {
    add(id, 1, word);
  });
  surface.forEach((raw, word) => {
    // Own keys only: a query word such as "constructor" must not find Object.prototype's.
    for (const synonym of (Object.hasOwn(SYNONYMS, raw) && SYNONYMS[raw]) || []) {
      add(index.ids.get(stem(synonym)), CALLER_WORDS.has(raw) ? RANKING.caller : RANKING.synonym, word);
    }
    // Only words that name operations are worth reaching: the rest are already matched as they are.
    for (const member of familyOf(index, raw)) add(member, RANKING.family, word);
    // A clipped word ("promo", "config") reaches the naming words it begins.
    const own = idsOf[word];
    if (raw.length >= MIN_CLIPPED_CHARS && (own === undefined || index.naming[own] !== 1)) {
      for (const member of clippedOf(index, raw)) add(member, RANKING.clipped, word);
      // Two naming words run together ("cronjob", "daemonset").
      for (const part of compoundOf(index, raw)) add(part, 1, word);
    }
    // Initials of a kind the spec names in CamelCase ("HPA", "CRDs").
    if (own === undefined || index.naming[own] !== 1) {
      for (const part of acronymOf(index, raw)) add(part, 1, word);
    }
    // A word that names no operation ("branch" in GitHub, where branches are refs) reaches
    // the naming words it keeps company with.
    // General verbs (synonyms, intents) are handled above and keep company with everything.
    const id = Object.hasOwn(SYNONYMS, raw) || Object.hasOwn(INTENTS, raw) ? undefined : idsOf[word];
    if (id !== undefined && index.naming[id] !== 1) {
      for (const [associate, strength] of index.associations.get(id) ?? []) {
        add(associate, RANKING.learned * strength, word);
      }
    }
  });
  const terms = [...byId.values()].sort((a, b) => a.word - b.word);
  // Distinct stems: a word the index holds by its id (words of one stem share it), any other by its stem.
  return { terms, words: new Set(surface.map((raw, k) => idsOf[k] ?? stem(raw))).size };
}

/** Kubernetes' operationId suffix for the cluster-wide variant of a namespaced list or watch. Linear. */
const ALL_NAMESPACES = /ForAllNamespaces$/;
/** Words that, with "namespaces", ask across all of them ("in all namespaces", "every namespace"). */
const EVERY = new Set(["all", "every", "each", "across", "any"]);

/** Whether a query asks across namespaces: "cluster", "cluster-wide", or "all/every/across … namespaces". */
function asksAcrossNamespaces(query: string): boolean {
  const plain = query.toLowerCase().match(/[a-z]+/g) ?? [];
  let every = false;
  let namespaces = false;
  for (let i = 0; i < plain.length; i++) {
    const word = plain[i] as string;
    if (word === "cluster") return true;
    if (EVERY.has(word)) every = true;
    if (word === "namespaces" || word === "namespace") namespaces = true;
  }
  return every && namespaces;
}

/**
 * The words whose intent counts. A query that starts with a verb ("report a check run") means
 * that verb: a later word that is also a verb ("check") is a noun or a subordinate clause.
 */
function intentWords(query: string, said: readonly string[]): readonly string[] {
  // A question asks to read, whatever verb follows ("has this refund gone through").
  const opening = query.match(WORD_PATTERN)?.[0]?.toLowerCase();
  if (opening !== undefined && QUESTION_WORDS.has(opening)) return ["get"];
  const first = said[0];
  return first !== undefined && Object.hasOwn(INTENTS, first) ? [first] : said;
}

/** Words a question starts with. */
const QUESTION_WORDS = new Set(
  "is are was were has have had does did do can could will when why where how who whom whose what which".split(
    " ",
  ),
);

/** How much of a name or summary the query's words explain. */
function share(covered: number | undefined, words: Set<number>): number {
  return words.size === 0 ? 0 : (covered ?? 0) / words.size;
}

interface Scored {
  tool: IndexedTool;
  score: number;
  /** Index order, which breaks ties. */
  order: number;
}

/** Ranked search over an index (BM25F over weighted fields, with the expansions above). */
export function searchIndex(
  index: SearchIndex,
  options: SearchOptions,
): { hits: SearchHit[]; matched: number } {
  const limit = Math.min(MAX_SEARCH_LIMIT, Math.max(1, options.limit ?? DEFAULT_SEARCH_LIMIT));
  const tag = options.tag?.trim().toLowerCase();
  const query = options.query ?? "";
  // The query's words, read once: terms, intent and "no words at all" all start from them.
  const said = queryWords(query);
  const { terms, words: wordCount } = queryTerms(index, said);
  const acrossNamespaces = asksAcrossNamespaces(query);
  // Method → how much the query's verbs ask for it: fully for a verb's first method, less for its others.
  const intended = new Map<HttpMethod, number>();
  for (const word of intentWords(query, said))
    ((Object.hasOwn(INTENTS, word) && INTENTS[word]) || []).forEach((method, rank) => {
      const boost = rank === 0 ? RANKING.intent : 1 + (RANKING.intent - 1) * RANKING.secondaryIntent;
      intended.set(method, Math.max(intended.get(method) ?? 1, boost));
    });
  const keep = (tool: IndexedTool) =>
    (tag === undefined || tag === "" || tool.recipe.tags.some((t) => t.toLowerCase() === tag)) &&
    (options.visible === undefined || options.visible(tool.recipe.name));
  // The best `limit` hits, best first (ties in index order), kept as they come: a common word
  // reaches most of a big API, and sorting all of it was most of a query's time.
  const scored: Scored[] = [];
  let matched = 0;
  const offer = (tool: IndexedTool, score: number, order: number) => {
    matched++;
    if (scored.length === limit) {
      const worst = scored[limit - 1] as Scored;
      if (score < worst.score || (score === worst.score && order > worst.order)) return;
      scored.pop();
    }
    let at = scored.length;
    while (at > 0) {
      const before = scored[at - 1] as Scored;
      if (before.score > score || (before.score === score && before.order < order)) break;
      at--;
    }
    scored.splice(at, 0, { tool, score, order });
  };
  if (said.length === 0) {
    index.tools.forEach((tool, order) => {
      if (keep(tool)) offer(tool, 0, order);
    });
  } else {
    // Only the tools that hold a query term are touched (postings), word by word.
    const n = index.tools.length;
    const scores = new Float64Array(n);
    const acted = new Uint8Array(n);
    const coveredName = new Uint16Array(n);
    const coveredTitle = new Uint16Array(n);
    const wordsMatched = new Uint16Array(n);
    const lastWord = new Int32Array(n).fill(-1);
    const touched: number[] = [];
    for (const { id, weight, word } of terms) {
      const tools = index.postingTools[id] as number[];
      const frequencies = index.postingFrequencies[id] as number[];
      // A naming word's rarity is its rarity among names and summaries: "version" names one
      // Kubernetes operation but sits in every one's `apiVersion` argument.
      const named = index.namingCount[id] as number;
      const df =
        index.naming[id] === 1 ? named + RANKING.mentionShare * (tools.length - named) : tools.length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let k = 0; k < tools.length; k++) {
        const i = tools[k] as number;
        const tf = (frequencies[k] as number) / FREQUENCY_SCALE;
        if (scores[i] === 0) touched.push(i);
        scores[i] = (scores[i] as number) + weight * idf * ((tf * (RANKING.k1 + 1)) / (tf + RANKING.k1));
        if (lastWord[i] !== word) {
          lastWord[i] = word;
          wordsMatched[i] = (wordsMatched[i] as number) + 1;
        }
        const tool = index.tools[i] as IndexedTool;
        if (weight >= RANKING.synonym && tool.actions.includes(id)) acted[i] = 1;
        if (weight === 1) {
          if (tool.nameWords.has(id)) coveredName[i] = (coveredName[i] as number) + 1;
          if (tool.titleWords.has(id)) coveredTitle[i] = (coveredTitle[i] as number) + 1;
        }
      }
      // Resource postings have their own IDF (a resource's words recur across all of its operations).
      const resourceTools = index.resourceTools[id] as number[];
      const resourceFrequencies = index.resourceFrequencies[id] as number[];
      const resourceIdf = Math.log(1 + (n - resourceTools.length + 0.5) / (resourceTools.length + 0.5));
      for (let k = 0; k < resourceTools.length; k++) {
        const i = resourceTools[k] as number;
        const tf = (resourceFrequencies[k] as number) / FREQUENCY_SCALE;
        if (scores[i] === 0) touched.push(i);
        scores[i] =
          (scores[i] as number) + weight * resourceIdf * ((tf * (RANKING.k1 + 1)) / (tf + RANKING.k1));
      }
    }
    for (let t = 0; t < touched.length; t++) {
      const i = touched[t] as number;
      const tool = index.tools[i] as IndexedTool;
      if (!keep(tool)) continue;
      let score = scores[i] as number;
      score *=
        1 +
        RANKING.coverage *
          Math.max(share(coveredName[i], tool.nameWords), share(coveredTitle[i], tool.titleWords));
      if ((wordsMatched[i] as number) >= wordCount) score *= RANKING.allTerms;
      if (acted[i] === 1) score *= RANKING.action;
      score *= 1 + RANKING.section * tool.section;
      if (tool.method !== undefined) score *= intended.get(tool.method) ?? 1;
      if (tool.recipe.deprecated) score *= RANKING.deprecated;
      if (tool.allNamespaces) score *= acrossNamespaces ? RANKING.allNamespaces : 1 / RANKING.allNamespaces;
      offer(tool, score, i);
    }
  }
  const hits = scored.map(({ tool, score }): SearchHit => {
    const via = explain(index, tool, terms);
    return {
      name: tool.recipe.name,
      ...httpFields(tool.recipe),
      summary: tool.summary,
      tags: tool.recipe.tags,
      ...(tool.recipe.deprecated ? { deprecated: true as const } : {}),
      ...(via === undefined ? {} : { via }),
      score: Math.round(score * 100) / 100,
    };
  });
  return { hits, matched };
}

/**
 * The argument (and value) through which a query word reached `tool`, when some query word
 * is in none of its name, summary, tags, path or method. A value beats a bare argument name;
 * the query's own words beat their expansions.
 */
function explain(index: SearchIndex, tool: IndexedTool, terms: QueryTerm[]): SearchVia | undefined {
  const reached = new Set<number>();
  tool.prominent ??= prominentWords(index, tool);
  for (const { id, word } of terms) if (tool.prominent.has(id)) reached.add(word);
  if (terms.every(({ word }) => reached.has(word))) return undefined;
  tool.arguments ??= argumentWords(index, tool.recipe);
  let best: { via: SearchVia; rank: number } | undefined;
  for (const { id, weight, word } of terms) {
    if (reached.has(word)) continue;
    const value = tool.arguments.values.get(id);
    const param = value === undefined ? tool.arguments.params.get(id) : undefined;
    if (value === undefined && param === undefined) continue;
    const rank = (value === undefined ? 0 : 2) + weight;
    if (best === undefined || rank > best.rank) {
      best = { via: value === undefined ? { param: param as string } : { ...value }, rank };
    }
  }
  if (best !== undefined) return best.via;
  // No argument explains it: a property of what the operation acts on may, when the query names
  // all of that property's own name ("suspend" → `spec.suspend`, not "pods" → `spec.podCIDR`).
  tool.properties ??= propertyWords(index, tool.recipe);
  const asked = new Set<number>();
  for (const { id, word } of terms) if (!reached.has(word)) asked.add(id);
  for (const [path, ids] of tool.properties) {
    if (ids.every((id) => asked.has(id))) return { property: path };
  }
  return undefined;
}

/** The properties of the tool's resource, each with the word ids of its own name (`suspend` of `spec.suspend`). */
function propertyWords(index: SearchIndex, recipe: ToolDefinition): Array<[path: string, ids: number[]]> {
  const out: Array<[string, number[]]> = [];
  const at = recipe.resource;
  for (const { path } of resourceProperties(typeof at === "number" ? index.resources[at] : undefined)) {
    const ids = wordIds(index, path.slice(path.lastIndexOf(".") + 1));
    if (ids.length > 0) out.push([path, ids]);
  }
  return out;
}

/** The words of a tool's name, summary, tags, path and method (the index's prominent fields). */
function prominentWords(index: SearchIndex, tool: IndexedTool): Set<number> {
  const recipe = tool.recipe;
  const http = httpOperation(recipe);
  const text = [
    recipe.name,
    recipe.operationId ?? "",
    tool.summary,
    recipe.tags.join(" "),
    http === undefined ? "" : `${http.path.replace(/\{[^{}]*\}/g, " ")} ${METHOD_WORDS[http.method]}`,
  ].join(" ");
  return new Set(wordIds(index, text));
}

/** Which argument (and value) each of a tool's argument words comes from; the first one wins. */
function argumentWords(
  index: SearchIndex,
  recipe: ToolDefinition,
): { values: Map<number, ValueSource>; params: Map<number, string> } {
  const values = new Map<number, ValueSource>();
  const params = new Map<number, string>();
  const idsOf = (text: string) => wordIds(index, text);
  for (const { key, values: found } of argumentsOf(recipe)) {
    // Only the argument's own name: a word of its description is too loose to say "set this".
    for (const id of idsOf(key)) if (!params.has(id)) params.set(id, key);
    for (const value of found) {
      for (const id of idsOf(value)) if (!values.has(id)) values.set(id, { param: key, value });
    }
  }
  return { values, params };
}

/** `method` and `path` of an HTTP operation; nothing for tools of other kinds. */
export function httpFields(recipe: ToolDefinition): { method?: HttpMethod; path?: string } {
  const http = httpOperation(recipe);
  return http === undefined ? {} : { method: http.method, path: http.path };
}
