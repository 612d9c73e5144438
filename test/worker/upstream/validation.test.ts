import { describe, expect, it } from "vitest";
import { upBodies, upParams } from "./fixtures.ts";
import { callTool, echoOf, jsonOf, recorded, uniqueId } from "./helpers.ts";

interface ErrorBody {
  error: string;
  message: string;
  errors: { pointer: string; message: string }[];
}

const validRecord = {
  name: "ada",
  age: 36,
  score: 0.5,
  step: 1.5,
  kind: "person",
  version: 2,
  tags: ["a", "b"],
  owner: { id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", email: "ada@example.com" },
  contact: { phone: "+441234" },
  pet: { species: "cat", born: "2020-02-29" },
  tree: { label: "root", children: [{ label: "leaf", children: [] }] },
  window: "P1DT2H",
};

describe("argument validation before sending", () => {
  it("accepts valid arguments and sends them", async () => {
    const echo = echoOf(await callTool(upBodies, "createRecord", validRecord));
    expect(JSON.parse(echo.bodyText)).toEqual(validRecord);
  });

  it("names every bad field with a pointer and a reason, and sends nothing", async () => {
    const marker = `z${uniqueId()}`;
    const result = await callTool(upBodies, "createRecord", {
      name: `Ada-${marker}`, // pattern + maxLength
      age: 151, // maximum
      score: 0, // exclusiveMinimum
      step: 0.7, // multipleOf
      kind: "alien", // enum
      version: 3, // const
      tags: ["a", "a", "b", "c"], // maxItems + uniqueItems
      owner: { id: "not-a-uuid", email: "nope", extra: true }, // format ×2 + unknown nested field
      contact: { phone: "123" }, // oneOf: closest variant's pattern
      pet: { born: "2021-02-29" }, // allOf: required + date
      tree: { label: "root", children: [{ label: "" }, { label: "x", children: [{}] }] }, // recursive $ref
      window: 0, // anyOf: integer branch minimum
      unexpected: 1, // unknown top-level field
    });
    expect(result.isError).toBe(true);
    const body = jsonOf<ErrorBody>(result);
    expect(body.error).toBe("invalid_arguments");
    const byPointer = new Map<string, string[]>();
    for (const e of body.errors) byPointer.set(e.pointer, [...(byPointer.get(e.pointer) ?? []), e.message]);
    expect([...byPointer.keys()].sort()).toEqual(
      [
        "/name",
        "/age",
        "/score",
        "/step",
        "/kind",
        "/version",
        "/tags",
        "/owner/id",
        "/owner/email",
        "/owner/extra",
        "/contact", // two object variants: a summary, then the closest variant's problems
        "/contact/phone",
        "/pet/species",
        "/pet/born",
        "/tree/children/0/label",
        "/tree/children/1/children/0/label",
        "/window",
        "/unexpected",
      ].sort(),
    );
    expect(byPointer.get("/name")).toEqual([
      "must be at most 10 characters long",
      "must match the pattern ^[a-z]+$",
    ]);
    expect(byPointer.get("/age")).toEqual(["must be <= 150 (got 151)"]);
    expect(byPointer.get("/score")).toEqual(["must be > 0 (got 0)"]);
    expect(byPointer.get("/step")).toEqual(["must be a multiple of 0.5 (got 0.7)"]);
    expect(byPointer.get("/kind")).toEqual(['must be one of: "person", "robot"']);
    expect(byPointer.get("/version")).toEqual(["must be 2"]);
    expect(byPointer.get("/tags")).toEqual([
      "must contain at most 3 items",
      "must not contain duplicates (items 0 and 1 are equal)",
    ]);
    expect(byPointer.get("/owner/id")).toEqual(["must be a valid uuid"]);
    expect(byPointer.get("/owner/extra")?.[0]).toMatch(
      /^is not allowed \(unknown field; expected one of: id, email\)/,
    );
    expect(byPointer.get("/pet/species")).toEqual(["is required"]);
    expect(byPointer.get("/contact")?.[0]).toMatch(/must match one of 2 allowed variants \(oneOf\)/);
    expect(byPointer.get("/contact/phone")).toEqual(["must match the pattern ^\\+\\d+$"]);
    expect(byPointer.get("/unexpected")?.[0]).toMatch(/unknown field/);
    // Every bad field is named in the message too.
    expect(body.message).toContain("/owner/email");
    expect(body.message).toContain("Nothing was sent upstream");
    expect(await recorded(marker)).toEqual([]);
  });

  it("reports missing required fields at their own pointer", async () => {
    const body = jsonOf<ErrorBody>(await callTool(upBodies, "createRecord", {}));
    expect(body.errors).toEqual([
      { pointer: "/name", message: "is required" },
      { pointer: "/age", message: "is required" },
    ]);
  });

  it("treats missing or null arguments as an empty object", async () => {
    const body = jsonOf<ErrorBody>(await callTool(upBodies, "createRecord", undefined));
    expect(body.errors.map((e) => e.pointer)).toEqual(["/name", "/age"]);
    const notObject = jsonOf<ErrorBody>(await callTool(upBodies, "createRecord", [1, 2]));
    expect(notObject.errors).toEqual([{ pointer: "", message: "must be object (got array)" }]);
  });

  it("rejects wrong types with what was received", async () => {
    const body = jsonOf<ErrorBody>(
      await callTool(upParams, "queryForm", { limit: "10", flag: "yes", tags: "a" }),
    );
    // In argument order.
    expect(body.errors).toEqual([
      { pointer: "/limit", message: "must be integer (got string)" },
      { pointer: "/flag", message: "must be boolean (got string)" },
      { pointer: "/tags", message: "must be array (got string that is not valid JSON)" },
    ]);
  });
});

describe("object and array arguments sent as JSON strings", () => {
  it("are parsed when the schema expects an object or array", async () => {
    const echo = echoOf(
      await callTool(upBodies, "createRecord", {
        ...validRecord,
        owner: JSON.stringify(validRecord.owner),
        tags: ' ["x", "y"] ',
        tree: JSON.stringify(validRecord.tree),
        pet: JSON.stringify(validRecord.pet),
      }),
    );
    const sent = JSON.parse(echo.bodyText);
    expect(sent.owner).toEqual(validRecord.owner);
    expect(sent.tags).toEqual(["x", "y"]);
    expect(sent.tree).toEqual(validRecord.tree);
    expect(sent.pet).toEqual(validRecord.pet);
  });

  it("are parsed inside nested structures and query objects", async () => {
    const echo = echoOf(await callTool(upParams, "queryForm", { filter: '{"status":"open"}', ids: "[1,2]" }));
    expect(echo.rawQuery).toBe("ids=1,2&status=open");
  });

  it("stay strings where the schema wants a string, and are validated after parsing", async () => {
    const echo = echoOf(await callTool(upParams, "queryForm", { q: '{"a":1}' }));
    expect(decodeURIComponent(echo.rawQuery)).toBe('q={"a":1}');
    const body = jsonOf<ErrorBody>(
      await callTool(upBodies, "createRecord", { ...validRecord, owner: '{"id":"x"}' }),
    );
    expect(body.errors).toEqual([{ pointer: "/owner/id", message: "must be a valid uuid" }]);
  });
});
