/**
 * Section `quotas` of the bench: what a configured quota costs a tool call. The gateway build of
 * the per-call section (the bench API's `getItem`, `GATEWAY_AUTH=none`, so every call counts as
 * the one local user), run twice with the same load: without `GATEWAY_QUOTAS` (the call path as
 * before quotas) and with a per-user limit per minute and per day too high to refuse anything, so
 * every call is admitted and counted, through the isolate's admission lease (one `QuotaGuard.admit`
 * per grant of several calls, src/resilience/quota-client.ts). The two run in interleaved rounds and
 * each keeps its cheapest round (interference only adds CPU). workerd's CPU includes the quota
 * object's own work: locally it runs in the same process, on Cloudflare elsewhere.
 */
import { join } from "node:path";
import { buildWorker, compileSpecs, gatewayHostConfig } from "./gateway.ts";
import { runLoad } from "./load.ts";
import {
  GATEWAY_MCP_PATH,
  gatewayItemTool,
  isExpectedCallResult,
  parseRpcBody,
  quickCallCheck,
  toolCallBody,
} from "./mcp.ts";
import { type MeasuredRun, measure } from "./per-call.ts";
import { SERVER_CORE, spawnPinned } from "./proc.ts";
import type { HostConfig } from "./worker-host.ts";

/** Limits no bench run reaches (the configuration's maximum): every call is admitted and counted. */
const UNREACHABLE_QUOTAS = JSON.stringify({ user: { perMinute: 100_000_000, perDay: 100_000_000 } });

export type QuotaVariant = "off" | "on";

export const QUOTA_VARIANT_LABELS: Record<QuotaVariant, string> = {
  off: "quotas off (GATEWAY_QUOTAS unset)",
  on: "quotas on (per-user limit per minute and per day, admissions leased in blocks)",
};

export interface QuotaBenchResult {
  rounds: number;
  variants: { id: QuotaVariant; label: string; runs: MeasuredRun[]; skipped?: string }[];
}

export interface QuotaBenchOptions {
  root: string;
  tmpDir: string;
  connections: number[];
  durationSeconds: number;
  warmupSeconds: number;
  quick: boolean;
  log: (line: string) => void;
}

function startHost(config: HostConfig) {
  return spawnPinned<{ url: string; workerdPid?: number }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(config),
  ]);
}

/** The cheaper run of two at the same concurrency (by workerd CPU per call). */
function cheaper(a: MeasuredRun | undefined, b: MeasuredRun): MeasuredRun {
  if (a === undefined) return b;
  return (b.serverCpuMsPerCall ?? Number.POSITIVE_INFINITY) <
    (a.serverCpuMsPerCall ?? Number.POSITIVE_INFINITY)
    ? b
    : a;
}

export async function runQuotas(opts: QuotaBenchOptions): Promise<QuotaBenchResult> {
  const { root, tmpDir, log } = opts;
  log("quotas: compiling bench/spec and building the gateway (wrangler deploy --dry-run)…");
  const compiled = await compileSpecs(root, join(root, "bench", "spec"), join(tmpDir, "generated-quotas"));
  const build = await buildWorker(root, compiled.indexPath, join(tmpDir, "build-quotas"));
  const upstream = await spawnPinned<{ url: string }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "upstream.ts"),
  ]);
  const rounds = opts.quick ? 1 : 3;
  const variants: QuotaBenchResult["variants"] = (["off", "on"] as const).map((id) => ({
    id,
    label: QUOTA_VARIANT_LABELS[id],
    runs: [],
  }));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const variant of variants) {
        log(`quotas: round ${round}/${rounds}, ${variant.label}`);
        const vars: Record<string, string> = {
          BENCHAPI_BASE_URL: upstream.ready.url,
          ...(variant.id === "on" ? { GATEWAY_QUOTAS: UNREACHABLE_QUOTAS } : {}),
        };
        const host = await startHost(gatewayHostConfig(root, build.scriptPath, vars));
        try {
          const url = host.ready.url + GATEWAY_MCP_PATH;
          const { headers, tool } = await gatewayItemTool(url);
          const first = await fetch(url, { method: "POST", headers, body: toolCallBody(tool, "preflight") });
          const text = await first.text();
          if (!isExpectedCallResult(parseRpcBody(text)) || !quickCallCheck(first.status, text)) {
            throw new Error(`tools/call answered HTTP ${first.status}: ${text.slice(0, 300)}`);
          }
          const measured = { id: `quotas-${variant.id}`, runs: [] as MeasuredRun[] };
          const pids = {
            server: host.ready.workerdPid === undefined ? [] : [host.ready.workerdPid],
            upstream: upstream.process.pid ?? 0,
          };
          await measure(measured, opts, pids, (c, s) =>
            runLoad(
              { url, headers, body: toolCallBody(tool, 1), method: "POST", check: quickCallCheck },
              c,
              s,
            ),
          );
          variant.runs = opts.connections.flatMap((c) => {
            const run = measured.runs.find((r) => r.connections === c);
            return run === undefined
              ? []
              : [
                  cheaper(
                    variant.runs.find((r) => r.connections === c),
                    run,
                  ),
                ];
          });
        } catch (error) {
          variant.skipped = `failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
          log(`  ${variant.skipped}`);
        } finally {
          await host.stop();
        }
      }
    }
  } finally {
    await upstream.stop();
  }
  return { rounds, variants };
}
