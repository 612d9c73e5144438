/**
 * Builds the gateway the way it deploys: compile a specs folder with the project's own
 * compiler CLI into a temporary `#bundles` registry, then `wrangler deploy --dry-run
 * --outdir` with the repository's wrangler.toml settings and `#bundles` aliased to that
 * registry. The dry run's output is the exact script Cloudflare would receive; it is what
 * the bench loads into Miniflare.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { unstable_readConfig } from "wrangler";
import type { HostConfig } from "./worker-host.ts";

const run = promisify(execFile);

export interface CompileResult {
  ms: number;
  /** The compiler's summary.json. */
  summary: unknown;
  indexPath: string;
}

/** `node scripts/compile.ts --specs <specsDir> --out <outDir>`, timed (wall clock, includes Node start). */
export async function compileSpecs(root: string, specsDir: string, outDir: string): Promise<CompileResult> {
  const started = performance.now();
  await run(process.execPath, [join(root, "scripts", "compile.ts"), "--specs", specsDir, "--out", outDir], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  return {
    ms,
    summary: JSON.parse(readFileSync(join(outDir, "summary.json"), "utf8")),
    indexPath: join(outDir, "index.ts"),
  };
}

interface WranglerSettings {
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  durableObjects: Array<{ name: string; class_name: string }>;
  kvNamespaces: Array<{ binding: string; id: string }>;
  sqliteClasses: string[];
  /** wrangler's `keep_names` and `minify` (esbuild settings of the deploy build). */
  keepNames?: boolean;
  minify?: boolean;
}

export function readWranglerSettings(root: string): WranglerSettings {
  // Only the fields the bench uses, typed here (wrangler's config types resolve loosely).
  const config = unstable_readConfig({ config: join(root, "wrangler.toml") }) as unknown as {
    vars?: Record<string, unknown>;
    compatibility_date?: string;
    compatibility_flags?: string[];
    durable_objects?: { bindings?: Array<{ name: string; class_name: string }> };
    kv_namespaces?: Array<{ binding: string; id?: string }>;
    migrations?: Array<{ new_sqlite_classes?: string[] }>;
    keep_names?: boolean;
    minify?: boolean;
  };
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.vars ?? {})) vars[key] = String(value);
  return {
    compatibilityDate: config.compatibility_date ?? "2026-10-01",
    compatibilityFlags: config.compatibility_flags ?? [],
    vars,
    durableObjects: (config.durable_objects?.bindings ?? []).map((b) => ({
      name: b.name,
      class_name: b.class_name,
    })),
    kvNamespaces: (config.kv_namespaces ?? []).map((k) => ({ binding: k.binding, id: k.id ?? k.binding })),
    sqliteClasses: (config.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []),
    // Build settings: the bench Worker is bundled exactly as `wrangler deploy` bundles it.
    ...(config.keep_names === undefined ? {} : { keepNames: config.keep_names }),
    ...(config.minify === undefined ? {} : { minify: config.minify }),
  };
}

export interface BuildResult {
  scriptPath: string;
  /** The wrangler config the build used (for `wrangler check startup`). */
  configPath: string;
  ms: number;
  /** What `wrangler deploy --dry-run` reports. */
  uploadKiB: number;
  gzipKiB: number;
  /** The size line as wrangler printed it. */
  wranglerSizeLine: string;
}

/**
 * Bundles the Worker (src/worker.ts unless `entry` says otherwise) against the registry at
 * `bundlesIndex` with `wrangler deploy --dry-run`; `define` replaces global identifiers at
 * build time (the stage builds' recorded answer).
 */
