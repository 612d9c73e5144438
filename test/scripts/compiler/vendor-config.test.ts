import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CompilerError, compileVendor, VendorConfigError } from "../../../scripts/compiler/index.ts";
import { parseVendorConfig, parseVendorConfigText } from "../../../scripts/compiler/vendor-config.ts";
import { vendorEnvPrefix } from "../../../src/config.ts";
import { OK_RESPONSE, openapi, tempDir, toolNamed, writeFiles } from "./helpers.ts";

function configError(input: unknown): VendorConfigError {
  try {
    parseVendorConfig(input, "specs/acme/vendor.json");
  } catch (error) {
    expect(error).toBeInstanceOf(VendorConfigError);
    return error as VendorConfigError;
  }
  throw new Error("expected a VendorConfigError");
}

const SPEC = openapi(
  {
    "/orders": {
      get: { operationId: "listOrders", tags: ["orders"], responses: OK_RESPONSE },
      post: { operationId: "createOrder", tags: ["orders"], responses: OK_RESPONSE },
    },
    "/orders/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      get: { operationId: "getOrder", tags: ["orders"], responses: OK_RESPONSE },
      delete: { operationId: "deleteOrder", tags: ["orders", "danger"], responses: OK_RESPONSE },
    },
    "/admin/users/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      get: { operationId: "adminGetUser", tags: ["admin"], responses: OK_RESPONSE },
    },
    "/health": { get: { operationId: "health", responses: OK_RESPONSE } },
  },
  {
    servers: [{ url: "https://api.acme.example/v2" }],
    components: {
      securitySchemes: {
        ApiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key" },
        OAuth: {
          type: "oauth2",
          flows: {
            clientCredentials: { tokenUrl: "https://auth.acme.example/token", scopes: { read: "Read" } },
            implicit: { authorizationUrl: "javascript:alert(1)", scopes: {} },
          },
        },
      },
    },
    security: [{ ApiKeyAuth: [] }],
  },
);

async function vendor(config: unknown, name = "acme", files: Record<string, string | object> = {}) {
  const root = await tempDir();
  const dir = join(root, name);
  await writeFiles(dir, { "openapi.json": SPEC, "vendor.json": config as object, ...files });
  return dir;
}

