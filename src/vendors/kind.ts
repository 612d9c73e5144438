/**
 * The vendor seam: what a kind of vendor implements so the MCP layer, health, discovery,
 * allowlists and scopes work with it unchanged. The OpenAPI kind (`src/upstream/`) is the
 * first; upstream MCP servers are the next. A kind is a plain object of three functions:
 * it lists its tools, runs one call within a deadline with the credentials it is handed,
 * and checks its own health. It never throws across the seam: a failed call is a typed
 * {@link ToolFailure} (src/tool-error.ts), which only the MCP edge turns into a result.
 *
 * Resilience (breaker, token bucket, retries, timeouts; src/resilience/) wraps what a kind
 * sends and imports no kind; credentials come from src/auth/ through the
 * {@link CredentialSource} in the call.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import type { CredentialSource } from "../auth/upstream-credentials.ts";
import type { ToolDefinition, VendorBundle } from "../bundle/types.ts";
import type { CallStats } from "../call-outcome.ts";
import type { Clock } from "../clock.ts";
import type { VendorSettings } from "../config.ts";
import type { ToolFailure, ToolOutcome } from "../tool-error.ts";
import type { TraceContext } from "../trace-context.ts";

/** One tool call as the seam hands it to a kind (`T`: the kind's tool type). */
export interface VendorToolCall<T extends ToolDefinition = ToolDefinition> {
  /** Bindings, vars and secrets. */
  env: Env;
  bundle: VendorBundle;
  /** The tool, as the kind listed it. */
  tool: T;
  /** Raw MCP `arguments`, untrusted: the kind validates them. */
  args: unknown;
  /** Epoch ms on `clock`: the `TOOL_EXECUTION_TIMEOUT` bound for the whole call. */
  deadline: number;
  /** The call's one time source (deadline, attempt timeouts, waits, guard). */
  clock: Clock;
  /** The authenticated user, for the vendor guard's per-caller breaker; absent when client auth is off. */
  caller?: string;
  /** The MCP request's id, for log lines; absent for a health probe. */
  requestId?: string;
  /** The MCP request's W3C trace: every upstream request carries it on (src/trace-context.ts); absent for a probe. */
  trace?: TraceContext;
  /** Where upstream credentials come from (the caller's, their team's, the organisation's). */
  credentials: CredentialSource;
  /** The authenticated caller as the auth layer validated it; absent when client auth is off or for a probe. */
  callerInfo?: Caller;
  waitUntil: (promise: Promise<unknown>) => void;
  /** The vendor's resolved settings (`vendorSettings(loadSettings(env), bundle)`). */
  settings: VendorSettings;
  /**
   * The client asked for progress (`_meta.progressToken`) and takes a stream: the upstream's
   * progress, as `{ progress, total?, message? }` (untrusted values, already shape-checked).
   */
  onProgress?: (progress: VendorProgress) => void;
  /** A 2026-07-28 client: what it can answer, and on a retry its answers (multi round-trip requests). */
  input?: VendorClientInput;
  /**
   * The call's quota admission (src/resilience/quota-client.ts), already under way: `false` refuses
   * the call before anything is sent. Awaited beside the first vendor guard admission
   * (`resilientFetch`'s `gate`); absent when no quota applies.
   */
  quotaGate?: Promise<boolean>;
  /**
   * Filled in as the call goes (attempts, their time, the last status, body bytes) for the call's
   * `tool_call` event; the kind hands it to `resilientFetch` and counts its bodies. Absent: a probe.
   */
  stats?: CallStats;
}

/** What a 2026-07-28 client brings to a call: its capabilities and, on a retry, `inputResponses` and `requestState` (untrusted). */
export interface VendorClientInput {
  capabilities: Record<string, unknown>;
  responses?: Record<string, unknown>;
  state?: string;
}

/** One progress report of a running call, without the token (the MCP edge puts the client's on it). */
export interface VendorProgress {
  progress: number;
  total?: number;
  message?: string;
}

/** What one health check of a vendor found. */
export interface VendorProbe {
  /** What was checked (the OpenAPI kind: its `healthTool`). */
  tool: string;
  ok: boolean;
  /** Why it failed: a {@link ToolFailure} code, or what kept the check from running. */
  error?: ToolFailure["code"] | "health_tool_not_found";
}

/**
 * What calling a tool does, as its kind knows it (never as a client claims it): the MCP
 * annotations say it, and a tool that is not `readOnly` needs the `mcp:write` scope.
 */
