/**
 * One logger (#12): every log line of the Worker goes through src/log.ts, so each is one JSON
 * object with a `level` and an `event` from one closed list. Any other `console` use in src/
 * would write a line outside that schema. And the README's "Logs" table lists exactly those
 * events with their levels.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { LOG_LEVELS } from "../../src/log.ts";
import { sourceFiles } from "../support/source-imports.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SRC = join(ROOT, "src");
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
    expect(readFileSync(join(SRC, LOGGER), "utf8")).toMatch(CONSOLE);
  });

  it("the README's Logs table lists every event with its level, and nothing else", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("\n### Logs\n");
    expect(start).toBeGreaterThanOrEqual(0);
    const end = readme.indexOf("\n#", start + 1);
    const rows = readme
      .slice(start, end === -1 ? undefined : end)
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => line.split("|").map((cell) => cell.trim()));
    const documented = Object.fromEntries(
      rows.map(([, event = "", level]) => [event.replaceAll("`", ""), level]),
    );
    expect(documented).toEqual(LOG_LEVELS);
    expect(rows).toHaveLength(Object.keys(LOG_LEVELS).length);
  });
});
