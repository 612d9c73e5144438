/**
 * The MCP edge of a tool call: the one place a {@link ToolFailure} becomes the `isError`
 * result the model reads, a JSON text body `{error, status?, vendor, tool, message, errors?, …,
 * reconnect?}` followed by any content that cannot go in it.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { ToolFailure, ToolOutcome } from "../tool-error.ts";

/** The result for a failure of `tool` (its unprefixed name) of `vendor`. */
export function failureResult(failure: ToolFailure, vendor: string, tool: string): CallToolResult {
  const body = {
    error: failure.code,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    vendor,
    tool,
    message: failure.message,
    ...(failure.errors === undefined ? {} : { errors: failure.errors }),
    ...failure.extra,
    ...(failure.reconnect === undefined ? {} : { reconnect: failure.reconnect }),
  };
  return {
    isError: true,
    content: [{ type: "text", text: JSON.stringify(body) }, ...(failure.content ?? [])],
  };
}

/** The result of an outcome: a success as it is, a failure through {@link failureResult}. */
export function outcomeResult(outcome: ToolOutcome, vendor: string, tool: string): CallToolResult {
  return outcome.ok ? outcome.result : failureResult(outcome.failure, vendor, tool);
}
