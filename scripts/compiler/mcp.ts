/**
 * MCP vendors: a `specs/<vendor>/` folder whose vendor.json has `"mcp": { "url": … }` and no
 * OpenAPI file. The bundle carries the upstream's endpoint and the operator's curation
 * (`kind: "mcp"`, `mcp`, `tools: []`); the Worker fetches the tool list at run time.
 *
 * A fixed catalogue: `npm run compile -- --snapshot <vendor>` fetches the upstream's tool list
 * and writes it, as sent, to `specs/<vendor>/mcp-tools.json`. Every later compile reads that file
 * (no network), checks vendor.json `tools` against it in full and stores the curated list as the
 * bundle's `mcpTools`. Committing the file puts every definition change through review.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { resolveMcpUrl } from "../../src/base-url.ts";
import type { McpToolRecipe, McpVendorConfig, VendorBundle } from "../../src/bundle/types.ts";
import { envString, vendorVarName } from "../../src/config.ts";
import {
  curateMcpTools,
  generatedToolName,
  mcpToolFilterReason,
  mcpToolNameLimit,
  sanitizeToolName,
} from "../../src/mcp-upstream/curate.ts";
import { fixedArgumentIssue } from "./curate.ts";
import { CompilerError, SpecValidationError, VendorConfigError, type VendorConfigIssue } from "./errors.ts";
import type { CompileWarning, RenamedTool, SkippedOperation } from "./operations.ts";
import { isObject } from "./pointer.ts";
import type { McpConfig, OperationSelector, VendorConfig } from "./vendor-config.ts";

/** The snapshot file in the vendor folder. */
export const MCP_SNAPSHOT_FILE = "mcp-tools.json";
/** One request of the snapshot (initialize, each tools/list page): a build should not hang on a dead server. */
export const SNAPSHOT_REQUEST_TIMEOUT_MS = 30_000;
/** Pages of `tools/list` followed: an upstream that hands out cursors forever stops here. */
export const SNAPSHOT_MAX_PAGES = 100;
/** Tools in one snapshot: far beyond any real server, and a bound on what a hostile one can make us store. */
export const SNAPSHOT_MAX_TOOLS = 10_000;
/** Upstream error text quoted in a compile error is cut here (it is untrusted and may be a whole page). */
const UPSTREAM_TEXT_MAX_CHARS = 300;

/** What `--snapshot` writes: the upstream's answer as sent, plus where and when it came from. */
export interface McpSnapshot {
  url: string;
  /** ISO 8601. */
  fetchedAt: string;
  protocolVersion?: string;
  server?: { name?: string; version?: string; title?: string };
  /** Every page of `tools/list`, each tool exactly as the upstream sent it. */
  tools: unknown[];
}

/** vendor.json keys that only mean something for an OpenAPI spec. */
const OPENAPI_ONLY_KEYS = ["baseUrl", "allowRemoteRefs", "lenient", "limits"] as const;
const OPENAPI_SELECTOR_FIELDS = ["operationIds", "tags", "paths", "methods"] as const;

/** `include`/`exclude` selectors as tool-name globs (alternatives, so a flat list). */
function nameGlobs(selectors: readonly OperationSelector[] | undefined): string[] | undefined {
  return selectors?.flatMap((s) => s.names ?? []);
}

