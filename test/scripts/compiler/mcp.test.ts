/**
 * MCP vendors in the compiler: vendor.json `mcp` compiles to a `kind: "mcp"` bundle, what cannot
 * work is refused with the key and the fix, and `--snapshot` fetches a real local MCP server's
 * tool list (the v1 SDK server over streamable HTTP, stateful) into `mcp-tools.json`.
 */
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CompileFailedError,
  CompilerError,
  compileAll,
  compileVendor,
  formatSummary,
  MCP_SNAPSHOT_FILE,
  SpecValidationError,
  VendorConfigError,
} from "../../../scripts/compiler/index.ts";
import { SSE_TRANSPORT_REFUSED } from "../../../scripts/compiler/vendor-config.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { type LoopbackServer, listenOnLoopback } from "../../support/local-http.ts";
import { COMPILE_CLI, OK_RESPONSE, openapi, REPO_ROOT, tempDir, writeFiles } from "./helpers.ts";

const URL_OK = "https://mcp.acme.example/mcp";

async function mcpVendor(vendorJson: object, extra: Record<string, string | object> = {}, name = "acme") {
  const dir = join(await tempDir(), name);
  await writeFiles(dir, { "vendor.json": vendorJson, ...extra });
  return dir;
}

async function failure(
  vendorJson: object,
  extra: Record<string, string | object> = {},
): Promise<CompilerError> {
  const error = await compileVendor(await mcpVendor(vendorJson, extra)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CompilerError);
  return error as CompilerError;
}

async function configIssues(vendorJson: object, extra: Record<string, string | object> = {}) {
  const error = await failure(vendorJson, extra);
  expect(error).toBeInstanceOf(VendorConfigError);
  return (error as VendorConfigError).issues;
}

