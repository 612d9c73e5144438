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
import type { Clock } from "../clock.ts";
import type { SanitizationLevel, VendorSettings } from "../config.ts";
import { errorText, log } from "../log.ts";
import { sanitize, sanitizeJsonText } from "../redaction/sanitize.ts";
import { SecretScrubber } from "../redaction/scrub.ts";
import { resilientFetch, type UpstreamFailure } from "../resilience/retry.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import { validate } from "../schema/validate.ts";
import { failed, invalidArguments, succeeded, ToolError, type ToolOutcome } from "../tool-error.ts";
import type { McpConnection, McpExchange } from "./connection.ts";
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
  credentials: CredentialSource;
  waitUntil: (promise: Promise<unknown>) => void;
  settings: VendorSettings;
  /** Injectable for tests; default the global `fetch`. */
  fetch?: typeof fetch;
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
    });
    authorizer = upstream.authorizer;
    const outcome = await send(call, upstream.connection, { name: tool.upstreamName, arguments: args.value });
    for (const secret of authorizer.secrets()) secrets.add(secret);
    return scrubbed(withCredentialHint(outcome, authorizer), secrets);
  } catch (error) {
    for (const secret of authorizer?.secrets() ?? []) secrets.add(secret);
    if (error instanceof ToolError) return failed(error.code, secrets.scrub(error.message));
    const message = secrets.scrub(errorText(error));
    log({
      event: "tool_call_failed",
      requestId: call.requestId,
      vendor: bundle.vendor,
      tool: tool.name,
      error: "internal_error",
      message,
    });
    return failed("internal_error", `The gateway failed to call ${bundle.vendor}'s ${tool.name}.`);
  }
}

/** A refused credential's failure says how the user fixes it (the credentials page). */
function withCredentialHint(outcome: ToolOutcome, authorizer: UpstreamMcpAuthorizer): ToolOutcome {
  if (outcome.ok || (outcome.failure.status !== 401 && outcome.failure.status !== 403)) return outcome;
  const hint = authorizer.hint();
  return hint === undefined || outcome.failure.reconnect !== undefined
    ? outcome
    : { ok: false, failure: { ...outcome.failure, reconnect: hint } };
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

async function send(call: McpToolCall, connection: McpConnection, params: Record<string, unknown>) {
  const { clock, tool, settings } = call;
  const deadline = deadlineAfter(Math.max(1, call.deadline - clock.now()), undefined, clock);
  try {
    const effects = effectsOf(tool);
    const result = await Promise.race([
      resilientFetch<AnsweredAttempt>({
        env: call.env,
        settings,
        tool: { name: tool.name, idempotent: effects.readOnly || effects.idempotent },
        deadline: call.deadline,
        waitUntil: call.waitUntil,
        signal: deadline.signal,
        clock,
        ...(call.caller === undefined ? {} : { caller: call.caller }),
        ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
        // The whole answer is read inside the attempt: nothing is left to release.
        discard: () => {},
        send: async (attempt) => {
          const exchange = await connection.request("tools/call", params, { signal: attempt.signal });
          return exchange.kind === "http"
            ? { status: exchange.status, headers: exchange.headers, exchange }
            : { status: 200, headers: NO_HEADERS, exchange };
        },
      }),
      deadline.aborted,
    ]);
    if (result.kind === "failure") return guardFailure(result.failure, result.attempts);
    result.settle();
    return answer(call, result.response.exchange);
  } catch (error) {
    if (deadline.timedOut) {
      return failed(
        "upstream_timeout",
        `${call.bundle.vendor} did not answer within the tool's ${settings.toolExecutionTimeoutSeconds} s limit.`,
      );
    }
    throw error;
  } finally {
    deadline.clear();
  }
}

function guardFailure(failure: UpstreamFailure, attempts: number): ToolOutcome {
  return failed(failure.code, failure.message, {
    ...(failure.status === undefined ? {} : { status: failure.status }),
    extra: { attempts, ...(failure.retryAt === undefined ? {} : { retryAt: failure.retryAt }) },
  });
}

/** How much of an upstream's HTTP error body a failure quotes. */
const MAX_ERROR_BODY_CHARS = 500;

function answer(call: McpToolCall, exchange: McpExchange): ToolOutcome {
  const vendor = call.bundle.vendor;
  switch (exchange.kind) {
    case "result":
      return checkedStructure(call, safeResult(exchange.result, call));
    case "error": {
      const { code, message, data } = exchange.error;
      // The upstream no longer has the tool: the next listing asks it again.
      if (code === JSONRPC_INVALID_PARAMS) forgetToolList(call.bundle, call.callerInfo);
      return failed(
        "upstream_error",
        `${vendor} refused the call: ${String(message).slice(0, MAX_ERROR_BODY_CHARS)}`,
        {
          extra: { rpcError: { code, message, ...(data === undefined ? {} : { data }) } },
        },
      );
    }
    case "http": {
      const html = /^\s*</.test(exchange.body);
      return failed("upstream_error", `${vendor} answered HTTP ${exchange.status}.`, {
        status: exchange.status,
        ...(html || exchange.body === ""
          ? {}
          : { extra: { details: exchange.body.slice(0, MAX_ERROR_BODY_CHARS) } }),
      });
    }
  }
}

/** Content item types a result may carry (MCP 2025-11-25); anything else is dropped. */
const CONTENT_TYPES: ReadonlySet<string> = new Set(["text", "image", "audio", "resource", "resource_link"]);

/**
 * The upstream's result reduced to what MCP defines, sanitised at the vendor's level and
 * bounded by `MAX_RESPONSE_BYTES` (text items are cut with a notice; items past the budget
 * are replaced by one).
 */
function safeResult(raw: Record<string, unknown>, call: McpToolCall): CallToolResult {
  const level = call.settings.sanitizationLevel;
  let budget = call.settings.maxResponseBytes;
  const content: CallToolResult["content"] = [];
  const items = Array.isArray(raw["content"]) ? raw["content"] : [];
  let dropped = 0;
  for (const item of items) {
    if (
      item === null ||
      typeof item !== "object" ||
      !CONTENT_TYPES.has(String((item as { type?: unknown }).type))
    ) {
      dropped++;
      continue;
    }
    const clean = sanitizedItem(item as CallToolResult["content"][number], level);
    const size = JSON.stringify(clean).length;
    if (size <= budget) {
      content.push(clean);
      budget -= size;
      continue;
    }
    if (clean.type === "text" && budget > 0) {
      content.push({
        type: "text",
        text: `${clean.text.slice(0, budget)}\n[truncated: the answer is larger than the gateway's ${call.settings.maxResponseBytes}-byte limit]`,
      });
      budget = 0;
      continue;
    }
    dropped++;
  }
  if (dropped > 0)
    content.push({
      type: "text",
      text: `[gateway: ${dropped} content item(s) left out: unknown type or over the size limit]`,
    });
  const result: CallToolResult = { content };
  const structured = raw["structuredContent"];
  if (structured !== null && typeof structured === "object" && !Array.isArray(structured)) {
    const size = JSON.stringify(structured).length;
    if (size <= call.settings.maxResponseBytes)
      result.structuredContent = sanitize(structured as Record<string, unknown>, level);
  }
  if (raw["isError"] === true) result.isError = true;
  return result;
}

/** A content item with sensitive keys redacted, in JSON text too (`SANITIZATION_LEVEL`). */
function sanitizedItem(item: CallToolResult["content"][number], level: SanitizationLevel) {
  if (item.type !== "text") return sanitize(item, level);
  const text = sanitizeJsonText(item.text, level);
  return text === item.text ? item : { ...item, text };
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
  };
}
