/**
 * `GET /health/vendors`: what each vendor's guard knows, for monitors.
 *
 * ```json
 * {"status":"degraded","checkedAt":"…","vendors":{"billing":{
 *   "status":"down","breaker":{"state":"open","consecutiveFailures":5,"retryAt":"…",…},
 *   "consecutiveFailures":5,"lastSuccessAt":"…","lastFailureAt":"…",
 *   "lastError":{"kind":"server_error","status":503,"message":"upstream answered 503","at":"…"},
 *   "rateLimiter":{"enabled":true,"tokens":7.5,"requestsPerSecond":10,"burst":10},
 *   "drift":{"total":2,"tools":{"getInvoice":2}},"counters":{…}}}}
 * ```
 *
 * Vendor status: `down` while the breaker is open; `degraded` while it is
 * half-open or failures are accumulating; `up` otherwise; `unknown` when the
 * guard could not be asked. The top-level status is `ok` only when every
 * vendor is `up`. The answer is always 200 so monitors can read the body;
 * alert on `status`. Last errors hold a kind, status and short gateway-made
 * message — never upstream bodies or headers.
 *
 * An upstream MCP vendor also has `definitions`: the tools whose definition changed since it was
 * approved (`{tool, firstSeenHash, currentHash, firstSeenAt, changedAt}`, upstream names) and the
 * ones withheld until an operator approves them (`npm run approve-tools`); `null` while unknown
 * (KV unreadable and nothing seen yet). A change does not change `status` (the breaker's view):
 * alert on `definitions.changes` for that.
 *
 * @module
 */
import type { Context } from "hono";
import { allBundles } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { loadSettings, type VendorSettings, vendorSettings } from "../config.ts";
import { guardClient } from "../resilience/guard-client.ts";
import type { GuardSnapshot } from "../resilience/vendor-guard.ts";
import { type VendorDefinitionStatus, vendorDefinitionStatus } from "../vendors/definitions.ts";

export type VendorStatus = "up" | "degraded" | "down" | "unknown";

export interface VendorHealth {
  status: VendorStatus;
  breaker: {
    state: GuardSnapshot["breaker"]["state"];
    consecutiveFailures: number;
    openedAt: string | null;
    retryAt: string | null;
    probesInFlight: number;
    timesOpened: number;
    /** Callers whose own breaker is open or half-open: their traffic alone failed; the vendor serves the rest. */
    callersOpen: number;
  } | null;
  consecutiveFailures: number | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: { kind: string; status?: number; message: string; at: string } | null;
  rateLimiter: GuardSnapshot["rateLimiter"] | null;
  drift: { total: number; tools: Record<string, number> };
  counters: GuardSnapshot["counters"] | null;
  /** Why the guard's state is missing (status `unknown`). */
  error?: string;
  /** MCP vendors only: changed tool definitions and withheld tools; `null` while unknown. */
  definitions?: VendorDefinitionStatus | null;
}

interface VendorsHealthBody {
  status: "ok" | "degraded";
  checkedAt: string;
  vendors: Record<string, VendorHealth>;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Vendor status from its guard's snapshot. */
export function vendorStatus(snapshot: GuardSnapshot): VendorStatus {
  if (snapshot.breaker.state === "open") return "down";
  if (snapshot.breaker.state === "half_open" || snapshot.breaker.consecutiveFailures > 0) return "degraded";
  return "up";
}

function toVendorHealth(snapshot: GuardSnapshot): VendorHealth {
  const b = snapshot.breaker;
  const tools = snapshot.drift;
  return {
    status: vendorStatus(snapshot),
    breaker: {
      state: b.state,
      consecutiveFailures: b.consecutiveFailures,
      openedAt: iso(b.openedAt),
      retryAt: iso(b.retryAt),
      probesInFlight: b.probesInFlight,
      timesOpened: b.timesOpened,
      callersOpen: b.callersOpen,
    },
    consecutiveFailures: b.consecutiveFailures,
    lastSuccessAt: iso(snapshot.lastSuccessAt),
    lastFailureAt: iso(snapshot.lastFailureAt),
    lastError: snapshot.lastError
      ? { ...snapshot.lastError, at: new Date(snapshot.lastError.at).toISOString() }
      : null,
    rateLimiter: snapshot.rateLimiter,
    drift: { total: Object.values(tools).reduce((sum, n) => sum + n, 0), tools },
    counters: snapshot.counters,
  };
}

function unknownHealth(error: string): VendorHealth {
  return {
    status: "unknown",
    breaker: null,
    consecutiveFailures: null,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastError: null,
    rateLimiter: null,
    drift: { total: 0, tools: {} },
    counters: null,
    error,
  };
}

/** The guard's view of one vendor. */
async function guardHealth(
  env: Env,
  settings: ReturnType<typeof loadSettings>,
  bundle: VendorBundle,
): Promise<VendorHealth> {
  let perVendor: VendorSettings;
  try {
    perVendor = vendorSettings(settings, bundle);
  } catch (error) {
    return unknownHealth(error instanceof Error ? error.message : String(error));
  }
  try {
    return toVendorHealth(await guardClient(env, perVendor).snapshot());
  } catch (error) {
    return unknownHealth(
      `vendor guard unavailable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Health of the given vendors (all compiled vendors by default). */
export async function collectVendorHealth(
  env: Env,
  bundles: readonly VendorBundle[] = allBundles(),
): Promise<VendorsHealthBody> {
  // Throws invalid_configuration (JSON 500) when the environment is bad: monitors should see that.
  const settings = loadSettings(env);
  const entries = await Promise.all(
    bundles.map(async (bundle): Promise<[string, VendorHealth]> => {
      const [health, definitions] = await Promise.all([
        guardHealth(env, settings, bundle),
        vendorDefinitionStatus(env, bundle),
      ]);
      return [
        bundle.vendor,
        bundle.kind === "mcp" ? { ...health, definitions: definitions ?? null } : health,
      ];
    }),
  );
  const vendors = Object.fromEntries(entries);
  const allUp = entries.every(([, h]) => h.status === "up");
  return { status: allUp ? "ok" : "degraded", checkedAt: new Date().toISOString(), vendors };
}

/** hono handler for `GET /health/vendors`. */
export async function vendorsHealthHandler(c: Context<{ Bindings: Env }>): Promise<Response> {
  const body = await collectVendorHealth(c.env);
  return c.json(body, 200, { "cache-control": "no-store" });
}
