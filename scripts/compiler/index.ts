/**
 * The spec compiler (Node only): `specs/<vendor>/` → precompiled bundles in
 * `src/generated/` (contract: `src/bundle/types.ts`).
 *
 * Pipeline per vendor: read vendor.json (valibot) → parse the spec (JSON/YAML,
 * positions kept for errors) → check version, `info`, `paths` → check and
 * bundle every `$ref` under the reference policy → validate against the
 * official schemas → convert Swagger 2.0 → build tools → hash.
 *
 * @example
 * ```ts
 * import { compileAll } from "./scripts/compiler/index.ts";
 * await compileAll({ specsDir: "specs", outDir: "src/generated" });
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { BUNDLE_FORMAT_VERSION, type VendorBundle } from "../../src/bundle/types.ts";
// The Worker's own rule, so the "set <VENDOR>_BASE_URL" hint names the variable it reads.
import { vendorEnvPrefix } from "../../src/config.ts";
import { serializeSearchIndex } from "../../src/mcp/search-index-format.ts";
import { swaggerToOpenApi } from "./convert.ts";
import { applyToolOverrides } from "./curate.ts";
import { CompilerError, type SpecProblem, SpecValidationError, VendorConfigError } from "./errors.ts";
import { dropBroken, repairSpec } from "./lenient.ts";
import { formatFromName, parseDocumentText, readTextFile } from "./load.ts";
import {
  buildMcpVendor,
  fetchMcpSnapshot,
  MCP_SNAPSHOT_FILE,
  type McpSnapshot,
  openApiSelectorIssues,
  renderSnapshot,
} from "./mcp.ts";
import { maxToolNameChars } from "./naming.ts";
import { buildTools, type CompileWarning, pickServer, type SkippedOperation } from "./operations.ts";
import {
  bundleFileName,
  renderBundleModule,
  renderIndexModule,
  renderSummaryJson,
  writeGenerated,
} from "./output.ts";
import { isObject } from "./pointer.ts";
import { resolveRefs } from "./refs.ts";
import { SchemaConverter } from "./schema.ts";
import { convertSecuritySchemes } from "./security.ts";
import { estimateToolsList, MCP_SPEC_FORMAT, servedAs, type VendorSummary } from "./summary.ts";
import { checkAgainstSchemas, checkStructure, detectVersion, MORE_ERRORS_PREFIX } from "./validate.ts";
import {
  type McpConfig,
  parseVendorConfigText,
  type VendorConfig,
  vendorNameProblem,
} from "./vendor-config.ts";

export type { SpecProblem, VendorConfigIssue } from "./errors.ts";
export { CompilerError, SpecValidationError, VendorConfigError } from "./errors.ts";
export { MCP_SNAPSHOT_FILE, type McpSnapshot } from "./mcp.ts";
export type { VendorSummary } from "./summary.ts";
export { formatSummary, TOKEN_ESTIMATE_METHOD } from "./summary.ts";
export type { VendorConfig } from "./vendor-config.ts";

/** Spec file names looked for in a vendor folder. */
export const SPEC_FILE_NAMES = ["openapi.json", "openapi.yaml", "openapi.yml"] as const;
export const VENDOR_CONFIG_FILE = "vendor.json";
/** Validate-and-drop rounds in lenient mode: each drops everything one validation reports (at most 20 errors). */
const LENIENT_MAX_PASSES = 100;

export type CompilePhase = "read" | "validate" | "resolve" | "convert" | "tools" | "done";

export interface ProgressEvent {
  vendor: string;
  phase: CompilePhase;
  /** `tools` phase: operations processed so far and in total. */
  done?: number;
  total?: number;
  /** `validate` phase: size of the spec file. */
  bytes?: number;
}

export interface CompileOptions {
  onProgress?: (event: ProgressEvent) => void;
  /** Folder paths in messages are shown relative to this (default: the current directory). */
  cwd?: string;
  /** `DISCOVERY_TOOL_THRESHOLD` the summary assumes (default: the Worker's default). */
  discoveryThreshold?: number;
}

/** Options of one vendor folder's compile inside {@link compileAll}. */
interface FolderOptions extends CompileOptions {
  /** A tool-list snapshot just fetched for this (MCP) vendor, used instead of its file. */
  freshSnapshot?: McpSnapshot;
}

export interface CompiledVendor {
  bundle: VendorBundle;
  summary: VendorSummary;
  /** The bundle as written (`JSON.stringify(bundle)`). */
  json: string;
}

