/**
 * One tool call to an upstream MCP server: validate the arguments against the tool's listed
 * schema, add the operator's fixed arguments, send `tools/call` through the vendor guard
 * (breaker, token bucket, retries only where the call provably did not run or the tool says
 * it is read-only or idempotent) within the call's deadline, and make the answer safe to hand
 * on (credentials scrubbed, sanitised, bounded in size).
 *
 * What counts against the breaker: transport failures, 5xx and timeouts. A JSON-RPC error or
 * an `isError` result is the tool's answer: the upstream is healthy.
 *
 * @module
 */

import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller.ts";
import type { UpstreamMcpAuthorizer } from "../auth/mcp-credentials.ts";
import type { CredentialSource } from "../auth/upstream-credentials.ts";
import { resolveMcpUrl } from "../base-url.ts";
import type { McpToolRecipe, VendorBundle } from "../bundle/types.ts";
import type { CallStats } from "../call-outcome.ts";
import type { Clock } from "../clock.ts";
import type { VendorSettings } from "../config.ts";
import { errorText, log } from "../log.ts";
import { SecretScrubber } from "../redaction/scrub.ts";
import { resilientFetch, type UpstreamFailure } from "../resilience/retry.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import { validate } from "../schema/validate.ts";
import {
  failed,
  invalidArguments,
  succeeded,
  ToolError,
  type ToolFailure,
  type ToolOutcome,
} from "../tool-error.ts";
import type { TraceContext } from "../trace-context.ts";
import type { McpConnection, McpExchange, McpRequestOptions } from "./connection.ts";
import {
  type ClientInput,
  relayedCapabilities,
  relayedInputRequired,
  retryParams,
  type StateBinding,
} from "./input-required.ts";
import { safeResult } from "./safe-content.ts";
import { progressRelay, refuseServerRequest, SERVER_REQUEST_REFUSAL } from "./server-requests.ts";
import { sessionOwner, upstreamConnection } from "./target.ts";
import { forgetToolList } from "./tool-list.ts";

/** JSON-RPC "invalid params": what MCP servers answer for an unknown tool. */
const JSONRPC_INVALID_PARAMS = -32602;

/** What the kind's `callTool` is handed (the seam's `VendorToolCall`, typed here without importing it). */
export interface McpToolCall {
  env: Env;
  bundle: VendorBundle;
  tool: McpToolRecipe;
  args: unknown;
  deadline: number;
  clock: Clock;
  caller?: string;
  callerInfo?: Caller;
  requestId?: string;
  /** The MCP request's W3C trace, continued on each upstream request; absent for a health probe. */
  trace?: TraceContext;
  credentials: CredentialSource;
  waitUntil: (promise: Promise<unknown>) => void;
  settings: VendorSettings;
  /** Injectable for tests; default the global `fetch`. */
  fetch?: typeof fetch;
  /** A 2026-07-28 client's capabilities and multi round-trip retry fields (input-required.ts). */
  input?: ClientInput;
  /** The client takes progress: the upstream's, shape-checked, without its token. */
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** The quota admission under way (see `VendorToolCall.quotaGate`). */
  quotaGate?: Promise<boolean>;
  /** The call's stats for its `tool_call` event: attempts (retry loop) and the `tools/call` body sizes. */
  stats?: CallStats;
}

/** An answered attempt as the retry loop sees it: a status and the exchange behind it. */
interface AnsweredAttempt {
  status: number;
  headers: Headers;
  exchange: McpExchange;
}

const NO_HEADERS = new Headers();

