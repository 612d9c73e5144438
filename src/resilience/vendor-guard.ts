/**
 * `VendorGuard`: one Durable Object per vendor (`idFromName(vendor)`) holding
 * the vendor's circuit breaker, token bucket and health counters, shared by
 * every isolate of the gateway.
 *
 * Cost model: a tool call makes one RPC before each upstream attempt,
 * {@link VendorGuard.admit}, which checks the breaker and takes a token in the
 * same round trip; a first attempt admitted under the isolate's admission lease
 * (closed breaker, no rate limit: src/resilience/guard-client.ts) skips it. The
 * outcome of an attempt is reported either piggy-backed on the next attempt's
 * `admit` (retries) or with {@link VendorGuard.record}
 * inside `waitUntil` (the final attempt), so the response never waits on it.
 * Every method body is synchronous over the synchronous SQLite KV API, so no
 * two calls interleave: concurrent admits are serialized by construction.
 *
 * Breaker: `closed` → `open` after `failureThreshold` consecutive failed
 * attempts (5xx, 429, timeouts, network errors; other 4xx reset the count);
 * `open` rejects with `retryAt`; once `openTimeoutMs` has passed, `half_open`
 * admits `halfOpenProbes` probe attempts at a time (each holds its slot for a
 * lease, so a lost outcome cannot wedge the breaker); a probe success closes it,
 * a probe failure re-opens it. An alarm moves `open` → `half_open` on time so
 * health shows it without traffic.
 *
 * One caller cannot open it for everyone: outcomes carry the caller's opaque key
 * (a hash of the authenticated user, or none when client auth is off or the
 * gateway itself calls). The vendor-wide breaker opens only when the failure
 * streak holds failures of at least two distinct callers, or any failure without
 * a caller key. A streak of one caller's failures alone opens a breaker for that
 * caller only ({@link CallerBreaker}: same threshold, timeout and half-open
 * probes), so that caller fails fast while the others are served. At most
 * {@link MAX_CALLER_BREAKERS} caller breakers are kept.
 *
 * Bucket: capacity `burst`, refilled at `requestsPerSecond`. When it is empty
 * the caller is admitted with `waitMs` and the token is reserved (the level goes
 * negative), so concurrent waiters queue behind each other instead of all
 * waking at once; if the wait exceeds what the caller can afford the call is
 * rejected with `retryAt` and nothing is reserved.
 *
 * Storage keys (this object's SQLite KV): `src/storage/keys.ts`, README "Storage schema".
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import {
  VENDOR_GUARD_BREAKER_KEY,
  VENDOR_GUARD_BUCKET_KEY,
  VENDOR_GUARD_DRIFT_KEY,
  VENDOR_GUARD_STATS_KEY,
} from "../storage/keys.ts";

export type BreakerState = "closed" | "open" | "half_open";

/** How an upstream attempt ended, as the breaker sees it. */
export type OutcomeKind =
  | "success"
  | "client_error"
  | "server_error"
  | "rate_limited"
  | "timeout"
  | "network_error"
  /** The runtime refused the request before sending it: says nothing about the vendor; only frees a probe slot. */
  | "not_sent";

/** Kinds that count as breaker failures. Other 4xx mean the vendor is up and answering. */
export const FAILURE_KINDS: ReadonlySet<OutcomeKind> = new Set([
  "server_error",
  "rate_limited",
  "timeout",
  "network_error",
]);

/** The breaker and bucket settings; sent with each call so vendor overrides apply without a redeploy of state. */
export interface GuardConfig {
  failureThreshold: number;
  openTimeoutMs: number;
  halfOpenProbes: number;
  /** Absent: no rate limiting for this vendor. */
  rateLimit?: { requestsPerSecond: number; burst: number };
}

export interface AttemptOutcome {
  kind: OutcomeKind;
  /** HTTP status, when the upstream answered. */
  status?: number;
  /** Short description without upstream body or headers (never secrets). */
  message?: string;
  tool?: string;
  /** The probe ticket from `admit`, when the attempt was a half-open probe. */
  probeId?: number;
  /** Admitted by the isolate under its admission lease (no `admit`): counted as admitted here. */
  leased?: boolean;
  /** The caller's opaque key (a hash of the user id, made in guard-client.ts); absent: the gateway, or client auth off. */
  caller?: string;
}