describe("an MCP vendor without a snapshot", () => {
  it("compiles vendor.json settings into a kind: mcp bundle with no tools", async () => {
    const { bundle, summary } = await compileVendor(
      await mcpVendor({
        displayName: "Acme MCP",
        description: "Acme's MCP server",
        mcp: {
          url: URL_OK,
          transport: "streamable-http",
          onDefinitionChange: "withhold",
          toolListTtlSeconds: 60,
          toolListPerUser: true,
          maxDescriptionChars: 500,
        },
        auth: { mode: "user", secrets: { token: "ACME_MCP_TOKEN" } },
        include: { names: ["search_*", "get_?"] },
        exclude: [{ names: ["*_admin"] }, { names: ["drop_*"] }],
        resilience: { maxRetries: 1 },
        toolMode: "discovery",
        healthTool: "ping.tool",
        tools: {
          "ping.tool": { name: "ping_tool", description: "Checks the server." },
          search_docs: { fixed: { lang: "en" } },
        },
      }),
    );
    expect(bundle).toMatchObject({
      kind: "mcp",
      vendor: "acme",
      displayName: "Acme MCP",
      description: "Acme's MCP server",
      specTitle: "Acme MCP",
      specVersion: "",
      securitySchemes: {},
      schemas: {},
      tools: [],
      auth: { mode: "user", secrets: { token: "ACME_MCP_TOKEN" } },
      resilience: { maxRetries: 1 },
      toolMode: "discovery",
      // Named as the gateway lists it: the override's new name.
      healthTool: "ping_tool",
    });
    expect(bundle.mcp).toEqual({
      url: URL_OK,
      onDefinitionChange: "withhold",
      toolListTtlSeconds: 60,
      toolListPerUser: true,
      maxDescriptionChars: 500,
      include: ["search_*", "get_?"],
      exclude: ["*_admin", "drop_*"],
      toolOverrides: {
        "ping.tool": { name: "ping_tool", description: "Checks the server." },
        search_docs: { fixed: { lang: "en" } },
      },
    });
    expect(bundle.mcpTools).toBeUndefined();
    expect(bundle.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.mcp).toEqual({ url: URL_OK, tools: "live" });
    expect(summary.specFile).toBe("vendor.json");
    expect(summary.served).toEqual({ mode: "discovery", reason: 'vendor.json "toolMode": "discovery"' });
    expect(formatSummary(summary)).toContain(`acme: MCP server ${URL_OK} — tools fetched live at run time`);
  });

  it("keeps the endpoint as written (a trailing slash can matter to the server) and allows http to loopback", async () => {
    for (const url of [
      "https://mcp.acme.example/v1/mcp/",
      "http://127.0.0.1:8788/mcp",
      "http://localhost/mcp",
    ]) {
      const { bundle } = await compileVendor(await mcpVendor({ mcp: { url } }));
      expect(bundle.mcp?.url).toBe(url);
      expect(bundle.displayName).toBe("acme");
    }
  });

  it.each([
    ["ftp://mcp.acme.example/mcp", "expected an https URL, not ftp:"],
    ["/mcp", "expected the server's absolute https URL"],
    [
      "https://user:secret@mcp.acme.example/mcp",
      "credentials do not belong in the URL; name them in auth.secrets",
    ],
    ["https://mcp.acme.example/mcp?key=secret", "expected a URL without query string or fragment"],
    ["https://mcp.acme.example/mcp#x", "expected a URL without query string or fragment"],
    ["http://mcp.acme.example/mcp", "plain http is allowed only to localhost or 127.0.0.1"],
    ["http://10.0.0.8/mcp", "plain http is allowed only to localhost or 127.0.0.1"],
  ])("refuses mcp.url %s", async (url, message) => {
    const issues = await configIssues({ mcp: { url } });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.key).toBe("mcp.url");
    expect(issues[0]!.message).toContain(message);
    // The secret is not echoed back in a way that matters more than the file already does, and the
    // message says what to do.
  });

  it("refuses the legacy HTTP+SSE transport, saying why and what to point the vendor at", async () => {
    const issues = await configIssues({ mcp: { url: "https://mcp.acme.example/sse", transport: "sse" } });
    expect(issues).toEqual([{ key: "mcp.transport", message: `${SSE_TRANSPORT_REFUSED}; got "sse"` }]);
    expect(SSE_TRANSPORT_REFUSED).toMatch(/stateless/);
    expect(SSE_TRANSPORT_REFUSED).toMatch(/streamable HTTP endpoint/);
  });

  it("warns when the URL looks like a legacy SSE endpoint", async () => {
    const { summary } = await compileVendor(
      await mcpVendor({ mcp: { url: "https://mcp.acme.example/sse" } }),
    );
    expect(summary.warnings.map((w) => w.message).join("\n")).toMatch(/ends in \/sse/);
  });

  it("refuses an OpenAPI file next to mcp", async () => {
    const error = await failure(
      { mcp: { url: URL_OK } },
      { "openapi.json": openapi({ "/x": { get: { responses: OK_RESPONSE } } }) },
    );
    expect(error.code).toBe("spec_ambiguous");
    expect(error.message).toMatch(/vendor\.json has "mcp" and the folder has openapi\.json/);
  });

  it("refuses settings that only an OpenAPI vendor has, and selectors that select nothing", async () => {
    const issues = await configIssues({
      mcp: { url: URL_OK },
      baseUrl: "https://api.acme.example",
      lenient: true,
      auth: { scheme: "bearerAuth" },
      include: { paths: ["/x"], names: ["a*"] },
      exclude: [{ operationIds: ["x"] }, { names: ["b"] }],
    });
    expect(issues.map((i) => i.key)).toEqual([
      "baseUrl",
      "lenient",
      "auth.scheme",
      "include.paths",
      "exclude[0].operationIds",
    ]);
    expect(issues[3]!.message).toMatch(/select them by upstream tool name with "names"/);
  });

  it("refuses names in an OpenAPI vendor's selectors", async () => {
    const error = await failure(
      { include: { names: ["x*"] } },
      { "openapi.json": openapi({ "/x": { get: { responses: OK_RESPONSE } } }) },
    );
    expect((error as VendorConfigError).issues).toEqual([
      { key: "include.names", message: expect.stringMatching(/use "operationIds"/) },
    ]);
  });

  it("checks overrides as far as it can without the tool list", async () => {
    const long = "n".repeat(60);
    const issues = await configIssues({
      mcp: { url: URL_OK },
      tools: {
        a: { name: "same" },
        b: { name: "same" },
        c: { name: long },
        d: { name: "bad name" },
        e: { fixed: { x: 1 }, title: "" },
      },
      healthTool: "not a name",
    });
    expect(issues.map((i) => i.key)).toEqual(["tools.d.name", "tools.e.title"]);
    const second = await configIssues({
      mcp: { url: URL_OK },
      tools: { a: { name: "same" }, b: { name: "same" }, c: { name: long } },
    });
    expect(second).toEqual([
      { key: "tools.b.name", message: '"same" is already the new name of tools.a' },
      {
        key: "tools.c.name",
        message: `"${long}" is 60 characters; the limit for this vendor is 59 so the prefixed name fits 64`,
      },
    ]);
    const health = await configIssues({ mcp: { url: URL_OK }, healthTool: "not a name" });
    expect(health[0]!.key).toBe("healthTool");
  });

  it("refuses bad mcp settings with the allowed range", async () => {
    const issues = await configIssues({
      mcp: {
        url: URL_OK,
        toolListTtlSeconds: -1,
        maxDescriptionChars: 3,
        onDefinitionChange: "ignore",
        extra: 1,
      },
    });
    expect(issues.map((i) => i.key).sort()).toEqual([
      "mcp.extra",
      "mcp.maxDescriptionChars",
      "mcp.onDefinitionChange",
      "mcp.toolListTtlSeconds",
    ]);
  });

  it("the README's example compiles", async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### An upstream MCP server as a vendor"));
    const example = JSON.parse(section.slice(section.indexOf("```json") + 7, section.indexOf("```\n")));
    const { bundle } = await compileVendor(await mcpVendor(example));
    expect(bundle.mcp).toMatchObject({ url: "https://mcp.acme.example/mcp", include: ["search_*", "get_*"] });
    expect(bundle.healthTool).toBe("search");
  });

  it("a folder with neither a spec nor mcp says both ways out", async () => {
    const error = await failure({ displayName: "x" });
    expect(error.code).toBe("spec_missing");
    expect(error.message).toMatch(/"mcp": \{ "url": … \} in vendor\.json/);
  });
});

