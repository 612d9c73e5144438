/**
 * The search evaluation's task set (scripts/bench/search-eval/, #15) is sound: enough tasks per
 * API, every expected operationId exists in the bundle our compiler makes of that API's real
 * spec, no task twice, and dev.ts / holdout.ts are exactly the split split.ts defines. The fresh
 * held-out part (fresh.ts, outside the split) has 40 tasks per API, repeats none of the others, and
 * expects only ids of its API's bundle. So does the second fresh part (fresh2.ts, #15), which also
 * repeats nothing of fresh.ts. And the third (fresh3.ts, #15), which repeats nothing of the four others.
 */
import { describe, expect, it } from "vitest";
import { DEV_CASES } from "../../scripts/bench/search-eval/dev.ts";
import type { EvalCase } from "../../scripts/bench/search-eval/evaluate.ts";
import { evaluate } from "../../scripts/bench/search-eval/evaluate.ts";
import { FRESH_CASES } from "../../scripts/bench/search-eval/fresh.ts";
import { FRESH2_CASES } from "../../scripts/bench/search-eval/fresh2.ts";
import { FRESH3_CASES } from "../../scripts/bench/search-eval/fresh3.ts";
import { HOLDOUT_CASES } from "../../scripts/bench/search-eval/holdout.ts";
import { EVAL_APIS, evalBundle } from "../../scripts/bench/search-eval/specs.ts";
import { splitCases } from "../../scripts/bench/search-eval/split.ts";

const ALL: readonly EvalCase[] = [...DEV_CASES, ...HOLDOUT_CASES];
/** Every task of every part, fresh.ts, fresh2.ts and fresh3.ts included (the sizes and the split concern ALL only). */
const EVERY: readonly EvalCase[] = [...ALL, ...FRESH_CASES, ...FRESH2_CASES, ...FRESH3_CASES];
const key = (c: EvalCase) => `${c.api}\u0000${c.task}`;

describe("search evaluation set", () => {
  it("has at least 150 tasks, at least 50 per API", () => {
    expect(ALL.length).toBeGreaterThanOrEqual(150);
    for (const api of EVAL_APIS)
      expect(ALL.filter((c) => c.api === api).length, api).toBeGreaterThanOrEqual(50);
  });

  it("has no task twice across dev, holdout, fresh, fresh2 and fresh3 (case and spacing ignored) and no empty expectation", () => {
    const seen = new Map<string, EvalCase>();
    for (const c of EVERY) {
      const normal = c.task.toLowerCase().replace(/\s+/g, " ").trim();
      expect(seen.get(normal), `"${c.task}" is listed twice`).toBeUndefined();
      seen.set(normal, c);
      expect(c.expect.length, c.task).toBeGreaterThan(0);
      expect(new Set(c.expect).size, `${c.task}: an id repeats`).toBe(c.expect.length);
    }
  });

  it("dev.ts and holdout.ts are the split of split.ts: two thirds and one third per API", () => {
    const { dev, holdout } = splitCases(ALL);
    expect(new Set(DEV_CASES.map(key))).toEqual(new Set(dev.map(key)));
    expect(new Set(HOLDOUT_CASES.map(key))).toEqual(new Set(holdout.map(key)));
    for (const api of EVAL_APIS) {
      const n = ALL.filter((c) => c.api === api).length;
      expect(HOLDOUT_CASES.filter((c) => c.api === api).length, api).toBe(Math.floor(n / 3));
      expect(DEV_CASES.filter((c) => c.api === api).length, api).toBe(n - Math.floor(n / 3));
    }
  });

  it("fresh.ts has 40 tasks per API and none of them in the split", () => {
    for (const api of EVAL_APIS) expect(FRESH_CASES.filter((c) => c.api === api).length, api).toBe(40);
    expect(FRESH_CASES.length).toBe(40 * EVAL_APIS.length);
    const { dev, holdout } = splitCases(ALL);
    const split = new Set([...dev, ...holdout].map(key));
    expect(FRESH_CASES.filter((c) => split.has(key(c))).map((c) => c.task)).toEqual([]);
  });

  // #15: the second fresh held-out part.
  it("fresh2.ts has 40 tasks per API, each with an expectation", () => {
    for (const api of EVAL_APIS) expect(FRESH2_CASES.filter((c) => c.api === api).length, api).toBe(40);
    expect(FRESH2_CASES.length).toBe(40 * EVAL_APIS.length);
    expect(FRESH2_CASES.filter((c) => c.expect.length === 0).map((c) => c.task)).toEqual([]);
  });

  // #15: the third fresh held-out part.
  it("fresh3.ts has 40 tasks per API, each with an expectation", () => {
    for (const api of EVAL_APIS) expect(FRESH3_CASES.filter((c) => c.api === api).length, api).toBe(40);
    expect(FRESH3_CASES.length).toBe(40 * EVAL_APIS.length);
    expect(FRESH3_CASES.filter((c) => c.expect.length === 0).map((c) => c.task)).toEqual([]);
  });

  it("expects only operationIds that exist in the compiled bundle of the task's API", async () => {
    for (const api of EVAL_APIS) {
      const bundle = await evalBundle(api);
      // Each real spec compiles to hundreds of operations (a broken load would leave few).
      expect(bundle.tools.length, api).toBeGreaterThan(500);
      const ids = new Set(bundle.tools.map((tool) => tool.operationId));
      const unknown = EVERY.filter((c) => c.api === api).flatMap((c) =>
        c.expect.filter((id) => !ids.has(id)).map((id) => `${c.task} → ${id}`),
      );
      expect(unknown, api).toEqual([]);
    }
  }, 120_000);

  it("scores ranks: top-1, top-3 and MRR per API, misses with the rank found", async () => {
    const cases: EvalCase[] = [
      { api: "github", task: "a", expect: ["x"] },
      { api: "github", task: "b", expect: ["y", "x"] },
      { api: "stripe", task: "c", expect: ["z"] },
    ];
    const ranked: Record<string, string[]> = { a: ["x", "y"], b: ["q", "r", "x"], c: ["q"] };
    const result = await evaluate(cases, (_api, query) => ranked[query] ?? []);
    expect(result.github).toMatchObject({ cases: 2, top1: 1, top3: 2, mrr: (1 + 1 / 3) / 2 });
    expect(result.github?.misses).toEqual([{ task: "b", expect: ["y", "x"], rank: 3, got: ["q", "r", "x"] }]);
    expect(result.stripe).toMatchObject({ cases: 1, top1: 0, top3: 0, mrr: 0 });
    expect(result.all).toMatchObject({ cases: 3, top1: 1, top3: 2 });
    expect(result.kubernetes).toBeUndefined();
  });
});
