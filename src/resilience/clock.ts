/**
 * Time as a tool call sees it: the one source of "now", of waits and of
 * timeouts on the tool-call path (the call's deadline, each attempt's
 * `UPSTREAM_TIMEOUT`, backoff and token waits, the guard's admission timeout
 * and its lease). Injectable, so tests decide when time passes instead of
 * depending on how fast a busy machine runs.
 *
 * @module
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` (rejects with the signal's reason when it aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fire` once `ms` have passed, unless the returned cancel function runs first. */
  timer(ms: number, fire: () => void): () => void;
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
};

/** A clock whose sleeps return at once and move its own time forward; records every sleep. */
export interface VirtualClock extends Clock {
  readonly sleeps: number[];
}

/**
 * Real time plus the sum of the (skipped) sleeps: waits cost nothing, timers run on real
 * time. The Worker's test mode (`GATEWAY_TEST_VIRTUAL_TIME`), where tests set short
 * `UPSTREAM_TIMEOUT`s against hanging upstreams and expect them to fire.
 */
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
    timer: realTimer,
  };
}

/** A clock that moves only when told to: by `advance`, or by a sleep (which returns at once). */
export interface ManualClock extends VirtualClock {
  /** Moves time forward by `ms`, firing every timer that comes due, in order. */
  advance(ms: number): void;
  /** Timers not fired or cancelled yet. */
  pendingTimers(): number;
}

/**
 * A clock nothing but the test moves: a timeout (the guard's admission timeout, an
 * attempt's `UPSTREAM_TIMEOUT`) fires only when the test advances past it, so a slow
 * machine cannot make one fire.
 */
export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let t = start;
  let nextId = 0;
  const timers = new Map<number, { due: number; fire: () => void }>();
  const advance = (ms: number) => {
    const target = t + Math.max(0, ms);
    for (;;) {
      let next: [number, { due: number; fire: () => void }] | undefined;
      for (const entry of timers) {
        if (entry[1].due <= target && (next === undefined || entry[1].due < next[1].due)) next = entry;
      }
      if (next === undefined) break;
      timers.delete(next[0]);
      t = Math.max(t, next[1].due);
      next[1].fire();
    }
    t = target;
  };
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance,
    pendingTimers: () => timers.size,
    timer(ms, fire) {
      const id = nextId++;
      timers.set(id, { due: t + Math.max(0, ms), fire });
      return () => {
        timers.delete(id);
      };
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      advance(ms);
    },
  };
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
 * The clock a test handed the Worker as `GATEWAY_TEST_CLOCK` in the env (a clock, or a
 * function that makes one per call); honoured only in the test environment (`GATEWAY_ENV=test`).
 */
export function injectedClock(env: object): Clock | undefined {
  const vars = env as { GATEWAY_ENV?: unknown; GATEWAY_TEST_CLOCK?: unknown };
  if (vars.GATEWAY_ENV !== "test") return undefined;
  const injected = vars.GATEWAY_TEST_CLOCK;
  const clock = typeof injected === "function" ? (injected as () => unknown)() : injected;
  return isClock(clock) ? clock : undefined;
}

/**
 * The clock for a call: real, except in the test environment, where a test may inject
 * its own ({@link injectedClock}), and where `GATEWAY_TEST_VIRTUAL_TIME=true`
 * (vitest.config.ts sets it) gives each call its own virtual clock so backoff waits are skipped.
 */
export function clockFor(env: object): Clock {
  const injected = injectedClock(env);
  if (injected !== undefined) return injected;
  const vars = env as { GATEWAY_ENV?: unknown; GATEWAY_TEST_VIRTUAL_TIME?: unknown };
  return vars.GATEWAY_ENV === "test" && vars.GATEWAY_TEST_VIRTUAL_TIME === "true"
    ? virtualClock()
    : realClock;
}
