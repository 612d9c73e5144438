/**
 * Structured content and the advertised output schema (src/upstream/response.ts).
 * The up-output fixture documents a strict widget; the local upstream serves it as
 * documented or drifted (test/support/upstream-server.ts, `/respond/widget/<variant>`).
 * Every result is checked the way MCP clients check it: @cfworker/json-schema against
 * the tool's `outputSchema` as listed.
 */
import { Validator } from "@cfworker/json-schema";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { UPSTREAM_WIDGET as WIDGET } from "../../support/upstream-bindings.ts";
import { toolOf, upOutput } from "./fixtures.ts";
import { callTool, jsonOf } from "./helpers.ts";

const getWidget = toolOf(upOutput, "getWidget");
const clientValidator = new Validator(getWidget.outputSchema as never, "2020-12", false);

interface MismatchBody {
  error: string;
  status: number;
  vendor: string;
  tool: string;
  message: string;
  errors?: Array<{ pointer: string; message: string }>;
  data?: unknown;
}

function widget(variant: string, env?: Record<string, string>): Promise<CallToolResult> {
  return callTool(upOutput, "getWidget", { variant }, env ? { env } : {});
}

/** What every MCP client requires: valid structured content, or an error result. */
function expectProtocolValid(result: CallToolResult): void {
  if (result.isError) return;
  expect(result.structuredContent).toBeDefined();
  expect(clientValidator.validate(result.structuredContent).valid).toBe(true);
}

function mismatchOf(result: CallToolResult): MismatchBody {
  expect(result.isError).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  const body = jsonOf<MismatchBody>(result);
  expect(body).toMatchObject({
    error: "output_schema_mismatch",
    status: 200,
    vendor: "up-output",
    tool: "getWidget",
  });
  expect(body.message).toMatch(/^The upstream answered HTTP 200 OK, so the call went through, but /);
  return body;
}

describe("a body the output schema fits becomes structured content", () => {
  it("the documented widget", async () => {
    const result = await widget("exact");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual(WIDGET);
    expect(jsonOf(result)).toEqual(WIDGET);
    expectProtocolValid(result);
  });

  // Each drifts from the documented schema (strict validation rejects all of them) but
  // is still a widget: the tolerant output schema lets it through, under the default `warn`.
  it.each([
    ["extra fields", "extra"],
    ["missing required fields", "missing"],
    ["nulls, including a null where a oneOf is documented", "nulls"],
    ["values outside enums, formats, patterns and limits", "odd"],
    ["JSON served without a content type", "untyped"],
  ])("%s", async (_, variant) => {
    const result = await widget(variant);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual(jsonOf(result));
    expectProtocolValid(result);
  });

  it("each of those is drift the full schema rejects in strict mode (strict keeps its behaviour)", async () => {
    for (const variant of ["extra", "missing", "nulls", "odd"]) {
      const result = await widget(variant, { RESPONSE_VALIDATION_MODE: "strict" });
      expect(result.isError).toBe(true);
      expect(jsonOf(result).error).toBe("response_schema_mismatch");
    }
    expect((await widget("exact", { RESPONSE_VALIDATION_MODE: "strict" })).structuredContent).toEqual(WIDGET);
  });

  it("sanitization runs first, and a redacted object is still valid structured content", async () => {
    const result = await widget("exact", { SANITIZATION_LEVEL: "LOW" });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ ...WIDGET, token: "[REDACTED]" });
    expect(jsonOf(result)).toEqual({ ...WIDGET, token: "[REDACTED]" });
    expectProtocolValid(result);
  });
});

describe("a body of another shape is an error result that carries the data", () => {
  it("a string where an object belongs", async () => {
    const result = await widget("mismatch");
    const body = mismatchOf(result);
    expect(body.errors).toEqual([{ pointer: "/owner", message: "must be object or null (got string)" }]);
    expect(body.message).toContain("/owner must be object or null (got string)");
    expect(body.data).toEqual({ ...WIDGET, owner: "ada" });
  });

  it("also with validation off: it is protocol, not policy", async () => {
    const body = mismatchOf(await widget("mismatch", { RESPONSE_VALIDATION_MODE: "off" }));
    expect(body.data).toEqual({ ...WIDGET, owner: "ada" });
  });

  it("sanitized before it is returned as data", async () => {
    const body = mismatchOf(await widget("mismatch", { SANITIZATION_LEVEL: "LOW" }));
    expect(body.data).toMatchObject({ token: "[REDACTED]", owner: "ada" });
    expect(JSON.stringify(body)).not.toContain("s3cret-token");
  });

  it("an array where the object belongs", async () => {
    const body = mismatchOf(await widget("array"));
    expect(body.errors).toEqual([{ pointer: "", message: "must be object (got array)" }]);
    expect(body.data).toEqual([WIDGET]);
  });

  it("JSON that does not parse", async () => {
    const body = mismatchOf(await widget("malformed"));
    expect(body.message).toContain("not valid JSON");
    expect(body.data).toBe('{"id": 1, "name": ');
  });

  it("text instead of JSON", async () => {
    const body = mismatchOf(await widget("text"));
    expect(body.message).toContain("the body is text/plain");
    expect(body.data).toBe("widget 1: gear");
  });

  it("an empty body", async () => {
    const body = mismatchOf(await widget("empty"));
    expect(body.message).toContain("the body is empty");
    expect(body).not.toHaveProperty("data");
  });
});

describe("a body cut at MAX_RESPONSE_BYTES cannot be structured content", () => {
  const CUT = { MAX_RESPONSE_BYTES: "1024" };

  it("is an error result with the part kept and the truncation notice", async () => {
    const body = mismatchOf(await widget("big", CUT));
    expect(body.message).toContain(
      "[Response truncated: showing the first 1,024 of 3,213 bytes; 2,189 bytes were cut.",
    );
    expect(typeof body.data).toBe("string");
    expect((body.data as string).length).toBe(1024);
    expect(body.data as string).toMatch(/^\{"id":1,"name":"gear"/);
    // Without sanitization the secrets are there: the next test shows what sanitization removes.
    expect(body.data as string).toContain('"password":"hunter2"');
    expect(body.data as string).toContain('"secret":"SSSS');
  });

  it("the part kept is sanitized too, a secret split by the cut included", async () => {
    const body = mismatchOf(await widget("big", { ...CUT, SANITIZATION_LEVEL: "LOW" }));
    const data = body.data as string;
    expect(data).toContain('"token":"[REDACTED]"');
    expect(data).toContain('"password":"[REDACTED]"');
    expect(data.endsWith('"secret":"[REDACTED]"')).toBe(true);
    expect(data).not.toMatch(/s3cret|hunter2|SSS/);
    expect(data).toContain(`"notes":"${"n".repeat(620)}"`);
  });

  it("a tool without an output schema keeps text plus notice, sanitized", async () => {
    // The same tool without its output schema: the cut JSON stays text, still sanitized.
    const { outputSchema: _, ...schemaless } = getWidget;
    const bundle = { ...upOutput, tools: [schemaless] };
    const result = await callTool(
      bundle,
      "getWidget",
      { variant: "big" },
      { env: { ...CUT, SANITIZATION_LEVEL: "LOW" } },
    );
    expect(result.isError).toBeFalsy();
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/"password":"\[REDACTED\]".*"secret":"\[REDACTED\]"\n\n\[Response truncated: /s);
    expect(text).not.toMatch(/hunter2|SSS/);
  });
});
