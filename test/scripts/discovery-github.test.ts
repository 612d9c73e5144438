/**
 * Discovery mode at GitHub scale: GitHub's REST spec (@octokit/openapi) compiled by the
 * project's compiler, the Worker built by `wrangler deploy --dry-run`, run on workerd
 * (miniflare), driven over HTTP by the MCP SDK client with no model: a fixed recipe
 * (search the task's words, take the top hit, describe it, fill its required arguments,
 * call it) must reach the right operation on a local server standing in for GitHub.
 *
 * GitHub has 1,200+ operations and no `toolMode`, so it is in discovery mode by default.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorker, compileSpecs, gatewayHostConfig } from "../../scripts/bench/gateway.ts";
import { GITHUB_SEARCH_CASES } from "../../scripts/bench/search-cases.ts";
import { startUpstream, type Upstream } from "../../scripts/bench/upstream.ts";
import { miniflareOptions } from "../../scripts/bench/worker-host.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const GITHUB_SPEC = join(ROOT, "node_modules", "@octokit", "openapi", "generated", "api.github.com.json");

interface CallResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

let work: string;
let upstream: Upstream;
let mf: Miniflare;
let client: Client;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "discovery-github-"));
  mkdirSync(join(work, "specs", "github"), { recursive: true });
  copyFileSync(GITHUB_SPEC, join(work, "specs", "github", "openapi.json"));
  writeFileSync(join(work, "specs", "github", "vendor.json"), JSON.stringify({ displayName: "GitHub" }));
  const compiled = await compileSpecs(ROOT, join(work, "specs"), join(work, "generated"));
  const build = await buildWorker(ROOT, compiled.indexPath, join(work, "build"));
  upstream = await startUpstream();
  const config = gatewayHostConfig(ROOT, build.scriptPath, { GITHUB_BASE_URL: upstream.url });
  mf = new Miniflare(miniflareOptions(config));
  const url = await mf.ready;
  client = new Client({ name: "model-free-agent", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL("/v1/github/mcp", url)));
}, 180_000);

afterAll(async () => {
  await client?.close();
  await mf?.dispose();
  await upstream?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function tool(name: string, args: Record<string, unknown>): Promise<CallResult> {
  return (await client.callTool({ name, arguments: args })) as CallResult;
}

/**
 * The model-free agent: search the task's words, take the top hit, read its input schema,
 * fill the required arguments from the task's facts (plus optional ones it has facts for),
 * call it. Returns what it chose and what the call answered.
 */
async function runTask(query: string, facts: Record<string, unknown>) {
  const search = await tool("search", { query, limit: 5 });
  expect(search.isError, JSON.stringify(search)).toBeFalsy();
  const top = (search.structuredContent as { results: Array<{ name: string }> }).results[0]?.name;
  if (top === undefined) throw new Error(`no search result for "${query}"`);
  const described = await tool("describe", { names: [top] });
  const schema = (
    described.structuredContent as {
      tools: Array<{ inputSchema: { properties: Record<string, unknown>; required?: string[] } }>;
    }
  ).tools[0]?.inputSchema;
  if (schema === undefined) throw new Error(`describe returned no schema for ${top}`);
  const args: Record<string, unknown> = {};
  for (const key of schema.required ?? []) {
    if (!(key in facts)) throw new Error(`${top} needs "${key}", which the task does not give`);
    args[key] = facts[key];
  }
  for (const [key, value] of Object.entries(facts)) if (key in schema.properties) args[key] = value;
  const result = await tool("call", { name: top, arguments: args });
  return { chosen: top, args, result };
}

describe("a model-free client on GitHub in discovery mode", () => {
  it("sees three tools instead of 1,200, a few hundred tokens instead of half a million", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["search", "describe", "call"]);
    expect(Math.ceil(JSON.stringify(tools).length / 4)).toBeLessThan(2_000);
    expect(tools[0]?.description).toMatch(/1,?2\d\d operations/);
  });

  it("creates an issue: search → issues_create → describe → call reaches POST /repos/{owner}/{repo}/issues", async () => {
    const before = upstream.recorded.length;
    const { chosen, args, result } = await runTask("create issue", {
      owner: "octo",
      repo: "hello-world",
      title: "Crash on start",
      body: "Steps to reproduce: run it.",
    });
    expect(chosen).toBe("issues_create");
    expect(args).toEqual({
      owner: "octo",
      repo: "hello-world",
      title: "Crash on start",
      body: "Steps to reproduce: run it.",
    });
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(JSON.parse(result.content[0]?.text ?? "{}")).toMatchObject({
      number: 42,
      title: "Crash on start",
    });
    const sent = upstream.recorded.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: "POST", url: "/repos/octo/hello-world/issues" });
    expect(JSON.parse(sent[0]?.body ?? "{}")).toEqual({
      title: "Crash on start",
      body: "Steps to reproduce: run it.",
    });
  });

  it("finds and calls other everyday operations by plain words", async () => {
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      [
        "list pull requests",
        { owner: "octo", repo: "hello-world", state: "open" },
        "pulls_list",
        "/repos/octo/hello-world/pulls?state=open",
      ],
      [
        "list branches",
        { owner: "octo", repo: "hello-world" },
        "repos_list-branches",
        "/repos/octo/hello-world/branches",
      ],
      [
        "list commits",
        { owner: "octo", repo: "hello-world" },
        "repos_list-commits",
        "/repos/octo/hello-world/commits",
      ],
    ];
    for (const [query, facts, expected, path] of cases) {
      const before = upstream.recorded.length;
      const { chosen, result } = await runTask(query, facts);
      expect(chosen, query).toBe(expected);
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      expect(upstream.recorded.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual([`GET ${path}`]);
    }
  });

  it("ranks the right operation first for 30 everyday tasks in plain words", async () => {
    const misses: string[] = [];
    for (const [query, expected] of GITHUB_SEARCH_CASES) {
      const result = await tool("search", { query, limit: 3 });
      const names = (result.structuredContent as { results: Array<{ name: string }> }).results.map(
        (r) => r.name,
      );
      if (names[0] !== expected) misses.push(`"${query}": wanted ${expected}, got ${names.join(", ")}`);
    }
    expect(misses).toEqual([]);
  });

  it("lets describe show what an operation needs before anything is sent", async () => {
    const before = upstream.recorded.length;
    const described = await tool("describe", { names: ["issues_create", "pulls_merge"] });
    const tools = (
      described.structuredContent as {
        tools: Array<{ name: string; method: string; inputSchema: { required: string[] } }>;
      }
    ).tools;
    expect(tools.map((t) => [t.name, t.method])).toEqual([
      ["issues_create", "POST"],
      ["pulls_merge", "PUT"],
    ]);
    expect(tools[1]?.inputSchema.required).toEqual(expect.arrayContaining(["owner", "repo", "pull_number"]));
    expect(upstream.recorded.length).toBe(before);
  });
});
