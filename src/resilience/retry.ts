/**
 * `resilientFetch`: one tool call's upstream attempts under the vendor's
 * guard, retries with backoff, and timeouts.
 *
 * Per attempt: admission by the vendor's {@link VendorGuard} (breaker + token,
 * one round trip; a wait for a token happens here), then one upstream attempt
 * bounded by `UPSTREAM_TIMEOUT` and the call's deadline.
 *
 * Retries (`MAX_RETRIES`, default 3; 0 disables): on 429, 500, 502, 503, 504,
 * Cloudflare's "could not connect" 521/522/523, timeouts and network errors.
 * The wait is `Retry-After` when the upstream sends one (seconds or HTTP
 * date), else full jitter: `random(0, min(cap, RETRY_BACKOFF_FACTOR^n))`
 * seconds before retry n (about 2 s, then 4 s with the default factor 2).
 * A wait that would not fit in the remaining `TOOL_EXECUTION_TIMEOUT` is not
 * taken: the call ends with a tool error that says when to retry.
 *
 * POST and PATCH (not idempotent) are retried only when the upstream provably
 * did not process the request — 429, 503 with `Retry-After`, 521/522/523, or a
 * connection error that says "refused" — or when the operation declares an
 * idempotency key header: the gateway then sends one fresh key, the same on
 * every attempt. Workers report a refused connection and a dropped one the same
 * way ("Network connection lost."), so a network error on a POST without a key
 * is not retried.
 *
 * Timeout mapping (httpx → Workers): connect, write and pool timeouts have no
 * Workers equivalent (fetch exposes no phases); `UPSTREAM_TIMEOUT` bounds one
 * whole attempt up to the response headers and — when the `send` function
 * reads the body — the body too (httpx read); `TOOL_EXECUTION_TIMEOUT` bounds
 * the whole call: admission waits, attempts and backoff.
 *
 * Requests the runtime refuses before anything is sent ({@link RequestNotSent}:
 * the send step could not build them) are told apart from network failures:
 * they are not retried and never count for the breaker (the upstream was not
 * involved); the call ends with `invalid_arguments`.
 *
 * @module
 */
import { IDEMPOTENT_METHODS } from "../bundle/http-methods.ts";
import type { HttpMethod, ToolRecipe } from "../bundle/types.ts";
import type { CallStats } from "../call-outcome.ts";
import { type Clock, clockFor } from "../clock.ts";
import type { VendorSettings } from "../config.ts";
import { redactUrlQueries } from "../redact-urls.ts";
import { MAX_RUNTIME_ERROR_CHARS, RequestNotSent } from "../request-refusal.ts";

export { refusalOr } from "../request-refusal.ts";

import { type GuardClient, guardClient } from "./guard-client.ts";
import { deadlineAfter } from "./timeout.ts";
import type { AttemptOutcome, OutcomeKind } from "./vendor-guard.ts";

/** Statuses that are retried (for idempotent methods). */
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504, 521, 522, 523]);
/** Cloudflare edge answers meaning "could not connect to the origin": the request never reached it. */
const NOT_CONNECTED_STATUSES: ReadonlySet<number> = new Set([521, 522, 523]);
/** Upper bound of one backoff wait, whatever the factor and attempt. */
const RETRY_BACKOFF_CAP_MS = 60_000;
const RETRY_BACKOFF_BASE_MS = 1_000;

/** What one attempt gets. */
export interface AttemptInit {
  /** Aborts at the attempt's timeout, the call's deadline, or when the caller cancels. */
  signal: AbortSignal;
  /** Headers the gateway adds (the idempotency key); the request builder's own values win. */
  headers: Record<string, string>;
  /** 1 for the first attempt. */
  attempt: number;
}

/** The response shape the loop inspects. A web `Response` fits. */
export interface AttemptResponse {
  status: number;
  headers: Headers;
}

