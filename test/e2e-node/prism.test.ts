/**
 * End to end against Prism: real specs from @readme/oas-examples are compiled into a
 * temporary registry, the gateway serves it under `wrangler dev`, one Prism mock per
 * spec stands in for the vendor (behind a recording proxy), and the MCP SDK client lists
 * the tools and calls every one of them with schema-valid example arguments. Prism
 * checks each request the gateway builds against the spec; the test asserts it saw no
 * violation — no bad parameter, body, content type or security, no unknown path or method.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileAll } from "../../scripts/compiler/index.ts";
import { type DevGateway, ROOT, startDevGateway } from "../../scripts/lib/dev-server.ts";
import { vendorEnvPrefix } from "../../src/config.ts";
import { exampleArguments } from "./support/example-args.ts";
import {
  type Prism,
  type RecordedRequest,
  type RecordingProxy,
  startPrism,
  startRecordingProxy,
} from "./support/prism.ts";

const EXAMPLES = join(ROOT, "node_modules", "@readme", "oas-examples");

type OpenApiDocument = { [key: string]: unknown };

/** Prism 5.16 crashes on a path segment with a comma (uri-template-lite matches it as a list; prism-http calls `.split` on it). */
const PRISM_PATH_COMMA_CRASH =
  "Prism 5.16 crashes on a path segment containing ',' (uri-template-lite returns a list, prism-http's deserializer calls value.split): objects in the path always serialize with one";

/** prism-http deserializes every parameter the operation declares, present or not, and this one throws. */
const PRISM_DELIMITED_OBJECT_CRASH =
  "Prism 5.16 exits on any request to an operation declaring a spaceDelimited/pipeDelimited object parameter (prism-http delimited.js throws 'only applicable to array parameter')";

/** prism-http parses multipart bodies into name → string (last part wins, JSON parts unparsed) and applies URL reserved-character rules to them. */
const PRISM_MULTIPART_STRUCTURES =
  "Prism 5.16 reads multipart parts as flat strings (a repeated name keeps its last part, a JSON part stays text) and refuses reserved characters in them as if URL-encoded, so it cannot check array or object parts";

interface SpecCase {
  vendor: string;
  file: string;
  /**
   * Edits the copy that both the gateway and Prism read, where Prism and the document disagree
   * about something the gateway does not decide; each use says why.
   */
  patch?: (doc: OpenApiDocument) => void;
  /** Tools not called, with the reason (a Prism defect, never a gateway one). */
  skip?: Record<string, string>;
  /** Optional arguments left out of a tool's call, with the reason (a Prism defect, never a gateway one). */
  omit?: Record<string, { args: string[]; reason: string }>;
}

/** The specs under test, chosen so that together they cover what the recipes can express. */
const SPECS: readonly SpecCase[] = [
  // Path/query (form, exploded arrays)/header parameters, JSON, form-urlencoded and multipart bodies; apiKey + OAuth2.
  { vendor: "pet30", file: "3.0/json/petstore.json" },
  {
    // Swagger 2.0 through the converter: formData, file upload, collectionFormat.
    vendor: "pet20",
    file: "2.0/json/petstore.json",
    // Its store and user operations take a body but name no `consumes`: Prism then refuses any body,
    // the converter (and so the gateway) sends JSON. The global default states that.
    patch: (doc) => {
      doc.consumes = ["application/json"];
    },
  },
  // OpenAPI 3.1: uuid/date-time formats, exclusiveMinimum, oneOf bodies, OAuth2 authorization code.
  { vendor: "train31", file: "3.1/json/train-travel.json" },
  {
    // Every parameter style: simple/label/matrix paths, form/space/pipe/deepObject queries, headers, cookies, multipart encodings.
    vendor: "styles",
    file: "3.0/json/parameters-style.json",
    skip: {
      ...Object.fromEntries(
        [
          "paths_standard",
          "paths_matrix_nonExploded",
          "paths_matrix_exploded",
          "paths_label_nonExploded",
          "paths_label_exploded",
          "paths_simple_nonExploded",
          "paths_simple_exploded",
        ].map((tool) => [`styles_${tool}`, PRISM_PATH_COMMA_CRASH]),
      ),
      styles_query_spaceDelimited_nonExploded: PRISM_DELIMITED_OBJECT_CRASH,
      styles_query_pipeDelimited_nonExploded: PRISM_DELIMITED_OBJECT_CRASH,
    },
    omit: Object.fromEntries(
      [
        "formData_standard",
        "form_data_form_exploded",
        "formData_form_nonExploded",
        "formData_spaceDelimited_nonExploded",
        "form_data_pipeDelimited_nonExploded",
        "form_data_deepObject_exploded",
      ].map((tool) => [`styles_${tool}`, { args: ["array", "object"], reason: PRISM_MULTIPART_STRUCTURES }]),
    ),
  },
  // Body schemas: number formats, arrays, nested and circular objects, top-level scalar and array payloads.
  { vendor: "types", file: "3.0/json/schema-types.json" },
  // Shared path-item parameters, header parameters, number path parameters.
  { vendor: "common", file: "3.0/json/parameters-common.json" },
  // File uploads: a raw image/png body, multipart with file parts next to integer fields.
  {
    vendor: "uploads",
    file: "3.0/json/file-uploads.json",
    omit: {
      "uploads_put_anything_multipart-formdata": { args: ["filename"], reason: PRISM_MULTIPART_STRUCTURES },
    },
  },
];

