/**
 * The Worker side of {@link VendorGuard}: builds the guard config from the
 * vendor settings and talks to the vendor's Durable Object.
 *
 * Failure policy: the guard protects upstreams, it must not become their
 * single point of failure. If the Durable Object cannot answer (overloaded,
 * unreachable, slower than {@link ADMISSION_TIMEOUT_MS}) the call is admitted
 * without breaker or bucket and a warning is logged ("fail open").
 *
 * Admission lease: while an isolate last saw the vendor's breaker closed and
 * the vendor has no rate limit, a call's first attempt is admitted locally for
 * {@link ADMISSION_LEASE_MS} without the blocking `admit` round trip; its
 * outcome still reaches the guard through `record` (in `waitUntil`, flagged
 * `leased` so it counts as admitted). Only a non-probe `admit` answer (the
 * breaker was closed) starts a lease; a `record` answer of `closed` extends a
 * live one and any other state ends it at once, so a failure that opens the
 * breaker stops this isolate immediately and other isolates within one lease.
 * Retries, rate-limited vendors, probes and an expired lease use `admit`.
 *
 * @module
 */
import type { VendorSettings } from "../config.ts";
import type {
  Admission,
  AdmitRequest,
  AttemptOutcome,
  BreakerState,
  GuardConfig,
  GuardSnapshot,
} from "./vendor-guard.ts";

/** A DO round trip takes milliseconds; past this the guard is in trouble and the call goes on without it. */
export const ADMISSION_TIMEOUT_MS = 2_000;

/**
 * How long an isolate admits on its own after seeing the breaker closed: bounds how
 * late other isolates notice an opened breaker (≤ this much traffic each) while
 * taking the blocking round trip off nearly every call of a healthy vendor.
 */
export const ADMISSION_LEASE_MS = 1_000;

/** Per isolate: vendor → lease end (client clock, epoch ms). One guard namespace per deployment. */
const admissionLeases = new Map<string, number>();

/** Ends every admission lease in this isolate (tests that change a guard's state behind its back). */
export function endAdmissionLeases(): void {
  admissionLeases.clear();
}

export interface GuardClientOptions {
  /** The lease clock (epoch ms); tests inject one. */
  now?: () => number;
}

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
export function guardClient(
  env: object,
  settings: VendorSettings,
  options: GuardClientOptions = {},
): GuardClient {
  const vendor = settings.vendor;
  const config = guardConfig(settings);
  const stub = stubFor(env, vendor);
  const now = options.now ?? Date.now;
  const leaseAllowed = config.rateLimit === undefined;
  /** This call's attempt was admitted under the lease: its outcome tells the guard. */
  let leasedAttempt = false;
  const tagged = (outcome: AttemptOutcome): AttemptOutcome => {
    if (!leasedAttempt) return outcome;
    leasedAttempt = false;
    return { ...outcome, leased: true };
  };
  return {
    async admit(req) {
      if (!stub) return { allowed: true, waitMs: 0 };
      if (leaseAllowed && !req.report && (admissionLeases.get(vendor) ?? 0) > now()) {
        leasedAttempt = true;
        return { allowed: true, waitMs: 0 };
      }
      const report = req.report ? tagged(req.report) : undefined;
      let admission: Admission;
      try {
        admission = await withTimeout<Admission>(
          stub.admit({ ...req, ...(report ? { report } : {}), config }) as Promise<Admission>,
          ADMISSION_TIMEOUT_MS,
        );
      } catch (error) {
        logGuardFailure(vendor, "admit", error);
        return { allowed: true, waitMs: 0 };
      }
      // Allowed and not a probe: the breaker is closed.
      if (leaseAllowed && admission.allowed && admission.probeId === undefined) {
        admissionLeases.set(vendor, now() + ADMISSION_LEASE_MS);
      } else {
        admissionLeases.delete(vendor);
      }
      return admission;
    },
    async record(outcome) {
      if (!stub) return;
      try {
        const state = (await stub.record(tagged(outcome), config)) as BreakerState;
        // Extend a live lease only: a late `closed` must not revive one an `open` just ended.
        if (state !== "closed" || !leaseAllowed) admissionLeases.delete(vendor);
        else if ((admissionLeases.get(vendor) ?? 0) > now())
          admissionLeases.set(vendor, now() + ADMISSION_LEASE_MS);
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
