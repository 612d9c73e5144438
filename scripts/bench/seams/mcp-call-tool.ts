/**
 * Bench seam for `src/mcp/call-tool.ts`: `callTool` answers the recorded result. What runs
 * before it: the MCP endpoint (transport checks, JSON-RPC parse, protocol version, dispatch,
 * tool lookup), and after it the result's serialization.
 */
import type * as real from "../../../src/mcp/call-tool.ts";
import { RECORDED } from "./recorded.ts";

export const callTool = (async () => RECORDED.result) satisfies typeof real.callTool;
