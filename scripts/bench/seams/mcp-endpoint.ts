/**
 * Bench seam for `src/mcp/endpoint.ts`: the MCP endpoint handler reads the body and answers
 * the recorded bytes. What runs before it: the Worker entry and the gateway's app (request
 * id, CORS, the caller seam, routing to `/v1/:vendor/mcp`).
 */
import type * as real from "../../../src/mcp/endpoint.ts";
import { recordedMcpResponse } from "./recorded.ts";

export const mcpEndpoint = (() => async (c) => {
  await c.req.raw.arrayBuffer();
  return recordedMcpResponse();
}) satisfies typeof real.mcpEndpoint;
