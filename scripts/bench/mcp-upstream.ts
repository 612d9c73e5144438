/**
 * Section `mcp-upstream` of the bench: what fronting an upstream MCP server adds to one
 * `tools/call`, against calling that server directly, side by side in one run.
 *
 * The upstreams are the test suite's SDK-built servers (test/support/mcp-servers/run.ts, each its
 * own process on the server core): a stateless one (v2 SDK `createMcpHandler`, no session) and a
 * stateful one (a session from `initialize`, 404 for one it forgot). The call is the same on every
 * row: `add {a: 2, b: 3}`, a text item and `structuredContent` `{sum: 5}` under an outputSchema.
 *
 * Rows: (a) direct to the server; (b) a bare Worker that relays the POST to it unchanged (what
 * workerd alone costs in front of an MCP server); (c) the gateway, built as it deploys, with the
 * server as an MCP vendor (written to bench/tmp/mcp-spec/, `<VENDOR>_MCP_URL`). Every row of a server
 * sends the request the gateway sends that server: to the stateless one a 2026-07-28 `tools/call`
 * (one POST, no session), to the stateful one a 2025 `tools/call` riding one session from one
 * handshake (the gateway keeps its own upstream session).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildWorker, compileSpecs, gatewayHostConfig, readWranglerSettings } from "./gateway.ts";
import { type LoadRequest, runLoad } from "./load.ts";
import { initialize, MCP_HEADERS, PROTOCOL_VERSION, parseRpcBody, rpc } from "./mcp.ts";
import { type MeasuredRun, measure, startHost } from "./per-call.ts";
import { type Child, SERVER_CORE, spawnPinned } from "./proc.ts";

export type McpUpstreamTargetId =
  | "stateless-direct"
  | "stateless-relay"
  | "stateless-gateway"
  | "stateful-direct"
  | "stateful-gateway";

export const MCP_UPSTREAM_LABELS: Record<McpUpstreamTargetId, string> = {
  "stateless-direct": "(a) stateless SDK server, direct",
  "stateless-relay": "(b) bare Worker relaying the POST to it (workerd)",
  "stateless-gateway": "(c) mcp-edge-gateway in front of it (workerd)",
  "stateful-direct": "(a′) stateful SDK server, direct (one session)",
  "stateful-gateway": "(c′) mcp-edge-gateway in front of it (workerd, its own upstream session)",
};

export interface McpUpstreamTarget {
  id: McpUpstreamTargetId;
  label: string;
  runs: MeasuredRun[];
  skipped?: string;
}

export interface McpUpstreamResult {
  targets: McpUpstreamTarget[];
  /** Per server kind and concurrency: what the gateway adds over the direct call. */
  added: Array<{
    server: "stateless" | "stateful";
    connections: number;
    p50Ms: number;
    throughputRatio: number;
    cpuMsPerCall?: number;
  }>;
}

export interface McpUpstreamOptions {
  root: string;
  tmpDir: string;
  connections: number[];
  durationSeconds: number;
  warmupSeconds: number;
  log: (line: string) => void;
}

/** The bench vendors' names in bench/mcp-spec/ (their URLs come from `<VENDOR>_MCP_URL`). */
const VENDORS = { stateless: "mcpbench", stateful: "mcpbench-stateful" } as const;
const TOOL = "add";
const CALL = { a: 2, b: 3 } as const;

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

/** The 2026-07-28 revision: what the gateway itself sends a stateless upstream. */
const MODERN_VERSION = "2026-07-28";

function callBody(name: string, id: string, modern = false): string {
  const meta = {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientInfo": { name: "mcp-edge-gateway-bench", version: "1.0.0" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  const params = { name, arguments: CALL, ...(modern ? { _meta: meta } : {}) };
  return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params });
}

/** Under load: cheap, but an error result or another answer cannot pass. */
function sumCheck(status: number, body: string): boolean {
  return status === 200 && body.includes('"sum":5') && !body.includes('"isError":true');
}

