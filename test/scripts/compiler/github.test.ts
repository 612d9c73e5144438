import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect, it } from "vitest";
import { compileVendor } from "../../../scripts/compiler/index.ts";
import { TOOL_NAME_MAX_CHARS } from "../../../scripts/compiler/naming.ts";
import { renderBundleModule } from "../../../scripts/compiler/output.ts";
import { REPO_ROOT, tempDir, writeFiles } from "./helpers.ts";

const GITHUB_SPEC = join(
  REPO_ROOT,
  "node_modules",
  "@octokit",
  "openapi",
  "generated",
  "api.github.com.json",
);

it("compiles GitHub's REST spec (13 MB, 1,100+ operations) deterministically", async () => {
  const dir = join(await tempDir(), "github");
  await writeFiles(dir, { "vendor.json": {} });
  await symlink(GITHUB_SPEC, join(dir, "openapi.json"));

  const started = performance.now();
  const { bundle, summary } = await compileVendor(dir);
  const seconds = (performance.now() - started) / 1000;

  const module = renderBundleModule(JSON.stringify(bundle));
  const raw = Buffer.byteLength(module);
  const gzipped = gzipSync(module).length;
  console.log(
    `GitHub: ${summary.tools} tools from ${summary.operations} operations in ${seconds.toFixed(2)} s; renamed ${summary.renamed.length} (shortened ${summary.renamed.filter((r) => r.reasons.includes("shortened")).length}), skipped ${summary.skipped.length}; bundle ${(raw / 1024 / 1024).toFixed(2)} MiB raw, ${(gzipped / 1024 / 1024).toFixed(2)} MiB gzipped; tools/list ≈ ${summary.toolsList.bytes} bytes ≈ ${summary.toolsList.tokens} tokens (bytes/4)`,
  );

  expect(summary.tools).toBeGreaterThan(1000);
  expect(summary.tools + summary.skipped.length).toBe(summary.operations);
  const names = new Set(bundle.tools.map((t) => t.name));
  expect(names.size).toBe(bundle.tools.length);
  for (const name of names) {
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(`github_${name}`.length).toBeLessThanOrEqual(TOOL_NAME_MAX_CHARS);
  }
  const upload = bundle.tools.find((t) => t.operationId === "repos/upload-release-asset");
  // Its own server is recorded, and the operator is told requests stay under the base URL.
  expect(upload?.serverUrl).toBe("https://uploads.github.com");
  expect(summary.warnings).toContainEqual({
    pointer: "/paths/~1repos~1{owner}~1{repo}~1releases~1{release_id}~1assets/post",
    message: expect.stringMatching(
      /^declares the server https:\/\/uploads\.github\.com, but every request goes under/,
    ),
  });
  expect(bundle.baseUrl).toBe("https://api.github.com");

  const again = await compileVendor(dir);
  expect(JSON.stringify(again.bundle)).toBe(JSON.stringify(bundle));
});
