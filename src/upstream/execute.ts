/**
 * The OpenAPI vendor kind's tool call, against the vendor's upstream API:
 * validate arguments → build the request from the recipe → attach upstream
 * credentials → send through the vendor guard with retries (one attempt at a time;
 * redirects under the base URL only) → convert the response. The whole call is
 * bounded by `ctx.deadline`. Every credential attached is scrubbed from the outcome
 * (src/redaction/scrub.ts).
 *
 * `executeToolCall` never throws: every failure is a typed {@link ToolFailure}
 * (src/tool-error.ts) that the MCP edge turns into the result the model reads.
 *
 * @module
 */
import type { CredentialSource } from "../auth/upstream-credentials.ts";
import { resolveBaseUrl } from "../base-url.ts";
import type { ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { type CallStats, utf8Length } from "../call-outcome.ts";
import { type Clock, clockFor } from "../clock.ts";
import type { VendorSettings } from "../config.ts";
import { log } from "../log.ts";
import { redactUrlQueries } from "../redact-urls.ts";
import { SecretScrubber } from "../redaction/scrub.ts";
import { type BodyFailure, resilientFetch, type UpstreamFailure } from "../resilience/retry.ts";
import { type Deadline, deadlineAfter } from "../resilience/timeout.ts";
import { validate } from "../schema/validate.ts";
import { failed, invalidArguments, ToolError, type ToolFailure, type ToolOutcome } from "../tool-error.ts";
import { type TraceContext, upstreamTraceHeaders } from "../trace-context.ts";
import { applyAuth, credentialParams } from "./auth.ts";
import {
  assertSendable,
  assertUnderBase,
  buildRequest,
  type PreparedRequest,
  withGatewayHeaders,
} from "./request.ts";
import { responseToResult } from "./response.ts";
import { sendUpstream } from "./send.ts";

export interface ToolCallContext {
  /** Bindings, vars and secrets. */
  env: Env;
  /** The vendor; its base URL comes from `resolveBaseUrl(env, bundle)`. */
  bundle: VendorBundle;
  tool: ToolRecipe;
  /** Raw MCP `arguments`, untrusted. */
  args: unknown;
  /** Epoch ms (on `clock`): the `TOOL_EXECUTION_TIMEOUT` bound for the whole call. */
  deadline: number;
  /** The call's time source (deadline, attempt timeouts, waits, guard); default `clockFor(env)`. */
  clock?: Clock;
  /** The authenticated user, for the vendor guard's per-caller breaker; absent when client auth is off. */
  caller?: string;
  /** The MCP request's id, for log lines; absent for a health probe. */
  requestId?: string;
  /** The MCP request's W3C trace: each attempt carries it on with a new span id; absent for a probe. */
  trace?: TraceContext;
  /** Where upstream credentials come from (env secrets, or per-user/OAuth sources). */
  credentials: CredentialSource;
  waitUntil: (p: Promise<unknown>) => void;
  /** Resolved settings for this vendor (`vendorSettings(loadSettings(env), bundle)`). */
  settings: VendorSettings;
  /** Injectable for tests and for the resilience wrapper; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** The quota admission under way (see `VendorToolCall.quotaGate`). */
  quotaGate?: Promise<boolean>;
  /** The call's stats for its `tool_call` event: attempts (retry loop), body bytes, upstream time. */
  stats?: CallStats;
}

/**
 * Prepares the upstream request for a call: validation, request building, auth. Answers the
 * vendor's base URL too, which the send step's redirect rule needs.
 */
async function prepareToolRequest(
  ctx: Pick<ToolCallContext, "env" | "bundle" | "tool" | "args" | "credentials">,
  secrets: SecretScrubber,
): Promise<{ req: PreparedRequest; base: URL }> {
  const args = ctx.args ?? {};
  const outcome = validate(ctx.tool.inputSchema, args, {
    coerceJsonStrings: true,
    strictRoot: true,
    exactIntegers: true,
  });
  if (!outcome.valid) throw new ToolError("invalid_arguments", "Invalid arguments", outcome.issues);
  const base = resolveBaseUrl(ctx.env, ctx.bundle, ctx.tool);
  // Fixed arguments are not in the listed schema, so `strictRoot` has refused a client that sent
  // one; they were checked against their own schemas when the bundle was compiled.
  const fixed = ctx.tool.fixed;
  const valid = outcome.value as Record<string, unknown>;
  const req = buildRequest(
    ctx.tool,
    fixed === undefined ? valid : { ...valid, ...fixed },
    base,
    credentialParams(ctx.tool, ctx.bundle),
  );
  await applyAuth(req, ctx.tool, ctx.bundle, ctx.credentials, secrets);
  // Auth may have added a query parameter: check the final URL once more before anything is sent.
  assertUnderBase(req.url, base);
  // Sizes last: auth adds headers and query parameters too.
  assertSendable(req);
  return { req, base };
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}

/** Error text from the runtime, without any URL query (it may hold an API key). */
function safeMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return redactUrlQueries(raw, 300);
}

