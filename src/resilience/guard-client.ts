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
 * Held successes: under a live lease, a success is reported at most every
 * {@link SUCCESS_REPORT_INTERVAL_MS} per isolate and vendor; the ones in between
 * are counted in the isolate and ride on its next `record` (the next success
 * after the interval, or the next failure, which is always sent at once). So a
 * healthy vendor costs about two Durable Object calls a second per isolate
 * instead of one per tool call, and its state (breaker closed, lease renewed)
 * is unchanged. What it costs: health counters and `lastSuccessAt` lag by up to
 * the interval while traffic flows (the last held successes wait for the
 * isolate's next call, and are lost if the isolate goes away first), and across
 * isolates a success can reach the breaker up to the interval after a failure
 * that followed it, so a vendor failing part of the time may see its breaker
 * open slightly sooner. Within one isolate the order of outcomes is kept.
 *
 * Callers: with client auth on, each outcome carries an opaque key of the
 * authenticated user (SHA-256 of the user id; the Durable Object never sees the
 * id), so one caller's failures open only that caller's breaker (vendor-guard.ts).
 * A caller whose last outcome in this isolate failed does not use the lease: its
 * next attempt asks the guard, which refuses it while its own breaker is open.
 *
 * Time: the lease, the held-success interval and the admission timeout run on the
 * call's {@link Clock}, so tests decide when they pass.
 *
 * Where the isolate's knowledge lives: the lease, held successes and failing callers
 * of a vendor are kept with its {@link VendorSettings} object, which config.ts caches
 * per env and vendor. A Worker's env is one object for all requests of an isolate, so
 * in a deployment this is per isolate and vendor; an env with other settings (another
 * breaker threshold, a rate limit switched on) starts with no lease and nothing held,
 * instead of riding a lease granted under the old ones. Tests start from that state
 * by handing the gateway an env of their own (`{ ...env }`).
 *
 * @module
 */

import { type Clock, clockFor, withTimeout as withClockTimeout } from "../clock.ts";
import type { VendorSettings } from "../config.ts";
import { errorText, log } from "../log.ts";
import { memoized } from "../memo.ts";
import {
  type Admission,
  type AdmitRequest,
  type AttemptOutcome,
  type BreakerState,
  FAILURE_KINDS,
  type GuardConfig,
  type GuardSnapshot,
  type HeldSuccesses,
} from "./vendor-guard.ts";

/**
 * A DO round trip takes milliseconds; past this the guard is in trouble and the call goes on
 * without it (`admit`), the outcome is dropped (`record`, `recordDrift`) or health says `unknown`.
 */
export const ADMISSION_TIMEOUT_MS = 2_000;

/**
 * How long an isolate admits on its own after seeing the breaker closed: bounds how
 * late other isolates notice an opened breaker (≤ this much traffic each) while
 * taking the blocking round trip off nearly every call of a healthy vendor.
 */
export const ADMISSION_LEASE_MS = 1_000;

/**
 * How often an isolate reports successes of a leased vendor; below the lease so each
 * report's answer renews the lease before it runs out.
 */
export const SUCCESS_REPORT_INTERVAL_MS = 500;

/** What an isolate keeps about one vendor's guard. One guard namespace per deployment. */
interface VendorLocal {
  /** Lease end (client clock, epoch ms); 0: no lease. */
  leaseUntil: number;
  /** Successes not reported yet. */
  held: HeldSuccesses;
  /** When this isolate last sent the guard a `record` (client clock). */
  reportedAt: number;
  /** The last outcome this isolate reported was a failure: the guard has a streak a success must end at once. */
  streak: boolean;
  /** Callers (user ids) whose last outcome here failed: they ask the guard instead of using the lease. */
  failing: Set<string>;
}

/** Failing callers remembered per vendor and isolate; past it the set starts over (they only lose the lease shortcut). */
const MAX_FAILING_CALLERS = 1_000;

/** Durable Object ids by vendor: deriving one hashes the name, the same for every call. */
const guardIds = new Map<string, DurableObjectId>();

/** Remembers whether `caller`'s last outcome failed (see {@link VendorLocal.failing}). */
function noteCaller(local: VendorLocal, caller: string | undefined, outcome: AttemptOutcome): void {
  if (caller === undefined || outcome.kind === "not_sent") return;
  if (!FAILURE_KINDS.has(outcome.kind)) {
    local.failing.delete(caller);
    return;
  }
  if (local.failing.size >= MAX_FAILING_CALLERS) local.failing.clear();
  local.failing.add(caller);
}

/** Caller keys by user id (per isolate): hashing costs a digest, the same for every call of a user. */
const callerKeys = new Map<string, Promise<string>>();
/** Keys remembered per isolate; past it the map starts over (a key is only recomputed). */
const MAX_CALLER_KEYS = 10_000;

/**
 * The opaque key the guard sees for a user: 128 bits of SHA-256 over the user id, so
 * Durable Object storage and its answers never hold user ids.
 */
function callerKey(userId: string): Promise<string> {
  if (callerKeys.size >= MAX_CALLER_KEYS && !callerKeys.has(userId)) callerKeys.clear();
  return memoized(callerKeys, userId, async (id) => {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(`vendor-guard-caller:${id}`),
    );
    return [...new Uint8Array(digest, 0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  });
}

/** The held successes, handed to a report of `outcome` (which the guard applies after them). */
function takeHeld(local: VendorLocal, outcome: AttemptOutcome, at: number): HeldSuccesses | undefined {
  const held = local.held.successes > 0 ? local.held : undefined;
  local.held = { successes: 0, leased: 0 };
  local.reportedAt = at;
  local.streak = FAILURE_KINDS.has(outcome.kind);
  return held;
}

export interface GuardClientOptions {
  /** The call's clock (lease, report interval, admission timeout); default `clockFor(env)`. */
  clock?: Clock;
  /** The authenticated user making the call; absent when client auth is off (or the gateway calls). */
  caller?: string;
  /** The MCP request the call serves, for the `guard_unavailable` log line; absent for a probe. */
  requestId?: string;
  /** The W3C trace id of that request, for the same line. */
  traceId?: string;
}

/** What the retry loop needs from the guard (a seam for tests). */
export interface GuardClient {
  admit(req: Omit<AdmitRequest, "config">): Promise<Admission>;
  /** `undefined`: the outcome was held in the isolate (a success under a lease); nothing to wait for. */
  record(outcome: AttemptOutcome): Promise<void> | undefined;
  recordDrift(tool: string): Promise<void>;
  snapshot(): Promise<GuardSnapshot>;
}

/** The breaker and bucket settings a vendor's guard applies. */
function guardConfig(settings: VendorSettings): GuardConfig {
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

function stubFor(ns: Env["VENDOR_GUARD"], vendor: string) {
  return ns.get(memoized(guardIds, vendor, (name) => ns.idFromName(name)));
}

/** What the isolate keeps per vendor settings object (see "Where the isolate's knowledge lives"). */
interface VendorState {
  config: GuardConfig;
  local: VendorLocal;
}

/** Per settings object (cached per env and vendor by config.ts): one config and one lease, not one per call. */
const states = new WeakMap<VendorSettings, VendorState>();

function stateOf(settings: VendorSettings): VendorState {
  return {
    config: guardConfig(settings),
    local: {
      leaseUntil: 0,
      held: { successes: 0, leased: 0 },
      reportedAt: Number.NEGATIVE_INFINITY,
      streak: false,
      failing: new Set(),
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return withClockTimeout(promise, ms, clock, "vendor guard");
}

function logGuardFailure(
  vendor: string,
  op: string,
  error: unknown,
  options: { requestId?: string; traceId?: string },
): void {
  log({
    event: "guard_unavailable",
    requestId: options.requestId,
    ...(options.traceId === undefined ? {} : { traceId: options.traceId }),
    vendor,
    op,
    error: errorText(error),
  });
}

/**
 * The guard for `settings.vendor`. Without a `VENDOR_GUARD` binding (a
 * deployment without the Durable Object) every call is admitted.
 */
export function guardClient(
  env: Env,
  settings: VendorSettings,
  options: GuardClientOptions = {},
): GuardClient {
  const vendor = settings.vendor;
  const { config, local } = memoized(states, settings, stateOf);
  const ns: Env["VENDOR_GUARD"] | undefined = env.VENDOR_GUARD;
  // Made on first use: a leased call with a held success never talks to the object.
  let stub: ReturnType<typeof stubFor> | undefined;
  const stubOf = () => {
    if (ns === undefined) throw new Error("VENDOR_GUARD binding missing");
    stub ??= stubFor(ns, vendor);
    return stub;
  };
  const clock = options.clock ?? clockFor(env);
  const now = () => clock.now();
  const caller = options.caller;
  const key = caller === undefined ? undefined : callerKey(caller);
  const leaseAllowed = config.rateLimit === undefined;
  /** This call's attempt was admitted under the lease: its outcome tells the guard. */
  let leasedAttempt = false;
  const takeLeased = (): boolean => {
    const leased = leasedAttempt;
    leasedAttempt = false;
    return leased;
  };
  const tagged = async (outcome: AttemptOutcome, leased: boolean): Promise<AttemptOutcome> => ({
    ...outcome,
    ...(leased ? { leased: true } : {}),
    ...(key === undefined ? {} : { caller: await key }),
  });
  const report = async (
    outcome: Promise<AttemptOutcome>,
    held: HeldSuccesses | undefined,
    local: VendorLocal,
  ) => {
    try {
      // Bounded too: a guard that never answers must not hold the call's waitUntil open.
      const state = await withTimeout(
        stubOf().record(await outcome, config, held) as Promise<BreakerState>,
        ADMISSION_TIMEOUT_MS,
        clock,
      );
      // Extend a live lease only: a late `closed` must not revive one an `open` just ended.
      if (state !== "closed" || !leaseAllowed) local.leaseUntil = 0;
      else if (local.leaseUntil > now()) local.leaseUntil = now() + ADMISSION_LEASE_MS;
    } catch (error) {
      logGuardFailure(vendor, "record", error, options);
    }
  };
  return {
    async admit(req) {
      if (ns === undefined) return { allowed: true, waitMs: 0 };
      if (req.report) noteCaller(local, caller, req.report);
      const failing = caller !== undefined && local.failing.has(caller);
      if (leaseAllowed && !req.report && !failing && local.leaseUntil > now()) {
        leasedAttempt = true;
        return { allowed: true, waitMs: 0 };
      }
      const leased = req.report ? takeLeased() : false;
      // A reported outcome carries the successes held before it, so the guard sees them in order.
      const held = req.report !== undefined ? takeHeld(local, req.report, now()) : undefined;
      let admission: Admission;
      try {
        const report = req.report ? await tagged(req.report, leased) : undefined;
        admission = await withTimeout<Admission>(
          stubOf().admit({
            ...req,
            ...(report ? { report } : {}),
            ...(held ? { held } : {}),
            ...(key === undefined ? {} : { caller: await key }),
            config,
          }) as Promise<Admission>,
          ADMISSION_TIMEOUT_MS,
          clock,
        );
      } catch (error) {
        logGuardFailure(vendor, "admit", error, options);
        return { allowed: true, waitMs: 0 };
      }
      // The caller's own breaker says nothing about the vendor's: the lease stays as it is.
      if (admission.scope === "caller") return admission;
      // Allowed and not a probe: the breaker is closed.
      local.leaseUntil =
        leaseAllowed && admission.allowed && admission.probeId === undefined ? now() + ADMISSION_LEASE_MS : 0;
      return admission;
    },
    record(outcome) {
      if (ns === undefined) return undefined;
      const leased = takeLeased();
      // Nothing reached the upstream: only a probe slot to give back, nothing to count.
      if (outcome.kind === "not_sent") {
        if (outcome.probeId === undefined) return undefined;
        return report(tagged(outcome, false), undefined, local);
      }
      noteCaller(local, caller, outcome);
      const t = now();
      const failed = FAILURE_KINDS.has(outcome.kind);
      if (
        !failed &&
        !local.streak &&
        local.leaseUntil > t &&
        outcome.probeId === undefined &&
        t - local.reportedAt < SUCCESS_REPORT_INTERVAL_MS
      ) {
        local.held.successes += 1;
        if (leased) local.held.leased += 1;
        return undefined;
      }
      return report(tagged(outcome, leased), takeHeld(local, outcome, t), local);
    },
    async recordDrift(tool) {
      if (ns === undefined) return;
      try {
        await withTimeout(stubOf().recordDrift(tool) as Promise<void>, ADMISSION_TIMEOUT_MS, clock);
      } catch (error) {
        logGuardFailure(vendor, "recordDrift", error, options);
      }
    },
    async snapshot() {
      return withTimeout<GuardSnapshot>(
        stubOf().snapshot(config) as Promise<GuardSnapshot>,
        ADMISSION_TIMEOUT_MS,
        clock,
      );
    },
  };
}
