/**
 * Section `mcp-upstream` of the bench: what fronting an MCP server adds per call. The same
 * `tools/call` of the test servers' `add` tool (small structured answer) is made to two upstreams
 * (test/support/mcp-servers/run.ts, each its own pinned process), at each concurrency, under the
 * same closed-loop load as the per-call section:
 *
 * - the stateless SDK server (no session; it speaks 2026-07-28, which the gateway negotiates with
 *   it, and answers 2025 clients through the SDK's stateless fallback): called directly by a 2025
 *   client (m1) and a 2026-07-28 one (m1′); through a bare Worker that relays the POST unchanged
 *   (m1″, what workerd alone costs in front of an MCP server); through the gateway, built as it
 *   deploys with one MCP vendor (`"mcp": {"url": <the server>}`), by the same two clients (m2, m2′);
 * - the stateful SDK server (a session from `initialize`; 2025 revisions only): directly, every
 *   call on one session from one handshake (m3); through the gateway, which keeps its own upstream
 *   session (m4).
 *
 * A client compares like with like: the same request to the server, or to the gateway in front of
 * it. Every answer is checked (the sum must come back); a wrong one is counted and reported.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildWorker, compileSpecs, gatewayHostConfig, readWranglerSettings } from "./gateway.ts";
import { runLoad } from "./load.ts";
import { initialize, MCP_HEADERS, PROTOCOL_VERSION, parseRpcBody } from "./mcp.ts";
import { guarded, type LoadSettings, type MeasuredRun, measure } from "./per-call.ts";
import { type Child, SERVER_CORE, spawnPinned } from "./proc.ts";
import type { HostConfig } from "./worker-host.ts";

export type McpUpstreamTargetId =
  | "mcp-direct"
  | "mcp-direct-2026"
  | "mcp-relay"
  | "mcp-gateway"
  | "mcp-gateway-2026"
  | "mcp-stateful-direct"
  | "mcp-stateful-gateway";

/** A row: which server, through what, and the revision its client speaks. */
interface RowSpec {
  label: string;
  server: "stateless" | "stateful";
  via: "direct" | "relay" | "gateway";
  revision: "2025" | "2026";
}

const ROWS: Record<McpUpstreamTargetId, RowSpec> = {
  "mcp-direct": {
    label: "(m1) stateless SDK server, called directly (2025 client: the SDK's stateless fallback)",
    server: "stateless",
    via: "direct",
    revision: "2025",
  },
  "mcp-direct-2026": {
    label: "(m1′) the same server, called directly (2026-07-28 client)",
    server: "stateless",
    via: "direct",
    revision: "2026",
  },
  "mcp-relay": {
    label: "(m1″) the same, 2026-07-28, through a bare Worker relaying the POST (workerd)",
    server: "stateless",
    via: "relay",
    revision: "2026",
  },
  "mcp-gateway": {
    label: "(m2) the same server through mcp-edge-gateway (workerd; 2025 client)",
    server: "stateless",
    via: "gateway",
    revision: "2025",
  },
  "mcp-gateway-2026": {
    label: "(m2′) the same server through mcp-edge-gateway (workerd; 2026-07-28 client)",
    server: "stateless",
    via: "gateway",
    revision: "2026",
  },
  "mcp-stateful-direct": {
    label: "(m3) stateful SDK server, called directly (2025 client, one session)",
    server: "stateful",
    via: "direct",
    revision: "2025",
  },
  "mcp-stateful-gateway": {
    label: "(m4) the same server through mcp-edge-gateway (workerd; 2025 client; its own upstream session)",
    server: "stateful",
    via: "gateway",
    revision: "2025",
  },
};

export const MCP_UPSTREAM_TARGET_LABELS = Object.fromEntries(
  Object.entries(ROWS).map(([id, row]) => [id, row.label]),
) as Record<McpUpstreamTargetId, string>;

/** The bench's MCP vendors: their folder names under the generated specs. */
export const BENCH_MCP_VENDOR = "benchmcp";
const BENCH_MCP_STATEFUL_VENDOR = "benchmcp-stateful";
/** The call every target makes, and the part of the answer that proves it ran. */
const CALL = { name: "add", arguments: { a: 2, b: 3 } } as const;
const EXPECTED = '"structuredContent":{"sum":5}';
/** The revision the gateway speaks to a server that offers it (`server/discover`). */
const MODERN_VERSION = "2026-07-28";

export interface McpUpstreamTarget {
  id: McpUpstreamTargetId;
  label: string;
  protocol: string;
  runs: MeasuredRun[];
  skipped?: string;
}