/** Settings that cannot apply to an MCP vendor, and selectors that select nothing there. */
function mcpConfigIssues(config: VendorConfig): VendorConfigIssue[] {
  const issues: VendorConfigIssue[] = [];
  for (const key of OPENAPI_ONLY_KEYS) {
    if (config[key] !== undefined) {
      issues.push({
        key,
        message: `applies to OpenAPI vendors only; an MCP vendor is reached at mcp.url${key === "baseUrl" ? " (<VENDOR>_MCP_URL overrides it at run time)" : ""}`,
      });
    }
  }
  if (config.auth?.scheme !== undefined) {
    issues.push({
      key: "auth.scheme",
      message: "names a security scheme of an OpenAPI spec; an MCP vendor has none (leave it out)",
    });
  }
  for (const which of ["include", "exclude"] as const) {
    config[which]?.forEach((selector, i) => {
      const at = `${which}${config[which]!.length > 1 ? `[${i}]` : ""}`;
      for (const field of OPENAPI_SELECTOR_FIELDS) {
        if (selector[field] !== undefined) {
          issues.push({
            key: `${at}.${field}`,
            message: `an MCP vendor's tools have no ${field === "operationIds" ? "operationIds" : field}; select them by upstream tool name with "names": ["search_*", …]`,
          });
        }
      }
    });
  }
  return issues;
}

/** An OpenAPI vendor's selectors may not use `names` (it would select nothing, silently). */
export function openApiSelectorIssues(config: VendorConfig): VendorConfigIssue[] {
  const issues: VendorConfigIssue[] = [];
  for (const which of ["include", "exclude"] as const) {
    config[which]?.forEach((selector, i) => {
      if (selector.names !== undefined) {
        issues.push({
          key: `${which}${config[which]!.length > 1 ? `[${i}]` : ""}.names`,
          message:
            'selects an MCP vendor\'s tools by name; for an OpenAPI vendor use "operationIds" (globs) or tags, paths, methods',
        });
      }
    });
  }
  return issues;
}

/** The bundle's `mcp`: vendor.json `mcp` plus the curation the Worker applies to every fetched list. */
function mcpVendorConfig(config: VendorConfig & { mcp: McpConfig }): McpVendorConfig {
  const { url, transport: _transport, ...settings } = config.mcp;
  const include = nameGlobs(config.include);
  const exclude = nameGlobs(config.exclude);
  return {
    url,
    ...settings,
    ...(include !== undefined ? { include } : {}),
    ...(exclude !== undefined ? { exclude } : {}),
    ...(config.tools !== undefined ? { toolOverrides: config.tools } : {}),
  };
}

/** What can be checked without the tool list: name lengths, and no two overrides with one name. */
function overrideIssues(config: VendorConfig, limit: number): VendorConfigIssue[] {
  const issues: VendorConfigIssue[] = [];
  const byName = new Map<string, string>();
  for (const [key, override] of Object.entries(config.tools ?? {})) {
    if (override.name === undefined) continue;
    if (override.name.length > limit) {
      issues.push({
        key: `tools.${key}.name`,
        message: `"${override.name}" is ${override.name.length} characters; the limit for this vendor is ${limit} so the prefixed name fits 64`,
      });
    }
    const earlier = byName.get(override.name);
    if (earlier !== undefined) {
      issues.push({
        key: `tools.${key}.name`,
        message: `"${override.name}" is already the new name of tools.${earlier}`,
      });
    } else {
      byName.set(override.name, key);
    }
  }
  return issues;
}

