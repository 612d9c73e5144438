/**
 * The bench's stage builds (scripts/bench/stages.ts) replace whole exports of named modules
 * of src/ by substitutes in scripts/bench/seams/. `tsc` checks each substitute's type
 * against the real export; this checks what `tsc` cannot: that each module still exists and
 * exports the names at run time, that the substitutes export them, and that each stage
 * bundles (esbuild, as wrangler does) with the substitute in and no second copy of src/.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  type RecordedAnswer,
  realModulePath,
  STAGE_BUILDS,
  stageDefine,
  substitutePath,
  WITHOUT_BUILDS,
  writeStageSource,
} from "../../scripts/bench/stages.ts";

const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "bench-stages-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const answer: RecordedAnswer = {
  responseText: '{"result":{"content":[]},"jsonrpc":"2.0","id":1}',
  result: { content: [] },
  upstream: { status: 200, headers: [["content-type", "application/json"]], body: "{}" },
};

/** What a module exports at run time (types erased), as esbuild sees it. */
async function runtimeExports(file: string): Promise<string[]> {
  const result = await build({
    entryPoints: [file],
    bundle: false,
    write: false,
    format: "esm",
    metafile: true,
    logLevel: "silent",
  });
  return Object.values(result.metafile.outputs)[0]!.exports;
}

/** Bundles a stage's Worker entry like wrangler does (workerd conditions, `#bundles` aliased to an empty registry). */
async function bundle(entry: string): Promise<Metafile> {
  const registry = join(work, "bundles.ts");
  writeFileSync(registry, "export const BUNDLES = [];\n");
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    outdir: join(work, "out"),
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    alias: { "#bundles": registry },
    define: stageDefine(answer),
    metafile: true,
    absWorkingDir: root,
    logLevel: "silent",
  });
  return result.metafile;
}

/** The files whose code made it into the bundle, as absolute paths. */
function bundledFiles(metafile: Metafile): string[] {
  const output = Object.values(metafile.outputs)[0]!;
  return Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => resolve(root, path));
}

// The stage builds and the whole-gateway-without builds (#14's metrics write) hook in the same way.
const ALL_BUILDS = [...STAGE_BUILDS, ...WITHOUT_BUILDS];
const seamed = ALL_BUILDS.flatMap((stage) => (stage.seam ? [[stage.id, stage.seam] as const] : []));

describe("bench stage builds", () => {
  it.each(seamed)(
    "%s: the module exists and exports the replaced names, as does its substitute",
    async (_, seam) => {
      const real = join(root, "src", seam.module);
      expect(existsSync(real)).toBe(true);
      expect(await runtimeExports(real)).toEqual(expect.arrayContaining([...seam.names]));
      expect(await runtimeExports(substitutePath(seam))).toEqual(expect.arrayContaining([...seam.names]));
    },
  );

  it.each(seamed)(
    "%s: the build bundles the substitute, and nothing of src/ but its copy",
    async (id, seam) => {
      const stage = ALL_BUILDS.find((s) => s.id === id)!;
      const workDir = join(work, "stages", id);
      const entry = writeStageSource(root, workDir, stage);
      const files = bundledFiles(await bundle(entry));
      expect(files).toContain(substitutePath(seam));
      const copy = join(workDir, "src");
      expect(existsSync(join(copy, realModulePath(seam.module)))).toBe(true);
      const fromSrc = files.filter((f) => !relative(join(root, "src"), f).startsWith(".."));
      expect(fromSrc).toEqual([]);
      // The gateway itself is in: the stage answers from inside it.
      expect(files).toContain(join(copy, "worker.ts"));
    },
  );

  it("the bench entry exports every class src/worker.ts exports, so the same bindings start", async () => {
    const stage = STAGE_BUILDS.find((s) => s.entry !== undefined)!;
    const entry = writeStageSource(root, join(work, "stages", stage.id), stage);
    const metafile = await bundle(entry);
    const exported = Object.values(metafile.outputs)[0]!.exports;
    expect(exported).toEqual(expect.arrayContaining(await runtimeExports(join(root, "src", "worker.ts"))));
  });

  it("refuses a seam whose module is gone", () => {
    const stage = {
      id: "gone",
      step: "",
      seam: { module: "nowhere.ts", names: ["x"] },
    };
    expect(() => writeStageSource(root, join(work, "gone"), stage)).toThrow(/does not exist/);
  });
});
