import { describe, expect, it } from "vitest";
import { SpecValidationError } from "../../../scripts/compiler/errors.ts";
import { findJsonSyntaxError, parseDocumentText } from "../../../scripts/compiler/load.ts";

function problems(text: string, format: "json" | "yaml") {
  try {
    parseDocumentText(text, "spec", format);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecValidationError);
    return (error as SpecValidationError).problems;
  }
  throw new Error("expected a SpecValidationError");
}

describe("loading documents", () => {
  it("YAML anchors and << merge keys work", () => {
    const doc = parseDocumentText(
      "base: &base { type: object, description: shared }\nuse:\n  <<: *base\n  title: merged\n",
      "spec",
      "yaml",
    );
    expect(doc.value).toEqual({
      base: { type: "object", description: "shared" },
      use: { type: "object", description: "shared", title: "merged" },
    });
  });

  it("YAML duplicate keys and empty files are errors with a position", () => {
    expect(problems("a: 1\nb: 2\na: 3\n", "yaml")).toEqual([
      { message: "YAML syntax error: Map keys must be unique", line: 3, column: 1 },
    ]);
    expect(problems("  \n", "yaml")).toEqual([{ message: "the file is empty", line: 1, column: 1 }]);
  });

  it("an alias bomb is refused instead of expanding", () => {
    let yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (let i = 1; i < 12; i++)
      yaml += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(", ")}]\n`;
    expect(problems(yaml, "yaml")[0]!.message).toMatch(/^YAML error: /);
  });

  it("a byte-order mark is fine; JSON positions point at the offending character", () => {
    expect(parseDocumentText('\uFEFF{"a": 1}', "spec", "json").value).toEqual({ a: 1 });
    expect(findJsonSyntaxError('{"a": [1, 2,]}')).toEqual({
      offset: 12,
      message: "expected a value, found ']'",
    });
    expect(findJsonSyntaxError('{"a": "x\ny"}')).toEqual({
      offset: 8,
      message: "control character in string (escape it)",
    });
    expect(findJsonSyntaxError("[1] 2")).toEqual({ offset: 4, message: "unexpected '2' after the document" });
    expect(findJsonSyntaxError('{"a": tru}')).toEqual({ offset: 6, message: "expected a value, found 't'" });
    expect(findJsonSyntaxError('{"a": [1, {"b": null}]}')).toBeUndefined();
  });

  it("positions of values are found by JSON pointer in both formats", () => {
    const yaml = parseDocumentText("paths:\n  /a:\n    get: {}\n  200: x\n", "spec", "yaml");
    expect(yaml.locate("/paths/~1a/get")).toEqual({ line: 3, column: 10 });
    expect(yaml.locate("/paths/200")).toEqual({ line: 4, column: 8 });
    expect(yaml.locate("/paths/nope")).toBeUndefined();
    const json = parseDocumentText('{\n  "list": [\n    1,\n    {"k": true}\n  ]\n}', "spec", "json");
    expect(json.locate("/list/1/k")).toEqual({ line: 4, column: 11 });
  });
});
