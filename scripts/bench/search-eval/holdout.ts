/**
 * The held-out part of the search evaluation (#15): one third of the tasks (split.ts), kept
 * out of tuning and scored at the end. Filled in by a later commit.
 */
import type { EvalCase } from "./evaluate.ts";

export const HOLDOUT_CASES: readonly EvalCase[] = [];
