import { describe, expect, it } from "vitest";
import { upBodies } from "./fixtures.ts";
import { callTool, echoOf, jsonOf } from "./helpers.ts";

function bytesOf(base64: string): number[] {
  return [...atob(base64)].map((c) => c.charCodeAt(0));
}

/** Parses a recorded multipart body with the runtime's own parser. */
async function multipartOf(echo: {
  headers: Record<string, unknown>;
  bodyBase64: string;
}): Promise<FormData> {
  const body = Uint8Array.from(bytesOf(echo.bodyBase64));
  return new Response(body, { headers: { "Content-Type": String(echo.headers["content-type"]) } }).formData();
}

describe("request bodies", () => {
  it("JSON, spread from top-level arguments", async () => {
    const echo = echoOf(
      await callTool(upBodies, "createJson", {
        name: "widget",
        count: 3,
        meta: { color: "red" },
        items: [{ sku: "a", qty: 1 }],
      }),
    );
    expect(echo.method).toBe("POST");
    expect(echo.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(echo.bodyText)).toEqual({
      name: "widget",
      count: 3,
      meta: { color: "red" },
      items: [{ sku: "a", qty: 1 }],
    });
  });

  it("JSON, a whole non-object body wrapped in one argument", async () => {
    const echo = echoOf(await callTool(upBodies, "replaceList", { body: ["a", "b"] }));
    expect(echo.method).toBe("PUT");
    expect(JSON.parse(echo.bodyText)).toEqual(["a", "b"]);
  });

  it("form-urlencoded with repeated arrays, deepObject and JSON-encoded members", async () => {
    const echo = echoOf(
      await callTool(upBodies, "submitForm", {
        name: "Jo Doe&co",
        tags: ["a", "b"],
        filter: { status: "open" },
        payload: { k: 1 },
      }),
    );
    expect(echo.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(echo.bodyText).toBe(
      "name=Jo%20Doe%26co&tags=a&tags=b&filter%5Bstatus%5D=open&payload=%7B%22k%22%3A1%7D",
    );
    const parsed = new URLSearchParams(echo.bodyText);
    expect(parsed.getAll("tags")).toEqual(["a", "b"]);
    expect(parsed.get("filter[status]")).toBe("open");
    expect(JSON.parse(parsed.get("payload") ?? "")).toEqual({ k: 1 });
  });

  it("multipart with base64 and text files, JSON parts, repeated parts", async () => {
    const echo = echoOf(
      await callTool(upBodies, "upload", {
        file: {
          content: "AAECA/8=",
          encoding: "base64",
          filename: "data.bin",
          contentType: "application/x-test",
        },
        description: "quarterly report",
        meta: { pages: 3 },
        attachments: [
          { content: "hello", filename: "a.txt", contentType: "text/plain" },
          "plain string file",
        ],
        labels: ["x", "y"],
      }),
    );
    expect(echo.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    const form = await multipartOf(echo);
    const file = form.get("file") as File;
    expect(file.name).toBe("data.bin");
    expect(file.type).toBe("application/x-test");
    expect([...new Uint8Array(await file.arrayBuffer())]).toEqual([0, 1, 2, 3, 255]);
    expect(form.get("description")).toBe("quarterly report");
    const attachments = form.getAll("attachments") as File[];
    expect(attachments.map((a) => a.name)).toEqual(["a.txt", "attachments"]);
    expect(await attachments[0]!.text()).toBe("hello");
    expect(await attachments[1]!.text()).toBe("plain string file");
    expect(form.getAll("labels")).toEqual(["x", "y"]);
    // A non-file object part is JSON with its own content type.
    expect(echo.bodyText).toMatch(/name="meta"\r\nContent-Type: application\/json\r\n\r\n\{"pages":3\}\r\n/);
  });

  it("multipart escapes quotes and line breaks in filenames (no header injection)", async () => {
    const echo = echoOf(
      await callTool(upBodies, "upload", {
        file: { content: "x", filename: 'evil"\r\nContent-Type: text/html\r\n\r\n<script>.txt' },
      }),
    );
    expect(echo.bodyText).toContain(
      'filename="evil%22%0D%0AContent-Type: text/html%0D%0A%0D%0A<script>.txt"',
    );
    expect(echo.bodyText.match(/\r\nContent-Type:/g)).toHaveLength(1);
  });

  it("text/plain", async () => {
    const echo = echoOf(await callTool(upBodies, "sendText", { body: "line 1\nline 2 ✓" }));
    expect(echo.headers["content-type"]).toBe("text/plain");
    expect(echo.bodyText).toBe("line 1\nline 2 ✓");
  });

  it("application/octet-stream from base64, or from text", async () => {
    const echo = echoOf(
      await callTool(upBodies, "sendBinary", { body: { content: "AAECAw==", encoding: "base64" } }),
    );
    expect(echo.headers["content-type"]).toBe("application/octet-stream");
    expect(bytesOf(echo.bodyBase64)).toEqual([0, 1, 2, 3]);
    const text = echoOf(await callTool(upBodies, "sendBinary", { body: "plain ✓" }));
    expect(text.bodyText).toBe("plain ✓");
  });

  it("refuses malformed base64 before sending", async () => {
    const body = jsonOf(
      await callTool(upBodies, "sendBinary", { body: { content: "not base64!", encoding: "base64" } }),
    );
    expect(body).toMatchObject({
      error: "invalid_arguments",
      errors: [{ pointer: "/body/content", message: "must be valid base64" }],
    });
    const upload = jsonOf(
      await callTool(upBodies, "upload", { file: { content: "@@@", encoding: "base64" } }),
    );
    expect(upload).toMatchObject({ errors: [{ pointer: "/file/content", message: "must be valid base64" }] });
  });
});