export type UpstreamFailureCode =
  /** The runtime refused to build the request: nothing was sent. */
  | "invalid_arguments"
  /** The vendor's breaker is open (or busy probing). */
  | "circuit_open"
  /** The vendor's token bucket cannot serve this call within its deadline. */
  | "rate_limited"
  /** The upstream asked to retry later than this call's deadline allows. */
  | "retry_later"
  /** The call's quota `gate` refused it: nothing was sent (the vendor seam answers the quota's own error). */
  | "quota_exceeded"
  | "upstream_timeout"
  | "upstream_unreachable";

export interface UpstreamFailure {
  code: UpstreamFailureCode;
  message: string;
  /** ISO time when retrying makes sense, when known. */
  retryAt?: string;
  /** Last upstream status, when there was one. */
  status?: number;
}

export type ResilientResult<R> =
  /** The upstream answered (success, a non-retried error, or the last retried error). */
  | {
      kind: "response";
      response: R;
      attempts: number;
      /**
       * Call once the body is read, with how that went: stops the answering attempt's
       * `UPSTREAM_TIMEOUT` (it bounds the body too) and, with `deferOutcome`, reports the
       * attempt to the guard — a body that timed out or broke off as the failure it is.
       */
      settle: (bodyFailure?: BodyFailure) => void;
    }
  | { kind: "failure"; failure: UpstreamFailure; attempts: number };

/** How reading an answer's body failed after its headers arrived. */
export interface BodyFailure {
  kind: "timeout" | "network_error";
  message: string;
}

export interface ResilientFetchOptions<R extends AttemptResponse> {
  /** Bindings (`VENDOR_GUARD`) and test switches. */
  env: Env;
  settings: VendorSettings;
  /**
   * What retries may assume about the call: an HTTP method's idempotency (RFC 9110), or the
   * kind's own word (`idempotent`, e.g. an MCP tool's read-only or idempotent annotation).
   */
  tool: Pick<ToolRecipe, "name" | "idempotencyKeyHeader"> &
    ({ method: HttpMethod } | { idempotent: boolean });
  /** Epoch ms (on `clock`) when the whole call must be over. */
  deadline: number;
  waitUntil: (promise: Promise<unknown>) => void;
  /** One upstream attempt. Throws on network errors and aborts. */
  send: (init: AttemptInit) => Promise<R>;
  /**
   * Report the final answer's outcome when the caller `settle`s it (after reading the body)
   * instead of when its headers arrive, so a body that hangs or breaks off counts as a failure.
   */
  deferOutcome?: boolean;
  /** Releases a response that will not be used (defaults to cancelling a `Response` body). */
  discard?: (response: R) => unknown;
  /** The caller's own cancellation (client went away). */
  signal?: AbortSignal;
  /** The authenticated user (for per-caller breakers); absent when client auth is off. */
  caller?: string;
  /** The MCP request the call serves, for log lines; absent for a probe. */
  requestId?: string;
  /** That request's W3C trace id, for the same log lines. */
  traceId?: string;
  clock?: Clock;
  random?: () => number;
  guard?: GuardClient;
  /**
   * A check already under way that must pass before the first attempt is sent (the call's quota
   * admission, src/resilience/quota-client.ts): awaited after the guard's admission, so the two
   * round trips overlap; `false` ends the call with `quota_exceeded` and nothing sent.
   */
  gate?: Promise<boolean>;
  /** The call's stats (src/call-outcome.ts): each attempt sent adds to `attempts` and `upstreamMs`, sets `upstreamStatus`. */
  stats?: CallStats;
}

/**
 * Runs a tool call's upstream attempts. Never throws for upstream trouble:
 * failures come back as `{ kind: "failure" }`. Rethrows only when `send`
 * throws something that is not an upstream failure (a bug), or when the
 * caller's own `signal` aborted.
 */
