/**
 * Test clocks for the Worker's one injected clock (src/clock.ts): a test hands one to the
 * Worker as `GATEWAY_TEST_CLOCK` in the env (honoured only with `GATEWAY_ENV=test`) or passes
 * one to `resilientFetch`/`guardClient`, and decides when time passes.
 */
import { type Clock, realClock } from "../../src/clock.ts";

/** A clock whose sleeps return at once and move its own time forward; records every sleep. */
export interface VirtualClock extends Clock {
  readonly sleeps: number[];
}

/**
 * Real time plus the sum of the (skipped) sleeps: waits cost nothing, timers run on real
 * time. Every Worker test's default (virtual-clock.setup.ts), where tests set short
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
    timer: realClock.timer,
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
    timersFollowNow: true,
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

/**
 * `base` with a fresh manual clock for every request the Worker serves (GATEWAY_TEST_CLOCK),
 * started at the real time; `clocks` lists the ones made, so a test can move them all.
 */
export function withManualClocks<E extends object>(base: E): { env: E; clocks: ManualClock[] } {
  const clocks: ManualClock[] = [];
  const env = {
    ...base,
    GATEWAY_TEST_CLOCK: () => {
      const clock = manualClock(Date.now());
      clocks.push(clock);
      return clock;
    },
  };
  return { env, clocks };
}
