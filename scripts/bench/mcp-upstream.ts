/**
 * Section `mcp-upstream` of the bench: what fronting an MCP server adds per call. The same
 * `tools/call` of the test servers' `add` tool (small structured answer) is made to two upstreams
 * (test/support/mcp-servers/run.ts, each its own pinned process), at each concurrency, under the
 * same closed-loop load as the per-call section:
 *
 * - the stateless SDK server (no session): (m1) directly; (m1′) through a bare Worker that relays
 *   the POST unchanged (what workerd alone costs in front of an MCP server); (m2) through the
 *   gateway, built as it deploys with one MCP vendor (`"mcp": {"url": <the server>}`);
 * - the stateful SDK server (a session from `initialize`): (m3) directly, every call on one session
 *   from one handshake; (m4) through the gateway, which keeps its own upstream session.
 *
 * Every row of a server sends it the request the gateway itself sends it, so the rows differ only
 * by what sits in between: to the stateless server a 2026-07-28 `tools/call` (`_meta` envelope,
 * `Mcp-Method`/`Mcp-Name`; the gateway negotiates that revision with it), to the stateful one a
 * 2025 `tools/call` on a session (it does not speak 2026-07-28). Every answer is checked (the sum
 * must come back); a wrong one is counted and reported.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildWorker, compileSpecs, gatewayHostConfig, readWranglerSettings } from "./gateway.ts";
import { type LoadRequest, runLoad } from "./load.ts";
import { initialize, MCP_HEADERS, PROTOCOL_VERSION, parseRpcBody } from "./mcp.ts";
import { guarded, type LoadSettings, type MeasuredRun, measure } from "./per-call.ts";
import { type Child, SERVER_CORE, spawnPinned } from "./proc.ts";
import type { HostConfig } from "./worker-host.ts";

export type McpUpstreamTargetId =
  | "mcp-direct"
  | "mcp-relay"
  | "mcp-gateway"
  | "mcp-stateful-direct"
  | "mcp-stateful-gateway";

export const MCP_UPSTREAM_TARGET_LABELS: Record<McpUpstreamTargetId, string> = {
  "mcp-direct": "(m1) stateless SDK server, called directly",
  "mcp-relay": "(m1′) the same, through a bare Worker relaying the POST (workerd)",
  "mcp-gateway": "(m2) the same, through mcp-edge-gateway (workerd)",
  "mcp-stateful-direct": "(m3) stateful SDK server, called directly (one session)",
  "mcp-stateful-gateway": "(m4) the same, through mcp-edge-gateway (workerd; its own upstream session)",
};

/** Which server a target calls, and which target calls it directly. */
const SERVER_OF: Record<McpUpstreamTargetId, "stateless" | "stateful"> = {
  "mcp-direct": "stateless",
  "mcp-relay": "stateless",
  "mcp-gateway": "stateless",
  "mcp-stateful-direct": "stateful",
  "mcp-stateful-gateway": "stateful",
};

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
    connections: number;
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
  const newTarget = (id: McpUpstreamTargetId, protocol: string): McpUpstreamTarget => {
    const target = { id, label: MCP_UPSTREAM_TARGET_LABELS[id], protocol, runs: [] };
    targets.push(target);
    log(`mcp-upstream: ${target.label}`);
    return target;
  };
  const load = (url: string, headers: Record<string, string>, body: string): LoadRequest => ({
    url,
    method: "POST",
    headers,
    body,
    // The SDK's session transport refuses an id it is still answering: one id per call.
    uniqueIds: true,
    check: mcpSumCheck,
  });
  const measureCalls = (
    target: McpUpstreamTarget,
    server: number[],
    upstream: number,
    request: LoadRequest,
  ) => measure(target, opts, { server, upstream }, (c, s) => runLoad(request, c, s));

  /** The gateway, built as it deploys, with `vendor` in front of `url`; resolves with its host. */
  const gatewayFor = async (vendor: string, url: string) => {
    const specDir = join(tmpDir, `spec-${vendor}`);
    mkdirSync(join(specDir, vendor), { recursive: true });
    writeFileSync(
      join(specDir, vendor, "vendor.json"),
      `${JSON.stringify({ displayName: `Bench ${vendor}`, mcp: { url } }, null, 2)}\n`,
    );
    const compiled = await compileSpecs(root, specDir, join(tmpDir, `generated-${vendor}`)).catch(
      (error: unknown) => {
        throw new Error(`the compiler refused the MCP vendor: ${compilerReason(error)}`);
      },
    );
    const build = await buildWorker(root, compiled.indexPath, join(tmpDir, `build-${vendor}`));
    return startWorkerHost(gatewayHostConfig(root, build.scriptPath, {}));
  };

  for (const kind of ["stateless", "stateful"] as const) {
    const ids = (Object.keys(SERVER_OF) as McpUpstreamTargetId[]).filter((id) => SERVER_OF[id] === kind);
    if (!ids.some(wanted)) continue;
    log(`mcp-upstream: starting the ${kind} MCP server (test/support/mcp-servers/run.ts)…`);
    const server = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
      join(root, "test", "support", "mcp-servers", "run.ts"),
      kind,
    ]);
    const serverPid = server.process.pid ?? 0;
    const serverUrl = server.ready.url;
    const modern = kind === "stateless";
    try {
      if (kind === "stateless" && wanted("mcp-direct")) {
        const target = newTarget("mcp-direct", "MCP tools/call POST, 2026-07-28 (no session)");
        await guarded(target, log, async () => {
          const headers = modernHeaders(CALL.name);
          await preflight(serverUrl, headers, callBody(0, CALL.name, true));
          await measureCalls(
            target,
            [],
            serverPid,
            load(serverUrl, headers, callBody("[<id>]", CALL.name, true)),
          );
        });
      }

      if (kind === "stateless" && wanted("mcp-relay")) {
        const target = newTarget("mcp-relay", "the same POST, relayed by a Worker");
        await guarded(target, log, async () => {
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
          try {
            const headers = modernHeaders(CALL.name);
            await preflight(host.ready.url, headers, callBody(0, CALL.name, true));
            await measureCalls(
              target,
              pidsOf(host),
              serverPid,
              load(host.ready.url, headers, callBody("[<id>]", CALL.name, true)),
            );
          } finally {
            await host.stop();
          }
        });
      }

      if (kind === "stateful" && wanted("mcp-stateful-direct")) {
        const target = newTarget("mcp-stateful-direct", "MCP tools/call POST, 2025 revision, one session");
        await guarded(target, log, async () => {
          const headers = { ...MCP_HEADERS, ...(await initialize(serverUrl)) };
          await preflight(serverUrl, headers, callBody(0, CALL.name, false));
          await measureCalls(
            target,
            [],
            serverPid,
            load(serverUrl, headers, callBody("[<id>]", CALL.name, false)),
          );
        });
      }

      const gatewayId = kind === "stateless" ? "mcp-gateway" : "mcp-stateful-gateway";
      if (wanted(gatewayId)) {
        const vendor = kind === "stateless" ? BENCH_MCP_VENDOR : BENCH_MCP_STATEFUL_VENDOR;
        const target = newTarget(
          gatewayId,
          `MCP tools/call POST to /v1/${vendor}/mcp, as the direct row sends it`,
        );
        log("  compile, wrangler deploy --dry-run…");
        await guarded(target, log, async () => {
          const host = await gatewayFor(vendor, serverUrl);
          try {
            const url = `${host.ready.url}/v1/${vendor}/mcp`;
            const tool = await gatewayToolName(url);
            const headers = modern ? modernHeaders(tool) : LEGACY_HEADERS;
            await preflight(url, headers, callBody(0, tool, modern));
            await measureCalls(
              target,
              pidsOf(host),
              serverPid,
              load(url, headers, callBody("[<id>]", tool, modern)),
            );
          } finally {
            await host.stop();
          }
        });
      }
    } finally {
      await server.stop();
    }
  }
  return { targets, ratios: ratiosOf(targets, opts.connections) };
}

function ratiosOf(targets: McpUpstreamTarget[], connections: number[]): McpUpstreamResult["ratios"] {
  const run = (id: McpUpstreamTargetId, c: number) =>
    targets.find((t) => t.id === id && t.skipped === undefined)?.runs.find((r) => r.connections === c);
  const pairs = [
    { server: "stateless", direct: "mcp-direct", gateway: "mcp-gateway" },
    { server: "stateful", direct: "mcp-stateful-direct", gateway: "mcp-stateful-gateway" },
  ] as const;
  return pairs.flatMap(({ server, direct, gateway }) =>
    connections.flatMap((c) => {
      const d = run(direct, c);
      const g = run(gateway, c);
      if (d === undefined || g === undefined) return [];
      return [
        {
          server,
          connections: c,
          gatewayVsDirect: g.throughput / d.throughput,
          addedP50Ms: g.p50Ms - d.p50Ms,
        },
      ];
    }),
  );
}
