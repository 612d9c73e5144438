/**
 * One discovery search index per bundle: the one its compiler precomputed when it carries one
 * that fits (src/mcp/search-index-format.ts), else built from the vendor's tools on the first
 * search of an isolate (an MCP vendor's tools arrive at run time).
 *
 * @module
 */
import type { VendorBundle } from "../bundle/types.ts";
import { memoized } from "../memo.ts";
import { toolsOf } from "../vendors/registry.ts";
import {
  buildSearchIndex,
  FIELD_WEIGHTS,
  type SearchHit,
  type SearchIndex,
  type SearchOptions,
  searchIndex,
} from "./discovery-search.ts";
import { parseSearchIndex } from "./search-index-format.ts";

const indexes = new WeakMap<VendorBundle, SearchIndex>();

/** The bundle's search index: precomputed when it ships one that fits its tools, else built now. */
export function bundleSearchIndex(bundle: VendorBundle): SearchIndex {
  return memoized(indexes, bundle, (b) => {
    const tools = toolsOf(b);
    return (
      (b.searchIndex === undefined ? undefined : parseSearchIndex(b.searchIndex, tools, b.resources)) ??
      buildSearchIndex(tools, FIELD_WEIGHTS, b.resources)
    );
  });
}

/** Ranked search over a vendor's operations (the tools its kind lists); indexed on the first search. */
export function searchTools(
  bundle: VendorBundle,
  options: SearchOptions,
): { hits: SearchHit[]; matched: number } {
  return searchIndex(bundleSearchIndex(bundle), options);
}