/**
 * Successes an isolate held back on a healthy vendor (guard-client.ts) and reports
 * with its next `record`: counted, and like any success they reset the failure count.
 */
export interface HeldSuccesses {
  successes: number;
  /** How many of them were admitted under the isolate's lease (counted as admitted here). */
  leased: number;
}

export interface AdmitRequest {
  config: GuardConfig;
  /** The longest the caller can wait for a token (its remaining budget). */
  maxWaitMs: number;
  /** How long a half-open probe slot is held when its outcome never arrives. */
  probeLeaseMs: number;
  /** The outcome of the caller's previous attempt (retries), applied first. */
  report?: AttemptOutcome;
  /** Successes the isolate held back before that outcome, applied before it. */
  held?: HeldSuccesses;
  /** The caller's opaque key; absent: the gateway, or client auth off. */
  caller?: string;
}

export type Admission =
  | {
      allowed: true;
      waitMs: number;
      probeId?: number;
      /** `caller`: the probe tests the caller's own breaker, not the vendor's. */
      scope?: "caller";
    }
  | {
      allowed: false;
      reason: "circuit_open" | "probe_in_flight" | "rate_limited";
      /** Epoch ms (guard clock) when trying again makes sense. */
      retryAt: number;
      retryAfterMs: number;
      /** `caller`: only this caller is refused (its own breaker); the vendor serves others. */
      scope?: "caller";
    };

export interface GuardSnapshot {
  breaker: {
    state: BreakerState;
    consecutiveFailures: number;
    openedAt: number | null;
    /** When an open breaker lets probes through. */
    retryAt: number | null;
    probesInFlight: number;
    timesOpened: number;
    /** Callers whose own breaker is open or half-open (their traffic alone failed). */
    callersOpen: number;
  };
  rateLimiter: {
    enabled: boolean;
    tokens: number | null;
    requestsPerSecond: number | null;
    burst: number | null;
  };
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: { kind: OutcomeKind; status?: number; message: string; at: number } | null;
  counters: { admitted: number; rejected: number; successes: number; failures: number };
  drift: Record<string, number>;
  now: number;
}

interface Probe {
  id: number;
  leaseUntil: number;
}

/** One caller's own breaker: exists only while open or half-open (closed = deleted). */
interface CallerBreaker {
  state: "open" | "half_open";
  openedAt: number;
  retryAt: number;
  probes: Probe[];
}

interface Breaker {
  state: BreakerState;
  consecutiveFailures: number;
  openedAt: number | null;
  retryAt: number | null;
  probes: Probe[];
  nextProbeId: number;
  timesOpened: number;
  /**
   * Distinct callers in the current failure streak, at most two (two decide): caller keys,
   * or {@link UNATTRIBUTED} for a failure without one.
   */
  streakCallers: string[];
  /** Open or half-open caller breakers by caller key. */
  callers: Record<string, CallerBreaker>;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

interface Stats {
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: GuardSnapshot["lastError"];
  admitted: number;
  rejected: number;
  successes: number;
  failures: number;
}

/** Longest stored error message: health output stays small. */
const MAX_ERROR_MESSAGE_CHARS = 300;
/** Tools tracked for drift: bounds the `drift` value when a vendor has thousands of tools. */
const MAX_DRIFT_TOOLS = 500;

/**
 * Success-path counters (admitted, successes, lastSuccessAt) reach storage at most this often.
 * Every storage write holds the object's next answer until it is durable, so a write per call
 * serialises the calls of a whole vendor behind the disk; an eviction loses at most this much
 * of the counters. Failures, rejections and breaker changes are still written at once.
 */
const STATS_PERSIST_INTERVAL_MS = 1_000;

/**
 * Caller breakers kept at once: bounds the `breaker` value (a deployment's users are
 * bounded, but OIDC can admit unlisted ones); past it the one that opened first is dropped.
 */
export const MAX_CALLER_BREAKERS = 200;
/** Streak entry for a failure that carries no caller key: it counts as shared evidence. */
const UNATTRIBUTED = "*";

function initialBreaker(): Breaker {
  return {
    state: "closed",
    consecutiveFailures: 0,
    openedAt: null,
    retryAt: null,
    probes: [],
    nextProbeId: 1,
    timesOpened: 0,
    streakCallers: [],
    callers: {},
  };
}

function initialStats(): Stats {
  return {
    lastSuccessAt: null,
    lastFailureAt: null,
    lastError: null,
    admitted: 0,
    rejected: 0,
    successes: 0,
    failures: 0,
  };
}

export class VendorGuard extends DurableObject<Env> {
  /** The guard's clock (epoch ms). Tests replace it through `runInDurableObject`. */
  now: () => number = () => Date.now();

