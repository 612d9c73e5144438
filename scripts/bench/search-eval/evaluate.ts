/**
 * Scores a discovery search over the evaluation tasks (#15): per API, the share of tasks whose
 * expected operation ranks first (top-1), in the first three (top-3), and the mean reciprocal
 * rank of the best-ranked expected operation within the first {@link EVAL_DEPTH} hits (MRR; a
 * task with none of them in that depth scores 0), plus every task that missed top-1.
 *
 *   node scripts/bench/search-eval/evaluate.ts [dev|holdout|all|fresh|fresh2|fresh3]   prints the table (default dev)
 *
 * `all` is dev + holdout; `fresh` (fresh.ts, the second held-out part) is scored only on its own,
 * once, at the end; so is `fresh2` (fresh2.ts, the third, written blind to judge the next round),
 * and `fresh3` (fresh3.ts, the fourth, written blind after fresh2 was scored).
 *
 * `evaluate(cases, searchFn)` takes any search; {@link engineSearch} is the project's engine
 * (`searchTools` of src/mcp/discovery-search.ts) over the compiled bundles of specs.ts, called
 * as the discovery `search` tool calls it (query only, no tag, no visibility filter).
 *
 * @module
 */
import { register } from "node:module";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { EVAL_APIS, type EvalApi, evalBundles } from "./specs.ts";

/** One task: what a person or model asks, and the operation(s) that do it. */
export interface EvalCase {
  api: EvalApi;
  task: string;
  /**
   * The spec's operationIds (`issues/update`, `PostRefunds`, `readCoreV1NamespacedPodLog`), not
   * tool names (the compiler shortens long ids into hashed names); several only when truly
   * equivalent.
   */
  expect: string[];
}

/** Hits asked of the search per task: MRR counts ranks up to here. */
export const EVAL_DEPTH = 10;

/** Ranked operationIds for a query on one API (see {@link engineSearch} for tool names → ids). */
export type SearchFn = (api: EvalApi, query: string, limit: number) => string[] | Promise<string[]>;

export interface EvalMiss {
  task: string;
  expect: string[];
  /** 1-based rank of the best expected hit, or undefined when none is within EVAL_DEPTH. */
  rank: number | undefined;
  /** The first three hits. */
  got: string[];
}

export interface ApiScore {
  cases: number;
  top1: number;
  top3: number;
  /** Shares (0–1). */
  top1Rate: number;
  top3Rate: number;
  mrr: number;
  misses: EvalMiss[];
}

export type EvalResult = Partial<Record<EvalApi, ApiScore>> & { all: ApiScore };

function score(rows: Array<{ c: EvalCase; rank: number | undefined; got: string[] }>): ApiScore {
  const top1 = rows.filter((r) => r.rank === 1).length;
  const top3 = rows.filter((r) => r.rank !== undefined && r.rank <= 3).length;
  const rr = rows.reduce((sum, r) => sum + (r.rank === undefined ? 0 : 1 / r.rank), 0);
  const n = rows.length;
  return {
    cases: n,
    top1,
    top3,
    top1Rate: n === 0 ? 0 : top1 / n,
    top3Rate: n === 0 ? 0 : top3 / n,
    mrr: n === 0 ? 0 : rr / n,
    misses: rows
      .filter((r) => r.rank !== 1)
      .map((r) => ({ task: r.c.task, expect: r.c.expect, rank: r.rank, got: r.got.slice(0, 3) })),
  };
}

/** Runs every case through `searchFn` and scores it per API and overall. */
export async function evaluate(cases: readonly EvalCase[], searchFn: SearchFn): Promise<EvalResult> {
  const rows: Array<{ c: EvalCase; rank: number | undefined; got: string[] }> = [];
  for (const c of cases) {
    const got = await searchFn(c.api, c.task, EVAL_DEPTH);
    const index = got.slice(0, EVAL_DEPTH).findIndex((name) => c.expect.includes(name));
    rows.push({ c, rank: index < 0 ? undefined : index + 1, got });
  }
  const result = { all: score(rows) } as EvalResult;
  for (const api of EVAL_APIS) {
    const mine = rows.filter((r) => r.c.api === api);
    if (mine.length > 0) result[api] = score(mine);
  }
  return result;
}

/**
 * The engine's modules import `cloudflare:workers` (Durable Object classes beside the code
 * search needs); plain Node has no such module, so it resolves to a stub here. Search itself
 * touches none of it.
 */
let shimmed = false;
function shimCloudflareWorkers(): void {
  if (shimmed) return;
  shimmed = true;
  const stub =
    "export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } } export const env = {};";
  const hooks = `export async function resolve(specifier, context, next) {
    if (specifier === "cloudflare:workers") return { url: ${JSON.stringify(`data:text/javascript,${encodeURIComponent(stub)}`)}, shortCircuit: true };
    return next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** The current engine (src/mcp/discovery-search.ts) over the three compiled bundles. */
export async function engineSearch(bundles?: Record<EvalApi, VendorBundle>): Promise<SearchFn> {
  shimCloudflareWorkers();
  const { searchTools } = await import("../../../src/mcp/discovery-index.ts");
  const loaded = bundles ?? (await evalBundles());
  const ids = {} as Record<EvalApi, Map<string, string>>;
  for (const api of EVAL_APIS) {
    ids[api] = new Map(loaded[api].tools.map((tool) => [tool.name, tool.operationId ?? tool.name]));
  }
  return (api, query, limit) =>
    searchTools(loaded[api], { query, limit }).hits.map((hit) => ids[api].get(hit.name) ?? hit.name);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A plain-text table: one line per API and one for all. */
export function formatResult(result: EvalResult): string[] {
  const lines: string[] = [];
  for (const api of [...EVAL_APIS, "all"] as const) {
    const s = result[api];
    if (s === undefined) continue;
    lines.push(
      `${api.padEnd(10)} ${String(s.cases).padStart(3)} tasks  top-1 ${pct(s.top1Rate).padStart(6)} (${s.top1})  top-3 ${pct(s.top3Rate).padStart(6)} (${s.top3})  MRR ${s.mrr.toFixed(3)}`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? "dev";
  const { LATER_PARTS, laterPartCases } = await import("./parts.ts");
  const names = ["dev", "all", ...LATER_PARTS.map((later) => later.part)];
  if (!names.includes(which)) {
    process.stderr.write(
      `usage: node scripts/bench/search-eval/evaluate.ts [${names.join("|")}] [--misses]\n`,
    );
    process.exit(2);
  }
  const cases: EvalCase[] = [];
  if (which === "dev" || which === "all") cases.push(...(await import("./dev.ts")).DEV_CASES);
  // A later part only when asked for by name ("all" is dev and holdout, as it always was).
  for (const later of LATER_PARTS) {
    if (which === later.part || (which === "all" && later.part === "holdout")) {
      cases.push(...(await laterPartCases(later)));
    }
  }
  const result = await evaluate(cases, await engineSearch());
  for (const line of formatResult(result)) process.stdout.write(`${line}\n`);
  if (process.argv.includes("--misses")) {
    for (const api of EVAL_APIS) {
      for (const miss of result[api]?.misses ?? []) {
        process.stdout.write(
          `  ${api}: "${miss.task}" → ${miss.got.join(", ") || "nothing"} (wanted ${miss.expect.join(" | ")}, rank ${miss.rank ?? `>${EVAL_DEPTH}`})\n`,
        );
      }
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
