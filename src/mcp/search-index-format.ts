/**
 * Precomputed discovery search indexes: the compiler builds a vendor's index
 * (src/mcp/discovery-search.ts) in Node and ships it in the bundle's `searchIndex`, so the
 * Worker's first search reads it instead of reading every tool's texts (GitHub: ~100 ms of a
 * fresh isolate's CPU, mostly unoptimised code and stemming, down to a JSON parse and a check).
 *
 * Format version {@link SEARCH_INDEX_FORMAT}: a JSON object, kept as a string inside the bundle
 * so that parsing the bundle (every `tools/list` of a fresh isolate) skips it. Word ids are the
 * build's; lists of words are space-separated strings (stems and tool names have no spaces).
 *
 * | key | value |
 * | --- | --- |
 * | `format` | {@link SEARCH_INDEX_FORMAT} |
 * | `engine` | the engine's `SEARCH_INDEX_ENGINE` (weights, limits, word lists) it was built with |
 * | `tools` | the tool names, in the order of the bundle's tools |
 * | `words` | the stems, by word id |
 * | `postings`, `frequencies` | by word id: the tools it occurs in (ascending; each after the first as the gap from the one before) and its BM25F frequency in each |
 * | `resourcePostings`, `resourceFrequencies` | the same for the resource fields (what an operation acts on; scored apart) |
 * | `nameWords`, `titleWords`, `actions` | by tool: word ids of its name and summary (for coverage), and its action words |
 * | `naming` | ids of the words some operation's name or summary holds |
 * | `namingCounts` | for each of those, in the same order, how many operations' names or summaries hold it |
 * | `surfaceWords`, `surfaceIds` | every word read, lower-cased as spelled, in the order read, and its id (for Lancaster families and explanations) |
 * | `namingFamilies` | the Lancaster family of each of those words that is a naming word, in the same order |
 * | `associations` | learned vocabulary: `[word, associate, strength, associate, strength, …]` |
 *
 * The Worker takes an index only when it was built by the same engine from the same tools
 * (names, in order) and every id in it is in range; anything else (another version, another
 * engine, a corrupt or hostile string) is refused and the index is built at run time, as for a
 * bundle without one. Checks are plain loops, not valibot: a schema walk over GitHub's ~80,000
 * numbers would cost what the precomputed index saves.
 *
 * @module
 */
import type { ToolDefinition, ToolResource } from "../bundle/types.ts";
import { isRecord } from "../is-record.ts";
import {
  addNamingWord,
  assignSections,
  buildSearchIndex,
  FIELD_WEIGHTS,
  family,
  type IndexedTool,
  indexedTool,
  namingBuckets,
  SEARCH_INDEX_ENGINE,
  type SearchIndex,
  summaryOf,
} from "./discovery-search.ts";

/** Version of the serialized index; bumped when its layout changes (an older one is refused). */
export const SEARCH_INDEX_FORMAT = 1;

/** Largest BM25F frequency a posting may hold (the build stores them as 32-bit integers). */
const MAX_FREQUENCY = 2 ** 31 - 1;

interface SerializedSearchIndex {
  format: typeof SEARCH_INDEX_FORMAT;
  engine: string;
  tools: string;
  words: string;
  postings: number[][];
  frequencies: number[][];
  resourcePostings: number[][];
  resourceFrequencies: number[][];
  nameWords: number[][];
  titleWords: number[][];
  actions: number[][];
  naming: number[];
  namingCounts: number[];
  surfaceWords: string;
  surfaceIds: number[];
  namingFamilies: string;
  associations: number[][];
}

/** A word or name a space-separated list can carry. */
const listable = (text: string) => text !== "" && !text.includes(" ");

/**
 * The serialized search index of `tools` (what the compiler ships), or undefined when a tool
 * name cannot be listed (empty, or with a space): such a bundle is indexed at run time.
 */