  private readonly kv: SyncKvStorage;
  private breaker: Breaker;
  private bucket: Bucket | null;
  private stats: Stats;
  private drift: Record<string, number>;
  /** When the counters were last written (guard clock). */
  private statsPersistedAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.kv = ctx.storage.kv;
    // Spread over the initial value: a breaker stored before caller breakers existed gets their fields.
    this.breaker = { ...initialBreaker(), ...this.kv.get<Breaker>(VENDOR_GUARD_BREAKER_KEY) };
    this.bucket = this.kv.get<Bucket>(VENDOR_GUARD_BUCKET_KEY) ?? null;
    this.stats = this.kv.get<Stats>(VENDOR_GUARD_STATS_KEY) ?? initialStats();
    this.drift = this.kv.get<Record<string, number>>(VENDOR_GUARD_DRIFT_KEY) ?? {};
  }

  /**
   * Breaker check and token reservation in one round trip. A `report` of the
   * caller's previous attempt is applied first, so a retry sees its own failure.
   */
  admit(req: AdmitRequest): Admission {
    const now = this.now();
    if (req.held !== undefined && req.held.successes > 0) this.applyHeld(req.held, now);
    if (req.report) this.apply(req.report, req.config, now);
    this.advance(now);

    const b = this.breaker;
    if (b.state === "open") {
      return this.reject("circuit_open", b.retryAt ?? now, now);
    }
    const probe = b.state === "half_open";
    if (probe && b.probes.length >= req.config.halfOpenProbes) {
      const earliestLease = Math.min(...b.probes.map((p) => p.leaseUntil));
      return this.reject("probe_in_flight", Math.min(earliestLease, now + req.config.openTimeoutMs), now);
    }
    // The caller's own breaker, when the vendor's lets the call through as a normal one.
    const own = !probe && req.caller !== undefined ? this.callerBreaker(req.caller, now) : undefined;
    if (own?.state === "open") return this.reject("circuit_open", own.retryAt, now, "caller");
    if (own !== undefined && own.probes.length >= req.config.halfOpenProbes) {
      const earliestLease = Math.min(...own.probes.map((p) => p.leaseUntil));
      const retryAt = Math.min(earliestLease, now + req.config.openTimeoutMs);
      return this.reject("probe_in_flight", retryAt, now, "caller");
    }

    let waitMs = 0;
    const limit = req.config.rateLimit;
    if (limit) {
      const bucket = this.refill(limit, now);
      if (bucket.tokens < 1) {
        // Time until the level climbs back from (tokens - 1) to 0: our reserved token is paid for.
        waitMs = Math.ceil(((1 - bucket.tokens) / limit.requestsPerSecond) * 1000);
        if (waitMs > req.maxWaitMs) {
          this.kv.put(VENDOR_GUARD_BUCKET_KEY, bucket);
          return this.reject("rate_limited", now + waitMs, now);
        }
      }
      bucket.tokens -= 1;
      this.kv.put(VENDOR_GUARD_BUCKET_KEY, bucket);
    } else if (this.bucket) {
      this.bucket = null;
      this.kv.delete(VENDOR_GUARD_BUCKET_KEY);
    }

    this.stats.admitted += 1;
    this.persistStats(now, false);
    if (!probe && own === undefined) return { allowed: true, waitMs };
    const probeId = b.nextProbeId++;
    (own ?? b).probes.push({ id: probeId, leaseUntil: now + waitMs + req.probeLeaseMs });
    this.kv.put(VENDOR_GUARD_BREAKER_KEY, b);
    return own === undefined
      ? { allowed: true, waitMs, probeId }
      : { allowed: true, waitMs, probeId, scope: "caller" };
  }

