/**
 * Every request the Worker serves in a test gets its own virtual clock (test/support/clocks.ts):
 * backoff and token waits are skipped instead of slept, while timeouts still run on real time.
 *
 * Through the Worker's one clock seam, `GATEWAY_TEST_CLOCK` (src/clock.ts), set on the shared test
 * env: vitest.config.ts bindings can only hold strings and JSON, not a clock factory, and the
 * plugin hands this same `env` object to the Worker for `exports.default.fetch`/`SELF` requests.
 * Envs a test builds from it (`{ ...env, ... }`) inherit the factory unless they set their own.
 */
import { env } from "cloudflare:workers";
import { virtualClock } from "./clocks.ts";

Object.assign(env, { GATEWAY_TEST_CLOCK: virtualClock });
