import { describe, expect, it } from "vitest";
import { upCurate } from "./fixtures.ts";
import { echoOf, jsonOf, mcpToolsCall, recorded, uniqueId } from "./helpers.ts";

// up-curate's vendor.json renames issues/create to file_triage_issue and fixes owner and label.
describe("vendor.json tools: a renamed tool with fixed arguments", () => {
  it("lists the new name without the fixed arguments", () => {
    const tool = upCurate.tools.find((t) => t.operationId === "issues/create");
    expect(tool?.name).toBe("file_triage_issue");
    expect(tool?.title).toBe("File a triage issue");
    expect(Object.keys(tool?.inputSchema.properties as object)).toEqual(["dry_run", "title"]);
    expect(tool?.inputSchema.required).toEqual(["title"]);
  });

  it("reaches the upstream with the fixed values in the path and the body", async () => {
    const title = `crash ${uniqueId()}`;
    const { result } = await mcpToolsCall("up-curate", "file_triage_issue", { title, dry_run: true });
    const echo = echoOf(result as Parameters<typeof echoOf>[0]);
    expect(echo.method).toBe("POST");
    expect(echo.path).toBe("/up-curate/api/repos/acme/issues");
    expect(echo.rawQuery).toBe("dry_run=true");
    expect(JSON.parse(echo.bodyText ?? "")).toEqual({ title, label: "triage" });
  });

  it("refuses a client that sets a fixed argument itself, and sends nothing", async () => {
    const title = `hijack ${uniqueId()}`;
    const { result } = await mcpToolsCall("up-curate", "file_triage_issue", { title, owner: "evil" });
    expect(result.isError).toBe(true);
    expect(jsonOf(result as Parameters<typeof jsonOf>[0])).toMatchObject({ error: "invalid_arguments" });
    expect(await recorded("/up-curate/api/repos/evil")).toEqual([]);
  });
});
