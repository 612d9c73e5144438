/**
 * Small inline SVG charts for the status page: no script, no external asset. Each chart carries
 * its numbers in `data-*` attributes (comma-separated, oldest first; an empty item is a slot
 * without a value) and a `<title>` per slot, so screen readers, tests and curious operators can
 * read what the bars draw.
 *
 * @module
 */
import { escapeHtml } from "../auth/pages.ts";
import type { MetricsBucket } from "../ops/metrics-types.ts";

/** Width of one slot in the chart's own units; bars leave a gap of one unit. */
const SLOT = 10;
/** Chart height in its own units (the page scales it). */
const HEIGHT = 40;

export type ChartWindow = "hour" | "day";

/** `12:05` (UTC) for a minute slot, `12:00` for an hour slot. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function slotLabel(window: ChartWindow, start: number): string {
  return window === "hour"
    ? `${clockTime(start)} UTC`
    : `${clockTime(start)}–${clockTime(start + 3_600_000)} UTC`;
}

/** Error share of a slot in percent, one decimal; `undefined` without calls. */
export function errorRatePercent(bucket: { calls: number; errors: number }): number | undefined {
  return bucket.calls === 0 ? undefined : Math.round((bucket.errors / bucket.calls) * 1000) / 10;
}

function list(values: readonly (number | undefined)[]): string {
  return values.map((value) => (value === undefined ? "" : String(value))).join(",");
}

function num(value: number): string {
  return String(Math.round(value * 100) / 100);
}

interface Frame {
  window: ChartWindow;
  series: string;
  label: string;
  buckets: readonly MetricsBucket[];
  data: Record<string, string>;
  body: string;
}

function frame(f: Frame): string {
  const width = Math.max(1, f.buckets.length) * SLOT;
  const attributes = Object.entries({ series: f.series, window: f.window, ...f.data })
    .map(([name, value]) => ` data-${name}="${escapeHtml(value)}"`)
    .join("");
  return `<svg class="chart" role="img" viewBox="0 0 ${width} ${HEIGHT}" preserveAspectRatio="none"${attributes}><title>${escapeHtml(f.label)}</title><line class="base" x1="0" y1="${HEIGHT - 0.5}" x2="${width}" y2="${HEIGHT - 0.5}"/>${f.body}</svg>`;
}

/** One bar; its slot's title is on the hover target drawn over it ({@link slotTitles}). */
function bar(i: number, value: number, max: number, cls: string, bottom = 0): string {
  if (value <= 0 || max <= 0) return "";
  const height = Math.max(1, (value / max) * (HEIGHT - 2));
  const y = HEIGHT - bottom - height;
  return `<rect class="${cls}" x="${i * SLOT + 1}" y="${num(y)}" width="${SLOT - 2}" height="${num(height)}"/>`;
}

/** Hover targets over whole slots, so a title shows for empty slots too. */
function slotTitles(buckets: readonly MetricsBucket[], title: (b: MetricsBucket) => string): string {
  return buckets
    .map(
      (b, i) =>
        `<rect class="hit" x="${i * SLOT}" y="0" width="${SLOT}" height="${HEIGHT}"><title>${escapeHtml(title(b))}</title></rect>`,
    )
    .join("");
}

/** Calls per slot, the failed ones stacked on top in red. */
export function callsChart(window: ChartWindow, buckets: readonly MetricsBucket[]): string {
  const max = Math.max(0, ...buckets.map((b) => b.calls));
  const total = buckets.reduce((sum, b) => sum + b.calls, 0);
  const errors = buckets.reduce((sum, b) => sum + b.errors, 0);
  const title = (b: MetricsBucket) =>
    `${slotLabel(window, b.start)}: ${b.calls} call${b.calls === 1 ? "" : "s"}, ${b.errors} failed`;
  const body = buckets
    .map((b, i) => {
      const ok = b.calls - b.errors;
      const okBar = bar(i, ok, max, "ok");
      const okHeight = ok > 0 && max > 0 ? Math.max(1, (ok / max) * (HEIGHT - 2)) : 0;
      return okBar + bar(i, b.errors, max, "err", okHeight);
    })
    .join("");
  return frame({
    window,
    series: "calls",
    label: `Calls per ${window === "hour" ? "minute, last hour" : "hour, last day"}: ${total} in all, ${errors} failed, at most ${max} in one slot`,
    buckets,
    data: {
      starts: buckets.map((b) => b.start).join(","),
      calls: list(buckets.map((b) => b.calls)),
      errors: list(buckets.map((b) => b.errors)),
    },
    body: body + slotTitles(buckets, title),
  });
}

/** Share of failed calls per slot, in percent (0–100 scale). */
export function errorRateChart(window: ChartWindow, buckets: readonly MetricsBucket[]): string {
  const rates = buckets.map(errorRatePercent);
  const title = (b: MetricsBucket) => {
    const rate = errorRatePercent(b);
    return `${slotLabel(window, b.start)}: ${rate === undefined ? "no calls" : `${rate}% failed (${b.errors} of ${b.calls})`}`;
  };
  const body = rates.map((rate, i) => bar(i, rate ?? 0, 100, "err")).join("");
  const peak = Math.max(0, ...rates.map((r) => r ?? 0));
  return frame({
    window,
    series: "error-rate",
    label: `Error rate per ${window === "hour" ? "minute, last hour" : "hour, last day"}, 0 to 100%: highest ${peak}%`,
    buckets,
    data: { starts: buckets.map((b) => b.start).join(","), "error-rate": list(rates) },
    body: body + slotTitles(buckets, title),
  });
}

/** Polyline segments through the slots that have a value (a gap where a slot has none). */
function line(values: readonly (number | undefined)[], max: number, cls: string): string {
  const segments: string[][] = [[]];
  values.forEach((value, i) => {
    if (value === undefined) {
      segments.push([]);
      return;
    }
    const y = HEIGHT - 1 - (value / max) * (HEIGHT - 4);
    (segments[segments.length - 1] as string[]).push(`${i * SLOT + SLOT / 2},${num(y)}`);
  });
  return segments
    .filter((points) => points.length > 0)
    .map((points) =>
      points.length === 1
        ? `<circle class="${cls}" cx="${points[0]?.split(",")[0]}" cy="${points[0]?.split(",")[1]}" r="1.6"/>`
        : `<polyline class="${cls}" points="${points.join(" ")}" vector-effect="non-scaling-stroke"/>`,
    )
    .join("");
}

/** Latency p50 and p95 per slot, in ms. */
export function latencyChart(window: ChartWindow, buckets: readonly MetricsBucket[]): string {
  const p50 = buckets.map((b) => b.p50Ms);
  const p95 = buckets.map((b) => b.p95Ms);
  const max = Math.max(1, ...p95.map((v) => v ?? 0), ...p50.map((v) => v ?? 0));
  const title = (b: MetricsBucket) =>
    `${slotLabel(window, b.start)}: ${b.p50Ms === undefined ? "no calls" : `p50 ${b.p50Ms} ms, p95 ${b.p95Ms ?? "–"} ms`}`;
  return frame({
    window,
    series: "latency",
    label: `Latency per ${window === "hour" ? "minute, last hour" : "hour, last day"}: p50 and p95, highest p95 ${max} ms`,
    buckets,
    data: { starts: buckets.map((b) => b.start).join(","), p50: list(p50), p95: list(p95), max: String(max) },
    body: line(p95, max, "p95") + line(p50, max, "p50") + slotTitles(buckets, title),
  });
}
