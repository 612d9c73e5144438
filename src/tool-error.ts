/**
 * Tool-level failures. Every failure of a tool call (bad arguments, missing
 * credentials, upstream errors, timeouts) reaches the MCP client as a tool result
 * with `isError: true` and a JSON text body of one stable shape — never as a
 * protocol error, so the model sees it and can react.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";

export type ToolErrorCode =
  | "invalid_arguments"
  | "missing_credentials"
  | "configuration_error"
  | "upstream_error"
  | "upstream_timeout"
  | "upstream_unreachable"
  | "redirect_not_followed"
  | "internal_error"
  // Resilience (src/resilience/): the vendor's breaker is open, its rate limit cannot serve the call in time,
  // the upstream asked to retry past the deadline, or the response breaks its schema (strict validation).
  | "circuit_open"
  | "rate_limited"
  | "retry_later"
  | "response_schema_mismatch"
  // A successful answer that cannot be the structured content the tool's outputSchema promises
  // (src/upstream/response.ts); the body travels in `data`.
  | "output_schema_mismatch";

/** One bad argument: JSON pointer into the arguments (`""` is the arguments object) and reason. */
export interface ArgumentIssue {
  pointer: string;
  message: string;
}

/**
 * A failure the executor turns into an `isError` tool result; thrown inside `src/upstream/` and by
 * `resolveBaseUrl` (src/base-url.ts). A leaf, so every layer can name the failure without importing a vendor kind.
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

/** The JSON body of an error result. `status` only for upstream HTTP errors. */
export interface ToolErrorBody {
  error: ToolErrorCode;
  vendor: string;
  tool: string;
  message: string;
  status?: number;
  errors?: ArgumentIssue[];
  [extra: string]: unknown;
}

export function errorResult(body: ToolErrorBody): CallToolResult {
  return { isError: true, content: [{ type: "text", text: JSON.stringify(body) }] };
}

/** The error result for invalid arguments, naming every bad field. */
export function invalidArgumentsResult(
  vendor: string,
  tool: string,
  issues: ArgumentIssue[],
): CallToolResult {
  const fields = [...new Set(issues.map((i) => i.pointer || "(arguments)"))];
  return errorResult({
    error: "invalid_arguments",
    vendor,
    tool,
    message: `Invalid arguments for ${tool}: ${fields.join(", ")}. Nothing was sent upstream.`,
    errors: issues.map((i) => ({ pointer: i.pointer, message: i.message })),
  });
}
