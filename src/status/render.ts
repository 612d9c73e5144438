/**
 * The status page's HTML: one server-rendered document, inline CSS, inline SVG charts
 * (src/status/charts.ts), no script, nothing loaded from elsewhere. Everything interpolated is
 * escaped: vendor and tool names, error messages and quota subjects come from upstreams, specs
 * and config. Laid out for a phone first (one column at 375 px, 16 px text), wider on a desk.
 *
 * @module
 */
import { escapeHtml } from "../auth/pages.ts";
import { CALL_OUTCOMES } from "../call-outcome.ts";
import type { MetricsWindow, RecentFailure, ToolMetrics } from "../ops/metrics-types.ts";
import type { QuotaUsage } from "../resilience/quota-types.ts";
import { type ChartWindow, callsChart, errorRateChart, errorRatePercent, latencyChart } from "./charts.ts";
import type { StatusData, StatusTeamQuota, StatusVendor } from "./data.ts";

/**
 * More vendors than this get a summary page: a tile for each, full sections (charts) only for the
 * ones not `up`; each vendor's own page is `/status?vendor=<name>`. Keeps the page light (a section
 * is tens of kilobytes of SVG) and the problems on top.
 */
export const FULL_PAGE_VENDORS_MAX = 12;

/** Tiles list the vendors needing attention first. */
const SEVERITY: Record<string, number> = { down: 0, degraded: 1, unknown: 2, up: 3 };

function vendorHref(vendor: string): string {
  return `/status?vendor=${encodeURIComponent(vendor)}`;
}

/** `<meta http-equiv=refresh>` period: the page re-renders itself without a script. */
export const STATUS_REFRESH_SECONDS = 60;

