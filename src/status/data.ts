/**
 * What `/status` shows, gathered for one viewer: the vendors they may see with the guard's view
 * (src/health/vendors.ts) and their metrics, quota use per team, and the links their access opens.
 * `GET /status` with `Accept: application/json` answers this as is.
 *
 * @module
 */
import { loadAuthConfig } from "../auth/config.ts";
import { allBundles } from "../bundle/registry.ts";
import { clockFor } from "../clock.ts";
import { GatewayError } from "../errors.ts";
import { collectVendorHealth, type VendorHealth } from "../health/vendors.ts";
import { type OpsViewer, viewerSeesVendor } from "../ops/access.ts";
import type { VendorMetricsSnapshot } from "../ops/metrics-types.ts";
import type { QuotaUsage } from "../resilience/quota-types.ts";
import type { StatusSources } from "./sources.ts";

export interface StatusVendor {
  vendor: string;
  kind: "openapi" | "mcp";
  /** Exactly what `/health/vendors` says about the vendor. */
  health: VendorHealth;
  /** `null`: the metrics store has no data yet. */
  metrics: VendorMetricsSnapshot | null;
}

export interface StatusTeamQuota {
  teamId: string;
  /** `null`: the quota guard has no data yet. */
  usage: QuotaUsage[] | null;
}

export interface StatusLink {
  href: string;
  label: string;
}

export interface StatusData {
  /** ISO time on the gateway's clock. */
  generatedAt: string;
  /** `ok` only when every vendor shown is `up`. */
  status: "ok" | "degraded";
  viewer: {
    scope: OpsViewer["scope"];
    via: OpsViewer["via"];
    userId?: string;
    teamId?: string;
    role?: "admin" | "member";
  };
  /** Set when the page shows one vendor (`/status?vendor=<name>`). */
  only?: string;
  vendors: StatusVendor[];
  quotas: StatusTeamQuota[];
  /** Other operator surfaces this viewer may open. */
  links: StatusLink[];
}

/** Teams whose quota use the viewer may see: every team, or their own. */
function visibleTeams(env: Env, viewer: OpsViewer): string[] {
  return viewer.scope === "all" ? [...loadAuthConfig(env).teams.keys()].sort() : [viewer.teamId];
}

function linksFor(viewer: OpsViewer): StatusLink[] {
  const links: StatusLink[] = [
    { href: "/health/vendors", label: "Vendor health (JSON)" },
    { href: "/metrics", label: "Prometheus metrics" },
    { href: "/admin/metrics", label: "Metrics (JSON)" },
  ];
  if (viewer.scope === "all" || viewer.role === "admin") {
    links.push({ href: "/admin/audit", label: "Audit log (JSON)" });
  }
  if (viewer.via === "session") links.push({ href: "/credentials", label: "Your credentials" });
  return links;
}

/**
 * Everything the page shows this viewer (`only`: one vendor of theirs). Sources that fail count as
 * "no data yet", never as a failed page.
 *
 * @throws {GatewayError} `not_found` when `only` is no vendor this viewer may see (which of the two is not said).
 */
export async function collectStatus(
  env: Env,
  viewer: OpsViewer,
  sources: StatusSources,
  only?: string,
): Promise<StatusData> {
  const now = clockFor(env).now();
  const sees = viewerSeesVendor(env, viewer);
  const bundles = allBundles().filter(
    (bundle) => sees(bundle.vendor) && (only === undefined || bundle.vendor === only),
  );
  if (only !== undefined && bundles.length === 0) {
    throw new GatewayError("not_found", "No such vendor on your status page.");
  }
  const [health, metrics, quotas] = await Promise.all([
    collectVendorHealth(env, bundles),
    Promise.all(
      bundles.map((bundle) => sources.vendorMetrics(env, bundle.vendor, now).catch(() => undefined)),
    ),
    Promise.all(
      visibleTeams(env, viewer).map(async (teamId) => ({
        teamId,
        usage: (await sources.quotaUsage(env, teamId).catch(() => undefined)) ?? null,
      })),
    ),
  ]);
  const vendors = bundles
    .map((bundle, i): StatusVendor | undefined => {
      const vendorHealth = health.vendors[bundle.vendor];
      if (vendorHealth === undefined) return undefined;
      return {
        vendor: bundle.vendor,
        kind: bundle.kind ?? "openapi",
        health: vendorHealth,
        metrics: metrics[i] ?? null,
      };
    })
    .filter((entry) => entry !== undefined)
    .sort((a, b) => a.vendor.localeCompare(b.vendor));
  return {
    generatedAt: new Date(now).toISOString(),
    status: health.status,
    viewer: {
      scope: viewer.scope,
      via: viewer.via,
      ...(viewer.userId === undefined ? {} : { userId: viewer.userId }),
      ...(viewer.scope === "team" ? { teamId: viewer.teamId, role: viewer.role } : {}),
    },
    ...(only === undefined ? {} : { only }),
    vendors,
    quotas,
    links: linksFor(viewer),
  };
}