/** One call checked in full before a row is measured. */
async function preflight(url: string, headers: Record<string, string>, tool: string): Promise<void> {
  const modern = headers["mcp-protocol-version"] === MODERN_VERSION;
  const res = await fetch(url, { method: "POST", headers, body: callBody(tool, "preflight", modern) });
  const text = await res.text();
  const result = parseRpcBody(text)?.result as { structuredContent?: unknown; isError?: boolean } | undefined;
  if (res.status !== 200 || result?.isError || JSON.stringify(result?.structuredContent) !== '{"sum":5}') {
    throw new Error(`${url} tools/call ${tool} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

function startServer(root: string, kind: "stateless" | "stateful"): Promise<Child<{ url: string }>> {
  return spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(root, "test", "support", "mcp-servers", "run.ts"),
    kind,
  ]);
}

function writeVendors(dir: string): string {
  for (const [kind, vendor] of Object.entries(VENDORS)) {
    mkdirSync(join(dir, vendor), { recursive: true });
    writeFileSync(
      join(dir, vendor, "vendor.json"),
      `${JSON.stringify(
        {
          displayName: `Bench MCP server (${kind})`,
          description: `test/support/mcp-servers/run.ts ${kind}; the bench sets ${vendor.toUpperCase().replace(/-/g, "_")}_MCP_URL`,
          mcp: { url: "http://127.0.0.1:9/mcp" },
        },
        null,
        2,
      )}\n`,
    );
  }
  return dir;
}

export async function runMcpUpstream(opts: McpUpstreamOptions): Promise<McpUpstreamResult> {
  const { root, tmpDir, log } = opts;
  log("mcp-upstream: compiling the bench MCP vendors and building the gateway (wrangler deploy --dry-run)…");
  const specsDir = writeVendors(join(tmpDir, "mcp-spec"));
  const compiled = await compileSpecs(root, specsDir, join(tmpDir, "generated-mcp"));
  const build = await buildWorker(root, compiled.indexPath, join(tmpDir, "build-mcp"));
  const relayPath = join(tmpDir, "mcp-relay-worker", "worker.js");
  mkdirSync(join(tmpDir, "mcp-relay-worker"), { recursive: true });
  writeFileSync(relayPath, RELAY_WORKER_SOURCE);
  const settings = readWranglerSettings(root);

  const targets: McpUpstreamTarget[] = [];
  const target = (id: McpUpstreamTargetId): McpUpstreamTarget => {
    const t: McpUpstreamTarget = { id, label: MCP_UPSTREAM_LABELS[id], runs: [] };
    targets.push(t);
    log(`mcp-upstream: ${t.label}`);
    return t;
  };
  const guarded = async (t: McpUpstreamTarget, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      t.skipped = `failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
      log(`  ${t.skipped}`);
    }
  };
  const load = (
    t: McpUpstreamTarget,
    server: number[],
    upstream: number,
    request: Omit<LoadRequest, "method" | "check">,
  ) =>
    measure(t, opts, { server, upstream }, (c, s) =>
      runLoad({ ...request, method: "POST", check: sumCheck }, c, s),
    );
  const legacyHeaders = { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION };
  // The stateless rows send every hop the request the gateway sends that server (2026-07-28, one
  // POST, no session), so the rows differ only by what sits in between.
  const modernHeaders = {
    ...MCP_HEADERS,
    "mcp-protocol-version": MODERN_VERSION,
    "mcp-method": "tools/call",
    "mcp-name": TOOL,
  };

  for (const kind of ["stateless", "stateful"] as const) {
    const server = await startServer(root, kind);
    const serverPid = server.process.pid ?? 0;
    const url = server.ready.url;
    try {
      // (a) direct: the stateful server gets one handshake, and every call rides its session.
      const direct = target(kind === "stateless" ? "stateless-direct" : "stateful-direct");
      await guarded(direct, async () => {
        const headers = kind === "stateless" ? modernHeaders : { ...MCP_HEADERS, ...(await initialize(url)) };
        await preflight(url, headers, TOOL);
        // The SDK's session transport refuses a request id it is still answering: one id per call.
        await load(direct, [], serverPid, {
          url,
          headers,
          body: callBody(TOOL, "[<id>]", kind === "stateless"),
          uniqueIds: true,
        });
      });

      // (b) the bare relay Worker (stateless only: it forwards no session of its own).
      if (kind === "stateless") {
        const relay = target("stateless-relay");
        await guarded(relay, async () => {
          const host = await startHost({
            scriptPath: relayPath,
            compatibilityDate: settings.compatibilityDate,
            compatibilityFlags: settings.compatibilityFlags,
            bindings: { MCP_URL: url },
          });
          try {
            await preflight(host.ready.url, modernHeaders, TOOL);
            await load(relay, pidsOf(host), serverPid, {
              url: host.ready.url,
              headers: modernHeaders,
              body: callBody(TOOL, "[<id>]", true),
              uniqueIds: true,
            });
          } finally {
            await host.stop();
          }
        });
      }

      // (c) the gateway with the server as its MCP vendor.
      const gateway = target(kind === "stateless" ? "stateless-gateway" : "stateful-gateway");
      await guarded(gateway, async () => {
        const vendor = VENDORS[kind];
        const envName = `${vendor.toUpperCase().replace(/-/g, "_")}_MCP_URL`;
        const host = await startHost(gatewayHostConfig(root, build.scriptPath, { [envName]: url }));
        try {
          const endpoint = `${host.ready.url}/v1/${vendor}/mcp`;
          const list = await rpc(endpoint, "tools/list", {}, { id: 1, headers: legacyHeaders });
          const names = ((list.message?.result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
          if (!names.includes(TOOL))
            throw new Error(`gateway tools/list has no ${TOOL}: ${list.text.slice(0, 300)}`);
          // The client speaks to the gateway as the direct row speaks to the server.
          const headers = kind === "stateless" ? modernHeaders : legacyHeaders;
          await preflight(endpoint, headers, TOOL);
          await load(gateway, pidsOf(host), serverPid, {
            url: endpoint,
            headers,
            body: callBody(TOOL, "[<id>]", kind === "stateless"),
            uniqueIds: true,
          });
        } finally {
          await host.stop();
        }
      });
    } finally {
      await server.stop();
    }
  }
  return { targets, added: addedOf(targets, opts.connections) };
}

function pidsOf(host: Child<{ workerdPid?: number }>): number[] {
  return host.ready.workerdPid === undefined ? [] : [host.ready.workerdPid];
}

function addedOf(targets: McpUpstreamTarget[], connections: number[]): McpUpstreamResult["added"] {
  const byId = new Map(targets.map((t) => [t.id, t]));
  const at = (id: McpUpstreamTargetId, c: number) => byId.get(id)?.runs.find((r) => r.connections === c);
  return (["stateless", "stateful"] as const).flatMap((server) =>
    connections.flatMap((c) => {
      const direct = at(`${server}-direct`, c);
      const gateway = at(`${server}-gateway`, c);
      if (!direct || !gateway) return [];
      return [
        {
          server,
          connections: c,
          p50Ms: gateway.p50Ms - direct.p50Ms,
          throughputRatio: gateway.throughput / direct.throughput,
          ...(gateway.serverCpuMsPerCall === undefined ? {} : { cpuMsPerCall: gateway.serverCpuMsPerCall }),
        },
      ];
    }),
  );
}
