/**
 * What test/support/mcp-upstream-server.ts (Node) and the Worker tests that call it (workerd)
 * both need to know, in a module without Node imports.
 */

/** `retry:` the resumable SSE endpoint (`/stateful-sse`) suggests. */
export const SSE_RETRY_MS = 250;