  /**
   * The final outcome of a call's last attempt (sent from `waitUntil`). Answers the
   * breaker state after it, so the isolate ends or keeps its admission lease at once.
   */
  record(outcome: AttemptOutcome, config: GuardConfig, held?: HeldSuccesses): BreakerState {
    const now = this.now();
    if (held !== undefined && held.successes > 0) this.applyHeld(held, now);
    this.apply(outcome, config, now);
    this.advance(now);
    return this.breaker.state;
  }

  /** Counts a response that did not match its documented schema (`warn` mode drift). */
  recordDrift(tool: string, count = 1): void {
    // Own keys only: a tool may be called `toString` or `constructor`.
    const known = Object.hasOwn(this.drift, tool);
    if (!known && Object.keys(this.drift).length >= MAX_DRIFT_TOOLS) return;
    this.drift[tool] = (known ? (this.drift[tool] ?? 0) : 0) + count;
    this.kv.put(VENDOR_GUARD_DRIFT_KEY, this.drift);
  }

  /** Health view. `config` (when given) refreshes the bucket level and limits shown. */
  snapshot(config?: GuardConfig): GuardSnapshot {
    const now = this.now();
    this.advance(now);
    const b = this.breaker;
    const limit = config ? config.rateLimit : undefined;
    let tokens: number | null = null;
    if (limit) {
      tokens = this.previewTokens(limit, now);
    } else if (!config && this.bucket) {
      tokens = this.bucket.tokens;
    }
    return {
      breaker: {
        state: b.state,
        consecutiveFailures: b.consecutiveFailures,
        openedAt: b.openedAt,
        retryAt: b.state === "open" ? b.retryAt : null,
        probesInFlight: b.probes.length,
        timesOpened: b.timesOpened,
        callersOpen: Object.keys(b.callers).length,
      },
      rateLimiter: {
        enabled: config ? Boolean(limit) : this.bucket !== null,
        tokens: tokens === null ? null : Math.round(tokens * 1000) / 1000,
        requestsPerSecond: limit?.requestsPerSecond ?? null,
        burst: limit?.burst ?? null,
      },
      lastSuccessAt: this.stats.lastSuccessAt,
      lastFailureAt: this.stats.lastFailureAt,
      lastError: this.stats.lastError,
      counters: {
        admitted: this.stats.admitted,
        rejected: this.stats.rejected,
        successes: this.stats.successes,
        failures: this.stats.failures,
      },
      drift: { ...this.drift },
      now,
    };
  }

  /** Forgets all state (operator action after fixing a vendor; also used by tests). */
  reset(): void {
    this.breaker = initialBreaker();
    this.bucket = null;
    this.stats = initialStats();
    this.drift = {};
    this.kv.delete(VENDOR_GUARD_BREAKER_KEY);
    this.kv.delete(VENDOR_GUARD_BUCKET_KEY);
    this.kv.delete(VENDOR_GUARD_STATS_KEY);
    this.kv.delete(VENDOR_GUARD_DRIFT_KEY);
    void this.ctx.storage.deleteAlarm();
  }

  /** Moves an open breaker to half-open when its timeout has passed, so health shows it without traffic. */
  override async alarm(): Promise<void> {
    this.advance(this.now());
    if (this.breaker.state === "open") this.scheduleAt(this.breaker.retryAt ?? this.now());
  }

  private apply(outcome: AttemptOutcome, config: GuardConfig, now: number): void {
    if (outcome.kind === "not_sent") {
      this.releaseProbe(outcome);
      return;
    }
    const failed = FAILURE_KINDS.has(outcome.kind);
    const s = this.stats;
    if (outcome.leased) s.admitted += 1;
    if (failed) {
      s.failures += 1;
      s.lastFailureAt = now;
      s.lastError = {
        kind: outcome.kind,
        ...(outcome.status === undefined ? {} : { status: outcome.status }),
        message: (outcome.message ?? outcome.kind).slice(0, MAX_ERROR_MESSAGE_CHARS),
        at: now,
      };
    } else {
      s.successes += 1;
      s.lastSuccessAt = now;
    }
    const b = this.breaker;
    const mark = () => `${b.state}|${b.consecutiveFailures}|${b.probes.length}|${b.streakCallers.length}`;
    const before = mark();
    // open()/close()/the caller breaker helpers write their own changes.
    if (outcome.caller !== undefined && outcome.probeId !== undefined) {
      this.applyToCallerBreaker(outcome.caller, failed, outcome.probeId, config, now);
    }
    this.applyToBreaker(failed, outcome, config, now);
    const changed = mark() !== before;
    // open()/close() write their own changes; a success on a healthy breaker changes nothing.
    if (changed) this.kv.put(VENDOR_GUARD_BREAKER_KEY, b);
    // With the breaker: after an eviction health never shows a failure newer than the success that cleared it.
    this.persistStats(now, failed || changed);
  }

