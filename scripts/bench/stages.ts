/**
 * Where a tool call's CPU goes, stage by stage: the gateway is built several more times,
 * each build answering `tools/call` at an earlier point of its pipeline with the bytes the
 * full gateway answers ("stage builds"). Neighbouring rows differ by one stage, so their
 * difference is what that stage costs in the real runtime, with everything before it.
 *
 * A stage build hooks in by module, never by source text: in a copy of `src/`, the module
 * a seam names (`upstream/send.ts`, …) is replaced by one that exports the seam's names
 * from the bench's substitute in scripts/bench/seams/ and everything else from the real
 * module (renamed `*.real.ts` beside it). The substitutes are type-checked against the real
 * exports (`satisfies typeof real.sendUpstream`), so a changed signature fails `tsc` and a
 * renamed local inside `src/` changes nothing. The first row is a bench-only Worker entry.
 * test/scripts/bench-stages.test.ts checks the seams against `src/` on each `npm test`.
 * The repository is never modified.
 */
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedAnswer } from "./seams/recorded.ts";

export type { RecordedAnswer };

/** The bench's substitute modules. */
export const SEAMS_DIR = join(import.meta.dirname, "seams");

/** One module of `src/` whose named exports a stage build replaces. */
export interface Seam {
  /** Path under src/. */
  module: string;
  /** The exports replaced; the module's other exports stay the real ones. */
  names: readonly string[];
}

/** The substitute of `seam`'s names: scripts/bench/seams/ and the module's path, `/` as `-` (`upstream-send.ts`). */
export function substitutePath(seam: Seam): string {
  return join(SEAMS_DIR, seam.module.replaceAll("/", "-"));
}

export interface StageBuild {
  id: string;
  /** Row label: what this build does before it answers, beyond the row above. */
  step: string;
  /** A bench-only Worker entry under scripts/bench/seams/ instead of src/worker.ts. */
  entry?: string;
  /** The module replaced in the copy of src/. */
  seam?: Seam;
}

/** The stage builds, first stage first; the uncut gateway is the last row. */
export const STAGE_BUILDS: readonly StageBuild[] = [
  {
    id: "entry",
    step: "bench entry: read the POST body, answer the recorded bytes",
    entry: "entry.ts",
  },
  {
    id: "app",
    step: "+ Worker entry: configuration check, auth layer hand-off (client auth off) [createApp → one route]",
    seam: { module: "app.ts", names: ["createApp"] },
  },
  {
    id: "endpoint",
    step: "+ the app: request id, CORS, caller seam, routing [mcpEndpoint → recorded bytes]",
    seam: { module: "mcp/endpoint.ts", names: ["mcpEndpoint"] },
  },
  {
    id: "call-tool",
    step: "+ MCP transport checks, JSON-RPC parse, dispatch, tool lookup, result serialization [callTool → recorded result]",
    seam: { module: "mcp/call-tool.ts", names: ["callTool"] },
  },
  {
    id: "executor",
    step: "+ the tool executor without the upstream: settings, deadline, credentials, argument validation, request under the base URL, upstream auth; response reading (size limit, charset), validation (warn), sanitization [resilientFetch → recorded upstream response]",
    seam: { module: "resilience/retry.ts", names: ["resilientFetch"] },
  },
  {
    id: "resilient",
    step: "+ the resilient send: guard admission (isolate lease), retry loop, attempt timeout, outcome report [sendUpstream → recorded upstream response]",
    seam: { module: "upstream/send.ts", names: ["sendUpstream"] },
  },
];

/** How a "without" row's step starts in the breakdown (the report prices it against the uncut row). */
export const WITHOUT_PREFIX = "without: ";

/**
 * The whole gateway without one part each, measured after the uncut gateway: the uncut row minus
 * such a row is what that part costs per call (the report's "without" rows).
 */
export const WITHOUT_BUILDS: readonly StageBuild[] = [
  {
    id: "no-metrics",
    step: "the metrics write: one VENDOR_METRICS RPC per call in waitUntil and its SQLite upserts [recordCallSample → nothing]",
    seam: { module: "ops/metrics.ts", names: ["recordCallSample"] },
  },
];

/** The last row: what the uncut gateway adds to the last stage build. */
export const FULL_GATEWAY_STEP =
  "+ the upstream round trip: fetch with the redirect rule, body read from the socket (the whole gateway)";

/** The build's `define`: the recorded answer the seams replay (scripts/bench/seams/recorded.ts). */
export function stageDefine(answer: RecordedAnswer): Record<string, string> {
  return { BENCH_RECORDED: JSON.stringify(JSON.stringify(answer)) };
}

/** `module`'s path once renamed beside its replacement: `upstream/send.ts` → `upstream/send.real.ts`. */
export function realModulePath(module: string): string {
  return module.replace(/\.ts$/, ".real.ts");
}

/** The module put in a seam's place: the substitute's names, and the real module's other exports. */
export function seamModuleSource(seam: Seam): string {
  const real = `./${realModulePath(seam.module).split("/").pop()}`;
  const substitute = substitutePath(seam);
  return [
    `// Bench stage build: ${seam.names.join(", ")} from ${substitute}, the rest as in src/.`,
    `export * from ${JSON.stringify(real)};`,
    `export { ${seam.names.join(", ")} } from ${JSON.stringify(substitute)};`,
    "",
  ].join("\n");
}

/**
 * The Worker entry of `stage`: its bench entry, or `src/worker.ts` of a copy of `src/` under
 * `workDir` with the seam's module replaced. `node_modules` is linked beside the copy so the
 * build resolves packages as in the repo. Throws when the seam's module is not in `src/`.
 */
export function writeStageSource(root: string, workDir: string, stage: StageBuild): string {
  if (stage.entry !== undefined) return join(SEAMS_DIR, stage.entry);
  const seam = stage.seam;
  if (seam === undefined) throw new Error(`bench stage "${stage.id}" has neither an entry nor a seam`);
  if (!existsSync(join(root, "src", seam.module))) {
    throw new Error(
      `bench stage "${stage.id}": src/${seam.module} does not exist; update scripts/bench/stages.ts`,
    );
  }
  mkdirSync(workDir, { recursive: true });
  const modules = join(workDir, "..", "node_modules");
  if (!existsSync(modules)) symlinkSync(join(root, "node_modules"), modules, "dir");
  const srcCopy = join(workDir, "src");
  rmSync(srcCopy, { recursive: true, force: true });
  cpSync(join(root, "src"), srcCopy, { recursive: true });
  renameSync(join(srcCopy, seam.module), join(srcCopy, realModulePath(seam.module)));
  writeFileSync(join(srcCopy, seam.module), seamModuleSource(seam));
  return join(srcCopy, "worker.ts");
}
