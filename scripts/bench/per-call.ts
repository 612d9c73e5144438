/**
 * Section 1 of the bench: the cost of one tool call through each target, side by side.
 *
 * (a) direct HTTP to the upstream, (b) a bare forwarding Worker, (c) the gateway, both on
 * workerd via miniflare with their own socket, (d) @ivotoby/openapi-mcp-server and
 * (e) an openapi-mcp-generator server, all against the same upstream and spec, at each
 * concurrency, with the same closed-loop load.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildWorker, compileSpecs, gatewayHostConfig, readWranglerSettings } from "./gateway.ts";
import { type LoadRequest, type LoadResult, runLoad } from "./load.ts";
import {
  EXPECTED_ITEM,
  findItemTool,
  GATEWAY_MCP_PATH,
  gatewayItemTool,
  initialize,
  isExpectedCallResult,
  MCP_HEADERS,
  PROTOCOL_VERSION,
  parseRpcBody,
  quickCallCheck,
  rpc,
  toolCallBody,
  UPSTREAM_PATH,
} from "./mcp.ts";
import { freePort, prepareGenerated, startGenerated, startIvotoby } from "./peers.ts";
import { primitivesWorkerSource, type RuntimeFloor, runPrimitives } from "./primitives.ts";
import { type Child, cpuSeconds, SERVER_CORE, spawnPinned } from "./proc.ts";
import { Inspector } from "./profile.ts";
import { runSseLoad } from "./sse-load.ts";
import {
  FULL_GATEWAY_STEP,
  type RecordedAnswer,
  STAGE_BUILDS,
  stageDefine,
  WITHOUT_BUILDS,
  WITHOUT_PREFIX,
  writeStageSource,
} from "./stages.ts";
import { BARE_WORKER_SOURCE, type HostConfig, MINIMAL_MCP_WORKER_SOURCE } from "./worker-host.ts";

export type TargetId = "direct" | "bare" | "minimal" | "gateway" | "ivotoby" | "generated";

export const TARGET_LABELS: Record<TargetId, string> = {
  direct: "(a) direct HTTP to upstream",
  bare: "(b) bare forwarding Worker (workerd)",
  minimal: "(b′) 12-line MCP tools/call Worker, no checks (reference floor, workerd)",
  gateway: "(c) mcp-edge-gateway (workerd)",
  ivotoby: "(d) @ivotoby/openapi-mcp-server",
  generated: "(e) openapi-mcp-generator server",
};

export interface TargetResult {
  id: TargetId;
  label: string;
  /** How the calls were made. */
  protocol: string;
  runs: MeasuredRun[];
  skipped?: string;
  notes?: string[];
}

export interface PerCallOptions {
  root: string;
  tmpDir: string;
  connections: number[];
  durationSeconds: number;
  warmupSeconds: number;
  log: (line: string) => void;
  /** Only these targets (and no breakdown): for iterating on one target against its floor. */
  targets?: TargetId[];
}

/** How long and how hard every measured target is loaded. */
export type LoadSettings = Pick<PerCallOptions, "connections" | "durationSeconds" | "warmupSeconds" | "log">;

export interface PerCallResult {
  targets: TargetResult[];
  /** Calls per second of each target at each concurrency, and the gateway's ratios. */
  ratios: Array<{
    connections: number;
    gatewayVsDirect: number;
    gatewayVsBare: number;
    gatewayVsBestPeer?: number;
    bestPeer?: string;
    addedP50OverBareMs: number;
    /** The reference floor (b′) against the bare Worker: the most any MCP Worker keeps. */
    floorVsBare?: number;
  }>;
  /** Where the gateway's CPU goes: the same Worker answering less and less of the call (c=32). */
  breakdown: BreakdownRow[];
  /** What the runtime charges per primitive a tool call uses (scripts/bench/primitives.ts). */
  primitives?: RuntimeFloor;
  /** The gateway isolate's V8 heap right after its runs, after a full GC: what finished calls still hold. */
  gatewayHeap?: { calls: number; usedMiB: number };
}

export interface BreakdownRow {
  step: string;
  throughput: number;
  cpuMsPerCall?: number;
}

