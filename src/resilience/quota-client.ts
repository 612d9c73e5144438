/**
 * The Worker side of {@link QuotaGuard}: which limits of `GATEWAY_QUOTAS` apply to a call, the
 * admission lease that checks and counts them, the tool error a refusal becomes, and the usage
 * reads of `gateway_status` and the status page.
 *
 * Cost: without `GATEWAY_QUOTAS`, or when no limit applies to the caller and vendor,
 * {@link startQuotaAdmission} is one `WeakMap` lookup (and one `Map` lookup) and returns
 * `undefined`: nothing is sent, nothing allocated. Otherwise the call is admitted from the
 * isolate's lease when it holds a spare unit (no RPC), else it waits for a grant: one Durable
 * Object RPC, started by the vendor seam before the kind validates and builds the request and
 * awaited beside the vendor guard's admission (src/resilience/retry.ts).
 *
 * Admission lease (per isolate, user, vendor and limits; kept per quota policy, so per env: an env
 * with other quotas starts without one): the calls waiting for an admission share one `admit`
 * that asks for all of them plus a few spare units ({@link spareUnits}: none while the isolate's
 * traffic is slow, a limit is small or near; at most {@link MAX_SPARE_UNITS} and
 * 1/{@link HEADROOM_SHARE} of the smallest headroom). The guard grants what every limit has room
 * for and counts it at once, so no limit is ever exceeded. The next calls spend the spare units
 * locally until they run out, {@link QUOTA_LEASE_MS} pass on the call's clock or the earliest of
 * the limits' windows ends; units left then stay counted (usage over-reports by at most the spare
 * units outstanding; an admitted call is always counted). While a grant is under way, new calls
 * queue for the next one, which asks for them all (like the guard's shared commits).
 *
 * Callers: with client auth on, the signed-in user and their team. With `GATEWAY_AUTH=none` there
 * is no signed-in user: every call counts as the one user {@link LOCAL_QUOTA_USER} without a team,
 * so the user limits bound the whole (local) gateway. Health probes never pass here. The caller
 * is typed by its ids only: resilience sits beside auth and does not import it.
 *
 * Failure policy: the guard cannot answer (binding missing, overloaded, slower than
 * {@link ADMISSION_TIMEOUT_MS}): one `quota_guard_unavailable` warning, then the call goes ahead
 * uncounted (`whenUnavailable: "admit"`, the default: quotas must not become the gateway's single
 * point of failure) or is refused with `retry_later` (`"refuse"`).
 *
 * @module
 */
import { type Clock, clockFor, withTimeout } from "../clock.ts";
import { errorText, log } from "../log.ts";
import { boundedCache, type Cache, memoized } from "../memo.ts";
import { quotaGuardName } from "../storage/keys.ts";
import type { ToolFailure } from "../tool-error.ts";
import { ADMISSION_TIMEOUT_MS } from "./guard-client.ts";
import { loadQuotaPolicy, type QuotaLimit, type QuotaPolicy } from "./quota-config.ts";
import type { QuotaAdmission } from "./quota-guard.ts";
import type { QuotaUsage } from "./quota-types.ts";

/** Seconds a caller is asked to wait when the guard could not answer and the policy refuses. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
/** Durable Object ids remembered per isolate (one per team or team-less user); past it the cache starts over. */
const MAX_GUARD_IDS = 10_000;
/**
 * How long an isolate spends the spare units of a grant: bounds how long counted-but-unspent
 * units sit in an isolate whose traffic stopped.
 */
export const QUOTA_LEASE_MS = 2_000;
/** Most spare units a grant asks for beyond the calls waiting: the over-report bound per lease. */
export const MAX_SPARE_UNITS = 8;
/** Spare units are at most this share of the smallest headroom the last answer showed, so near a limit the calls go one by one. */
const HEADROOM_SHARE = 16;
/** A limit below this (any window) is admitted call by call: its usage stays exact. */
const MIN_LEASED_LIMIT = 20;
/** Leases per limits and isolate (one per user); past it the map starts over (their spare units stay counted). */
const MAX_LEASES = 10_000;

/** How the quota answered a call: go on, or the failure the caller gets instead of the call. */
export type QuotaDecision = { admitted: true } | { admitted: false; failure: ToolFailure };