export async function executeToolCall(ctx: ToolCallContext): Promise<ToolOutcome> {
  const secrets = new SecretScrubber();
  if (ctx.stats !== undefined) ctx.stats.secrets = secrets;
  const outcome = await runToolCall(ctx, secrets);
  // Bodies were scrubbed as they were read; a failure also carries upstream text from elsewhere
  // (status lines, redirect targets, runtime errors), so all of its text is scrubbed. It is small.
  return outcome.ok ? outcome : { ok: false, failure: scrubFailure(outcome.failure, secrets) };
}

function scrubFailure(failure: ToolFailure, secrets: SecretScrubber): ToolFailure {
  if (secrets.empty) return failure;
  const { content, ...text } = failure;
  const scrubbed = secrets.scrubValue(text);
  if (content === undefined) return scrubbed;
  return {
    ...scrubbed,
    content: content.map((c) => (c.type === "text" ? { ...c, text: secrets.scrub(c.text) } : c)),
  };
}

/** A runtime error whose text may quote the request: scrubbed in place, its flags (`retryable`, `remote`) kept. */
function scrubError(err: unknown, secrets: SecretScrubber): unknown {
  if (err instanceof Error && !secrets.empty) {
    const message = secrets.scrub(err.message);
    if (message !== err.message) {
      try {
        err.message = message;
      } catch {
        return new Error(message);
      }
    }
  }
  return err;
}

async function runToolCall(ctx: ToolCallContext, secrets: SecretScrubber): Promise<ToolOutcome> {
  const timeoutSeconds = ctx.settings.toolExecutionTimeoutSeconds;
  const timeoutResult = () =>
    failed(
      "upstream_timeout",
      `The tool call did not finish within TOOL_EXECUTION_TIMEOUT (${timeoutSeconds} s); the upstream request was cancelled`,
    );
  const clock = ctx.clock ?? clockFor(ctx.env);
  try {
    const { req, base } = await prepareToolRequest(ctx, secrets);
    if (ctx.stats !== undefined && req.body !== undefined) {
      ctx.stats.requestBytes = typeof req.body === "string" ? utf8Length(req.body) : req.body.byteLength;
    }
    const remaining = ctx.deadline - clock.now();
    if (remaining <= 0) return timeoutResult();
    // Wakes first when a first attempt's UPSTREAM_TIMEOUT could end: attempts ride its timer.
    const callDeadline = deadlineAfter(
      remaining,
      undefined,
      clock,
      ctx.settings.upstreamTimeoutSeconds * 1000,
    );
    try {
      return await sendAndRead(ctx, clock, req, base, secrets, callDeadline, timeoutResult);
    } finally {
      callDeadline.clear();
    }
  } catch (err) {
    if (err instanceof ToolError) {
      if (err.code === "invalid_arguments") {
        return { ok: false, failure: invalidArguments(ctx.tool.name, err.issues ?? []) };
      }
      return failed(err.code, err.message);
    }
    if (isTimeout(err)) return timeoutResult();
    log({
      event: "tool_call_failed",
      requestId: ctx.requestId,
      ...(ctx.trace === undefined ? {} : { traceId: ctx.trace.traceId }),
      vendor: ctx.bundle.vendor,
      tool: ctx.tool.name,
      error: err instanceof Error ? err.name : "unknown",
      message: secrets.scrub(safeMessage(err)),
    });
    return failed("internal_error", "The gateway failed while executing the tool call");
  }
}

