/**
 * Time as the gateway sees it: the one source of "now", of waits and of timeouts
 * on the tool-call path (the call's deadline, each attempt's `UPSTREAM_TIMEOUT`,
 * backoff and token waits, the guard's admission timeout and its lease), of the
 * KV guard's timeout and of the vendor OAuth exchanges. Injectable, so tests
 * decide when time passes instead of depending on how fast a busy machine runs;
 * the test clocks live in test/support/clocks.ts, never here.
 *
 * A leaf: it imports only the env's type, so every layer may use it.
 *
 * @module
 */
import type { EnvVars } from "./config.ts";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` (rejects with the signal's reason when it aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fire` once `ms` have passed, unless the returned cancel function runs first. */
  timer(ms: number, fire: () => void): () => void;
  /**
   * `true` when a timer of `ms` fires once `now()` has moved `ms` on, so one timer can stand
   * for several due times compared through `now()` (src/resilience/timeout.ts). Unset for a
   * clock whose `now()` moves apart from its timers (a test clock whose sleeps skip time).
   */
  readonly timersFollowNow?: boolean;
}

/** `sleep` built on a clock's `timer`, so every clock waits the same way. */
function sleepOn(timer: Clock["timer"]): Clock["sleep"] {
  return (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        cancel();
        reject(signal?.reason);
      };
      const cancel = timer(ms, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
}

function realTimer(ms: number, fire: () => void): () => void {
  const handle = setTimeout(fire, ms);
  return () => clearTimeout(handle);
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: sleepOn(realTimer),
  timer: realTimer,
  timersFollowNow: true,
};

/**
 * `promise`, or a rejection naming `what` once `ms` have passed on `clock` (a Durable Object
 * round trip that must not hold a call or its `waitUntil` open).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.timer(ms, () => reject(new Error(`${what} did not answer within ${ms} ms`)));
  });
  return Promise.race([promise, timeout]).finally(() => cancel?.());
}

function isClock(value: unknown): value is Clock {
  const c = value as Partial<Clock> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    typeof c.now === "function" &&
    typeof c.sleep === "function" &&
    typeof c.timer === "function"
  );
}

/**
 * The clock for a call (or, for the KV guard, an env): real, except in the test environment
 * (`GATEWAY_ENV=test`), where a test may hand the Worker its own as `GATEWAY_TEST_CLOCK` in the
 * env: a clock, or a function that makes one per call. That is the one test seam; the Worker
 * test project sets a virtual-clock factory on its env (test/support/virtual-clock.setup.ts).
 */
export function clockFor(env: EnvVars): Clock {
  if (env.GATEWAY_ENV !== "test") return realClock;
  const injected = env.GATEWAY_TEST_CLOCK;
  const clock = typeof injected === "function" ? (injected as () => unknown)() : injected;
  return isClock(clock) ? clock : realClock;
}
