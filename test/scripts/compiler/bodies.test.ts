import { describe, expect, it } from "vitest";
import { compileVendor } from "../../../scripts/compiler/index.ts";
import { FILE_ARGUMENT_SCHEMA } from "../../../scripts/compiler/operations.ts";
import { toolNamed, vendorFixture } from "./helpers.ts";

const bodies = () => compileVendor(vendorFixture("bodies"));

describe("request bodies", () => {
  it("JSON object: spread into top-level arguments, JSON preferred over other media types, readOnly dropped", async () => {
    const tool = toolNamed((await bodies()).bundle, "jsonSpread");
    expect(tool.body).toEqual({
      mediaType: "application/json; charset=utf-8",
      encoding: "json",
      required: true,
      mode: "spread",
      properties: { name: "name", tag: "tag" },
    });
    expect(tool.inputSchema).toEqual({
      type: "object",
      properties: {
        name: { type: "string", minLength: 1, examples: ["Rex"] },
        tag: { type: ["string", "null"] },
      },
      required: ["name"],
      additionalProperties: false,
    });
  });

  it("JSON array: wrapped in one `body` argument with the body's description", async () => {
    const tool = toolNamed((await bodies()).bundle, "jsonWrap");
    expect(tool.body).toEqual({
      mediaType: "application/json",
      encoding: "json",
      required: false,
      mode: "wrap",
      key: "body",
    });
    expect(tool.inputSchema.properties).toEqual({
      body: {
        type: "array",
        items: {
          type: "object",
          required: ["name"],
          properties: {
            name: { type: "string", minLength: 1, examples: ["Rex"] },
            tag: { type: ["string", "null"] },
          },
        },
        description: "Pets to add.",
      },
    });
    expect(tool.inputSchema.required).toBeUndefined();
  });

  it("allOf of objects (+json suffix) is merged and spread", async () => {
    const tool = toolNamed((await bodies()).bundle, "jsonAllOf");
    expect(tool.body).toMatchObject({
      mediaType: "application/merge-patch+json",
      encoding: "json",
      mode: "spread",
      properties: { name: "name", tag: "tag", reason: "reason" },
    });
    expect(tool.inputSchema.required).toEqual(["name", "reason"]);
  });

  it("form-urlencoded: spread, with per-property style from `encoding`", async () => {
    const tool = toolNamed((await bodies()).bundle, "formBody");
    expect(tool.body).toEqual({
      mediaType: "application/x-www-form-urlencoded",
      encoding: "form",
      required: true,
      mode: "spread",
      properties: { grant_type: "grant_type", scope: "scope" },
      parts: { scope: { style: "spaceDelimited", explode: false } },
    });
  });

  it("multipart: files (single and arrays) take the file argument shape; part content types are kept", async () => {
    const tool = toolNamed((await bodies()).bundle, "multipartUpload");
    expect(tool.body).toEqual({
      mediaType: "multipart/form-data",
      encoding: "multipart",
      required: true,
      mode: "spread",
      properties: { file: "file", attachments: "attachments", meta: "meta" },
      parts: {
        file: { file: true, contentType: "image/png, image/jpeg" },
        attachments: { file: true },
        meta: { contentType: "application/json" },
      },
    });
    expect(tool.inputSchema.properties).toEqual({
      file: { ...FILE_ARGUMENT_SCHEMA, description: "The image." },
      attachments: { type: "array", items: FILE_ARGUMENT_SCHEMA },
      meta: { type: "object", properties: { alt: { type: "string" } } },
    });
    expect(tool.inputSchema.required).toEqual(["file"]);
  });

  it("text and octet-stream bodies are wrapped", async () => {
    const { bundle } = await bodies();
    const text = toolNamed(bundle, "textBody");
    expect(text.body).toEqual({
      mediaType: "text/csv",
      encoding: "text",
      required: true,
      mode: "wrap",
      key: "body",
    });
    expect(text.inputSchema.properties).toEqual({
      body: { type: "string", description: "The request body (text/csv)." },
    });
    const binary = toolNamed(bundle, "binaryBody");
    expect(binary.body).toEqual({
      mediaType: "application/octet-stream",
      encoding: "binary",
      required: true,
      mode: "wrap",
      key: "body",
    });
    expect(binary.inputSchema.properties).toEqual({
      body: { ...FILE_ARGUMENT_SCHEMA, description: "The request body (application/octet-stream)." },
    });
  });

  it("an unsupported required body skips the operation; an unsupported optional one is dropped with a warning", async () => {
    const { bundle, summary } = await bodies();
    expect(summary.skipped).toEqual([
      {
        method: "POST",
        path: "/unsupported-required",
        operationId: "unsupportedRequired",
        reason:
          "request body media type application/vnd.ms-excel not supported (supported: JSON, form-urlencoded, multipart/form-data, text, binary)",
        pointer: "/paths/~1unsupported-required/post/requestBody/content",
      },
    ]);
    expect(toolNamed(bundle, "unsupportedOptional").body).toBeUndefined();
    expect(summary.warnings).toContainEqual({
      pointer: "/paths/~1unsupported-optional/post/requestBody/content",
      message:
        "optional request body media type application/x-protobuf not supported (supported: JSON, form-urlencoded, multipart/form-data, text, binary); the tool sends no body",
    });
  });
});

it("Swagger 2.0 formData becomes a multipart body; a required form field makes the body required", async () => {
  const tool = toolNamed((await compileVendor(vendorFixture("swagger"))).bundle, "uploadPhoto");
  expect(tool.body).toEqual({
    mediaType: "multipart/form-data",
    encoding: "multipart",
    required: true,
    mode: "spread",
    properties: { caption: "caption", file: "file" },
    parts: { file: { file: true } },
  });
  expect(tool.inputSchema.required).toEqual(["id", "file"]);
});