  /** Held-back successes, before the outcome that carries them: in one isolate the order is kept. */
  private applyHeld(held: HeldSuccesses, now: number): void {
    const s = this.stats;
    s.successes += held.successes;
    s.admitted += held.leased;
    s.lastSuccessAt = now;
    const b = this.breaker;
    // Not probes, so they cannot decide a half-open breaker; on a closed one they end a failure streak.
    if (b.state === "closed" && b.consecutiveFailures > 0) {
      b.consecutiveFailures = 0;
      b.streakCallers = [];
      this.kv.put(VENDOR_GUARD_BREAKER_KEY, b);
    }
  }

  private applyToBreaker(failed: boolean, outcome: AttemptOutcome, config: GuardConfig, now: number): void {
    const b = this.breaker;
    const probeId = outcome.probeId;
    const probeIndex = probeId === undefined ? -1 : b.probes.findIndex((p) => p.id === probeId);
    if (b.state === "half_open") {
      // Only probes decide a half-open breaker: late outcomes of calls admitted before it opened say nothing new.
      if (probeIndex < 0) return;
      b.probes.splice(probeIndex, 1);
      if (failed) this.open(config, now);
      else this.close();
    } else if (b.state === "closed") {
      if (failed) {
        b.consecutiveFailures += 1;
        const who = outcome.caller ?? UNATTRIBUTED;
        if (b.streakCallers.length < 2 && !b.streakCallers.includes(who)) b.streakCallers.push(who);
        if (b.consecutiveFailures >= config.failureThreshold) {
          const [only] = b.streakCallers;
          // One caller's streak opens that caller's breaker; shared evidence opens the vendor's.
          if (b.streakCallers.length === 1 && only !== UNATTRIBUTED && only !== undefined) {
            if (b.callers[only] === undefined) this.openCaller(only, config, now);
          } else {
            this.open(config, now);
          }
        }
      } else {
        b.consecutiveFailures = 0;
        b.streakCallers = [];
      }
    }
    // Open: outcomes of calls admitted earlier do not move the breaker.
  }

  /** Frees the probe slot of an attempt that was never sent, deciding nothing. */
  private releaseProbe(outcome: AttemptOutcome): void {
    const id = outcome.probeId;
    if (id === undefined) return;
    const own = outcome.caller === undefined ? undefined : this.breaker.callers[outcome.caller];
    for (const holder of [this.breaker, own]) {
      const index = holder?.probes.findIndex((p) => p.id === id) ?? -1;
      if (holder === undefined || index < 0) continue;
      holder.probes.splice(index, 1);
      this.kv.put(VENDOR_GUARD_BREAKER_KEY, this.breaker);
    }
  }

  /** A caller's probe outcome decides that caller's breaker, like a probe decides the vendor's. */
  private applyToCallerBreaker(
    caller: string,
    failed: boolean,
    probeId: number,
    config: GuardConfig,
    now: number,
  ): void {
    const own = this.breaker.callers[caller];
    const index = own?.probes.findIndex((p) => p.id === probeId) ?? -1;
    if (own === undefined || index < 0) return;
    own.probes.splice(index, 1);
    if (failed) this.openCaller(caller, config, now);
    else delete this.breaker.callers[caller];
    this.kv.put(VENDOR_GUARD_BREAKER_KEY, this.breaker);
  }

