/**
 * Section 2 of the bench: a big API (GitHub's REST spec from @octokit/openapi) through the
 * whole pipeline: compile, bundle, deploy size, Worker startup, memory, and `tools/list`
 * (whole API and per page) in tools mode and in discovery mode.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import {
  buildWorker,
  checkStartup,
  compileSpecs,
  gatewayHostConfig,
  readWranglerSettings,
  writePlainConfig,
} from "./gateway.ts";
import { MCP_HEADERS, PROTOCOL_VERSION, parseRpcBody } from "./mcp.ts";
import { freePort } from "./peers.ts";
import { rssBytes, SERVER_CORE, spawnPinned } from "./proc.ts";
import { Inspector } from "./profile.ts";
import { GITHUB_SEARCH_CASES } from "./search-cases.ts";
import { BARE_WORKER_SOURCE, type HostConfig } from "./worker-host.ts";

/** Tokens are estimated as ceil(UTF-8 bytes / 4), the compiler's rule (scripts/compiler summary). */
export const estimateTokens = (bytes: number) => Math.ceil(bytes / 4);

/** Forces tools mode whatever the vendor's size (discovery is automatic above the threshold). */
const TOOLS_MODE_VARS = { DISCOVERY_TOOL_THRESHOLD: "1000000" };

export interface ListingStats {
  mode: "tools" | "discovery";
  tools: number;
  pages: number;
  /** Bytes of every `result.tools` array together, as a client would put them in context. */
  toolsJsonBytes: number;
  toolsTokens: number;
  /** Whole HTTP bodies. */
  responseBytes: number;
  largestPageBytes: number;
  /** Whole listing (every page, sequentially): client-side and inside-the-Worker times, p50 over iterations. */
  wholeListClientMs: number;
  wholeListWorkerMs: number;
  /** One page: p50 over every page of every iteration. */
  pageClientP50Ms: number;
  /** Mean time of one page inside the Worker (whole walk / pages). */
  pageWorkerMs: number;
  /** The very first `tools/list` of a fresh isolate (parses the bundle, builds the catalog). */
  firstPageClientMs: number;
  firstPageWorkerMs: number;
}

export interface BigApiResult {
  spec: string;
  operations: number;
  tools: number;
  compileMs: number;
  bundleBytes: number;
  bundleGzipBytes: number;
  wrangler: { uploadKiB: number; gzipKiB: number; line: string };
  startup: {
    /** Startup-phase CPU (`wrangler check startup`, "Active"): the gateway with GitHub, and a bare Worker. */
    gatewayCheckStartupMs: number;
    bareCheckStartupMs: number;
    /** Miniflare constructor → runtime listening, fresh process each time (p50 of runs). */
    gatewayReadyMs: number;
    bareReadyMs: number;
    /** Ready → first `/health` answer. */
    gatewayFirstResponseMs: number;
    runs: number;
  };
  memory: {
    /** workerd process RSS (runtime + every isolate). */
    bareRssMiB?: number;
    idleRssMiB?: number;
    afterListRssMiB?: number;
    afterWalkRssMiB?: number;
    /** V8 heap of the gateway's isolate (the 128 MB limit applies to this), from the inspector. */
    heapIdleMiB?: number;
    heapAfterListMiB?: number;
    heapAfterWalkMiB?: number;
    heapAfterSearchMiB?: number;
  };
  listing: ListingStats[];
  discovery?: {
    /** The first search of an isolate builds the index. */
    firstSearchWorkerMs?: number;
    searchWorkerMs?: number;
    searchClientMs?: number;
    query: string;
    topResults?: string[];
    /** #15: the GitHub tasks of the evaluation's development part searched in the Worker (ms per query). */
    evalQueries?: EvalQueryTiming;
    /** Everyday tasks (scripts/bench/search-cases.ts) whose operation ranks first / in the top 3. */
    quality?: { cases: number; top1: number; top3: number; misses: string[] };
  };
  tokensSaved?: number;
}

/** Discovery search per query inside the Worker (see `evalQueryTiming`). */
export interface EvalQueryTiming {
  queries: number;
  /** Times each query ran after the first pass; a query's time is the median of 5 batch means. */
  repeat: number;
  /** Whole `tools/call` of the search tool through the gateway's fetch handler: p50 and max over the queries. */
  workerP50Ms: number;
  workerMaxMs: number;
  /** Mean of the first pass (each query once, its words new to the isolate's caches). */
  firstPassMeanMs?: number;
  /** The engine alone (`searchTools`), p50 and max over the queries. */
  engineP50Ms?: number;
  engineMaxMs?: number;
}

export interface BigApiOptions {
  root: string;
  tmpDir: string;
  quick: boolean;
  log: (line: string) => void;
}

type Host = Awaited<ReturnType<typeof startHost>>;

