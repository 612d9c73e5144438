/**
 * The bench's verdicts against the issue's targets, and the Markdown report (the README's
 * Performance section is pasted from it).
 */
import type { BigApiResult } from "./big-api.ts";
import type { DurableObjectResult } from "./durable-objects.ts";
import type { McpUpstreamResult } from "./mcp-upstream.ts";
import type { MeasuredRun, PerCallResult } from "./per-call.ts";
import type { QuotaBenchResult } from "./quotas.ts";
import { RATE_TOLERANCE, type RateLimitResult } from "./rate-limit.ts";
import { LATER_PARTS } from "./search-eval/parts.ts";
import type { SearchQualityResult } from "./search-quality.ts";
import { WITHOUT_PREFIX } from "./stages.ts";

export interface TargetVerdict {
  target: string;
  measured: string;
  met: boolean | null;
}
export type Targets = TargetVerdict[];

/** What one `npm run bench` writes to bench/results.json. */
export interface Results {
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  perCall?: PerCallResult;
  bigApi?: BigApiResult;
  search?: SearchQualityResult;
  durableObjects?: DurableObjectResult;
  rateLimit?: RateLimitResult;
  mcpUpstream?: McpUpstreamResult;
  quotas?: QuotaBenchResult;
  targets?: Targets;
}

// Saved results hold null where a run produced NaN (JSON has no NaN).
const f = (n: number | null | undefined, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n)
    ? "—"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** What the load tables show of any measured target (per-call's and mcp-upstream's alike). */
interface LoadedTarget {
  id: string;
  label: string;
  runs: MeasuredRun[];
  skipped?: string;
}

/** The concurrencies measured, ascending. */
function concurrenciesOf(targets: LoadedTarget[]): number[] {
  return [...new Set(targets.flatMap((t) => t.runs.map((r) => r.connections)))].sort((a, b) => a - b);
}

/** calls/s, p50 and p99 at each concurrency, as table cells. */
function loadCells(target: LoadedTarget, conns: number[]): string {
  return conns
    .map((c) => {
      const r = target.runs.find((x) => x.connections === c);
      return r ? `${f(r.throughput)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)}` : "— | — | —";
    })
    .join(" | ");
}

/** The lines under a load table: failed calls, and targets not measured and why. */
function failureLines(targets: LoadedTarget[]): string[] {
  const lines: string[] = [];
  const bad = targets.flatMap((t) =>
    t.runs
      .filter((r) => r.errors + r.non2xx + r.mismatches + r.timeouts > 0)
      .map(
        (r) =>
          `${t.id} c=${r.connections}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.mismatches} wrong answers, ${r.timeouts} timeouts`,
      ),
  );
  if (bad.length > 0) lines.push("", `Failed calls: ${bad.join("; ")}`);
  for (const t of targets.filter((x) => x.skipped)) lines.push("", `${t.label}: not measured — ${t.skipped}`);
  return lines;
}

/** The gateway's startup phase: script evaluation CPU as `wrangler check startup` profiles it. */
export function gatewayStartupMs(big: BigApiResult): number {
  return big.startup.gatewayCheckStartupMs;
}

