/**
 * Hosts one Worker on workerd through the `miniflare` API with its own socket (no
 * `wrangler dev` proxy in front). Run as a child pinned to the server core:
 *
 *   node scripts/bench/worker-host.ts '<HostConfig JSON>'
 *
 * Prints `{"url", "workerdPid", "readyMs"}` once the runtime listens; stops on SIGTERM or
 * when stdin closes.
 */

import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { childPids, processName } from "./proc.ts";

export interface HostConfig {
  /** Path to a bundled ES module Worker. */
  scriptPath: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  bindings: Record<string, string>;
  /** Durable Object binding name → class exported by the script. */
  durableObjects?: Record<string, string | { className: string; useSQLite?: boolean }>;
  kvNamespaces?: string[];
  /** Chrome DevTools inspector port (profiling with scripts/bench/profile.ts). */
  inspectorPort?: number;
}

/** The bare forwarding Worker, case (b): the floor for anything running on Workers. */
export const BARE_WORKER_SOURCE = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM_URL + url.pathname + url.search, { headers: { accept: "application/json" } });
  },
};
`;

/**
 * Reference floor for MCP on Workers: a hand-written `tools/call` for the bench operation with
 * no validation, auth, resilience or SDK — only what any MCP server must do (parse the JSON-RPC
 * request, call the upstream, read its body into JS, wrap it as a result). Not a product.
 */
export const MINIMAL_MCP_WORKER_SOURCE = `export default {
  async fetch(request, env) {
    const message = await request.json();
    const a = message.params.arguments;
    const url = env.UPSTREAM_URL + "/stores/" + encodeURIComponent(a.storeId) + "/items/" + encodeURIComponent(a.itemId) +
      "?currency=" + encodeURIComponent(a.currency) + "&limit=" + encodeURIComponent(a.limit);
    const upstream = await fetch(url, { headers: { accept: "application/json" } });
    const text = await upstream.text();
    const result = { content: [{ type: "text", text }], structuredContent: JSON.parse(text) };
    return new Response(JSON.stringify({ result, jsonrpc: "2.0", id: message.id }), {
      headers: { "content-type": "application/json" },
    });
  },
};
`;

function findWorkerd(): number | undefined {
  const pending = [process.pid];
  while (pending.length > 0) {
    const pid = pending.shift() as number;
    for (const child of childPids(pid)) {
      if (processName(child) === "workerd") return child;
      pending.push(child);
    }
  }
  return undefined;
}

/**
 * Miniflare options for a host config. No persistence path: storage lives in a temporary
 * directory removed on dispose. Miniflare 5 takes a new option shape; the documented v4
 * shape converts into it. Modules are named relative to the script's folder (a script
 * outside the working directory would otherwise get `../` module names workerd rejects).
 */
export function miniflareOptions(config: HostConfig): ReturnType<typeof convertV4MiniflareOptions> {
  return convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    ...(config.inspectorPort ? { inspectorPort: config.inspectorPort } : {}),
    modules: true,
    modulesRoot: dirname(config.scriptPath),
    scriptPath: config.scriptPath,
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    bindings: config.bindings,
    ...(config.durableObjects ? { durableObjects: config.durableObjects } : {}),
    ...(config.kvNamespaces ? { kvNamespaces: config.kvNamespaces } : {}),
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as HostConfig;
  const started = performance.now();
  const mf = new Miniflare(miniflareOptions(config));
  const url = await mf.ready;
  const readyMs = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ url: url.origin, workerdPid: findWorkerd(), readyMs })}\n`);
  const stop = () => {
    mf.dispose().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
}

// Imported for its types and the bare Worker source; runs only as the child process.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
