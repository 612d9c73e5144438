/**
 * The metrics routes (#14), for operators (README.md#metrics):
 *
 * - `GET /admin/metrics[?vendor=<name>]`: JSON, each visible vendor's {@link VendorMetricsSnapshot}
 *   (the `hour` window by minute, the `day` window by hour, per tool, recent failures):
 *   `{"generatedAt":…,"vendors":[…],"unavailable":[{"vendor":…,"error":…}]}`.
 * - `GET /metrics`: Prometheus text exposition format 0.0.4: calls per vendor, tool and outcome
 *   (`mcp_gateway_tool_calls_total`), latency histograms per vendor and tool
 *   (`mcp_gateway_tool_call_duration_seconds`), both counted since each vendor's metrics object
 *   was created; breaker state and consecutive failures per vendor (gauges from the vendor guard).
 *
 * Who sees what: `opsViewer(c, env, "view")` (src/ops/access.ts): the `OPS_TOKEN` bearer (scrapers)
 * and gateway admins see every vendor, a team's members their team's vendors (its allowlist).
 *
 * @module
 */
import type { Context } from "hono";
import { getBundle, hasVendor, vendorNames } from "../bundle/registry.ts";
import { clockFor } from "../clock.ts";
import { loadSettings, vendorSettings } from "../config.ts";
import { GatewayError } from "../errors.ts";
import { errorText } from "../log.ts";
import { type OpsViewer, opsViewer, viewerSeesVendor } from "../ops/access.ts";
import { readVendorMetrics, readVendorTotals } from "../ops/metrics.ts";
import type { VendorMetricsSnapshot, VendorMetricsTotals } from "../ops/metrics-types.ts";
import { guardClient } from "../resilience/guard-client.ts";
import type { GuardSnapshot } from "../resilience/vendor-guard.ts";

type MetricsContext = Context<{ Bindings: Env }>;

/** `?vendor=`, checked against the compiled vendors and the viewer's; else every vendor they see. */
function requestedVendors(c: MetricsContext, viewer: OpsViewer): string[] {
  const visible = vendorNames().filter(viewerSeesVendor(c.env, viewer));
  const vendor = c.req.query("vendor");
  if (vendor === undefined) return visible;
  if (!hasVendor(vendor)) {
    throw new GatewayError("not_found", "No vendor of that name.", { details: { parameter: "vendor" } });
  }
  if (!visible.includes(vendor)) throw new GatewayError("forbidden", "That vendor is not your team's.");
  return [vendor];
}

/** Each vendor's read, and the ones that failed (a vendor's object down hides only that vendor). */
async function readEach<T>(
  vendors: readonly string[],
  read: (vendor: string) => Promise<T>,
): Promise<{ ok: T[]; unavailable: { vendor: string; error: string }[] }> {
  const settled = await Promise.allSettled(vendors.map(read));
  const ok: T[] = [];
  const unavailable: { vendor: string; error: string }[] = [];
  settled.forEach((result, i) => {
    if (result.status === "fulfilled") ok.push(result.value);
    else unavailable.push({ vendor: vendors[i]!, error: errorText(result.reason) });
  });
  return { ok, unavailable };
}

/** `GET /admin/metrics`. */
export async function adminMetricsHandler(c: MetricsContext): Promise<Response> {
  const viewer = await opsViewer(c, c.env, "view");
  const vendors = requestedVendors(c, viewer);
  const now = clockFor(c.env).now();
  const { ok, unavailable } = await readEach<VendorMetricsSnapshot>(vendors, (vendor) =>
    readVendorMetrics(c.env, vendor, now),
  );
  return c.json({ generatedAt: now, vendors: ok, unavailable }, 200, { "cache-control": "no-store" });
}

/** The Prometheus 0.0.4 content type. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(",");
  return `{${body}}`;
}

/** A sample value: integers as they are, other numbers in full precision. */
function value(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
}