export async function buildWorker(
  root: string,
  bundlesIndex: string,
  workDir: string,
  entry = join(root, "src", "worker.ts"),
  define?: Record<string, string>,
): Promise<BuildResult> {
  const settings = readWranglerSettings(root);
  mkdirSync(workDir, { recursive: true });
  const outDir = join(workDir, "out");
  const configPath = join(workDir, "wrangler.json");
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        name: "mcp-edge-gateway-bench",
        main: entry,
        compatibility_date: settings.compatibilityDate,
        compatibility_flags: settings.compatibilityFlags,
        alias: { "#bundles": bundlesIndex },
        ...(define === undefined ? {} : { define }),
        durable_objects: { bindings: settings.durableObjects },
        migrations: [{ tag: "v1", new_sqlite_classes: settings.sqliteClasses }],
        kv_namespaces: settings.kvNamespaces,
        ...(settings.keepNames === undefined ? {} : { keep_names: settings.keepNames }),
        ...(settings.minify === undefined ? {} : { minify: settings.minify }),
      },
      null,
      2,
    ),
  );
  const started = performance.now();
  // Through this Node (22): the wrangler shim would pick whatever `node` is first on PATH.
  const { stdout, stderr } = await run(
    process.execPath,
    [
      join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      outDir,
      "--config",
      configPath,
    ],
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", CI: "true" },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const ms = performance.now() - started;
  const text = `${stdout}\n${stderr}`;
  const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(text);
  if (!match) throw new Error(`wrangler deploy --dry-run printed no size line:\n${text.slice(-2000)}`);
  return {
    // wrangler names the output after the entry file.
    scriptPath: join(outDir, basename(entry).replace(/\.[cm]?[jt]s$/, ".js")),
    configPath,
    ms,
    uploadKiB: Number(match[1]),
    gzipKiB: Number(match[2]),
    wranglerSizeLine: match[0],
  };
}

/** Miniflare settings equal to wrangler.toml's, client auth off, plus `extraVars`. */
export function gatewayHostConfig(
  root: string,
  scriptPath: string,
  extraVars: Record<string, string>,
): HostConfig {
  const settings = readWranglerSettings(root);
  const sqlite = new Set(settings.sqliteClasses);
  const durableObjects: Record<string, { className: string; useSQLite?: boolean }> = {};
  for (const binding of settings.durableObjects) {
    durableObjects[binding.name] = {
      className: binding.class_name,
      ...(sqlite.has(binding.class_name) ? { useSQLite: true } : {}),
    };
  }
  return {
    scriptPath,
    compatibilityDate: settings.compatibilityDate,
    compatibilityFlags: settings.compatibilityFlags,
    bindings: { ...settings.vars, GATEWAY_AUTH: "none", ...extraVars },
    durableObjects,
    kvNamespaces: settings.kvNamespaces.map((k) => k.binding),
  };
}

export interface StartupProfile {
  /** CPU time of the startup phase (script evaluation), as `wrangler check startup` reports it. */
  activeMs: number;
  /** The whole profiled window, idle included. */
  windowMs: number;
  profilePath: string;
}

/**
 * `wrangler check startup`: profiles the Worker's startup phase (top-level evaluation) on
 * workerd — the phase Cloudflare limits to 1 s at deploy. The Worker is built first with
 * `wrangler deploy --dry-run --outfile` (check startup's own build ignores the config's
 * `alias`, so `#bundles` would resolve to src/generated instead of the bench's registry).
 */
export async function checkStartup(
  root: string,
  configPath: string,
  profilePath: string,
): Promise<StartupProfile> {
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", CI: "true" };
  const bundlePath = `${profilePath}.worker-bundle`;
  await run(
    process.execPath,
    [wrangler, "deploy", "--dry-run", "--config", configPath, "--outfile", bundlePath],
    {
      cwd: root,
      env,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const { stdout, stderr } = await run(
    process.execPath,
    [wrangler, "check", "startup", "--worker", bundlePath, "--outfile", profilePath],
    { cwd: root, env, maxBuffer: 64 * 1024 * 1024 },
  );
  const text = `${stdout}\n${stderr}`;
  const active = /Active:\s*([\d.]+)\s*ms/.exec(text);
  const window = /Profile window:\s*([\d.]+)\s*ms/.exec(text);
  if (!active) throw new Error(`wrangler check startup printed no "Active:" line:\n${text.slice(-2000)}`);
  return { activeMs: Number(active[1]), windowMs: Number(window?.[1] ?? Number.NaN), profilePath };
}

/** A wrangler config for a plain Worker script (the bare Worker's startup profile). */
export function writePlainConfig(root: string, workDir: string, scriptPath: string): string {
  const settings = readWranglerSettings(root);
  mkdirSync(workDir, { recursive: true });
  const configPath = join(workDir, "wrangler.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      name: "bench-bare-worker",
      main: scriptPath,
      compatibility_date: settings.compatibilityDate,
      compatibility_flags: settings.compatibilityFlags,
    }),
  );
  return configPath;
}
