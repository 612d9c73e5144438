/**
 * `QuotaGuard`: the Durable Object that counts calls against the configured quotas
 * (`GATEWAY_QUOTAS`, src/resilience/quota-config.ts). One SQLite-backed object per team
 * (`idFromName("team:<id>")`: the team's and all its users' counters) or per user without a team
 * (`"user:<id>"`), so every isolate's calls of one team meet in one place.
 *
 * Exact under concurrency: {@link QuotaGuard.admit} decides before its first await, from the
 * object's synchronous storage and the counts not written yet, so admissions are decided one at a
 * time; it checks every limit that applies and then counts the call in all of them, or in none
 * when one is used up (a refused call counts nowhere). An admitted call's answer leaves only once
 * its count is on disk (the output gate), and the admissions that arrive together share that one
 * commit.
 *
 * Grants: an isolate may ask for several admissions at once (`want`, quota-client.ts's lease):
 * the object grants `min(want, headroom of every limit)` and counts them all at grant time, so no
 * limit is ever exceeded whatever the isolates do with them; units an isolate never spends stay
 * counted (usage over-reports by at most what is outstanding, never under-reports).
 *
 * Windows are fixed and aligned to UTC: a minute window starts at second 0 of the minute, a day
 * window at 00:00 UTC; at the boundary the count starts over (so up to twice a limit can pass
 * within a minute that straddles one). Time comes from the caller (`now`, the call's clock), so
 * tests move it.
 *
 * Storage (README.md#storage-schema): one key per counter, `quota:<scope>:<subject>:<vendor or *>:<window>`,
 * holding the window start, the count and when it resets. Counters of windows that ended are
 * deleted once a day (on the first call of the day), so a team's object holds at most one row per
 * user and configured limit.
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import { QUOTA_COUNTER_PREFIX, quotaCounterKey } from "../storage/keys.ts";
import type { QuotaLimit } from "./quota-config.ts";
import type { QuotaUsage } from "./quota-types.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A window's length: windows start at multiples of it since the epoch, which is 00:00 UTC. */
export const QUOTA_WINDOW_MS: Readonly<Record<QuotaUsage["window"], number>> = {
  minute: MINUTE_MS,
  day: DAY_MS,
};

/** One counter as stored. */
interface Counter {
  /** Window start, epoch ms. */
  start: number;
  count: number;
  /** Window end (start + length), epoch ms. */
  resetAt: number;
}

/** What the Worker asks for one call: whose it is and the limits that apply (quota-client.ts). */
export interface QuotaAdmitRequest {
  userId: string;
  teamId?: string;
  /** The vendor called (its own limits already name it; the across-vendor ones count every vendor). */
  vendor: string;
  limits: readonly QuotaLimit[];
  /** The call's clock, epoch ms. */
  now: number;
  /** Admissions asked for at once (default 1); fewer are granted when a limit has less room. */
  want?: number;
}

/** Most admissions one request is granted: far above any isolate's concurrency, a bound on a bad `want`. */
const MAX_GRANT = 1_000;

export type QuotaAdmission =
  /** `granted` (1 to `want`) admissions counted in every limit; `usage` after counting. */
  | { admitted: true; granted: number; usage: QuotaUsage[] }
  /**
   * Counted nowhere: `refused` is the used-up limit that resets last (retrying before then is
   * refused again); `usage` is every limit as it stands.
   */
  | { admitted: false; refused: QuotaUsage; usage: QuotaUsage[] };

/** Usage of some users of one team (or one user without a team) in the given limits. */
export interface QuotaUsageRequest {
  /** `"counted"`: every user with a counter in this object (the status page's view of a team). */
  userIds: readonly string[] | "counted";
  teamId?: string;
  limits: readonly QuotaLimit[];
  now: number;
}

interface Slot {
  key: string;
  usage: QuotaUsage;
}