export function targetsMet(results: Results): Targets {
  const out: Targets = [];
  const perCall = results.perCall;
  if (perCall) {
    const c1 = perCall.ratios.find((r) => r.connections === 1);
    const top = perCall.ratios.reduce<(typeof perCall.ratios)[number] | undefined>(
      (best, r) => (best === undefined || r.connections > best.connections ? r : best),
      undefined,
    );
    if (c1) {
      out.push({
        target: "gateway adds ≤ 1 ms p50 over the bare Worker (c=1)",
        measured: `+${f(c1.addedP50OverBareMs, 2)} ms`,
        met: c1.addedP50OverBareMs <= 1,
      });
    }
    for (const r of perCall.ratios) {
      out.push({
        target: `gateway keeps ≥ 80% of the bare Worker's throughput (c=${r.connections})`,
        measured: `${f(r.gatewayVsBare * 100, 0)}%`,
        met: r.gatewayVsBare >= 0.8,
      });
    }
    if (top) {
      out.push({
        target: `≥ 1.3× the best peer's throughput (c=${top.connections})`,
        measured:
          top.gatewayVsBestPeer === undefined
            ? "no peer measured"
            : `${f(top.gatewayVsBestPeer, 2)}× (${top.bestPeer})`,
        met: top.gatewayVsBestPeer === undefined ? null : top.gatewayVsBestPeer >= 1.3,
      });
    }
  }
  const big = results.bigApi;
  if (big) {
    out.push({
      target: "GitHub Worker ≤ 3 MiB gzipped (wrangler deploy --dry-run)",
      measured: `${f(big.wrangler.gzipKiB / 1024, 2)} MiB`,
      met: big.wrangler.gzipKiB <= 3 * 1024,
    });
    const startup = gatewayStartupMs(big);
    out.push({
      target: "Worker startup ≤ 200 ms (startup phase, wrangler check startup)",
      measured: `${f(startup, 0)} ms`,
      met: startup <= 200,
    });
    const tools = big.listing.find((l) => l.mode === "tools");
    if (tools) {
      out.push({
        target: `tools/list of ${f(tools.tools)} tools ≤ 20 ms inside the Worker (all ${tools.pages} pages)`,
        measured: `${f(tools.wholeListWorkerMs, 1)} ms`,
        met: tools.wholeListWorkerMs <= 20,
      });
    }
  }
  // #15: the issue's targets for discovery search, on each part after dev that was scored.
  for (const later of LATER_PARTS) {
    const all = results.search?.parts.find((p) => p.part === later.part)?.rows.find((r) => r.api === "all");
    if (all === undefined) continue;
    out.push(
      {
        target: `Discovery search, ${later.label}: top-1 ≥ 80%`,
        measured: `${f(all.top1Rate * 100, 1)}%`,
        met: all.top1Rate >= 0.8,
      },
      {
        target: `Discovery search, ${later.label}: top-3 ≥ 92%`,
        measured: `${f(all.top3Rate * 100, 1)}%`,
        met: all.top3Rate >= 0.92,
      },
    );
  }
  const perQuery = results.bigApi?.discovery?.evalQueries;
  if (perQuery) {
    out.push({
      target: "Discovery search < 2 ms per query in the Worker (GitHub dev tasks, index built; every query)",
      measured: `p50 ${f(perQuery.workerP50Ms, 2)} ms, max ${f(perQuery.workerMaxMs, 2)} ms`,
      met: perQuery.workerMaxMs < 2,
    });
  }
  const firstSearch = results.bigApi?.discovery?.firstSearchWorkerMs;
  if (firstSearch !== undefined) {
    out.push({
      target: "Discovery search index build for GitHub < 100 ms (first search of an isolate, in the Worker)",
      measured: `${f(firstSearch, 0)} ms`,
      met: firstSearch < 100,
    });
  }
  const dos = results.durableObjects;
  if (dos) {
    out.push({
      target: "≤ 1 blocking Durable Object round trip per call",
      measured: String(dos.blockingRoundTrips),
      met: dos.blockingRoundTrips <= 1,
    });
  }
  const rl = results.rateLimit;
  if (rl) {
    out.push({
      target: `token bucket: arrivals in every window ≤ rate × ${RATE_TOLERANCE} + burst; no call lost or duplicated`,
      measured: `worst window ${rl.worstExcess > 0 ? `${f(rl.worstExcess, 1)} over` : `${f(-rl.worstExcess, 1)} under`} the bound; ${rl.lost} lost, ${rl.duplicated} duplicated`,
      met: rl.pass,
    });
  }
  return out;
}

