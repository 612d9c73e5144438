/**
 * CPU profile of the gateway inside workerd, for finding where a tool call's time goes:
 *
 *   node scripts/bench/profile.ts [--calls 3000] [--method tools/call|tools/list|ping] [--no-do]
 *
 * Builds the gateway with the bench vendor, starts it on miniflare with the DevTools
 * inspector on, records a V8 CPU profile while sending `--calls` sequential requests, and
 * prints the functions with the most self time (and writes bench/tmp/gateway.cpuprofile,
 * which Chrome DevTools opens). CPU samples do not depend on how busy the machine is.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildWorker, compileSpecs, gatewayHostConfig } from "./gateway.ts";
import { GATEWAY_MCP_PATH, gatewayItemTool, toolCallBody } from "./mcp.ts";
import { freePort } from "./peers.ts";
import { SERVER_CORE, spawnPinned } from "./proc.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A Chrome DevTools protocol session with a workerd isolate (miniflare's inspector port). */
export class Inspector {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, (value: unknown) => void>();
  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
      if (message.id !== undefined)
        this.#pending.get(message.id)?.(message.error ? Promise.reject(message.error) : message.result);
    });
  }
  static async connect(port: number, workerName: string): Promise<Inspector> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
      id: string;
      title: string;
      webSocketDebuggerUrl: string;
    }>;
    const target = targets.find((t) => t.title.includes(workerName)) ?? targets[0];
    if (!target) throw new Error("no inspector target");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", reject, { once: true });
    });
    return new Inspector(ws);
  }
  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve) => {
      this.#pending.set(id, resolve as (value: unknown) => void);
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }
  close(): void {
    this.#ws.close();
  }
}

/** Self time per function (ms), largest first. */
export function selfTimes(profile: CpuProfile): Array<{ name: string; ms: number; share: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!node) return;
    const frame = node.callFrame;
    const file = frame.url.split("/").pop() ?? "";
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    totals.set(name, (totals.get(name) ?? 0) + dt);
    all += dt;
  });
  return [...totals.entries()]
    .map(([name, ms]) => ({ name, ms, share: ms / all }))
    .sort((a, b) => b.ms - a.ms);
}

/** Inclusive time per function (ms): samples where it is anywhere on the stack, counted once. */
export function inclusiveTimes(profile: CpuProfile): Array<{ name: string; ms: number; share: number }> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const label = (node: ProfileNode) =>
    `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop() ?? ""}:${node.callFrame.lineNumber + 1}`;
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    all += dt;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const name = label(node);
      if (seen.has(name)) continue;
      seen.add(name);
      totals.set(name, (totals.get(name) ?? 0) + dt);
    }
  });
  return [...totals.entries()]
    .map(([name, ms]) => ({ name, ms, share: ms / all }))
    .sort((a, b) => b.ms - a.ms);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: "string", default: "3000" },
      method: { type: "string", default: "tools/call" },
      "no-do": { type: "boolean", default: false },
      top: { type: "string", default: "40" },
    },
  });
  const root = join(import.meta.dirname, "..", "..");
  const tmp = join(root, "bench", "tmp");
  const compiled = await compileSpecs(root, join(root, "bench", "spec"), join(tmp, "generated-bench"));
  const build = await buildWorker(root, compiled.indexPath, join(tmp, "build-bench"));
  const upstream = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "upstream.ts"),
  ]);
  const inspectorPort = await freePort();
  const config = gatewayHostConfig(root, build.scriptPath, { BENCHAPI_BASE_URL: upstream.ready.url });
  if (values["no-do"]) delete config.durableObjects;
  config.inspectorPort = inspectorPort;
  const host = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(config),
  ]);
  try {
    const url = host.ready.url + GATEWAY_MCP_PATH;
    const { headers, tool } = await gatewayItemTool(url);
    const body =
      values.method === "tools/call"
        ? toolCallBody(tool, 1)
        : JSON.stringify({ jsonrpc: "2.0", id: 1, method: values.method });
    const calls = Number(values.calls);
    for (let i = 0; i < 200; i++) await (await fetch(url, { method: "POST", headers, body })).text();
    const inspector = await Inspector.connect(inspectorPort, "bench");
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
    await inspector.send("Profiler.start");
    const started = performance.now();
    for (let i = 0; i < calls; i++) await (await fetch(url, { method: "POST", headers, body })).text();
    const elapsed = performance.now() - started;
    const { profile } = await inspector.send<{ profile: CpuProfile }>("Profiler.stop");
    inspector.close();
    const out = join(tmp, "gateway.cpuprofile");
    writeFileSync(out, JSON.stringify(profile));
    const times = selfTimes(profile);
    const busy = times.filter((t) => !t.name.startsWith("(idle)")).reduce((n, t) => n + t.ms, 0);
    console.log(
      `${calls} × ${values.method}: ${(elapsed / calls).toFixed(3)} ms per call at the client; JS busy ${(busy / calls).toFixed(3)} ms per call (profile: ${out})`,
    );
    const print = (title: string, rows: Array<{ name: string; ms: number; share: number }>) => {
      console.log(`\n${title}:`);
      for (const t of rows.slice(0, Number(values.top))) {
        console.log(
          `${(t.ms / calls).toFixed(4).padStart(8)} ms/call ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`,
        );
      }
    };
    print("self time", times);
    print("inclusive time", inclusiveTimes(profile));
  } finally {
    await host.stop();
    await upstream.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
