/**
 * `curateMcpTools` and the definition hash inside workerd: what the MCP vendor kind runs on every
 * fetched tool list (hostile input), and the hash the compiler's snapshot must agree with.
 */
import { describe, expect, it } from "vitest";
import type { McpVendorConfig } from "../../../src/bundle/types.ts";
import {
  curateMcpTools,
  MCP_TITLE_MAX_CHARS,
  mcpToolFilterReason,
  nameGlobMatches,
  sanitizeToolName,
} from "../../../src/mcp-upstream/curate.ts";
import {
  canonicalJson,
  DefinitionHashError,
  definitionHash,
  MAX_DEFINITION_DEPTH,
} from "../../../src/mcp-upstream/definition-hash.ts";
import { MAX_DESCRIPTION_CHARS } from "../../../src/mcp-upstream/screen-description.ts";

const URL_OK = "https://mcp.example/mcp";
const OBJECT = { type: "object" };

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function curate(config: Partial<McpVendorConfig>, tools: unknown[], vendor?: string) {
  const dropped: [string | undefined, string][] = [];
  const result = curateMcpTools({ url: URL_OK, ...config }, tools, {
    ...(vendor !== undefined ? { vendor } : {}),
    onDropped: (name, reason) => dropped.push([name, reason]),
  });
  return result.then((recipes) => ({ recipes, dropped }));
}

describe("definition hash", () => {
  it("is sha256 of the definition's canonical JSON: sorted keys, no whitespace, only the definition members", async () => {
    const tool = {
      name: "t",
      inputSchema: { type: "object", properties: { b: { type: "string" }, a: { type: "number" } } },
      description: "d",
      _meta: { ignored: true },
      icons: [{ src: "https://x.example/i.png" }],
    };
    const canonical =
      '{"description":"d","inputSchema":{"properties":{"a":{"type":"number"},"b":{"type":"string"}},"type":"object"},"name":"t"}';
    expect(canonicalJson({ name: "t", description: "d", inputSchema: tool.inputSchema })).toBe(canonical);
    expect(await definitionHash(tool)).toBe(await sha256Hex(canonical));
    // Key order as sent does not matter; any change to a definition member does, _meta does not.
    const reordered = {
      inputSchema: { properties: { a: { type: "number" }, b: { type: "string" } }, type: "object" },
      description: "d",
      name: "t",
    };
    expect(await definitionHash(reordered)).toBe(await definitionHash(tool));
    expect(await definitionHash({ ...tool, description: "d." })).not.toBe(await definitionHash(tool));
    expect(await definitionHash({ ...tool, _meta: { other: 1 } })).toBe(await definitionHash(tool));
  });

  it("writes strings and numbers as JSON.stringify does, keys by UTF-16 code units", () => {
    expect(canonicalJson({ é: 1, Z: 2, a: [1.5, 1e21, -0, "\u2028", null], "\ud83d\ude00": true })).toBe(
      '{"Z":2,"a":[1.5,1e+21,0,"\u2028",null],"é":1,"\ud83d\ude00":true}',
    );
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson({ __proto__: null, constructor: 1 })).toBe('{"constructor":1}');
    expect(canonicalJson(JSON.parse('{"__proto__": {"x": 1}}'))).toBe('{"__proto__":{"x":1}}');
  });

  it("refuses what is too deep to walk safely, or not JSON", () => {
    let deep: unknown = {};
    for (let i = 0; i <= MAX_DEFINITION_DEPTH; i++) deep = { a: deep };
    expect(() => canonicalJson(deep)).toThrow(DefinitionHashError);
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(DefinitionHashError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(DefinitionHashError);
  });
});