export interface ToolEffects {
  /** Changes nothing upstream. */
  readOnly: boolean;
  /** May destroy data. */
  destructive: boolean;
  /** Repeating the call has the effect of making it once. */
  idempotent: boolean;
  /**
   * Reaches entities beyond the tool's own (the MCP `openWorldHint`). Absent: yes, as an
   * API call does; an upstream MCP server's tool says it itself.
   */
  openWorld?: boolean;
}

/** What a kind needs to resolve the vendor as one caller sees it right now. */
export interface VendorResolveContext {
  env: Env;
  /** The compiled bundle. */
  bundle: VendorBundle;
  /** `undefined`: client auth is off. */
  caller: Caller | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
  /** The MCP request's id, for log lines. */
  requestId: string;
  /** A call named a tool the cached list lacks: ask the upstream again (the kind rate-limits it). */
  refresh?: boolean;
  /** The MCP request's W3C trace: a shared list fetch it triggers carries it on (src/trace-context.ts). */
  trace?: TraceContext;
}

/** What a vendor serves besides tools (MCP resources and prompts); absent: nothing. */
export interface VendorFeatures {
  resources?: boolean;
  prompts?: boolean;
}

/** The requests a kind with {@link VendorFeatures} answers, by MCP method. */
export type VendorFeatureMethod =
  | "resources/list"
  | "resources/templates/list"
  | "resources/read"
  | "prompts/list"
  | "prompts/get";

/**
 * One request for a resource or prompt through the seam: the call's context (deadline, clock,
 * credentials, settings) as a tool call has it, minus the tool.
 */
export type VendorFeatureRequest = Omit<VendorToolCall, "tool" | "args" | "onProgress"> & {
  method: VendorFeatureMethod;
  /** The MCP params as the vendor names things (unprefixed names, the upstream's URIs); untrusted. */
  params: Record<string, unknown>;
};

/**
 * The upstream's answer, reduced to what MCP defines for the method, sanitised, bounded and
 * scrubbed; or a failure (`upstream_error` carries the upstream's JSON-RPC error in
 * `extra.rpcError`).
 */
export type VendorFeatureOutcome =
  | { ok: true; result: Record<string, unknown> }
  | { ok: false; failure: ToolFailure };

/** A kind of vendor. `T`: the tool type it lists (the MCP layer reads only {@link ToolDefinition}). */
export interface VendorKind<T extends ToolDefinition = ToolDefinition> {
  /** The vendor's tools, in listing order (shared: do not mutate). */
  tools(bundle: VendorBundle): readonly T[];
  /** What calling `tool` does (annotations, the write-scope rule). */
  effects(tool: T): ToolEffects;
  /**
   * The tools a call may name, when more than the listed ones: tools the kind keeps out of the
   * listing but answers itself (a withheld MCP tool's refusal). Default: `tools(bundle)`.
   */
  callable?(bundle: VendorBundle): readonly T[];
  /**
   * Kinds whose tool list lives upstream: the bundle as this caller sees it now (the list
   * fetched or cached, curated and reviewed), the same object while nothing changed. Never
   * throws: when the upstream cannot be asked, the last known list (or none) is served.
   * Absent: the compiled bundle is the vendor.
   */
  resolve?(context: VendorResolveContext): Promise<VendorBundle>;
  /**
   * Kinds that serve resources or prompts: which ones this caller's view of the vendor declares
   * (an upstream MCP server's capabilities). Never throws; nothing when the upstream cannot be asked.
   */
  features?(context: VendorResolveContext): Promise<VendorFeatures>;
  /** Answers one resources or prompts request within `request.deadline`. Never throws. */
  request?(request: VendorFeatureRequest): Promise<VendorFeatureOutcome>;
  /** Runs one call within `call.deadline`. Never throws. */
  callTool(call: VendorToolCall<T>): Promise<ToolOutcome>;
  /**
   * Checks the vendor's health through the same guard as user calls (so outcomes feed
   * `/health/vendors`), with no retries and at most `timeoutSeconds`; `undefined` when the
   * vendor has nothing to check. Never throws.
   */
  probe(
    env: Env,
    bundle: VendorBundle,
    timeoutSeconds: number,
    waitUntil: (p: Promise<unknown>) => void,
  ): Promise<VendorProbe | undefined>;
}