export function serializeSearchIndex(
  tools: readonly ToolDefinition[],
  resources: readonly ToolResource[] = [],
): string | undefined {
  if (!tools.every((tool) => listable(tool.name))) return undefined;
  const index = buildSearchIndex(tools, FIELD_WEIGHTS, resources);
  const naming: number[] = [];
  const namingCounts: number[] = [];
  index.naming.forEach((flag, id) => {
    if (flag === 1) {
      naming.push(id);
      namingCounts.push(index.namingCount[id] as number);
    }
  });
  const gaps = (lists: number[][]) =>
    lists.map((tools) => tools.map((tool, k) => (k === 0 ? tool : tool - (tools[k - 1] as number))));
  const associations: number[][] = [];
  for (const [id, kept] of index.associations) associations.push([id, ...kept.flat()]);
  const serialized: SerializedSearchIndex = {
    format: SEARCH_INDEX_FORMAT,
    engine: SEARCH_INDEX_ENGINE,
    tools: tools.map((tool) => tool.name).join(" "),
    words: [...index.ids.keys()].join(" "),
    postings: gaps(index.postingTools),
    frequencies: index.postingFrequencies,
    resourcePostings: gaps(index.resourceTools),
    resourceFrequencies: index.resourceFrequencies,
    nameWords: index.tools.map((tool) => [...tool.nameWords]),
    titleWords: index.tools.map((tool) => [...tool.titleWords]),
    actions: index.tools.map((tool) => tool.actions),
    naming,
    namingCounts,
    surfaceWords: [...index.surface.keys()].join(" "),
    surfaceIds: [...index.surface.values()],
    // Worked out here so that a query word's family is found without stemming the vendor's words.
    namingFamilies: [...index.surface]
      .filter(([, id]) => index.naming[id] === 1)
      .map(([word]) => family(word))
      .join(" "),
    associations,
  };
  return JSON.stringify(serialized);
}

/** Space-separated list → its items ([] for ""). */
const items = (list: string) => (list === "" ? [] : list.split(" "));

/** Whether `value` is an array of integers in [0, bound). */
function isIdList(value: unknown, bound: number): value is number[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const id = value[i];
    if (!Number.isInteger(id) || id < 0 || id >= bound) return false;
  }
  return true;
}

/** Whether `value` is an array of `length` id lists (see {@link isIdList}). */
function isIdLists(value: unknown, length: number, bound: number): value is number[][] {
  if (!Array.isArray(value) || value.length !== length) return false;
  for (let i = 0; i < length; i++) if (!isIdList(value[i], bound)) return false;
  return true;
}

/**
 * Gap-coded postings (`words` lists) → ascending tool ids in [0, tools), decoded in place (the
 * arrays are the parse's own); false when any list is not that.
 */
function decodePostings(value: unknown, words: number, tools: number): value is number[][] {
  if (!Array.isArray(value) || value.length !== words) return false;
  for (let w = 0; w < words; w++) {
    const list = value[w];
    if (!Array.isArray(list)) return false;
    let tool = -1;
    for (let k = 0; k < list.length; k++) {
      const gap = list[k];
      if (!Number.isInteger(gap) || gap < (k === 0 ? 0 : 1)) return false;
      tool = k === 0 ? gap : tool + gap;
      if (tool >= tools) return false;
      list[k] = tool;
    }
  }
  return true;
}

function isFrequencies(value: unknown, postings: number[][]): value is number[][] {
  if (!Array.isArray(value) || value.length !== postings.length) return false;
  for (let w = 0; w < value.length; w++) {
    const list = value[w];
    if (!Array.isArray(list) || list.length !== (postings[w] as number[]).length) return false;
    for (let k = 0; k < list.length; k++) {
      const f = list[k];
      if (!Number.isInteger(f) || f < 0 || f > MAX_FREQUENCY) return false;
    }
  }
  return true;
}

function associationsOf(value: unknown, vocabulary: number): SearchIndex["associations"] | undefined {
  if (!Array.isArray(value)) return undefined;
  const associations: SearchIndex["associations"] = new Map();
  for (const row of value) {
    if (!Array.isArray(row) || row.length < 3 || row.length % 2 !== 1) return undefined;
    const id = row[0];
    if (!Number.isInteger(id) || id < 0 || id >= vocabulary || associations.has(id)) return undefined;
    const kept: Array<[number, number]> = [];
    for (let k = 1; k < row.length; k += 2) {
      const associate = row[k];
      const strength = row[k + 1];
      if (!Number.isInteger(associate) || associate < 0 || associate >= vocabulary) return undefined;
      if (typeof strength !== "number" || !(strength > 0 && strength <= 1)) return undefined;
      kept.push([associate, strength]);
    }
    associations.set(id, kept);
  }
  return associations;
}

