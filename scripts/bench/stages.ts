/**
 * Where a tool call's CPU goes, stage by stage: the gateway is built several more times,
 * each build answering `tools/call` at an earlier point of its pipeline with the bytes the
 * full gateway answers ("cuts"). Neighbouring rows differ by exactly one stage, so their
 * difference is what that stage costs in the real runtime, with everything before it.
 *
 * A cut is a text insertion at an anchor in a copy of `src/`; the repository is never
 * modified. An anchor that no longer matches exactly once stops the bench, and
 * test/scripts/bench-stages.test.ts checks every anchor against `src/` on each `npm test`.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The full gateway's answer to the measured call, replayed by every cut. */
export interface RecordedAnswer {
  /** The whole HTTP response body (a JSON-RPC response). */
  responseText: string;
  /** Its `result` (a CallToolResult), for cuts inside the tool executor. */
  result: unknown;
}

export interface StageCut {
  id: string;
  /** Row label: what this build still does before it answers. */
  step: string;
  /** File under src/. */
  file: string;
  /** Exact source text; the early answer is inserted right after it (or before, see `before`). */
  anchor: string;
  before?: boolean;
  /** The inserted statement(s). */
  code: (answer: RecordedAnswer) => string;
}

const respond = (answer: RecordedAnswer) =>
  `new Response(${JSON.stringify(answer.responseText)}, { headers: { "content-type": "application/json" } })`;
const result = (answer: RecordedAnswer) => `(${JSON.stringify(answer.result)})`;

/** The cuts, first stage first; the uncut gateway is the last row. */
export const STAGE_CUTS: readonly StageCut[] = [
  {
    id: "entry",
    step: "Worker entry: read the POST body, answer the recorded bytes",
    file: "worker.ts",
    anchor: "  async fetch(request, env, ctx) {",
    code: (a) => `await request.arrayBuffer(); return ${respond(a)};`,
  },
  {
    id: "routed",
    step: "+ hono routing, request id, auth seam",
    file: "mcp/endpoint.ts",
    anchor: "  return async (c) => {",
    code: (a) => `await c.req.raw.arrayBuffer(); return ${respond(a)};`,
  },
  {
    id: "checked",
    step: "+ MCP transport checks: Origin, media types, body limit, JSON parse, JSON-RPC shape, protocol version",
    file: "mcp/endpoint.ts",
    anchor: "  return dispatch(request, body, mode, scope);\n}",
    before: true,
    code: (a) => `return ${respond(a)};`,
  },
  {
    id: "resolved",
    step: "+ dispatch, tool lookup, settings, deadline, credential source",
    file: "upstream/execute.ts",
    anchor: "  const timeoutSeconds = ctx.settings.toolExecutionTimeoutSeconds;",
    code: (a) => `return ${result(a)};`,
  },
  {
    id: "prepared",
    step: "+ argument validation, request built under the base URL, upstream auth",
    file: "upstream/execute.ts",
    anchor: "    const { req, base } = await prepareToolRequest(ctx, secrets);",
    code: (a) => `return ${result(a)};`,
  },
  {
    id: "fetched",
    step: "+ one plain fetch of that request, body read as text (what b′ does)",
    file: "upstream/execute.ts",
    anchor: "    const { req, base } = await prepareToolRequest(ctx, secrets);",
    code: (a) =>
      `{ const r = await fetch(req.url.href, { method: req.method, headers: req.headers, body: req.body }); await r.text(); return ${result(a)}; }`,
  },
  {
    id: "guarded",
    step: "+ the resilient send instead: deadline, guard admission, retry loop, attempt timeout, redirect rules",
    file: "upstream/execute.ts",
    anchor: "    settle = outcome.settle;",
    code: (a) => `await response.text(); settle(); return ${result(a)};`,
  },
];

/** The last row: what the uncut gateway adds after the resilient send. */
export const FULL_GATEWAY_STEP =
  "+ response reading (size limit, charset), validation (warn), sanitization, result (the whole gateway)";

/** `source` with the cut's code at its anchor; throws when the anchor is missing or ambiguous. */
export function applyCut(source: string, cut: StageCut, answer: RecordedAnswer): string {
  const at = source.indexOf(cut.anchor);
  if (at < 0 || source.indexOf(cut.anchor, at + 1) >= 0) {
    throw new Error(
      `bench stage "${cut.id}": the anchor must occur exactly once in src/${cut.file}; update scripts/bench/stages.ts`,
    );
  }
  const insertAt = cut.before ? at : at + cut.anchor.length;
  const code = cut.before ? `${cut.code(answer)}\n` : `\n${cut.code(answer)}`;
  return source.slice(0, insertAt) + code + source.slice(insertAt);
}

/**
 * Writes a copy of `src/` with the cut applied under `workDir` and returns its entry.
 * `node_modules` is linked beside the copy so the build resolves packages as in the repo.
 */
export function writeCutSource(root: string, workDir: string, cut: StageCut, answer: RecordedAnswer): string {
  mkdirSync(workDir, { recursive: true });
  const modules = join(workDir, "..", "node_modules");
  if (!existsSync(modules)) symlinkSync(join(root, "node_modules"), modules, "dir");
  const srcCopy = join(workDir, "src");
  cpSync(join(root, "src"), srcCopy, { recursive: true });
  const file = join(srcCopy, cut.file);
  writeFileSync(file, applyCut(readFileSync(file, "utf8"), cut, answer));
  return join(srcCopy, "worker.ts");
}
