/**
 * The gateway's JSON-Schema validator (src/schema/validate.ts) and its formats
 * (src/schema/formats.ts), called directly; argument validation through a tool call
 * is tested in test/worker/upstream/validation.test.ts.
 */
import { describe, expect, it } from "vitest";
import { FORMATS } from "../../../src/schema/formats.ts";
import { validate } from "../../../src/schema/validate.ts";

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