export class QuotaGuard extends DurableObject<Env> {
  private readonly kv: SyncKvStorage;
  /** Counts decided and not written yet (read before storage). */
  private readonly unsaved = new Map<string, Counter>();
  /** The commit under way. */
  private saving: Promise<void> | undefined;
  /** The commit after it, which the admissions decided meanwhile wait for. */
  private next: Promise<void> | undefined;
  /** The UTC day (epoch days) whose ended windows were swept; -1: none yet in this instance. */
  private sweptDay = -1;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.kv = ctx.storage.kv;
  }

  /**
   * Checks every limit and counts the call (or `want` calls, as many as every limit has room for)
   * in all of them, or in none. The decision is taken
   * before the first await, so admissions are decided one at a time; an admitted call's answer
   * waits until its count is on disk (see {@link QuotaGuard.persist}).
   */
  async admit(request: QuotaAdmitRequest): Promise<QuotaAdmission> {
    const answer = this.decide(request);
    if (answer.admitted) await this.persist();
    return answer;
  }

  /** {@link QuotaGuard.admit}'s decision: synchronous, so no other admission interleaves. */
  private decide(request: QuotaAdmitRequest): QuotaAdmission {
    const { now } = request;
    this.sweep(now);
    const slots = request.limits.flatMap((limit) =>
      limit.scope === "team" && request.teamId === undefined
        ? []
        : [this.slot(limit, limit.scope === "user" ? request.userId : (request.teamId as string), now)],
    );
    let refused: QuotaUsage | undefined;
    let granted = Math.min(MAX_GRANT, Math.max(1, Math.floor(request.want ?? 1) || 1));
    for (const { usage } of slots) {
      granted = Math.min(granted, usage.limit - usage.used);
      if (usage.used + 1 > usage.limit && (refused === undefined || usage.resetAt > refused.resetAt)) {
        refused = usage;
      }
    }
    const usage = slots.map((slot) => slot.usage);
    if (refused !== undefined) return { admitted: false, refused, usage };
    for (const slot of slots) {
      slot.usage.used += granted;
      const counter: Counter = {
        start: slot.usage.resetAt - QUOTA_WINDOW_MS[slot.usage.window],
        count: slot.usage.used,
        resetAt: slot.usage.resetAt,
      };
      this.unsaved.set(slot.key, counter);
    }
    return { admitted: true, granted, usage };
  }

  /**
   * Writes the counts decided and not written yet, and resolves once they are on disk: the answers
   * of those admissions leave after the commit, so an admitted call is never forgotten. While one
   * commit is under way the admissions decided meanwhile wait for the next, which writes them all:
   * concurrent admissions share commits instead of queueing one each (a commit is most of an
   * admission's cost); a lone admission is written at once.
   */
  private persist(): Promise<void> {
    if (this.saving === undefined) {
      for (const [key, counter] of this.unsaved) this.kv.put(key, counter);
      this.unsaved.clear();
      this.saving = this.ctx.storage.sync().finally(() => {
        this.saving = undefined;
      });
      return this.saving;
    }
    this.next ??= this.saving.then(() => {
      this.next = undefined;
      return this.persist();
    });
    return this.next;
  }

  /** How much of each limit the users and the team have used now (nothing is counted). */
  usage(request: QuotaUsageRequest): QuotaUsage[] {
    const userIds = request.userIds === "counted" ? this.countedUsers() : request.userIds;
    const out: QuotaUsage[] = [];
    for (const limit of request.limits) {
      if (limit.scope === "team") {
        if (request.teamId !== undefined) out.push(this.slot(limit, request.teamId, request.now).usage);
        continue;
      }
      for (const userId of userIds) {
        const usage = this.slot(limit, userId, request.now).usage;
        if (request.userIds !== "counted" || usage.used > 0) out.push(usage);
      }
    }
    return out;
  }

  /** Users with a stored counter, in key order. */
  private countedUsers(): string[] {
    const users = new Set<string>();
    const prefix = `${QUOTA_COUNTER_PREFIX}user:`;
    for (const [key] of this.kv.list({ prefix }))
      users.add(key.slice(prefix.length, key.indexOf(":", prefix.length)));
    return [...users];
  }

  /** The counter of `limit` for `subject` in the window `now` falls in (0 when the stored one ended). */
  private slot(limit: QuotaLimit, subject: string, now: number): Slot {
    const length = QUOTA_WINDOW_MS[limit.window];
    const start = now - (((now % length) + length) % length);
    const key = quotaCounterKey(limit.scope, subject, limit.vendor, limit.window);
    const stored = this.unsaved.get(key) ?? this.kv.get<Counter>(key);
    return {
      key,
      usage: {
        scope: limit.scope,
        subject,
        ...(limit.vendor === undefined ? {} : { vendor: limit.vendor }),
        window: limit.window,
        used: stored !== undefined && stored.start === start ? stored.count : 0,
        limit: limit.limit,
        resetAt: start + length,
      },
    };
  }

  /** Once per UTC day: deletes counters whose window ended (users who left, limits removed). */
  private sweep(now: number): void {
    const day = Math.floor(now / DAY_MS);
    if (day === this.sweptDay) return;
    this.sweptDay = day;
    for (const [key, counter] of this.kv.list<Counter>({ prefix: QUOTA_COUNTER_PREFIX })) {
      if (counter.resetAt <= now && !this.unsaved.has(key)) this.kv.delete(key);
    }
  }
}
