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

/** A {@link Deadline} of `ms` milliseconds (on `clock`) that also follows `parent`. */
export function deadlineAfter(ms: number, parent?: AbortSignal, clock: Clock = realClock): Deadline {
  return new TimerDeadline(ms, parent, clock);
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
  readonly #cancelTimer: () => void;
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

  constructor(ms: number, parent: AbortSignal | undefined, clock: Clock) {
    const signal = this.#controller.signal;
    deadlinesBySignal.set(signal, this);
    this.#cancelTimer = clock.timer(ms, () => {
      this.#timedOut = true;
      this.#detach();
      this.#abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    });
    const leader = parent === undefined ? undefined : deadlinesBySignal.get(parent);
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
    this.#cancelTimer();
    this.#detach();
  };

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
