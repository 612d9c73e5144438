import { describe, expect, it } from "vitest";
import { compileVendor } from "../../../scripts/compiler/index.ts";
import {
  assignToolNames,
  KeyAllocator,
  maxToolNameChars,
  safeArgKey,
  TOOL_NAME_MAX_CHARS,
} from "../../../scripts/compiler/naming.ts";
import { vendorFixture } from "./helpers.ts";

describe("tool names", () => {
  it("come from operationIds, sanitized, deduplicated and shortened, and every rename is reported", async () => {
    const { bundle, summary } = await compileVendor(vendorFixture("naming-vendor"));
    const max = maxToolNameChars("naming-vendor");
    expect(max).toBe(50);
    expect(bundle.tools.map((t) => [t.method, t.path, t.name])).toEqual([
      ["GET", "/a", "getThing"],
      // Methods in the order OpenAPI lists them (get, put, post, ...), whatever the key order.
      ["PUT", "/a", "getThing_3"],
      ["POST", "/a", "getThing_4"],
      ["GET", "/b", "getThing_2"],
      ["GET", "/c", "repos_list_for-user"],
      ["GET", "/users/{userId}/repos", "get_users_userId_repos"],
      ["GET", "/long", "actions_list-self-hosted-runner-groups-fo_58b07390"],
      ["POST", "/long", "actions_list-self-hosted-runner-groups-fo_ecf305ba"],
    ]);
    for (const tool of bundle.tools) {
      expect(tool.name).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(tool.name.length).toBeLessThanOrEqual(max);
      expect(`naming-vendor_${tool.name}`.length).toBeLessThanOrEqual(TOOL_NAME_MAX_CHARS);
    }
    expect(summary.renamed).toEqual([
      { name: "getThing_3", from: "getThing", reasons: ["duplicate"] },
      { name: "getThing_4", from: "getThing", reasons: ["duplicate"] },
      { name: "repos_list_for-user", from: "repos/list for-user", reasons: ["sanitized"] },
      {
        name: "actions_list-self-hosted-runner-groups-fo_58b07390",
        from: "actions/list-self-hosted-runner-groups-for-an-enterprise-with-extra-words-to-be-long",
        reasons: ["sanitized", "shortened"],
      },
      {
        name: "actions_list-self-hosted-runner-groups-fo_ecf305ba",
        from: "actions/list-self-hosted-runner-groups-for-an-enterprise-with-extra-words-to-be-longer",
        reasons: ["sanitized", "shortened"],
      },
    ]);
    // Repeated operationIds are legal input for us (renamed), reported as a warning.
    expect(summary.warnings).toContainEqual({
      message: "The operationId `getThing` is duplicated and should be made unique.",
    });
  });

  it("skip TRACE with a reason instead of dropping it silently", async () => {
    const { summary } = await compileVendor(vendorFixture("naming-vendor"));
    expect(summary.operations).toBe(9);
    expect(summary.tools).toBe(8);
    expect(summary.skipped).toEqual([
      {
        method: "TRACE",
        path: "/trace",
        operationId: "traceIt",
        reason: "no usable method: TRACE is a forbidden method for fetch() and a diagnostic, not an API call",
        pointer: "/paths/~1trace/trace",
      },
    ]);
  });

  it("shortening is deterministic and distinguishes names with the same prefix", () => {
    const long = "x".repeat(100);
    const ops = [
      { operationId: `${long}a`, method: "GET", path: "/" },
      { operationId: `${long}b`, method: "GET", path: "/" },
    ];
    const first = assignToolNames(ops, 30);
    expect(first).toEqual(assignToolNames(ops, 30));
    expect(first[0]!.name).not.toBe(first[1]!.name);
    expect(first.every((n) => n.name.length <= 30)).toBe(true);
  });

  it("a duplicate of a name at the length limit still fits", () => {
    const id = "y".repeat(40);
    const names = assignToolNames(
      [
        { operationId: id, method: "GET", path: "/" },
        { operationId: id, method: "PUT", path: "/" },
      ],
      40,
    );
    expect(names[1]).toEqual({ name: `${"y".repeat(38)}_2`, reasons: ["duplicate"] });
  });
});

describe("argument keys", () => {
  it("are identifier-safe", () => {
    expect(safeArgKey("filter[status]")).toBe("filter_status");
    expect(safeArgKey("X-Api-Version")).toBe("X_Api_Version");
    expect(safeArgKey("$top")).toBe("top");
    expect(safeArgKey("页")).toBe("arg");
    // Object.prototype member names would break clients that read properties as a plain object.
    expect(safeArgKey("constructor")).toBe("constructor_");
    expect(safeArgKey("toString")).toBe("toString_");
    expect(safeArgKey("__proto__")).toBe("proto");
    expect(safeArgKey("__defineGetter__")).toBe("defineGetter");
    expect(safeArgKey("a".repeat(80))).toMatch(/^a{55}_[0-9a-f]{8}$/);
  });

  it("clashes get the preferred alternative, then numbers", () => {
    const keys = new KeyAllocator();
    expect(keys.claim("id")).toBe("id");
    expect(keys.claim("id", "id_header")).toBe("id_header");
    expect(keys.claim("id", "id_header")).toBe("id_2");
  });
});