const ADMITTED: QuotaDecision = { admitted: true };
const ADMITTED_NOW = Promise.resolve(ADMITTED);

/** Whom calls count as when client auth is off (`GATEWAY_AUTH=none`). */
export const LOCAL_QUOTA_USER = "local";
const LOCAL_CALLER: QuotaCaller = { userId: LOCAL_QUOTA_USER };

const guardIds = boundedCache<string, DurableObjectId>(MAX_GUARD_IDS);

function guardFor(env: Env, owner: { teamId: string } | { userId: string }) {
  const ns = env.QUOTA_GUARD;
  if (ns === undefined) throw new Error("QUOTA_GUARD binding missing");
  return ns.get(memoized(guardIds, quotaGuardName(owner), (name) => ns.idFromName(name)));
}

function ownerOf(userId: string, teamId: string | undefined) {
  return teamId === undefined ? { userId } : { teamId };
}

/** `… per minute to github` / `… per day across all APIs`. */
function describeLimit(usage: QuotaUsage): string {
  const whose = usage.scope === "user" ? "your" : `your team's (${usage.subject})`;
  const where = usage.vendor === undefined ? "across all APIs" : `to ${usage.vendor}`;
  return `${whose} limit of ${usage.limit} calls per ${usage.window} ${where}`;
}

/** The tool error of a refused call: which limit, its value and usage, when it resets. */
export function quotaExceeded(refused: QuotaUsage, vendor: string, now: number): ToolFailure {
  const resetAt = new Date(refused.resetAt).toISOString();
  const seconds = Math.max(1, Math.ceil((refused.resetAt - now) / 1000));
  return {
    code: "quota_exceeded",
    message:
      `Quota exceeded: ${describeLimit(refused)} is used up (${refused.used} of ${refused.limit}). ` +
      `It resets at ${resetAt} (in ${seconds} s). Nothing was sent to ${vendor}.`,
    extra: {
      quota: {
        scope: refused.scope,
        window: refused.window,
        vendor: refused.vendor ?? "all",
        limit: refused.limit,
        used: refused.used,
      },
      resetAt,
      resetInSeconds: seconds,
      retryAfterSeconds: seconds,
    },
  };
}

function unavailable(vendor: string): ToolFailure {
  return {
    code: "retry_later",
    message:
      `The gateway could not check your quota for ${vendor} and is configured to refuse calls it cannot count. ` +
      `Nothing was sent; retry in ${UNAVAILABLE_RETRY_AFTER_SECONDS} s.`,
    extra: { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS },
  };
}

/** Who is calling, as the auth layer's `Caller` says (stable opaque ids). */
export interface QuotaCaller {
  readonly userId: string;
  readonly teamId?: string;
}

