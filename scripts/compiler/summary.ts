/**
 * Per-vendor compile summary: printed by the CLI and written to `summary.json`.
 *
 * @module
 */
import type { VendorBundle } from "../../src/bundle/types.ts";
import { DEFAULT_DISCOVERY_TOOL_THRESHOLD, usesDiscovery } from "../../src/mcp/discovery-mode.ts";
import type { CompileWarning, RenamedTool, SkippedOperation } from "./operations.ts";

/** How tokens are estimated, stated wherever an estimate appears. */
export const TOKEN_ESTIMATE_METHOD =
  "tokens ≈ ceil(UTF-8 bytes / 4), the usual rule of thumb for English text and JSON with BPE tokenizers";
const BYTES_PER_TOKEN = 4;

export interface ToolsListEstimate {
  /** `tools/list` result on `/v1/<vendor>/mcp`: `{"tools":[{name,title,description,inputSchema,outputSchema}]}`. */
  bytes: number;
  tokens: number;
  /** The same tools on `/v1/mcp` (names prefixed with `<vendor>_`). */
  unifiedBytes: number;
  unifiedTokens: number;
}

/** `specFormat` of an MCP vendor. */
export const MCP_SPEC_FORMAT = "MCP server (streamable HTTP)";

/** An MCP vendor: where it is and whether its tools are a compiled snapshot or fetched live. */
export interface McpSummary {
  url: string;
  /** Tools in the bundle's snapshot, or `live`: the Worker fetches the list. */
  tools: number | "live";
  snapshot?: { file: string; fetchedAt: string };
}

export interface VendorSummary {
  vendor: string;
  displayName: string;
  /** Spec file name inside the vendor folder. */
  specFile: string;
  /** `OpenAPI 3.1.0`, `Swagger 2.0 (converted to OpenAPI 3.0)`. */
  specFormat: string;
  specTitle: string;
  specVersion: string;
  contentHash: string;
  /** Operations in the spec (path × method). */
  operations: number;
  tools: number;
  renamed: RenamedTool[];
  skipped: SkippedOperation[];
  warnings: CompileWarning[];
  /** Referenced files or URLs bundled into the spec. */
  externalDocuments: string[];
  sharedSchemas: number;
  toolsList: ToolsListEstimate;
  /** Size of the bundle JSON (UTF-8 bytes). */
  bundleBytes: number;
  /** How clients will see the vendor (README "Discovery mode"), and why. */
  served: ServedAs;
  /** MCP vendors only. */
  mcp?: McpSummary;
}

export interface ServedAs {
  mode: "tools" | "discovery";
  reason: string;
}

/**
 * The Worker's rule (src/mcp/discovery-mode.ts) applied at compile time. `threshold` is
 * `DISCOVERY_TOOL_THRESHOLD` as the compiler sees it: the deployed value may differ.
 */
export function servedAs(
  bundle: VendorBundle,
  threshold: number = DEFAULT_DISCOVERY_TOOL_THRESHOLD,
): ServedAs {
  if (bundle.toolMode !== undefined) {
    return { mode: bundle.toolMode, reason: `vendor.json "toolMode": "${bundle.toolMode}"` };
  }
  if (bundle.kind === "mcp" && bundle.mcpTools === undefined) {
    return {
      mode: "tools",
      reason: `tools fetched live: discovery mode once the list is over DISCOVERY_TOOL_THRESHOLD ${fmt(threshold)}`,
    };
  }
  const count = bundle.kind === "mcp" ? bundle.mcpTools!.length : bundle.tools.length;
  // The Worker's rule; it counts an MCP vendor's tools from the list it serves.
  const discovery = bundle.kind === "mcp" ? count > threshold : usesDiscovery(bundle, threshold);
  const mode = discovery ? "discovery" : "tools";
  return mode === "discovery"
    ? {
        mode,
        reason: `${fmt(count)} tools > DISCOVERY_TOOL_THRESHOLD ${fmt(threshold)}; set "toolMode" in vendor.json to choose`,
      }
    : { mode, reason: `${fmt(count)} tools ≤ DISCOVERY_TOOL_THRESHOLD ${fmt(threshold)}` };
}

export function estimateTokens(bytes: number): number {
  return Math.ceil(bytes / BYTES_PER_TOKEN);
}

