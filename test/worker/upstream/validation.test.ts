import { describe, expect, it } from "vitest";
import { FORMATS } from "../../../src/upstream/formats.ts";
import { validate } from "../../../src/upstream/validate.ts";
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

/** Valid and invalid samples per format; every format the brief names plus the OpenAPI registry ones. */
const FORMAT_CASES: Record<string, { valid: unknown[]; invalid: unknown[] }> = {
  date: { valid: ["2024-02-29"], invalid: ["2023-02-29", "2024-13-01", "24-01-01"] },
  "date-time": {
    valid: ["2024-01-02T03:04:05Z", "2024-01-02t03:04:05.123+05:30", "2016-12-31T23:59:60Z"],
    invalid: ["2024-01-02 03:04", "2024-01-02T25:00:00Z", "2024-01-02T03:04:05"],
  },
  time: { valid: ["03:04:05Z", "23:59:59.5-08:00"], invalid: ["3:04:05Z", "03:04:05", "24:00:00Z"] },
  duration: { valid: ["P1D", "PT1H30M", "P2W", "P1Y2M3DT4H5M6S"], invalid: ["P", "PT", "1D", "P1H"] },
  email: {
    valid: ["a.b+c@example.com", '"quoted"@example.com'],
    invalid: ["a@", "@b.com", "a..b@example.com", "a b@example.com"],
  },
  "idn-email": { valid: ["用户@例子.广告", "ada@example.com"], invalid: ["用户", "a@@b"] },
  uuid: {
    valid: ["3f2504e0-4f89-11d3-9a0c-0305e82c3301"],
    invalid: ["3f2504e04f8911d39a0c0305e82c3301", "xyz"],
  },
  uri: {
    valid: ["https://example.com/a?b=c#d", "urn:isbn:0451450523", "http://[::1]:8080/"],
    invalid: ["/relative", "http://exa mple.com", "http://x/%zz"],
  },
  "uri-reference": { valid: ["/relative/path?x=1", "#frag", ""], invalid: ["\\\\server", "a b"] },
  iri: { valid: ["https://例子.测试/路径"], invalid: ["例子", "https://x/ y"] },
  "iri-reference": { valid: ["/路径/x", "#ü"], invalid: ["a\u0000b", "x y"] },
  url: { valid: ["https://example.com"], invalid: ["example.com"] },
  "uri-template": { valid: ["/users/{id}{?fields,limit}"], invalid: ["/users/{id", "/x/{a b}"] },
  hostname: { valid: ["example.com", "a-b.c0"], invalid: ["-bad.com", "a_b.com", `${"a".repeat(64)}.com`] },
  "idn-hostname": { valid: ["例子.测试", "bücher.example"], invalid: ["-x.例子", "a..b"] },
  ipv4: { valid: ["192.168.0.1"], invalid: ["256.1.1.1", "01.2.3.4", "1.2.3"] },
  ipv6: {
    valid: ["::1", "2001:db8::8a2e:370:7334", "::ffff:192.168.0.1", "1:2:3:4:5:6:7:8"],
    invalid: ["1:2:3:4:5:6:7:8:9", "12345::", ":::1", "fe80::1%eth0"],
  },
  byte: { valid: ["aGVsbG8=", ""], invalid: ["aGVsbG8", "a*b="] },
  base64url: { valid: ["aGVsbG8_-w"], invalid: ["a+b/"] },
  binary: { valid: ["\u0000anything"], invalid: [] },
  password: { valid: ["hunter2"], invalid: [] },
  char: { valid: ["a", "😀"], invalid: ["ab", ""] },
  regex: { valid: ["^[a-z]+$", "\\d{2}"], invalid: ["[unclosed", "(?<n>a)\\k<m>"] },
  "json-pointer": { valid: ["", "/a/b~1c/~0"], invalid: ["a/b", "/a~2"] },
  "relative-json-pointer": { valid: ["0", "1/a", "2#"], invalid: ["-1", "/a", "01"] },
  "json-pointer-uri-fragment": { valid: ["#/a/b%20c"], invalid: ["/a"] },
  int8: { valid: [127, -128], invalid: [128, 1.5] },
  int16: { valid: [32767], invalid: [32768] },
  int32: { valid: [2147483647, -2147483648, "123"], invalid: [2147483648, 1.5, "12x"] },
  int64: { valid: [9007199254740991, "9223372036854775807"], invalid: ["9223372036854775808", 1.5] },
  uint8: { valid: [0, 255], invalid: [-1, 256] },
  uint32: { valid: [4294967295], invalid: [-1, 4294967296] },
  uint64: { valid: ["18446744073709551615"], invalid: [-1, "18446744073709551616"] },
  float: { valid: [1.5, -3.4e38], invalid: [3.5e38] },
  double: { valid: [1.7e308, -0.5], invalid: ["abc"] },
  decimal: { valid: ["12.50", 3, "-1e3"], invalid: ["1.2.3"] },
  "http-date": { valid: ["Sun, 06 Nov 1994 08:49:37 GMT"], invalid: ["Sunday, 06-Nov-94 08:49:37 GMT"] },
  "media-range": { valid: ["application/json", "text/*;q=0.8", "*/*"], invalid: ["json", "*/json"] },
};

