import { execFile } from "node:child_process";
import { cp, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { checkSpec, SpecValidationError } from "../../../scripts/compiler/index.ts";
import { COMPILE_CLI, invalidFixture, REPO_ROOT, tempDir, vendorFixture, writeFiles } from "./helpers.ts";

const run = promisify(execFile);

async function specError(file: string): Promise<SpecValidationError> {
  const error = await checkSpec(invalidFixture(file)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpecValidationError);
  const specErrorValue = error as SpecValidationError;
  expect(specErrorValue.message.split("\n")[0]).toMatch(/^Specification validation failed: /);
  return specErrorValue;
}

describe("spec errors name what is wrong and where", () => {
  it("missing info: the root pointer and line", async () => {
    const error = await specError("missing-info.yaml");
    expect(error.problems).toEqual([
      { pointer: "", line: 1, column: 1, message: 'missing "info" object (with "title" and "version")' },
    ]);
    expect(error.message).toContain('(document root) line 1:1: missing "info" object');
  });

  it("missing paths (3.0, JSON) and missing paths/components/webhooks (3.1)", async () => {
    expect((await specError("missing-paths.json")).problems).toEqual([
      { pointer: "", line: 1, column: 1, message: 'missing "paths" object' },
    ]);
    expect((await specError("missing-paths-31.yaml")).problems[0]!.message).toBe(
      'missing "paths" object (OpenAPI 3.1 needs at least one of "paths", "components" or "webhooks")',
    );
  });

  it("a dangling $ref says which ref, from where, and what is missing", async () => {
    const error = await specError("dangling-ref.yaml");
    expect(error.problems).toEqual([
      {
        pointer: "/paths/~1pets/get/responses/200/content/application~1json/schema",
        line: 12,
        column: 17,
        message:
          '$ref "#/components/schemas/Pet" points nowhere ("Pet" does not exist in #/components/schemas)',
      },
    ]);
  });

  it("missing, unsupported and unquoted versions", async () => {
    expect((await specError("no-version.yaml")).problems[0]).toMatchObject({
      pointer: "",
      message: 'missing version field: expected "openapi" (3.0.x or 3.1.x) or "swagger" ("2.0")',
    });
    expect((await specError("unsupported-version.yaml")).problems[0]).toMatchObject({
      pointer: "/openapi",
      line: 1,
      message: 'unsupported OpenAPI version "3.2.0": supported are 3.0.x, 3.1.x and Swagger 2.0',
    });
    expect((await specError("swagger-12.json")).problems[0]).toMatchObject({
      pointer: "/swagger",
      message: 'unsupported Swagger version "1.2": only "2.0" (a string; quote it in YAML) is supported',
    });
    expect((await specError("version-number.yaml")).problems[0]).toMatchObject({
      pointer: "/openapi",
      message: '"openapi" must be a string such as "3.1.0", got 3 (quote it in YAML)',
    });
  });

  it("YAML and JSON syntax errors give line and column", async () => {
    expect((await specError("yaml-syntax.yaml")).problems[0]).toMatchObject({
      line: 9,
      column: 5,
      message: expect.stringMatching(/^YAML syntax error: /),
    });
    expect((await specError("json-syntax.json")).problems).toEqual([
      {
        line: 3,
        column: 31,
        message: "JSON syntax error: expected ',' or '}' after property value, found '\"'",
      },
    ]);
  });

  it("parameter location and style errors get their own messages", async () => {
    expect((await specError("bad-param-in.yaml")).problems).toEqual([
      {
        pointer: "/paths/~1a/get/parameters/0/in",
        line: 8,
        column: 15,
        message: 'parameter "in" is "body"; expected one of path, query, header, cookie',
      },
    ]);
    expect((await specError("bad-style.yaml")).problems[0]).toMatchObject({
      pointer: "/paths/~1bad-style/get/parameters/0/style",
      message:
        'parameter style "matrix" is not allowed in query; expected one of form, spaceDelimited, pipeDelimited, deepObject',
    });
  });

  it("schema violations found by the OpenAPI schema validator are mapped to a pointer", async () => {
    expect((await specError("schema-error.yaml")).problems).toEqual([
      {
        pointer: "/paths/~1a/get/responses/200",
        line: 8,
        column: 11,
        message: "must have required property 'description' (description is missing here!)",
      },
    ]);
  });

  it("lists every problem at once", async () => {
    const error = await specError("many.yaml");
    expect(error.problems.map((p) => p.pointer)).toEqual([
      "",
      "/paths/~1a/get/parameters/0",
      "/paths/~1a/get/responses/200/content/application~1json/schema",
    ]);
    expect(error.problems[1]!.message).toBe(
      '$ref "#/components/parameters/Missing" points nowhere ("components" does not exist in the document root)',
    );
  });
});

describe("the CLI", () => {
  it("exits 1, prints the errors and writes nothing when a vendor is invalid", async () => {
    const root = await tempDir();
    const specs = join(root, "specs");
    const out = join(root, "generated");
    await cp(vendorFixture("cycles"), join(specs, "good"), { recursive: true });
    await writeFiles(join(specs, "bad"), { "vendor.json": {} });
    await cp(invalidFixture("many.yaml"), join(specs, "bad", "openapi.yaml"));
    await writeFiles(out, { "README.md": "keep me\n", "old.bundle.ts": "// previous build\n" });

    const result = await run(process.execPath, [COMPILE_CLI, "--specs", specs, "--out", out], {
      cwd: REPO_ROOT,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Specification validation failed");
    expect(result.stderr).toContain('missing "info" object');
    expect(result.stderr).toContain("nothing was written");
    expect((await readdir(out)).sort()).toEqual(["README.md", "old.bundle.ts"]);
    expect(await readFile(join(out, "old.bundle.ts"), "utf8")).toBe("// previous build\n");
  });

  it("--check prints what it found, and exits 1 on an invalid file", async () => {
    const ok = await run(
      process.execPath,
      [COMPILE_CLI, "--check", join(vendorFixture("swagger"), "openapi.json")],
      {
        cwd: REPO_ROOT,
      },
    );
    expect(ok.stdout).toContain("valid Swagger 2.0 (converted to OpenAPI 3.0)");
    expect(ok.stdout).toMatch(/3 tools from 4 operations/);
    expect(ok.stdout).toContain('GET /tabs (tabSeparated): parameter "cols": Swagger collectionFormat "tsv"');
    expect(ok.stdout).toContain("security schemes: key (apiKey), basicAuth (http)");

    const bad = await run(process.execPath, [COMPILE_CLI, "--check", invalidFixture("dangling-ref.yaml")], {
      cwd: REPO_ROOT,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('$ref "#/components/schemas/Pet" points nowhere');
  });

  it("rejects unknown flags with usage and exit code 2", async () => {
    const result = await run(process.execPath, [COMPILE_CLI, "--bogus"], { cwd: REPO_ROOT }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage:");
  });
});
