/**
 * Driving a hanging upstream on a manual clock: the attempt's UPSTREAM_TIMEOUT fires
 * when the test advances the clock, once the fault upstream has the attempt, not when
 * a busy machine lets real time run out.
 */
import { expect, inject } from "vitest";
import type { ManualClock } from "../../../src/resilience/clock.ts";

const upstream = inject("faultUpstreamUrl");

/** Upstream attempts the fault upstream counted under `key`. */
export async function upstreamAttempts(key: string): Promise<number> {
  return ((await (await fetch(`${upstream}/_control/attempts/${key}`)).json()) as { count: number }).count;
}

/** Yields to the runtime (other requests, I/O) until `ready()`; no real time is measured. */
export async function until(ready: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  expect(await ready()).toBe(true);
}

/** For each of `attempts` attempts: waits until the upstream has it, then lets `ms` pass on the clocks. */
export async function timeOutEachAttempt(
  key: string,
  attempts: number,
  ms: number,
  clocks: () => readonly ManualClock[],
): Promise<void> {
  for (let i = 1; i <= attempts; i++) {
    await until(async () => (await upstreamAttempts(key)) >= i);
    for (const clock of clocks()) clock.advance(ms);
  }
}
