/**
 * What a 2026-07-28 client brings to a request besides its params: the capabilities its envelope
 * declares and, on a multi round-trip retry, `inputResponses` and `requestState` (both lifted out
 * of the params by the SDK). The vendor kind decides what it can relay (src/mcp-upstream/input-required.ts).
 *
 * @module
 */
import type { ServerContext } from "@modelcontextprotocol/server";
import type { VendorClientInput } from "../vendors/kind.ts";

/** The envelope key of a 2026-07-28 request's client capabilities. */
const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";

/**
 * What a 2026-07-28 client brings to a call (its capabilities, and on a multi round-trip retry
 * `inputResponses` and `requestState`); `undefined` for a 2025-era request (no envelope).
 */
export function clientInput(ctx: ServerContext): VendorClientInput | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = envelope?.[CLIENT_CAPABILITIES_KEY];
  if (capabilities === undefined || capabilities === null || typeof capabilities !== "object")
    return undefined;
  const state = ctx.mcpReq.requestState<unknown>();
  return {
    capabilities: capabilities as Record<string, unknown>,
    ...(ctx.mcpReq.inputResponses === undefined ? {} : { responses: ctx.mcpReq.inputResponses }),
    ...(typeof state === "string" ? { state } : {}),
  };
}
