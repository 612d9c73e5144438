/**
 * Loads the Worker's module graph while a test file is collected, before any test runs.
 *
 * The first request into the Worker used to pay for loading (and transforming) every module
 * it imports — about 2 s on an idle machine, over 5 s on a loaded one — inside the first
 * test's 5 s timeout (it failed `test/worker/mcp/transport.test.ts` under load). That is
 * slowness, not a dependence on real time: loading it here keeps every test's time its own.
 */
import "../../src/worker.ts";
