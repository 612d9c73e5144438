/**
 * Discovery mode (src/mcp/discovery.ts): the mcp-discovery fixture (`"toolMode": "discovery"`)
 * is served as search/describe/call, through real MCP requests into the Worker and the
 * echoing test upstream (MCP_DISCOVERY_BASE_URL). Here: the listing and when a vendor is in
 * discovery mode; search in discovery-search.test.ts, describe and call in discovery-tools.test.ts.
 */
import { describe, expect, it } from "vitest";
import { getBundle } from "../../../src/bundle/registry.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { discoveryThreshold } from "../../../src/config.ts";
import { GatewayError } from "../../../src/errors.ts";
import { findDiscoveryTool, listTools } from "../../../src/mcp/catalog.ts";
import { DEFAULT_DISCOVERY_TOOL_THRESHOLD, usesDiscovery } from "../../../src/mcp/discovery-mode.ts";
import { COMPILED_VENDORS } from "../../../src/vendors/view.ts";
import { fixture, listAll, VENDOR_PATH } from "./discovery-helpers.ts";
import { call, legacyRequest } from "./helpers.ts";

describe("tools/list in discovery mode", () => {
  it("lists search, describe and call instead of the vendor's operations", async () => {
    const tools = await listAll(VENDOR_PATH);
    expect(tools.map((t) => t.name)).toEqual(["search", "describe", "call"]);
    expect(tools[0]?.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools[2]?.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
  });

  it("offers the vendor's tags as the search tag enum", async () => {
    const { body } = await call(VENDOR_PATH, legacyRequest("tools/list"));
    const search = (body.result as { tools: Array<{ inputSchema: { properties: Record<string, unknown> } }> })
      .tools[0];
    expect(search?.inputSchema.properties.tag).toMatchObject({
      enum: ["repos", "issues", "comments", "labels", "users"],
    });
  });

  it("prefixes the three tools on /v1/mcp and hides the operations there too", async () => {
    const names = (await listAll("/v1/mcp")).map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(["mcp-discovery_search", "mcp-discovery_describe", "mcp-discovery_call"]),
    );
    expect(names.filter((n) => n.startsWith("mcp-discovery_"))).toHaveLength(3);
    // Other vendors are untouched: mcp-bulk (130 tools, "toolMode": "tools") still lists every tool.
    expect(names.filter((n) => n.startsWith("mcp-bulk_")).length).toBeGreaterThan(
      DEFAULT_DISCOVERY_TOOL_THRESHOLD,
    );
  });
});

describe("when a vendor is in discovery mode", () => {
  it("follows vendor.json toolMode, else the tool count against DISCOVERY_TOOL_THRESHOLD", () => {
    const alpha = getBundle("mcp-alpha") as VendorBundle;
    const bulk = getBundle("mcp-bulk") as VendorBundle;
    expect(alpha.toolMode).toBeUndefined();
    expect(usesDiscovery(alpha, alpha.tools.length)).toBe(false);
    expect(usesDiscovery(alpha, alpha.tools.length - 1)).toBe(true);
    // Explicit modes win over the count.
    expect(usesDiscovery(bulk, 1)).toBe(false);
    expect(usesDiscovery(fixture(), 1_000_000)).toBe(true);

    const small = { discoveryThreshold: alpha.tools.length - 1 };
    expect(
      listTools({ kind: "vendor", vendor: "mcp-alpha" }, undefined, COMPILED_VENDORS, small).map(
        (t) => t.name,
      ),
    ).toEqual(["search", "describe", "call"]);
    expect(
      findDiscoveryTool({ kind: "unified" }, undefined, "mcp-alpha_search", COMPILED_VENDORS, small)?.kind,
    ).toBe("search");
    expect(
      findDiscoveryTool({ kind: "unified" }, undefined, "mcp-alpha_search", COMPILED_VENDORS),
    ).toBeUndefined();
    expect(listTools({ kind: "vendor", vendor: "mcp-alpha" }, undefined, COMPILED_VENDORS).length).toBe(
      alpha.tools.length,
    );
  });

  it("reads DISCOVERY_TOOL_THRESHOLD once per env and rejects a bad value as a configuration error", () => {
    expect(discoveryThreshold({})).toBe(DEFAULT_DISCOVERY_TOOL_THRESHOLD);
    expect(discoveryThreshold({ DISCOVERY_TOOL_THRESHOLD: "40" })).toBe(40);
    for (const bad of ["0", "-5", "ten", "1.5", "99999999"]) {
      expect(() => discoveryThreshold({ DISCOVERY_TOOL_THRESHOLD: bad }), bad).toThrow(GatewayError);
    }
    try {
      discoveryThreshold({ DISCOVERY_TOOL_THRESHOLD: "lots" });
    } catch (error) {
      expect(error).toMatchObject({
        code: "invalid_configuration",
        message: expect.stringContaining("DISCOVERY_TOOL_THRESHOLD"),
      });
    }
  });
});
