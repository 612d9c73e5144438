/**
 * The Worker side of {@link VendorGuard}: builds the guard config from the
 * vendor settings and talks to the vendor's Durable Object.
 *
 * Failure policy: the guard protects upstreams, it must not become their
 * single point of failure. If the Durable Object cannot answer (overloaded,
 * unreachable, slower than {@link ADMISSION_TIMEOUT_MS}) the call is admitted
 * without breaker or bucket and a warning is logged ("fail open").
 *
 * @module
 */
import type { VendorSettings } from "../config.ts";
import type { Admission, AdmitRequest, AttemptOutcome, GuardConfig, GuardSnapshot } from "./vendor-guard.ts";

/** A DO round trip takes milliseconds; past this the guard is in trouble and the call goes on without it. */
export const ADMISSION_TIMEOUT_MS = 2_000;

/** What the retry loop needs from the guard (a seam for tests). */
export interface GuardClient {
  admit(req: Omit<AdmitRequest, "config">): Promise<Admission>;
  record(outcome: AttemptOutcome): Promise<void>;
  recordDrift(tool: string): Promise<void>;
  snapshot(): Promise<GuardSnapshot>;
}

/** The breaker and bucket settings a vendor's guard applies. */
export function guardConfig(settings: VendorSettings): GuardConfig {
  return {
    failureThreshold: settings.circuitBreakerFailureThreshold,
    openTimeoutMs: Math.round(settings.circuitBreakerTimeoutSeconds * 1000),
    halfOpenProbes: settings.circuitBreakerHalfOpenProbes,
    ...(settings.rateLimitEnabled
      ? {
          rateLimit: {
            requestsPerSecond: settings.rateLimitRequestsPerSecond,
            burst: settings.rateLimitBurst,
          },
        }
      : {}),
  };
}

interface GuardEnv {
  VENDOR_GUARD?: Env["VENDOR_GUARD"];
}

function stubFor(env: object, vendor: string) {
  const ns = (env as GuardEnv).VENDOR_GUARD;
  return ns ? ns.get(ns.idFromName(vendor)) : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`vendor guard did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function logGuardFailure(vendor: string, op: string, error: unknown): void {
  console.warn(
    JSON.stringify({
      level: "warn",
      msg: "vendor guard unavailable; failing open",
      vendor,
      op,
      error: error instanceof Error ? error.message : String(error),
    }),
  );
}

/**
 * The guard for `settings.vendor`. Without a `VENDOR_GUARD` binding (a
 * deployment without the Durable Object) every call is admitted.
 */
export function guardClient(env: object, settings: VendorSettings): GuardClient {
  const vendor = settings.vendor;
  const config = guardConfig(settings);
  const stub = stubFor(env, vendor);
  return {
    async admit(req) {
      if (!stub) return { allowed: true, waitMs: 0 };
      try {
        return await withTimeout<Admission>(
          stub.admit({ ...req, config }) as Promise<Admission>,
          ADMISSION_TIMEOUT_MS,
        );
      } catch (error) {
        logGuardFailure(vendor, "admit", error);
        return { allowed: true, waitMs: 0 };
      }
    },
    async record(outcome) {
      if (!stub) return;
      try {
        await stub.record(outcome, config);
      } catch (error) {
        logGuardFailure(vendor, "record", error);
      }
    },
    async recordDrift(tool) {
      if (!stub) return;
      try {
        await stub.recordDrift(tool);
      } catch (error) {
        logGuardFailure(vendor, "recordDrift", error);
      }
    },
    async snapshot() {
      if (!stub) throw new Error("VENDOR_GUARD binding missing");
      return withTimeout<GuardSnapshot>(
        stub.snapshot(config) as Promise<GuardSnapshot>,
        ADMISSION_TIMEOUT_MS,
      );
    },
  };
}
