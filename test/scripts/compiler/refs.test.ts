import { symlink } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileVendor, SpecValidationError } from "../../../scripts/compiler/index.ts";
import {
  decideUrl,
  fetchRemoteDocument,
  isPublicAddress,
  publicOnlyLookup,
} from "../../../scripts/compiler/remote.ts";
import { type LoopbackServer, listenOnLoopback } from "../../support/local-http.ts";
import { FIXTURES, OK_RESPONSE, openapi, tempDir, toolNamed, vendorFixture, writeFiles } from "./helpers.ts";

/** A real local server that serves schema documents and counts every request it gets. */
let server: LoopbackServer;
let origin: string;
const hits: string[] = [];

beforeAll(async () => {
  const documents = createServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url === "/redirect.json") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" }).end();
      return;
    }
    if (req.url === "/local-file-ref.json") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ $ref: "file:///etc/passwd" }));
      return;
    }
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ type: "object", properties: { remote: { type: "boolean" } } }));
  });
  server = await listenOnLoopback(documents);
  origin = server.origin;
});
afterAll(() => server.close());
beforeEach(() => {
  hits.length = 0;
});

/** A vendor whose one response schema is `ref`. */
async function vendorWithRef(
  ref: string,
  vendorJson: object = {},
  extraFiles: Record<string, string | object> = {},
) {
  const root = await tempDir();
  const dir = join(root, "specs", "acme");
  await writeFiles(dir, {
    "vendor.json": { baseUrl: "https://acme.example.com", ...vendorJson },
    "openapi.json": openapi({
      "/x": {
        get: {
          operationId: "getX",
          responses: {
            "200": { description: "ok", content: { "application/json": { schema: { $ref: ref } } } },
          },
        },
      },
    }),
    ...extraFiles,
  });
  return { root, dir };
}

async function refError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpecValidationError);
  return (error as SpecValidationError).problems.map((p) => p.message).join("\n");
}

describe("local references", () => {
  it("resolve to other files inside the vendor folder (JSON and YAML, nested, relative to the referencing file)", async () => {
    const { bundle, summary } = await compileVendor(vendorFixture("refs-local"));
    const tool = toolNamed(bundle, "listPets");
    expect(tool.params).toEqual([
      { key: "limit", name: "limit", in: "query", style: "form", explode: true, required: false },
    ]);
    expect(tool.inputSchema.properties).toEqual({
      limit: { type: "integer", maximum: 100, description: "Page size." },
    });
    expect(tool.responses["200"]!.schema).toEqual({
      type: "array",
      items: {
        type: "object",
        required: ["name"],
        properties: {
          name: { type: "string" },
          owner: { type: "object", properties: { email: { type: "string", format: "email" } } },
        },
      },
    });
    expect(summary.externalDocuments).toEqual(["common.json", "schemas/pet.yaml", "schemas/owner.yaml"]);
  });

  it("a $ref inside an example is data, not a reference (it is neither fetched nor refused)", async () => {
    // refs-local has `example: [{ $ref: "https://example.invalid/..." }]`; compiling at all proves it.
    await expect(compileVendor(vendorFixture("refs-local"))).resolves.toBeDefined();
  });

  it("a reference to a missing file or fragment says so", async () => {
    const missing = await vendorWithRef("./nope.json");
    expect(await refError(compileVendor(missing.dir))).toBe(
      '$ref "./nope.json" points to a file that does not exist (nope.json)',
    );
    const fragment = await vendorWithRef(
      "./schemas.json#/Pet",
      {},
      { "schemas.json": { Owner: { type: "object" } } },
    );
    expect(await refError(compileVendor(fragment.dir))).toBe(
      '$ref "./schemas.json#/Pet" points nowhere in schemas.json ("Pet" does not exist in the document root)',
    );
  });

  it("syntax errors in a referenced file name that file, line and column", async () => {
    const { dir } = await vendorWithRef(
      "./broken.yaml",
      {},
      { "broken.yaml": "type: object\nproperties: [\n" },
    );
    const error = (await compileVendor(dir).catch((e: unknown) => e)) as SpecValidationError;
    expect(error.problems[0]!.message).toBe('$ref "./broken.yaml" points to a document that does not parse');
    expect(error.problems[1]).toMatchObject({
      file: "broken.yaml",
      line: expect.any(Number),
      column: expect.any(Number),
    });
  });
});

