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
  const controller = new AbortController();
  let timedOut = false;
  // Made on first read: an attempt's deadline only needs its signal, and a promise per attempt is CPU.
  let aborted: Promise<never> | undefined;
  let rejectAborted: ((reason: unknown) => void) | undefined;
  const abort = (reason: unknown) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    rejectAborted?.(reason);
  };
  const onParentAbort = () => abort(parent?.reason);
  const cancelTimer = clock.timer(ms, () => {
    timedOut = true;
    parent?.removeEventListener("abort", onParentAbort);
    abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  });
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    get aborted() {
      if (aborted === undefined) {
        const signal = controller.signal;
        aborted = signal.aborted
          ? Promise.reject(signal.reason)
          : new Promise<never>((_, reject) => {
              rejectAborted = reject;
            });
        aborted.catch(() => {});
      }
      return aborted;
    },
    clear() {
      cancelTimer();
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}