describe("vendor.json validation", () => {
  it("an unknown key names the file, the key and the allowed keys", () => {
    const error = configError({ displayName: "Acme", baseURL: "https://x" });
    expect(error.message).toBe(
      "Invalid vendor configuration: specs/acme/vendor.json\n  - baseURL: unknown key; allowed keys in vendor.json: $schema, displayName, description, baseUrl, auth, include, exclude, resilience, toolMode, healthTool, logArguments, allowRemoteRefs, lenient, limits, tools, mcp",
    );
    expect(configError({ resilience: { maxRetriez: 2 } }).issues).toEqual([
      {
        key: "resilience.maxRetriez",
        message:
          "unknown key; allowed keys in resilience: maxRetries, retryBackoffFactor, circuitBreakerFailureThreshold, circuitBreakerTimeoutSeconds, circuitBreakerHalfOpenProbes, rateLimit, upstreamTimeoutSeconds, toolExecutionTimeoutSeconds, responseValidationMode, sanitizationLevel",
      },
    ]);
  });

  it("auth.header and auth.oauth (MCP vendors) take a header name and a boolean", () => {
    expect(
      parseVendorConfig({ auth: { header: "X-Api-Key", oauth: false } }, "specs/acme/vendor.json").auth,
    ).toEqual({ header: "X-Api-Key", oauth: false });
    expect(configError({ auth: { header: "X-Api-Key\r\nEvil: 1", oauth: "no" } }).issues).toEqual([
      {
        key: "auth.header",
        message: 'expected a header name: letters, digits and -; got "X-Api-Key\\r\\nEvil: 1"',
      },
      { key: "auth.oauth", message: 'expected true or false; got "no"' },
    ]);
  });

  it("bad values say what is allowed and what was given", () => {
    expect(
      configError({
        baseUrl: "ftp://files.acme.example",
        toolMode: "all",
        resilience: { maxRetries: 20, rateLimit: { requestsPerSecond: 0 }, sanitizationLevel: "low" },
        auth: { mode: "team", secrets: { apikey: "ACME_KEY", token: "not a name" } },
        include: { methods: ["FETCH"], paths: ["admin/**"] },
        exclude: {},
        allowRemoteRefs: "yes",
      }).issues,
    ).toEqual([
      { key: "baseUrl", message: 'expected an http(s) URL, not ftp:; got "ftp://files.acme.example"' },
      {
        key: "auth.secrets.apikey",
        message:
          'expected one of "apiKey", "token", "username", "password", "clientId", "clientSecret"; got "apikey"',
      },
      {
        key: "auth.secrets.token",
        message: 'expected a secret (environment variable) name: letters, digits and _; got "not a name"',
      },
      { key: "auth.mode", message: 'expected one of "shared", "user"; got "team"' },
      { key: "include.paths", message: `path globs start with '/'; got ["admin/**"]` },
      {
        key: "include.methods[0]",
        message:
          'expected one of "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"; got "FETCH"',
      },
      {
        key: "exclude",
        message:
          "an empty selector matches nothing; give operationIds, tags, paths or methods (names for an MCP vendor); got {}",
      },
      { key: "resilience.maxRetries", message: "expected an integer from 0 to 10; got 20" },
      {
        key: "resilience.rateLimit.requestsPerSecond",
        message: "expected a number above 0 and at most 10000; got 0",
      },
      {
        key: "resilience.sanitizationLevel",
        message: 'expected one of "DISABLED", "LOW", "MEDIUM", "HIGH"; got "low"',
      },
      { key: "toolMode", message: 'expected one of "tools", "discovery"; got "all"' },
      {
        key: "allowRemoteRefs",
        message: 'expected true, false or an array of allowed URL prefixes / folders; got "yes"',
      },
    ]);
    expect(configError({ baseUrl: "https://user:pw@api.acme.example" }).issues[0]!.message).toMatch(
      /^credentials do not belong in the URL; name them in auth.secrets/,
    );
    expect(configError([]).issues).toEqual([
      { key: "", message: "expected an object (vendor.json); got []" },
    ]);
  });

  it("a syntax error names the line and column", () => {
    expect(() => parseVendorConfigText('{\n  "displayName": "Acme",\n}', "specs/acme/vendor.json")).toThrow(
      "Invalid vendor configuration: specs/acme/vendor.json\n  - (root): JSON syntax error at line 3:1: expected a property name in double quotes, found '}'",
    );
  });

  it("logArguments: a boolean, in the bundle only when true (the Worker's opt-in for tool_call events)", async () => {
    expect(configError({ logArguments: "yes" }).issues).toEqual([
      { key: "logArguments", message: 'expected true (log tool arguments, sanitised) or false; got "yes"' },
    ]);
    expect((await compileVendor(await vendor({ logArguments: true }))).bundle.logArguments).toBe(true);
    expect("logArguments" in (await compileVendor(await vendor({ logArguments: false }))).bundle).toBe(false);
    expect("logArguments" in (await compileVendor(await vendor({}))).bundle).toBe(false);
  });

  it("normalizes: baseUrl without trailing slash, methods upper-cased, one selector becomes a list", () => {
    expect(
      parseVendorConfig(
        {
          $schema: "./vendor.schema.json",
          baseUrl: "https://api.acme.example/v2/",
          include: { methods: ["get"] },
        },
        "vendor.json",
      ),
    ).toEqual({ baseUrl: "https://api.acme.example/v2", include: [{ methods: ["GET"] }] });
  });

  it("vendor env prefix: upper-cased, other characters as _", () => {
    expect(vendorEnvPrefix("my-api2")).toBe("MY_API2");
  });
});

describe("vendor folders", () => {
  it("names outside [a-z0-9-] or too long are rejected with a suggestion", async () => {
    const dir = await vendor({}, "Acme_API");
    await expect(compileVendor(dir)).rejects.toThrow(
      'vendor folder name "Acme_API" is not allowed: use lowercase letters, digits and "-" only (e.g. "acme-api")',
    );
    const long = await vendor({}, "a".repeat(33));
    await expect(compileVendor(long)).rejects.toThrow(/is 33 characters; the limit is 32/);
  });

  it("need vendor.json and exactly one spec file", async () => {
    const root = await tempDir();
    await writeFiles(join(root, "nocfg"), { "openapi.json": SPEC });
    await expect(compileVendor(join(root, "nocfg"))).rejects.toMatchObject({
      code: "vendor_config_missing",
      message: expect.stringContaining("vendor.json is missing"),
    });
    await writeFiles(join(root, "nospec"), { "vendor.json": {} });
    await expect(compileVendor(join(root, "nospec"))).rejects.toMatchObject({
      code: "spec_missing",
      message: expect.stringContaining("expected one of openapi.json, openapi.yaml, openapi.yml"),
    });
    await writeFiles(join(root, "two"), {
      "vendor.json": {},
      "openapi.json": SPEC,
      "openapi.yaml": "openapi: 3.0.3",
    });
    const error = await compileVendor(join(root, "two")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompilerError);
    expect((error as CompilerError).code).toBe("spec_ambiguous");
  });
});