describe("references outside the vendor folder are refused unless the vendor opts in", () => {
  it("a file outside the folder (../)", async () => {
    expect(await refError(compileVendor(vendorFixture("refs-outside")))).toBe(
      '$ref "../../outside/shared.yaml" refused: the file is outside the vendor folder; set "allowRemoteRefs" in vendor.json to opt in (list the folder)',
    );
  });

  it("an absolute file: URL", async () => {
    const { dir } = await vendorWithRef("file:///etc/passwd");
    expect(await refError(compileVendor(dir))).toMatch(
      /^\$ref "file:\/\/\/etc\/passwd" refused: the file is outside the vendor folder/,
    );
  });

  it("a symlink inside the folder that points outside it", async () => {
    const { dir } = await vendorWithRef("./linked.yaml");
    await symlink(join(FIXTURES, "outside", "shared.yaml"), join(dir, "linked.yaml"));
    expect(await refError(compileVendor(dir))).toMatch(
      /^\$ref "\.\/linked\.yaml" refused: the file is outside the vendor folder/,
    );
  });

  it("a folder listed in allowRemoteRefs opens exactly that folder", async () => {
    const { root, dir } = await vendorWithRef("../../shared/pet.json", { allowRemoteRefs: ["../../shared"] });
    await writeFiles(root, {
      "shared/pet.json": { type: "object", properties: { shared: { type: "string" } } },
    });
    const { bundle } = await compileVendor(dir);
    expect(toolNamed(bundle, "getX").responses["200"]!.schema).toEqual({
      type: "object",
      properties: { shared: { type: "string" } },
    });
    const other = await vendorWithRef("../../elsewhere/pet.json", { allowRemoteRefs: ["../../shared"] });
    await writeFiles(other.root, { "elsewhere/pet.json": { type: "object" } });
    expect(await refError(compileVendor(other.dir))).toBe(
      '$ref "../../elsewhere/pet.json" refused: the file is outside the vendor folder and not under an allowRemoteRefs folder',
    );
  });

  it("http(s) references by default, without any request being made", async () => {
    const { dir } = await vendorWithRef(`${origin}/schema.json`);
    expect(await refError(compileVendor(dir))).toBe(
      `$ref "${origin}/schema.json" refused: remote references are off for this vendor; set "allowRemoteRefs" in vendor.json to opt in`,
    );
    expect(hits).toEqual([]);
  });

  it("allowRemoteRefs: true still refuses non-public hosts (loopback, trailing-dot localhost, metadata IPs)", async () => {
    for (const url of [
      `${origin}/schema.json`,
      "http://localhost./x.json",
      "http://169.254.169.254/latest",
      "http://[::1]/x",
    ]) {
      const { dir } = await vendorWithRef(url, { allowRemoteRefs: true });
      expect(await refError(compileVendor(dir))).toMatch(
        /could not be fetched: .*not a public (address|host)/,
      );
    }
    expect(hits).toEqual([]);
  });

  it("an allowlisted URL prefix is fetched; other paths on the same host are not", async () => {
    const allowed = await vendorWithRef(`${origin}/schemas/thing.json`, {
      allowRemoteRefs: [`${origin}/schemas/`],
    });
    const { bundle } = await compileVendor(allowed.dir);
    expect(toolNamed(bundle, "getX").responses["200"]!.schema).toEqual({
      type: "object",
      properties: { remote: { type: "boolean" } },
    });
    expect(hits).toEqual(["/schemas/thing.json"]);

    const outside = await vendorWithRef(`${origin}/schemas-evil/x.json`, {
      allowRemoteRefs: [`${origin}/schemas`],
    });
    expect(await refError(compileVendor(outside.dir))).toMatch(
      /refused: the URL is not under any allowRemoteRefs prefix/,
    );
    const traversal = await vendorWithRef(`${origin}/schemas/%2e%2e/admin.json`, {
      allowRemoteRefs: [`${origin}/schemas/`],
    });
    expect(await refError(compileVendor(traversal.dir))).toMatch(
      /refused: the URL is not under any allowRemoteRefs prefix/,
    );
    expect(hits).toEqual(["/schemas/thing.json"]);
  });

  it("redirects are not followed, and a remote document may not reference local files", async () => {
    const redirect = await vendorWithRef(`${origin}/redirect.json`, { allowRemoteRefs: [`${origin}/`] });
    expect(await refError(compileVendor(redirect.dir))).toMatch(
      /could not be fetched: HTTP 302: redirects are not followed/,
    );
    const local = await vendorWithRef(`${origin}/local-file-ref.json`, { allowRemoteRefs: [`${origin}/`] });
    expect(await refError(compileVendor(local.dir))).toContain(
      '$ref "file:///etc/passwd" refused: a remote document may not reference local files',
    );
  });
});

describe("the remote reference policy", () => {
  it("treats only public unicast addresses as public", () => {
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
    ]) {
      expect(isPublicAddress(address)).toBe(false);
    }
    for (const address of [
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "64:ff9b::a00:1",
    ]) {
      expect(isPublicAddress(address)).toBe(false);
    }
    expect(isPublicAddress("8.8.8.8")).toBe(true);
    expect(isPublicAddress("2606:4700:4700::1111")).toBe(true);
    expect(isPublicAddress("not-an-ip")).toBe(false);
  });

  it("checks resolved addresses at connect time, so a name that resolves to loopback is refused", async () => {
    const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup("localhost", { all: true }, (error) => resolve(error)),
    );
    expect(refused?.code).toBe("EREFUSED");
    expect(refused?.message).toMatch(/^localhost resolves to the non-public address (127\.0\.0\.1|::1)$/);
    await expect(fetchRemoteDocument(new URL("http://localhost:9/x"), true)).rejects.toThrow(
      /not a public host/,
    );
    expect(
      decideUrl(new URL("https://schemas.example.com/x"), { vendorDir: ".", allowRemoteRefs: true }),
    ).toEqual({
      allowed: true,
      requirePublic: true,
    });
  });

  it("refuses credentials in URLs and non-http schemes even when opted in", () => {
    const policy = { vendorDir: ".", allowRemoteRefs: true };
    expect(decideUrl(new URL("https://u:p@example.com/x"), policy)).toEqual({
      allowed: false,
      reason: "URLs with credentials are refused",
    });
    expect(decideUrl(new URL("ftp://example.com/x"), policy)).toEqual({
      allowed: false,
      reason: "ftp: references are not supported",
    });
  });
});

it("a spec without external refs is not touched by the bundler", async () => {
  const { dir } = await vendorWithRef("#/components/schemas/A");
  await writeFiles(dir, {
    "openapi.json": openapi(
      { "/x": { get: { operationId: "getX", responses: OK_RESPONSE } } },
      { components: { schemas: { A: { type: "object" } } } },
    ),
  });
  const { summary } = await compileVendor(dir);
  expect(summary.externalDocuments).toEqual([]);
});