/** Every credential role for every vendor, so each security scheme can be satisfied. */
function credentialVars(vendor: string): Record<string, string> {
  const prefix = vendorEnvPrefix(vendor);
  return {
    [`${prefix}_API_KEY`]: "e2e-api-key",
    [`${prefix}_TOKEN`]: "e2e-token",
    [`${prefix}_USERNAME`]: "e2e-user",
    [`${prefix}_PASSWORD`]: "e2e-password",
  };
}

interface CallReport {
  tool: string;
  args: Record<string, unknown>;
  records: RecordedRequest[];
  isError: boolean;
  text: string;
  thrown?: string;
}

interface VendorReport {
  tools: number;
  called: number;
  /** Tools whose input schema cannot be satisfied (ajv says so), with the reason. */
  unsatisfiable: string[];
  /** Tools not called because Prism cannot check them (`SpecCase.skip`). */
  skipped: number;
  requests: number;
  /** Upstream answers with a 2xx status (the rest are mock answers the spec documents, like 404s). */
  ok: number;
  violations: number;
}

let work: string;
let proxy: RecordingProxy;
const prisms: Prism[] = [];
let gateway: DevGateway | undefined;
let client: Client | undefined;
const tools: Tool[] = [];
const toolCounts = new Map<string, number>();
const reports = new Map<string, VendorReport>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gateway-prism-"));
  proxy = await startRecordingProxy();
  const specsDir = join(work, "specs");
  for (const { vendor, file, patch } of SPECS) {
    const dir = join(specsDir, vendor);
    mkdirSync(dir, { recursive: true });
    const doc = JSON.parse(readFileSync(join(EXAMPLES, file), "utf8")) as OpenApiDocument;
    patch?.(doc);
    writeFileSync(join(dir, "openapi.json"), JSON.stringify(doc));
    writeFileSync(join(dir, "vendor.json"), JSON.stringify({ baseUrl: `${proxy.origin}/${vendor}` }));
  }
  const compiled = await compileAll({ specsDir, outDir: join(work, "generated") });
  for (const { bundle } of compiled.vendors) toolCounts.set(bundle.vendor, bundle.tools.length);

  const vars: Record<string, string> = {
    GATEWAY_AUTH: "none",
    // One upstream request per call: the test maps requests to calls, and Prism never fails transiently.
    MAX_RETRIES: "0",
  };
  for (const { vendor } of SPECS) Object.assign(vars, credentialVars(vendor));
  // allSettled: when one fails to start, afterAll still stops the others that did.
  const [started, ...mocks] = await Promise.allSettled([
    startDevGateway({ bundlesIndex: join(work, "generated", "index.ts"), vars }),
    ...SPECS.map(({ vendor }) => startPrism(join(specsDir, vendor, "openapi.json"))),
  ]);
  if (started?.status === "fulfilled") gateway = started.value as DevGateway;
  for (const mock of mocks) if (mock.status === "fulfilled") prisms.push(mock.value as Prism);
  const failed = [started, ...mocks].find((result) => result?.status === "rejected");
  if (failed?.status === "rejected") throw failed.reason;
  for (const [i, { vendor }] of SPECS.entries()) proxy.route(vendor, (prisms[i] as Prism).port);

  client = new Client({ name: "prism-e2e", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${(gateway as DevGateway).origin}/v1/mcp`)),
  );
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await Promise.all([gateway?.stop(), ...prisms.map((p) => p.stop())]);
  await proxy?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  const rows = [...reports].map(([vendor, r]) => ({
    vendor,
    tools: r.tools,
    called: r.called,
    unsatisfiable: r.unsatisfiable.length,
    skipped: r.skipped,
    requests: r.requests,
    "2xx": r.ok,
    violations: r.violations,
  }));
  if (rows.length > 0) console.table(rows);
  for (const [vendor, r] of reports) {
    for (const reason of r.unsatisfiable)
      console.log(`${vendor}: not called (no valid arguments exist): ${reason}`);
  }
});

function describeRecord(r: RecordedRequest): string {
  const problems = [
    ...r.violations.map((v) => `${v.severity} ${v.location.join(".")}: ${v.message}`),
    ...(r.prismError ? [`Prism error ${r.prismError}`] : []),
  ];
  return `${r.method} ${r.url} → ${r.status}\n      content-type: ${r.headers["content-type"] ?? "-"}\n      body: ${r.body.slice(0, 300)}\n      ${problems.join("\n      ")}`;
}

it("the proxy reports what Prism refuses, so a clean run means something", async () => {
  const before = proxy.records.length;
  // A bad enum value in a query array, then a path the spec does not have.
  await fetch(`${proxy.origin}/pet30/pet/findByStatus?status=bogus`, {
    headers: { authorization: "Bearer x" },
  });
  await fetch(`${proxy.origin}/pet30/no/such/path`);
  const [badQuery, unknownPath] = proxy.records.slice(before);
  expect(badQuery?.violations).toEqual([
    expect.objectContaining({ location: ["request", "query", "status", "0"], severity: "Error" }),
  ]);
  expect(unknownPath?.prismError).toMatch(/^NO_PATH_MATCHED_ERROR/);
});

it("lists every compiled tool of every spec on /v1/mcp", () => {
  const expected = [...toolCounts.values()].reduce((a, b) => a + b, 0);
  expect(expected).toBeGreaterThan(80);
  expect(tools).toHaveLength(expected);
});

describe.each(SPECS)("$vendor ($file)", ({ vendor, skip = {}, omit = {} }) => {
  it("calls every tool with valid arguments and Prism sees no violation", async () => {
    const mine = tools.filter((t) => t.name.startsWith(`${vendor}_`));
    expect(mine).toHaveLength(toolCounts.get(vendor) ?? -1);
    const report: VendorReport = {
      tools: mine.length,
      called: 0,
      unsatisfiable: [],
      skipped: 0,
      requests: 0,
      ok: 0,
      violations: 0,
    };
    reports.set(vendor, report);
    const calls: CallReport[] = [];
    for (const tool of mine) {
      if (skip[tool.name] !== undefined) {
        report.skipped++;
        continue;
      }
      const { args, invalid } = exampleArguments(tool.inputSchema as Record<string, unknown>);
      for (const key of omit[tool.name]?.args ?? []) delete args[key];
      if (invalid !== undefined) {
        report.unsatisfiable.push(`${tool.name}: ${invalid}`);
        continue;
      }
      const before = proxy.records.length;
      const call: CallReport = { tool: tool.name, args, records: [], isError: false, text: "" };
      try {
        const result = await (client as Client).callTool({ name: tool.name, arguments: args });
        call.isError = result.isError === true;
        const content = Array.isArray(result.content) ? result.content : [];
        call.text = content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
      } catch (error) {
        call.thrown = error instanceof Error ? error.message : String(error);
      }
      call.records = proxy.records.slice(before);
      calls.push(call);
      report.called++;
      report.requests += call.records.length;
      report.ok += call.records.filter((r) => r.status >= 200 && r.status < 300).length;
      report.violations += call.records.filter((r) => r.violations.length > 0 || r.prismError).length;
    }

    const failures: string[] = [];
    for (const call of calls) {
      const head = `${call.tool} ${JSON.stringify(call.args).slice(0, 400)}`;
      if (call.thrown !== undefined) failures.push(`${head}\n    threw: ${call.thrown}`);
      if (call.text.includes('"error":"invalid_arguments"')) {
        failures.push(`${head}\n    the gateway refused schema-valid arguments: ${call.text.slice(0, 600)}`);
      }
      if (call.records.length === 0) {
        failures.push(`${head}\n    nothing reached the upstream; result: ${call.text.slice(0, 600)}`);
      }
      for (const record of call.records) {
        if (record.violations.length > 0 || record.prismError)
          failures.push(`${head}\n    ${describeRecord(record)}`);
      }
    }
    const prismDied = calls.some((c) => c.records.some((r) => r.status === 0));
    const prismOutput = prismDied
      ? `\n\n--- Prism output (tail) ---\n${prisms[SPECS.findIndex((s) => s.vendor === vendor)]?.output().slice(-3000)}`
      : "";
    expect(failures, failures.join("\n\n") + prismOutput).toEqual([]);
    // Unsatisfiable schemas are rare; a generator that gives up on many tools would make this test hollow.
    expect(report.unsatisfiable.length).toBeLessThanOrEqual(3);
    // Every skip names a tool that exists, so a renamed tool cannot silently widen the gap.
    for (const name of [...Object.keys(skip), ...Object.keys(omit)])
      expect(mine.map((t) => t.name)).toContain(name);
  });
});
