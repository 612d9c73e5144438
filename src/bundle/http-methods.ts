/**
 * What an operation's HTTP method says about it, in one place: the MCP tool annotations,
 * the `mcp:write` scope rule and the retry policy all read these sets.
 *
 * @module
 */
import type { HttpMethod } from "./types.ts";

/**
 * RFC 9110 §9.2.1 safe methods: they do not change state upstream. Such a tool is annotated
 * `readOnlyHint` and may be called with `mcp:read` alone; every other method needs `mcp:write`.
 */
export const READ_ONLY_METHODS: ReadonlySet<HttpMethod> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** RFC 9110 §9.2.2 idempotent methods: repeating the call has the same effect as making it once. */
export const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
]);
