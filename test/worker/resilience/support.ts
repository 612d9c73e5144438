/**
 * Resilience test support: requests into the Worker entry with an env of the test's
 * choosing, and moving its manual clocks (test/support/clocks.ts). A hanging upstream's
 * UPSTREAM_TIMEOUT fires when the test advances the clock, once the fault upstream has
 * the attempt, not when a busy machine lets real time run out.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { expect, inject } from "vitest";
import worker from "../../../src/worker.ts";
import type { ManualClock } from "../../support/clocks.ts";
import { BASE, legacyRequest } from "../mcp/helpers.ts";

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

/** Starts one request into the Worker entry; `done` settles once its waitUntil work (guard reports) is over too. */
export function startRequest(env: object, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const response = worker.fetch(
    new Request(`${BASE}${path}`, init) as Parameters<typeof worker.fetch>[0],
    env as Env,
    ctx,
  );
  return { response, done: response.then(() => waitOnExecutionContext(ctx)) };
}

/** The POST of one 2025-era `tools/call`. */
export function toolsCallInit(name: string, args: Record<string, unknown>): RequestInit {
  const request = legacyRequest("tools/call", { name, arguments: args });
  return {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...request.headers },
    body: JSON.stringify(request.message),
  };
}