function startHost(config: HostConfig) {
  return spawnPinned<{ url: string; workerdPid?: number; readyMs: number }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(config),
  ]);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
};
const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / 2 ** 20);

function serverTiming(res: Response): number {
  const match = /gateway;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "");
  return match ? Number(match[1]) : Number.NaN;
}

interface PageAnswer {
  clientMs: number;
  workerMs: number;
  bytes: number;
  toolsBytes: number;
  tools: Array<{ name: string }>;
  nextCursor?: string;
}

async function listPage(url: string, cursor: string | undefined): Promise<PageAnswer> {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/list",
    ...(cursor ? { params: { cursor } } : {}),
  });
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION },
    body,
  });
  const text = await res.text();
  const clientMs = performance.now() - started;
  const message = parseRpcBody(text);
  const result = message?.result as { tools?: Array<{ name: string }>; nextCursor?: string } | undefined;
  if (res.status !== 200 || !result?.tools)
    throw new Error(`tools/list: HTTP ${res.status} ${text.slice(0, 300)}`);
  return {
    clientMs,
    workerMs: serverTiming(res),
    bytes: Buffer.byteLength(text),
    toolsBytes: Buffer.byteLength(JSON.stringify(result.tools)),
    tools: result.tools,
    ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}),
  };
}

async function walk(url: string): Promise<PageAnswer[]> {
  const pages: PageAnswer[] = [];
  let cursor: string | undefined;
  // Bounded: GitHub has ~13 pages of 100; a cursor loop would otherwise never end.
  for (let i = 0; i < 1000; i++) {
    const page = await listPage(url, cursor);
    pages.push(page);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return pages;
}

async function listingStats(
  host: Host,
  mode: ListingStats["mode"],
  iterations: number,
): Promise<ListingStats> {
  const url = `${host.ready.url}/v1/github/mcp`;
  const first = await listPage(url, undefined);
  const walks: PageAnswer[][] = [];
  for (let i = 0; i < iterations; i++) walks.push(await walk(url));
  // Inside the isolate, averaged over whole walks (workerd's clock has 1 ms resolution).
  const inside = (await (
    await fetch(`${host.ready.url}/__bench/walk?path=/v1/github/mcp&n=${iterations * 2}`)
  ).json()) as { msPerWalk: number; pagesPerWalk: number };
  const last = walks[walks.length - 1] ?? [first];
  const allPages = walks.flat();
  const toolsJsonBytes = Buffer.byteLength(JSON.stringify(last.flatMap((p) => p.tools)));
  return {
    mode,
    tools: last.reduce((n, p) => n + p.tools.length, 0),
    pages: last.length,
    toolsJsonBytes,
    toolsTokens: estimateTokens(toolsJsonBytes),
    responseBytes: last.reduce((n, p) => n + p.bytes, 0),
    largestPageBytes: Math.max(...last.map((p) => p.bytes)),
    wholeListClientMs: median(walks.map((w) => w.reduce((n, p) => n + p.clientMs, 0))),
    wholeListWorkerMs: inside.msPerWalk,
    pageClientP50Ms: percentile(
      allPages.map((p) => p.clientMs),
      50,
    ),
    pageWorkerMs: inside.msPerWalk / inside.pagesPerWalk,
    firstPageClientMs: first.clientMs,
    firstPageWorkerMs: first.workerMs,
  };
}

/** The discovery `search` tool's name on the per-vendor endpoint. */
const SEARCH_TOOL = "search";

/** One tools/call of the gateway's search tool on `url`. */
function callSearch(url: string, query: string, limit: number): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, "mcp-protocol-version": PROTOCOL_VERSION },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: SEARCH_TOOL, arguments: { query, limit } },
    }),
  });
}

async function searchTiming(
  host: Host,
  query: string,
  iterations: number,
): Promise<BigApiResult["discovery"]> {
  const url = `${host.ready.url}/v1/github/mcp`;
  const client: number[] = [];
  const worker: number[] = [];
  let top: string[] | undefined;
  let first: number | undefined;
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    const res = await callSearch(url, query, 5);
    const text = await res.text();
    client.push(performance.now() - started);
    worker.push(serverTiming(res));
    if (i === 0) first = serverTiming(res);
    const result = parseRpcBody(text)?.result as
      | { structuredContent?: { results?: Array<{ name: string }> }; isError?: boolean }
      | undefined;
    if (res.status !== 200 || !result || result.isError) return { query };
    top = result.structuredContent?.results?.map((r) => r.name);
  }
  return {
    query,
    ...(first === undefined ? {} : { firstSearchWorkerMs: first }),
    searchClientMs: median(client.slice(1)),
    searchWorkerMs: median(worker.slice(1)),
    ...(top ? { topResults: top } : {}),
  };
}

