import { execFile } from "node:child_process";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  compileAll,
  compileVendor,
  formatSummary,
  SpecValidationError,
  VendorConfigError,
} from "../../../scripts/compiler/index.ts";
import { validate } from "../../../src/schema/validate.ts";
import { COMPILE_CLI, openapi, tempDir, toolNamed, vendorFixture, writeFiles } from "./helpers.ts";

const run = promisify(execFile);

/** A copy of a fixture vendor with its vendor.json replaced. */
async function fixtureWith(name: string, vendorJson: object): Promise<string> {
  const dir = join(await tempDir(), name);
  await cp(vendorFixture(name), dir, { recursive: true });
  await writeFiles(dir, { "vendor.json": vendorJson });
  return dir;
}

async function specError(dir: string): Promise<SpecValidationError> {
  const error = await compileVendor(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpecValidationError);
  return error as SpecValidationError;
}

describe("strict mode (the default) rejects the vendor, with a hint that points the right way", () => {
  it('type "null" inside a 3.0 anyOf: says nullable, not "Did you mean number"', async () => {
    const error = await specError(await fixtureWith("null-type-30", {}));
    expect(error.message).not.toMatch(/did you mean/i);
    const nullProblems = error.problems.filter((p) => p.message.includes('type "null"'));
    expect(nullProblems.map((p) => p.pointer)).toEqual(
      expect.arrayContaining(["/paths/~1blocks~1latest/get/parameters/0/schema/anyOf/1/type"]),
    );
    expect(nullProblems[0]!.message).toBe(
      'type "null" does not exist in OpenAPI 3.0 (it is OpenAPI 3.1 / JSON Schema): remove the {type: "null"} alternative and put "nullable": true on the schema that holds it (or declare "openapi": "3.1.0" if the spec really is 3.1); "lenient": true in vendor.json does this for you',
    );
  });

  it('"schema": null: says to leave it out or give a schema', async () => {
    const error = await specError(await fixtureWith("null-schema", {}));
    expect(error.problems.map((p) => [p.pointer, p.message])).toEqual([
      [
        "/paths/~1items~1{collection}/get/parameters/1/schema",
        '"schema" is null: leave the key out or give a schema object ({} accepts any value); "lenient": true in vendor.json replaces it with {}',
      ],
      [
        "/paths/~1items~1{collection}/get/responses/200/content/application~1json/schema",
        '"schema" is null: leave the key out or give a schema object ({} accepts any value); "lenient": true in vendor.json replaces it with {}',
      ],
    ]);
  });

  it('"lenient" is validated like every other key', async () => {
    const dir = await fixtureWith("null-schema", { lenient: "yes" });
    const error = await compileVendor(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorConfigError);
    expect((error as VendorConfigError).issues).toEqual([
      {
        key: "lenient",
        message: 'expected true (repair or skip invalid parts) or false (strict); got "yes"',
      },
    ]);
  });
});