/** The resilient send and the response reading, both bounded by the call's deadline. */
async function sendAndRead(
  ctx: ToolCallContext,
  clock: Clock,
  req: PreparedRequest,
  base: URL,
  secrets: SecretScrubber,
  deadline: Deadline,
  timeoutResult: () => ToolOutcome,
): Promise<ToolOutcome> {
  const { maxResponseBytes, maxBinaryResponseBytes } = ctx.settings;
  let response: Response;
  let settle: (bodyFailure?: BodyFailure) => void;
  try {
    // Resilience (src/resilience/retry.ts): vendor guard admission, retries with backoff and a
    // per-attempt UPSTREAM_TIMEOUT around the single-attempt sendUpstream.
    const outcome = await Promise.race([
      resilientFetch({
        env: ctx.env,
        settings: ctx.settings,
        tool: ctx.tool,
        deadline: ctx.deadline,
        waitUntil: ctx.waitUntil,
        signal: deadline.signal,
        clock,
        ...(ctx.caller === undefined ? {} : { caller: ctx.caller }),
        ...(ctx.requestId === undefined ? {} : { requestId: ctx.requestId }),
        ...(ctx.trace === undefined ? {} : { traceId: ctx.trace.traceId }),
        ...(ctx.stats === undefined ? {} : { stats: ctx.stats }),
        deferOutcome: true,
        ...(ctx.quotaGate === undefined ? {} : { gate: ctx.quotaGate }),
        // A runtime error's text becomes the breaker's last error (/health/vendors) and the result.
        send: (attempt) =>
          sendUpstream(withGatewayHeaders(req, attemptHeaders(attempt.headers, ctx.trace)), {
            fetch: ctx.fetch ?? fetch,
            signal: attempt.signal,
            base,
            onError: (err) => scrubError(err, secrets),
          }),
      }),
      deadline.aborted,
    ]);
    if (outcome.kind === "failure") return upstreamFailure(outcome.failure, outcome.attempts);
    response = outcome.response;
    settle = outcome.settle;
  } catch (err) {
    if (isTimeout(err)) return timeoutResult();
    return failed(
      "upstream_unreachable",
      `Could not reach the upstream at ${req.url.origin}: ${safeMessage(err)}`,
    );
  }
  // After a followed redirect the response has its own URL; parse it only then.
  const url = response.url && response.url !== req.url.href ? new URL(response.url) : req.url;
  // The body is part of the upstream's time (the attempt's own time ended with its headers).
  const readStarted = clock.now();
  const reading = responseToResult(response, {
    stats: ctx.stats,
    tool: ctx.tool,
    url,
    base,
    maxResponseBytes,
    maxBinaryResponseBytes,
    clock,
    policy: ctx,
    secrets,
  });
  reading.catch(() => {});
  // How the body went decides what the guard hears about this attempt (see `deferOutcome`).
  let bodyFailure: BodyFailure | undefined;
  try {
    return await Promise.race([reading, deadline.aborted]);
  } catch (err) {
    void response.body?.cancel().catch(() => {});
    if (isTimeout(err)) {
      bodyFailure = { kind: "timeout", message: "the response body did not arrive in time" };
      if (deadline.signal.aborted) return timeoutResult();
      // The attempt's UPSTREAM_TIMEOUT stays on the body until it is read.
      return failed(
        "upstream_timeout",
        `The response body from ${req.url.origin} did not arrive within UPSTREAM_TIMEOUT (${ctx.settings.upstreamTimeoutSeconds} s); the request was cancelled`,
        { status: response.status },
      );
    }
    if (!(err instanceof TypeError)) throw err;
    // The stream broke mid-body ("Network connection lost").
    bodyFailure = {
      kind: "network_error",
      message: `network error while reading the body: ${secrets.scrub(safeMessage(err))}`,
    };
    return failed(
      "upstream_unreachable",
      `The connection to ${req.url.origin} failed while reading the response: ${safeMessage(err)}`,
      { status: response.status },
    );
  } finally {
    if (ctx.stats !== undefined) ctx.stats.upstreamMs += clock.now() - readStarted;
    settle(bodyFailure);
  }
}

/** A failure without a usable upstream answer (breaker, bucket, retries spent): says when to retry. */
function upstreamFailure(failure: UpstreamFailure, attempts: number): ToolOutcome {
  return failed(failure.code, failure.message, {
    ...(failure.status === undefined ? {} : { status: failure.status }),
    extra: { attempts, ...(failure.retryAt === undefined ? {} : { retryAt: failure.retryAt }) },
  });
}

/**
 * One attempt's gateway headers: the idempotency key, and the trace continued with a new span id.
 * A `traceparent` or `tracestate` header argument of the operation wins (withGatewayHeaders).
 */
function attemptHeaders(
  headers: Record<string, string>,
  trace: TraceContext | undefined,
): Record<string, string> {
  return trace === undefined ? headers : { ...headers, ...upstreamTraceHeaders(trace) };
}