export function formatReport(results: Results): string {
  const lines: string[] = [];
  const m = results.machine;
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; ${m.pinned}; ${results.settings.durationSeconds} s per measurement.`,
  );
  const perCall = results.perCall;
  if (perCall) {
    const conns = concurrenciesOf(perCall.targets);
    lines.push("", "### One tool call (GET with path + query parameters, small JSON answer)", "");
    lines.push(
      `| Target | ${conns.map((c) => `c=${c} calls/s | c=${c} p50 ms | c=${c} p99 ms`).join(" | ")} | server CPU ms/call |`,
      `|---|${conns.map(() => "--:|--:|--:").join("|")}|--:|`,
    );
    for (const t of perCall.targets) {
      if (t.skipped) {
        lines.push(`| ${t.label} | ${conns.map(() => "— | — | —").join(" | ")} | — |`);
        continue;
      }
      // CPU per call at the highest concurrency: the server process only (upstream excluded; for (a) it is the upstream).
      const top = t.runs.find((x) => x.connections === conns[conns.length - 1]);
      const cpu = t.id === "direct" ? top?.upstreamCpuMsPerCall : top?.serverCpuMsPerCall;
      lines.push(`| ${t.label} | ${loadCells(t, conns)} | ${f(cpu, 3)} |`);
    }
    lines.push(...failureLines(perCall.targets));
    lines.push("", `| Ratio | ${perCall.ratios.map((r) => `c=${r.connections}`).join(" | ")} |`);
    lines.push(`|---|${perCall.ratios.map(() => "--:").join("|")}|`);
    lines.push(
      "| gateway / direct throughput | " +
        perCall.ratios.map((r) => `${f(r.gatewayVsDirect * 100)}%`).join(" | ") +
        " |",
    );
    lines.push(
      "| gateway / bare Worker throughput | " +
        perCall.ratios.map((r) => `${f(r.gatewayVsBare * 100)}%`).join(" | ") +
        " |",
    );
    lines.push(
      "| gateway / best peer throughput | " +
        perCall.ratios
          .map((r) => (r.gatewayVsBestPeer === undefined ? "—" : `${f(r.gatewayVsBestPeer, 2)}×`))
          .join(" | ") +
        " |",
    );
    if (perCall.ratios.some((r) => r.floorVsBare !== undefined)) {
      lines.push(
        `| reference floor (b′) / bare Worker throughput | ${perCall.ratios.map((r) => (r.floorVsBare === undefined ? "—" : `${f(r.floorVsBare * 100)}%`)).join(" | ")} |`,
      );
    }
    lines.push(
      "| gateway p50 − bare Worker p50 | " +
        perCall.ratios.map((r) => `${f(r.addedP50OverBareMs, 2)} ms`).join(" | ") +
        " |",
    );
  }
  if (perCall?.gatewayHeap) {
    lines.push(
      "",
      `Gateway isolate heap right after its runs (${f(perCall.gatewayHeap.calls)} measured calls and the warm-up; V8 used size after a full GC): ${f(perCall.gatewayHeap.usedMiB, 1)} MiB.`,
    );
  }
  if (perCall && perCall.breakdown.length > 0) {
    lines.push(
      "",
      "Where the gateway's time goes (c=32; each row the cheapest of 3 interleaved rounds): the floors, then the gateway built to answer at each stage of its pipeline with its own recorded answer, the export replaced in brackets (scripts/bench/stages.ts); each gateway row adds one stage to the row above:",
      "",
    );
    lines.push("| Build | calls/s | workerd CPU ms/call | CPU over row above |", "|---|--:|--:|--:|");
    let previous: number | undefined;
    for (const row of perCall.breakdown) {
      const gatewayRow = row.step.startsWith("gateway: ");
      // A "without" row (scripts/bench/stages.ts WITHOUT_BUILDS): the uncut gateway above it minus this row.
      const withoutRow = row.step.startsWith(WITHOUT_PREFIX);
      const delta =
        gatewayRow && previous !== undefined && row.cpuMsPerCall !== undefined
          ? `${row.cpuMsPerCall >= previous ? "+" : ""}${f(row.cpuMsPerCall - previous, 3)}`
          : withoutRow && previous !== undefined && row.cpuMsPerCall !== undefined
            ? `costs ${f(previous - row.cpuMsPerCall, 3)} (whole gateway − this row)`
            : "";
      const step = withoutRow ? `whole gateway without ${row.step.slice(WITHOUT_PREFIX.length)}` : row.step;
      lines.push(`| ${step} | ${f(row.throughput)} | ${f(row.cpuMsPerCall, 3)} | ${delta} |`);
      if (gatewayRow) previous = row.cpuMsPerCall;
    }
  }
  if (perCall?.primitives) {
    lines.push(
      "",
      "What workerd charges for single runtime primitives (each run 500× per request inside a Worker; CPU µs per run):",
      "",
    );
    lines.push("| Primitive | CPU µs |", "|---|--:|");
    for (const p of perCall.primitives.primitives) lines.push(`| \`${p.what}\` | ${f(p.microseconds, 2)} |`);
  }
  const big = results.bigApi;
  if (big) {
    lines.push("", "### GitHub REST API (@octokit/openapi)", "");
    lines.push("| Measure | Value |", "|---|--:|");
    lines.push(`| Operations → tools | ${f(big.operations)} → ${f(big.tools)} |`);
    lines.push(
      `| Compile time (npm run compile, one vendor, incl. Node start) | ${f(big.compileMs / 1000, 2)} s |`,
    );
    lines.push(
      `| Bundle (github.bundle.ts) raw / gzipped | ${f(big.bundleBytes / 2 ** 20, 2)} MiB / ${f(big.bundleGzipBytes / 2 ** 20, 2)} MiB |`,
    );
    lines.push(
      `| Worker upload (wrangler deploy --dry-run) | ${f(big.wrangler.uploadKiB / 1024, 2)} MiB / gzip ${f(big.wrangler.gzipKiB / 1024, 2)} MiB |`,
    );
    lines.push(
      `| Startup phase CPU (wrangler check startup): gateway / bare Worker | ${f(big.startup.gatewayCheckStartupMs, 1)} ms / ${f(big.startup.bareCheckStartupMs, 1)} ms |`,
    );
    lines.push(
      `| Fresh miniflare runtime to listening (incl. Node-side setup): gateway / bare Worker | ${f(big.startup.gatewayReadyMs)} ms / ${f(big.startup.bareReadyMs)} ms |`,
    );
    lines.push(
      `| Listening → first answer (gateway, /health) | ${f(big.startup.gatewayFirstResponseMs, 1)} ms |`,
    );
    lines.push(
      `| Isolate heap: idle / after first tools/list / after whole list / discovery after first search | ${f(big.memory.heapIdleMiB, 1)} / ${f(big.memory.heapAfterListMiB, 1)} / ${f(big.memory.heapAfterWalkMiB, 1)} / ${f(big.memory.heapAfterSearchMiB, 1)} MiB |`,
    );
    lines.push(
      `| workerd process RSS: bare Worker / gateway idle / after first tools/list / after whole list | ${f(big.memory.bareRssMiB, 1)} / ${f(big.memory.idleRssMiB, 1)} / ${f(big.memory.afterListRssMiB, 1)} / ${f(big.memory.afterWalkRssMiB, 1)} MiB |`,
    );
    lines.push(
      "",
      "| tools/list | tools | pages | tools JSON | ≈ tokens | whole answers / largest page | first page (cold) in Worker | page in Worker (mean) / client (p50) | whole list in Worker / client |",
    );
    lines.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const l of big.listing) {
      lines.push(
        `| ${l.mode} mode | ${f(l.tools)} | ${l.pages} | ${f(l.toolsJsonBytes / 1024, 1)} KiB | ${f(l.toolsTokens)} | ${f(l.responseBytes / 1024, 1)} / ${f(l.largestPageBytes / 1024, 1)} KiB | ${f(l.firstPageWorkerMs, 1)} ms | ${f(l.pageWorkerMs, 2)} / ${f(l.pageClientP50Ms, 1)} ms | ${f(l.wholeListWorkerMs, 2)} / ${f(l.wholeListClientMs, 1)} ms |`,
      );
    }
    if (big.discovery?.searchWorkerMs !== undefined) {
      lines.push(
        "",
        `Discovery search "${big.discovery.query}": first search of an isolate (builds the index) ${f(big.discovery.firstSearchWorkerMs, 0)} ms, then ${f(big.discovery.searchWorkerMs, 1)} ms in the Worker (${f(big.discovery.searchClientMs, 1)} ms at the client); top results: ${(big.discovery.topResults ?? []).join(", ")}.`,
      );
    }
    const evalQueries = big.discovery?.evalQueries;
    if (evalQueries) {
      lines.push(
        "",
        `Discovery search per query in the Worker, over the ${evalQueries.queries} GitHub tasks of the evaluation's development part (whole tools/call inside the isolate; each query ${evalQueries.repeat ?? 1} times, median of 5 batch means): p50 ${f(evalQueries.workerP50Ms, 2)} ms, max ${f(evalQueries.workerMaxMs, 2)} ms; the engine alone p50 ${f(evalQueries.engineP50Ms, 3)} ms, max ${f(evalQueries.engineMaxMs, 3)} ms; first pass (each query's words new to the isolate) ${f(evalQueries.firstPassMeanMs, 2)} ms per query on average.`,
      );
    }
    const quality = big.discovery?.quality;
    if (quality) {
      lines.push(
        "",
        `Search quality on ${quality.cases} everyday tasks in plain words (scripts/bench/search-cases.ts): the intended operation ranks first for ${quality.top1}, in the top 3 for ${quality.top3}.${quality.misses.length > 0 ? ` Misses: ${quality.misses.join("; ")}.` : ""}`,
      );
    }
    lines.push("", "Tokens ≈ ceil(UTF-8 bytes of the tools array / 4), the compiler summary's estimate.");
  }
  // #15: discovery search quality per API and part.
  const search = results.search;
  if (search) {
    lines.push("", "### Discovery search on the evaluation set (scripts/bench/search-eval)", "");
    lines.push("| API | operations | index build (Node, cold) | part | tasks | top-1 | top-3 | MRR |");
    lines.push("|---|--:|--:|---|--:|--:|--:|--:|");
    const pct = (x: number) => `${f(x * 100, 1)}%`;
    for (const part of search.parts) {
      for (const row of part.rows) {
        const api = row.api === "all" ? undefined : row.api;
        lines.push(
          `| ${row.api} | ${api ? f(search.operations[api]) : ""} | ${api ? `${f(search.indexBuildMs[api], 0)} ms` : ""} | ${part.part} | ${row.cases} | ${pct(row.top1Rate)} (${row.top1}) | ${pct(row.top3Rate)} (${row.top3}) | ${f(row.mrr, 3)} |`,
        );
      }
    }
    if (search.holdoutSkipped) lines.push("", `Parts after dev not scored (${search.holdoutSkipped}).`);
    for (const later of LATER_PARTS) {
      if (later.optIn !== undefined && !search.parts.some((p) => p.part === later.part))
        lines.push(
          "",
          `Part ${later.part} not scored (only with ${later.optIn}=1: it judges the next round).`,
        );
    }
  }
  const dos = results.durableObjects;
  if (dos) {
    lines.push("", "### Durable Object (per-vendor guard)", "");
    lines.push(
      "| Tool calls (sequential) | stub calls per tool call | blocking round trips | p50 ms | p50 ms with +" +
        `${dos.injectedDelayMs} ms per stub call |`,
      "|---|---|--:|--:|--:|",
    );
    for (const run of dos.runs ?? []) {
      const calls = Object.entries(run.callsPerToolCall)
        .map(([k, v]) => `${f(v, 2)} × ${k}`)
        .join(", ");
      lines.push(
        `| ${run.mode === "leased" ? "healthy vendor, lease in effect" : "no lease: every call starts without one"} | ${calls || "none"} | ${run.blockingRoundTrips} | ${f(run.latencyP50Ms, 2)} | ${f(run.latencyWithDelayP50Ms, 2)} |`,
      );
    }
    lines.push(
      "",
      "| Admissions, one vendor's object | concurrency | per second | p50 ms | p99 ms |",
      "|---|--:|--:|--:|--:|",
    );
    for (const a of dos.admissions) {
      lines.push(
        `| ${a.rateLimit ? "breaker + token bucket" : "breaker only"} | ${a.concurrency} | ${f(a.perSecond)} | ${f(a.p50Ms, 1)} | ${f(a.p99Ms, 1)} |`,
      );
    }
  }
  const rl = results.rateLimit;
  if (rl) {
    lines.push(
      "",
      "### Token bucket under load (one vendor)",
      "",
      `${f(rl.calls)} concurrent \`tools/call\`s (${rl.concurrency} at a time) through a bucket of ${f(rl.requestsPerSecond)}/s with burst ${f(rl.burst)}; the upstream timestamps every arrival (its own process).`,
      "",
      "| configured rate | measured sustained rate | worst window vs bound | lost | duplicated | failed | seconds |",
      "|--:|--:|--:|--:|--:|--:|--:|",
      `| ${f(rl.requestsPerSecond)}/s | ${f(rl.measuredPerSecond, 2)}/s | ${rl.worstExcess > 0 ? "+" : ""}${f(rl.worstExcess, 2)} | ${rl.lost} | ${rl.duplicated} | ${rl.failedCalls} | ${f(rl.seconds, 1)} |`,
    );
  }
  if (results.mcpUpstream) lines.push(...formatMcpUpstream(results.mcpUpstream));
  if (results.quotas) lines.push(...formatQuotas(results.quotas));
  if (results.targets && results.targets.length > 0) {
    lines.push("", "### Targets", "", "| Target | Measured | Met |", "|---|--:|:-:|");
    for (const t of results.targets)
      lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? "—" : t.met ? "yes" : "**no**"} |`);
  }
  return lines.join("\n");
}

/** The quotas section's table (scripts/bench/quotas.ts): the same call with quotas off and on. */
function formatQuotas(result: QuotaBenchResult): string[] {
  const conns = concurrenciesOf(result.variants);
  const lines = ["", "### Quotas: one tool call with and without GATEWAY_QUOTAS", ""];
  lines.push(
    `| Gateway | ${conns.map((c) => `c=${c} calls/s | c=${c} p50 ms | c=${c} p99 ms | c=${c} workerd CPU ms/call`).join(" | ")} |`,
    `|---|${conns.map(() => "--:|--:|--:|--:").join("|")}|`,
  );
  for (const v of result.variants) {
    const cells = conns.map((c) => {
      const r = v.runs.find((x) => x.connections === c);
      return r
        ? `${f(r.throughput)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${f(r.serverCpuMsPerCall, 3)}`
        : "— | — | — | —";
    });
    lines.push(`| ${v.label} | ${cells.join(" | ")} |`);
  }
  lines.push(
    ...failureLines(result.variants),
    "",
    `Cheapest of ${result.rounds} interleaved round(s) each; workerd CPU includes the QuotaGuard object's own work (locally it runs in the same process).`,
  );
  return lines;
}