describe('lenient mode ("lenient": true) repairs or skips, naming each part', () => {
  it('Blockfrost: {type: "null"} in a 3.0 anyOf becomes nullable; an unrepairable operation alone is skipped', async () => {
    const { bundle, summary } = await compileVendor(vendorFixture("null-type-30"));
    expect(bundle.tools.map((t) => t.name).sort()).toEqual(["getAsset", "latestBlock"]);

    // The repaired parameter keeps its meaning: an integer ≥ 1, or null.
    const page = toolNamed(bundle, "latestBlock").inputSchema;
    expect(validate(page, { page: 2 }).valid).toBe(true);
    expect(validate(page, { page: null }).valid).toBe(true);
    expect(validate(page, { page: 0 }).valid).toBe(false);
    expect(validate(page, { page: "2" }).valid).toBe(false);
    // The response schema (a component) too: metadata may be null, or a Metadata object.
    const response = toolNamed(bundle, "getAsset").responses["200"]!.schema!;
    const withDefs = { ...response, $defs: bundle.schemas };
    expect(validate(withDefs, { asset: "a", metadata: null }).valid).toBe(true);
    expect(validate(withDefs, { asset: "a", metadata: { name: "x" } }).valid).toBe(true);
    expect(validate(withDefs, { asset: "a", metadata: 3 }).valid).toBe(false);
    expect(validate(withDefs, { asset: "a", metadata: { default: null } }).valid).toBe(true);
    expect(validate(withDefs, { asset: "a", metadata: { default: "no" } }).valid).toBe(false);

    expect(summary.operations).toBe(3);
    expect(summary.skipped).toEqual([
      {
        method: "GET",
        path: "/typo",
        operationId: "typo",
        pointer: "/paths/~1typo/get",
        reason: expect.stringMatching(
          /^lenient: skipped \(invalid at \/paths\/~1typo\/get\/parameters\/0\/schema\/type: /,
        ),
      },
    ]);
    const file = expect.stringMatching(/null-type-30\/openapi\.yaml$/);
    expect(summary.warnings).toEqual(
      expect.arrayContaining([
        {
          file,
          pointer: "/paths/~1blocks~1latest/get/parameters/0/schema/anyOf",
          message:
            'lenient: {type: "null"} alternative (not OpenAPI 3.0) removed from anyOf; the schema is marked "nullable": true',
        },
        {
          file,
          pointer: "/components/schemas/Metadata/properties/default/oneOf",
          message:
            'lenient: {type: "null"} alternative (not OpenAPI 3.0) removed from oneOf; the schema is marked "nullable": true',
        },
        {
          file,
          pointer: "/components/schemas/Asset/properties/metadata/anyOf",
          message:
            'lenient: {type: "null"} alternative (not OpenAPI 3.0) removed from anyOf; the schema is marked "nullable": true',
        },
      ]),
    );
    expect(formatSummary(summary)).toMatch(
      /null-type-30\/openapi\.yaml \/paths\/~1blocks~1latest\/get\/parameters\/0\/schema\/anyOf: lenient: /,
    );
  });

  it('Directus: "schema": null becomes "no schema" (any value), and both tools are kept', async () => {
    const { bundle, summary } = await compileVendor(vendorFixture("null-schema"));
    expect(bundle.tools.map((t) => t.name)).toEqual(["readItems", "ping"]);
    const read = toolNamed(bundle, "readItems");
    expect(read.inputSchema.properties).toMatchObject({ meta: {} });
    expect(validate(read.inputSchema, { collection: "c", meta: { any: ["thing"] } }).valid).toBe(true);
    expect(read.responses["200"]).toEqual({ mediaType: "application/json", schema: {} });
    expect(summary.skipped).toEqual([]);
    expect(summary.warnings.map((w) => w.pointer)).toEqual([
      "/paths/~1items~1{collection}/get/parameters/1/schema",
      "/paths/~1items~1{collection}/get/responses/200/content/application~1json/schema",
    ]);
  });

  it("a broken component costs the operations that reach it (through other components), not the vendor", async () => {
    const dir = join(await tempDir(), "broken");
    await writeFiles(dir, {
      "vendor.json": { lenient: true },
      "openapi.json": openapi(
        {
          "/ok": { get: { operationId: "ok", responses: { "200": { description: "ok" } } } },
          "/orders": {
            parameters: [{ $ref: "#/components/parameters/Limit" }],
            get: { operationId: "listOrders", responses: { "200": { description: "ok" } } },
            post: {
              operationId: "createOrder",
              requestBody: {
                content: { "application/json": { schema: { $ref: "#/components/schemas/Wrapper" } } },
              },
              responses: { "200": { description: "ok" } },
            },
          },
        },
        {
          components: {
            parameters: { Limit: { name: "limit", in: "query", schema: { type: "integer" } } },
            schemas: {
              Wrapper: { type: "object", properties: { inner: { $ref: "#/components/schemas/Broken" } } },
              Broken: { type: "object", properties: { n: { type: "integer", minimum: "zero" } } },
            },
          },
        },
      ),
    });
    const { bundle, summary } = await compileVendor(dir);
    expect(bundle.tools.map((t) => t.name)).toEqual(["ok", "listOrders"]);
    expect(summary.skipped).toEqual([
      {
        method: "POST",
        path: "/orders",
        operationId: "createOrder",
        pointer: "/paths/~1orders/post",
        reason: expect.stringMatching(
          /^lenient: skipped \(uses \/components\/schemas\/Broken, invalid at \/components\/schemas\/Broken\/properties\/n\/minimum: /,
        ),
      },
    ]);
    const lenient = summary.warnings.filter((w) => w.message.startsWith("lenient: "));
    expect(lenient.map((w) => [w.pointer, w.message.split(" (")[0]])).toEqual([
      ["/components/schemas/Broken", "lenient: component removed"],
      ["/components/schemas/Wrapper", "lenient: component removed"],
    ]);
  });

  it("Swagger 2.0 definitions and OpenAPI 3.1 path items that are $refs are components too", async () => {
    const root = await tempDir();
    await writeFiles(root, {
      "sw/vendor.json": { lenient: true },
      "sw/openapi.json": {
        swagger: "2.0",
        info: { title: "SW", version: "1" },
        host: "sw.example.com",
        paths: {
          "/ok": { get: { operationId: "ok", responses: { "200": { description: "ok" } } } },
          "/pets": {
            get: {
              operationId: "listPets",
              responses: { "200": { description: "ok", schema: { $ref: "#/definitions/Pet" } } },
            },
          },
        },
        definitions: { Pet: { type: "object", properties: { n: { type: "integer", minimum: "zero" } } } },
      },
      "pi/vendor.json": { lenient: true },
      "pi/openapi.json": {
        openapi: "3.1.0",
        info: { title: "PI", version: "1" },
        paths: {
          "/ok": { get: { operationId: "ok", responses: { "200": { description: "ok" } } } },
          "/shared": { $ref: "#/components/pathItems/Shared" },
        },
        components: {
          pathItems: {
            Shared: {
              get: {
                operationId: "sharedGet",
                parameters: [{ name: "q", in: "query", required: "yes", schema: { type: "string" } }],
                responses: { "200": { description: "ok" } },
              },
              post: { operationId: "sharedPost", responses: { "200": { description: "ok" } } },
            },
          },
        },
      },
    });
    const sw = await compileVendor(join(root, "sw"));
    expect(sw.bundle.tools.map((t) => t.name)).toEqual(["ok"]);
    expect(sw.summary.skipped.map((o) => [o.operationId, o.reason.split(",")[0]])).toEqual([
      ["listPets", "lenient: skipped (uses /definitions/Pet"],
    ]);
    const pi = await compileVendor(join(root, "pi"));
    expect(pi.bundle.tools.map((t) => t.name)).toEqual(["ok"]);
    expect(pi.summary.skipped.map((o) => [o.method, o.path, o.operationId])).toEqual([
      ["GET", "/shared", "sharedGet"],
      ["POST", "/shared", "sharedPost"],
    ]);
    expect(pi.summary.operations).toBe(3);
  });

  it("--check --lenient tries a spec file the same way", async () => {
    const spec = join(vendorFixture("null-schema"), "openapi.json");
    const strict = await run(process.execPath, [COMPILE_CLI, "--check", spec]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(strict).toMatchObject({ code: 1, stderr: expect.stringContaining('"schema" is null') });
    const lenient = await run(process.execPath, [COMPILE_CLI, "--check", spec, "--lenient"]);
    expect(lenient.stdout).toContain(": usable with lenient repairs/skips (see below): OpenAPI 3.0.1");
    expect(lenient.stdout).toContain('lenient: "schema": null replaced with {} (no schema: any value)');
  });

  it("a problem outside every operation and component still fails the vendor", async () => {
    const dir = join(await tempDir(), "root-broken");
    await writeFiles(dir, {
      "vendor.json": { lenient: true },
      "openapi.json": openapi(
        { "/ok": { get: { operationId: "ok", responses: { "200": { description: "ok" } } } } },
        { servers: [{ url: 42 }] },
      ),
    });
    const error = await specError(dir);
    expect(error.problems.map((p) => p.pointer)).toEqual(["/servers/0/url"]);
  });
});

describe("the compile summary says when a vendor will be served in discovery mode", () => {
  it("by toolMode, or by tool count over DISCOVERY_TOOL_THRESHOLD; printed and in summary.json", async () => {
    const root = await tempDir();
    const ops = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `/r${i}`,
          { get: { operationId: `op${i}`, responses: { "200": { description: "ok" } } } },
        ]),
      );
    await writeFiles(join(root, "specs"), {
      "big/vendor.json": {},
      "big/openapi.json": openapi(ops(4)),
      "chosen/vendor.json": { toolMode: "discovery" },
      "chosen/openapi.json": openapi(ops(1)),
      "listed/vendor.json": { toolMode: "tools" },
      "listed/openapi.json": openapi(ops(4)),
      "small/vendor.json": {},
      "small/openapi.json": openapi(ops(3)),
    });
    const out = join(root, "out");
    const result = await compileAll({ specsDir: join(root, "specs"), outDir: out, discoveryThreshold: 3 });
    const served = Object.fromEntries(result.vendors.map((v) => [v.summary.vendor, v.summary.served]));
    expect(served).toEqual({
      big: {
        mode: "discovery",
        reason: '4 tools > DISCOVERY_TOOL_THRESHOLD 3; set "toolMode" in vendor.json to choose',
      },
      chosen: { mode: "discovery", reason: 'vendor.json "toolMode": "discovery"' },
      listed: { mode: "tools", reason: 'vendor.json "toolMode": "tools"' },
      small: { mode: "tools", reason: "3 tools ≤ DISCOVERY_TOOL_THRESHOLD 3" },
    });
    const printed = result.vendors.map((v) => formatSummary(v.summary));
    expect(printed.filter((p) => p.includes("served in discovery mode")).length).toBe(2);
    expect(printed[0]).toContain(
      '  served in discovery mode (search / describe / call tools): 4 tools > DISCOVERY_TOOL_THRESHOLD 3; set "toolMode" in vendor.json to choose',
    );
    const json = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(json.vendors.map((v: { served: { mode: string } }) => v.served.mode)).toEqual([
      "discovery",
      "discovery",
      "tools",
      "tools",
    ]);
  });
});
