/**
 * Helpers for executor tests: run a tool call of a fixture vendor inside workerd
 * against the local upstream (test/support/upstream-server.ts) and read back what
 * the upstream saw.
 */
import { env } from "cloudflare:workers";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { loadSettings, vendorSettings } from "../../../src/config.ts";
import { type CredentialSource, envCredentialSource } from "../../../src/upstream/credentials.ts";
import { executeToolCall } from "../../../src/upstream/execute.ts";
import type { RecordedRequest } from "../../support/upstream-server.ts";
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
}

export async function callTool(
  bundle: VendorBundle,
  toolName: string,
  args: unknown,
  options: CallOptions = {},
): Promise<CallToolResult> {
  const e = { ...testEnv, ...EXECUTOR_TEST_ENV, ...options.env } as Env;
  const settings = vendorSettings(loadSettings(e), bundle);
  return executeToolCall({
    env: e,
    bundle,
    tool: toolOf(bundle, toolName),
    args,
    deadline: options.deadline ?? Date.now() + settings.toolExecutionTimeoutSeconds * 1000,
    credentials: options.credentials ?? envCredentialSource(e, bundle),
    waitUntil: () => {},
    settings,
  });
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
