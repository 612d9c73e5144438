/**
 * Spec patterns run in linear time (RE2, src/schema/pattern.ts) and no call's arguments
 * can make validation work without bound (src/schema/validate.ts). The up-patterns
 * fixture documents `^(a+)+$`, which a backtracking engine takes 2^n steps to reject on
 * `a…a!`: with native RegExp each of these calls would never finish.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { validate } from "../../../src/schema/validate.ts";
import { call, legacyRequest, modernRequest, postRaw, readJsonRpc } from "../mcp/helpers.ts";
import { upPatterns } from "./fixtures.ts";
import { callTool as execute, jsonOf, recorded, textOf, uniqueId } from "./helpers.ts";

const ENDPOINT = "/v1/up-patterns/mcp";
/** Far beyond what backtracking survives: 30 characters already take seconds. */
const HOSTILE = `${"a".repeat(100_000)}!`;
/**
 * Just as hostile, short enough for the echo of the request to stay under the response
 * size limit (MAX_RESPONSE_BYTES, 100 kB) so the whole body is parsed and validated.
 */
const HOSTILE_ECHO = `${"a".repeat(30_000)}!`;

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

interface ErrorBody {
  error: string;
  message: string;
  errors?: { pointer: string; message: string }[];
}

async function toolsCall(args: Record<string, unknown>): Promise<ToolResult> {
  const { status, body } = await call(
    ENDPOINT,
    legacyRequest("tools/call", { name: "checkArguments", arguments: args }),
  );
  expect(status).toBe(200);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

function errorOf(result: ToolResult): ErrorBody {
  expect(result.isError).toBe(true);
  return JSON.parse(result.content[0]?.text ?? "") as ErrorBody;
}

/** The JSON-RPC body of a tools/call whose `arguments` JSON is written out by hand (too deep to stringify). */
function rawToolsCall(argumentsJson: string): string {
  return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"checkArguments","arguments":${argumentsJson}}}`;
}

// The isolate's first call loads every fixture bundle (~2 s on a busy machine): keep that out of the tests.
beforeAll(async () => {
  await toolsCall({ tag: "warm-up" });
}, 60_000);

describe("spec patterns run in linear time", () => {
  it("rejects a 100,000-character argument against ^(a+)+$ with the pattern error", async () => {
    const body = errorOf(await toolsCall({ text: HOSTILE }));
    expect(body.error).toBe("invalid_arguments");
    expect(body.errors).toEqual([{ pointer: "/text", message: "must match the pattern ^(a+)+$" }]);
  });

  it("accepts and sends a 30,000-character argument that matches", async () => {
    const marker = uniqueId();
    const result = await toolsCall({ text: "a".repeat(30_000), tag: marker });
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(JSON.parse(result.content[0]?.text ?? "").bodyText)).toMatchObject({ tag: marker });
  });

  it("matches patternProperties keys in linear time", async () => {
    const accepted = await toolsCall({ labels: { [HOSTILE_ECHO]: "not matched: any string", aaa: 3 } });
    expect(accepted.isError).toBeFalsy();
    const refused = errorOf(await toolsCall({ labels: { ["a".repeat(100_000)]: "must be an integer" } }));
    expect(refused.errors).toEqual([
      { pointer: `/labels/${"a".repeat(100_000)}`, message: "must be integer (got string)" },
    ]);
  });

  it("keeps DigitalOcean's ^[a-zA-Z0-9_\\-\\:]+$ (valid only without the u flag) and enforces it", async () => {
    expect((await toolsCall({ tag: "env:prod-web_1" })).isError).toBeFalsy();
    const body = errorOf(await toolsCall({ tag: "env prod" }));
    expect(body.errors).toEqual([
      { pointer: "/tag", message: "must match the pattern ^[a-zA-Z0-9_\\-\\:]+$" },
    ]);
  });

  it("skips, never runs natively, a pattern RE2 cannot express that reaches the validator anyway", () => {
    // A catastrophic look-ahead pattern: on RegExp this would not finish.
    const schema = { type: "object", properties: { s: { type: "string", pattern: "^(?=a)(a+)+$" } } };
    expect(validate(schema, { s: HOSTILE })).toMatchObject({ valid: true, issues: [] });
  });

  it("drops a look-ahead pattern at compile time: the constraint is gone, never run natively", async () => {
    const tool = upPatterns.tools.find((t) => t.name === "checkArguments")!;
    const code = (tool.inputSchema.properties as Record<string, Record<string, unknown>>).code!;
    expect(code).toEqual({ type: "string" });
    expect((await toolsCall({ code: "lowercase is not checked" })).isError).toBeFalsy();
  });
});

describe("no call's arguments make validation work without bound", () => {
  it("answers 100,000 levels of nesting with a JSON tool error", async () => {
    const depth = 100_000;
    const res = await postRaw(
      ENDPOINT,
      rawToolsCall(`{"anything":${"[".repeat(depth)}${"]".repeat(depth)}}`),
      {
        headers: { "mcp-protocol-version": "2025-11-25" },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = await readJsonRpc(res);
    const result = body.result as unknown as ToolResult;
    const error = errorOf(result);
    expect(error.error).toBe("invalid_arguments");
    expect(error.errors).toEqual([
      { pointer: "/anything", message: expect.stringContaining("nested more than") },
    ]);
  });

  it("answers deep nesting the same way through the SDK's transports (2026-07-28, SSE)", async () => {
    const depth = 100_000;
    const { message, headers } = modernRequest(
      "tools/call",
      { name: "checkArguments", arguments: {} },
      "checkArguments",
    );
    const raw = JSON.stringify(message).replace(
      '"arguments":{}',
      `"arguments":{"anything":${"[".repeat(depth)}${"]".repeat(depth)}}`,
    );
    for (const accept of ["application/json", "text/event-stream"]) {
      const res = await postRaw(ENDPOINT, raw, { headers, accept });
      expect(res.status).toBe(200);
      const error = errorOf((await readJsonRpc(res)).result as unknown as ToolResult);
      expect(error.errors).toEqual([
        { pointer: "/anything", message: expect.stringContaining("nested more than") },
      ]);
    }
  });

  it("refuses deep nesting inside an argument sent as a JSON string", async () => {
    const depth = 100_000;
    const nested = `{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const error = errorOf(await toolsCall({ options: nested }));
    expect(error.error).toBe("invalid_arguments");
    expect(error.errors).toEqual([
      { pointer: "/options", message: expect.stringContaining("nested more than") },
    ]);
  });

  it("refuses a huge array whose items all need checking, with a JSON tool error", async () => {
    const items = 1_000_000;
    const res = await postRaw(ENDPOINT, rawToolsCall(`{"numbers":[${"1,".repeat(items - 1)}1]}`), {
      headers: { "mcp-protocol-version": "2025-11-25" },
    });
    expect(res.status).toBe(200);
    const error = errorOf((await readJsonRpc(res)).result as unknown as ToolResult);
    expect(error.error).toBe("invalid_arguments");
    expect(error.errors).toEqual([{ pointer: "", message: expect.stringContaining("too large or complex") }]);
  });

  it("checks a 3-million-character string against ^(a+)+$ and answers with the pattern error", async () => {
    const res = await postRaw(ENDPOINT, rawToolsCall(`{"text":"${"a".repeat(3_000_000)}!"}`), {
      headers: { "mcp-protocol-version": "2025-11-25" },
    });
    expect(res.status).toBe(200);
    const error = errorOf((await readJsonRpc(res)).result as unknown as ToolResult);
    expect(error.errors).toEqual([{ pointer: "/text", message: "must match the pattern ^(a+)+$" }]);
  });
});

describe("response validation of a hostile upstream body runs in linear time", () => {
  // The echo upstream (test/support/upstream-server.ts) returns the text it received as
  // `bodyText`, which the spec documents with ^(a+)+$; both modes check it.
  const echoHostile = (mode: string) =>
    execute(upPatterns, "echoText", { body: HOSTILE_ECHO }, { env: { RESPONSE_VALIDATION_MODE: mode } });

  it("strict: the mismatch is reported", async () => {
    const result = await echoHostile("strict");
    expect(result.isError).toBe(true);
    const body = jsonOf<ErrorBody>(result);
    expect(body.error).toBe("response_schema_mismatch");
    expect(body.message).toContain("/bodyText: must match the pattern ^(a+)+$");
  });

  it("warn: the body is checked, then passed through", async () => {
    const result = await echoHostile("warn");
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(textOf(result)).bodyText).toBe(HOSTILE_ECHO);
    expect(await recorded("/up-patterns/api/text")).not.toHaveLength(0);
  });
});
