/**
 * Time as the retry loop sees it, injectable so backoff and rate-limit waits
 * are testable without real sleeps.
 *
 * @module
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` (rejects with the signal's reason when it aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** A clock whose sleeps return at once and move its own time forward; records every sleep. */
export interface VirtualClock extends Clock {
  readonly sleeps: number[];
}

/** Real time plus the sum of the (skipped) sleeps: real timeouts still fire, waits cost nothing. */
export function virtualClock(): VirtualClock {
  let offset = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now() + offset,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      offset += Math.max(0, ms);
    },
  };
}

/**
 * The clock for a call: real, except in the test environment when
 * `GATEWAY_TEST_VIRTUAL_TIME` is `true` (vitest.config.ts sets it), where each
 * call gets its own virtual clock so backoff waits are skipped.
 */
export function clockFor(env: object): Clock {
  const vars = env as { GATEWAY_ENV?: unknown; GATEWAY_TEST_VIRTUAL_TIME?: unknown };
  return vars.GATEWAY_ENV === "test" && vars.GATEWAY_TEST_VIRTUAL_TIME === "true"
    ? virtualClock()
    : realClock;
}
