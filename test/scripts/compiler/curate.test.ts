import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileVendor, VendorConfigError } from "../../../scripts/compiler/index.ts";
import { parseVendorConfig } from "../../../scripts/compiler/vendor-config.ts";
import { OK_RESPONSE, openapi, tempDir, toolNamed, writeFiles } from "./helpers.ts";

const SPEC = openapi({
  "/repos/{owner}/{repo}/issues": {
    parameters: [
      { name: "owner", in: "path", required: true, schema: { type: "string", pattern: "^[a-z-]+$" } },
      { name: "repo", in: "path", required: true, schema: { type: "string" } },
    ],
    get: {
      operationId: "issues/list-for-repo",
      summary: "List issues",
      parameters: [
        { name: "state", in: "query", schema: { type: "string", enum: ["open", "closed", "all"] } },
        { name: "per_page", in: "query", schema: { type: "integer", maximum: 100 } },
      ],
      responses: OK_RESPONSE,
    },
  },
  "/health": { get: { operationId: "health", responses: OK_RESPONSE } },
});

async function vendor(tools: unknown, name = "acme") {
  const dir = join(await tempDir(), name);
  await writeFiles(dir, {
    "openapi.json": SPEC,
    "vendor.json": { baseUrl: "https://api.acme.example", tools } as object,
  });
  return dir;
}

