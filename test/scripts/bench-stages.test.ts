/**
 * The bench's stage cuts (scripts/bench/stages.ts) insert an early answer at anchors in a
 * copy of src/. This keeps them in step with the source: every anchor occurs exactly once,
 * and the inserted code lands where the cut says.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyCut, type RecordedAnswer, STAGE_CUTS } from "../../scripts/bench/stages.ts";

const root = join(import.meta.dirname, "..", "..");
const answer: RecordedAnswer = { responseText: '{"result":{}}', result: { content: [] } };

describe("bench stage cuts", () => {
  it.each(STAGE_CUTS.map((cut) => [cut.id, cut] as const))("%s: its anchor occurs once in src/", (_, cut) => {
    const source = readFileSync(join(root, "src", cut.file), "utf8");
    const cutSource = applyCut(source, cut, answer);
    const inserted = cut.code(answer);
    const at = cutSource.indexOf(inserted);
    expect(at).toBeGreaterThan(0);
    const anchorAt = cutSource.indexOf(cut.anchor);
    // The early answer sits right before or right after its anchor.
    if (cut.before) expect(anchorAt).toBe(at + inserted.length + 1);
    else expect(at).toBe(anchorAt + cut.anchor.length + 1);
  });

  it("refuses an anchor that is missing or ambiguous", () => {
    const cut = { ...STAGE_CUTS[0]!, anchor: "x();" };
    expect(() => applyCut("y();", cut, answer)).toThrow(/exactly once/);
    expect(() => applyCut("x();\nx();", cut, answer)).toThrow(/exactly once/);
  });
});
