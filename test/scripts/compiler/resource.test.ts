/**
 * What an operation acts on (`ToolResource`, scripts/compiler/resource.ts, #15): derived from
 * the request body and the success response (a list's elements), two property levels down,
 * without texts most operations share, bounded on hostile specs; and discovery search finds an
 * operation through it when nothing else names what the task asks for.
 */
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { compileVendor } from "../../../scripts/compiler/index.ts";
import {
  RESOURCE_DESCRIPTION_MAX_CHARS,
  RESOURCE_PROPERTIES_MAX,
  RESOURCE_PROPERTIES_MAX_CHARS,
  RESOURCE_PROPERTY_MAX_CHARS,
} from "../../../scripts/compiler/resource.ts";
import type { ToolResource, VendorBundle } from "../../../src/bundle/types.ts";
import { searchTools } from "../../../src/mcp/discovery-index.ts";
import { openapi, tempDir, toolNamed, writeFiles } from "./helpers.ts";

// The engine's module graph reaches Durable Object classes; search touches none of it.
vi.mock("cloudflare:workers", () => ({ DurableObject: class {}, env: {} }));

async function compile(doc: object): Promise<VendorBundle> {
  const root = await tempDir();
  await writeFiles(root, { "widgets/openapi.json": doc, "widgets/vendor.json": { displayName: "Widgets" } });
  return (await compileVendor(join(root, "widgets"), { cwd: root })).bundle;
}

/** A tool's entry in the bundle's `resources`. */
function resourceOf(bundle: VendorBundle, name: string): ToolResource | undefined {
  const at = toolNamed(bundle, name).resource;
  return at === undefined ? undefined : bundle.resources?.[at];
}

const json = (schema: object) => ({ content: { "application/json": { schema } } });
const ok = (schema: object) => ({ "200": { description: "ok", ...json(schema) } });

const WIDGET = {
  description: "A Widget decides which traffic may reach a set of servers. More detail follows here.",
  properties: {
    name: { type: "string", description: "The widget's name." },
    spec: { $ref: "#/components/schemas/WidgetSpec" },
    status: {
      type: "object",
      description: "What the widget last observed.",
      properties: {
        conditions: { type: "array", items: { type: "string" }, description: "Observed health." },
      },
    },
  },
};
const WIDGET_SPEC = {
  description: "WidgetSpec is what the widget should do.",
  properties: {
    suspend: {
      type: "boolean",
      description: "Suspend stops future nightly runs. Runs already started go on.",
    },
    deep: { type: "object", properties: { deeper: { type: "string", description: "Three levels down." } } },
  },
};
const GADGET = {
  description: "A Gadget measures temperature.",
  properties: { celsius: { type: "number", description: "The reading in degrees Celsius." } },
};

const SPEC = openapi(
  {
    "/widgets": {
      post: {
        operationId: "createWidget",
        requestBody: json({ $ref: "#/components/schemas/Widget" }),
        responses: ok({ $ref: "#/components/schemas/Widget" }),
      },
      get: {
        operationId: "listWidgets",
        responses: ok({ type: "array", items: { $ref: "#/components/schemas/Widget" } }),
      },
    },
    "/widgets/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      patch: {
        operationId: "patchWidget",
        requestBody: json({ description: "A generic patch document.", type: "object" }),
        responses: ok({ $ref: "#/components/schemas/Widget" }),
      },
    },
    "/gadgets": {
      post: {
        operationId: "createGadget",
        requestBody: json({ $ref: "#/components/schemas/Gadget" }),
        responses: ok({ $ref: "#/components/schemas/Gadget" }),
      },
      // A list envelope: its one array of objects is what the list is of.
      get: {
        operationId: "listGadgets",
        responses: ok({
          type: "object",
          properties: {
            data: { type: "array", items: { $ref: "#/components/schemas/Gadget" } },
            has_more: { type: "boolean" },
            url: { type: "string" },
          },
        }),
      },
    },
    "/ping": { get: { operationId: "ping", responses: { "204": { description: "no content" } } } },
  },
  { components: { schemas: { Widget: WIDGET, WidgetSpec: WIDGET_SPEC, Gadget: GADGET } } },
);

