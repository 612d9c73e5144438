/** Shared helpers for the compiler tests (not a test file). */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import type { ToolRecipe, VendorBundle } from "../../../src/bundle/types.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const COMPILE_CLI = join(REPO_ROOT, "scripts", "compile.ts");

export const vendorFixture = (name: string) => join(FIXTURES, "vendors", name);
export const invalidFixture = (name: string) => join(FIXTURES, "invalid", name);

/** A fresh temporary folder, removed when the current test ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mcp-compiler-test-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files (objects become JSON) under `root`, creating folders. */
export async function writeFiles(root: string, files: Record<string, string | object>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  }
}

export function toolNamed(bundle: VendorBundle, name: string): ToolRecipe {
  const tool = bundle.tools.find((t) => t.name === name || t.operationId === name);
  if (!tool) throw new Error(`no tool ${name} in ${bundle.tools.map((t) => t.name).join(", ")}`);
  return tool;
}

/** A minimal valid OpenAPI 3.0 document with the given paths. */
export function openapi(paths: object, extra: object = {}): object {
  return { openapi: "3.0.3", info: { title: "Test", version: "1.0" }, paths, ...extra };
}

export const OK_RESPONSE = { "200": { description: "ok" } };
