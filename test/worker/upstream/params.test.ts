import { describe, expect, it } from "vitest";
import { upParams } from "./fixtures.ts";
import { callTool, echoOf, jsonOf, recorded, uniqueId } from "./helpers.ts";

const obj = { R: 100, G: 200, B: 150 };

describe("path parameters", () => {
  it.each([
    ["pathSimple", "/simple/blue/x,y/R,100,G,200,B,150"],
    ["pathSimpleExplode", "/simple-explode/blue/x,y/R=100,G=200,B=150"],
    ["pathLabel", "/label/.blue/.x,y/.R,100,G,200,B,150"],
    ["pathLabelExplode", "/label-explode/.blue/.x.y/.R=100.G=200.B=150"],
    ["pathMatrix", "/matrix/;prim=blue/;arr=x,y/;obj=R,100,G,200,B,150"],
    ["pathMatrixExplode", "/matrix-explode/;prim=blue/;arr=x;arr=y/;R=100;G=200;B=150"],
  ])("%s serializes primitives, arrays and objects", async (tool, expected) => {
    const echo = echoOf(await callTool(upParams, tool, { prim: "blue", arr: ["x", "y"], obj }));
    expect(echo.method).toBe("GET");
    expect(echo.path).toBe(`/up-params/api/path${expected}`);
  });

  it("percent-encodes values so reserved characters stay inside the segment", async () => {
    const echo = echoOf(
      await callTool(upParams, "pathSimple", { prim: "a b/c?d#e\\f%g", arr: ["x,1"], obj }),
    );
    expect(echo.path).toBe("/up-params/api/path/simple/a%20b%2Fc%3Fd%23e%5Cf%25g/x%2C1/R,100,G,200,B,150");
  });
});

describe("path injection (CVE-2026-32871)", () => {
  it.each([
    ["../../admin", "..%2F..%2Fadmin"],
    ["..%2f..%2fadmin", "..%252f..%252fadmin"],
    ["%2e%2e", "%252e%252e"],
    ["..\\..\\admin", "..%5C..%5Cadmin"],
    ["x/../../../etc/passwd", "x%2F..%2F..%2F..%2Fetc%2Fpasswd"],
    ["?admin=1#frag", "%3Fadmin%3D1%23frag"],
    ["//evil.example/x", "%2F%2Fevil.example%2Fx"],
    ["...", "..."],
    ["%2e", "%252e"],
    [".%2E", ".%252E"],
  ])("keeps %j inside its segment under the base path", async (name, encoded) => {
    const echo = echoOf(await callTool(upParams, "getFile", { name }));
    expect(echo.path).toBe(`/up-params/api/files/${encoded}/meta`);
    expect(echo.rawQuery).toBe("");
  });

  it.each([".", ".."])("refuses %j as a whole segment and sends nothing", async (name) => {
    const count = async () =>
      (await recorded("/up-params/api/meta")).length + (await recorded("/up-params/meta")).length;
    const before = await count();
    const result = await callTool(upParams, "getFile", { name });
    expect(result.isError).toBe(true);
    expect(jsonOf(result)).toMatchObject({ error: "invalid_arguments", errors: [{ pointer: "/name" }] });
    expect(await count()).toBe(before);
  });

  it("refuses an empty path value", async () => {
    const body = jsonOf(await callTool(upParams, "getFile", { name: "" }));
    expect(body).toMatchObject({
      error: "invalid_arguments",
      errors: [{ pointer: "/name", message: expect.stringMatching(/empty/) }],
    });
  });
});

