/**
 * Argument values that would reach the API changed, or could touch the gateway's own
 * credential (#11 item 8, request side), through real `tools/call` requests against the
 * echoing upstream (fixture vendor up-edge). Refusals are `invalid_arguments` results naming
 * the argument, and the upstream records nothing.
 */
import { describe, expect, it } from "vitest";
import { UPSTREAM_TEST_SECRETS } from "../../support/upstream-bindings.ts";
import type { RecordedRequest } from "../../support/upstream-server.ts";
import { legacyRequest, postRaw, readJsonRpc } from "../mcp/helpers.ts";
import { recorded } from "./helpers.ts";

const KEY = UPSTREAM_TEST_SECRETS.UP_EDGE_API_KEY;

interface ToolOutcome {
  isError: boolean;
  body: Record<string, unknown>;
}

/**
 * Calls an up-edge tool with `argumentsJson` spliced in as raw JSON text, so digits beyond
 * 2^53 and `\ud800` escapes reach the gateway exactly as a client wrote them.
 */
async function callEdge(tool: string, argumentsJson: string): Promise<ToolOutcome> {
  const { message, headers } = legacyRequest("tools/call", { name: tool, arguments: "@ARGS@" });
  const body = JSON.stringify(message).replace('"@ARGS@"', argumentsJson);
  const res = await postRaw("/v1/up-edge/mcp", body, { headers });
  expect(res.status).toBe(200);
  const rpc = await readJsonRpc(res);
  const result = rpc.result as { isError?: boolean; content: { type: string; text: string }[] } | undefined;
  if (result === undefined) throw new Error(`no result: ${JSON.stringify(rpc)}`);
  return { isError: result.isError === true, body: JSON.parse(result.content[0]?.text ?? "null") };
}

async function sent(tool: string, argumentsJson: string): Promise<RecordedRequest> {
  const outcome = await callEdge(tool, argumentsJson);
  if (outcome.isError) throw new Error(`refused: ${JSON.stringify(outcome.body)}`);
  // The upstream's own record: the echo in the result has the gateway's key scrubbed.
  const last = (await recorded(PATHS[tool] ?? tool)).at(-1);
  if (last === undefined) throw new Error(`the upstream recorded no request for ${tool}`);
  return last;
}

/** The operation's path as the upstream records it (every call of the tool contains it). */
const PATHS: Record<string, string> = {
  numbers: "/up-edge/api/numbers/",
  text: "/up-edge/api/text/",
  clashQuery: "/up-edge/api/clash/query",
  clashCookie: "/up-edge/api/clash/cookie",
  clashHeader: "/up-edge/api/clash/header",
};

/** Expects a refusal with exactly these issues, and no request of the tool at the upstream. */
async function refused(
  tool: string,
  argumentsJson: string,
  errors: { pointer: string; message: unknown }[],
): Promise<void> {
  const path = PATHS[tool] ?? tool;
  const before = (await recorded(path)).length;
  const outcome = await callEdge(tool, argumentsJson);
  expect(outcome.isError).toBe(true);
  expect(outcome.body).toMatchObject({ error: "invalid_arguments", vendor: "up-edge", tool, errors });
  expect(outcome.body.errors).toHaveLength(errors.length);
  expect((await recorded(path)).length).toBe(before);
}

describe("integers beyond 2^53", () => {
  const lostDigits = expect.stringContaining(
    "must be an integer from -9007199254740991 to 9007199254740991: a larger JSON number has already lost digits",
  );

  it("refuses an integer argument that JSON parsing has already rounded, naming the field", async () => {
    await refused("numbers", '{"id":123456789012345678901234567890,"count":1,"total":1,"items":[1]}', [
      { pointer: "/id", message: lostDigits },
    ]);
    await refused(
      "numbers",
      '{"id":1,"count":9007199254740993,"total":-9007199254740993,"items":[1,18446744073709551615]}',
      [
        { pointer: "/count", message: lostDigits },
        { pointer: "/total", message: lostDigits },
        { pointer: "/items/1", message: lostDigits },
      ],
    );
  });

  it("sends the largest safe integers digit for digit", async () => {
    const echo = await sent(
      "numbers",
      '{"id":9007199254740991,"count":-9007199254740991,"total":9007199254740991,"items":[-9007199254740991]}',
    );
    expect(echo.path).toBe("/up-edge/api/numbers/9007199254740991");
    expect(echo.rawQuery).toBe("count=-9007199254740991");
    expect(echo.bodyText).toBe('{"total":9007199254740991,"items":[-9007199254740991]}');
  });

  it("writes number parameters in plain decimal, never in exponent notation", async () => {
    const big = await sent("numbers", '{"id":1,"ratio":1e21,"X_Amount":1.5e-7}');
    expect(big.rawQuery).toBe("ratio=1000000000000000000000");
    expect(big.headers["x-amount"]).toBe("0.00000015");
    // A `number` travels as a double: its shortest digits, written out.
    const huge = await sent("numbers", '{"id":1,"ratio":-123456789012345678901234567890}');
    expect(huge.rawQuery).toBe("ratio=-123456789012345680000000000000");
    expect(Number("-123456789012345680000000000000")).toBe(Number("-123456789012345678901234567890"));
  });
});

