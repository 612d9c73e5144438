/**
 * One logger (#12): every log line of the Worker goes through src/log.ts, so each is one JSON
 * object with a `level` and an `event` from one closed list. Any other `console` use in src/
 * would write a line outside that schema.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../support/source-imports.ts";

const SRC = new URL("../../src/", import.meta.url).pathname;
const LOGGER = "log.ts";
// `console` as a word, however it is reached (`console.warn`, `console[level]`, `globalThis.console`).
const CONSOLE = /\bconsole\b/g;

describe("one logger", () => {
  it("no file in src/ but the logger touches the console", () => {
    const files = sourceFiles(SRC, new Set(["generated"]));
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) {
      const path = relative(SRC, file);
      if (path === LOGGER) continue;
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(CONSOLE)) {
        const line = text.slice(0, match.index).split("\n").length;
        offenders.push(`src/${path}:${line}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("the logger is where the console is written", () => {
    expect(readFileSync(`${SRC}${LOGGER}`, "utf8")).toMatch(CONSOLE);
  });
});
