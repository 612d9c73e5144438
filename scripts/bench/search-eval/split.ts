/**
 * The deterministic split of the evaluation tasks (#15): within each API, tasks are ordered by
 * the FNV-1a hash of their text (ties by text) and every third one (positions 2, 5, 8, …) is
 * held out, the rest is the development part. Stratified per API, independent of the order the
 * tasks were written in, and reproducible: test/scripts/search-eval.test.ts checks that
 * dev.ts and holdout.ts are exactly this split of their union.
 *
 * @module
 */
import type { EvalCase } from "./evaluate.ts";
import { EVAL_APIS } from "./specs.ts";

/** FNV-1a, 32 bits, over the UTF-16 code units of the text. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function splitCases(cases: readonly EvalCase[]): { dev: EvalCase[]; holdout: EvalCase[] } {
  const dev: EvalCase[] = [];
  const holdout: EvalCase[] = [];
  for (const api of EVAL_APIS) {
    const ordered = cases
      .filter((c) => c.api === api)
      .map((c) => ({ c, h: fnv1a(c.task) }))
      .sort((a, b) => a.h - b.h || (a.c.task < b.c.task ? -1 : a.c.task > b.c.task ? 1 : 0));
    ordered.forEach(({ c }, i) => {
      (i % 3 === 2 ? holdout : dev).push(c);
    });
  }
  return { dev, holdout };
}