/** Runs one call. Never throws. */
export async function callMcpTool(call: McpToolCall): Promise<ToolOutcome> {
  const { bundle, tool } = call;
  const secrets = new SecretScrubber();
  if (call.stats !== undefined) call.stats.secrets = secrets;
  let authorizer: UpstreamMcpAuthorizer | undefined;
  try {
    const args = checkedArguments(tool, call.args);
    if (!args.ok) return args;
    const url = resolveMcpUrl(call.env, bundle);
    const upstream = upstreamConnection({
      env: call.env,
      bundle,
      url,
      caller: call.callerInfo,
      owner: sessionOwner(call.callerInfo),
      clock: call.clock,
      waitUntil: call.waitUntil,
      ...(call.fetch === undefined ? {} : { fetch: call.fetch }),
      ...(call.trace === undefined ? {} : { trace: call.trace }),
    });
    const { connection, authorizer: attached } = upstream;
    authorizer = attached;
    const scrub = (text: string) => {
      for (const secret of attached.secrets()) secrets.add(secret);
      return secrets.scrub(text);
    };
    const binding: StateBinding = {
      method: "tools/call",
      vendor: bundle.vendor,
      target: tool.upstreamName,
      args: args.value,
      owner: sessionOwner(call.callerInfo),
    };
    const retry = await retryParams(call.env, call.input, binding, call.clock);
    if (retry === "invalid") {
      return failed(
        "invalid_arguments",
        "The requestState of this retry is invalid, expired or belongs to another call: call the tool again without inputResponses and requestState. Nothing was sent upstream.",
      );
    }
    const params = { name: tool.upstreamName, arguments: args.value, ...retry };
    const outcome = await send(call, connection, params, scrub, binding);
    for (const secret of authorizer.secrets()) secrets.add(secret);
    return scrubbed(withCredentialHint(outcome, authorizer), secrets);
  } catch (error) {
    for (const secret of authorizer?.secrets() ?? []) secrets.add(secret);
    if (error instanceof ToolError) return failed(error.code, secrets.scrub(error.message));
    const message = secrets.scrub(errorText(error));
    log({
      event: "tool_call_failed",
      requestId: call.requestId,
      ...(call.trace === undefined ? {} : { traceId: call.trace.traceId }),
      vendor: bundle.vendor,
      tool: tool.name,
      error: "internal_error",
      message,
    });
    return failed("internal_error", `The gateway failed to call ${bundle.vendor}'s ${tool.name}.`);
  }
}

/** A refused credential's failure says how the user fixes it (the credentials page). */
export function withCredentialHint<T extends { ok: true } | { ok: false; failure: ToolFailure }>(
  outcome: T,
  authorizer: UpstreamMcpAuthorizer,
): T {
  if (outcome.ok || (outcome.failure.status !== 401 && outcome.failure.status !== 403)) return outcome;
  const hint = authorizer.hint();
  return hint === undefined || outcome.failure.reconnect !== undefined
    ? outcome
    : ({ ok: false, failure: { ...outcome.failure, reconnect: hint } } as T);
}

/** The arguments as validated against the listed schema, with the fixed ones merged in. */
function checkedArguments(
  tool: McpToolRecipe,
  raw: unknown,
):
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; failure: ReturnType<typeof invalidArguments> } {
  const outcome = validate(tool.inputSchema, raw ?? {}, { coerceJsonStrings: true, exactIntegers: true });
  if (!outcome.valid) return { ok: false, failure: invalidArguments(tool.name, outcome.issues) };
  const value = outcome.value as Record<string, unknown>;
  return { ok: true, value: tool.fixed === undefined ? value : { ...value, ...tool.fixed } };
}

/** What sending one request through the vendor guard needs (a tool call, a resource or prompt request). */
export type GuardedRequest = Pick<
  McpToolCall,
  | "env"
  | "bundle"
  | "deadline"
  | "clock"
  | "caller"
  | "requestId"
  | "trace"
  | "waitUntil"
  | "settings"
  | "quotaGate"
  | "stats"
>;

/** The upstream's answer to one guarded request, or why there is none. */
export type GuardedExchange = { ok: true; exchange: McpExchange } | { ok: false; failure: ToolFailure };

/**
 * Sends `method` through the vendor guard (breaker, token bucket, retries when `guard` says the
 * request may be repeated) within `request.deadline`. Throws only what it did not foresee.
 */