function startHost(
  config: HostConfig,
): Promise<Child<{ url: string; workerdPid?: number; readyMs: number }>> {
  return spawnPinned(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(config),
  ]);
}

/** A measured run plus the CPU the server processes spent per call (robust to a busy machine). */
export interface MeasuredRun extends LoadResult {
  /** CPU ms per completed call of the process under test (workerd, or the peer's Node). */
  serverCpuMsPerCall?: number;
  /** CPU ms per completed call of the upstream. */
  upstreamCpuMsPerCall?: number;
}

function cpuOf(pids: number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds === undefined) return undefined;
    total += seconds;
  }
  return total;
}

/** Warm-up, then one measured run per concurrency, each with the server processes' CPU per call. */
export async function measure(
  target: { id: string; runs: MeasuredRun[] },
  opts: LoadSettings,
  pids: { server: number[]; upstream: number },
  run: (connections: number, seconds: number) => Promise<LoadResult>,
): Promise<void> {
  const top = Math.max(...opts.connections);
  // Warm-up at the highest concurrency: JIT, connection pools, Durable Object start.
  if (opts.warmupSeconds > 0) await run(top, opts.warmupSeconds);
  for (const connections of opts.connections) {
    const server0 = cpuOf(pids.server);
    const upstream0 = cpuSeconds(pids.upstream);
    const load = await run(connections, opts.durationSeconds);
    const server1 = cpuOf(pids.server);
    const upstream1 = cpuSeconds(pids.upstream);
    const perCall = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined || load.requests === 0
        ? undefined
        : ((b - a) * 1000) / load.requests;
    const result: MeasuredRun = {
      ...load,
      ...(pids.server.length > 0 && perCall(server0, server1) !== undefined
        ? { serverCpuMsPerCall: perCall(server0, server1) }
        : {}),
      ...(perCall(upstream0, upstream1) !== undefined
        ? { upstreamCpuMsPerCall: perCall(upstream0, upstream1) }
        : {}),
    };
    opts.log(
      `  ${target.id} c=${connections}: ${result.throughput.toFixed(0)} calls/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
        (result.serverCpuMsPerCall === undefined
          ? ""
          : `, server CPU ${result.serverCpuMsPerCall.toFixed(3)} ms/call`) +
        (result.errors + result.non2xx + result.mismatches + result.timeouts > 0
          ? ` — ${result.errors} errors, ${result.non2xx} non-2xx, ${result.mismatches} wrong answers, ${result.timeouts} timeouts`
          : ""),
    );
    target.runs.push(result);
  }
}

const expectedBody = JSON.stringify(EXPECTED_ITEM);

/** Runs one target's measurement; a failure is recorded on the target and the bench goes on. */
export async function guarded(
  target: { skipped?: string },
  log: (line: string) => void,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    target.skipped = `failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
    log(`  ${target.skipped}`);
  }
}

/** One call checked in full before the load: a target that answers wrongly is not measured. */
/** `measure` over a closed-loop load of POSTed tools/call requests, each checked as a quick call. */
function measureToolCalls(
  target: TargetResult,
  opts: PerCallOptions,
  pids: { server: number[]; upstream: number },
  request: Omit<LoadRequest, "method" | "check">,
): Promise<void> {
  return measure(target, opts, pids, (c, s) =>
    runLoad({ ...request, method: "POST", check: quickCallCheck }, c, s),
  );
}

async function preflight(url: string, headers: Record<string, string>, tool: string): Promise<void> {
  const res = await fetch(url, { method: "POST", headers, body: toolCallBody(tool, "preflight") });
  const text = await res.text();
  if (!isExpectedCallResult(parseRpcBody(text)) || !quickCallCheck(res.status, text)) {
    throw new Error(`${url} tools/call answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

export async function runPerCall(opts: PerCallOptions): Promise<PerCallResult> {
  const { root, tmpDir, log } = opts;
  const specDir = join(root, "bench", "spec");
  const specPath = join(specDir, "benchapi", "openapi.json");
  const targets: TargetResult[] = [];
  const breakdown: BreakdownRow[] = [];
  const wanted = (id: TargetId) => opts.targets === undefined || opts.targets.includes(id);
  let primitives: RuntimeFloor | undefined;
  let gatewayHeap: PerCallResult["gatewayHeap"];

  log("per-call: compiling bench/spec and building the gateway (wrangler deploy --dry-run)…");
  const compiled = await compileSpecs(root, specDir, join(tmpDir, "generated-bench"));
  const build = await buildWorker(root, compiled.indexPath, join(tmpDir, "build-bench"));
  const workers = writeHandWrittenWorkers(tmpDir);
  const settings = readWranglerSettings(root);

  const upstream = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "upstream.ts"),
  ]);
  const upstreamUrl = upstream.ready.url;
  const upstreamPid = upstream.process.pid ?? 0;
  const hostPids = (host: Child<{ workerdPid?: number }>) =>
    host.ready.workerdPid === undefined ? [] : [host.ready.workerdPid];
  try {
    // (a) direct
    if (wanted("direct")) {
      const target: TargetResult = {
        id: "direct",
        label: TARGET_LABELS.direct,
        protocol: "HTTP GET",
        runs: [],
      };
      targets.push(target);
      const url = upstreamUrl + UPSTREAM_PATH;
      log("per-call: (a) direct");
      await measure(target, opts, { server: [], upstream: upstreamPid }, (c, s) =>
        runLoad({ url, method: "GET", expectBody: expectedBody }, c, s),
      );
    }

    // (b) bare Worker
    if (wanted("bare")) {
      const target: TargetResult = {
        id: "bare",
        label: TARGET_LABELS.bare,
        protocol: "HTTP GET → fetch",
        runs: [],
      };
      targets.push(target);
      log("per-call: (b) bare Worker");
      await guarded(target, log, async () => {
        const host = await startHost(plainWorkerConfig(workers.bare, settings, upstreamUrl));
        try {
          const url = host.ready.url + UPSTREAM_PATH;
          const first = await (await fetch(url)).text();
          if (first !== expectedBody) throw new Error(`bare Worker answered ${first.slice(0, 200)}`);
          await measure(target, opts, { server: hostPids(host), upstream: upstreamPid }, (c, s) =>
            runLoad({ url, method: "GET", expectBody: expectedBody }, c, s),
          );
        } finally {
          await host.stop();
        }
      });
    }

    // (b′) reference floor: the least any MCP tools/call Worker does.
    if (wanted("minimal")) {
      const target: TargetResult = {
        id: "minimal",
        label: TARGET_LABELS.minimal,
        protocol: "MCP tools/call, hand-written",
        runs: [],
      };
      targets.push(target);
      log("per-call: (b′) minimal MCP Worker");
      await guarded(target, log, async () => {
        const host = await startHost(plainWorkerConfig(workers.minimal, settings, upstreamUrl));
        try {
          const url = `${host.ready.url}/mcp`;
          await preflight(url, MCP_HEADERS, "getItem");
          await measureToolCalls(
            target,
            opts,
            { server: hostPids(host), upstream: upstreamPid },
            { url, headers: MCP_HEADERS, body: toolCallBody("getItem", 1) },
          );
        } finally {
          await host.stop();
        }
      });
    }

    // (c) the gateway
    if (wanted("gateway")) {
      const target: TargetResult = {
        id: "gateway",
        label: TARGET_LABELS.gateway,
        protocol: "MCP tools/call (stateless JSON)",
        runs: [],
        notes: [build.wranglerSizeLine],
      };
      targets.push(target);
      log("per-call: (c) gateway");
      await guarded(target, log, async () => {
        const inspectorPort = await freePort();
        const host = await startHost({
          ...gatewayHostConfig(root, build.scriptPath, { BENCHAPI_BASE_URL: upstreamUrl }),
          inspectorPort,
        });
        try {
          const url = host.ready.url + GATEWAY_MCP_PATH;
          const { headers, tool } = await gatewayItemTool(url);
          await preflight(url, headers, tool);
          await measureToolCalls(
            target,
            opts,
            { server: hostPids(host), upstream: upstreamPid },
            { url, headers, body: toolCallBody(tool, 1) },
          );
          gatewayHeap = await heapAfterLoad(inspectorPort, target);
          log(
            `  gateway isolate heap after ${f0(gatewayHeap.calls)} measured calls and the warm-up: ${gatewayHeap.usedMiB.toFixed(1)} MiB`,
          );
        } finally {
          await host.stop();
        }
      });
    }

    // Breakdown: the gateway build answering less and less of the call.
    if (opts.targets === undefined) {
      log("per-call: gateway breakdown (c=32)");
      try {
        breakdown.push(
          ...(await runBreakdown(
            opts,
            { scriptPath: build.scriptPath, bundlesIndex: compiled.indexPath },
            workers,
            upstreamUrl,
          )),
        );
      } catch (error) {
        log(`  breakdown failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
      log("per-call: runtime primitives");
      try {
        primitives = await runPrimitives({
          tmpDir,
          compatibilityDate: settings.compatibilityDate,
          compatibilityFlags: settings.compatibilityFlags,
          requests: 300,
          repetitions: 500,
          log,
        });
      } catch (error) {
        log(`  primitives failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
    }

    // (d) @ivotoby/openapi-mcp-server
    if (wanted("ivotoby")) {
      const target: TargetResult = {
        id: "ivotoby",
        label: TARGET_LABELS.ivotoby,
        protocol: "MCP tools/call; result on the session's GET stream (its transport answers POST with 202)",
        runs: [],
        notes: [
          "--transport http --verbose false; one session per connection; closed-loop driver (scripts/bench/sse-load.ts)",
        ],
      };
      targets.push(target);
      log("per-call: (d) @ivotoby/openapi-mcp-server");
      try {
        const peer = await startIvotoby(root, specPath, upstreamUrl);
        try {
          const headers = await initialize(peer.url);
          const list = await rpc(peer.url, "tools/list", {}, { id: "list", headers });
          const tool = findItemTool(list.message);
          if (!tool) throw new Error(`tools/list has no item tool: ${list.text.slice(0, 300)}`);
          await measure(target, opts, { server: [peer.pid], upstream: upstreamPid }, (c, s) =>
            runSseLoad(peer.url, tool, c, s),
          );
        } finally {
          await peer.stop();
        }
      } catch (error) {
        target.skipped = error instanceof Error ? error.message.split("\n")[0] : String(error);
        log(`  skipped: ${target.skipped}`);
      }
    }

    // (e) openapi-mcp-generator
    if (wanted("generated")) {
      const target: TargetResult = {
        id: "generated",
        label: TARGET_LABELS.generated,
        protocol: "MCP tools/call over its streamable-http transport (one session, unique ids)",
        runs: [],
      };
      targets.push(target);
      log("per-call: (e) openapi-mcp-generator");
      const port = await freePort();
      const generated = prepareGenerated(
        root,
        specPath,
        join(root, "bench", "tmp", "openapi-mcp-generator"),
        port,
      );
      target.notes = Object.entries(generated.versions)
        .filter(([, v]) => v.wanted !== undefined)
        .map(([name, v]) => `${name} ${v.found} (generated package.json wants ${v.wanted})`);
      if (!generated.entry) {
        target.skipped = `the generated project imports packages this repository does not have: ${generated.missing.join(", ")} (not installed by the bench; add them as devDependencies to run this peer)`;
        log(`  skipped: ${target.skipped}`);
      } else {
        try {
          const peer = await startGenerated(generated.entry, port, upstreamUrl);
          try {
            const headers = { ...MCP_HEADERS, ...(await initialize(peer.url)) };
            const list = await rpc(peer.url, "tools/list", {}, { id: "list", headers });
            const tool = findItemTool(list.message);
            if (!tool) throw new Error(`tools/list has no item tool: ${list.text.slice(0, 300)}`);
            await preflight(peer.url, headers, tool);
            await measureToolCalls(
              target,
              opts,
              { server: [peer.pid], upstream: upstreamPid },
              { url: peer.url, headers, body: toolCallBody(tool, "[<id>]"), uniqueIds: true },
            );
          } finally {
            await peer.stop();
          }
        } catch (error) {
          target.skipped = error instanceof Error ? error.message.split("\n")[0] : String(error);
          log(`  skipped: ${target.skipped}`);
        }
      }
    }
  } finally {
    await upstream.stop();
  }
  return {
    targets,
    ratios: ratiosOf(targets, opts.connections),
    breakdown,
    ...(primitives === undefined ? {} : { primitives }),
    ...(gatewayHeap === undefined ? {} : { gatewayHeap }),
  };
}

/** Script paths of the hand-written Workers: (b), (b′) and one that answers a constant. */
interface HandWrittenWorkers {
  bare: string;
  minimal: string;
  constant: string;
}

/** The isolate heap after `target`'s warm-up and runs, after a full GC (`Runtime.getHeapUsage`). */
async function heapAfterLoad(
  inspectorPort: number,
  target: TargetResult,
): Promise<{ calls: number; usedMiB: number }> {
  const inspector = await Inspector.connect(inspectorPort, "bench");
  try {
    // A heap snapshot runs a full GC first (workerd's inspector has no HeapProfiler.collectGarbage),
    // so the size left is what calls retain, not garbage a later GC would free.
    await inspector.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const { usedSize } = await inspector.send<{ usedSize: number }>("Runtime.getHeapUsage");
    return { calls: target.runs.reduce((n, run) => n + run.requests, 0), usedMiB: usedSize / 2 ** 20 };
  } finally {
    inspector.close();
  }
}

const f0 = (n: number) => n.toLocaleString("en-US");

function writeHandWrittenWorkers(tmpDir: string): HandWrittenWorkers {
  const write = (name: string, source: string) => {
    const path = join(tmpDir, name, "worker.js");
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, source);
    return path;
  };
  return {
    bare: write("bare-worker", BARE_WORKER_SOURCE),
    minimal: write("minimal-mcp-worker", MINIMAL_MCP_WORKER_SOURCE),
    constant: write("constant-worker", primitivesWorkerSource([])),
  };
}

/** A hand-written Worker on the gateway's compatibility settings, pointed at the upstream. */
function plainWorkerConfig(
  scriptPath: string,
  settings: ReturnType<typeof readWranglerSettings>,
  upstreamUrl: string,
): HostConfig {
  return {
    scriptPath,
    compatibilityDate: settings.compatibilityDate,
    compatibilityFlags: settings.compatibilityFlags,
    bindings: { UPSTREAM_URL: upstreamUrl },
  };
}

/** Rounds of the breakdown; each row reports its cheapest round. */
const BREAKDOWN_ROUNDS = 3;

/** One row of the breakdown: a Worker, and the request it is measured on. */
interface BreakdownStep {
  step: string;
  config: HostConfig;
  path: string;
  request: Omit<LoadRequest, "url">;
  /** A gateway row: it must answer exactly the recorded bytes. */
  replays?: boolean;
}

/**
 * CPU per call of the hand-written floors, then of the gateway stopped earlier and earlier
 * through its seams (scripts/bench/stages.ts), then whole: the differences are what each
 * stage costs.
 */
async function runBreakdown(
  opts: PerCallOptions,
  gateway: { scriptPath: string; bundlesIndex: string },
  workers: HandWrittenWorkers,
  upstreamUrl: string,
): Promise<BreakdownRow[]> {
  const rows: BreakdownRow[] = [];
  const seconds = Math.max(2, Math.round(opts.durationSeconds / BREAKDOWN_ROUNDS));
  const settings = readWranglerSettings(opts.root);
  const plainWorker = (scriptPath: string) => plainWorkerConfig(scriptPath, settings, upstreamUrl);
  const gatewayConfig = (scriptPath: string) =>
    gatewayHostConfig(opts.root, scriptPath, { BENCHAPI_BASE_URL: upstreamUrl });
  const { tool, answer } = await recordGatewayAnswer(gatewayConfig(gateway.scriptPath), upstreamUrl);
  const gatewayCall: Omit<LoadRequest, "url"> = {
    method: "POST",
    headers: { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION },
    body: toolCallBody(tool, 1),
    check: quickCallCheck,
  };
  const steps: BreakdownStep[] = [
    {
      step: "Worker answering a constant (GET): the runtime's own cost per request",
      config: plainWorker(workers.constant),
      path: "/?op=none&n=0",
      request: { method: "GET" },
    },
    {
      step: "(b) bare Worker: fetch and stream back",
      config: plainWorker(workers.bare),
      path: UPSTREAM_PATH,
      request: { method: "GET" },
    },
    {
      step: "(b′) 12-line MCP Worker: parse JSON-RPC, fetch, read the body, answer",
      config: plainWorker(workers.minimal),
      path: "/mcp",
      request: {
        method: "POST",
        headers: MCP_HEADERS,
        body: toolCallBody("getItem", 1),
        check: quickCallCheck,
      },
    },
  ];
  // The gateway stopped at each stage through its seams (scripts/bench/stages.ts), then whole.
  for (const stage of STAGE_BUILDS) {
    const workDir = join(opts.tmpDir, "stages", stage.id);
    const entry = writeStageSource(opts.root, workDir, stage);
    const built = await buildWorker(
      opts.root,
      gateway.bundlesIndex,
      join(workDir, "build"),
      entry,
      stageDefine(answer),
    );
    steps.push({
      step: `gateway: ${stage.step}`,
      config: gatewayConfig(built.scriptPath),
      path: GATEWAY_MCP_PATH,
      request: gatewayCall,
      replays: true,
    });
  }
  steps.push({
    step: `gateway: ${FULL_GATEWAY_STEP}`,
    config: gatewayConfig(gateway.scriptPath),
    path: GATEWAY_MCP_PATH,
    request: gatewayCall,
    replays: true,
  });
  // The whole gateway without one part each: the row above minus such a row is that part's cost.
  for (const stage of WITHOUT_BUILDS) {
    const workDir = join(opts.tmpDir, "stages", stage.id);
    const entry = writeStageSource(opts.root, workDir, stage);
    const built = await buildWorker(opts.root, gateway.bundlesIndex, join(workDir, "build"), entry, {});
    steps.push({
      step: `${WITHOUT_PREFIX}${stage.step}`,
      config: gatewayConfig(built.scriptPath),
      path: GATEWAY_MCP_PATH,
      request: gatewayCall,
      replays: true,
    });
  }
  // All hosts up at once (idle ones cost nothing), then measured in interleaved rounds: a
  // slow moment of the machine then hits one round of every row, not every round of one row.
  const hosts: Array<Child<{ url: string; workerdPid?: number; readyMs: number }>> = [];
  try {
    for (const step of steps) hosts.push(await startHost(step.config));
    const requests = steps.map((step, i) => ({ url: hosts[i]!.ready.url + step.path, ...step.request }));
    // Every gateway row answers the measured call byte for byte as the whole gateway does.
    for (const [i, step] of steps.entries()) {
      if (!step.replays) continue;
      const { url, method, headers, body } = requests[i]!;
      const res = await fetch(url, { method, ...(headers ? { headers } : {}), ...(body ? { body } : {}) });
      const text = await res.text();
      if (res.status !== 200 || text !== answer.responseText) {
        throw new Error(`${step.step} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
      }
    }
    for (const request of requests) await runLoad(request, 32, 1);
    const best: Array<BreakdownRow | undefined> = steps.map(() => undefined);
    for (let round = 0; round < BREAKDOWN_ROUNDS; round++) {
      for (const [i, step] of steps.entries()) {
        const pid = hosts[i]!.ready.workerdPid;
        const before = pid === undefined ? undefined : cpuSeconds(pid);
        const load = await runLoad(requests[i]!, 32, seconds);
        const after = pid === undefined ? undefined : cpuSeconds(pid);
        const cpuMsPerCall =
          before === undefined || after === undefined || load.requests === 0
            ? undefined
            : ((after - before) * 1000) / load.requests;
        // Interference only adds CPU: the cheapest round is the closest to the row's own cost.
        const previous = best[i];
        if (previous === undefined || (cpuMsPerCall ?? Infinity) < (previous.cpuMsPerCall ?? Infinity)) {
          best[i] = {
            step: step.step,
            throughput: load.throughput,
            ...(cpuMsPerCall === undefined ? {} : { cpuMsPerCall }),
          };
        }
      }
    }
    let whole: number | undefined;
    for (const row of best) {
      if (row === undefined) continue;
      rows.push(row);
      opts.log(
        `  ${row.step}: ${row.throughput.toFixed(0)}/s, ${row.cpuMsPerCall?.toFixed(3) ?? "?"} ms CPU per call`,
      );
      if (row.step.startsWith("gateway: ")) whole = row.cpuMsPerCall;
      else if (row.step.startsWith(WITHOUT_PREFIX) && whole !== undefined && row.cpuMsPerCall !== undefined) {
        opts.log(
          `    → ${(whole - row.cpuMsPerCall).toFixed(3)} ms CPU per call for ${row.step.slice(WITHOUT_PREFIX.length)}`,
        );
      }
    }
  } finally {
    await Promise.all(hosts.map((host) => host.stop()));
  }
  return rows;
}

/** The gateway's own answer to the measured call (id 1), and the upstream's, which the stage builds replay. */
async function recordGatewayAnswer(
  config: HostConfig,
  upstreamUrl: string,
): Promise<{ tool: string; answer: RecordedAnswer }> {
  const host = await startHost(config);
  try {
    const url = host.ready.url + GATEWAY_MCP_PATH;
    const { headers, tool } = await gatewayItemTool(url);
    const res = await fetch(url, { method: "POST", headers, body: toolCallBody(tool, 1) });
    const responseText = await res.text();
    const message = parseRpcBody(responseText);
    if (!quickCallCheck(res.status, responseText) || !isExpectedCallResult(message)) {
      throw new Error(`gateway tools/call answered HTTP ${res.status}: ${responseText.slice(0, 300)}`);
    }
    return {
      tool,
      answer: {
        responseText,
        result: message?.result as RecordedAnswer["result"],
        upstream: await recordUpstreamAnswer(upstreamUrl + UPSTREAM_PATH),
      },
    };
  } finally {
    await host.stop();
  }
}

function runAt(target: TargetResult | undefined, connections: number): LoadResult | undefined {
  return target?.runs.find((r) => r.connections === connections);
}

function ratiosOf(targets: TargetResult[], connections: number[]): PerCallResult["ratios"] {
  const byId = new Map(targets.map((t) => [t.id, t]));
  return connections.flatMap((c) => {
    const gateway = runAt(byId.get("gateway"), c);
    const direct = runAt(byId.get("direct"), c);
    const bare = runAt(byId.get("bare"), c);
    if (!gateway || !direct || !bare) return [];
    const peers = (["ivotoby", "generated"] as const)
      .map((id) => ({ id, run: runAt(byId.get(id), c) }))
      .filter((p): p is { id: "ivotoby" | "generated"; run: LoadResult } => p.run !== undefined)
      .sort((x, y) => y.run.throughput - x.run.throughput);
    const best = peers[0];
    const floor = runAt(byId.get("minimal"), c);
    return [
      {
        connections: c,
        gatewayVsDirect: gateway.throughput / direct.throughput,
        gatewayVsBare: gateway.throughput / bare.throughput,
        ...(best
          ? { gatewayVsBestPeer: gateway.throughput / best.run.throughput, bestPeer: TARGET_LABELS[best.id] }
          : {}),
        addedP50OverBareMs: gateway.p50Ms - bare.p50Ms,
        ...(floor ? { floorVsBare: floor.throughput / bare.throughput } : {}),
      },
    ];
  });
}

/** Headers of one hop, not of the answer: a Response made in the isolate has none of them. */
const HOP_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

/** The upstream's answer to the request the gateway sends for the measured call. */
async function recordUpstreamAnswer(url: string): Promise<RecordedAnswer["upstream"]> {
  const res = await fetch(url);
  const headers = [...res.headers].filter(([name]) => !HOP_HEADERS.has(name));
  return { status: res.status, headers, body: await res.text() };
}
