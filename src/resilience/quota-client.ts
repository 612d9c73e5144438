/**
 * The Worker side of {@link QuotaGuard}: which limits of `GATEWAY_QUOTAS` apply to a call, the one
 * `admit` round trip that checks and counts them, the tool error a refusal becomes, and the usage
 * reads of `gateway_status` and the status page.
 *
 * Cost: without `GATEWAY_QUOTAS`, or when no limit applies to the caller and vendor,
 * {@link startQuotaAdmission} is one `WeakMap` lookup (and one `Map` lookup) and returns
 * `undefined`: nothing is sent, nothing allocated. Otherwise the call costs one Durable Object
 * RPC, started by the vendor seam before the kind validates and builds the request and awaited
 * beside the vendor guard's admission (src/resilience/retry.ts), so its latency overlaps work the
 * call does anyway.
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
import { boundedCache, memoized } from "../memo.ts";
import { quotaGuardName } from "../storage/keys.ts";
import type { ToolFailure } from "../tool-error.ts";
import { ADMISSION_TIMEOUT_MS } from "./guard-client.ts";
import { loadQuotaPolicy } from "./quota-config.ts";
import type { QuotaAdmission } from "./quota-guard.ts";
import type { QuotaUsage } from "./quota-types.ts";

/** Seconds a caller is asked to wait when the guard could not answer and the policy refuses. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
/** Durable Object ids remembered per isolate (one per team or team-less user); past it the cache starts over. */
const MAX_GUARD_IDS = 10_000;

/** How the quota answered a call: go on, or the failure the caller gets instead of the call. */
export type QuotaDecision = { admitted: true } | { admitted: false; failure: ToolFailure };

const ADMITTED: QuotaDecision = { admitted: true };

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
}

/**
 * Starts the quota admission of one tool call: `undefined` when no quota applies (the common,
 * free case), else the decision, which never rejects.
 */
export function startQuotaAdmission(call: QuotaCall): Promise<QuotaDecision> | undefined {
  const policy = loadQuotaPolicy(call.env);
  if (policy === undefined) return undefined;
  const { userId, teamId } = call.caller ?? LOCAL_CALLER;
  const limits = policy.limitsFor(teamId, call.vendor);
  if (limits.length === 0) return undefined;
  return (async (): Promise<QuotaDecision> => {
    const now = call.clock.now();
    try {
      const answer = await withTimeout<QuotaAdmission>(
        guardFor(call.env, ownerOf(userId, teamId)).admit({
          userId,
          ...(teamId === undefined ? {} : { teamId }),
          vendor: call.vendor,
          limits,
          now,
        }) as Promise<QuotaAdmission>,
        ADMISSION_TIMEOUT_MS,
        call.clock,
        "quota guard",
      );
      return answer.admitted
        ? ADMITTED
        : { admitted: false, failure: quotaExceeded(answer.refused, call.vendor, now) };
    } catch (error) {
      log({
        event: "quota_guard_unavailable",
        requestId: call.requestId,
        ...(call.traceId === undefined ? {} : { traceId: call.traceId }),
        vendor: call.vendor,
        op: "admit",
        error: errorText(error),
      });
      return policy.whenUnavailable === "refuse"
        ? { admitted: false, failure: unavailable(call.vendor) }
        : ADMITTED;
    }
  })();
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