export async function sendGuarded(
  request: GuardedRequest,
  connection: McpConnection,
  method: string,
  params: Record<string, unknown>,
  guard: { name: string; idempotent: boolean },
  options: Omit<McpRequestOptions, "signal"> = {},
): Promise<GuardedExchange> {
  const { clock, settings } = request;
  const deadline = deadlineAfter(Math.max(1, request.deadline - clock.now()), undefined, clock);
  try {
    const result = await Promise.race([
      resilientFetch<AnsweredAttempt>({
        env: request.env,
        settings,
        tool: guard,
        deadline: request.deadline,
        waitUntil: request.waitUntil,
        signal: deadline.signal,
        clock,
        ...(request.caller === undefined ? {} : { caller: request.caller }),
        ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
        ...(request.trace === undefined ? {} : { traceId: request.trace.traceId }),
        ...(request.quotaGate === undefined ? {} : { gate: request.quotaGate }),
        ...(request.stats === undefined ? {} : { stats: request.stats }),
        // The whole answer is read inside the attempt: nothing is left to release.
        discard: () => {},
        send: async (attempt) => {
          const exchange = await connection.request(method, params, {
            ...options,
            signal: attempt.signal,
            ...(request.stats === undefined ? {} : { bytes: request.stats }),
          });
          return exchange.kind === "http"
            ? { status: exchange.status, headers: exchange.headers, exchange }
            : { status: 200, headers: NO_HEADERS, exchange };
        },
      }),
      deadline.aborted,
    ]);
    if (result.kind === "failure") return guardFailure(result.failure, result.attempts);
    result.settle();
    return { ok: true, exchange: result.response.exchange };
  } catch (error) {
    if (deadline.timedOut) {
      return failed(
        "upstream_timeout",
        `${request.bundle.vendor} did not answer within the ${settings.toolExecutionTimeoutSeconds} s limit.`,
      );
    }
    throw error;
  } finally {
    deadline.clear();
  }
}

async function send(
  call: McpToolCall,
  connection: McpConnection,
  params: Record<string, unknown>,
  scrub: (text: string) => string,
  binding: StateBinding,
) {
  const { tool } = call;
  const capabilities = relayedCapabilities(call.env, call.input);
  const effects = effectsOf(tool);
  const progress = call.onProgress;
  const sent = await sendGuarded(
    call,
    connection,
    "tools/call",
    params,
    { name: tool.name, idempotent: effects.readOnly || effects.idempotent },
    {
      onServerRequest: refuseServerRequest(call.bundle.vendor, call.requestId, call.trace?.traceId),
      ...(progress === undefined ? {} : { onProgress: progressRelay(progress, scrub) }),
      ...(capabilities === undefined ? {} : { clientCapabilities: capabilities }),
    },
  );
  return sent.ok ? answer(call, sent.exchange, binding) : sent;
}

function guardFailure(failure: UpstreamFailure, attempts: number): { ok: false; failure: ToolFailure } {
  return failed(failure.code, failure.message, {
    ...(failure.status === undefined ? {} : { status: failure.status }),
    extra: { attempts, ...(failure.retryAt === undefined ? {} : { retryAt: failure.retryAt }) },
  });
}

/** How much of an upstream's HTTP error body a failure quotes. */
const MAX_ERROR_BODY_CHARS = 500;

async function answer(call: McpToolCall, exchange: McpExchange, binding: StateBinding): Promise<ToolOutcome> {
  if (exchange.kind !== "result") {
    // The upstream no longer has the tool: the next listing asks it again.
    if (exchange.kind === "error" && exchange.error.code === JSONRPC_INVALID_PARAMS) {
      forgetToolList(call.bundle, call.callerInfo);
    }
    return exchangeFailure(call.bundle.vendor, exchange);
  }
  if (isInputRequired(exchange.result)) {
    const relayed = await relayedInputRequired(
      call.env,
      call.input,
      exchange.result,
      binding,
      call.clock,
      call.settings.maxResponseBytes,
    );
    // Handed to a 2026-07-28 client as the call's result (the SDK sends it as such): input-required.ts.
    if (relayed !== undefined) return succeeded(relayed as unknown as CallToolResult);
    return inputRequiredFailure(call.bundle.vendor);
  }
  return checkedStructure(call, safeResult(exchange.result, call.settings));
}