export interface QuotaCall {
  env: Env;
  /** `undefined`: client auth is off; the call counts as {@link LOCAL_QUOTA_USER}. */
  caller: QuotaCaller | undefined;
  vendor: string;
  /** The call's clock (window, admission timeout). */
  clock: Clock;
  requestId?: string;
  traceId?: string;
  /**
   * Keeps the call's request alive for a grant it runs for other calls too (a shared grant's
   * RPC lives in the request that started it: if that one ended early, the others would wait).
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** One call waiting for a grant: `undefined` means the shared grant failed and it asks on its own. */
interface Waiter {
  call: QuotaCall;
  resolve: (decision: QuotaDecision | undefined) => void;
}

/** What an isolate keeps for one user's calls under one vendor's limits. */
interface Lease {
  /** Admissions granted and not spent yet; usable while the call's clock is before `until`. */
  spare: number;
  until: number;
  /** The smallest headroom of the limits in the last answer (0: none seen yet). */
  headroom: number;
  /** Calls waiting for the grant under way (or the next). */
  waiting: Waiter[];
  asking: boolean;
  /** This isolate's call rate: calls in the current and the previous {@link QUOTA_LEASE_MS}. */
  periodStart: number;
  periodCalls: number;
  lastPeriodCalls: number;
}

/** Leases by limits (memoized per quota policy, team and vendor, so per env) and then by user. */
const leases = new WeakMap<readonly QuotaLimit[], Cache<string, Lease>>();

function newLease(): Lease {
  return {
    spare: 0,
    until: 0,
    headroom: 0,
    waiting: [],
    asking: false,
    periodStart: Number.NEGATIVE_INFINITY,
    periodCalls: 0,
    lastPeriodCalls: 0,
  };
}

function noteCall(lease: Lease, now: number): void {
  const elapsed = now - lease.periodStart;
  if (elapsed >= QUOTA_LEASE_MS || elapsed < 0) {
    lease.lastPeriodCalls = elapsed < 2 * QUOTA_LEASE_MS && elapsed >= 0 ? lease.periodCalls : 0;
    lease.periodStart = now;
    lease.periodCalls = 0;
  }
  lease.periodCalls += 1;
}

/**
 * Spare units to ask for beyond the calls waiting: half the calls this isolate made in the last
 * lease time (so at a steady rate they are spent well before the lease ends; a slow caller gets
 * none and every call asks), capped by {@link MAX_SPARE_UNITS} and a share of the headroom; none
 * when a limit is small.
 */
function spareUnits(lease: Lease, limits: readonly QuotaLimit[]): number {
  if (limits.some((limit) => limit.limit < MIN_LEASED_LIMIT)) return 0;
  const rate = Math.floor(Math.max(lease.periodCalls, lease.lastPeriodCalls) / 2);
  return Math.max(0, Math.min(MAX_SPARE_UNITS, rate, Math.floor(lease.headroom / HEADROOM_SHARE)));
}

/** Whose call and which limits: what one `admit` needs besides the call. */
interface Admission {
  policy: QuotaPolicy;
  userId: string;
  teamId: string | undefined;
  limits: readonly QuotaLimit[];
  lease: Lease;
}

function logUnavailable(call: QuotaCall, error: unknown): void {
  log({
    event: "quota_guard_unavailable",
    requestId: call.requestId,
    ...(call.traceId === undefined ? {} : { traceId: call.traceId }),
    vendor: call.vendor,
    op: "admit",
    error: errorText(error),
  });
}

function unavailableDecision(admission: Admission, call: QuotaCall): QuotaDecision {
  return admission.policy.whenUnavailable === "refuse"
    ? { admitted: false, failure: unavailable(call.vendor) }
    : ADMITTED;
}

/** One `admit` of `want` units on `call`'s clock; the answer updates the lease's headroom. */
async function askGuard(admission: Admission, call: QuotaCall, want: number, now: number) {
  const { userId, teamId, limits, lease } = admission;
  const answer = await withTimeout<QuotaAdmission>(
    guardFor(call.env, ownerOf(userId, teamId)).admit({
      userId,
      ...(teamId === undefined ? {} : { teamId }),
      vendor: call.vendor,
      limits,
      now,
      ...(want === 1 ? {} : { want }),
    }) as Promise<QuotaAdmission>,
    ADMISSION_TIMEOUT_MS,
    call.clock,
    "quota guard",
  );
  lease.headroom = Math.min(...answer.usage.map((usage) => usage.limit - usage.used));
  return answer;
}

function refusal(answer: QuotaAdmission & { admitted: false }, call: QuotaCall): QuotaDecision {
  return { admitted: false, failure: quotaExceeded(answer.refused, call.vendor, call.clock.now()) };
}

/** The call's own `admit` of one unit, as without a lease (after a shared grant failed). */
async function admitAlone(admission: Admission, call: QuotaCall): Promise<QuotaDecision> {
  try {
    const answer = await askGuard(admission, call, 1, call.clock.now());
    return answer.admitted ? ADMITTED : refusal(answer, call);
  } catch (error) {
    logUnavailable(call, error);
    return unavailableDecision(admission, call);
  }
}

/**
 * One grant for every call waiting (plus spare units), on the first waiter's clock; serves them in
 * order, keeps what is left as the lease, and asks again for the calls that arrived meanwhile or
 * were not granted. If the guard fails, the first waiter gets the unavailable decision (logged)
 * and the others ask on their own, so each call still tries the guard once.
 */
function startGrant(admission: Admission, running: QuotaCall): void {
  const granting = grant(admission, running);
  running.waitUntil?.(granting);
}

/** {@link startGrant}'s work; `running` is the call whose request runs it (and its next grant). */
async function grant(admission: Admission, running: QuotaCall): Promise<void> {
  const { lease, limits } = admission;
  lease.asking = true;
  const first = lease.waiting[0] as Waiter;
  const now = first.call.clock.now();
  let answer: QuotaAdmission;
  let until: number;
  try {
    answer = await askGuard(admission, first.call, lease.waiting.length + spareUnits(lease, limits), now);
    until = Math.min(now + QUOTA_LEASE_MS, ...answer.usage.map((usage) => usage.resetAt));
  } catch (error) {
    lease.asking = false;
    const [head, ...rest] = lease.waiting.splice(0);
    logUnavailable(first.call, error);
    head?.resolve(unavailableDecision(admission, first.call));
    for (const waiter of rest) waiter.resolve(undefined);
    return;
  }
  lease.asking = false;
  if (!answer.admitted) {
    // Some limit has no room at all: every call waiting now would be refused alike.
    for (const waiter of lease.waiting.splice(0)) waiter.resolve(refusal(answer, waiter.call));
    return;
  }
  const served = lease.waiting.splice(0, answer.granted);
  lease.spare = answer.granted - served.length;
  lease.until = until;
  for (const waiter of served) waiter.resolve(ADMITTED);
  if (lease.waiting.length > 0) startGrant(admission, running);
}

/**
 * Starts the quota admission of one tool call: `undefined` when no quota applies (the common,
 * free case), else the decision, which never rejects: at once from the isolate's lease, or after
 * a grant.
 */
export function startQuotaAdmission(call: QuotaCall): Promise<QuotaDecision> | undefined {
  const policy = loadQuotaPolicy(call.env);
  if (policy === undefined) return undefined;
  const { userId, teamId } = call.caller ?? LOCAL_CALLER;
  const limits = policy.limitsFor(teamId, call.vendor);
  if (limits.length === 0) return undefined;
  const lease = memoized(
    memoized(leases, limits, () => boundedCache<string, Lease>(MAX_LEASES)),
    userId,
    newLease,
  );
  const now = call.clock.now();
  noteCall(lease, now);
  if (lease.spare > 0 && lease.until > now) {
    lease.spare -= 1;
    return ADMITTED_NOW;
  }
  lease.spare = 0;
  const admission: Admission = { policy, userId, teamId, limits, lease };
  return new Promise<QuotaDecision | undefined>((resolve) => {
    lease.waiting.push({ call, resolve });
    if (!lease.asking) startGrant(admission, call);
  }).then((decision) => decision ?? admitAlone(admission, call));
}

/**
 * The caller's usage of every limit that applies to them (across vendors and per vendor), for
 * `gateway_status`: `undefined` without `GATEWAY_QUOTAS` or a limit for them (no RPC). Throws
 * when the guard cannot answer.
 */
export async function readCallerQuotaUsage(
  env: Env,
  caller: QuotaCaller,
  clock: Clock = clockFor(env),
): Promise<QuotaUsage[] | undefined> {
  const policy = loadQuotaPolicy(env);
  const limits = policy?.allLimitsFor(caller.teamId) ?? [];
  if (limits.length === 0) return undefined;
  const { userId, teamId } = caller;
  return withTimeout(
    guardFor(env, ownerOf(userId, teamId)).usage({
      userIds: [userId],
      ...(teamId === undefined ? {} : { teamId }),
      limits,
      now: clock.now(),
    }) as Promise<QuotaUsage[]>,
    ADMISSION_TIMEOUT_MS,
    clock,
    "quota guard",
  );
}

/**
 * Every limit of one team as used now, for the status page: the team's own and each of its users'
 * that has a count in the current window (a user who made no call in it is not listed). `[]`
 * without `GATEWAY_QUOTAS` or a limit for the team (no RPC). Throws when the guard cannot answer.
 */
export async function readQuotaUsage(
  env: Env,
  teamId: string,
  clock: Clock = clockFor(env),
): Promise<QuotaUsage[]> {
  const policy = loadQuotaPolicy(env);
  const limits = policy?.allLimitsFor(teamId) ?? [];
  if (limits.length === 0) return [];
  return withTimeout(
    guardFor(env, { teamId }).usage({ userIds: "counted", teamId, limits, now: clock.now() }) as Promise<
      QuotaUsage[]
    >,
    ADMISSION_TIMEOUT_MS,
    clock,
    "quota guard",
  );
}