describe("formats", () => {
  it("checks at least 25 formats", () => {
    expect(Object.keys(FORMATS).length).toBeGreaterThanOrEqual(25);
    for (const name of Object.keys(FORMAT_CASES)) expect(FORMATS, name).toHaveProperty([name]);
  });

  for (const [format, { valid, invalid }] of Object.entries(FORMAT_CASES)) {
    it(format, () => {
      for (const v of valid) {
        expect(validate({ format }, v).issues, `${format} should accept ${JSON.stringify(v)}`).toEqual([]);
      }
      for (const v of invalid) {
        expect(validate({ format }, v).issues, `${format} should reject ${JSON.stringify(v)}`).toEqual([
          { pointer: "", message: `must be a valid ${format}` },
        ]);
      }
    });
  }

  it("numeric formats do not constrain strings of other shapes, and unknown formats pass", () => {
    expect(validate({ format: "email" }, 42).valid).toBe(true);
    expect(validate({ format: "int32" }, true).valid).toBe(true);
    expect(validate({ format: "x-custom" }, "anything").valid).toBe(true);
  });

  it("formats named like Object.prototype members are unknown formats, not calls of those members", () => {
    for (const format of ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"]) {
      expect(validate({ format }, "anything"), format).toMatchObject({ valid: true, issues: [] });
    }
  });
});

describe("schema keywords", () => {
  it("OpenAPI 3.0 spellings: nullable and boolean exclusive bounds", () => {
    expect(validate({ type: "string", nullable: true }, null).valid).toBe(true);
    expect(validate({ type: "number", minimum: 1, exclusiveMinimum: true }, 1).issues).toEqual([
      { pointer: "", message: "must be > 1 (got 1)" },
    ]);
    expect(validate({ type: "number", maximum: 5, exclusiveMaximum: true }, 4.9).valid).toBe(true);
  });

  it("a $ref cycle that never consumes input ends with an error instead of a stack overflow", () => {
    const schema = { $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" };
    const out = validate(schema, 1);
    expect(out.valid).toBe(false);
    expect(out.issues[0]?.message).toMatch(/nested too deeply/);
  });

  it("unevaluatedProperties sees properties declared in allOf", () => {
    const schema = {
      allOf: [{ properties: { a: { type: "string" } } }],
      properties: { b: { type: "string" } },
      unevaluatedProperties: false,
    };
    expect(validate(schema, { a: "x", b: "y" }).valid).toBe(true);
    expect(validate(schema, { a: "x", c: 1 }).issues).toEqual([
      { pointer: "/c", message: "is not allowed (unknown field)" },
    ]);
  });

  it("a discriminator picks the variant whose errors are reported", () => {
    const schema = {
      oneOf: [{ $ref: "#/$defs/cat" }, { $ref: "#/$defs/dog" }],
      discriminator: { propertyName: "kind" },
      $defs: {
        cat: {
          type: "object",
          properties: { kind: { const: "cat" }, lives: { type: "integer" } },
          required: ["kind", "lives"],
        },
        dog: {
          type: "object",
          properties: { kind: { const: "dog" }, bark: { type: "string" } },
          required: ["kind", "bark"],
        },
      },
    };
    expect(validate(schema, { kind: "dog" }).issues).toEqual([{ pointer: "/bark", message: "is required" }]);
  });

  it("anyOf over types names the types when none matches", () => {
    expect(validate({ anyOf: [{ type: "string" }, { type: "integer" }] }, true).issues).toEqual([
      { pointer: "", message: "must be string or integer (got boolean)" },
    ]);
  });

  it("pointer tokens escape / and ~", () => {
    expect(
      validate({ type: "object", properties: { "a/b~c": { type: "string" } } }, { "a/b~c": 1 }).issues,
    ).toEqual([{ pointer: "/a~1b~0c", message: "must be string (got integer)" }]);
  });
});