describe("what an operation acts on (compiler)", () => {
  it("comes from the request body's schema, its description and properties two levels down", async () => {
    const resource = resourceOf(await compile(SPEC), "createWidget");
    expect(resource?.description).toBe(
      "A Widget decides which traffic may reach a set of servers. More detail follows here.",
    );
    expect(resource?.properties).toEqual([
      "name: The widget's name",
      "spec: WidgetSpec is what the widget should do",
      "status: What the widget last observed",
      "spec.suspend: Suspend stops future nightly runs",
      "spec.deep",
      "status.conditions: Observed health",
    ]);
  });

  it("comes from the response for a read, from a list's elements, and from both a patch body and what it returns", async () => {
    const bundle = await compile(SPEC);
    // The operations on one schema share one entry.
    expect(toolNamed(bundle, "listWidgets").resource).toBe(toolNamed(bundle, "createWidget").resource);
    expect(resourceOf(bundle, "listWidgets")?.description).toMatch(/^A Widget decides/);
    expect(resourceOf(bundle, "listGadgets")).toEqual({
      description: "A Gadget measures temperature.",
      properties: ["celsius: The reading in degrees Celsius"],
    });
    const patch = resourceOf(bundle, "patchWidget");
    expect(patch?.description).toBe(
      "A generic patch document.\nA Widget decides which traffic may reach a set of servers. More detail follows here.",
    );
    expect(patch?.properties).toContain("spec.suspend: Suspend stops future nightly runs");
    expect(resourceOf(bundle, "ping")).toBeUndefined();
  });

  it("leaves out texts most of the vendor's operations share", async () => {
    // 24 operations, each its own schema; every one has the same `id` and a property of its own.
    const paths: Record<string, object> = {};
    for (let n = 0; n < 24; n++) {
      paths[`/things${n}`] = {
        get: {
          operationId: `getThing${n}`,
          responses: ok({
            description: `Thing number ${n}.`,
            properties: {
              id: { type: "string", description: "Unique identifier for the object." },
              [`field${n}`]: { type: "string", description: `Only thing ${n} has this.` },
            },
          }),
        },
      };
    }
    const resource = resourceOf(await compile(openapi(paths)), "getThing7");
    expect(resource).toEqual({
      description: "Thing number 7.",
      properties: ["field7: Only thing 7 has this"],
    });
  });

  it("stays bounded on a hostile schema: huge, deep, cyclic and wordy", async () => {
    const properties: Record<string, object> = {};
    for (let n = 0; n < 5_000; n++) {
      properties[`p${n}`] = {
        $ref: "#/components/schemas/Node",
        description: `Property ${n} ${"word ".repeat(200)}`,
      };
    }
    const doc = openapi(
      { "/huge": { get: { operationId: "huge", responses: ok({ $ref: "#/components/schemas/Huge" }) } } },
      {
        components: {
          schemas: {
            Huge: {
              description: "x".repeat(1_000_000),
              allOf: [{ $ref: "#/components/schemas/Huge" }],
              properties,
            },
            // Each node's children are nodes: only two levels are read.
            Node: { type: "object", properties: { child: { $ref: "#/components/schemas/Node" } } },
          },
        },
      },
    );
    const resource = resourceOf(await compile(doc), "huge");
    expect(resource?.description?.length).toBeLessThanOrEqual(RESOURCE_DESCRIPTION_MAX_CHARS * 2);
    const texts = resource?.properties ?? [];
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.length).toBeLessThanOrEqual(RESOURCE_PROPERTIES_MAX);
    expect(texts.join("").length).toBeLessThanOrEqual(RESOURCE_PROPERTIES_MAX_CHARS);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(RESOURCE_PROPERTY_MAX_CHARS + 40);
    expect(texts.every((t) => t.split(".").length <= 2)).toBe(true);
  }, 60_000);
});

describe("discovery search through what an operation acts on", () => {
  const top = (bundle: VendorBundle, query: string) =>
    searchTools(bundle, { query, limit: 3 }).hits.map((h) => h.name);
  const withoutResources = ({ resources: _, ...bundle }: VendorBundle): VendorBundle => bundle;

  it("finds an operation by its schema's description alone", async () => {
    const bundle = await compile(SPEC);
    // "traffic" and "servers" are in no name, summary or argument: only in Widget's description.
    expect(top(bundle, "which traffic may reach my servers")[0]).toMatch(/Widget/);
    expect(top(withoutResources(bundle), "which traffic may reach my servers")).toEqual([]);
  });

  it("finds an operation by a nested property's name and description", async () => {
    const bundle = await compile(SPEC);
    // spec.suspend, two levels down; only Widget operations have it.
    expect(top(bundle, "suspend future nightly runs")[0]).toMatch(/Widget/);
    expect(top(bundle, "temperature in celsius")[0]).toMatch(/Gadget/);
    expect(top(withoutResources(bundle), "suspend future nightly runs")).toEqual([]);
  });

  it("names the property a query reached an operation through, when no argument explains it", async () => {
    const bundle = await compile(SPEC);
    const hit = searchTools(bundle, { query: "suspend a widget", limit: 3 }).hits.find(
      (h) => h.via !== undefined,
    );
    expect(hit?.via).toEqual({ property: "spec.suspend" });
  });
});
