import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { validate } from "@readme/openapi-parser";
import { expect, it } from "vitest";
import YAML from "yaml";
import { CompilerError, checkSpec } from "../../../scripts/compiler/index.ts";
import { INTERNAL_ERROR_REASON } from "../../../scripts/compiler/operations.ts";
import { REPO_ROOT } from "./helpers.ts";

const CORPUS = join(REPO_ROOT, "node_modules", "@readme", "oas-examples");

async function corpusFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const version of ["2.0", "3.0", "3.1"]) {
    for (const name of await readdir(join(CORPUS, version), { recursive: true })) {
      if (/\.(json|ya?ml)$/.test(name)) files.push(join(CORPUS, version, name));
    }
  }
  return files.sort();
}

/** The reference validator's verdict (with repeated operationIds allowed: we rename those). */
async function referenceValid(file: string): Promise<boolean> {
  const text = await readFile(file, "utf8");
  const doc = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  const result = await validate(doc, {
    resolve: { external: false },
    validate: { rules: { openapi: { "duplicate-operation-id": "warning" } } },
  });
  return result.valid;
}

it("compiles every valid document of @readme/oas-examples and rejects invalid ones with an error list", async () => {
  const files = await corpusFiles();
  expect(files.length).toBeGreaterThanOrEqual(120);
  const compiled: string[] = [];
  const rejected: { file: string; problems: number }[] = [];
  const crashed: { file: string; error: unknown }[] = [];
  const wronglyRejected: string[] = [];
  const internalErrors: string[] = [];
  let tools = 0;
  for (const file of files) {
    const name = relative(CORPUS, file);
    try {
      const { summary } = await checkSpec(file);
      compiled.push(name);
      tools += summary.tools;
      for (const s of summary.skipped)
        if (s.reason.startsWith(INTERNAL_ERROR_REASON)) internalErrors.push(`${name}: ${s.reason}`);
    } catch (error) {
      if (!(error instanceof CompilerError)) {
        crashed.push({ file: name, error });
        continue;
      }
      const problems = "problems" in error ? (error.problems as unknown[]).length : 0;
      expect(problems, `${name}: ${error.message}`).toBeGreaterThan(0);
      expect(error.message).toMatch(/^Specification validation failed/);
      rejected.push({ file: name, problems });
      if (await referenceValid(file)) wronglyRejected.push(`${name}: ${error.message}`);
    }
  }
  console.log(
    `@readme/oas-examples: ${files.length} documents, ${compiled.length} compiled (${tools} tools), ${rejected.length} rejected as invalid${rejected.length > 0 ? ` (${rejected.map((r) => `${r.file}: ${r.problems} error(s)`).join("; ")})` : ""}, ${crashed.length} crashed`,
  );
  expect(crashed).toEqual([]);
  expect(internalErrors).toEqual([]);
  expect(wronglyRejected).toEqual([]);
  expect(compiled.length).toBeGreaterThan(rejected.length);
});
