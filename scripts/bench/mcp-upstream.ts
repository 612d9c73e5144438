/**
 * Section `mcp-upstream` of the bench: what fronting an MCP server adds per call. One upstream,
 * the stateless SDK test server (test/support/mcp-servers/, run as its own pinned process), and
 * the same `tools/call` of its `add` tool (small structured answer) made two ways at each
 * concurrency, under the same closed-loop load as the per-call section:
 *
 * - (m1) directly: plain JSON-RPC `tools/call` POSTs to the server (stateless, no handshake);
 * - (m2) through the gateway: the same call to `/v1/benchmcp/mcp`, the gateway built as it
 *   deploys with one MCP vendor (`benchmcp`, `"mcp": {"url": <the server>}`) and nothing else.
 *   Until the compiler accepts MCP vendors this target is recorded as not measured, with the
 *   compiler's reason.
 *
 * Every answer is checked (the sum must come back); a wrong one is counted and reported.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildWorker, compileSpecs, gatewayHostConfig } from "./gateway.ts";
import { type LoadRequest, runLoad } from "./load.ts";
import { MCP_HEADERS, PROTOCOL_VERSION, parseRpcBody } from "./mcp.ts";
import { guarded, type LoadSettings, type MeasuredRun, measure } from "./per-call.ts";
import { type Child, SERVER_CORE, spawnPinned } from "./proc.ts";
import type { HostConfig } from "./worker-host.ts";

export type McpUpstreamTargetId = "mcp-direct" | "mcp-gateway";

export const MCP_UPSTREAM_TARGET_LABELS: Record<McpUpstreamTargetId, string> = {
  "mcp-direct": "(m1) MCP server called directly (stateless SDK server)",
  "mcp-gateway": "(m2) the same MCP tool through mcp-edge-gateway (workerd)",
};

/** The bench's MCP vendor: its folder name under the generated specs, and its endpoint. */
export const BENCH_MCP_VENDOR = "benchmcp";
const GATEWAY_MCP_VENDOR_PATH = `/v1/${BENCH_MCP_VENDOR}/mcp`;
/** The call every target makes, and the part of the answer that proves it ran. */
const CALL = { name: "add", arguments: { a: 2, b: 3 } } as const;
const EXPECTED = '"structuredContent":{"sum":5}';

export interface McpUpstreamTarget {
  id: McpUpstreamTargetId;
  label: string;
  protocol: string;
  runs: MeasuredRun[];
  skipped?: string;
}

export interface McpUpstreamResult {
  targets: McpUpstreamTarget[];
  /** Per concurrency: the gateway's throughput against the direct call, and the p50 it adds. */
  ratios: Array<{ connections: number; gatewayVsDirect?: number; addedP50Ms?: number }>;
}

export interface McpUpstreamOptions extends LoadSettings {
  root: string;
  tmpDir: string;
  /** Only these targets. */
  targets?: McpUpstreamTargetId[];
}

const callBody = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: CALL });

/** A 200 whose body (JSON or SSE) carries the sum and no error. */
export function mcpSumCheck(status: number, body: string): boolean {
  return status === 200 && body.includes(EXPECTED) && !body.includes('"isError":true');
}

