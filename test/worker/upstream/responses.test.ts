import { describe, expect, it } from "vitest";
import { PNG_1X1_BASE64 } from "../../support/upstream-bindings.ts";
import { upResponses } from "./fixtures.ts";
import { callTool, echoOf, jsonOf, textOf } from "./helpers.ts";

describe("successful responses", () => {
  it("JSON becomes text plus structuredContent when the tool has an outputSchema", async () => {
    const result = await callTool(upResponses, "getJson", {});
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(textOf(result))).toEqual({ id: 42, name: "widget", tags: ["a", "b"] });
    expect(result.structuredContent).toEqual({ id: 42, name: "widget", tags: ["a", "b"] });
  });

  it("a JSON array is text only (structuredContent must be an object)", async () => {
    const result = await callTool(upResponses, "getArray", {});
    expect(JSON.parse(textOf(result))).toEqual([{ id: 1 }, { id: 2 }]);
    expect(result.structuredContent).toBeUndefined();
  });

  it("text stays text, decoded with its charset", async () => {
    expect(textOf(await callTool(upResponses, "getText", {}))).toBe("plain text answer: grüße");
  });

  it("a successful HTML page is text", async () => {
    expect(textOf(await callTool(upResponses, "getHtml", {}))).toContain("<title>Docs</title>");
  });

  it("images become image content", async () => {
    const result = await callTool(upResponses, "getImage", {});
    expect(result.content).toEqual([{ type: "image", data: PNG_1X1_BASE64, mimeType: "image/png" }]);
  });

  it("other binary becomes an embedded resource", async () => {
    const result = await callTool(upResponses, "getPdf", {});
    const [first] = result.content;
    expect(first).toMatchObject({ type: "resource", resource: { mimeType: "application/pdf" } });
    if (first?.type !== "resource" || !("blob" in first.resource))
      throw new Error("expected a blob resource");
    expect(atob(first.resource.blob)).toBe("%PDF-1.4 fake pdf bytes \u0000\u0001\u0002");
    expect(first.resource.uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/up-responses\/api\/respond\/pdf$/);
  });

  it("an empty body says so", async () => {
    expect(textOf(await callTool(upResponses, "getEmpty", {}))).toMatch(/HTTP 204 .*empty body/);
  });
});

describe("large responses", () => {
  it("text over MAX_RESPONSE_BYTES (default 100,000) is cut with a notice saying how much", async () => {
    const text = textOf(await callTool(upResponses, "getHuge", { bytes: 300_000 }));
    const [kept, notice] = text.split("\n\n[");
    expect(kept).toBe("a".repeat(100_000));
    expect(notice).toBe(
      "Response truncated: showing the first 100,000 of 300,000 bytes; 200,000 bytes were cut. Request less data (filters, fields, a smaller page size) to see the rest.]",
    );
  });

  it("the cap is configurable", async () => {
    const text = textOf(
      await callTool(upResponses, "getHuge", { bytes: 5000 }, { env: { MAX_RESPONSE_BYTES: "2048" } }),
    );
    expect(
      text.startsWith(`${"a".repeat(2048)}\n\n[Response truncated: showing the first 2,048 of 5,000 bytes`),
    ).toBe(true);
  });

  it("a body larger than the counting limit is reported as 'more than'", async () => {
    const text = textOf(await callTool(upResponses, "getHuge", { bytes: 20_000_000 }));
    expect(text).toMatch(/showing the first 100,000 bytes; more than [\d,]+ further bytes were cut/);
  });

  it("a response just under the cap is not cut", async () => {
    const text = textOf(await callTool(upResponses, "getHuge", { bytes: 100_000 }));
    expect(text).toBe("a".repeat(100_000));
  });

  it("binary over MAX_BINARY_RESPONSE_BYTES is not returned, with a notice", async () => {
    const result = await callTool(upResponses, "getHugeBinary", { bytes: 2_000_000 });
    expect(result.content).toHaveLength(1);
    expect(textOf(result)).toBe(
      "[The upstream returned application/octet-stream of 2,000,000 bytes, over the 1,048,576-byte limit for binary results; it was not returned.]",
    );
  });
});

describe("upstream errors", () => {
  it("an HTML error page is reduced to status and title", async () => {
    const result = await callTool(upResponses, "getStatus", { code: 502, kind: "html" });
    expect(result.isError).toBe(true);
    expect(jsonOf(result)).toEqual({
      error: "upstream_error",
      status: 502,
      vendor: "up-responses",
      tool: "getStatus",
      message:
        'HTTP 502 Bad Gateway: upstream returned an HTML error page titled "Upstream & Friends — Error 502"',
    });
    expect(textOf(result)).not.toMatch(/script|stack trace|<h1>/);
  });

  it("a Cloudflare 52x page is recognised as HTML even with a text/plain content type", async () => {
    const body = jsonOf(await callTool(upResponses, "getStatus", { code: 522, kind: "cloudflare" }));
    expect(body.status).toBe(522);
    expect(body.message).toMatch(
      /^HTTP 522\b.*: upstream returned an HTML error page titled "api\.example\.com \| 522: Connection timed out"$/,
    );
    expect(JSON.stringify(body)).not.toContain("Ray ID");
  });

  it("a JSON error gives the upstream's message and details", async () => {
    const body = jsonOf(await callTool(upResponses, "getStatus", { code: 422, kind: "json" }));
    expect(body).toMatchObject({
      error: "upstream_error",
      status: 422,
      vendor: "up-responses",
      tool: "getStatus",
      message: "Validation Failed — name is too short",
      details: { message: "Validation Failed", errors: [{ field: "name", message: "name is too short" }] },
    });
  });

  it("429 carries Retry-After", async () => {
    const body = jsonOf(await callTool(upResponses, "getStatus", { code: 429, kind: "json" }));
    expect(body).toMatchObject({ status: 429, retryAfterSeconds: 7 });
  });

  it("a text error gives the text; an empty one the status line", async () => {
    expect(jsonOf(await callTool(upResponses, "getStatus", { code: 403, kind: "text" })).message).toBe(
      "quota exceeded for today",
    );
    expect(jsonOf(await callTool(upResponses, "getStatus", { code: 503, kind: "empty" })).message).toBe(
      "HTTP 503 Service Unavailable",
    );
  });
});

describe("redirects", () => {
  it("a 303 after POST is followed as GET without the body", async () => {
    const echo = echoOf(await callTool(upResponses, "redirectPost", { note: "x" }));
    expect(echo.method).toBe("GET");
    expect(echo.path).toBe("/up-responses/api/echo/after-post-redirect");
    expect(echo.bodyText).toBe("");
    expect(echo.headers["content-type"]).toBeUndefined();
  });

  it("a redirect loop stops after a bounded number of hops", async () => {
    const body = jsonOf(await callTool(upResponses, "redirect", { kind: "loop" }));
    expect(body).toMatchObject({ error: "redirect_not_followed", status: 302 });
  });
});