  /** The caller's breaker after time-driven moves (open → half-open, expired probe leases); `undefined`: closed. */
  private callerBreaker(caller: string, now: number): CallerBreaker | undefined {
    const own = this.breaker.callers[caller];
    if (own === undefined) return undefined;
    let changed = false;
    if (own.state === "open" && now >= own.retryAt) {
      own.state = "half_open";
      own.probes = [];
      changed = true;
    }
    const live = own.probes.filter((p) => p.leaseUntil > now);
    if (live.length !== own.probes.length) {
      own.probes = live;
      changed = true;
    }
    if (changed) this.kv.put(VENDOR_GUARD_BREAKER_KEY, this.breaker);
    return own;
  }

  private openCaller(caller: string, config: GuardConfig, now: number): void {
    const callers = this.breaker.callers;
    if (callers[caller] === undefined) {
      const keys = Object.keys(callers);
      if (keys.length >= MAX_CALLER_BREAKERS) {
        const oldest = keys.reduce((a, k) => (callers[k]!.openedAt < callers[a]!.openedAt ? k : a));
        delete callers[oldest];
      }
    }
    callers[caller] = { state: "open", openedAt: now, retryAt: now + config.openTimeoutMs, probes: [] };
    this.kv.put(VENDOR_GUARD_BREAKER_KEY, this.breaker);
  }

  private persistStats(now: number, force: boolean): void {
    if (!force && now - this.statsPersistedAt < STATS_PERSIST_INTERVAL_MS) return;
    this.kv.put(VENDOR_GUARD_STATS_KEY, this.stats);
    this.statsPersistedAt = now;
  }

  private open(config: GuardConfig, now: number): void {
    const b = this.breaker;
    b.state = "open";
    b.openedAt = now;
    b.retryAt = now + config.openTimeoutMs;
    b.probes = [];
    b.timesOpened += 1;
    // The vendor's breaker covers every caller now; theirs would only outlive it.
    b.callers = {};
    this.kv.put(VENDOR_GUARD_BREAKER_KEY, b);
    this.scheduleAt(b.retryAt);
  }

  private close(): void {
    const b = this.breaker;
    b.state = "closed";
    b.consecutiveFailures = 0;
    b.streakCallers = [];
    b.openedAt = null;
    b.retryAt = null;
    b.probes = [];
    this.kv.put(VENDOR_GUARD_BREAKER_KEY, b);
  }

  /** Time-driven transitions: open → half-open after the timeout; expired probe leases free their slots. */
  private advance(now: number): void {
    const b = this.breaker;
    let changed = false;
    if (b.state === "open" && b.retryAt !== null && now >= b.retryAt) {
      b.state = "half_open";
      b.probes = [];
      changed = true;
    }
    if (b.state === "half_open") {
      const live = b.probes.filter((p) => p.leaseUntil > now);
      if (live.length !== b.probes.length) {
        b.probes = live;
        changed = true;
      }
    }
    if (changed) this.kv.put(VENDOR_GUARD_BREAKER_KEY, b);
  }

  /** Alarms run on the real clock; convert a guard-clock time so an injected clock cannot spin them. */
  private scheduleAt(guardTime: number): void {
    const delay = Math.max(0, guardTime - this.now());
    void this.ctx.storage.setAlarm(Date.now() + delay);
  }

  private refill(limit: NonNullable<GuardConfig["rateLimit"]>, now: number): Bucket {
    let bucket = this.bucket;
    if (!bucket) {
      bucket = { tokens: limit.burst, updatedAt: now };
      this.bucket = bucket;
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsed / 1000) * limit.requestsPerSecond);
    bucket.updatedAt = now;
    return bucket;
  }

  private previewTokens(limit: NonNullable<GuardConfig["rateLimit"]>, now: number): number {
    if (!this.bucket) return limit.burst;
    const elapsed = Math.max(0, now - this.bucket.updatedAt);
    return Math.min(limit.burst, this.bucket.tokens + (elapsed / 1000) * limit.requestsPerSecond);
  }

  private reject(
    reason: "circuit_open" | "probe_in_flight" | "rate_limited",
    retryAt: number,
    now: number,
    scope?: "caller",
  ): Admission {
    this.stats.rejected += 1;
    this.persistStats(now, true);
    const retryAfterMs = Math.max(0, retryAt - now);
    return scope === undefined
      ? { allowed: false, reason, retryAt, retryAfterMs }
      : { allowed: false, reason, retryAt, retryAfterMs, scope };
  }
}