describe("vendor.json settings reach the bundle", () => {
  it("display name, description, auth, resilience, toolMode, health tool by operationId", async () => {
    const { bundle } = await compileVendor(
      await vendor({
        displayName: "Acme",
        description: "Acme's API",
        auth: { scheme: "ApiKeyAuth", secrets: { apiKey: "ACME_API_KEY" }, mode: "shared" },
        resilience: { maxRetries: 1, rateLimit: { enabled: true, requestsPerSecond: 5, burst: 10 } },
        toolMode: "discovery",
        healthTool: "health",
      }),
    );
    expect(bundle).toMatchObject({
      vendor: "acme",
      displayName: "Acme",
      description: "Acme's API",
      baseUrl: "https://api.acme.example/v2",
      auth: { scheme: "ApiKeyAuth", secrets: { apiKey: "ACME_API_KEY" }, mode: "shared" },
      resilience: { maxRetries: 1, rateLimit: { enabled: true, requestsPerSecond: 5, burst: 10 } },
      toolMode: "discovery",
      healthTool: "health",
    });
    expect(toolNamed(bundle, "listOrders").security).toEqual([{ ApiKeyAuth: [] }]);
  });

  it("only http(s) URLs reach OAuth flows", async () => {
    const { bundle, summary } = await compileVendor(await vendor({}));
    expect(bundle.securitySchemes.OAuth).toEqual({
      type: "oauth2",
      flows: { clientCredentials: { tokenUrl: "https://auth.acme.example/token", scopes: { read: "Read" } } },
    });
    expect(summary.warnings).toContainEqual({
      pointer: "/components/securitySchemes/OAuth/flows/implicit/authorizationUrl",
      message: 'OAuth flow "implicit" of "OAuth" dropped: authorizationUrl is not an http(s) URL',
    });
  });

  it("auth.scheme and healthTool must name something in the spec", async () => {
    await expect(compileVendor(await vendor({ auth: { scheme: "Bearer" } }))).rejects.toThrow(
      /auth.scheme: no security scheme "Bearer" in the spec; expected one of "ApiKeyAuth", "OAuth"/,
    );
    await expect(compileVendor(await vendor({ healthTool: "ping" }))).rejects.toThrow(
      /healthTool: no tool or operationId "ping"; expected a tool name such as listOrders, getOrder, adminGetUser, health/,
    );
  });

  it("include/exclude by tag, method, path glob and operationId glob; every filtered operation is reported", async () => {
    const { bundle, summary } = await compileVendor(
      await vendor({
        include: [
          { tags: ["orders"], methods: ["GET", "DELETE"] },
          { paths: ["/admin/**"] },
          { operationIds: ["heal*"] },
        ],
        exclude: [{ tags: ["danger"] }, { operationIds: ["nothing*"] }],
      }),
    );
    expect(bundle.tools.map((t) => t.name)).toEqual(["listOrders", "getOrder", "adminGetUser", "health"]);
    expect(summary.skipped.map((s) => [s.operationId, s.reason])).toEqual([
      ["createOrder", "not matched by vendor.json include"],
      ["deleteOrder", "excluded by vendor.json exclude[0].tags"],
    ]);
    expect(summary.warnings).toContainEqual({ message: "vendor.json exclude[1] matched no operation" });
  });

  it("include narrows (all fields), exclude removes (any field), as the README example reads", async () => {
    const { bundle, summary } = await compileVendor(
      await vendor({
        include: { tags: ["orders"], methods: ["GET", "POST"] },
        exclude: { operationIds: ["createOrder"], paths: ["/orders/{id}"] },
      }),
    );
    expect(bundle.tools.map((t) => t.name)).toEqual(["listOrders"]);
    expect(summary.skipped.map((s) => [s.operationId, s.reason])).toEqual([
      ["createOrder", "excluded by vendor.json exclude.operationIds"],
      ["getOrder", "excluded by vendor.json exclude.paths"],
      ["deleteOrder", "not matched by vendor.json include"],
      ["adminGetUser", "not matched by vendor.json include"],
      ["health", "not matched by vendor.json include"],
    ]);
  });
});