const BREAKER_STATE_VALUES: Record<GuardSnapshot["breaker"]["state"], number> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

/** The breaker of each vendor the guard could answer for (gauges); a vendor it could not is left out. */
async function breakers(env: Env, vendors: readonly string[]): Promise<[string, GuardSnapshot][]> {
  const settings = loadSettings(env);
  const { ok } = await readEach(vendors, async (vendor): Promise<[string, GuardSnapshot]> => {
    const bundle = getBundle(vendor);
    if (bundle === undefined) throw new Error("unknown vendor");
    return [vendor, await guardClient(env, vendorSettings(settings, bundle)).snapshot()];
  });
  return ok;
}

/** The exposition text of the metrics totals and breaker states. */
export function prometheusText(
  totals: readonly VendorMetricsTotals[],
  unavailable: readonly { vendor: string }[],
  guards: readonly [string, GuardSnapshot][],
): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  family(
    "mcp_gateway_tool_calls_total",
    "counter",
    "Finished tool calls by vendor, tool and outcome, since the vendor's metrics object was created.",
  );
  for (const t of totals) {
    for (const row of t.calls) {
      lines.push(
        `mcp_gateway_tool_calls_total${labels({ vendor: t.vendor, tool: row.tool, outcome: row.outcome })} ${value(row.count)}`,
      );
    }
  }
  const duration = "mcp_gateway_tool_call_duration_seconds";
  family(duration, "histogram", "Tool call duration (every outcome) by vendor and tool.");
  for (const t of totals) {
    const les = [...t.boundsMs.map((ms) => String(ms / 1000)), "+Inf"];
    for (const h of t.latency) {
      let cumulative = 0;
      les.forEach((le, i) => {
        cumulative += h.buckets[i] ?? 0;
        lines.push(
          `${duration}_bucket${labels({ vendor: t.vendor, tool: h.tool, le })} ${value(cumulative)}`,
        );
      });
      lines.push(`${duration}_sum${labels({ vendor: t.vendor, tool: h.tool })} ${value(h.sumMs / 1000)}`);
      lines.push(`${duration}_count${labels({ vendor: t.vendor, tool: h.tool })} ${value(h.count)}`);
    }
  }
  family(
    "mcp_gateway_metrics_available",
    "gauge",
    "1 when the vendor's metrics object answered this scrape, 0 when its series are missing from it.",
  );
  for (const t of totals) lines.push(`mcp_gateway_metrics_available${labels({ vendor: t.vendor })} 1`);
  for (const u of unavailable) lines.push(`mcp_gateway_metrics_available${labels({ vendor: u.vendor })} 0`);
  family(
    "mcp_gateway_circuit_breaker_state",
    "gauge",
    "The vendor's circuit breaker: 0 closed, 1 half-open, 2 open.",
  );
  for (const [vendor, g] of guards) {
    lines.push(
      `mcp_gateway_circuit_breaker_state${labels({ vendor })} ${BREAKER_STATE_VALUES[g.breaker.state]}`,
    );
  }
  family(
    "mcp_gateway_circuit_breaker_consecutive_failures",
    "gauge",
    "Consecutive failed upstream attempts the vendor's breaker counts.",
  );
  for (const [vendor, g] of guards) {
    lines.push(
      `mcp_gateway_circuit_breaker_consecutive_failures${labels({ vendor })} ${value(g.breaker.consecutiveFailures)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** `GET /metrics`. */
export async function prometheusMetricsHandler(c: MetricsContext): Promise<Response> {
  const viewer = await opsViewer(c, c.env, "view");
  const vendors = requestedVendors(c, viewer);
  const [{ ok, unavailable }, guards] = await Promise.all([
    readEach(vendors, (vendor) => readVendorTotals(c.env, vendor)),
    breakers(c.env, vendors),
  ]);
  return c.body(prometheusText(ok, unavailable, guards), 200, {
    "content-type": PROMETHEUS_CONTENT_TYPE,
    "cache-control": "no-store",
  });
}
