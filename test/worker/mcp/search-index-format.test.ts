/**
 * Precomputed discovery search indexes (src/mcp/search-index-format.ts): the index the compiler
 * ships ranks exactly as one built at run time, the Worker uses it, and anything it cannot
 * trust is refused so the index is built at run time instead.
 */
import { describe, expect, it } from "vitest";
import { getBundle } from "../../../src/bundle/registry.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { searchTools } from "../../../src/mcp/discovery-index.ts";
import { buildSearchIndex, searchIndex } from "../../../src/mcp/discovery-search.ts";
import {
  parseSearchIndex,
  SEARCH_INDEX_FORMAT,
  serializeSearchIndex,
} from "../../../src/mcp/search-index-format.ts";
import { fixture } from "./discovery-helpers.ts";

/** Queries that reach the engine's every path: stems, synonyms, families, learned words, arguments, values, tags. */
const QUERIES = [
  "create issue",
  "add a comment to an issue",
  "remove a label",
  "who am I: the authenticated user",
  "fork a repo",
  "closed issues",
  "contributors",
  "lock conversation",
  "issue",
  "",
];

type Serialized = Record<string, unknown> & {
  postings: number[][];
  frequencies: number[][];
  resourcePostings: number[][];
  namingCounts: number[];
};

function serialized(bundle: VendorBundle): Serialized {
  const text = serializeSearchIndex(bundle.tools, bundle.resources);
  if (text === undefined) throw new Error("fixture tools cannot be serialized");
  return JSON.parse(text) as Serialized;
}