/** Runs of each query inside the Worker (5 batches of 10: workerd's 1 ms clock is 0.1 ms of a batch's mean). */
const SEARCH_REPEATS = 50;

/**
 * #15: time inside the Worker of a search per GitHub task of the evaluation's development part.
 * Not the `server-timing` of single calls: workerd's clock moves in whole milliseconds, so a
 * 1.3 ms search reads 1 or 2 ms and the p50 of those says more about the clock than the
 * search. The Worker repeats each query in batches and reports the median batch's mean (see
 * `/__bench/search` in instrumented-worker.ts).
 */
async function evalQueryTiming(host: Host): Promise<EvalQueryTiming> {
  const { DEV_CASES } = await import("./search-eval/dev.ts");
  const queries = DEV_CASES.filter((c) => c.api === "github").map((c) => c.task);
  const res = await fetch(`${host.ready.url}/__bench/search`, {
    method: "POST",
    body: JSON.stringify({ vendor: "github", queries, limit: 10, repeat: SEARCH_REPEATS }),
  });
  const timing = (await res.json()) as { firstPassMeanMs: number; requestMs: number[]; engineMs: number[] };
  return {
    queries: queries.length,
    repeat: SEARCH_REPEATS,
    workerP50Ms: median(timing.requestMs),
    workerMaxMs: Math.max(...timing.requestMs),
    firstPassMeanMs: timing.firstPassMeanMs,
    engineP50Ms: median(timing.engineMs),
    engineMaxMs: Math.max(...timing.engineMs),
  };
}

async function searchQuality(
  host: Host,
): Promise<{ cases: number; top1: number; top3: number; misses: string[] }> {
  let top1 = 0;
  let top3 = 0;
  const misses: string[] = [];
  for (const [query, expected] of GITHUB_SEARCH_CASES) {
    const res = await callSearch(`${host.ready.url}/v1/github/mcp`, query, 3);
    const result = parseRpcBody(await res.text())?.result as
      | { structuredContent?: { results?: Array<{ name: string }> } }
      | undefined;
    const names = result?.structuredContent?.results?.map((r) => r.name) ?? [];
    if (names[0] === expected) top1++;
    else misses.push(`${query} → ${names[0] ?? "nothing"} (wanted ${expected})`);
    if (names.includes(expected)) top3++;
  }
  return { cases: GITHUB_SEARCH_CASES.length, top1, top3, misses };
}

