import { describe, expect, it } from "vitest";
import { compileVendor } from "../../../scripts/compiler/index.ts";
import { toolNamed, vendorFixture } from "./helpers.ts";

describe("parameters", () => {
  it("path styles: simple (default), label, matrix; path-level parameters are inherited", async () => {
    const { bundle } = await compileVendor(vendorFixture("styles"));
    expect(toolNamed(bundle, "pathSimple").params).toEqual([
      { key: "id", name: "id", in: "path", style: "simple", explode: false, required: true },
    ]);
    expect(toolNamed(bundle, "pathSimple").inputSchema).toEqual({
      type: "object",
      properties: { id: { type: "string", description: "Path-level id." } },
      required: ["id"],
      additionalProperties: false,
    });
    expect(toolNamed(bundle, "pathLabelMatrix").params).toEqual([
      { key: "color", name: "color", in: "path", style: "label", explode: false, required: true },
      { key: "point", name: "point", in: "path", style: "matrix", explode: true, required: true },
    ]);
  });

  it("query styles: form (explode default true), spaceDelimited, pipeDelimited, deepObject, allowReserved, content", async () => {
    const tool = toolNamed((await compileVendor(vendorFixture("styles"))).bundle, "queryStyles");
    expect(tool.params).toEqual([
      { key: "plain", name: "plain", in: "query", style: "form", explode: true, required: false },
      { key: "csv", name: "csv", in: "query", style: "form", explode: false, required: false },
      {
        key: "spaced",
        name: "spaced",
        in: "query",
        style: "spaceDelimited",
        explode: false,
        required: false,
      },
      { key: "piped", name: "piped", in: "query", style: "pipeDelimited", explode: false, required: false },
      {
        key: "filter_status",
        name: "filter[status]",
        in: "query",
        style: "deepObject",
        explode: true,
        required: false,
      },
      {
        key: "raw",
        name: "raw",
        in: "query",
        style: "form",
        explode: true,
        required: false,
        allowReserved: true,
      },
      {
        key: "where",
        name: "where",
        in: "query",
        style: "form",
        explode: true,
        required: false,
        contentType: "application/json",
      },
    ]);
    // enum, default and example survive (example → examples).
    expect(tool.inputSchema.properties).toMatchObject({
      plain: { type: "string", enum: ["a", "b"], default: "a", examples: ["b"] },
      filter_status: { type: "object", additionalProperties: { type: "string" } },
      where: { type: "object", properties: { lat: { type: "number" } } },
    });
  });

  it("headers and cookies: unsafe names get safe keys, same name in two places, Idempotency-Key, ignored Accept", async () => {
    const { bundle, summary } = await compileVendor(vendorFixture("styles"));
    const tool = toolNamed(bundle, "headersAndCookies");
    expect(tool.params).toEqual([
      { key: "id", name: "id", in: "query", style: "form", explode: true, required: false },
      {
        key: "X_Api_Version",
        name: "X-Api-Version",
        in: "header",
        style: "simple",
        explode: false,
        required: true,
      },
      // Required in the spec, but the gateway fills it, so callers need not.
      {
        key: "Idempotency_Key",
        name: "Idempotency-Key",
        in: "header",
        style: "simple",
        explode: false,
        required: false,
      },
      { key: "id_header", name: "id", in: "header", style: "simple", explode: false, required: false },
      { key: "session", name: "session", in: "cookie", style: "form", explode: true, required: false },
    ]);
    expect(tool.idempotencyKeyHeader).toBe("Idempotency-Key");
    expect(tool.inputSchema.required).toEqual(["X_Api_Version"]);
    expect(Object.keys(tool.inputSchema.properties as object)).toEqual([
      "id",
      "X_Api_Version",
      "Idempotency_Key",
      "id_header",
      "session",
    ]);
    expect(summary.warnings).toContainEqual({
      pointer: "/paths/~1headers/post/parameters/2",
      message:
        'header parameter "Accept" is ignored (OpenAPI: the Accept header is set from the spec\'s content types and security, not by the caller)',
    });
  });

  it("a body property that clashes with a parameter is renamed deterministically and mapped back", async () => {
    const tool = toolNamed((await compileVendor(vendorFixture("styles"))).bundle, "paramBodyClash");
    expect(tool.params.map((p) => p.key)).toEqual(["name"]);
    expect(tool.body).toEqual({
      mediaType: "application/json",
      encoding: "json",
      required: true,
      mode: "spread",
      properties: { body_name: "name", size: "size", user_email: "user.email" },
    });
    expect(tool.inputSchema.required).toEqual(["name", "body_name", "size"]);
    expect((tool.inputSchema.properties as Record<string, object>).body_name).toEqual({
      type: "string",
      description: "The body's name.",
    });
  });

  it("Swagger 2.0 collectionFormat becomes style/explode; tsv is skipped with a reason", async () => {
    const { bundle, summary } = await compileVendor(vendorFixture("swagger"));
    expect(toolNamed(bundle, "listThings").params).toEqual([
      { key: "csv", name: "csv", in: "query", style: "form", explode: false, required: false },
      { key: "ssv", name: "ssv", in: "query", style: "spaceDelimited", explode: false, required: false },
      { key: "pipes", name: "pipes", in: "query", style: "pipeDelimited", explode: false, required: false },
      { key: "multi", name: "multi", in: "query", style: "form", explode: true, required: false },
      { key: "ids", name: "ids", in: "header", style: "simple", explode: false, required: false },
    ]);
    expect(summary.skipped).toEqual([
      {
        method: "GET",
        path: "/tabs",
        operationId: "tabSeparated",
        reason: 'parameter "cols": Swagger collectionFormat "tsv" has no OpenAPI 3 style',
        pointer: "/paths/~1tabs/get/parameters/0",
      },
    ]);
  });

  it("server URL: vendor.json baseUrl wins (normalized), per-operation servers otherwise", async () => {
    const { bundle } = await compileVendor(vendorFixture("styles"));
    expect(bundle.baseUrl).toBe("https://styles.example.com/v1");
    expect(bundle.tools.every((t) => t.serverUrl === undefined)).toBe(true);
    const swagger = (await compileVendor(vendorFixture("swagger"))).bundle;
    // host + basePath; https preferred over http when the spec lists both schemes.
    expect(swagger.baseUrl).toBe("https://legacy.example.com/api");
  });
});