async function configError(tools: unknown): Promise<VendorConfigError> {
  const error = await compileVendor(await vendor(tools)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(VendorConfigError);
  return error as VendorConfigError;
}

describe("vendor.json tools: curating generated tools", () => {
  it("renames a tool, rewrites title and description, and hides fixed arguments from its schema", async () => {
    const { bundle, summary } = await compileVendor(
      await vendor({
        // Keyed by operationId (the generated name is issues_list-for-repo).
        "issues/list-for-repo": {
          name: "list_our_issues",
          title: "Our issues",
          description: "Issues of the acme/site repository.",
          fixed: { owner: "acme", repo: "site", per_page: 50 },
        },
        health: { title: "Health" },
      }),
    );
    expect(bundle.tools.map((t) => t.name)).toEqual(["list_our_issues", "health"]);
    expect(summary.renamed).toEqual([
      { name: "list_our_issues", from: "issues/list-for-repo", reasons: ["sanitized", "vendor.json"] },
    ]);
    const tool = toolNamed(bundle, "list_our_issues");
    expect(tool.title).toBe("Our issues");
    expect(tool.description).toBe("Issues of the acme/site repository.");
    expect(tool.fixed).toEqual({ owner: "acme", repo: "site", per_page: 50 });
    expect(Object.keys(tool.inputSchema.properties as object)).toEqual(["state"]);
    expect(tool.inputSchema.required).toBeUndefined();
    expect(tool.inputSchema.additionalProperties).toBe(false);
    // The wire recipe is unchanged: the executor fills the fixed arguments in.
    expect(tool.params.map((p) => p.key)).toEqual(["owner", "repo", "state", "per_page"]);
    expect(toolNamed(bundle, "health").title).toBe("Health");
    expect(toolNamed(bundle, "health").fixed).toBeUndefined();
  });

  it("keeps the remaining required arguments and accepts the generated tool name as key", async () => {
    const { bundle } = await compileVendor(
      await vendor({ "issues_list-for-repo": { fixed: { owner: "acme" } } }),
    );
    const tool = toolNamed(bundle, "issues_list-for-repo");
    expect(tool.inputSchema.required).toEqual(["repo"]);
    expect(Object.keys(tool.inputSchema.properties as object)).toEqual(["repo", "state", "per_page"]);
  });

  it("swapping two names is not a collision", async () => {
    const { bundle } = await compileVendor(
      await vendor({ health: { name: "issues_list-for-repo" }, "issues_list-for-repo": { name: "health" } }),
    );
    expect(bundle.tools.map((t) => [t.name, t.operationId])).toEqual([
      ["health", "issues/list-for-repo"],
      ["issues_list-for-repo", "health"],
    ]);
  });

  it("an override naming no tool, a fixed argument naming no argument and a value its schema refuses fail with vendor.json and the key", async () => {
    const error = await configError({
      ping: { title: "Ping" },
      "issues/list-for-repo": { fixed: { owner: "Not Lowercase", per_page: 500, labels: "bug" } },
      health: { fixed: { verbose: true } },
    });
    expect(error.message).toContain("Invalid vendor configuration: ");
    expect(error.message).toContain("vendor.json");
    expect(error.issues.map((i) => i.key)).toEqual([
      "tools.ping",
      "tools.issues/list-for-repo.fixed.owner",
      "tools.issues/list-for-repo.fixed.per_page",
      "tools.issues/list-for-repo.fixed.labels",
      "tools.health.fixed.verbose",
    ]);
    expect(error.message).toMatch(/tools\.ping: no tool or operationId "ping"/);
    expect(error.message).toMatch(
      /fixed\.owner: the fixed value does not fit the argument's schema \(\/owner: /,
    );
    expect(error.message).toMatch(/fixed\.per_page: the fixed value does not fit/);
    expect(error.message).toMatch(
      /fixed\.labels: tool "issues_list-for-repo" has no argument "labels"; expected one of owner, repo, state, per_page/,
    );
    expect(error.message).toMatch(/fixed\.verbose: tool "health" has no argument "verbose"; it takes none/);
  });

  it("a new name must not collide, must fit the vendor's length limit, and must not be claimed twice", async () => {
    const collide = await configError({ health: { name: "issues_list-for-repo" } });
    expect(collide.issues).toEqual([
      {
        key: "tools.health.name",
        message: '"issues_list-for-repo" is already the name of tool "issues_list-for-repo"',
      },
    ]);
    const long = await configError({ health: { name: "h".repeat(60) } });
    expect(long.issues[0]?.key).toBe("tools.health.name");
    expect(long.issues[0]?.message).toMatch(/is 60 characters; the limit for this vendor is 59/);
    const same = await configError({
      "issues/list-for-repo": { title: "A" },
      "issues_list-for-repo": { title: "B" },
    });
    expect(same.issues).toEqual([
      {
        key: "tools.issues_list-for-repo",
        message: "names the same tool as tools.issues/list-for-repo; merge them",
      },
    ]);
  });

  it("refuses fixing the gateway's idempotency key or the argument that carries the vendor's API key", async () => {
    const dir = join(await tempDir(), "keys");
    await writeFiles(dir, {
      "openapi.json": openapi(
        {
          "/charges": {
            post: {
              operationId: "createCharge",
              parameters: [
                { name: "Idempotency-Key", in: "header", schema: { type: "string" } },
                { name: "api_key", in: "query", schema: { type: "string" } },
                { name: "amount", in: "query", schema: { type: "integer" } },
              ],
              responses: OK_RESPONSE,
            },
          },
        },
        {
          components: { securitySchemes: { Key: { type: "apiKey", in: "query", name: "api_key" } } },
          security: [{ Key: [] }],
        },
      ),
      "vendor.json": {
        baseUrl: "https://api.acme.example",
        tools: { createCharge: { fixed: { Idempotency_Key: "k1", api_key: "sk_live", amount: 5 } } },
      },
    });
    const error = (await compileVendor(dir).catch((e: unknown) => e)) as VendorConfigError;
    expect(error).toBeInstanceOf(VendorConfigError);
    expect(error.issues).toEqual([
      {
        key: "tools.createCharge.fixed.Idempotency_Key",
        message:
          '"Idempotency_Key" is the idempotency key the gateway fills with a fresh value per call; a fixed one would make every call look like a retry of the first',
      },
      {
        key: "tools.createCharge.fixed.api_key",
        message:
          '"api_key" carries the vendor\'s API key; credentials belong in auth.secrets, never in vendor.json',
      },
    ]);
  });

  it("vendor.json shape: names, bounded title and description, no empty or unknown fields", () => {
    const bad = (tools: unknown) => {
      try {
        parseVendorConfig({ tools }, "specs/acme/vendor.json");
      } catch (error) {
        return (error as VendorConfigError).issues;
      }
      throw new Error("expected a VendorConfigError");
    };
    expect(bad({ t: { name: "has space" } })).toEqual([
      { key: "tools.t.name", message: 'expected a tool name of letters, digits, _ and -; got "has space"' },
    ]);
    expect(bad({ t: { description: "x".repeat(1025) } })[0]?.key).toBe("tools.t.description");
    expect(bad({ t: { title: "x".repeat(201) } })[0]?.key).toBe("tools.t.title");
    expect(bad({ t: {} })[0]?.message).toMatch(/an empty override changes nothing/);
    expect(bad({ t: { fixed: {} } })[0]?.message).toMatch(/expected at least one fixed argument/);
    expect(bad({ t: { rename: "x" } })[0]).toMatchObject({ key: "tools.t.rename" });
    expect(bad({ t: { rename: "x" } })[0]?.message).toMatch(
      /unknown key; allowed keys in a tool override: name, title, description, fixed/,
    );
    expect(bad([])[0]?.key).toBe("tools");
  });
});