const STYLE = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f5f6f8}
a{color:#0b5cad}a:focus-visible,button:focus-visible{outline:2px solid #0b5cad;outline-offset:2px}
header.top{background:#16202c;color:#e8edf2;padding:1rem 0 .75rem}
header.top a{color:#9cc8ff}
.wrap{max-width:72rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.35rem;margin:0;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
h2{font-size:1.15rem;margin:0}
h3{font-size:1rem;margin:1rem 0 .4rem}
small,.muted{color:#59636e;font-weight:400}
header.top .muted{color:#aab6c2}
.meta{margin:.25rem 0 .5rem}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
nav form{display:inline;margin:0}
nav button{font:inherit;color:#9cc8ff;background:none;border:0;padding:0;text-decoration:underline;cursor:pointer}
main{padding-top:1rem;padding-bottom:1rem}
.pill{display:inline-block;font-size:.8rem;font-weight:600;line-height:1.2;padding:.2rem .55rem;border-radius:99px;border:1px solid;white-space:nowrap;vertical-align:middle}
.up,.ok{color:#116329;background:#dafbe1;border-color:#8fd6a0}
.degraded{color:#7d4e00;background:#fff5cc;border-color:#e6c35a}
.down{color:#a40e26;background:#ffebe9;border-color:#f2a3a9}
.unknown{color:#424a53;background:#eaeef2;border-color:#c4ccd4}
.tiles{list-style:none;margin:.5rem 0 1rem;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.6rem}
.tile{display:block;background:#fff;border:1px solid #dde1e6;border-left-width:5px;border-radius:8px;padding:.55rem .75rem;color:inherit;text-decoration:none}
.tile:hover{border-color:#9aa4ae}
.tile.up{border-left-color:#2da44e}.tile.degraded{border-left-color:#d4a72c}.tile.down{border-left-color:#cf222e}.tile.unknown{border-left-color:#8c959f}
.tile .name{font-weight:600;overflow-wrap:anywhere;margin-right:.4rem}
.tile .kv{display:block;color:#59636e;font-size:.9rem}
.card{background:#fff;border:1px solid #dde1e6;border-radius:10px;padding:1rem;margin:0 0 1rem}
.vhead{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;justify-content:space-between}
.vhead h2{overflow-wrap:anywhere}a.plain{color:inherit;text-decoration:none}a.plain:hover{text-decoration:underline}
.vendor[data-status=down]{border-left:5px solid #cf222e}.vendor[data-status=degraded]{border-left:5px solid #d4a72c}
.breaker{margin:.3rem 0 .6rem;color:#424a53}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(7rem,1fr));gap:.5rem;margin:.5rem 0}
.stats div{background:#f6f8fa;border-radius:6px;padding:.35rem .6rem}
.stats dt{font-size:.8rem;color:#59636e}.stats dd{margin:0;font-size:1.15rem;font-weight:600;font-variant-numeric:tabular-nums}
.windows{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,20rem),1fr));gap:0 1.5rem}
figure{margin:.3rem 0 .8rem}
figcaption{display:flex;justify-content:space-between;gap:.5rem;font-size:.9rem}
figcaption span{color:#59636e;font-variant-numeric:tabular-nums}
svg.chart{display:block;width:100%;height:56px;background:#fafbfc;border-radius:4px}
svg .ok{fill:#4c82d6}svg .err{fill:#d1435b}svg .base{stroke:#c9d1d9;stroke-width:1;vector-effect:non-scaling-stroke}
svg .hit{fill:transparent}svg .hit:hover{fill:rgba(31,35,40,.06)}
svg polyline{fill:none;stroke-width:2;stroke-linejoin:round}
svg polyline.p50{stroke:#4c82d6}svg polyline.p95{stroke:#e8883a}svg circle.p50{fill:#4c82d6}svg circle.p95{fill:#e8883a}
.axis{display:flex;justify-content:space-between;font-size:.8rem;color:#59636e}
.key{font-size:.8rem}.key i{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin:0 .2rem 0 .5rem;vertical-align:-.05rem}
.key .kok{background:#4c82d6}.key .kerr{background:#d1435b}.key .kp95{background:#e8883a}
.empty{background:#f6f8fa;border:1px dashed #c4ccd4;border-radius:6px;padding:.6rem .8rem;margin:.5rem 0;color:#424a53}
.failures,.changes{list-style:none;margin:0;padding:0}
.failures li,.changes li{border-top:1px solid #eaeef2;padding:.4rem 0}
.failures .what{display:flex;flex-wrap:wrap;gap:.2rem .6rem;align-items:baseline}
.failures p,.changes p{margin:.1rem 0 0;color:#424a53;overflow-wrap:anywhere}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f2f4f7;padding:0 .25rem;border-radius:4px;overflow-wrap:anywhere}
.outcome{font-weight:600;color:#a40e26}
.quota{display:grid;grid-template-columns:1fr auto;gap:.1rem .75rem;align-items:center;border-top:1px solid #eaeef2;padding:.45rem 0}
.quota meter{grid-column:1/-1;width:100%;height:.7rem}
.quota .who{overflow-wrap:anywhere}
h2.section{margin:.25rem 0 0}
table.tools{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
.tools th,.tools td{text-align:right;padding:.25rem .4rem;border-top:1px solid #eaeef2;font-size:.95rem}
.tools th[scope=row],.tools thead th:first-child{text-align:left;overflow-wrap:anywhere;font-weight:400}
.tools thead th{font-size:.8rem;color:#59636e;font-weight:400;border-top:0}
.outcomes{margin:.2rem 0 .4rem;font-size:.9rem;color:#424a53}.outcomes span{white-space:nowrap}
footer{padding-bottom:2rem;color:#59636e;font-size:.9rem}
`;

function iso(at: string | number): string {
  const ms = typeof at === "number" ? at : Date.parse(at);
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString();
}

/**
 * `<time>` with the full ISO time in `datetime` and `HH:MM:SS UTC` shown, the date too when it is
 * not `today` (`YYYY-MM-DD`, the page's own date).
 */
function time(at: string | number | null | undefined, today: string): string {
  if (at === null || at === undefined) return "never";
  const value = iso(at);
  if (value === "") return escapeHtml(String(at));
  const shown = value.startsWith(today)
    ? value.slice(11, 19)
    : `${value.slice(0, 10)} ${value.slice(11, 19)}`;
  return `<time datetime="${value}" title="${value}">${shown} UTC</time>`;
}

function ms(value: number | undefined): string {
  return value === undefined ? "–" : `${Math.round(value)} ms`;
}

function percent(window: { calls: number; errors: number } | undefined): string {
  const rate = window === undefined ? undefined : errorRatePercent(window);
  return rate === undefined ? "–" : `${rate}%`;
}

function pill(status: string): string {
  return `<span class="pill ${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

function vendorAnchor(vendor: string): string {
  return `vendor-${vendor.replace(/[^a-z0-9-]/g, "_")}`;
}

function breakerLine(v: StatusVendor, today: string): string {
  const b = v.health.breaker;
  if (b === null) {
    return `Breaker state unknown${v.health.error === undefined ? "" : `: ${escapeHtml(v.health.error)}`}`;
  }
  const failures =
    b.consecutiveFailures === 1 ? "1 consecutive failure" : `${b.consecutiveFailures} consecutive failures`;
  const parts: string[] = [];
  if (b.state === "open") {
    parts.push(
      `<strong>Breaker open</strong> since ${time(b.openedAt, today)}`,
      `retry at ${time(b.retryAt, today)}`,
    );
  } else if (b.state === "half_open") {
    parts.push(
      `<strong>Breaker half-open</strong> since ${time(b.openedAt, today)}`,
      `${b.probesInFlight} probe(s) in flight`,
    );
  } else {
    parts.push("Breaker closed");
  }
  parts.push(failures);
  if (b.callersOpen > 0) parts.push(`${b.callersOpen} caller breaker(s) open`);
  parts.push(`last success ${time(v.health.lastSuccessAt, today)}`);
  return parts.join(" · ");
}

function axis(window: MetricsWindow, kind: ChartWindow): string {
  if (window.buckets.length === 0) return "";
  return `<div class="axis" aria-hidden="true"><span>${kind === "hour" ? "60 min ago" : "24 h ago"}</span><span>now</span></div>`;
}

function windowCharts(title: string, kind: ChartWindow, window: MetricsWindow): string {
  const maxCalls = Math.max(0, ...window.buckets.map((b) => b.calls));
  const maxP95 = Math.max(0, ...window.buckets.map((b) => b.p95Ms ?? b.p50Ms ?? 0));
  return `<div class="window" data-window="${kind}"><h3>${title}</h3>
<figure><figcaption><span class="key">Calls<i class="kok"></i>ok<i class="kerr"></i>failed</span><span>${window.calls} · peak ${maxCalls}</span></figcaption>${callsChart(kind, window.buckets)}${axis(window, kind)}</figure>
<figure><figcaption>Error rate<span>${percent(window)}</span></figcaption>${errorRateChart(kind, window.buckets)}${axis(window, kind)}</figure>
<figure><figcaption><span class="key">Latency<i class="kok"></i>p50<i class="kp95"></i>p95</span><span>peak ${ms(maxP95 || undefined)}</span></figcaption>${latencyChart(kind, window.buckets)}${axis(window, kind)}</figure>
</div>`;
}

function stat(name: string, label: string, value: string, raw: number | undefined): string {
  return `<div><dt>${label}</dt><dd data-stat="${name}"${raw === undefined ? "" : ` data-value="${raw}"`}>${value}</dd></div>`;
}

function failureItem(f: RecentFailure, today: string): string {
  return `<li><div class="what">${time(f.time, today)} <code>${escapeHtml(f.tool)}</code> <span class="outcome">${escapeHtml(f.outcome)}</span>${f.errorCode === undefined ? "" : ` <code>${escapeHtml(f.errorCode)}</code>`}</div>${f.message === undefined ? "" : `<p>${escapeHtml(f.message)}</p>`}</li>`;
}

function failures(v: StatusVendor, today: string): string {
  const recent = v.metrics?.recentFailures ?? [];
  const last = v.health.lastError;
  const items = recent.map((f) => failureItem(f, today));
  if (items.length === 0 && last !== null) {
    items.push(
      `<li><div class="what">${time(last.at, today)} <span class="outcome">${escapeHtml(last.kind)}</span>${last.status === undefined ? "" : ` <code>${last.status}</code>`}</div><p>${escapeHtml(last.message)}</p></li>`,
    );
  }
  if (items.length === 0) return `<h3>Recent failures</h3><p class="muted">None.</p>`;
  return `<h3>Recent failures</h3><ol class="failures">${items.join("")}</ol>`;
}

function definitionChanges(v: StatusVendor, today: string): string {
  if (v.kind !== "mcp") return "";
  const defs = v.health.definitions;
  if (defs === undefined) return "";
  if (defs === null) return `<h3>Tool definition changes</h3><p class="muted">Not known yet.</p>`;
  if (defs.changes.length === 0 && defs.withheld.length === 0) {
    return `<h3>Tool definition changes</h3><p class="muted">None since approval.</p>`;
  }
  const withheld = new Set(defs.withheld);
  const items = defs.changes.map(
    (change) =>
      `<li><code>${escapeHtml(change.tool)}</code> changed ${time(change.changedAt, today)}${withheld.has(change.tool) ? ` <span class="pill degraded">withheld</span>` : ""}<p>approved <code>${escapeHtml(change.firstSeenHash.slice(0, 12))}</code> → now <code>${escapeHtml(change.currentHash.slice(0, 12))}</code></p></li>`,
  );
  for (const tool of defs.withheld) {
    if (!defs.changes.some((change) => change.tool === tool)) {
      items.push(`<li><code>${escapeHtml(tool)}</code> <span class="pill degraded">withheld</span></li>`);
    }
  }
  return `<h3>Tool definition changes</h3><ul class="changes">${items.join("")}</ul><p class="muted">Approve with <code>npm run approve-tools</code>.</p>`;
}

/** `ok 160 · upstream_error 10`, in the closed list's order. */
function outcomeLine(window: Omit<MetricsWindow, "buckets">): string {
  const parts = CALL_OUTCOMES.filter((outcome) => (window.outcomes[outcome] ?? 0) > 0).map(
    (outcome) =>
      `<span data-outcome="${outcome}" data-value="${window.outcomes[outcome]}">${outcome} <strong>${window.outcomes[outcome]}</strong></span>`,
  );
  return parts.length === 0 ? "" : `<p class="outcomes">Last hour: ${parts.join(" · ")}</p>`;
}

/** The busiest tools of the last hour (the rest are in the JSON). */
const TOOLS_SHOWN = 10;

function toolTable(tools: readonly ToolMetrics[]): string {
  const busy = tools
    .filter((t) => t.day.calls > 0)
    .sort((a, b) => b.hour.calls - a.hour.calls || b.day.calls - a.day.calls || a.tool.localeCompare(b.tool));
  if (busy.length === 0) return "";
  const rows = busy
    .slice(0, TOOLS_SHOWN)
    .map(
      (t) =>
        `<tr data-tool="${escapeHtml(t.tool)}" data-calls="${t.hour.calls}" data-errors="${t.hour.errors}"><th scope="row"><code>${escapeHtml(t.tool)}</code></th><td>${t.hour.calls}</td><td>${percent(t.hour)}</td><td>${ms(t.hour.p95Ms)}</td><td>${t.day.calls}</td></tr>`,
    )
    .join("");
  const more =
    busy.length > TOOLS_SHOWN ? `<p class="muted">${busy.length - TOOLS_SHOWN} more in the JSON.</p>` : "";
  return `<h3>Tools</h3><table class="tools"><thead><tr><th scope="col">Tool</th><th scope="col">Calls 1 h</th><th scope="col">Errors</th><th scope="col">p95</th><th scope="col">24 h</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

function vendorSection(v: StatusVendor, today: string): string {
  const m = v.metrics;
  const hour = m?.hour;
  const counters = v.health.counters;
  const stats = [
    stat("calls-hour", "Calls, 1 h", hour === undefined ? "–" : String(hour.calls), hour?.calls),
    stat(
      "error-rate-hour",
      "Errors, 1 h",
      percent(hour),
      hour === undefined ? undefined : errorRatePercent(hour),
    ),
    stat("p50-hour", "p50, 1 h", ms(hour?.p50Ms), hour?.p50Ms),
    stat("p95-hour", "p95, 1 h", ms(hour?.p95Ms), hour?.p95Ms),
  ].join("");
  const charts =
    m === null
      ? `<p class="empty">No metrics yet for this vendor.${counters === null ? "" : ` Its guard's counters (approximate, since it started): ${counters.successes} succeeded, ${counters.failures} failed, ${counters.rejected} refused.`}</p>`
      : `<div class="windows">${windowCharts("Last hour <small>per minute</small>", "hour", m.hour)}${windowCharts("Last 24 hours <small>per hour</small>", "day", m.day)}</div>`;
  const kind = v.kind === "mcp" ? "MCP server" : "OpenAPI";
  return `<section class="card vendor" id="${vendorAnchor(v.vendor)}" data-vendor="${escapeHtml(v.vendor)}" data-status="${escapeHtml(v.health.status)}">
<div class="vhead"><h2><a class="plain" href="${escapeHtml(vendorHref(v.vendor))}">${escapeHtml(v.vendor)}</a> <small>${kind}</small></h2>${pill(v.health.status)}</div>
<p class="breaker">${breakerLine(v, today)}</p>
${m === null ? "" : `<dl class="stats">${stats}</dl>`}
${m === null ? "" : outcomeLine(m.hour)}
${charts}
${m === null ? "" : toolTable(m.tools)}
${failures(v, today)}
${definitionChanges(v, today)}
</section>`;
}

function tile(v: StatusVendor, href: string): string {
  const hour = v.metrics?.hour;
  const numbers =
    hour === undefined
      ? "no metrics yet"
      : `${hour.calls} calls/h · ${percent(hour)} errors · p95 ${ms(hour.p95Ms)}`;
  return `<li><a class="tile ${escapeHtml(v.health.status)}" data-tile="${escapeHtml(v.vendor)}" href="${escapeHtml(href)}"><span class="name">${escapeHtml(v.vendor)}</span>${pill(v.health.status)}<span class="kv">${numbers}</span></a></li>`;
}

/** Tiles for every vendor, then sections: all of them, or (many vendors) the ones not up. */
function vendorsBody(data: StatusData): string {
  const today = data.generatedAt.slice(0, 10);
  if (data.vendors.length === 0) {
    return `<p class="empty">No vendor to show${data.viewer.scope === "team" ? " for your team" : ""}.</p>`;
  }
  if (data.only !== undefined) {
    return `<p><a href="/status">← All vendors</a></p>${data.vendors.map((v) => vendorSection(v, today)).join("")}`;
  }
  const summary = data.vendors.length > FULL_PAGE_VENDORS_MAX;
  const ordered = [...data.vendors].sort(
    (a, b) =>
      (SEVERITY[a.health.status] ?? 2) - (SEVERITY[b.health.status] ?? 2) || a.vendor.localeCompare(b.vendor),
  );
  const tiles = ordered
    .map((v) => tile(v, summary ? vendorHref(v.vendor) : `#${vendorAnchor(v.vendor)}`))
    .join("");
  const shown = summary ? ordered.filter((v) => v.health.status !== "up") : data.vendors;
  const note = summary
    ? `<p class="muted">${data.vendors.length} vendors: ${shown.length === 0 ? "all up" : `the ${shown.length} not up below`}; open a vendor for its charts.</p>`
    : "";
  return `<ul class="tiles">${tiles}</ul>${note}${shown.map((v) => vendorSection(v, today)).join("")}`;
}

function quotaRow(q: QuotaUsage, today: string): string {
  const who = `${q.scope === "team" ? "Team" : "User"} <code>${escapeHtml(q.subject)}</code>`;
  const scope = q.vendor === undefined ? "all vendors" : escapeHtml(q.vendor);
  return `<div class="quota" data-subject="${escapeHtml(q.subject)}" data-used="${q.used}" data-limit="${q.limit}"><span class="who">${who} · ${scope} · per ${q.window}</span><span><strong>${q.used}</strong> / ${q.limit}</span><meter min="0" max="${q.limit}" low="${q.limit * 0.7}" high="${q.limit * 0.9}" optimum="0" value="${Math.min(q.used, q.limit)}" aria-label="${escapeHtml(`${q.used} of ${q.limit} used`)}"></meter><small>resets ${time(q.resetAt, today)}</small></div>`;
}

function quotaSection(quotas: readonly StatusTeamQuota[], today: string): string {
  const body =
    quotas.length === 0
      ? `<p class="muted">No teams are configured (<code>GATEWAY_TEAMS</code>).</p>`
      : quotas
          .map(
            (team) =>
              `<h3>Team <code>${escapeHtml(team.teamId)}</code></h3>${
                team.usage === null
                  ? `<p class="empty">No quota data yet.</p>`
                  : team.usage.length === 0
                    ? `<p class="muted">No quota configured.</p>`
                    : team.usage.map((q) => quotaRow(q, today)).join("")
              }`,
          )
          .join("");
  return `<section class="card" id="quotas"><h2>Quota use</h2>${body}</section>`;
}

function viewerLine(data: StatusData): string {
  const v = data.viewer;
  if (v.via === "local") return "Local gateway (GATEWAY_AUTH=none): open on loopback only";
  if (v.via === "token") return "Signed in with the operator token: every vendor";
  if (v.scope === "all")
    return `Signed in as <code>${escapeHtml(v.userId ?? "")}</code>, gateway admin: every vendor`;
  return `Signed in as <code>${escapeHtml(v.userId ?? "")}</code>, team <code>${escapeHtml(v.teamId ?? "")}</code> ${escapeHtml(v.role ?? "")}: your team's vendors`;
}

export interface RenderOptions {
  /** The session's CSRF token: renders a sign-out button. */
  signOutCsrf?: string;
}

/** The whole page. */
export function renderStatusPage(data: StatusData, options: RenderOptions = {}): string {
  const today = data.generatedAt.slice(0, 10);
  const down = data.vendors.filter((v) => v.health.status !== "up").length;
  const summary =
    data.vendors.length === 0
      ? `<span class="pill unknown">no vendors</span>`
      : down === 0
        ? `<span class="pill ok">all ${data.vendors.length} up</span>`
        : `<span class="pill ${data.vendors.some((v) => v.health.status === "down") ? "down" : "degraded"}">${down} of ${data.vendors.length} not up</span>`;
  const links = data.links.map(
    (link) => `<li><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></li>`,
  );
  if (options.signOutCsrf !== undefined) {
    links.push(
      `<li><form method="post" action="/signout"><input type="hidden" name="csrf" value="${escapeHtml(options.signOutCsrf)}"><button type="submit">Sign out</button></form></li>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${STATUS_REFRESH_SECONDS}">
<title>Status · MCP Edge Gateway</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body><header class="top"><div class="wrap"><h1>MCP Edge Gateway status ${summary}</h1>
<p class="meta"><span class="muted">Updated ${time(data.generatedAt, today)} · refreshes every ${STATUS_REFRESH_SECONDS} s · times in UTC</span><br>${viewerLine(data)}</p>
<nav aria-label="Operator links"><ul>${links.join("")}</ul></nav></div></header>
<main class="wrap"><h2 class="section">Vendors</h2>${vendorsBody(data)}${quotaSection(data.quotas, today)}</main>
<footer class="wrap">Numbers as JSON: <code>curl -H 'accept: application/json' …/status</code>. Error rate counts calls the vendor or the gateway failed (not tool errors the model can fix).</footer>
</body></html>`;
}
