/**
 * Layers point one way (#12, DEVELOPERS.md): every folder of `src/` (and every file directly
 * in it) sits in one layer; an import may go to its own layer or any layer below, never up,
 * and the folder graph has no cycle. Type-only imports count: they couple the code the same way.
 * The README's "Development" section draws the same order.
 */
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SPECIFIER, sourceFiles } from "../support/source-imports.ts";

const SRC = new URL("../../src/", import.meta.url).pathname;

/** Top to bottom. A unit is a folder of src/ or a file directly in it (named without `.ts`/`.d.ts`). */
const LAYERS: readonly (readonly string[])[] = [
  ["worker", "app"], // Worker entry and routes
  ["mcp", "health", "status"], // the MCP layer; health and the operator surfaces (status page, metrics, audit API) beside it
  ["vendors"], // the vendor seam: which kind serves a vendor, one call through it
  ["upstream", "mcp-upstream"], // vendor kinds (OpenAPI, upstream MCP servers)
  ["auth", "resilience", "ops"], // services (ops: audit log, metrics store, operator access)
  [
    "schema",
    "redaction",
    "storage",
    "bundle",
    "config",
    "errors",
    "tool-error",
    "base-url",
    "memo",
    "is-record",
    "body-text",
    "base64",
    "redact-urls",
    "request-refusal",
    "log",
    "clock",
    "trace-context",
    "call-outcome",
    "audit-events",
    "env",
    "generated",
  ], // leaf modules
];

/** Upward arrows the code still has, each with its reason; empty when the layering is clean. */
const KNOWN_EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  [
    "env → worker",
    "src/env.d.ts is `wrangler types` output: the ambient Env names the Durable Object classes the entry exports",
  ],
]);

interface Edge {
  from: string;
  to: string;
  /** One import that makes the edge: `src/a/x.ts → src/b/y.ts`. */
  via: string;
}

function unitOf(srcPath: string): string {
  const [first = "", ...rest] = srcPath.split("/");
  return rest.length > 0 ? first : first.replace(/(\.d)?\.ts$/, "");
}

/** Folder-level edges from every relative import in src/. */
function folderEdges(): Edge[] {
  const edges = new Map<string, Edge>();
  for (const file of sourceFiles(SRC)) {
    const fromPath = relative(SRC, file);
    for (const match of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const specifier = match[1] ?? "";
      if (!specifier.startsWith(".")) continue;
      const toPath = relative(SRC, resolve(dirname(file), specifier));
      const from = unitOf(fromPath);
      const to = unitOf(toPath);
      if (from === to || edges.has(`${from} → ${to}`)) continue;
      edges.set(`${from} → ${to}`, { from, to, via: `src/${fromPath} → src/${toPath}` });
    }
  }
  return [...edges.values()];
}

function layerOf(unit: string, layers: readonly (readonly string[])[]): number {
  return layers.findIndex((layer) => layer.includes(unit));
}

/** Edges whose target sits in a higher layer than their source. */
function upwardArrows(edges: Edge[], layers: readonly (readonly string[])[]): string[] {
  return edges
    .filter((edge) => layerOf(edge.to, layers) < layerOf(edge.from, layers))
    .map((edge) => `${edge.from} → ${edge.to} (${edge.via})`);
}

/** The strongly connected components with more than one unit (Tarjan), each sorted. */
function folderCycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (unit: string): void => {
    index.set(unit, index.size);
    low.set(unit, index.get(unit)!);
    stack.push(unit);
    onStack.add(unit);
    for (const to of next.get(unit) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(unit, Math.min(low.get(unit)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(unit, Math.min(low.get(unit)!, index.get(to)!));
      }
    }
    if (low.get(unit) !== index.get(unit)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== unit);
    if (component.length > 1) components.push(component.sort());
  };
  for (const unit of new Set(edges.flatMap((edge) => [edge.from, edge.to]))) {
    if (!index.has(unit)) visit(unit);
  }
  return components;
}

describe("layers of src/", () => {
  const edges = folderEdges();

  it("reads the imports (type-only and multi-line included)", () => {
    const names = edges.map((edge) => `${edge.from} → ${edge.to}`);
    // app.ts imports `type Caller` from auth/caller.ts; worker.ts imports the MCP app from app.ts.
    expect(names).toEqual(expect.arrayContaining(["app → auth", "app → mcp", "worker → app"]));
  });

  it("places every folder and top-level file of src/ in a layer", () => {
    const units = new Set(edges.flatMap((edge) => [edge.from, edge.to]));
    expect([...units].filter((unit) => layerOf(unit, LAYERS) < 0)).toEqual([]);
  });

  it("has no import from a lower layer up to a higher one", () => {
    const arrows = upwardArrows(edges, LAYERS).filter(
      (arrow) => !KNOWN_EXCEPTIONS.has(arrow.split(" (")[0]!),
    );
    expect(arrows).toEqual([]);
  });

  it("lists only exceptions that still exist", () => {
    const arrows = new Set(upwardArrows(edges, LAYERS).map((arrow) => arrow.split(" (")[0]!));
    expect([...KNOWN_EXCEPTIONS.keys()].filter((exception) => !arrows.has(exception))).toEqual([]);
  });

  it("has no cycle between folders", () => {
    expect(folderCycles(edges)).toEqual([]);
  });

  it("the checks catch an upward arrow and a cycle", () => {
    const sample: Edge[] = [
      { from: "mcp", to: "auth", via: "" },
      { from: "auth", to: "mcp", via: "" },
      { from: "auth", to: "memo", via: "" },
    ];
    expect(upwardArrows(sample, LAYERS)).toEqual(["auth → mcp ()"]);
    expect(folderCycles(sample)).toEqual([["auth", "mcp"]]);
  });
});
