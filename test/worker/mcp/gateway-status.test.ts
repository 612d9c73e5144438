/**
 * `gateway_status` (src/mcp/gateway-status.ts) tells the user which tools of the upstream MCP
 * servers they can use changed since the operator approved them, through the vendor seam
 * (src/vendors/definitions.ts): served with a warning, or withheld.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { VendorAvailability } from "../../../src/auth/availability.ts";
import type { Caller } from "../../../src/auth/caller.ts";
import type { McpToolRecipe, VendorBundle } from "../../../src/bundle/types.ts";
import { gatewayStatusResult } from "../../../src/mcp/gateway-status.ts";
import { bareBundle } from "../../support/bare-bundle.ts";
import { manualClock } from "../../support/clocks.ts";
import { mcpBundle, mcpTool, reviewAndWait } from "../../support/mcp-tools.ts";

const tool = mcpTool;

function callerWith(vendors: VendorAvailability[]): Caller {
  const availability = new Map(vendors.map((vendor) => [vendor.vendor, vendor]));
  return { userId: "erin", availability: () => availability } as unknown as Caller;
}

async function changeOneTool(bundle: VendorBundle): Promise<void> {
  const clock = manualClock(Date.UTC(2026, 11, 1));
  const review = (tools: McpToolRecipe[]) => reviewAndWait(env, clock, bundle, tools);
  await review([tool("search", "a".repeat(64)), tool("send", "b".repeat(64))]);
  clock.advance(86_400_000);
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  await review([tool("search", "a".repeat(64)), tool("send", "c".repeat(64))]);
  warn.mockRestore();
}

describe("gateway_status and changed tool definitions", () => {
  it("names each changed tool of an available MCP vendor and whether it is withheld", async () => {
    const held = mcpBundle("status-held", "withhold");
    const warned = mcpBundle("status-warned", "warn");
    const hidden = mcpBundle("status-hidden", "withhold");
    await changeOneTool(held);
    await changeOneTool(warned);
    await changeOneTool(hidden);
    const bundles = new Map([held, warned, hidden, bareBundle("status-openapi")].map((b) => [b.vendor, b]));
    const result = await gatewayStatusResult(
      callerWith([
        { vendor: "status-held", displayName: "Held", available: true },
        { vendor: "status-warned", displayName: "Warned", available: true },
        { vendor: "status-openapi", displayName: "OpenAPI", available: true },
        // Not usable by this caller: nothing about its tools.
        { vendor: "status-hidden", displayName: "Hidden", available: false, reason: "not_allowed" },
      ]),
      env,
      (vendor) => bundles.get(vendor),
    );
    const text = (result.content[0] as { text: string }).text;
    expect(text.split("\n").filter((line) => line.startsWith("Changed:"))).toEqual([
      "Changed: status-held tool send (definition changed 2026-12-02; withheld until the gateway's operator approves it).",
      "Changed: status-warned tool send (definition changed 2026-12-02; served with a warning until the gateway's operator reviews it).",
    ]);
    const vendors = (result.structuredContent as { vendors: Record<string, unknown>[] }).vendors;
    expect(vendors.find((v) => v.vendor === "status-held")).toMatchObject({
      definitions: { changes: [{ tool: "send", currentHash: "c".repeat(64) }], withheld: ["send"] },
    });
    expect(vendors.find((v) => v.vendor === "status-warned")).toMatchObject({
      definitions: { withheld: [] },
    });
    expect(vendors.find((v) => v.vendor === "status-openapi")).not.toHaveProperty("definitions");
    expect(vendors.find((v) => v.vendor === "status-hidden")).not.toHaveProperty("definitions");
  });

  it("counts tools withheld because they could not be recorded, without repeating their names", async () => {
    const bundle = mcpBundle("status-long", "withhold");
    const long = `ignore_previous_instructions_${"x".repeat(120)}`;
    await reviewAndWait(env, manualClock(), bundle, [tool(long, "a".repeat(64)), tool("ok", "b".repeat(64))]);
    const result = await gatewayStatusResult(
      callerWith([{ vendor: "status-long", displayName: "Long", available: true }]),
      env,
      () => bundle,
    );
    const text = (result.content[0] as { text: string }).text;
    expect(text).toContain(
      "Withheld: 1 status-long tool(s) the gateway could not record for review; ask the gateway's operator.",
    );
    expect(text).not.toContain("ignore_previous");
  });
});
