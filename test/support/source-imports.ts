/**
 * What the repository's source files import, for the tests that police it
 * (test/scripts/declared-imports.test.ts, test/scripts/layers.test.ts).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** `from`, `import`, `import(` or `require(` and one quoted specifier; no nesting, so linear. */
export const SPECIFIER = /(?:\bfrom|\bimport|\brequire)\s*\(?\s*["']([^"'\n]+)["']/g;

/** Every `.ts`/`.mts`/`.js`/`.mjs` file under `dir`, skipping the folders named in `skipDirs`. */
export function sourceFiles(dir: string, skipDirs: ReadonlySet<string> = new Set()): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skipDirs.has(entry.name) ? [] : sourceFiles(path, skipDirs);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}
