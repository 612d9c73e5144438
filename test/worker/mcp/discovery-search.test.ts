/**
 * Discovery mode's search (src/mcp/discovery-search.ts) through the `search` tool of the
 * mcp-discovery fixture: ranking, tags, the answer's shape and bad arguments.
 */
import { describe, expect, it } from "vitest";
import type { HttpMethod, ToolRecipe } from "../../../src/bundle/types.ts";
import { searchTools } from "../../../src/mcp/discovery-index.ts";
import { buildSearchIndex, type SearchIndex, searchIndex } from "../../../src/mcp/discovery-search.ts";
import { callTool, fixture, type Hit, json, VENDOR_PATH } from "./discovery-helpers.ts";

describe("search", () => {
  it("ranks the operation a plain request means first", async () => {
    const cases: Array<[string, string]> = [
      ["create issue", "createIssue"],
      ["add a comment to an issue", "createComment"],
      ["delete comment", "deleteComment"],
      ["get repository", "getRepo"],
      ["who am I: the authenticated user", "getAuthenticatedUser"],
      ["fork a repo", "createFork"],
      ["list labels", "listLabels"],
    ];
    for (const [query, expected] of cases) {
      const result = await callTool(VENDOR_PATH, "search", { query, limit: 3 });
      expect(result.isError, query).toBeFalsy();
      const hits = (result.structuredContent as { results: Hit[] }).results;
      expect(hits[0]?.name, query).toBe(expected);
    }
  });

  it("answers name, method, path, summary and tags for each hit", async () => {
    const result = await callTool(VENDOR_PATH, "search", { query: "create issue", limit: 1 });
    expect((result.structuredContent as { results: Hit[] }).results).toEqual([
      {
        name: "createIssue",
        method: "POST",
        path: "/repos/{owner}/{repo}/issues",
        summary: "Create an issue",
        tags: ["issues"],
        score: expect.any(Number),
      },
    ]);
    // The text content carries the same JSON for clients that ignore structuredContent.
    expect(json(result)).toEqual(result.structuredContent);
  });

  it("filters by tag, alone or with a query", async () => {
    const byTag = await callTool(VENDOR_PATH, "search", { tag: "comments" });
    expect((byTag.structuredContent as { results: Hit[] }).results.map((h) => h.name)).toEqual([
      "listComments",
      "createComment",
      "deleteComment",
    ]);
    const both = await callTool(VENDOR_PATH, "search", { query: "create", tag: "labels" });
    expect((both.structuredContent as { results: Hit[] }).results.map((h) => h.name)).toEqual([
      "createLabel",
    ]);
  });

  it("finds an operation through a request-body enum and says which argument to set (#15)", async () => {
    // "close" is in no name or summary: only updateIssue's body has state: open | closed.
    const result = await callTool(VENDOR_PATH, "search", { query: "close an issue", limit: 3 });
    const hits = (result.structuredContent as { results: Array<Hit & { via?: unknown }> }).results;
    expect(hits[0]).toMatchObject({ name: "updateIssue", via: { param: "state", value: "closed" } });
  });

  it("ranks a deprecated operation below a current one that matches as well", () => {
    const { hits } = searchTools(fixture(), { query: "issue", limit: 20 });
    const names = hits.map((h) => h.name);
    expect(names.indexOf("unlockIssue")).toBeGreaterThan(names.indexOf("getIssue"));
    expect(hits.find((h) => h.name === "unlockIssue")?.deprecated).toBe(true);
  });

  it("says so when nothing matches", async () => {
    const result = await callTool(VENDOR_PATH, "search", { query: "kubernetes cluster autoscaler" });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ results: [], matched: 0, hint: expect.any(String) });
  });

  it("refuses bad arguments as a tool error naming the field", async () => {
    const empty = await callTool(VENDOR_PATH, "search", {});
    expect(empty.isError).toBe(true);
    expect(json(empty)).toMatchObject({ error: "invalid_arguments", tool: "search" });
    const unknownField = await callTool(VENDOR_PATH, "search", { query: "issue", sort: "desc" });
    expect(unknownField.isError).toBe(true);
    const badLimit = await callTool(VENDOR_PATH, "search", { query: "issue", limit: 500 });
    expect(json(badLimit)).toMatchObject({ error: "invalid_arguments", errors: [{ pointer: "/limit" }] });
  });
});