describe("curateMcpTools", () => {
  it("lists tools in upstream order with schemas, annotations, meta and the hash of the definition as sent", async () => {
    const search = {
      name: "search",
      title: "Search",
      description: "Finds things.",
      inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
      outputSchema: { type: "object", properties: { hits: { type: "array" } } },
      annotations: { readOnlyHint: true, destructiveHint: "yes", custom: 1, title: "Search (annotation)" },
      _meta: { ui: { resourceUri: "ui://search" } },
    };
    const { recipes, dropped } = await curate({}, [search, { name: "plain", inputSchema: OBJECT }]);
    expect(dropped).toEqual([]);
    expect(recipes).toEqual([
      {
        name: "search",
        upstreamName: "search",
        title: "Search",
        description: "Finds things.",
        inputSchema: search.inputSchema,
        outputSchema: search.outputSchema,
        tags: [],
        // Only the known hints, with the right types.
        annotations: { readOnlyHint: true, title: "Search (annotation)" },
        definitionHash: await definitionHash(search),
        meta: { ui: { resourceUri: "ui://search" } },
      },
      {
        name: "plain",
        upstreamName: "plain",
        description: "",
        inputSchema: OBJECT,
        tags: [],
        definitionHash: await definitionHash({ name: "plain", inputSchema: OBJECT }),
      },
    ]);
    // The annotation title stands in for a missing top-level title.
    const [only] = (await curate({}, [{ name: "x", inputSchema: OBJECT, annotations: { title: "X" } }]))
      .recipes;
    expect(only!.title).toBe("X");
  });

  it("applies include and exclude to upstream names", async () => {
    const tools = ["search_docs", "search_admin", "get_a", "get_ab", "delete"].map((name) => ({
      name,
      inputSchema: OBJECT,
    }));
    const { recipes, dropped } = await curate(
      { include: ["search_*", "get_?"], exclude: ["*_admin"] },
      tools,
    );
    expect(recipes.map((t) => t.name)).toEqual(["search_docs", "get_a"]);
    expect(dropped).toEqual([
      ["search_admin", 'excluded by vendor.json exclude ("*_admin")'],
      ["get_ab", "not matched by vendor.json include"],
      ["delete", "not matched by vendor.json include"],
    ]);
  });

  it("renames, retitles, redescribes and hides fixed arguments; the hash stays the upstream's", async () => {
    const raw = {
      name: "create.issue",
      description: "Creates an issue.",
      inputSchema: {
        type: "object",
        properties: { repo: { type: "string" }, title: { type: "string" }, label: { type: "string" } },
        required: ["repo", "title"],
      },
    };
    const { recipes } = await curate(
      {
        toolOverrides: {
          "create.issue": {
            name: "file_issue",
            title: "File an issue",
            description: "Files an issue in acme/site.",
            fixed: { repo: "acme/site", label: "triage" },
          },
        },
      },
      [raw],
    );
    expect(recipes).toEqual([
      {
        name: "file_issue",
        upstreamName: "create.issue",
        title: "File an issue",
        description: "Files an issue in acme/site.",
        inputSchema: { type: "object", properties: { title: { type: "string" } }, required: ["title"] },
        tags: [],
        fixed: { repo: "acme/site", label: "triage" },
        definitionHash: await definitionHash(raw),
      },
    ]);
    // The raw tool is not changed (the kind may keep the fetched list).
    expect(raw.inputSchema.required).toEqual(["repo", "title"]);
    // Every required argument fixed: no `required` left.
    const all = await curate({ toolOverrides: { t: { fixed: { a: 1 } } } }, [
      { name: "t", inputSchema: { type: "object", properties: { a: {} }, required: ["a"] } },
    ]);
    expect(all.recipes[0]!.inputSchema).toEqual({ type: "object", properties: {} });
  });

  it("sanitises names, fits them to the vendor's limit and suffixes collisions; operator names win", async () => {
    const long = `tool_${"x".repeat(80)}`;
    const { recipes } = await curate(
      { toolOverrides: { a: { name: "b" } } },
      [
        { name: "my.tool/v2", inputSchema: OBJECT },
        { name: "my tool v2", inputSchema: OBJECT },
        { name: "b", inputSchema: OBJECT },
        { name: "a", inputSchema: OBJECT },
        { name: "__-", inputSchema: OBJECT },
        { name: long, inputSchema: OBJECT },
        { name: `${long}y`, inputSchema: OBJECT },
      ],
      "acme",
    );
    expect(recipes.map((t) => [t.upstreamName, t.name])).toEqual([
      ["my.tool/v2", "my_tool_v2"],
      ["my tool v2", "my_tool_v2_2"],
      ["b", "b_2"],
      ["a", "b"],
      ["__-", "tool"],
      [long, long.slice(0, 59)],
      [`${long}y`, `${long.slice(0, 57)}_2`],
    ]);
    for (const t of recipes) expect(t.name).toMatch(/^[A-Za-z0-9_-]{1,59}$/);
    // Without a vendor, names fit 64.
    const bare = await curate({}, [{ name: long, inputSchema: OBJECT }]);
    expect(bare.recipes[0]!.name).toBe(long.slice(0, 64));
    expect(sanitizeToolName("__a--b__")).toBe("a--b");
    expect(sanitizeToolName(`${"_".repeat(50_000)}x`)).toBe("x");
  });

  it("cuts upstream descriptions and titles, never the operator's text", async () => {
    const long = "d".repeat(MAX_DESCRIPTION_CHARS + 10);
    const title = "t".repeat(MCP_TITLE_MAX_CHARS + 1);
    const { recipes } = await curate({}, [{ name: "a", description: long, title, inputSchema: OBJECT }]);
    expect(recipes[0]!.description).toHaveLength(MAX_DESCRIPTION_CHARS);
    expect(recipes[0]!.description.endsWith("…")).toBe(true);
    expect(recipes[0]!.title).toHaveLength(MCP_TITLE_MAX_CHARS);
    const small = await curate({ maxDescriptionChars: 16 }, [
      { name: "a", description: long, inputSchema: OBJECT },
      { name: "b", description: long, inputSchema: OBJECT },
    ]);
    expect(small.recipes[0]!.description).toBe(`${"d".repeat(15)}…`);
    const mine = await curate(
      {
        maxDescriptionChars: 16,
        toolOverrides: { a: { description: "The operator's own long description." } },
      },
      [{ name: "a", description: long, inputSchema: OBJECT }],
    );
    expect(mine.recipes[0]!.description).toBe("The operator's own long description.");
    // Invisible characters (tool poisoning hides instructions in them) go before the cut.
    const hidden = await curate({ url: URL_OK }, [
      { name: "h", description: "Reads.\u200b\u{e0041}", inputSchema: OBJECT },
    ]);
    expect(hidden.recipes[0]!.description).toBe("Reads.");
  });

  it("drops what is not a tool, a second tool of the same name and definitions too deep to hash", async () => {
    let deep: unknown = {};
    for (let i = 0; i <= MAX_DEFINITION_DEPTH; i++) deep = { a: deep };
    const { recipes, dropped } = await curate({}, [
      null,
      "tool",
      [],
      { name: 3, inputSchema: OBJECT },
      { name: "", inputSchema: OBJECT },
      { name: "no_schema" },
      { name: "array_schema", inputSchema: [] },
      { name: "ok", inputSchema: OBJECT, description: 7, outputSchema: "x", _meta: [1] },
      { name: "ok", inputSchema: OBJECT, description: "second" },
      { name: "deep", inputSchema: { type: "object", properties: deep } },
    ]);
    expect(recipes).toEqual([
      {
        name: "ok",
        upstreamName: "ok",
        description: "",
        inputSchema: OBJECT,
        tags: [],
        definitionHash: await definitionHash({
          name: "ok",
          inputSchema: OBJECT,
          description: 7,
          outputSchema: "x",
        }),
      },
    ]);
    expect(dropped).toEqual([
      [undefined, "not a tool: no name"],
      [undefined, "not a tool: no name"],
      [undefined, "not a tool: no name"],
      [undefined, "not a tool: no name"],
      [undefined, "not a tool: no name"],
      ["no_schema", "no inputSchema object"],
      ["array_schema", "no inputSchema object"],
      ["ok", "a second tool with the same name"],
      ["deep", `definition not hashable: nested deeper than ${MAX_DEFINITION_DEPTH} levels`],
    ]);
  });
});

describe("name globs", () => {
  it.each([
    ["*", "", true],
    ["*", "anything", true],
    ["a*c", "abbbc", true],
    ["a*c", "abbbd", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["*_admin", "reset_admin", true],
    ["*_admin", "reset_admins", false],
    ["a*b*c", "aXbYbZc", true],
    ["search.docs", "search.docs", true],
    ["search.docs", "searchXdocs", false],
    ["[a]", "[a]", true],
    ["**", "a/b", true],
  ])("%s matches %s: %s", (glob, name, expected) => {
    expect(nameGlobMatches(glob, name)).toBe(expected);
  });

  it("a glob with many stars against a long near-miss finishes (no exponential backtracking)", () => {
    // A backtracking regex (a.*a.*a.*…b) takes exponential time here; the two-pointer match is
    // at most name × glob steps. Not a timing assertion: it returns, and returns the right answer.
    expect(nameGlobMatches(`${"a*".repeat(30)}b`, "a".repeat(5_000))).toBe(false);
    expect(mcpToolFilterReason({ include: [`${"*a".repeat(30)}*`] }, "a".repeat(30))).toBeUndefined();
  });
});
