/**
 * Bench seam for `src/resilience/retry.ts`: `resilientFetch` answers the recorded upstream
 * response at once, without the vendor guard, retries, attempt timeout or a send. What
 * runs: the tool executor around it (settings, deadline, credentials, arguments, request,
 * upstream auth, then response reading, validation, sanitization, the result). The rest of
 * the module (`refusalOr`, …) stays the real one.
 */
import type * as real from "../../../src/resilience/retry.ts";
import { recordedUpstreamResponse } from "./recorded.ts";

export const resilientFetch = (async <R extends real.AttemptResponse>(
  _opts: real.ResilientFetchOptions<R>,
): Promise<real.ResilientResult<R>> => ({
  kind: "response",
  // The executor sends web Responses (R = Response).
  response: recordedUpstreamResponse() as unknown as R,
  attempts: 1,
  settle: () => {},
})) satisfies typeof real.resilientFetch;