export async function resilientFetch<R extends AttemptResponse>(
  opts: ResilientFetchOptions<R>,
): Promise<ResilientResult<R>> {
  const { settings, tool, deadline } = opts;
  const clock = opts.clock ?? clockFor(opts.env);
  const random = opts.random ?? Math.random;
  const guard =
    opts.guard ??
    guardClient(opts.env, settings, {
      clock,
      ...(opts.caller === undefined ? {} : { caller: opts.caller }),
      ...(opts.requestId === undefined ? {} : { requestId: opts.requestId }),
      ...(opts.traceId === undefined ? {} : { traceId: opts.traceId }),
    });
  const vendor = settings.vendor;
  const idempotent =
    ("method" in tool ? IDEMPOTENT_METHODS.has(tool.method) : tool.idempotent) ||
    Boolean(tool.idempotencyKeyHeader);
  const headers: Record<string, string> = tool.idempotencyKeyHeader
    ? { [tool.idempotencyKeyHeader]: crypto.randomUUID() }
    : {};
  const upstreamTimeoutMs = settings.upstreamTimeoutSeconds * 1000;

  let report: AttemptOutcome | undefined;
  const recordLater = (outcome: AttemptOutcome) => {
    const reporting = guard.record(outcome);
    if (reporting !== undefined) opts.waitUntil(reporting);
  };

  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) {
      if (report) recordLater(report);
      return { kind: "failure", attempts: attempt - 1, failure: deadlineFailure(vendor, settings) };
    }
    const admission = await guard.admit({
      maxWaitMs: remaining,
      probeLeaseMs: Math.min(upstreamTimeoutMs, remaining),
      ...(report ? { report } : {}),
    });
    report = undefined;
    if (!admission.allowed) {
      const retryAt = iso(clock.now() + admission.retryAfterMs);
      return {
        kind: "failure",
        attempts: attempt - 1,
        failure: rejectionFailure(vendor, admission.reason, retryAt),
      };
    }
    if (attempt === 1 && opts.gate !== undefined && !(await opts.gate)) {
      // Nothing is sent: a probe slot the guard handed out goes back, nothing is counted.
      const message = "a quota refused the call";
      if (admission.probeId !== undefined) {
        recordLater({ kind: "not_sent", tool: tool.name, message, probeId: admission.probeId });
      }
      return { kind: "failure", attempts: 0, failure: { code: "quota_exceeded", message } };
    }
    if (admission.waitMs > 0) await clock.sleep(admission.waitMs, opts.signal);

    const probeId = admission.probeId;
    const attemptMs = Math.min(upstreamTimeoutMs, deadline - clock.now());
    const outcome = await runAttempt(opts, clock, {
      attempt,
      headers: { ...headers },
      timeoutMs: Math.max(1, attemptMs),
    });
    const base: AttemptOutcome = {
      kind: outcome.kind,
      tool: tool.name,
      message: outcome.message,
      ...(outcome.status === undefined ? {} : { status: outcome.status }),
      ...(probeId === undefined ? {} : { probeId }),
    };

    if (outcome.kind === "not_sent") {
      // Frees a probe slot, if this was a probe; counts nothing.
      recordLater(base);
      return {
        kind: "failure",
        attempts: attempt - 1,
        failure: { code: "invalid_arguments", message: `${outcome.message}; nothing was sent to ${vendor}.` },
      };
    }
    const retryable = outcome.kind !== "success" && outcome.kind !== "client_error" && outcome.retryable;
    const allowedForMethod = idempotent || outcome.notProcessed;
    if (!retryable || !allowedForMethod || attempt > settings.maxRetries) {
      if (outcome.response !== undefined && opts.deferOutcome) {
        return answered(outcome.response, outcome.release, attempt, (bodyFailure) =>
          recordLater(bodyFailure ? { ...base, ...bodyFailure } : base),
        );
      }
      recordLater(base);
      return finish(outcome, attempt, vendor, settings);
    }

    const waitMs = outcome.retryAfterMs ?? backoffMs(attempt, settings.retryBackoffFactor, random);
    if (clock.now() + waitMs >= deadline) {
      recordLater(base);
      discard(opts, outcome);
      return {
        kind: "failure",
        attempts: attempt,
        failure: retryLaterFailure(vendor, settings, outcome, waitMs, iso(clock.now() + waitMs)),
      };
    }
    discard(opts, outcome);
    report = base;
    try {
      await clock.sleep(waitMs, opts.signal);
    } catch (error) {
      // The caller gave up during the backoff: the guard still learns how the last attempt went.
      recordLater(base);
      throw error;
    }
  }
}