/** vendor.json `tools` against a snapshot: every key names a listed tool, names stay unique, fixed values fit. */
function snapshotOverrideIssues(
  config: McpVendorConfig,
  tools: readonly unknown[],
  limit: number,
): VendorConfigIssue[] {
  const issues: VendorConfigIssue[] = [];
  const overrides = config.toolOverrides ?? {};
  const all = new Map<string, Record<string, unknown>>();
  for (const tool of tools) {
    if (isObject(tool) && typeof tool.name === "string" && !all.has(tool.name)) all.set(tool.name, tool);
  }
  const listed = [...all.keys()].filter((name) => mcpToolFilterReason(config, name) === undefined);
  for (const [key, override] of Object.entries(overrides)) {
    const tool = all.get(key);
    if (tool === undefined) {
      const some = listed.slice(0, 5).map((n) => JSON.stringify(n));
      issues.push({
        key: `tools.${key}`,
        message: `the snapshot (${MCP_SNAPSHOT_FILE}) has no tool "${key}"; keys are the upstream's tool names${some.length > 0 ? `, such as ${some.join(", ")}` : ""}`,
      });
      continue;
    }
    const filtered = mcpToolFilterReason(config, key);
    if (filtered !== undefined) {
      issues.push({ key: `tools.${key}`, message: `tool "${key}" is not listed: ${filtered}` });
      continue;
    }
    if (override.name !== undefined) {
      const holders = listed.filter(
        (other) =>
          other !== key &&
          overrides[other]?.name === undefined &&
          generatedToolName(other, limit) === override.name,
      );
      if (holders.length > 0) {
        issues.push({
          key: `tools.${key}.name`,
          message: `"${override.name}" is already the name of upstream tool ${holders.map((h) => JSON.stringify(h)).join(", ")}; rename that one too (two tools may swap names)`,
        });
      }
    }
    for (const [arg, value] of Object.entries(override.fixed ?? {})) {
      const where = `tools.${key}.fixed.${arg}`;
      const schema = isObject(tool.inputSchema) ? tool.inputSchema : {};
      const issue = fixedArgumentIssue(schema, key, arg, value, where);
      if (issue !== undefined) issues.push(issue);
    }
  }
  return issues;
}

/** Parses a snapshot file's text; a file that is not one fails the vendor naming the file. */
export function parseSnapshot(text: string, file: string): McpSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SpecValidationError(file, [{ message: `not JSON: ${(error as Error).message}` }]);
  }
  if (!isObject(value) || typeof value.url !== "string" || !Array.isArray(value.tools)) {
    throw new SpecValidationError(file, [
      {
        message: `expected {"url", "fetchedAt", "tools": [...]} as npm run compile -- --snapshot writes it; run it again`,
      },
    ]);
  }
  return value as unknown as McpSnapshot;
}

export interface McpVendorInput {
  vendor: string;
  vendorDir: string;
  config: VendorConfig & { mcp: McpConfig };
  configFile: string;
  /** The snapshot file's name as shown in messages. */
  snapshotFile: string;
  /** A snapshot just fetched (`--snapshot`), used instead of the file. */
  snapshot?: McpSnapshot;
}

export interface McpCompiled {
  bundle: VendorBundle;
  warnings: CompileWarning[];
  skipped: SkippedOperation[];
  renamed: RenamedTool[];
  snapshot?: McpSnapshot;
}

