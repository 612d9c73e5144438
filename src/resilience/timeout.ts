/**
 * Timeout signals the code can release when the work is done.
 *
 * `AbortSignal.timeout()` cannot be cancelled: every tool call left its deadline
 * timer (`TOOL_EXECUTION_TIMEOUT`, 90 s) and attempt timer (`UPSTREAM_TIMEOUT`,
 * 30 s) pending, and each fired long after its call had returned, running an
 * abort, an event dispatch and a promise rejection for nothing. A
 * {@link Deadline} is cleared when its call ends (measured: ≈ 2.5 % less CPU per
 * call over 100 s at c=32; the heap after a full GC is the same either way).
 *
 * One timer per call: the call's deadline wakes first at the earliest time its
 * first attempt's `UPSTREAM_TIMEOUT` could end, and an attempt due no earlier
 * than that rides the call's timer instead of setting its own (see
 * {@link deadlineAfter}); a call that ends in time sets and clears one timer.
 *
 * The timer runs on the call's {@link Clock} (real time in production), so tests
 * decide when a deadline passes.
 *
 * @module
 */
import { type Clock, realClock } from "../clock.ts";

/** An abort signal that fires after a delay, or when a parent signal aborts, until cleared. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** `true` once the delay itself ran out (not the parent). */
  readonly timedOut: boolean;
  /** Rejects with the signal's reason when it aborts; never settles otherwise. Handled, so it cannot surface as unhandled. */
  readonly aborted: Promise<never>;
  /** Stops the timer and detaches from the parent; the signal will not abort after this. */
  clear(): void;
}

/**
 * A {@link Deadline} of `ms` milliseconds (on `clock`) that also follows `parent`.
 *
 * `firstWakeMs`: wake this deadline's timer first after that long (when shorter than `ms`) to
 * serve its followers' due times. A tool call's deadline passes its attempts' `UPSTREAM_TIMEOUT`:
 * an attempt due no earlier than its leader's next wake-up arms no timer of its own, the
 * leader's one timer ends it (a call then sets one timer instead of two). When a wake-up finds
 * nothing due it sets the timer again for the next due time, so every deadline still ends at
 * its own time. Only on a clock whose timers follow its `now()` (`Clock.timersFollowNow`).
 */
export function deadlineAfter(
  ms: number,
  parent?: AbortSignal,
  clock: Clock = realClock,
  firstWakeMs?: number,
): Deadline {
  return new TimerDeadline(ms, parent, clock, firstWakeMs);
}

/** Deadlines by their signal: one that follows another's signal registers with it instead of listening. */
const deadlinesBySignal = new WeakMap<AbortSignal, TimerDeadline>();

/**
 * A class, not an object literal: accessors in a literal are defined anew on every object,
 * and a tool call makes two deadlines (its own and its attempt's). An attempt's deadline
 * follows the call's through the call's list of followers, not an `abort` listener on its
 * signal: adding and removing one is a runtime call each, on every attempt.
 */
class TimerDeadline implements Deadline {
  readonly #controller = new AbortController();
  readonly #clock: Clock;
  #cancelTimer: (() => void) | undefined;
  /** When this deadline ends, on its clock: set when deadlines share timers (`timersFollowNow`). */
  readonly #dueAt: number | undefined;
  /** When this deadline's timer fires (a leader's; `undefined`: it has none, it rides its leader's). */
  #wakeAt: number | undefined;
  /** The deadline this one follows, when its parent signal is one's. */
  readonly #leader: TimerDeadline | undefined;
  /** Any other parent signal, followed through an `abort` listener. */
  readonly #parent: AbortSignal | undefined;
  #followers: Set<TimerDeadline> | undefined;
  #timedOut = false;
  // Made on first read: an attempt's deadline only needs its signal.
  #aborted: Promise<never> | undefined;
  #rejectAborted: ((reason: unknown) => void) | undefined;
  readonly #onParentAbort = (): void => this.#abort(this.#parent?.reason);