/** One call checked in full before the load: a target that answers wrongly is not measured. */
async function preflight(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: "POST", headers, body: callBody(0) });
  const text = await res.text();
  if (parseRpcBody(text)?.result === undefined || !mcpSumCheck(res.status, text)) {
    throw new Error(`${url} tools/call answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

/** The gateway's tool name for the call on the vendor endpoint (the kind may rename nothing, but look). */
async function gatewayToolName(url: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: "list", method: "tools/list" }),
  });
  const tools = (parseRpcBody(await res.text())?.result?.tools ?? []) as Array<{ name: string }>;
  const name = tools.find((t) => t.name === CALL.name || t.name.endsWith(`_${CALL.name}`))?.name;
  if (name === undefined) throw new Error(`${url} tools/list has no ${CALL.name} tool`);
  return name;
}

/** What the compiler printed about a refused vendor, on one line. */
function compilerReason(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === "string" && stderr.trim() !== "" ? stderr : String(error);
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")
    .slice(0, 300);
}

function startWorkerHost(config: HostConfig): Promise<Child<{ url: string; workerdPid?: number }>> {
  return spawnPinned(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(config),
  ]);
}

export async function runMcpUpstream(opts: McpUpstreamOptions): Promise<McpUpstreamResult> {
  const { root, tmpDir, log } = opts;
  const wanted = (id: McpUpstreamTargetId) => opts.targets === undefined || opts.targets.includes(id);
  const targets: McpUpstreamTarget[] = [];
  const headers = { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION };
  const newTarget = (id: McpUpstreamTargetId, protocol: string): McpUpstreamTarget => {
    const target = { id, label: MCP_UPSTREAM_TARGET_LABELS[id], protocol, runs: [] };
    targets.push(target);
    return target;
  };

  log("mcp-upstream: starting the stateless MCP server (test/support/mcp-servers/run.ts)…");
  const server = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(root, "test", "support", "mcp-servers", "run.ts"),
    "stateless",
  ]);
  const serverPid = server.process.pid ?? 0;
  const load = (url: string, requestHeaders: Record<string, string>, body: string): LoadRequest => ({
    url,
    method: "POST",
    headers: requestHeaders,
    body,
    check: mcpSumCheck,
  });
  try {
    if (wanted("mcp-direct")) {
      const target = newTarget(
        "mcp-direct",
        "MCP tools/call POST (stateless, answered as SSE by the SDK's stateless fallback)",
      );
      log("mcp-upstream: (m1) direct");
      await guarded(target, log, async () => {
        await preflight(server.ready.url, headers);
        await measure(target, opts, { server: [], upstream: serverPid }, (c, s) =>
          runLoad(load(server.ready.url, headers, callBody(1)), c, s),
        );
      });
    }

    if (wanted("mcp-gateway")) {
      const target = newTarget("mcp-gateway", `MCP tools/call POST to ${GATEWAY_MCP_VENDOR_PATH}`);
      log("mcp-upstream: (m2) through the gateway (compile, wrangler deploy --dry-run)…");
      await guarded(target, log, async () => {
        const specDir = join(tmpDir, "spec-mcp");
        mkdirSync(join(specDir, BENCH_MCP_VENDOR), { recursive: true });
        writeFileSync(
          join(specDir, BENCH_MCP_VENDOR, "vendor.json"),
          `${JSON.stringify({ displayName: "Bench MCP", mcp: { url: server.ready.url } }, null, 2)}\n`,
        );
        const compiled = await compileSpecs(root, specDir, join(tmpDir, "generated-bench-mcp")).catch(
          (error: unknown) => {
            throw new Error(`the compiler refused the MCP vendor: ${compilerReason(error)}`);
          },
        );
        const build = await buildWorker(root, compiled.indexPath, join(tmpDir, "build-bench-mcp"));
        const host = await startWorkerHost(gatewayHostConfig(root, build.scriptPath, {}));
        try {
          const url = host.ready.url + GATEWAY_MCP_VENDOR_PATH;
          const tool = await gatewayToolName(url, headers);
          const body = (id: number) =>
            JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { ...CALL, name: tool } });
          await preflight(url, headers);
          const pids = host.ready.workerdPid === undefined ? [] : [host.ready.workerdPid];
          await measure(target, opts, { server: pids, upstream: serverPid }, (c, s) =>
            runLoad(load(url, headers, body(1)), c, s),
          );
        } finally {
          await host.stop();
        }
      });
    }
  } finally {
    await server.stop();
  }
  return { targets, ratios: ratiosOf(targets, opts.connections) };
}

function ratiosOf(targets: McpUpstreamTarget[], connections: number[]): McpUpstreamResult["ratios"] {
  const run = (id: McpUpstreamTargetId, c: number) =>
    targets.find((t) => t.id === id && t.skipped === undefined)?.runs.find((r) => r.connections === c);
  return connections.map((c) => {
    const direct = run("mcp-direct", c);
    const gateway = run("mcp-gateway", c);
    if (direct === undefined || gateway === undefined) return { connections: c };
    return {
      connections: c,
      gatewayVsDirect: gateway.throughput / direct.throughput,
      addedP50Ms: gateway.p50Ms - direct.p50Ms,
    };
  });
}