describe("query parameters", () => {
  it("form style, explode on and off, for primitives, arrays and objects", async () => {
    const echo = echoOf(
      await callTool(upParams, "queryForm", {
        q: "a b&c=d+é",
        tags: ["x", "y"],
        ids: [1, 2, 3],
        filter: { status: "open", owner: "me" },
        range: { from: 1, to: 5 },
        flag: true,
        limit: 10,
      }),
    );
    expect(echo.rawQuery).toBe(
      "q=a%20b%26c%3Dd%2B%C3%A9&tags=x&tags=y&ids=1,2,3&status=open&owner=me&range=from,1,to,5&flag=true&limit=10",
    );
  });

  it("leaves out absent parameters and empty arrays", async () => {
    const echo = echoOf(await callTool(upParams, "queryForm", { tags: [], flag: false }));
    expect(echo.rawQuery).toBe("flag=false");
  });

  it("spaceDelimited and pipeDelimited", async () => {
    const echo = echoOf(
      await callTool(upParams, "queryDelimited", { space: ["a", "b c"], pipe: ["x", "y|z"], spaceObj: obj }),
    );
    expect(echo.rawQuery).toBe("space=a%20b%20c&pipe=x%7Cy%7Cz&spaceObj=R%20100%20G%20200%20B%20150");
  });

  it("deepObject, including nested objects and arrays", async () => {
    const echo = echoOf(
      await callTool(upParams, "queryDeep", {
        filter: { status: "open", created: { gte: "2024-01-01" }, ids: ["1", "2"] },
      }),
    );
    expect(decodeURIComponent(echo.rawQuery)).toBe(
      "filter[status]=open&filter[created][gte]=2024-01-01&filter[ids][]=1&filter[ids][]=2",
    );
    expect(echo.rawQuery).toContain("filter%5Bstatus%5D=open");
  });

  it("allowReserved keeps reserved characters except the ones that split a query", async () => {
    const url = "https://x.test/cb?a=1&b=2";
    const echo = echoOf(await callTool(upParams, "queryReserved", { callback: url, plain: url }));
    expect(echo.rawQuery).toBe(
      "callback=https://x.test/cb?a%3D1%26b%3D2&plain=https%3A%2F%2Fx.test%2Fcb%3Fa%3D1%26b%3D2",
    );
  });

  it("content-typed parameters are sent as JSON", async () => {
    const echo = echoOf(await callTool(upParams, "queryJson", { where: { a: 1, b: "x y" } }));
    expect(decodeURIComponent(echo.rawQuery)).toBe('where={"a":1,"b":"x y"}');
  });
});

describe("header and cookie parameters", () => {
  it("serializes headers (simple) and cookies (form), from a fresh header set", async () => {
    const id = uniqueId();
    const echo = echoOf(
      await callTool(upParams, "headersAndCookies", {
        X_Trace: id,
        X_List: ["a", "b"],
        X_Obj: { R: 1, G: 2, B: 3 },
        session: "s 1;x",
        prefs: ["dark", "compact"],
      }),
    );
    expect(echo.headers["x-trace"]).toBe(id);
    expect(echo.headers["x-list"]).toBe("a,b");
    expect(echo.headers["x-obj"]).toBe("R=1,G=2,B=3");
    expect(echo.headers.cookie).toBe("session=s%201%3Bx; prefs=dark,compact");
    // Nothing but what the recipe and runtime set.
    expect(echo.headers.authorization).toBeUndefined();
    expect(Object.keys(echo.headers).sort()).toEqual(
      expect.arrayContaining(["accept", "cookie", "host", "user-agent", "x-list", "x-obj", "x-trace"]),
    );
  });

  it.each([
    ["X_Trace", "abc\r\nX-Injected: 1"],
    ["X_Trace", "abc\nX-Injected: 1"],
    ["X_Trace", "a\u0000b"],
    ["session", "abc\r\nSet-Cookie: x=1"],
    ["X_List", ["ok", "bad\rvalue"]],
  ])("rejects CR/LF/NUL in %s as an argument error", async (key, value) => {
    const body = jsonOf(await callTool(upParams, "headersAndCookies", { [key]: value }));
    expect(body).toMatchObject({
      error: "invalid_arguments",
      errors: [{ pointer: `/${key}`, message: expect.stringMatching(/CR, LF or NUL/) }],
    });
  });

  it("sends non-Latin-1 header text as UTF-8 bytes", async () => {
    const echo = echoOf(await callTool(upParams, "headersAndCookies", { X_Trace: "grüße ✓" }));
    const bytes = Uint8Array.from(echo.headers["x-trace"] as string, (c) => c.charCodeAt(0));
    expect(new TextDecoder().decode(bytes)).toBe("grüße ✓");
  });
});