  constructor(ms: number, parent: AbortSignal | undefined, clock: Clock, firstWakeMs: number | undefined) {
    const signal = this.#controller.signal;
    deadlinesBySignal.set(signal, this);
    this.#clock = clock;
    const leader = parent === undefined ? undefined : deadlinesBySignal.get(parent);
    if (clock.timersFollowNow === true) {
      const now = clock.now();
      this.#dueAt = now + ms;
      // Due no earlier than the leader's next wake-up (and not ended yet): its timer serves this one.
      const wakeAt = leader === undefined || leader.#clock !== clock ? undefined : leader.#wakeAt;
      const rides = wakeAt !== undefined && wakeAt <= this.#dueAt;
      if (!rides) this.#arm(Math.min(ms, firstWakeMs ?? ms), now);
    } else {
      this.#cancelTimer = clock.timer(ms, () => this.#expire());
    }
    if (leader !== undefined) {
      this.#leader = leader;
      if (parent?.aborted) {
        this.#abort(parent.reason);
      } else {
        leader.#followers ??= new Set();
        leader.#followers.add(this);
      }
      return;
    }
    this.#parent = parent;
    if (parent?.aborted) this.#onParentAbort();
    else parent?.addEventListener("abort", this.#onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  get aborted(): Promise<never> {
    if (this.#aborted === undefined) {
      const signal = this.#controller.signal;
      this.#aborted = signal.aborted
        ? Promise.reject(signal.reason)
        : new Promise<never>((_, reject) => {
            this.#rejectAborted = reject;
          });
      this.#aborted.catch(() => {});
    }
    return this.#aborted;
  }

  /** An own function, so it can be handed on unbound (retry.ts passes it as `release`). */
  readonly clear = (): void => {
    const cancel = this.#cancelTimer;
    if (cancel !== undefined) {
      cancel();
      this.#cancelTimer = undefined;
      this.#wakeAt = undefined;
      // Followers that rode this timer and are still running get timers of their own.
      const followers = this.#followers;
      if (followers !== undefined && followers.size > 0) {
        const now = this.#clock.now();
        for (const follower of followers) {
          if (follower.#cancelTimer === undefined)
            follower.#arm(Math.max(0, (follower.#dueAt as number) - now), now);
        }
      }
    }
    this.#detach();
  };

  /** Sets this deadline's timer `ms` from `now` (shared-timer mode). */
  #arm(ms: number, now: number): void {
    this.#wakeAt = now + ms;
    this.#cancelTimer = this.#clock.timer(ms, () => this.#wake());
  }

  /** The timer fired (shared-timer mode): end this deadline or its followers that are due, sleep until the next. */
  #wake(): void {
    this.#cancelTimer = undefined;
    this.#wakeAt = undefined;
    const now = this.#clock.now();
    const dueAt = this.#dueAt as number;
    if (now >= dueAt) {
      this.#expire();
      return;
    }
    let next = dueAt;
    const followers = this.#followers;
    if (followers !== undefined) {
      for (const follower of followers) {
        // A follower with a timer of its own ends by it.
        if (follower.#cancelTimer !== undefined) continue;
        const followerDue = follower.#dueAt as number;
        if (followerDue <= now) follower.#expire();
        else if (followerDue < next) next = followerDue;
      }
    }
    this.#arm(next - now, now);
  }

  #expire(): void {
    this.#timedOut = true;
    this.#wakeAt = undefined;
    this.#detach();
    this.#abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  }

  #detach(): void {
    const leader = this.#leader;
    if (leader !== undefined) leader.#followers?.delete(this);
    else this.#parent?.removeEventListener("abort", this.#onParentAbort);
  }

  #abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason);
    const followers = this.#followers;
    if (followers !== undefined) {
      this.#followers = undefined;
      for (const follower of followers) follower.#abort(reason);
    }
    this.#rejectAborted?.(reason);
  }
}
