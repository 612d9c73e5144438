/**
 * The README's "Errors" section names every tool failure code (`error` of an `isError` result),
 * and only those: clients and models key on them, so a new code must be documented with it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TOOL_ERROR_CODES } from "../../src/tool-error.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("tool failure codes", () => {
  it("the README lists exactly the codes of src/tool-error.ts", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const sentence = /`error` is one of: ([^(]+)\(`ToolErrorCode`/.exec(readme)?.[1] ?? "";
    const documented = [...sentence.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(documented).toEqual([...TOOL_ERROR_CODES]);
  });
});