/**
 * A 2026-07-28 `InputRequiredResult` (multi round-trip: the server asks the client for input and
 * expects the request again with `inputResponses`): relayed to a 2026-07-28 client that can answer
 * it (input-required.ts), refused otherwise.
 */
export function isInputRequired(result: Record<string, unknown>): boolean {
  return result["resultType"] === "input_required";
}

/** The failure for an upstream that asked for input the gateway cannot relay. */
export function inputRequiredFailure(vendor: string): { ok: false; failure: ToolFailure } {
  return failed(
    "upstream_error",
    `${vendor} asked for input from the user (multi round-trip request); ${SERVER_REQUEST_REFUSAL}.`,
  );
}

/** An upstream's JSON-RPC error or HTTP status as a failure (bounded quotes, no HTML). */
export function exchangeFailure(
  vendor: string,
  exchange: Exclude<McpExchange, { kind: "result" }>,
): { ok: false; failure: ToolFailure } {
  if (exchange.kind === "error") {
    const { code, message, data } = exchange.error;
    return failed(
      "upstream_error",
      `${vendor} refused the call: ${String(message).slice(0, MAX_ERROR_BODY_CHARS)}`,
      {
        extra: { rpcError: { code, message, ...(data === undefined ? {} : { data }) } },
      },
    );
  }
  const html = /^\s*</.test(exchange.body);
  return failed("upstream_error", `${vendor} answered HTTP ${exchange.status}.`, {
    status: exchange.status,
    ...(html || exchange.body === ""
      ? {}
      : { extra: { details: exchange.body.slice(0, MAX_ERROR_BODY_CHARS) } }),
  });
}

/** How many schema mismatches a failure or log line quotes. */
const MAX_REPORTED_MISMATCHES = 5;

/**
 * `RESPONSE_VALIDATION_MODE` for MCP tools: `structuredContent` against the listed `outputSchema`
 * (clients refuse a result that breaks it). `warn` logs the drift; `strict` fails the call.
 */
function checkedStructure(call: McpToolCall, result: CallToolResult): ToolOutcome {
  const schema = call.tool.outputSchema;
  const mode = call.settings.responseValidationMode;
  if (mode === "off" || schema === undefined || result.isError === true) return succeeded(result);
  const check = validate(schema, result.structuredContent ?? null, { maxIssues: MAX_REPORTED_MISMATCHES });
  if (check.valid) return succeeded(result);
  const mismatches = check.issues.map((issue) => `at ${issue.pointer || "(root)"}: ${issue.message}`);
  if (mode === "strict") {
    return failed(
      "response_schema_mismatch",
      `${call.bundle.vendor}'s ${call.tool.name} answered with structured content that breaks its output schema.`,
      { extra: { mismatches } },
    );
  }
  log({
    event: "response_drift",
    requestId: call.requestId,
    vendor: call.bundle.vendor,
    tool: call.tool.name,
    status: 200,
    summary: mismatches.join("; "),
  });
  return succeeded(result);
}

function scrubbed(outcome: ToolOutcome, secrets: SecretScrubber): ToolOutcome {
  if (secrets.empty) return outcome;
  return outcome.ok
    ? succeeded(secrets.scrubValue(outcome.result))
    : { ok: false, failure: secrets.scrubValue(outcome.failure) };
}

/**
 * What an MCP tool's call does, from its annotations: untrusted hints with the spec's defaults
 * (not read-only, destructive, not idempotent) wherever the upstream is silent.
 */
export function effectsOf(tool: McpToolRecipe) {
  const hints = tool.annotations ?? {};
  const readOnly = hints.readOnlyHint === true;
  return {
    readOnly,
    destructive: !readOnly && hints.destructiveHint !== false,
    idempotent: readOnly || hints.idempotentHint === true,
    // The spec's default for an absent hint is true.
    openWorld: hints.openWorldHint !== false,
  };
}