/** Full jitter: uniform in [0, min(cap, factor^retry seconds)). `retry` is 1 for the first retry. */
export function backoffMs(retry: number, factor: number, random: () => number): number {
  const ceiling = Math.min(RETRY_BACKOFF_CAP_MS, RETRY_BACKOFF_BASE_MS * factor ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` in milliseconds from `now`: delta-seconds or an HTTP date.
 * `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

interface Classified<R> {
  kind: OutcomeKind;
  status?: number;
  message: string;
  retryable: boolean;
  /** The upstream provably did not process the request (safe to retry a POST). */
  notProcessed: boolean;
  retryAfterMs?: number;
  response?: R;
  /** Clears the attempt's timer; set with `response`, whose body it still bounds. */
  release?: () => void;
}

async function runAttempt<R extends AttemptResponse>(
  opts: ResilientFetchOptions<R>,
  clock: Clock,
  a: { attempt: number; headers: Record<string, string>; timeoutMs: number },
): Promise<Classified<R>> {
  // Cleared when the attempt ends, or by `release` once its body is read: see timeout.ts.
  const timeout = deadlineAfter(a.timeoutMs, opts.signal, clock);
  const stats = opts.stats;
  const started = stats === undefined ? 0 : clock.now();
  let response: R;
  try {
    response = await opts.send({ signal: timeout.signal, headers: a.headers, attempt: a.attempt });
  } catch (error) {
    timeout.clear();
    // A request the runtime refused to build was never sent: not an attempt.
    if (stats !== undefined && !(error instanceof RequestNotSent)) {
      stats.attempts++;
      stats.upstreamMs += clock.now() - started;
    }
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (error instanceof RequestNotSent) {
      return { kind: "not_sent", message: error.message, retryable: false, notProcessed: true };
    }
    if (timeout.timedOut) {
      return {
        kind: "timeout",
        message: `no answer within ${formatSeconds(a.timeoutMs)}`,
        retryable: true,
        notProcessed: false,
      };
    }
    if (!isNetworkError(error)) throw error;
    const refused = /refused/i.test(String((error as Error).message));
    return {
      kind: "network_error",
      message: refused
        ? "connection refused"
        : `network error: ${redactUrlQueries((error as Error).message, MAX_RUNTIME_ERROR_CHARS)}`,
      retryable: true,
      notProcessed: refused,
    };
  }
  const status = response.status;
  if (stats !== undefined) {
    stats.attempts++;
    stats.upstreamStatus = status;
    stats.upstreamMs += clock.now() - started;
  }
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), clock.now());
  const kind: OutcomeKind =
    status === 429
      ? "rate_limited"
      : status >= 500
        ? "server_error"
        : status >= 400
          ? "client_error"
          : "success";
  return {
    kind,
    status,
    message: kind === "success" ? `answered ${status}` : `upstream answered ${status}`,
    retryable: RETRY_STATUSES.has(status),
    notProcessed:
      status === 429 || (status === 503 && retryAfterMs !== undefined) || NOT_CONNECTED_STATUSES.has(status),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    response,
    release: timeout.clear,
  };
}