/** A real MCP server (v1 SDK `McpServer`, stateful streamable HTTP) whose tools/list pages are `pages`. */
class UpstreamMcp {
  pages: unknown[][] = [[]];
  authorizations: (string | undefined)[] = [];
  #http?: LoopbackServer;

  get url(): string {
    return `${this.#http!.origin}/mcp`;
  }

  async start(): Promise<void> {
    const sessions = new Map<string, StreamableHTTPServerTransport>();
    const server = createServer(async (req, res) => {
      this.authorizations.push(req.headers.authorization);
      const sid = req.headers["mcp-session-id"];
      let transport = typeof sid === "string" ? sessions.get(sid) : undefined;
      if (transport === undefined) {
        const fresh: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id: string): void => {
            sessions.set(id, fresh);
          },
        });
        const mcp = new McpServer(
          { name: "upstream-test", version: "3.1.4" },
          { capabilities: { tools: {} } },
        );
        // The raw handler: tools exactly as the test gives them (members the SDK's tool schema
        // does not know included) and pages with cursors, which registerTool does not offer.
        mcp.server.setRequestHandler(ListToolsRequestSchema, (request) => {
          const page = Number(request.params?.cursor ?? "0");
          return {
            tools: this.pages[page] as never,
            ...(page + 1 < this.pages.length ? { nextCursor: String(page + 1) } : {}),
          };
        });
        await mcp.connect(fresh);
        transport = fresh;
      }
      await transport.handleRequest(req, res);
    });
    this.#http = await listenOnLoopback(server);
  }

  close(): Promise<void> {
    return this.#http?.close() ?? Promise.resolve();
  }
}

