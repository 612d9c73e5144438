/**
 * The `gateway_status` tool on `/v1/mcp`: unavailable vendors are not silent.
 * It tells the user which vendors they cannot use, why, and the URL that fixes it.
 *
 * @module
 */
import type { CallToolResult, Tool } from "@modelcontextprotocol/server";
import type { VendorAvailability } from "../auth/availability.ts";
import type { Caller } from "../auth/caller.ts";

/** Listed on `/v1/mcp` only, when client auth is on. (A vendor named `gateway` with a tool `status` would collide.) */
export const GATEWAY_STATUS_TOOL_NAME = "gateway_status";

export const gatewayStatusTool: Tool = {
  name: GATEWAY_STATUS_TOOL_NAME,
  title: "Gateway status",
  description:
    "Lists the APIs this gateway serves and whether you can use each one now. For an unavailable API it says why " +
    "(not connected, connection expired, credential rejected, not allowed for your team) and gives the URL where you fix it. " +
    "Call it when an API's tools are missing or a tool reports an authorization problem.",
  inputSchema: { type: "object", properties: {}, additionalProperties: false },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
};

/** The tool's result for this caller. */
export function gatewayStatusResult(caller: Caller): CallToolResult {
  const vendors: VendorAvailability[] = [...(caller.availability?.().values() ?? [])];
  const available = vendors.filter((vendor) => vendor.available);
  const unavailable = vendors.filter((vendor) => !vendor.available);
  const lines = [
    `Signed in as ${caller.userId}${caller.teamId === undefined ? "" : ` (team ${caller.teamId})`}.`,
    available.length > 0
      ? `Available: ${available.map((vendor) => vendor.vendor).join(", ")}.`
      : "No API is available to you yet.",
    ...unavailable.map(
      (vendor) =>
        `Unavailable: ${vendor.vendor} (${vendor.displayName}): ${vendor.message ?? vendor.reason}` +
        (vendor.fixUrl === undefined ? "." : `. Fix it at ${vendor.fixUrl}`),
    ),
  ];
  return {
    content: [{ type: "text", text: lines.join("\n") }],
    structuredContent: {
      userId: caller.userId,
      ...(caller.teamId === undefined ? {} : { teamId: caller.teamId }),
      vendors: vendors.map((vendor) => ({ ...vendor })),
    },
  };
}
