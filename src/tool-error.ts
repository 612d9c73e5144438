/**
 * Tool-level failures as typed values. Every failure of a tool call (bad arguments, missing
 * credentials, upstream errors, timeouts) is a {@link ToolFailure} with one code from
 * {@link ToolErrorCode}, carried as `{ ok: false, failure }` in a {@link ToolOutcome} from the
 * vendor kind through resilience and auth up to the MCP edge (`src/mcp/tool-result.ts`), which
 * alone turns it into the `isError` result the model reads: a JSON text body of one stable shape
 * `{error, status?, vendor, tool, message, …}` — never a protocol error, so the model sees it and
 * can react. Nothing in between serialises a failure or parses one back.
 *
 * A leaf: every layer can name a failure without importing a vendor kind.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";

/** Every code a failed tool call can carry (additive only: clients and models key on them). */
export const TOOL_ERROR_CODES = [
  "invalid_arguments",
  "missing_credentials",
  "configuration_error",
  "upstream_error",
  "upstream_timeout",
  "upstream_unreachable",
  "redirect_not_followed",
  "internal_error",
  // Resilience (src/resilience/): the vendor's breaker is open, its rate limit cannot serve the call in time,
  // the upstream asked to retry past the deadline, or the response breaks its schema (strict validation).
  "circuit_open",
  "rate_limited",
  "retry_later",
  "response_schema_mismatch",
  // A successful answer that cannot be the structured content the tool's outputSchema promises
  // (src/upstream/response.ts); the body travels in `data`.
  "output_schema_mismatch",
  // Discovery mode (src/mcp/discovery-tools.ts): no visible operation of that name, or a write
  // operation called with a read-only token.
  "unknown_operation",
  "insufficient_scope",
  // An upstream MCP server changed the tool's definition and the vendor's policy withholds it until an
  // operator approves the change (src/mcp-upstream/definitions.ts).
  "tool_withheld",
  // The caller's team allowlist hides the tool: the client is answered as for an unknown tool
  // (no protocol change); the code names the refusal in the call's `tool_call` event only.
  "tool_not_allowed",
  // A configured per-user or per-team quota (GATEWAY_QUOTAS) refused the call before anything was sent
  // (src/resilience/quota-client.ts): which limit, its usage and when it resets.
  "quota_exceeded",
] as const;

/** The `error` of a failed tool call's body. */
export type ToolErrorCode = (typeof TOOL_ERROR_CODES)[number];

/** One bad argument: JSON pointer into the arguments (`""` is the arguments object) and reason. */
export interface ArgumentIssue {
  pointer: string;
  message: string;
}

/** A failed tool call, as a value. */
export interface ToolFailure {
  readonly code: ToolErrorCode;
  /** For the model: what went wrong and, where it can, what to do about it. */
  readonly message: string;
  /** The upstream's HTTP status, when it answered. */
  readonly status?: number;
  /** `invalid_arguments`: every bad field; `output_schema_mismatch`: the first schema issues. */
  readonly errors?: readonly ArgumentIssue[];
  /**
   * Further machine-readable fields of the body (`attempts`, `retryAt`, `retryAfterSeconds`,
   * `details`, `data`, `mismatches`, `suggestions`); never a credential.
   */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** How the caller fixes a missing or rejected credential (src/auth/credential-source.ts). */
  readonly reconnect?: string;
  /** Content that cannot go in the JSON body (binary), returned after it. */
  readonly content?: CallToolResult["content"];
}

/** What a tool call comes back with: the MCP result of a success, or a failure. */
export type ToolOutcome = { ok: true; result: CallToolResult } | { ok: false; failure: ToolFailure };

/** `{ ok: false, failure }` for a failure built in place. */
export function failed(
  code: ToolErrorCode,
  message: string,
  more: Omit<ToolFailure, "code" | "message"> = {},
): { ok: false; failure: ToolFailure } {
  return { ok: false, failure: { code, message, ...more } };
}

/** `{ ok: true, result }`. */
export function succeeded(result: CallToolResult): { ok: true; result: CallToolResult } {
  return { ok: true, result };
}

/**
 * A failure thrown inside one vendor kind's request building (src/upstream/) and by
 * `resolveBaseUrl` (src/base-url.ts), caught by the kind and returned as a {@link ToolFailure}:
 * it never crosses the vendor seam as a throw.
 */
export class ToolError extends Error {
  readonly code: ToolErrorCode;
  readonly issues: ArgumentIssue[] | undefined;

  constructor(code: ToolErrorCode, message: string, issues?: ArgumentIssue[]) {
    super(message);
    this.name = "ToolError";
    this.code = code;
    this.issues = issues;
  }
}

/** The failure for invalid arguments, naming every bad field; nothing was sent. */
export function invalidArguments(tool: string, issues: readonly ArgumentIssue[]): ToolFailure {
  const fields = [...new Set(issues.map((i) => i.pointer || "(arguments)"))];
  return {
    code: "invalid_arguments",
    message: `Invalid arguments for ${tool}: ${fields.join(", ")}. Nothing was sent upstream.`,
    errors: issues.map((i) => ({ pointer: i.pointer, message: i.message })),
  };
}
