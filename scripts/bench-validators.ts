/**
 * Which argument validator for the Worker: interpreted (ours in
 * src/schema/validate.ts, or @cfworker/json-schema) or precompiled (ajv
 * standalone code shipped in the bundle)? Measured on GitHub-sized input
 * schemas built from @octokit/openapi the way the compiler builds tool input
 * schemas (parameters + spread JSON body, component refs as local `$defs`).
 *
 * Usage: node scripts/bench-validators.ts [--ops 10] [--ms 300]
 *
 * Prints, per validator: time per call on valid and on invalid arguments for the
 * largest schemas, first-call cost, agreement with ajv, and what each option adds
 * to the Worker bundle (validator code, plus generated code for ajv standalone).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { Validator } from "@cfworker/json-schema";
import { buildSync } from "esbuild";
import { validate } from "../src/schema/validate.ts";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: CommonJS interop for ajv's constructors
const Ajv2020: any = require("ajv/dist/2020").default;
// biome-ignore lint/suspicious/noExplicitAny: CommonJS interop
const addFormats: any = require("ajv-formats").default;
// biome-ignore lint/suspicious/noExplicitAny: CommonJS interop
const standaloneCode: any = require("ajv/dist/standalone").default;

type Json = { [k: string]: unknown };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const TOP_OPS = arg("ops", 10);
const MIN_MS = arg("ms", 300);

const SPEC_PATH = "node_modules/@octokit/openapi/generated/api.github.com.json";
const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8")) as Json;
const components = spec.components as { schemas: Record<string, Json>; parameters: Record<string, Json> };

/**
 * Deep copy with `#/components/schemas/X` → `#/$defs/X`, collecting the names
 * referenced, and OpenAPI 3.0 `nullable` turned into 2020-12 (as the compiler does).
 */
function localize(node: unknown, refs: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => localize(n, refs));
  if (typeof node !== "object" || node === null) return node;
  const out: Json = {};
  const source = node as Json;
  if (source.nullable === true && typeof source.type === "string") out.type = [source.type, "null"];
  for (const [k, v] of Object.entries(node)) {
    if (k === "nullable" || (k === "type" && out.type)) continue;
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/")) {
      const name = v.slice("#/components/schemas/".length);
      refs.add(name);
      out.$ref = `#/$defs/${name}`;
    } else {
      out[k] = localize(v, refs);
    }
  }
  return out;
}

function withDefs(schema: Json, refs: Set<string>): Json {
  const defs: Record<string, unknown> = {};
  const queue = [...refs];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (defs[name]) continue;
    const more = new Set<string>();
    defs[name] = localize(components.schemas[name], more);
    for (const m of more) if (!defs[m]) queue.push(m);
  }
  return Object.keys(defs).length > 0 ? { ...schema, $defs: defs } : schema;
}

function deref<T>(node: T): T {
  const ref = (node as Json).$ref;
  if (typeof ref === "string" && ref.startsWith("#/components/parameters/")) {
    return components.parameters[ref.slice("#/components/parameters/".length)] as T;
  }
  return node;
}

interface Case {
  id: string;
  schema: Json;
  valid: Json;
  invalid: Json;
  bytes: number;
}

function sampleFor(schema: Json | undefined): unknown {
  const t = schema?.type;
  if (schema?.enum && Array.isArray(schema.enum)) return schema.enum[0];
  if (t === "integer" || t === "number") return 1;
  if (t === "boolean") return true;
  return "octocat";
}

/**
 * Input schemas of every operation with a JSON request body example (or, with
 * `all`, of every operation: for measuring generated code size only).
 */