const SEARCH = {
  name: "search.docs",
  title: "Search the docs",
  description: "Searches the documentation.",
  inputSchema: {
    type: "object",
    properties: { query: { type: "string" }, lang: { type: "string", enum: ["en", "de"] } },
    required: ["query", "lang"],
  },
  outputSchema: { type: "object", properties: { hits: { type: "array" } } },
  annotations: { readOnlyHint: true, openWorldHint: false, vendorHint: "kept in the hash" },
  _meta: { ui: { resourceUri: "ui://search" } },
};
const DELETE = {
  name: "delete_doc",
  description: "Deletes a document.",
  inputSchema: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
  annotations: { destructiveHint: true },
};
const ADMIN = { name: "reset_admin", inputSchema: { type: "object" } };

const canonicalHash = (canonical: string) => createHash("sha256").update(canonical).digest("hex");

describe("--snapshot: a fixed catalogue from a live MCP server", () => {
  const upstream = new UpstreamMcp();
  beforeAll(() => upstream.start());
  afterAll(() => upstream.close());

  async function specsWith(vendorJson: object): Promise<{ specs: string; out: string }> {
    const root = await tempDir();
    await writeFiles(join(root, "specs", "docs"), { "vendor.json": vendorJson });
    return { specs: join(root, "specs"), out: join(root, "generated") };
  }

  it("fetches every page, writes mcp-tools.json as sent, and later compiles read it without the server", async () => {
    upstream.pages = [[SEARCH, DELETE], [ADMIN]];
    upstream.authorizations = [];
    const { specs, out } = await specsWith({
      mcp: { url: "https://docs.example/mcp", maxDescriptionChars: 20 },
      exclude: { names: ["*_admin", "never_*"] },
      tools: {
        "search.docs": { name: "search", fixed: { lang: "en" } },
      },
      healthTool: "search",
    });
    const result = await compileAll({
      specsDir: specs,
      outDir: out,
      snapshot: ["docs"],
      // The run-time override points the snapshot at the local server; the token goes along.
      env: { DOCS_MCP_URL: upstream.url, DOCS_TOKEN: "s3cret-token" },
    });
    expect(result.snapshots).toEqual([`docs/${MCP_SNAPSHOT_FILE}`]);
    expect(upstream.authorizations.every((a) => a === "Bearer s3cret-token")).toBe(true);
    expect(upstream.authorizations.length).toBeGreaterThanOrEqual(3);

    const file = JSON.parse(await readFile(join(specs, "docs", MCP_SNAPSHOT_FILE), "utf8"));
    expect(file).toMatchObject({
      url: "https://docs.example/mcp",
      server: { name: "upstream-test", version: "3.1.4" },
      tools: [SEARCH, DELETE, ADMIN],
    });
    expect(typeof file.protocolVersion).toBe("string");
    expect(Number.isNaN(Date.parse(file.fetchedAt))).toBe(false);

    const { bundle, summary } = result.vendors[0]!;
    expect(bundle.kind).toBe("mcp");
    expect(bundle.specTitle).toBe("upstream-test");
    expect(bundle.specVersion).toBe("3.1.4");
    expect(bundle.healthTool).toBe("search");
    expect(bundle.mcpTools).toEqual([
      {
        name: "search",
        upstreamName: "search.docs",
        title: "Search the docs",
        description: "Searches the docume…",
        inputSchema: {
          type: "object",
          properties: { query: { type: "string" } },
          required: ["query"],
        },
        outputSchema: SEARCH.outputSchema,
        tags: [],
        fixed: { lang: "en" },
        annotations: { readOnlyHint: true, openWorldHint: false },
        // The definition as sent, keys sorted at every depth; _meta is not part of it.
        definitionHash: canonicalHash(
          '{"annotations":{"openWorldHint":false,"readOnlyHint":true,"vendorHint":"kept in the hash"},' +
            '"description":"Searches the documentation.",' +
            '"inputSchema":{"properties":{"lang":{"enum":["en","de"],"type":"string"},"query":{"type":"string"}},"required":["query","lang"],"type":"object"},' +
            '"name":"search.docs",' +
            '"outputSchema":{"properties":{"hits":{"type":"array"}},"type":"object"},' +
            '"title":"Search the docs"}',
        ),
        meta: { ui: { resourceUri: "ui://search" } },
      },
      expect.objectContaining({
        name: "delete_doc",
        upstreamName: "delete_doc",
        annotations: { destructiveHint: true },
      }),
    ]);
    expect(summary.mcp).toEqual({
      url: "https://docs.example/mcp",
      tools: 2,
      snapshot: { file: MCP_SNAPSHOT_FILE, fetchedAt: file.fetchedAt },
    });
    expect(summary.operations).toBe(3);
    expect(summary.skipped).toEqual([
      {
        method: "tool",
        path: "reset_admin",
        reason: 'excluded by vendor.json exclude ("*_admin")',
        pointer: "",
      },
    ]);
    expect(summary.renamed).toEqual([{ name: "search", from: "search.docs", reasons: ["vendor.json"] }]);
    expect(summary.warnings.map((w) => w.message)).toEqual([
      'vendor.json exclude name "never_*" matched no tool',
    ]);
    expect(summary.toolsList.bytes).toBeGreaterThan(0);
    expect(formatSummary(summary)).toContain(
      "docs: MCP server https://docs.example/mcp — 2 tools from 3 in mcp-tools.json",
    );
    const summaryJson = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(summaryJson.vendors[0].mcp.tools).toBe(2);

    // The server goes away; the committed file is the catalogue.
    const before = upstream.authorizations.length;
    const again = await compileAll({ specsDir: specs, outDir: out });
    expect(upstream.authorizations.length).toBe(before);
    expect(again.vendors[0]!.bundle).toEqual(bundle);
    expect(again.snapshots).toEqual([]);
  });

  it("checks vendor.json tools in full against the snapshot", async () => {
    upstream.pages = [[SEARCH, DELETE, ADMIN]];
    const { specs, out } = await specsWith({
      mcp: { url: "https://docs.example/mcp" },
      exclude: { names: ["reset_*"] },
      tools: {
        nope: { title: "No such tool" },
        reset_admin: { title: "Filtered out" },
        "search.docs": { name: "delete_doc", fixed: { lang: "fr", page: 2 } },
      },
    });
    const error = await compileAll({
      specsDir: specs,
      outDir: out,
      snapshot: ["docs"],
      env: { DOCS_MCP_URL: upstream.url },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompileFailedError);
    const config = (error as CompileFailedError).failures[0]!.error as VendorConfigError;
    expect(config.issues.map((i) => i.key)).toEqual([
      "tools.nope",
      "tools.reset_admin",
      "tools.search.docs.name",
      "tools.search.docs.fixed.lang",
      "tools.search.docs.fixed.page",
    ]);
    expect(config.issues[0]!.message).toMatch(/no tool "nope".*such as "search\.docs", "delete_doc"/);
    expect(config.issues[1]!.message).toMatch(/not listed: excluded by vendor\.json exclude/);
    expect(config.issues[2]!.message).toMatch(
      /already the name of upstream tool "delete_doc"; rename that one too/,
    );
    expect(config.issues[3]!.message).toMatch(/does not fit the argument's schema/);
    expect(config.issues[4]!.message).toMatch(/has no argument "page"; expected one of query, lang/);
    // A failed compile keeps nothing it fetched.
    await expect(readFile(join(specs, "docs", MCP_SNAPSHOT_FILE), "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("a swap of two names is fine, and healthTool may name the upstream tool", async () => {
    upstream.pages = [[SEARCH, DELETE]];
    const { specs, out } = await specsWith({
      mcp: { url: "https://docs.example/mcp" },
      tools: { "search.docs": { name: "delete_doc" }, delete_doc: { name: "search_docs" } },
      healthTool: "search.docs",
    });
    const { vendors } = await compileAll({
      specsDir: specs,
      outDir: out,
      snapshot: ["docs"],
      env: { DOCS_MCP_URL: upstream.url },
    });
    const bundle: VendorBundle = vendors[0]!.bundle;
    expect(bundle.mcpTools?.map((t) => [t.upstreamName, t.name])).toEqual([
      ["search.docs", "delete_doc"],
      ["delete_doc", "search_docs"],
    ]);
    expect(bundle.healthTool).toBe("delete_doc");
  });

  it("a server that cannot be reached fails the compile with the vendor and the URL, and writes nothing", async () => {
    const dead = await listenOnLoopback(createServer((_req, res) => res.writeHead(503).end("down")));
    await dead.close();
    const { specs, out } = await specsWith({ mcp: { url: "https://docs.example/mcp" } });
    const error = await compileAll({
      specsDir: specs,
      outDir: out,
      snapshot: ["docs"],
      env: { DOCS_MCP_URL: `${dead.origin}/mcp`, DOCS_TOKEN: "tok-123456" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompileFailedError);
    const failure = (error as CompileFailedError).failures[0]!;
    expect(failure.error.code).toBe("mcp_snapshot_failed");
    expect(failure.error.message).toContain(`docs: cannot snapshot the tool list: ${dead.origin}/mcp`);
    expect(failure.error.message).not.toContain("tok-123456");
    await expect(readFile(join(out, "summary.json"), "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("npm run compile -- --snapshot <vendor> from the command line", async () => {
    upstream.pages = [[DELETE]];
    const { specs, out } = await specsWith({ mcp: { url: "https://docs.example/mcp" } });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [COMPILE_CLI, "--specs", specs, "--out", out, "--snapshot", "docs"],
      { cwd: REPO_ROOT, env: { ...process.env, DOCS_MCP_URL: upstream.url } },
    );
    expect(stdout).toContain(`snapshot: wrote ${specs}/docs/${MCP_SNAPSHOT_FILE}`);
    expect(stdout).toMatch(
      /docs: MCP server https:\/\/docs\.example\/mcp in [\d.]+ s — 1 tools from 1 in mcp-tools\.json/,
    );
    const file = JSON.parse(await readFile(join(specs, "docs", MCP_SNAPSHOT_FILE), "utf8"));
    expect(file.tools).toEqual([DELETE]);
  });

  it("refuses --snapshot for a vendor that is not an MCP vendor or does not exist", async () => {
    const root = await tempDir();
    await writeFiles(join(root, "specs", "api"), {
      "vendor.json": {},
      "openapi.json": openapi({ "/x": { get: { responses: OK_RESPONSE } } }),
    });
    for (const [name, message] of [
      ["api", /has no "mcp"; only an MCP vendor's tool list can be snapshotted/],
      ["ghost", /no vendor folder/],
    ] as const) {
      const error = await compileAll({
        specsDir: join(root, "specs"),
        outDir: join(root, "out"),
        snapshot: [name],
      }).catch((e: unknown) => e);
      expect((error as CompileFailedError).failures[0]!.error.message).toMatch(message);
    }
  });

  it("a snapshot file that is not one fails the vendor naming the file", async () => {
    const error = await failure({ mcp: { url: URL_OK } }, { [MCP_SNAPSHOT_FILE]: '{"tools": 3}' });
    expect(error).toBeInstanceOf(SpecValidationError);
    expect(error.message).toMatch(/mcp-tools\.json/);
    expect(error.message).toMatch(/--snapshot/);
  });

  it("warns when the snapshot was taken from another URL than mcp.url", async () => {
    const { summary } = await compileVendor(
      await mcpVendor(
        { mcp: { url: URL_OK } },
        {
          [MCP_SNAPSHOT_FILE]: {
            url: "https://old.example/mcp",
            fetchedAt: "2026-01-01T00:00:00.000Z",
            tools: [DELETE],
          },
        },
      ),
    );
    expect(summary.tools).toBe(1);
    expect(summary.warnings.map((w) => w.message).join("\n")).toMatch(
      /taken from https:\/\/old\.example\/mcp, but mcp\.url is https:\/\/mcp\.acme\.example\/mcp/,
    );
  });
});