describe("precomputed search index", () => {
  it("is shipped by the compiler for a vendor in discovery mode, and accepted by the Worker", () => {
    const bundle = fixture();
    expect(bundle.searchIndex).toEqual(expect.any(String));
    expect(parseSearchIndex(bundle.searchIndex, bundle.tools)).toBeDefined();
    // A vendor in tools mode is never searched: its bundle carries no index.
    const toolsMode = getBundle("up-params");
    expect(toolsMode?.tools.length).toBeGreaterThan(0);
    expect(toolsMode?.searchIndex).toBeUndefined();
    // Nor does an upstream MCP server's, in discovery mode too: its tools may change at run time.
    const mcp = getBundle("mcp-search");
    expect(mcp?.kind).toBe("mcp");
    expect(mcp?.toolMode).toBe("discovery");
    expect(mcp?.searchIndex).toBeUndefined();
  });

  it("ranks every query exactly as an index built at run time", () => {
    const bundle = fixture();
    const built = buildSearchIndex(bundle.tools);
    const loaded = parseSearchIndex(serializeSearchIndex(bundle.tools), bundle.tools);
    expect(loaded).toBeDefined();
    for (const query of QUERIES) {
      for (const tag of [undefined, "issues"]) {
        const options = { query, limit: 50, ...(tag === undefined ? {} : { tag }) };
        expect(searchIndex(loaded!, options), `${query} ${tag}`).toEqual(searchIndex(built, options));
      }
    }
  });

  it("is what the search tool uses when the bundle ships one", () => {
    const bundle = fixture();
    const query = "create issue";
    const first = searchTools(bundle, { query, limit: 1 }).hits[0]?.name;
    expect(first).toBe("createIssue");
    // A doctored (but well-formed) index in which the query's best hit holds no word at all.
    const doctored = serialized(bundle);
    const dropped = bundle.tools.findIndex((tool) => tool.name === first);
    doctored.postings.forEach((gaps, w) => {
      const frequencies = doctored.frequencies[w] as number[];
      let tool = 0;
      const kept = gaps
        .map((gap, k) => {
          tool = k === 0 ? gap : tool + gap;
          return [tool, frequencies[k] as number] as const;
        })
        .filter(([t]) => t !== dropped);
      doctored.postings[w] = kept.map(([t], k) =>
        k === 0 ? t : t - (kept[k - 1] as readonly [number, number])[0],
      );
      doctored.frequencies[w] = kept.map(([, f]) => f);
    });
    const hits = searchTools({ ...bundle, searchIndex: JSON.stringify(doctored) }, { query, limit: 50 }).hits;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.map((hit) => hit.name)).not.toContain(first);
  });

  it("is refused when it is not this engine's index of these tools, and the search builds its own", () => {
    const bundle = fixture();
    const good = serialized(bundle);
    const variants: Array<[string, unknown]> = [
      ["not a string", good],
      ["not JSON", "{"],
      ["JSON null", "null"],
      ["an array", "[]"],
      ["another format", { ...good, format: SEARCH_INDEX_FORMAT + 1 }],
      ["another engine", { ...good, engine: "[0]" }],
      [
        "other tools",
        {
          ...good,
          tools: bundle.tools
            .map((t) => t.name)
            .reverse()
            .join(" "),
        },
      ],
      [
        "fewer tools",
        {
          ...good,
          tools: bundle.tools
            .slice(1)
            .map((t) => t.name)
            .join(" "),
        },
      ],
      ["a duplicate word", { ...good, words: `${good["words"]} ${String(good["words"]).split(" ")[0]}` }],
      [
        "a posting past the last tool",
        { ...good, postings: good.postings.map((p, w) => (w === 0 ? [bundle.tools.length] : p)) },
      ],
      [
        "a posting that is not a gap",
        { ...good, postings: good.postings.map((p) => (p.length > 1 ? [p[0], 0, ...p.slice(2)] : p)) },
      ],
      ["a fractional posting", { ...good, postings: good.postings.map((p, w) => (w === 0 ? [0.5] : p)) }],
      [
        "frequencies of another length",
        { ...good, frequencies: good.frequencies.map((f, w) => (w === 0 ? [...f, 1] : f)) },
      ],
      [
        "a negative frequency",
        { ...good, frequencies: good.frequencies.map((f, w) => (w === 0 ? f.map(() => -1) : f)) },
      ],
      ["postings for fewer words", { ...good, postings: good.postings.slice(1) }],
      [
        "a name word past the vocabulary",
        { ...good, nameWords: (good["nameWords"] as number[][]).map((n, i) => (i === 0 ? [1e9] : n)) },
      ],
      ["actions that are not lists", { ...good, actions: "1 2 3" }],
      ["a naming id that is a string", { ...good, naming: ["0"] }],
      ["words without their ids", { ...good, surfaceIds: [] }],
      ["naming words without their families", { ...good, namingFamilies: "" }],
      ["a naming word too many families", { ...good, namingFamilies: `${good.namingFamilies} extra` }],
      [
        "a word spelled twice",
        {
          ...good,
          surfaceWords: `${good.surfaceWords} ${String(good.surfaceWords).split(" ")[0]}`,
          surfaceIds: [...(good.surfaceIds as number[]), 0],
        },
      ],
      ["an association stronger than 1", { ...good, associations: [[0, 1, 2]] }],
      ["an association with no strength", { ...good, associations: [[0, 1]] }],
      ["an association of an unknown word", { ...good, associations: [[-1, 1, 0.5]] }],
      ["a missing field", { ...good, associations: undefined }],
      ["resource postings for fewer words", { ...good, resourcePostings: good.resourcePostings.slice(1) }],
      ["a naming count per naming word missing", { ...good, namingCounts: good.namingCounts.slice(1) }],
      ["a naming count above the tools", { ...good, namingCounts: good.namingCounts.map(() => 1e9) }],
      ["a prototype key", `{"__proto__":${JSON.stringify(good)}}`],
    ];
    const query = "add a comment to an issue";
    const expected = searchTools({ ...bundle, searchIndex: undefined }, { query, limit: 10 });
    expect(expected.hits.length).toBeGreaterThan(0);
    for (const [why, value] of variants) {
      const text = typeof value === "string" || why === "not a string" ? value : JSON.stringify(value);
      expect(parseSearchIndex(text, bundle.tools), why).toBeUndefined();
      if (typeof text !== "string") continue;
      // The search tool still answers, from an index built at run time.
      expect(searchTools({ ...bundle, searchIndex: text }, { query, limit: 10 }), why).toEqual(expected);
    }
  });

  it("is not made for tools a space-separated list cannot name", () => {
    const bundle = fixture();
    const tools = bundle.tools.map((tool, i) => (i === 0 ? { ...tool, name: "two words" } : tool));
    expect(serializeSearchIndex(tools)).toBeUndefined();
  });
});
