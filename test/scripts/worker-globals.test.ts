/**
 * src/ is the Worker and type-checks without Node types (#12): src/tsconfig.json gives it the
 * Workers runtime types only, and `npm run typecheck` checks it with that config, so a `node:`
 * import or a `NodeJS.*` type there fails the type-check. The Workers types themselves declare
 * `Buffer`, `process`, `global`, `setImmediate` and `clearImmediate` (as `any`, for
 * `nodejs_compat`), which no type-check can catch; this test keeps them out of src/.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../support/source-imports.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SRC = join(ROOT, "src");
/** Node globals the Workers types let through, each used as a value (so prose like "process the request" passes). */
const NODE_GLOBALS =
  /\b(?:Buffer\b|process\s*[.[]|global\s*[.[]|setImmediate\b|clearImmediate\b|__dirname\b|__filename\b)/g;

/** A tsconfig (JSON with `//` comment lines). */
function readTsconfig(path: string): { compilerOptions?: { types?: string[] }; include?: string[] } {
  const text = readFileSync(join(ROOT, path), "utf8");
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
}

describe("src/ is a Worker, not a Node program", () => {
  it("src/tsconfig.json gives src/ the Workers types only, and the type-check runs it", () => {
    const worker = readTsconfig("src/tsconfig.json");
    expect(worker.compilerOptions?.types).toEqual(["@cloudflare/workers-types"]);
    expect(worker.include).toEqual(["."]);
    const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
    expect(scripts.typecheck).toMatch(/\btsc --noEmit -p src\b/);
    expect(scripts.test).toContain("npm run typecheck");
  });

  it("no file in src/ uses a Node global", () => {
    const files = sourceFiles(SRC, new Set(["generated"]));
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(NODE_GLOBALS)) {
        const line = text.slice(0, match.index).split("\n").length;
        offenders.push(`src/${relative(SRC, file)}:${line}: ${match[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
