/**
 * Bench section `search` (#15): the discovery search engine scored on the evaluation set of
 * scripts/bench/search-eval (GitHub, Stripe, Kubernetes): top-1, top-3 and MRR per API, for the
 * development part and for the two held-out parts (holdout.ts, then fresh.ts, written blind in
 * session 8), plus each API's index build time in Node.
 * (Build and query times inside workerd, for GitHub, are in the big-api section.)
 *
 * The held-out parts are imported by name at run time. While tuning the engine, never look at their
 * numbers: `SEARCH_EVAL_HOLDOUT=0 npm run bench -- --only search` scores the development part only.
 *
 * A third held-out part, fresh2.ts (#15, written blind in session 8 after fresh.ts was scored, to
 * judge the next engine round), is off by default: it is scored, as a fourth part "fresh2", only
 * when `SEARCH_EVAL_FRESH2=1` is set (whatever SEARCH_EVAL_HOLDOUT says), so ordinary bench runs
 * never score it by accident.
 *
 * Likewise fresh3.ts (#15, written blind in session 8 after fresh2.ts was scored): part "fresh3",
 * scored only when `SEARCH_EVAL_FRESH3=1` is set.
 *
 * @module
 */
import { performance } from "node:perf_hooks";
import type { ApiScore, EvalCase, EvalResult } from "./search-eval/evaluate.ts";
import type { EvalApi } from "./search-eval/specs.ts";

/** Imported by name, not statically: the held-out tasks stay out of every tuning build. */
const HOLDOUT_MODULE = "./search-eval/holdout.ts";
/** The fresh held-out part (#15, session 8): imported by name like the first, scored once at the end. */
const FRESH_MODULE = "./search-eval/fresh.ts";
/** #15: the second fresh held-out part, imported by name and scored only with SEARCH_EVAL_FRESH2=1. */
const FRESH2_MODULE = "./search-eval/fresh2.ts";
/** #15: the third fresh held-out part, imported by name and scored only with SEARCH_EVAL_FRESH3=1. */
const FRESH3_MODULE = "./search-eval/fresh3.ts";

/** One API's scores (or all together) without the misses: what the bench report prints. */
export type SearchEvalRow = Omit<ApiScore, "misses"> & { api: EvalApi | "all" };

export interface SearchQualityResult {
  parts: Array<{ part: "dev" | "holdout" | "fresh" | "fresh2" | "fresh3"; rows: SearchEvalRow[] }>;
  /** Why the held-out parts (holdout and fresh) were not scored (SEARCH_EVAL_HOLDOUT=0). */
  holdoutSkipped?: string;
  /** First index build of the process, per API, in Node (the engine's code still cold, as in a fresh isolate). */
  indexBuildMs: Partial<Record<EvalApi, number>>;
  operations: Partial<Record<EvalApi, number>>;
}

export interface SearchQualityOptions {
  log: (line: string) => void;
  /** Score both held-out parts too (default: unless SEARCH_EVAL_HOLDOUT=0). */
  holdout?: boolean;
  /** #15: score fresh2.ts as well (default: only when SEARCH_EVAL_FRESH2=1). */
  fresh2?: boolean;
  /** #15: score fresh3.ts as well (default: only when SEARCH_EVAL_FRESH3=1). */
  fresh3?: boolean;
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
  if (holdout) {
    const { HOLDOUT_CASES } = (await import(HOLDOUT_MODULE)) as { HOLDOUT_CASES: EvalCase[] };
    parts.push({ part: "holdout", rows: rows(await evaluate(HOLDOUT_CASES, search), EVAL_APIS) });
    const { FRESH_CASES } = (await import(FRESH_MODULE)) as { FRESH_CASES: EvalCase[] };
    parts.push({ part: "fresh", rows: rows(await evaluate(FRESH_CASES, search), EVAL_APIS) });
  }
  // #15: the second fresh held-out part, only on explicit request.
  if (opts.fresh2 ?? process.env["SEARCH_EVAL_FRESH2"] === "1") {
    const { FRESH2_CASES } = (await import(FRESH2_MODULE)) as { FRESH2_CASES: EvalCase[] };
    parts.push({ part: "fresh2", rows: rows(await evaluate(FRESH2_CASES, search), EVAL_APIS) });
  }
  // #15: the third fresh held-out part, only on explicit request.
  if (opts.fresh3 ?? process.env["SEARCH_EVAL_FRESH3"] === "1") {
    const { FRESH3_CASES } = (await import(FRESH3_MODULE)) as { FRESH3_CASES: EvalCase[] };
    parts.push({ part: "fresh3", rows: rows(await evaluate(FRESH3_CASES, search), EVAL_APIS) });
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
