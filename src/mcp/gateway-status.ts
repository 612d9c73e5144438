/**
 * The `gateway_status` tool on `/v1/mcp`: unavailable vendors are not silent.
 * It tells the user which vendors they cannot use, why, and the URL that fixes it; and, for
 * upstream MCP servers they can use, which tools changed their definition since it was approved
 * (served with a warning, or withheld until an operator approves them).
 *
 * @module
 */
import type { CallToolResult, Tool } from "@modelcontextprotocol/server";
import type { VendorAvailability } from "../auth/availability.ts";
import type { Caller } from "../auth/caller.ts";
import { getBundle } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { errorText, log } from "../log.ts";
import { readCallerQuotaUsage } from "../resilience/quota-client.ts";
import type { QuotaUsage } from "../resilience/quota-types.ts";
import { type VendorDefinitionStatus, vendorDefinitionStatus } from "../vendors/definitions.ts";

/** Listed on `/v1/mcp` only, when client auth is on. (A vendor named `gateway` with a tool `status` would collide.) */
export const GATEWAY_STATUS_TOOL_NAME = "gateway_status";

export const gatewayStatusTool: Tool = {
  name: GATEWAY_STATUS_TOOL_NAME,
  title: "Gateway status",
  description:
    "Lists the APIs this gateway serves and whether you can use each one now. For an unavailable API it says why " +
    "(not connected, connection expired, credential rejected, not allowed for your team) and gives the URL where you fix it, " +
    "and which tools changed since the operator approved them (withheld tools are missing from the list until approved). " +
    "Call it when an API's tools are missing or a tool reports an authorization problem.",
  inputSchema: { type: "object", properties: {}, additionalProperties: false },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
};

/** One line per available vendor with changed tool definitions. */
function definitionLines(vendor: string, status: VendorDefinitionStatus): string[] {
  const withheld = new Set(status.withheld);
  const lines = status.changes.map(
    (change) =>
      `Changed: ${vendor} tool ${change.tool} (definition changed ${change.changedAt.slice(0, 10)}; ` +
      (withheld.has(change.tool)
        ? "withheld until the gateway's operator approves it)."
        : "served with a warning until the gateway's operator reviews it)."),
  );
  // Withheld without a change: names the gateway could not record, never approved, so not repeated here.
  const unrecorded = status.withheld.filter((tool) => !status.changes.some((change) => change.tool === tool));
  if (unrecorded.length > 0) {
    lines.push(
      `Withheld: ${unrecorded.length} ${vendor} tool(s) the gateway could not record for review; ask the gateway's operator.`,
    );
  }
  return lines;
}

/** The caller's quotas (GATEWAY_QUOTAS): `undefined` when none apply (no RPC), `"unavailable"` when the guard failed. */
async function callerQuotas(caller: Caller, env: Env): Promise<QuotaUsage[] | "unavailable" | undefined> {
  try {
    return await readCallerQuotaUsage(env, caller);
  } catch (error) {
    log({ event: "quota_guard_unavailable", op: "usage", error: errorText(error) });
    return "unavailable";
  }
}

/** `Quota: 3 of 60 calls this minute (you, all APIs); resets at 2026-…Z.` */
function quotaLine(usage: QuotaUsage): string {
  const whose = usage.scope === "user" ? "you" : `team ${usage.subject}`;
  const where = usage.vendor === undefined ? "all APIs" : usage.vendor;
  const window = usage.window === "minute" ? "this minute" : "today (UTC)";
  return `Quota: ${usage.used} of ${usage.limit} calls ${window} (${whose}, ${where}); resets at ${new Date(usage.resetAt).toISOString()}.`;
}

/** The tool's result for this caller. */
export async function gatewayStatusResult(
  caller: Caller,
  env: Env,
  bundleOf: (vendor: string) => VendorBundle | undefined = getBundle,
): Promise<CallToolResult> {
  const vendors: VendorAvailability[] = [...(caller.availability?.().values() ?? [])];
  const available = vendors.filter((vendor) => vendor.available);
  const unavailable = vendors.filter((vendor) => !vendor.available);
  const definitions = new Map<string, VendorDefinitionStatus>();
  const quotas = callerQuotas(caller, env);
  await Promise.all(
    available.map(async ({ vendor }) => {
      const bundle = bundleOf(vendor);
      const status = bundle === undefined ? undefined : await vendorDefinitionStatus(env, bundle);
      if (status !== undefined && (status.changes.length > 0 || status.withheld.length > 0)) {
        definitions.set(vendor, status);
      }
    }),
  );
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
    ...[...definitions].flatMap(([vendor, status]) => definitionLines(vendor, status)),
  ];
  const quota = await quotas;
  if (quota === "unavailable") lines.push("Quota: usage could not be read right now.");
  else if (quota !== undefined) lines.push(...quota.map(quotaLine));
  return {
    content: [{ type: "text", text: lines.join("\n") }],
    structuredContent: {
      userId: caller.userId,
      ...(caller.teamId === undefined ? {} : { teamId: caller.teamId }),
      vendors: vendors.map((vendor) => {
        const status = definitions.get(vendor.vendor);
        return status === undefined ? { ...vendor } : { ...vendor, definitions: status };
      }),
      ...(quota === undefined ? {} : { quotas: quota === "unavailable" ? null : quota }),
    },
  };
}