describe("lone UTF-16 surrogates", () => {
  const surrogate = (where: string) =>
    `must not contain unpaired UTF-16 surrogates (they have no UTF-8 form) (${where})`;

  it.each([
    ["a header", '"X_Note":"note \\ud800"', "/X_Note", "header parameter"],
    ["a cookie", '"pref":"\\udc00x"', "/pref", "cookie parameter"],
    ["a cookie, reversed pair", '"pref":"\\udc00\\ud83d"', "/pref", "cookie parameter"],
    ["a query value", '"q":"x\\ud83d"', "/q", "query"],
    ["a query name from an object", '"filter":{"\\ud800":"x"}', "/filter", "query"],
    ["a form body", '"note":"\\udfff"', "", "body"],
  ])("refuses one in %s, naming the argument", async (_, member, pointer, where) => {
    await refused("text", `{"segment":"s",${member}}`, [{ pointer, message: surrogate(where) }]);
  });

  it("refuses one in a path segment", async () => {
    await refused("text", '{"segment":"s\\ud800","q":"q"}', [
      { pointer: "/segment", message: surrogate("path") },
    ]);
  });

  it("sends well-formed pairs as UTF-8", async () => {
    const echo = await sent(
      "text",
      '{"segment":"\\ud83d\\ude00","q":"\\ud83d\\ude00","X_Note":"\\ud83d\\ude00","pref":"\\ud83d\\ude00","note":"\\ud83d\\ude00"}',
    );
    expect(echo.path).toBe("/up-edge/api/text/%F0%9F%98%80");
    expect(echo.rawQuery).toBe("q=%F0%9F%98%80");
    expect(Buffer.from(echo.headers["x-note"] as string, "latin1").toString("utf8")).toBe("😀");
    expect(echo.headers.cookie).toBe("pref=%F0%9F%98%80");
    expect(echo.bodyText).toBe("note=%F0%9F%98%80");
  });
});

describe("arguments named like the credential's parameter", () => {
  const clash = (where: string, name: string) =>
    `must not set the ${where} parameter ${name}: it carries the vendor credential, which the gateway attaches`;

  it("refuses a query object exploded into the API key's name, in any case", async () => {
    for (const name of ["api_key", "API_KEY"]) {
      await refused("clashQuery", `{"filter":{"q":"1","${name}":"mine"}}`, [
        { pointer: "/filter", message: clash("query", name.toLowerCase()) },
      ]);
    }
  });

  it("refuses a spec parameter that has the API key's name", async () => {
    await refused("clashQuery", '{"filter":{"q":"1"},"api_key":"mine"}', [
      { pointer: "/api_key", message: clash("query", "api_key") },
    ]);
  });

  it("sends other names, and deepObject members, with the gateway's key", async () => {
    const echo = await sent("clashQuery", '{"filter":{"q":"1"},"where":{"api_key":"2"}}');
    expect(echo.rawQuery).toBe(`q=1&where%5Bapi_key%5D=2&api_key=${KEY}`);
  });

  it("refuses a cookie object exploded into the credential cookie's name", async () => {
    await refused("clashCookie", '{"prefs":{"theme":"dark","Edge_Session":"mine"}}', [
      { pointer: "/prefs", message: clash("cookie", "edge_session") },
    ]);
    await refused("clashCookie", '{"session":"s","prefs":{"edge_session":"mine"}}', [
      { pointer: "/prefs", message: clash("cookie", "edge_session") },
    ]);
    const echo = await sent("clashCookie", '{"prefs":{"theme":"dark"},"session":"s"}');
    expect(echo.headers.cookie).toBe(`theme=dark; session=s; edge_session=${KEY}`);
  });

  it("refuses a header parameter with the credential header's name", async () => {
    await refused("clashHeader", '{"x_edge_key":"mine","X_Trace":"t"}', [
      { pointer: "/x_edge_key", message: clash("header", "x-edge-key") },
    ]);
    const echo = await sent("clashHeader", '{"X_Trace":"t"}');
    expect(echo.headers["x-edge-key"]).toBe(KEY);
    expect(echo.headers["x-trace"]).toBe("t");
  });
});