async function readSnapshot(input: McpVendorInput): Promise<McpSnapshot | undefined> {
  if (input.snapshot !== undefined) return input.snapshot;
  let text: string;
  try {
    text = await readFile(join(input.vendorDir, MCP_SNAPSHOT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SpecValidationError(input.snapshotFile, [
      { message: `cannot read the file: ${(error as Error).message}` },
    ]);
  }
  return parseSnapshot(text, input.snapshotFile);
}

/** Builds an MCP vendor's bundle (without `contentHash`, which the caller sets). */
export async function buildMcpVendor(input: McpVendorInput): Promise<McpCompiled> {
  const { vendor, config } = input;
  const limit = mcpToolNameLimit(vendor);
  const mcp = mcpVendorConfig(config);
  const issues = [...mcpConfigIssues(config), ...overrideIssues(config, limit)];
  if (issues.length > 0) throw new VendorConfigError(input.configFile, issues);

  const warnings: CompileWarning[] = [];
  if (/\/sse\/?$/i.test(new URL(mcp.url).pathname)) {
    warnings.push({
      message: `mcp.url ends in /sse, where servers usually serve the legacy HTTP+SSE transport the gateway does not speak; point it at the streamable HTTP endpoint (usually /mcp)`,
    });
  }

  const snapshot = await readSnapshot(input);
  const skipped: SkippedOperation[] = [];
  const renamed: RenamedTool[] = [];
  let mcpTools: McpToolRecipe[] | undefined;
  if (snapshot !== undefined) {
    const snapshotIssues = snapshotOverrideIssues(mcp, snapshot.tools, limit);
    if (snapshotIssues.length > 0) throw new VendorConfigError(input.configFile, snapshotIssues);
    if (snapshot.url !== mcp.url) {
      warnings.push({
        file: input.snapshotFile,
        message: `taken from ${snapshot.url}, but mcp.url is ${mcp.url}: take it again (npm run compile -- --snapshot ${vendor})`,
      });
    }
    mcpTools = await curateMcpTools(mcp, snapshot.tools, {
      vendor,
      onDropped: (name, reason) =>
        skipped.push({ method: "tool", path: name ?? "(no name)", reason, pointer: "" }),
    });
    for (const [which, globs] of [
      ["include", mcp.include],
      ["exclude", mcp.exclude],
    ] as const) {
      for (const glob of globs ?? []) {
        const probe = { [which]: [glob] };
        const used = snapshot.tools.some(
          (t) =>
            isObject(t) &&
            typeof t.name === "string" &&
            (mcpToolFilterReason(probe, t.name) === undefined) === (which === "include"),
        );
        if (!used)
          warnings.push({ message: `vendor.json ${which} name ${JSON.stringify(glob)} matched no tool` });
      }
    }
    for (const tool of mcpTools) {
      if (tool.name === tool.upstreamName) continue;
      const reasons: RenamedTool["reasons"] = [];
      if (config.tools?.[tool.upstreamName]?.name === tool.name) reasons.push("vendor.json");
      else {
        const sanitized = sanitizeToolName(tool.upstreamName);
        if (sanitized !== tool.upstreamName) reasons.push("sanitized");
        if (sanitized.length > limit) reasons.push("shortened");
        if (generatedToolName(tool.upstreamName, limit) !== tool.name) reasons.push("duplicate");
      }
      renamed.push({ name: tool.name, from: tool.upstreamName, reasons });
    }
    if (mcpTools.length === 0) warnings.push({ message: "no tools: the snapshot lists none that are kept" });
  }

  let healthTool: string | undefined;
  if (config.healthTool !== undefined) {
    const wanted = config.healthTool;
    if (mcpTools !== undefined) {
      const tool = mcpTools.find((t) => t.name === wanted) ?? mcpTools.find((t) => t.upstreamName === wanted);
      if (tool === undefined) {
        throw new VendorConfigError(input.configFile, [
          {
            key: "healthTool",
            message: `no tool "${wanted}" in the snapshot (${MCP_SNAPSHOT_FILE}); expected a tool name such as ${mcpTools
              .slice(0, 5)
              .map((t) => t.name)
              .join(", ")}`,
          },
        ]);
      }
      healthTool = tool.name;
    } else {
      const renamedTo = config.tools?.[wanted]?.name;
      healthTool = renamedTo ?? wanted;
      if (!/^[A-Za-z0-9_-]+$/.test(healthTool) || healthTool.length > limit) {
        throw new VendorConfigError(input.configFile, [
          {
            key: "healthTool",
            message: `"${wanted}" cannot be a tool name (letters, digits, _ and -, at most ${limit} characters); name the tool as the gateway lists it`,
          },
        ]);
      }
    }
  }

  const server = snapshot?.server;
  const specTitle =
    (typeof server?.title === "string" ? server.title : undefined) ??
    (typeof server?.name === "string" ? server.name : undefined) ??
    config.displayName ??
    vendor;
  const bundle: VendorBundle = {
    formatVersion: 1,
    kind: "mcp",
    mcp,
    ...(mcpTools !== undefined ? { mcpTools } : {}),
    vendor,
    displayName: config.displayName ?? specTitle,
    ...(config.description !== undefined ? { description: config.description } : {}),
    contentHash: "",
    specTitle,
    specVersion: typeof server?.version === "string" ? server.version : "",
    securitySchemes: {},
    ...(config.auth ? { auth: config.auth } : {}),
    ...(config.resilience ? { resilience: config.resilience } : {}),
    ...(config.toolMode ? { toolMode: config.toolMode } : {}),
    ...(healthTool !== undefined ? { healthTool } : {}),
    ...(config.logArguments === true ? { logArguments: true } : {}),
    schemas: {},
    tools: [],
  };
  return { bundle, warnings, skipped, renamed, ...(snapshot !== undefined ? { snapshot } : {}) };
}

function cut(text: string): string {
  return text.length > UPSTREAM_TEXT_MAX_CHARS ? `${text.slice(0, UPSTREAM_TEXT_MAX_CHARS)}…` : text;
}

/**
 * Fetches an MCP vendor's tool list (every page) over streamable HTTP with the SDK client.
 * The URL is `<VENDOR>_MCP_URL` from `env` when set, else `mcp.url`. `<VENDOR>_TOKEN` (or the
 * secret vendor.json `auth.secrets.token` names), when set in `env`, is sent as a bearer token.
 * Tools are kept exactly as sent (the SDK's tool schema would drop members the hash covers).
 *
 * @throws {CompilerError} `mcp_snapshot_failed` naming the vendor, the URL and what went wrong.
 */
export async function fetchMcpSnapshot(
  vendor: string,
  config: VendorConfig & { mcp: McpConfig },
  env: Readonly<Record<string, string | undefined>>,
  now: () => Date = () => new Date(),
): Promise<McpSnapshot> {
  const fail = (message: string): never => {
    throw new CompilerError("mcp_snapshot_failed", `${vendor}: cannot snapshot the tool list: ${message}`);
  };
  let url: URL;
  try {
    url = resolveMcpUrl(env, { vendor, mcp: { url: config.mcp.url } } as VendorBundle);
  } catch (error) {
    return fail((error as Error).message);
  }
  const tokenName = config.auth?.secrets?.token ?? vendorVarName(vendor, "TOKEN");
  const token = envString(env, tokenName);
  const headers: Record<string, string> = token !== undefined ? { Authorization: `Bearer ${token}` } : {};
  const scrub = (text: string) => (token !== undefined ? text.replaceAll(token, "[REDACTED]") : text);

  const client = new Client({ name: "mcp-edge-gateway-compiler", version: "1" }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  const options = { timeout: SNAPSHOT_REQUEST_TIMEOUT_MS };
  try {
    await client.connect(transport, options);
    const tools: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= SNAPSHOT_MAX_PAGES) fail(`${url.href} handed out more than ${SNAPSHOT_MAX_PAGES} pages`);
      const result = await client.request(
        { method: "tools/list", ...(cursor !== undefined ? { params: { cursor } } : {}) },
        ResultSchema,
        options,
      );
      if (!Array.isArray(result.tools)) fail(`${url.href} answered tools/list without a tools array`);
      tools.push(...(result.tools as unknown[]));
      if (tools.length > SNAPSHOT_MAX_TOOLS) fail(`${url.href} lists more than ${SNAPSHOT_MAX_TOOLS} tools`);
      cursor =
        typeof result.nextCursor === "string" && result.nextCursor !== "" ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    const info = client.getServerVersion();
    const server = info
      ? {
          ...(typeof info.name === "string" ? { name: cut(info.name) } : {}),
          ...(typeof info.title === "string" ? { title: cut(info.title) } : {}),
          ...(typeof info.version === "string" ? { version: cut(info.version) } : {}),
        }
      : undefined;
    return {
      url: config.mcp.url,
      fetchedAt: now().toISOString(),
      ...(transport.protocolVersion !== undefined ? { protocolVersion: transport.protocolVersion } : {}),
      ...(server !== undefined ? { server } : {}),
      tools,
    };
  } catch (error) {
    if (error instanceof CompilerError) throw error;
    return fail(`${url.href}: ${cut(scrub(error instanceof Error ? error.message : String(error)))}`);
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close().catch(() => {});
  }
}

/** The snapshot file's text: stable key order, two-space indent, so a re-snapshot diffs cleanly. */
export function renderSnapshot(snapshot: McpSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}