export interface McpUpstreamResult {
  targets: McpUpstreamTarget[];
  /**
   * Per server and concurrency: the gateway's throughput against the direct call, and the p50 it
   * adds (`server` absent in results saved before the stateful rows: the stateless server).
   */
  ratios: Array<{
    server?: "stateless" | "stateful";
    /** The revision the client speaks (absent in older results: 2025). */
    revision?: "2025" | "2026-07-28";
    connections: number;
    /** workerd's CPU per call through the gateway. */
    gatewayCpuMsPerCall?: number;
    gatewayVsDirect?: number;
    addedP50Ms?: number;
  }>;
}

export interface McpUpstreamOptions extends LoadSettings {
  root: string;
  tmpDir: string;
  /** Only these targets. */
  targets?: McpUpstreamTargetId[];
}

/** A 2025-era request; or, `modern`, the 2026-07-28 one (per-request `_meta` envelope). */
function callBody(id: number | string, name: string, modern: boolean): string {
  const meta = {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientInfo": { name: "mcp-edge-gateway-bench", version: "1.0.0" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  const params = { ...CALL, name, ...(modern ? { _meta: meta } : {}) };
  return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params });
}

const LEGACY_HEADERS = { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION };
function modernHeaders(tool: string): Record<string, string> {
  return {
    ...MCP_HEADERS,
    "mcp-protocol-version": MODERN_VERSION,
    "mcp-method": "tools/call",
    "mcp-name": tool,
  };
}

/** A relay with no MCP knowledge: the POST, its body and MCP headers, to the upstream and back. */
const RELAY_WORKER_SOURCE = `export default {
  async fetch(request, env) {
    const headers = new Headers();
    for (const name of ["content-type", "accept", "mcp-protocol-version", "mcp-session-id", "mcp-method", "mcp-name"]) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    return fetch(env.MCP_URL, { method: "POST", headers, body: request.body });
  },
};
`;

/** A 200 whose body (JSON or SSE) carries the sum and no error. */
export function mcpSumCheck(status: number, body: string): boolean {
  return status === 200 && body.includes(EXPECTED) && !body.includes('"isError":true');
}