export async function runBigApi(opts: BigApiOptions): Promise<BigApiResult> {
  const { root, tmpDir, log } = opts;
  const iterations = opts.quick ? 3 : 10;
  const startupRuns = opts.quick ? 2 : 5;
  const specSource = join(root, "node_modules", "@octokit", "openapi", "generated", "api.github.com.json");
  const specsDir = join(tmpDir, "specs-github");
  rmSync(specsDir, { recursive: true, force: true });
  mkdirSync(join(specsDir, "github"), { recursive: true });
  copyFileSync(specSource, join(specsDir, "github", "openapi.json"));
  writeFileSync(
    join(specsDir, "github", "vendor.json"),
    JSON.stringify({ displayName: "GitHub", description: "GitHub REST API (bench)" }),
  );

  log("big-api: compiling GitHub's REST spec…");
  const outDir = join(tmpDir, "generated-github");
  const compiled = await compileSpecs(root, specsDir, outDir);
  const summary = (compiled.summary as { vendors: Array<{ operations: number; tools: number }> }).vendors[0];
  const bundleFile = readFileSync(join(outDir, "github.bundle.ts"));
  log(`  compiled ${summary?.tools} tools in ${(compiled.ms / 1000).toFixed(2)} s`);

  log("big-api: wrangler deploy --dry-run…");
  const plain = await buildWorker(root, compiled.indexPath, join(tmpDir, "build-github"));
  const instrumented = await buildWorker(
    root,
    compiled.indexPath,
    join(tmpDir, "build-github-instrumented"),
    join(import.meta.dirname, "instrumented-worker.ts"),
  );
  log(`  ${plain.wranglerSizeLine}`);

  const settings = readWranglerSettings(root);
  const barePath = join(tmpDir, "bare-worker", "worker.js");
  mkdirSync(join(tmpDir, "bare-worker"), { recursive: true });
  writeFileSync(barePath, BARE_WORKER_SOURCE);

  log("big-api: startup and memory…");
  const bareReady: number[] = [];
  let bareRss: number | undefined;
  for (let i = 0; i < startupRuns; i++) {
    const host = await startHost({
      scriptPath: barePath,
      compatibilityDate: settings.compatibilityDate,
      compatibilityFlags: settings.compatibilityFlags,
      bindings: { UPSTREAM_URL: "http://127.0.0.1:9" },
    });
    bareReady.push(host.ready.readyMs);
    if (host.ready.workerdPid) bareRss = rssBytes(host.ready.workerdPid);
    await host.stop();
  }
  const gatewayReady: number[] = [];
  const firstResponse: number[] = [];
  const memory: BigApiResult["memory"] = { bareRssMiB: mib(bareRss) };
  for (let i = 0; i < startupRuns; i++) {
    const host = await startHost(gatewayHostConfig(root, plain.scriptPath, TOOLS_MODE_VARS));
    gatewayReady.push(host.ready.readyMs);
    const started = performance.now();
    await (await fetch(`${host.ready.url}/health`)).text();
    firstResponse.push(performance.now() - started);
    if (i === 0 && host.ready.workerdPid) {
      const pid = host.ready.workerdPid;
      memory.idleRssMiB = mib(rssBytes(pid));
      await listPage(`${host.ready.url}/v1/github/mcp`, undefined);
      memory.afterListRssMiB = mib(rssBytes(pid));
      await walk(`${host.ready.url}/v1/github/mcp`);
      memory.afterWalkRssMiB = mib(rssBytes(pid));
    }
    await host.stop();
  }

  log("big-api: startup phase (wrangler check startup)…");
  const gatewayStartup = await checkStartup(
    root,
    plain.configPath,
    join(tmpDir, "startup-github.cpuprofile"),
  );
  const bareStartup = await checkStartup(
    root,
    writePlainConfig(root, join(tmpDir, "bare-worker-config"), barePath),
    join(tmpDir, "startup-bare.cpuprofile"),
  );

  log("big-api: tools/list (tools mode, then discovery mode)…");
  const listing: ListingStats[] = [];
  let discovery: BigApiResult["discovery"];
  const heap = async (inspector: Inspector) =>
    mib((await inspector.send<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize);
  {
    const inspectorPort = await freePort();
    const host = await startHost({
      ...gatewayHostConfig(root, instrumented.scriptPath, TOOLS_MODE_VARS),
      inspectorPort,
    });
    const inspector = await Inspector.connect(inspectorPort, "bench");
    try {
      memory.heapIdleMiB = await heap(inspector);
      const cold = await listPage(`${host.ready.url}/v1/github/mcp`, undefined);
      memory.heapAfterListMiB = await heap(inspector);
      listing.push({
        ...(await listingStats(host, "tools", iterations)),
        firstPageClientMs: cold.clientMs,
        firstPageWorkerMs: cold.workerMs,
      });
      memory.heapAfterWalkMiB = await heap(inspector);
    } finally {
      inspector.close();
      await host.stop();
    }
  }
  {
    const inspectorPort = await freePort();
    const host = await startHost({ ...gatewayHostConfig(root, instrumented.scriptPath, {}), inspectorPort });
    const inspector = await Inspector.connect(inspectorPort, "bench");
    try {
      listing.push(await listingStats(host, "discovery", iterations));
      const timing = await searchTiming(host, "create an issue", iterations);
      discovery = {
        query: "create an issue",
        ...timing,
        quality: await searchQuality(host),
        evalQueries: await evalQueryTiming(host),
      };
      memory.heapAfterSearchMiB = await heap(inspector);
    } finally {
      inspector.close();
      await host.stop();
    }
  }
  for (const l of listing) {
    log(
      `  ${l.mode}: ${l.tools} tools in ${l.pages} page(s), ${(l.toolsJsonBytes / 1024).toFixed(1)} KiB ≈ ${l.toolsTokens} tokens; whole list ${l.wholeListWorkerMs.toFixed(1)} ms in the Worker (${l.wholeListClientMs.toFixed(1)} ms at the client)`,
    );
  }
  const [toolsMode, discoveryMode] = listing;
  return {
    spec: "@octokit/openapi api.github.com.json",
    operations: summary?.operations ?? Number.NaN,
    tools: summary?.tools ?? Number.NaN,
    compileMs: compiled.ms,
    bundleBytes: statSync(join(outDir, "github.bundle.ts")).size,
    bundleGzipBytes: gzipSync(bundleFile).length,
    wrangler: { uploadKiB: plain.uploadKiB, gzipKiB: plain.gzipKiB, line: plain.wranglerSizeLine },
    startup: {
      gatewayCheckStartupMs: gatewayStartup.activeMs,
      bareCheckStartupMs: bareStartup.activeMs,
      gatewayReadyMs: median(gatewayReady),
      bareReadyMs: median(bareReady),
      gatewayFirstResponseMs: median(firstResponse),
      runs: startupRuns,
    },
    memory,
    listing,
    ...(discovery ? { discovery } : {}),
    ...(toolsMode && discoveryMode ? { tokensSaved: toolsMode.toolsTokens - discoveryMode.toolsTokens } : {}),
  };
}
