/**
 * Every package the code imports is declared in package.json (#11 item 14: `miniflare` was
 * imported by the scripts but not declared, so it resolved only as wrangler's dependency).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SPECIFIER, sourceFiles } from "../support/source-imports.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const FOLDERS = ["src", "scripts", "test", "demo"];
const SKIP_DIRS = new Set(["node_modules", "generated", "fixtures", ".wrangler"]);
// What npm accepts as a package name (optionally scoped), then an optional subpath.
const PACKAGE_SPECIFIER = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*(?:\/[^\s]*)?$/;

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for other kinds. */
function packageOf(specifier: string): string | undefined {
  if (!PACKAGE_SPECIFIER.test(specifier)) return undefined; // relative, node:, cloudflare:, #imports, text

  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

describe("declared imports", () => {
  it("every imported package is a dependency or devDependency", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.devDependencies ?? {}),
    ]);
    const files = [
      ...FOLDERS.flatMap((folder) => sourceFiles(join(ROOT, folder), SKIP_DIRS)),
      join(ROOT, "vitest.config.ts"),
    ];
    expect(files.length).toBeGreaterThan(100);
    const undeclared = new Map<string, string>();
    for (const file of files) {
      for (const match of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
        const pkg = packageOf(match[1] ?? "");
        if (pkg !== undefined && !declared.has(pkg) && !undeclared.has(pkg)) {
          undeclared.set(pkg, file.slice(ROOT.length));
        }
      }
    }
    expect(Object.fromEntries(undeclared)).toEqual({});
  });
});