export function estimateToolsList(bundle: VendorBundle): ToolsListEstimate {
  const tools = bundle.kind === "mcp" ? (bundle.mcpTools ?? []) : bundle.tools;
  const entries = tools.map((tool) => ({
    name: tool.name,
    ...(tool.title !== undefined ? { title: tool.title } : {}),
    description: tool.description,
    inputSchema: tool.inputSchema,
    ...(tool.outputSchema !== undefined ? { outputSchema: tool.outputSchema } : {}),
  }));
  const bytes = Buffer.byteLength(JSON.stringify({ tools: entries }));
  const unifiedBytes = bytes + tools.length * (Buffer.byteLength(bundle.vendor) + 1);
  return { bytes, tokens: estimateTokens(bytes), unifiedBytes, unifiedTokens: estimateTokens(unifiedBytes) };
}

const LIST_LIMIT = 10;
const fmt = (n: number) => n.toLocaleString("en-US");

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** Human-readable summary (lists cut at a few entries; summary.json has all). */
export function formatSummary(summary: VendorSummary, durationMs?: number): string {
  const lines: string[] = [];
  const time = durationMs !== undefined ? ` in ${(durationMs / 1000).toFixed(2)} s` : "";
  const mcp = summary.mcp;
  if (mcp === undefined) {
    lines.push(
      `${summary.vendor}: ${fmt(summary.tools)} tools from ${fmt(summary.operations)} operations${time} — ${summary.specTitle} ${summary.specVersion} (${summary.specFormat})`,
    );
  } else if (mcp.snapshot === undefined) {
    lines.push(`${summary.vendor}: MCP server ${mcp.url}${time} — tools fetched live at run time`);
  } else {
    lines.push(
      `${summary.vendor}: MCP server ${mcp.url}${time} — ${fmt(summary.tools)} tools from ${fmt(summary.operations)} in ${mcp.snapshot.file} (fetched ${mcp.snapshot.fetchedAt})`,
    );
  }
  if (summary.renamed.length > 0) {
    const counts = new Map<string, number>();
    for (const r of summary.renamed)
      for (const reason of r.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    lines.push(
      `  renamed ${fmt(summary.renamed.length)} (${[...counts].map(([reason, n]) => `${reason} ${fmt(n)}`).join(", ")})`,
    );
    for (const r of summary.renamed.slice(0, LIST_LIMIT))
      lines.push(`    ${r.from} → ${r.name} (${r.reasons.join(", ")})`);
    if (summary.renamed.length > LIST_LIMIT)
      lines.push(`    … ${fmt(summary.renamed.length - LIST_LIMIT)} more in summary.json`);
  }
  if (summary.skipped.length > 0) {
    lines.push(`  skipped ${fmt(summary.skipped.length)}:`);
    for (const s of summary.skipped.slice(0, LIST_LIMIT)) {
      lines.push(`    ${s.method} ${s.path}${s.operationId ? ` (${s.operationId})` : ""}: ${s.reason}`);
    }
    if (summary.skipped.length > LIST_LIMIT)
      lines.push(`    … ${fmt(summary.skipped.length - LIST_LIMIT)} more in summary.json`);
  }
  if (summary.warnings.length > 0) {
    lines.push(`  warnings ${fmt(summary.warnings.length)}:`);
    for (const w of summary.warnings.slice(0, LIST_LIMIT))
      lines.push(`    ${w.file ? `${w.file} ` : ""}${w.pointer ? `${w.pointer}: ` : ""}${w.message}`);
    if (summary.warnings.length > LIST_LIMIT)
      lines.push(`    … ${fmt(summary.warnings.length - LIST_LIMIT)} more in summary.json`);
  }
  if (summary.served.mode === "discovery") {
    lines.push(`  served in discovery mode (search / describe / call tools): ${summary.served.reason}`);
  }
  const t = summary.toolsList;
  if (mcp === undefined || mcp.snapshot !== undefined)
    lines.push(
      `  tools/list ≈ ${formatBytes(t.bytes)} ≈ ${fmt(t.tokens)} tokens (unified /v1/mcp: ${formatBytes(t.unifiedBytes)} ≈ ${fmt(t.unifiedTokens)} tokens; tokens = bytes/4)`,
    );
  lines.push(
    `  bundle ${formatBytes(summary.bundleBytes)}, ${fmt(summary.sharedSchemas)} shared response schemas, hash ${summary.contentHash.slice(0, 12)}`,
  );
  return lines.join("\n");
}
