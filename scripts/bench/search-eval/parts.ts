/**
 * The evaluation's parts after dev (#15), in the order they were written: where each one's tasks
 * are, how reports name it, and which part is still waiting to judge a round (README.md beside
 * this file says how each was written and used). Their modules are imported by name, only when
 * a part is asked for, so their tasks stay out of every tuning build.
 *
 * @module
 */
import type { EvalCase } from "./evaluate.ts";

/** One part of the evaluation after dev. */
export interface LaterPart {
  part: "holdout" | "fresh" | "fresh2" | "fresh3";
  /** The module holding its tasks, and the name they are exported under. */
  module: string;
  cases: string;
  /** How the report's target rows name it. */
  label: string;
  /** Set for a part written to judge a coming round: it is scored only when this variable is 1. */
  optIn?: string;
}

/** The parts after dev, in the order they were written (see scripts/bench/search-eval/README.md). */
export const LATER_PARTS: readonly LaterPart[] = [
  {
    part: "holdout",
    module: "./holdout.ts",
    cases: "HOLDOUT_CASES",
    label: "holdout.ts (tuned on since session 8)",
  },
  {
    part: "fresh",
    module: "./fresh.ts",
    cases: "FRESH_CASES",
    label: "fresh.ts (tuned on after its one score)",
  },
  {
    part: "fresh2",
    module: "./fresh2.ts",
    cases: "FRESH2_CASES",
    label: "fresh2.ts (judged session 8's round 2, then tuned on)",
  },
  {
    part: "fresh3",
    module: "./fresh3.ts",
    cases: "FRESH3_CASES",
    label: "fresh3.ts (held out; judged session 8's final engine)",
  },
];

export type EvalPart = "dev" | LaterPart["part"];

/** The tasks of one later part (its module imported now). */
export async function laterPartCases(later: LaterPart): Promise<EvalCase[]> {
  return ((await import(later.module)) as Record<string, EvalCase[]>)[later.cases] ?? [];
}