/** fetch rejects with a TypeError or a workerd `Error` flagged `retryable`/`remote` for network trouble. */
function isNetworkError(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  if (!(error instanceof Error)) return false;
  const flags = error as Error & { retryable?: unknown; remote?: unknown };
  return (
    flags.retryable === true ||
    flags.remote === true ||
    /network|connection|socket|dns|refused|reset/i.test(error.message)
  );
}

function finish<R>(
  outcome: Classified<R>,
  attempts: number,
  vendor: string,
  settings: VendorSettings,
): ResilientResult<R> {
  if (outcome.response !== undefined) return answered(outcome.response, outcome.release, attempts);
  const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
  if (outcome.kind === "timeout") {
    return {
      kind: "failure",
      attempts,
      failure: {
        code: "upstream_timeout",
        message: `${vendor} did not answer within UPSTREAM_TIMEOUT (${formatSeconds(settings.upstreamTimeoutSeconds * 1000)}) after ${tries}.`,
      },
    };
  }
  return {
    kind: "failure",
    attempts,
    failure: {
      code: "upstream_unreachable",
      message: `${vendor} could not be reached after ${tries}: ${outcome.message}.`,
    },
  };
}

/** The loop's answer; `settle` works once (a second call changes nothing). */
function answered<R>(
  response: R,
  release: (() => void) | undefined,
  attempts: number,
  report?: (bodyFailure: BodyFailure | undefined) => void,
): ResilientResult<R> {
  let settled = false;
  return {
    kind: "response",
    response,
    attempts,
    settle: (bodyFailure) => {
      if (settled) return;
      settled = true;
      release?.();
      report?.(bodyFailure);
    },
  };
}

function rejectionFailure(
  vendor: string,
  reason: "circuit_open" | "probe_in_flight" | "rate_limited",
  retryAt: string,
): UpstreamFailure {
  if (reason === "rate_limited") {
    return {
      code: "rate_limited",
      message: `The gateway's rate limit for ${vendor} cannot serve this call within its time limit. Retry at ${retryAt}.`,
      retryAt,
    };
  }
  const why =
    reason === "circuit_open"
      ? `${vendor} is failing, so the gateway stopped calling it (circuit breaker open)`
      : `${vendor} is recovering and the gateway is testing it with a probe call (circuit breaker half-open)`;
  return { code: "circuit_open", message: `${why}. It will try again at ${retryAt}.`, retryAt };
}

function retryLaterFailure<R>(
  vendor: string,
  settings: VendorSettings,
  outcome: Classified<R>,
  waitMs: number,
  retryAt: string,
): UpstreamFailure {
  const what = outcome.status === undefined ? outcome.message : `answered ${outcome.status}`;
  const asked = outcome.retryAfterMs === undefined ? "the next retry" : "its Retry-After";
  return {
    code: "retry_later",
    message: `${vendor} ${what}; waiting ${formatSeconds(waitMs)} for ${asked} would exceed TOOL_EXECUTION_TIMEOUT (${formatSeconds(settings.toolExecutionTimeoutSeconds * 1000)}). Retry at ${retryAt}.`,
    retryAt,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
  };
}

function deadlineFailure(vendor: string, settings: VendorSettings): UpstreamFailure {
  return {
    code: "upstream_timeout",
    message: `The call to ${vendor} ran out of its TOOL_EXECUTION_TIMEOUT (${formatSeconds(settings.toolExecutionTimeoutSeconds * 1000)}).`,
  };
}

function discard<R extends AttemptResponse>(opts: ResilientFetchOptions<R>, outcome: Classified<R>): void {
  outcome.release?.();
  const response = outcome.response;
  if (response === undefined) return;
  try {
    if (opts.discard) {
      void Promise.resolve(opts.discard(response)).catch(() => {});
      return;
    }
    const body = (response as { body?: unknown }).body;
    if (body instanceof ReadableStream) void body.cancel().catch(() => {});
  } catch {
    // best effort: an unreleased body is only garbage
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
