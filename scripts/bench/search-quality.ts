/**
 * Bench section `search` (#15): the discovery search engine scored on the evaluation set of
 * scripts/bench/search-eval (GitHub, Stripe, Kubernetes): top-1, top-3 and MRR per API, for the
 * development part and for each later part ({@link LATER_PARTS}), plus each API's index build
 * time in Node. (Build and query times inside workerd, for GitHub, are in the big-api section.)
 *
 * The later parts are imported by name at run time, so their tasks stay out of every tuning
 * build. While tuning the engine, never look at their numbers: `SEARCH_EVAL_HOLDOUT=0 npm run bench
 * -- --only search` scores the development part only. A part written to judge a coming round is
 * listed with an `optIn` variable and scored only when that is 1, so that no ordinary bench run
 * scores it by accident (none is pending: fresh3.ts was scored at the end of session 8).
 *
 * @module
 */
import { performance } from "node:perf_hooks";
import type { ApiScore, EvalResult } from "./search-eval/evaluate.ts";
import { type EvalPart, LATER_PARTS, laterPartCases } from "./search-eval/parts.ts";
import type { EvalApi } from "./search-eval/specs.ts";

/** One API's scores (or all together) without the misses: what the bench report prints. */
export type SearchEvalRow = Omit<ApiScore, "misses"> & { api: EvalApi | "all" };

export interface SearchQualityResult {
  parts: Array<{ part: EvalPart; rows: SearchEvalRow[] }>;
  /** Why the parts after dev were not scored (SEARCH_EVAL_HOLDOUT=0). */
  holdoutSkipped?: string;
  /** First index build of the process, per API, in Node (the engine's code still cold, as in a fresh isolate). */
  indexBuildMs: Partial<Record<EvalApi, number>>;
  operations: Partial<Record<EvalApi, number>>;
}

export interface SearchQualityOptions {
  log: (line: string) => void;
  /** Score the parts after dev too (default: unless SEARCH_EVAL_HOLDOUT=0; an opt-in part only when its variable is 1). */
  holdout?: boolean;
}

function rows(result: EvalResult, apis: readonly EvalApi[]): SearchEvalRow[] {
  const out: SearchEvalRow[] = [];
  for (const api of [...apis, "all"] as const) {
    const s = result[api];
    if (s === undefined) continue;
    out.push({
      api,
      cases: s.cases,
      top1: s.top1,
      top3: s.top3,
      top1Rate: s.top1Rate,
      top3Rate: s.top3Rate,
      mrr: s.mrr,
    });
  }
  return out;
}

export async function runSearchQuality(opts: SearchQualityOptions): Promise<SearchQualityResult> {
  const { log } = opts;
  const { engineSearch, evaluate } = await import("./search-eval/evaluate.ts");
  const { EVAL_APIS, evalBundles } = await import("./search-eval/specs.ts");
  log("search: compiling GitHub, Stripe and Kubernetes (cached after the first run)…");
  const bundles = await evalBundles();
  // engineSearch makes the engine importable in Node; its first use builds each index.
  const search = await engineSearch(bundles);
  const { buildSearchIndex, FIELD_WEIGHTS } = await import("../../src/mcp/discovery-search.ts");
  const indexBuildMs: SearchQualityResult["indexBuildMs"] = {};
  const operations: SearchQualityResult["operations"] = {};
  for (const api of EVAL_APIS) {
    const started = performance.now();
    buildSearchIndex(bundles[api].tools, FIELD_WEIGHTS, bundles[api].resources);
    indexBuildMs[api] = performance.now() - started;
    operations[api] = bundles[api].tools.length;
  }
  const parts: SearchQualityResult["parts"] = [];
  const { DEV_CASES } = await import("./search-eval/dev.ts");
  parts.push({ part: "dev", rows: rows(await evaluate(DEV_CASES, search), EVAL_APIS) });
  const holdout = opts.holdout ?? process.env["SEARCH_EVAL_HOLDOUT"] !== "0";
  for (const later of LATER_PARTS) {
    // An opt-in part is scored when asked for, whatever SEARCH_EVAL_HOLDOUT says.
    const wanted = later.optIn !== undefined ? process.env[later.optIn] === "1" : holdout;
    if (!wanted) continue;
    parts.push({
      part: later.part,
      rows: rows(await evaluate(await laterPartCases(later), search), EVAL_APIS),
    });
  }
  for (const part of parts) {
    const all = part.rows.find((r) => r.api === "all");
    if (all)
      log(
        `  search ${part.part}: top-1 ${(all.top1Rate * 100).toFixed(1)}%, top-3 ${(all.top3Rate * 100).toFixed(1)}%`,
      );
  }
  return {
    parts,
    ...(holdout ? {} : { holdoutSkipped: "SEARCH_EVAL_HOLDOUT=0" }),
    indexBuildMs,
    operations,
  };
}