describe("search over an upstream MCP server's tools", () => {
  // test/fixtures/specs/mcp-search: an MCP vendor in discovery mode, tools from its snapshot.
  const MCP_VENDOR_PATH = "/v1/mcp-search/mcp";

  it("finds a tool through an enum value of its input schema, and says which argument to set", async () => {
    const archive = await callTool(MCP_VENDOR_PATH, "search", { query: "archive a ticket", limit: 3 });
    expect(archive.isError).toBeFalsy();
    const hits = (archive.structuredContent as { results: Array<Hit & { via?: unknown }> }).results;
    expect(hits[0]).toMatchObject({ name: "update_ticket", via: { param: "status", value: "archived" } });
    // MCP tools have no method or path.
    expect(hits[0]).not.toHaveProperty("method");
    const urgent = await callTool(MCP_VENDOR_PATH, "search", { query: "mark a ticket as urgent" });
    expect((urgent.structuredContent as { results: Hit[] }).results[0]).toMatchObject({
      name: "update_ticket",
      via: { param: "priority", value: "urgent" },
    });
  });

  it("does not explain a hit its name or summary already explains", async () => {
    const result = await callTool(MCP_VENDOR_PATH, "search", { query: "delete a ticket", limit: 1 });
    const hit = (result.structuredContent as { results: Array<Hit & { via?: unknown }> }).results[0];
    expect(hit?.name).toBe("delete_ticket");
    expect(hit).not.toHaveProperty("via");
  });
});

describe("what a query's verb asks for (#15)", () => {
  const op = (operationId: string, method: HttpMethod, path: string, title: string): ToolRecipe => ({
    name: operationId,
    operationId,
    title,
    description: "",
    method,
    path,
    params: [],
    security: [],
    tags: [],
    inputSchema: { type: "object", properties: {} },
    responses: {},
  });
  const index = buildSearchIndex([
    op("PostPrices", "POST", "/v1/prices", "Create a price"),
    op("PostPricesPrice", "POST", "/v1/prices/{price}", "Update a price"),
    op("GetPricesPrice", "GET", "/v1/prices/{price}", "Retrieve a price"),
    // Listed before checks/create: on equal scores the first wins.
    op("checks/get", "GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "Get a check run"),
    op("checks/create", "POST", "/repos/{owner}/{repo}/check-runs", "Create a check run"),
  ]);
  /** The first hit's name for a query, over a given index (the one above by default). */
  const topOf =
    (over: SearchIndex) =>
    (query: string): string | undefined =>
      searchIndex(over, { query }).hits[0]?.name;
  const first = topOf(index);

  it("reads a POST to one item as a change, a POST to a collection as a creation", () => {
    expect(first("archive a price")).toBe("PostPricesPrice");
    expect(first("define a price")).toBe("PostPrices");
  });

  it("reads a clipped word as the start of the naming word it begins (#15)", () => {
    const clipped = buildSearchIndex([
      op("PostPromotionCodes", "POST", "/v1/promotion_codes", "Create a promotion code"),
      op("PostCodes", "POST", "/v1/codes", "Create a code"),
    ]);
    expect(topOf(clipped)("create a promo code")).toBe("PostPromotionCodes");
    // Too short to say which word it begins.
    expect(searchIndex(clipped, { query: "pro" }).hits).toEqual([]);
  });

  it("takes the intent of the verb a query starts with, not of a later word", () => {
    // "check" is a noun here: the query asks to report (create) a result.
    expect(first("report a check run")).toBe("checks/create");
  });

  it("reads a two-word verb as its one word, and a question as a read (#15)", () => {
    const teams = buildSearchIndex([
      op("teams/update", "PATCH", "/orgs/{org}/teams/{team_slug}", "Update a team"),
      op("teams/create", "POST", "/orgs/{org}/teams", "Create a team"),
      // Last: on equal scores the first wins.
      op("teams/get", "GET", "/orgs/{org}/teams/{team_slug}", "Get a team"),
    ]);
    const top = topOf(teams);
    // "set" alone asks for a change; "set up" creates.
    expect(top("set the team")).toBe("teams/update");
    expect(top("set up a team")).toBe("teams/create");
    // A question asks to read, whatever verb it holds.
    expect(top("is there a team")).toBe("teams/get");
  });

  it("reads general verbs as what APIs call them: abort or stop → cancel (#15)", () => {
    const runs = buildSearchIndex([
      // First: on equal scores the first wins.
      op("actions/get-workflow-run", "GET", "/runs/{run_id}", "Get a workflow run"),
      op("actions/cancel-workflow-run", "POST", "/runs/{run_id}/cancel", "Cancel a workflow run"),
    ]);
    const top = topOf(runs);
    expect(top("abort a workflow run")).toBe("actions/cancel-workflow-run");
    expect(top("stop the workflow run")).toBe("actions/cancel-workflow-run");
  });

  it("splits two naming words run together, and reads a CamelCase kind's initials (#15)", () => {
    const kinds = buildSearchIndex([
      // Paths that do not spell the query's words; on equal scores the first wins.
      op("listJob", "GET", "/jobs", "list objects of kind Job"),
      op("listPod", "GET", "/pods", "list objects of kind Pod"),
      op("listCronJob", "GET", "/cron-jobs", "list objects of kind CronJob"),
      op(
        "listHorizontalPodAutoscaler",
        "GET",
        "/autoscalers",
        "list objects of kind HorizontalPodAutoscaler",
      ),
    ]);
    const top = topOf(kinds);
    expect(top("list every cronjob")).toBe("listCronJob");
    expect(top("list the HPAs")).toBe("listHorizontalPodAutoscaler");
  });
});
