/**
 * Helpers for executor tests: run a tool call of a fixture vendor inside workerd
 * against the local upstream (test/support/upstream-server.ts) and read back what
 * the upstream saw.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { type CredentialSource, envCredentialSource } from "../../../src/auth/upstream-credentials.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { type Clock, clockFor } from "../../../src/clock.ts";
import { loadSettings, vendorSettings } from "../../../src/config.ts";
import { outcomeResult } from "../../../src/mcp/tool-result.ts";
import { openApiKind } from "../../../src/upstream/kind.ts";
import worker from "../../../src/worker.ts";
import type { RecordedRequest } from "../../support/upstream-server.ts";
import { ACCEPT_BOTH, BASE, legacyRequest, readJsonRpc } from "../mcp/helpers.ts";
import { toolOf } from "./fixtures.ts";

export type { RecordedRequest };

export const testEnv = env as unknown as Env & Record<string, string>;

/**
 * These tests are about turning calls into requests and responses into results,
 * so each call is exactly one upstream attempt: no retries, and a breaker that
 * the deliberate 5xx answers here never open (resilience has its own tests).
 */
const EXECUTOR_TEST_ENV = { MAX_RETRIES: "0", CIRCUIT_BREAKER_FAILURE_THRESHOLD: "1000" };

export interface CallOptions {
  /** Extra/overriding env vars for this call (settings, base URLs, secrets). */
  env?: Record<string, string>;
  credentials?: CredentialSource;
  /** Epoch ms; default from TOOL_EXECUTION_TIMEOUT. */
  deadline?: number;
  /** The call's clock (deadline, attempt timeouts); default: the test env's. */
  clock?: Clock;
}

export async function callTool(
  bundle: VendorBundle,
  toolName: string,
  args: unknown,
  options: CallOptions = {},
): Promise<CallToolResult> {
  const e = { ...testEnv, ...EXECUTOR_TEST_ENV, ...options.env } as Env;
  const settings = vendorSettings(loadSettings(e), bundle);
  const clock = options.clock ?? clockFor(e);
  const tool = toolOf(bundle, toolName);
  // The OpenAPI kind through the vendor seam, its outcome turned into a result as the MCP edge does.
  const outcome = await openApiKind.callTool({
    env: e,
    bundle,
    tool,
    args,
    deadline: options.deadline ?? clock.now() + settings.toolExecutionTimeoutSeconds * 1000,
    clock,
    credentials: options.credentials ?? envCredentialSource(e, bundle),
    waitUntil: () => {},
    settings,
  });
  return outcomeResult(outcome, bundle.vendor, tool.name);
}

export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  if (first?.type !== "text")
    throw new Error(`expected text content, got ${JSON.stringify(result).slice(0, 300)}`);
  return first.text;
}

/** The JSON body of a text result (success echo or error). */
export function jsonOf<T = Record<string, unknown>>(result: CallToolResult): T {
  return JSON.parse(textOf(result)) as T;
}

/** What the upstream received, from the echo answer of a successful call. */
export function echoOf(result: CallToolResult): RecordedRequest {
  if (result.isError) throw new Error(`call failed: ${textOf(result)}`);
  return jsonOf<RecordedRequest>(result);
}

/** Requests the upstream recorded whose raw URL contains `text`. */
export async function recorded(text: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${testEnv.UPSTREAM_ORIGIN}/__requests?contains=${encodeURIComponent(text)}`);
  return (await res.json()) as RecordedRequest[];
}

export function uniqueId(): string {
  return crypto.randomUUID().slice(0, 8);
}

export interface McpToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: unknown;
}

/**
 * One real `tools/call` to `/v1/<vendor>/mcp` through the Worker's fetch entry, with env
 * overrides (a setting such as SANITIZATION_LEVEL, a base URL); one attempt, as in `callTool`.
 * `raw` is the whole JSON-RPC response as text.
 */
export async function mcpToolsCall(
  vendor: string,
  name: string,
  args: Record<string, unknown>,
  overrides: Record<string, string> = {},
): Promise<{ raw: string; result: McpToolResult }> {
  const { message, headers } = legacyRequest("tools/call", { name, arguments: args });
  const request = new Request(`${BASE}/v1/${vendor}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
    body: JSON.stringify(message),
  });
  const ctx = createExecutionContext();
  const e = { ...testEnv, ...EXECUTOR_TEST_ENV, ...overrides } as Env;
  const res = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, e, ctx);
  await waitOnExecutionContext(ctx);
  const body = await readJsonRpc(res);
  if (res.status !== 200 || body.error !== undefined) {
    throw new Error(`tools/call failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  }
  return { raw: JSON.stringify(body), result: body.result as unknown as McpToolResult };
}