/**
 * The index a bundle ships, when it was built by this engine from exactly `tools`; undefined
 * when it is absent, of another format or engine, for other tools, or malformed in any way.
 */
export function parseSearchIndex(
  text: unknown,
  tools: readonly ToolDefinition[],
  resources: readonly ToolResource[] = [],
): SearchIndex | undefined {
  if (typeof text !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (
    !isRecord(parsed) ||
    parsed["format"] !== SEARCH_INDEX_FORMAT ||
    parsed["engine"] !== SEARCH_INDEX_ENGINE
  ) {
    return undefined;
  }
  const { tools: names, words, postings, frequencies, nameWords, titleWords, actions } = parsed;
  const { naming, namingCounts, surfaceWords, surfaceIds, namingFamilies, associations } = parsed;
  const { resourcePostings, resourceFrequencies } = parsed;
  if (
    typeof names !== "string" ||
    typeof words !== "string" ||
    typeof surfaceWords !== "string" ||
    typeof namingFamilies !== "string"
  ) {
    return undefined;
  }
  const toolNames = items(names);
  if (toolNames.length !== tools.length) return undefined;
  for (let i = 0; i < tools.length; i++)
    if ((tools[i] as ToolDefinition).name !== toolNames[i]) return undefined;
  const vocabulary = items(words);
  const ids = new Map<string, number>();
  for (let id = 0; id < vocabulary.length; id++) ids.set(vocabulary[id] as string, id);
  if (ids.size !== vocabulary.length || ids.has("")) return undefined;
  const n = tools.length;
  const v = vocabulary.length;
  if (
    !decodePostings(postings, v, n) ||
    !isFrequencies(frequencies, postings) ||
    !decodePostings(resourcePostings, v, n) ||
    !isFrequencies(resourceFrequencies, resourcePostings) ||
    !isIdLists(nameWords, n, v) ||
    !isIdLists(titleWords, n, v) ||
    !isIdLists(actions, n, v) ||
    !isIdList(naming, v)
  ) {
    return undefined;
  }
  const spelled = items(surfaceWords);
  if (!isIdList(surfaceIds, v) || surfaceIds.length !== spelled.length) return undefined;
  const surface = new Map<string, number>();
  for (let k = 0; k < spelled.length; k++) surface.set(spelled[k] as string, surfaceIds[k] as number);
  if (surface.size !== spelled.length || surface.has("")) return undefined;
  const learned = associationsOf(associations, v);
  if (learned === undefined) return undefined;
  if (!Array.isArray(namingCounts) || namingCounts.length !== naming.length) return undefined;
  const flags = new Uint8Array(v);
  const counts = new Uint32Array(v);
  for (let k = 0; k < naming.length; k++) {
    const count = namingCounts[k];
    if (!Number.isInteger(count) || count < 0 || count > n) return undefined;
    flags[naming[k] as number] = 1;
    counts[naming[k] as number] = count;
  }
  const families = items(namingFamilies);
  const buckets = namingBuckets();
  let f = 0;
  for (const [word, id] of surface) {
    if (flags[id] !== 1) continue;
    const known = families[f++];
    if (known === undefined || known === "") return undefined;
    addNamingWord(buckets, word, id, known);
  }
  if (f !== families.length) return undefined;
  const indexed: IndexedTool[] = [];
  for (let i = 0; i < n; i++) {
    const recipe = tools[i] as ToolDefinition;
    indexed.push(
      indexedTool(
        recipe,
        summaryOf(recipe),
        actions[i] as number[],
        nameWords[i] as number[],
        titleWords[i] as number[],
      ),
    );
  }
  assignSections(indexed);
  return {
    tools: indexed,
    ids,
    postingTools: postings,
    postingFrequencies: frequencies,
    resourceTools: resourcePostings,
    resourceFrequencies,
    namingWords: buckets,
    families: new Map(),
    associations: learned,
    naming: flags,
    namingCount: counts,
    resources,
    surface,
  };
}