function buildCases(all = false): Case[] {
  const cases: Case[] = [];
  for (const [path, item] of Object.entries(spec.paths as Record<string, Json>)) {
    for (const method of ["get", "put", "post", "patch", "delete"]) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const media = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const json = media?.["application/json"];
      const examples = json?.examples as Record<string, { value?: unknown }> | undefined;
      const example = examples ? Object.values(examples)[0]?.value : undefined;
      const bodySchema = json?.schema as Json | undefined;
      const hasExample = typeof example === "object" && example !== null && !Array.isArray(example);
      const spreadable = bodySchema?.type === "object" && typeof bodySchema.properties === "object";
      if (!all && (!bodySchema || !hasExample || !spreadable)) continue;
      const refs = new Set<string>();
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      const valid: Json = {};
      const params = [...((item.parameters as Json[]) ?? []), ...((op.parameters as Json[]) ?? [])].map(
        deref,
      );
      for (const p of params) {
        const name = String(p.name);
        properties[name] = localize(p.schema, refs);
        if (p.required) {
          required.push(name);
          valid[name] = sampleFor(p.schema as Json);
        }
      }
      if (spreadable) {
        for (const [name, s] of Object.entries(bodySchema!.properties as Record<string, unknown>)) {
          if (!(name in properties)) properties[name] = localize(s, refs);
        }
        for (const r of (bodySchema!.required as string[] | undefined) ?? []) {
          if (!required.includes(r)) required.push(r);
        }
      } else if (bodySchema) {
        properties.body = localize(bodySchema, refs);
      }
      if (hasExample) Object.assign(valid, example);
      const schema = withDefs({ type: "object", properties, required, additionalProperties: false }, refs);
      const firstBody = spreadable ? (Object.keys(bodySchema!.properties as Json)[0] ?? "x") : "x";
      const invalid: Json = { ...valid, [firstBody]: { wrong: ["type"] }, not_a_field: 1 };
      cases.push({
        id: `${method.toUpperCase()} ${path}`,
        schema,
        valid,
        invalid,
        bytes: JSON.stringify(schema).length,
      });
    }
  }
  return cases;
}

function nsPerOp(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  const budget = BigInt(MIN_MS) * 1_000_000n;
  while (elapsed < budget || iterations < 50) {
    for (let i = 0; i < 10; i++) fn();
    iterations += 10;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / iterations;
}

function us(ns: number): string {
  return (ns / 1000).toFixed(1).padStart(7);
}

function gz(text: string): number {
  return gzipSync(text).length;
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

function bundledSize(entry: string): { min: number; gzip: number } {
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    write: false,
    platform: "neutral",
  });
  const code = out.outputFiles[0]!.text;
  return { min: code.length, gzip: gz(code) };
}

const cases = buildCases().sort((a, b) => b.bytes - a.bytes);
console.log(
  `GitHub REST spec: ${cases.length} operations with a JSON body example; largest input schema ${kib(cases[0]!.bytes)}`,
);

// ajv: compiled in Node (build time); the generated functions are what standalone code would ship.
const ajv = new Ajv2020({ allErrors: true, strict: false, logger: false, code: { source: true, esm: true } });
addFormats(ajv);
const compiled = cases.map((c) => ajv.compile(c.schema));

// Agreement on every case (valid and invalid arguments) between ours and ajv.
let agree = 0;
const disagreements: string[] = [];
cases.forEach((c, i) => {
  for (const [label, value] of [
    ["valid", c.valid],
    ["invalid", c.invalid],
  ] as const) {
    const ours = validate(c.schema, value).valid;
    const theirs = compiled[i]!(value) as boolean;
    if (ours === theirs) agree++;
    else disagreements.push(`${c.id} (${label}): ours=${ours} ajv=${theirs}`);
  }
});
console.log(
  `Agreement with ajv: ${agree}/${cases.length * 2}${disagreements.length ? `; differing:\n  ${disagreements.slice(0, 10).join("\n  ")}` : ""}`,
);