/** One call checked in full before the load: a target that answers wrongly is not measured. */
async function preflight(url: string, headers: Record<string, string>, body: string): Promise<void> {
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  if (parseRpcBody(text)?.result === undefined || !mcpSumCheck(res.status, text)) {
    throw new Error(`${url} tools/call answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

/** The gateway's tool name for the call on the vendor endpoint (the kind may rename nothing, but look). */
async function gatewayToolName(url: string): Promise<string> {
  const res = await fetch(url, {
    method: "POST",
    headers: LEGACY_HEADERS,
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

const pidsOf = (host: Child<{ workerdPid?: number }>) =>
  host.ready.workerdPid === undefined ? [] : [host.ready.workerdPid];

export async function runMcpUpstream(opts: McpUpstreamOptions): Promise<McpUpstreamResult> {
  const { root, tmpDir, log } = opts;
  const wanted = (id: McpUpstreamTargetId) => opts.targets === undefined || opts.targets.includes(id);
  const targets: McpUpstreamTarget[] = [];

  /** A Worker host for `via` in front of `serverUrl` (the gateway built as it deploys, or the relay). */
  const startFront = async (via: "relay" | "gateway", kind: "stateless" | "stateful", serverUrl: string) => {
    if (via === "relay") {
      const settings = readWranglerSettings(root);
      const scriptPath = join(tmpDir, "mcp-relay-worker", "worker.js");
      mkdirSync(join(tmpDir, "mcp-relay-worker"), { recursive: true });
      writeFileSync(scriptPath, RELAY_WORKER_SOURCE);
      const host = await startWorkerHost({
        scriptPath,
        compatibilityDate: settings.compatibilityDate,
        compatibilityFlags: settings.compatibilityFlags,
        bindings: { MCP_URL: serverUrl },
      });
      return { host, url: host.ready.url, tool: CALL.name };
    }
    const vendor = kind === "stateless" ? BENCH_MCP_VENDOR : BENCH_MCP_STATEFUL_VENDOR;
    const specDir = join(tmpDir, `spec-${vendor}`);
    mkdirSync(join(specDir, vendor), { recursive: true });
    writeFileSync(
      join(specDir, vendor, "vendor.json"),
      `${JSON.stringify({ displayName: `Bench ${vendor}`, mcp: { url: serverUrl } }, null, 2)}\n`,
    );
    log("  compile, wrangler deploy --dry-run…");
    const compiled = await compileSpecs(root, specDir, join(tmpDir, `generated-${vendor}`)).catch(
      (error: unknown) => {
        throw new Error(`the compiler refused the MCP vendor: ${compilerReason(error)}`);
      },
    );
    const build = await buildWorker(root, compiled.indexPath, join(tmpDir, `build-${vendor}`));
    const host = await startWorkerHost(gatewayHostConfig(root, build.scriptPath, {}));
    const url = `${host.ready.url}/v1/${vendor}/mcp`;
    try {
      return { host, url, tool: await gatewayToolName(url) };
    } catch (error) {
      await host.stop();
      throw error;
    }
  };

  for (const kind of ["stateless", "stateful"] as const) {
    const ids = (Object.keys(ROWS) as McpUpstreamTargetId[]).filter(
      (id) => ROWS[id].server === kind && wanted(id),
    );
    if (ids.length === 0) continue;
    log(`mcp-upstream: starting the ${kind} MCP server (test/support/mcp-servers/run.ts)…`);
    const server = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
      join(root, "test", "support", "mcp-servers", "run.ts"),
      kind,
    ]);
    const serverPid = server.process.pid ?? 0;
    try {
      for (const via of ["direct", "relay", "gateway"] as const) {
        const rows = ids.filter((id) => ROWS[id].via === via);
        if (rows.length === 0) continue;
        const started = targets.length;
        for (const id of rows)
          targets.push({ id, label: ROWS[id].label, protocol: protocolOf(ROWS[id]), runs: [] });
        const measured = targets.slice(started);
        // One host per front, shared by its rows; a front that fails to start marks all of them.
        let front: Awaited<ReturnType<typeof startFront>> | undefined;
        if (via !== "direct") {
          try {
            front = await startFront(via, kind, server.ready.url);
          } catch (error) {
            for (const target of measured) await guarded(target, log, () => Promise.reject(error));
            continue;
          }
        }
        try {
          for (const target of measured) {
            const row = ROWS[target.id];
            log(`mcp-upstream: ${row.label}`);
            await guarded(target, log, async () => {
              const url = front?.url ?? server.ready.url;
              const tool = front?.tool ?? CALL.name;
              const modern = row.revision === "2026";
              const headers = modern
                ? modernHeaders(tool)
                : kind === "stateful" && via === "direct"
                  ? { ...MCP_HEADERS, ...(await initialize(url)) }
                  : LEGACY_HEADERS;
              await preflight(url, headers, callBody(0, tool, modern));
              const pids = front === undefined ? [] : pidsOf(front.host);
              await measure(target, opts, { server: pids, upstream: serverPid }, (c, sec) =>
                runLoad(
                  {
                    url,
                    method: "POST",
                    headers,
                    body: callBody("[<id>]", tool, modern),
                    // The SDK's session transport refuses an id it is still answering: one id per call.
                    uniqueIds: true,
                    check: mcpSumCheck,
                  },
                  c,
                  sec,
                ),
              );
            });
          }
        } finally {
          await front?.host.stop();
        }
      }
    } finally {
      await server.stop();
    }
  }
  return { targets, ratios: ratiosOf(targets, opts.connections) };
}

function protocolOf(row: RowSpec): string {
  const revision = row.revision === "2026" ? "2026-07-28 (per-request _meta, no session)" : "2025";
  return `MCP tools/call POST, ${revision}${row.via === "direct" ? "" : `, through the ${row.via}`}`;
}

function ratiosOf(targets: McpUpstreamTarget[], connections: number[]): McpUpstreamResult["ratios"] {
  const run = (id: McpUpstreamTargetId, c: number) =>
    targets.find((t) => t.id === id && t.skipped === undefined)?.runs.find((r) => r.connections === c);
  const pairs = [
    { server: "stateless", revision: "2025", direct: "mcp-direct", gateway: "mcp-gateway" },
    { server: "stateless", revision: "2026-07-28", direct: "mcp-direct-2026", gateway: "mcp-gateway-2026" },
    { server: "stateful", revision: "2025", direct: "mcp-stateful-direct", gateway: "mcp-stateful-gateway" },
  ] as const;
  return pairs.flatMap(({ server, revision, direct, gateway }) =>
    connections.flatMap((c) => {
      const d = run(direct, c);
      const g = run(gateway, c);
      if (d === undefined || g === undefined) return [];
      return [
        {
          server,
          revision,
          connections: c,
          gatewayVsDirect: g.throughput / d.throughput,
          addedP50Ms: g.p50Ms - d.p50Ms,
          ...(g.serverCpuMsPerCall === undefined ? {} : { gatewayCpuMsPerCall: g.serverCpuMsPerCall }),
        },
      ];
    }),
  );
}