/** The mcp-upstream section's tables (scripts/bench/mcp-upstream.ts). */
function formatMcpUpstream(result: McpUpstreamResult): string[] {
  const conns = concurrenciesOf(result.targets);
  const lines = ["", "### One MCP tool call: the upstream MCP server directly, and through the gateway", ""];
  lines.push(
    `| Target | ${conns.map((c) => `c=${c} calls/s | c=${c} p50 ms | c=${c} p99 ms`).join(" | ")} | workerd CPU ms/call | MCP server CPU ms/call |`,
    `|---|${conns.map(() => "--:|--:|--:").join("|")}|--:|--:|`,
  );
  for (const t of result.targets) {
    const top = t.runs.find((r) => r.connections === conns[conns.length - 1]);
    lines.push(
      `| ${t.label} | ${loadCells(t, conns)} | ${f(top?.serverCpuMsPerCall, 3)} | ${f(top?.upstreamCpuMsPerCall, 3)} |`,
    );
  }
  lines.push(...failureLines(result.targets));
  const measured = result.ratios.filter((r) => r.gatewayVsDirect !== undefined);
  if (measured.length > 0) {
    lines.push(
      "",
      "| What the gateway adds (same client, same call) | gateway / direct throughput | gateway p50 − direct p50 | gateway CPU ms/call |",
      "|---|--:|--:|--:|",
    );
    for (const r of measured) {
      lines.push(
        `| ${r.server ?? "stateless"} server, ${r.revision ?? "2025"} client, c=${r.connections} | ${f((r.gatewayVsDirect ?? 0) * 100)}% | ${r.addedP50Ms === undefined ? "—" : `${f(r.addedP50Ms, 2)} ms`} | ${f(r.gatewayCpuMsPerCall, 3)} |`,
      );
    }
  }
  return lines;
}
