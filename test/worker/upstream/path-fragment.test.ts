import { describe, expect, it } from "vitest";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { toolOf, upParams } from "./fixtures.ts";
import { callTool, echoOf, jsonOf } from "./helpers.ts";

/** up-params with one extra tool: `pathSimple` under a path key with `suffix` appended. */
function withPathSuffix(suffix: string): VendorBundle {
  const base = toolOf(upParams, "pathSimple");
  return {
    ...upParams,
    tools: [...upParams.tools, { ...base, name: "pathVariant", path: `${base.path}${suffix}` }],
  };
}

describe("a `#…` in the spec's path key (readme-style `/cookies#variant`)", () => {
  it("is left out of the request: a fragment is never sent", async () => {
    const echo = echoOf(
      await callTool(withPathSuffix("#formExploded"), "pathVariant", {
        prim: "blue",
        arr: ["x"],
        obj: { R: 1 },
      }),
    );
    expect(echo.path).toBe("/up-params/api/path/simple/blue/x/R,1");
    expect(echo.rawQuery).toBe("");
  });

  it("still refuses the call when parameters follow the `#` (no server could route it)", async () => {
    const result = await callTool(withPathSuffix("#{prim}"), "pathVariant", {
      prim: "blue",
      arr: ["x"],
      obj: { R: 1 },
    });
    expect(result.isError).toBe(true);
    expect(jsonOf(result)).toMatchObject({ error: "invalid_arguments" });
  });
});