function display(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

/** Compiles one vendor folder (`specs/<vendor>/`). Throws `CompilerError`s the operator can fix. */
export async function compileVendor(
  vendorDir: string,
  opts: CompileOptions = {},
): Promise<{ bundle: VendorBundle; summary: VendorSummary }> {
  const { bundle, summary } = await compileVendorFolder(vendorDir, opts);
  return { bundle, summary };
}

async function compileVendorFolder(vendorDir: string, opts: FolderOptions): Promise<CompiledVendor> {
  const cwd = opts.cwd ?? process.cwd();
  const dir = resolve(vendorDir);
  const vendor = basename(dir);
  const nameProblem = vendorNameProblem(vendor);
  if (nameProblem) throw new CompilerError("vendor_name_invalid", `${display(dir, cwd)}: ${nameProblem}`);

  const entries = new Set(await readdir(dir));
  const configPath = join(dir, VENDOR_CONFIG_FILE);
  if (!entries.has(VENDOR_CONFIG_FILE)) {
    throw new CompilerError(
      "vendor_config_missing",
      `${display(configPath, cwd)} is missing: every vendor folder needs one ({} is a valid minimal file)`,
    );
  }
  const config = parseVendorConfigText(await readTextFile(configPath), display(configPath, cwd));
  const specs = SPEC_FILE_NAMES.filter((name) => entries.has(name));
  if (config.mcp !== undefined) {
    if (specs.length > 0) {
      throw new CompilerError(
        "spec_ambiguous",
        `${display(dir, cwd)}: vendor.json has "mcp" and the folder has ${specs.join(", ")}; a vendor is either an upstream MCP server or an OpenAPI API: remove one (or make the other its own vendor folder)`,
      );
    }
    return compileMcpFolder(vendor, dir, { ...config, mcp: config.mcp }, display(configPath, cwd), cwd, opts);
  }
  if (specs.length === 0) {
    throw new CompilerError(
      "spec_missing",
      `${display(dir, cwd)}: no spec file; expected one of ${SPEC_FILE_NAMES.join(", ")}, or "mcp": { "url": … } in vendor.json for an upstream MCP server`,
    );
  }
  const selectorIssues = openApiSelectorIssues(config);
  if (selectorIssues.length > 0) throw new VendorConfigError(display(configPath, cwd), selectorIssues);
  if (specs.length > 1) {
    throw new CompilerError(
      "spec_ambiguous",
      `${display(dir, cwd)}: more than one spec file (${specs.join(", ")}); keep one`,
    );
  }
  return compileSpec({
    vendor,
    vendorDir: dir,
    specPath: join(dir, specs[0]!),
    config,
    configFile: display(configPath, cwd),
    cwd,
    discoveryThreshold: opts.discoveryThreshold,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}

async function compileMcpFolder(
  vendor: string,
  dir: string,
  config: VendorConfig & { mcp: McpConfig },
  configFile: string,
  cwd: string,
  opts: FolderOptions,
): Promise<CompiledVendor> {
  opts.onProgress?.({ vendor, phase: "read" });
  const built = await buildMcpVendor({
    vendor,
    vendorDir: dir,
    config,
    configFile,
    snapshotFile: display(join(dir, MCP_SNAPSHOT_FILE), cwd),
    ...(opts.freshSnapshot !== undefined ? { snapshot: opts.freshSnapshot } : {}),
  });
  const { bundle } = built;
  bundle.contentHash = createHash("sha256").update(JSON.stringify(bundle)).digest("hex");
  const json = JSON.stringify(bundle);
  const mcpTools = bundle.mcpTools;
  const summary: VendorSummary = {
    vendor,
    displayName: bundle.displayName,
    specFile: built.snapshot !== undefined ? MCP_SNAPSHOT_FILE : VENDOR_CONFIG_FILE,
    specFormat: MCP_SPEC_FORMAT,
    specTitle: bundle.specTitle,
    specVersion: bundle.specVersion,
    contentHash: bundle.contentHash,
    operations: built.snapshot?.tools.length ?? 0,
    tools: mcpTools?.length ?? 0,
    renamed: built.renamed,
    skipped: built.skipped,
    warnings: dedupeWarnings(built.warnings),
    externalDocuments: [],
    sharedSchemas: 0,
    toolsList: estimateToolsList(bundle),
    bundleBytes: Buffer.byteLength(json),
    served: servedAs(bundle, opts.discoveryThreshold),
    mcp: {
      url: config.mcp.url,
      tools: mcpTools?.length ?? "live",
      ...(built.snapshot !== undefined
        ? { snapshot: { file: MCP_SNAPSHOT_FILE, fetchedAt: built.snapshot.fetchedAt } }
        : {}),
    },
  };
  opts.onProgress?.({ vendor, phase: "done" });
  return { bundle, summary, json };
}

interface SpecInput {
  vendor: string;
  vendorDir: string;
  specPath: string;
  config: VendorConfig;
  configFile: string;
  cwd: string;
  /** `--check`: no vendor folder, so no vendor name in messages. */
  checkOnly?: boolean;
  discoveryThreshold?: number | undefined;
  onProgress?: (event: ProgressEvent) => void;
}

/** Adds line:column to problems that only have a pointer into the main file. */
function locateAll(
  problems: readonly SpecProblem[],
  locate: (pointer: string) => { line: number; column: number } | undefined,
) {
  return problems.map((p) => {
    if (p.file !== undefined || p.line !== undefined || p.pointer === undefined) return p;
    const pos = locate(p.pointer);
    return pos ? { ...p, line: pos.line, column: pos.column } : p;
  });
}

async function compileSpec(input: SpecInput): Promise<CompiledVendor> {
  const { vendor, config } = input;
  const progress = (phase: CompilePhase, extra: { done?: number; total?: number; bytes?: number } = {}) =>
    input.onProgress?.({ vendor, phase, ...extra });
  const specFile = display(input.specPath, input.cwd);

  progress("read");
  let text: string;
  try {
    text = await readTextFile(input.specPath);
  } catch (error) {
    throw new SpecValidationError(specFile, [
      { message: `cannot read the file: ${(error as Error).message}` },
    ]);
  }
  const main = parseDocumentText(text, specFile, formatFromName(input.specPath, text));

  progress("validate", { bytes: Buffer.byteLength(text) });
  const version = detectVersion(main.value);
  if (!("dialect" in version)) throw new SpecValidationError(specFile, locateAll([version], main.locate));
  const raw = main.value as Record<string, unknown>;
  const structureProblems: SpecProblem[] = checkStructure(raw, version.dialect);

  progress("resolve");
  let document: unknown = raw;
  let externalDocuments: string[] = [];
  const resolveProblems: SpecProblem[] = [];
  try {
    const resolved = await resolveRefs(
      main,
      input.specPath,
      { vendorDir: input.vendorDir, allowRemoteRefs: config.allowRemoteRefs ?? false },
      (id) => (/^https?:/i.test(id) ? id : display(id, input.vendorDir)),
    );
    document = resolved.document;
    externalDocuments = resolved.externalDocuments;
  } catch (error) {
    if (!(error instanceof SpecValidationError)) throw error;
    resolveProblems.push(...error.problems);
  }
  const fail = (problems: readonly SpecProblem[]): never => {
    throw new SpecValidationError(specFile, locateAll(problems, main.locate));
  };
  if (resolveProblems.length > 0 || (structureProblems.length > 0 && config.lenient !== true)) {
    fail([...structureProblems, ...resolveProblems]);
  }

  const warnings: CompileWarning[] = [];
  const lenientSkipped: SkippedOperation[] = [];
  let schemaWarnings: string[];
  if (config.lenient === true) {
    // The resolved document may share objects with the parsed one (error positions): repair a copy.
    document = structuredClone(document);
    warnings.push(...repairSpec(document, version.dialect, specFile));
    let problems = structureProblems;
    for (let pass = 0; ; pass++) {
      const check = await checkAgainstSchemas(document, version.dialect);
      schemaWarnings = check.warnings;
      const found = [...problems, ...check.problems].filter(
        (p) => p.pointer !== undefined || !p.message.startsWith(MORE_ERRORS_PREFIX),
      );
      if (found.length === 0) break;
      const dropped = dropBroken(document as Record<string, unknown>, found, specFile);
      if (dropped.fatal.length > 0) fail(dropped.fatal);
      if (pass >= LENIENT_MAX_PASSES || (dropped.skipped.length === 0 && dropped.warnings.length === 0)) {
        fail(found);
      }
      lenientSkipped.push(...dropped.skipped);
      warnings.push(...dropped.warnings);
      problems = [];
    }
  } else {
    const check = await checkAgainstSchemas(document, version.dialect);
    if (check.problems.length > 0) fail(check.problems);
    schemaWarnings = check.warnings;
  }

  progress("convert");
  warnings.unshift(...schemaWarnings.map((message) => ({ message })));
  const warn = (w: CompileWarning) => warnings.push(w);
  let openapi = document as Record<string, unknown>;
  if (version.dialect === "2.0") {
    const converted = await swaggerToOpenApi(document, specFile);
    openapi = converted.document;
    warnings.push(...converted.warnings);
  }
  const converter = new SchemaConverter(openapi, version.dialect === "3.1" ? "3.1" : "3.0", warn);

  const docServer = Array.isArray(openapi.servers) ? pickServer(openapi.servers) : undefined;
  const specBaseUrl = docServer !== undefined && /^https?:\/\//i.test(docServer) ? docServer : undefined;
  const baseUrl = config.baseUrl ?? specBaseUrl;
  if (baseUrl === undefined) {
    warn({
      message: `no absolute server URL in the spec: set "baseUrl" in vendor.json${input.checkOnly ? "" : ` or ${vendorEnvPrefix(vendor)}_BASE_URL at run time`}`,
    });
  }
  if (isObject(openapi.webhooks) && Object.keys(openapi.webhooks).length > 0) {
    warn({
      pointer: "/webhooks",
      message: `${Object.keys(openapi.webhooks).length} webhook(s) ignored: webhooks are requests the API sends, not tools`,
    });
  }
  const components = isObject(openapi.components) ? openapi.components : {};
  const securitySchemes = convertSecuritySchemes(
    components.securitySchemes,
    "/components/securitySchemes",
    baseUrl,
    (value, pointer) => converter.resolve(value, pointer),
    warn,
  );

  const configIssues: { key: string; message: string }[] = [];
  if (config.auth?.scheme !== undefined && !(config.auth.scheme in securitySchemes)) {
    const declared = Object.keys(securitySchemes);
    configIssues.push({
      key: "auth.scheme",
      message: `no security scheme "${config.auth.scheme}" in the spec; ${declared.length > 0 ? `expected one of ${declared.map((d) => JSON.stringify(d)).join(", ")}` : "the spec declares none"}`,
    });
  }
  if (configIssues.length > 0) throw new VendorConfigError(input.configFile, configIssues);

  progress("tools", { done: 0 });
  const built = buildTools({
    doc: openapi,
    converter,
    vendor,
    maxNameChars: maxToolNameChars(vendor),
    ...(config.limits?.inputSchemaMaxBytes !== undefined
      ? { inputSchemaMaxBytes: config.limits.inputSchemaMaxBytes }
      : {}),
    ...(config.baseUrl !== undefined ? { vendorBaseUrl: config.baseUrl } : {}),
    ...(baseUrl !== undefined ? { baseUrl } : {}),
    ...(config.include ? { include: config.include } : {}),
    ...(config.exclude ? { exclude: config.exclude } : {}),
    securitySchemes,
    warn,
    onProgress: (done, total) => progress("tools", { done, total }),
  });

  if (built.tools.length === 0) {
    warn({ message: "no tools: every operation was skipped or filtered out (see skipped)" });
  }

  if (config.tools !== undefined) {
    applyToolOverrides(
      built,
      { securitySchemes, ...(config.auth ? { auth: config.auth } : {}) },
      config.tools,
      maxToolNameChars(vendor),
      input.configFile,
    );
  }

  let healthTool: string | undefined;
  if (config.healthTool !== undefined) {
    const tool =
      built.tools.find((t) => t.name === config.healthTool) ??
      built.tools.find((t) => t.operationId === config.healthTool);
    if (!tool) {
      const getters = built.tools
        .filter((t) => t.method === "GET")
        .slice(0, 5)
        .map((t) => t.name);
      throw new VendorConfigError(input.configFile, [
        {
          key: "healthTool",
          message: `no tool or operationId "${config.healthTool}"; expected a tool name${getters.length > 0 ? ` such as ${getters.join(", ")}` : ""}`,
        },
      ]);
    }
    healthTool = tool.name;
  }

  const info = isObject(openapi.info) ? openapi.info : {};
  const specTitle = typeof info.title === "string" ? info.title : vendor;
  const bundle: VendorBundle = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    vendor,
    displayName: config.displayName ?? specTitle,
    ...(config.description !== undefined ? { description: config.description } : {}),
    contentHash: "",
    specTitle,
    specVersion: typeof info.version === "string" ? info.version : "",
    ...(baseUrl !== undefined ? { baseUrl } : {}),
    securitySchemes,
    ...(config.auth ? { auth: config.auth } : {}),
    ...(config.resilience ? { resilience: config.resilience } : {}),
    ...(config.toolMode ? { toolMode: config.toolMode } : {}),
    ...(healthTool !== undefined ? { healthTool } : {}),
    ...(config.logArguments === true ? { logArguments: true } : {}),
    ...(built.resources.length > 0 ? { resources: built.resources } : {}),
    schemas: built.schemas,
    tools: built.tools,
  };
  // The hash covers the whole bundle with an empty contentHash field.
  bundle.contentHash = createHash("sha256").update(JSON.stringify(bundle)).digest("hex");
  // #15: derived from the tools, so not part of the hash (a retuned engine is no new content).
  const searchIndex = precomputedSearchIndex(bundle, input.discoveryThreshold);
  if (searchIndex !== undefined) bundle.searchIndex = searchIndex;
  const json = JSON.stringify(bundle);

  const summary: VendorSummary = {
    vendor,
    displayName: bundle.displayName,
    specFile: basename(input.specPath),
    specFormat:
      version.dialect === "2.0" ? "Swagger 2.0 (converted to OpenAPI 3.0)" : `OpenAPI ${version.version}`,
    specTitle,
    specVersion: bundle.specVersion,
    contentHash: bundle.contentHash,
    operations: built.operations + lenientSkipped.length,
    tools: built.tools.length,
    renamed: built.renamed,
    skipped: [...lenientSkipped, ...built.skipped],
    warnings: dedupeWarnings(warnings),
    externalDocuments,
    sharedSchemas: Object.keys(built.schemas).length,
    toolsList: estimateToolsList(bundle),
    bundleBytes: Buffer.byteLength(json),
    served: servedAs(bundle, input.discoveryThreshold),
  };
  progress("done");
  return { bundle, summary, json };
}

/**
 * The discovery search index of a vendor served in discovery mode (src/mcp/search-index-format.ts),
 * so a fresh isolate's first search need not build it. A vendor in tools mode is never searched;
 * one switched to discovery at run time (a lower DISCOVERY_TOOL_THRESHOLD) builds its index then.
 */
function precomputedSearchIndex(bundle: VendorBundle, threshold: number | undefined): string | undefined {
  return servedAs(bundle, threshold).mode === "discovery"
    ? serializeSearchIndex(bundle.tools, bundle.resources)
    : undefined;
}

function dedupeWarnings(warnings: readonly CompileWarning[]): CompileWarning[] {
  const seen = new Set<string>();
  return warnings.filter((w) => {
    const key = `${w.file ?? ""}\u0000${w.pointer ?? ""}\u0000${w.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface CompileAllOptions extends CompileOptions {
  specsDir: string;
  outDir: string;
  /**
   * MCP vendors whose tool list is fetched now (`--snapshot`) and written to their
   * `mcp-tools.json` when the whole compile succeeds.
   */
  snapshot?: readonly string[];
  /** Where `--snapshot` reads `<VENDOR>_MCP_URL` and `<VENDOR>_TOKEN` (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface CompileAllResult {
  vendors: CompiledVendor[];
  /** Generated files rewritten (unchanged ones are left alone). */
  written: string[];
  removed: string[];
  /** `specsDir` did not exist: an empty registry was written. */
  missingSpecsDir: boolean;
  /** Snapshot files written (`--snapshot`), relative to `specsDir`. */
  snapshots: string[];
}

/** A vendor that failed; all of them are reported together and nothing is written. */
export class CompileFailedError extends Error {
  readonly failures: readonly { vendor: string; error: CompilerError }[];
  constructor(failures: readonly { vendor: string; error: CompilerError }[]) {
    super(failures.map((f) => f.error.message).join("\n\n"));
    this.name = "CompileFailedError";
    this.failures = failures;
  }
}

/**
 * Compiles every vendor folder in `specsDir` and writes the generated folder. When any
 * vendor fails, every failure is reported (`CompileFailedError`) and nothing is written.
 * A missing `specsDir` gives an empty registry.
 */
export async function compileAll(opts: CompileAllOptions): Promise<CompileAllResult> {
  const cwd = opts.cwd ?? process.cwd();
  const specsDir = resolve(opts.specsDir);
  let names: string[] = [];
  let missingSpecsDir = false;
  try {
    const info = await stat(specsDir);
    if (!info.isDirectory()) {
      throw new CompilerError("specs_dir_invalid", `${display(specsDir, cwd)} is not a folder`);
    }
    const entries = await readdir(specsDir, { withFileTypes: true });
    names = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    missingSpecsDir = true;
  }

  const failures: { vendor: string; error: CompilerError }[] = [];
  const snapshots = new Map<string, McpSnapshot>();
  for (const name of new Set(opts.snapshot ?? [])) {
    try {
      snapshots.set(name, await takeSnapshot(specsDir, name, names, cwd, opts.env ?? process.env));
    } catch (error) {
      if (error instanceof CompilerError) failures.push({ vendor: name, error });
      else throw error;
    }
  }
  if (failures.length > 0) throw new CompileFailedError(failures);

  const vendors: CompiledVendor[] = [];
  for (const name of names) {
    try {
      const { snapshot: _names, env: _env, ...folderOpts } = opts;
      const freshSnapshot = snapshots.get(name);
      vendors.push(
        await compileVendorFolder(join(specsDir, name), {
          ...folderOpts,
          ...(freshSnapshot !== undefined ? { freshSnapshot } : {}),
        }),
      );
    } catch (error) {
      if (error instanceof CompilerError) failures.push({ vendor: name, error });
      else throw error;
    }
  }
  if (failures.length > 0) throw new CompileFailedError(failures);

  // Only a compile that succeeded keeps its snapshots: the files then match what was built.
  const snapshotFiles: string[] = [];
  for (const [name, snapshot] of snapshots) {
    await writeFile(join(specsDir, name, MCP_SNAPSHOT_FILE), renderSnapshot(snapshot));
    snapshotFiles.push(`${name}/${MCP_SNAPSHOT_FILE}`);
  }

  const files = new Map<string, string>();
  for (const { bundle, json } of vendors) files.set(bundleFileName(bundle.vendor), renderBundleModule(json));
  files.set("summary.json", renderSummaryJson(vendors.map((v) => v.summary)));
  files.set(
    "index.ts",
    renderIndexModule(
      vendors.map(({ bundle }) => ({
        vendor: bundle.vendor,
        contentHash: bundle.contentHash,
        ...(bundle.kind === "mcp" ? { kind: "mcp" as const } : {}),
      })),
      opts.outDir,
    ),
  );
  const generated = await writeGenerated(opts.outDir, files);
  return { vendors, ...generated, missingSpecsDir, snapshots: snapshotFiles };
}

/** `--snapshot <vendor>`: the vendor must be an MCP vendor folder in `specsDir`. */
async function takeSnapshot(
  specsDir: string,
  vendor: string,
  names: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<McpSnapshot> {
  if (!names.includes(vendor)) {
    throw new CompilerError(
      "mcp_snapshot_failed",
      `--snapshot ${vendor}: no vendor folder ${display(join(specsDir, vendor), cwd)}`,
    );
  }
  const configPath = join(specsDir, vendor, VENDOR_CONFIG_FILE);
  let text: string;
  try {
    text = await readTextFile(configPath);
  } catch {
    throw new CompilerError("vendor_config_missing", `${display(configPath, cwd)} is missing`);
  }
  const config = parseVendorConfigText(text, display(configPath, cwd));
  if (config.mcp === undefined) {
    throw new CompilerError(
      "mcp_snapshot_failed",
      `--snapshot ${vendor}: ${display(configPath, cwd)} has no "mcp"; only an MCP vendor's tool list can be snapshotted`,
    );
  }
  return fetchMcpSnapshot(vendor, { ...config, mcp: config.mcp }, env);
}

/**
 * Validates and compiles one spec file outside any vendor folder (`--check`): references
 * may use files in the spec's own folder; remote references are refused.
 */
export async function checkSpec(
  specPath: string,
  opts: CompileOptions & { lenient?: boolean } = {},
): Promise<CompiledVendor> {
  const path = resolve(specPath);
  const cwd = opts.cwd ?? process.cwd();
  return compileSpec({
    vendor: "check",
    vendorDir: dirname(path),
    specPath: path,
    config: opts.lenient === true ? { lenient: true } : {},
    configFile: "(none)",
    cwd,
    checkOnly: true,
    discoveryThreshold: opts.discoveryThreshold,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}