const validCases = cases.filter((_, i) => compiled[i]!(cases[i]!.valid));
const top = validCases.slice(0, TOP_OPS);
console.log(`\nTime per validation (µs), ${top.length} largest schemas whose example ajv accepts:`);
console.log(
  "operation                                                      schema | ours ok  bad | cfworker ok  bad | ajv ok  bad",
);
const totals = { ours: [0, 0], cf: [0, 0], ajv: [0, 0], cfFirst: 0, oursFirst: 0 };
for (const c of top) {
  const fn = compiled[cases.indexOf(c)]!;
  const cf = new Validator(c.schema as never, "2020-12", false);
  const row = {
    oursOk: nsPerOp(() => validate(c.schema, c.valid, { strictRoot: true, coerceJsonStrings: true })),
    oursBad: nsPerOp(() => validate(c.schema, c.invalid, { strictRoot: true, coerceJsonStrings: true })),
    cfOk: nsPerOp(() => cf.validate(c.valid)),
    cfBad: nsPerOp(() => cf.validate(c.invalid)),
    ajvOk: nsPerOp(() => fn(c.valid)),
    ajvBad: nsPerOp(() => fn(c.invalid)),
  };
  // First use in a fresh isolate: cfworker builds a Validator (dereferences the schema); ours has nothing to build.
  totals.cfFirst += nsPerOp(() =>
    new Validator(structuredClone(c.schema) as never, "2020-12", false).validate(c.valid),
  );
  totals.oursFirst += nsPerOp(() => validate(structuredClone(c.schema), c.valid));
  totals.ours[0]! += row.oursOk;
  totals.ours[1]! += row.oursBad;
  totals.cf[0]! += row.cfOk;
  totals.cf[1]! += row.cfBad;
  totals.ajv[0]! += row.ajvOk;
  totals.ajv[1]! += row.ajvBad;
  console.log(
    `${c.id.slice(0, 62).padEnd(62)} ${kib(c.bytes).padStart(9)} | ${us(row.oursOk)} ${us(row.oursBad)} | ${us(row.cfOk)} ${us(row.cfBad)} | ${us(row.ajvOk)} ${us(row.ajvBad)}`,
  );
}
const n = top.length;
console.log(
  `${"mean".padEnd(62)} ${"".padStart(9)} | ${us(totals.ours[0]! / n)} ${us(totals.ours[1]! / n)} | ${us(totals.cf[0]! / n)} ${us(totals.cf[1]! / n)} | ${us(totals.ajv[0]! / n)} ${us(totals.ajv[1]! / n)}`,
);
console.log(
  `First use (schema never seen, incl. structuredClone of the schema): ours ${us(totals.oursFirst / n)} µs, cfworker ${us(totals.cfFirst / n)} µs (mean)`,
);

// What each option ships.
const everyOperation = buildCases(true);
const ajvStandalone = new Ajv2020({
  allErrors: true,
  strict: false,
  logger: false,
  code: { source: true, esm: true },
});
addFormats(ajvStandalone);
everyOperation.forEach((c, i) => {
  ajvStandalone.addSchema(c.schema, `v${i}`);
});
const standaloneStart = process.hrtime.bigint();
const standalone = standaloneCode(
  ajvStandalone,
  Object.fromEntries(everyOperation.map((_, i) => [`v${i}`, `v${i}`])),
) as string;
const standaloneMs = Number(process.hrtime.bigint() - standaloneStart) / 1e6;
const schemaJson = JSON.stringify(everyOperation.map((c) => c.schema));
// Loading the generated module is what a Worker isolate would pay at startup (parse + top-level evaluation).
mkdirSync("bench/tmp", { recursive: true });
// ajv's "esm" output still calls require() for its runtime helpers and formats: give the module one.
writeFileSync(
  "bench/tmp/ajv-standalone.mjs",
  `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);\n${standalone.replace(/^"use strict";/, "")}`,
);
const loadStart = process.hrtime.bigint();
await import(new URL("../bench/tmp/ajv-standalone.mjs", import.meta.url).href);
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
const parseStart = process.hrtime.bigint();
JSON.parse(schemaJson);
const parseMs = Number(process.hrtime.bigint() - parseStart) / 1e6;
const ours = bundledSize("src/schema/validate.ts");
const cfw = bundledSize("node_modules/@cfworker/json-schema/dist/esm/index.js");
console.log("\nBundle cost:");
console.log(
  `  ours (validate.ts + formats.ts, minified): ${kib(ours.min)}, ${kib(ours.gzip)} gzipped; per tool: 0 (uses the input schema already in the bundle)`,
);
console.log(
  `  @cfworker/json-schema (minified, without our extra formats): ${kib(cfw.min)}, ${kib(cfw.gzip)} gzipped; per tool: 0`,
);
console.log(
  `  ajv standalone for all ${everyOperation.length} GitHub operations: ${kib(standalone.length)}, ${kib(gz(standalone))} gzipped (${kib(standalone.length / everyOperation.length)} per tool), generated at build time in ${standaloneMs.toFixed(0)} ms`,
);
console.log(
  `  (for scale: the input schemas themselves, which the bundle carries for tools/list anyway: ${kib(schemaJson.length)}, ${kib(gz(schemaJson))} gzipped)`,
);
console.log(
  `Startup: importing the ajv standalone module takes ${loadMs.toFixed(0)} ms; JSON.parse of all input schemas ${parseMs.toFixed(0)} ms`,
);
