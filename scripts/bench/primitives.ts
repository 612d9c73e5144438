/**
 * What the Workers runtime charges for the primitives an MCP gateway's tool call uses,
 * measured inside workerd: each is run `n` times per request by a Worker made for it,
 * and the workerd process's CPU (from /proc) over many requests, minus the same requests
 * with `n = 0`, divided by the number of runs, is its cost. Every number is CPU the
 * runtime spends, so it holds on a busy machine too.
 *
 * This is the floor under the per-call table: the runtime's own cost per request (a
 * Worker that answers a constant) and per primitive, so the gateway's overhead over the
 * bare Worker can be checked against what any implementation of the same checks must pay.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Child, cpuSeconds, SERVER_CORE, spawnPinned } from "./proc.ts";
import type { HostConfig } from "./worker-host.ts";

/** One primitive: what the Worker runs per repetition (`request`, `env`, `ctx`, `i` in scope). */
export interface Primitive {
  id: string;
  what: string;
  /** JavaScript statements run once per repetition. */
  body: string;
}

/** The primitives a tool call uses, each in its cheapest form. */
export const PRIMITIVES: Primitive[] = [
  {
    id: "headers-get",
    what: "request.headers.get(name)",
    body: `sink = request.headers.get("content-type");`,
  },
  { id: "request-url", what: "request.url (getter)", body: `sink = request.url;` },
  {
    id: "url-parse",
    what: "new URL(absolute) + origin + pathname",
    body: `const u = new URL("http://127.0.0.1:9/stores/s-" + i + "/items/i1?currency=EUR&limit=5"); sink = u.origin + u.pathname;`,
  },
  {
    id: "headers-new",
    what: "new Headers({accept, user-agent})",
    body: `sink = new Headers({ accept: "application/json", "user-agent": "x" });`,
  },
  { id: "abort-timeout", what: "AbortSignal.timeout(ms)", body: `sink = AbortSignal.timeout(90000);` },
  {
    id: "abort-any",
    what: "AbortSignal.any([two signals])",
    body: `sink = AbortSignal.any([AbortSignal.timeout(90000), AbortSignal.timeout(30000)]);`,
  },
  {
    id: "response-new",
    what: "new Response(small JSON, {content-type})",
    body: `sink = new Response('{"result":{}}', { headers: { "content-type": "application/json" } });`,
  },
  { id: "random-uuid", what: "crypto.randomUUID()", body: `sink = crypto.randomUUID();` },
  { id: "wait-until", what: "ctx.waitUntil(resolved promise)", body: `ctx.waitUntil(Promise.resolve());` },
  {
    id: "text-decoder",
    what: "new TextDecoder().decode(90 bytes)",
    body: `sink = new TextDecoder().decode(BYTES);`,
  },
  { id: "await", what: "await of a resolved promise", body: `sink = await Promise.resolve(i);` },
];

/** The Worker: `?op=<id>&n=<count>` runs that primitive `n` times and answers a constant. */
export function primitivesWorkerSource(primitives: Primitive[]): string {
  const cases = primitives
    .map((p) => `    case ${JSON.stringify(p.id)}: for (let i = 0; i < n; i++) { ${p.body} } break;`)
    .join("\n");
  return `const BYTES = new TextEncoder().encode(JSON.stringify({ id: "i1", storeId: "s1", name: "Widget", price: 12.5, currency: "EUR", tags: ["a", "b"] }));
let sink;
export default {
  async fetch(request, env, ctx) {
    const params = new URL(request.url).searchParams;
    const n = Number(params.get("n"));
    switch (params.get("op")) {
${cases}
    }
    return new Response(sink === undefined ? "-" : "+");
  },
};
`;
}

export interface PrimitiveCost {
  id: string;
  what: string;
  /** CPU µs per run of the primitive. */
  microseconds: number;
}

export interface RuntimeFloor {
  /** CPU ms the runtime spends per request on a Worker that answers a constant. */
  constantAnswerMs: number;
  primitives: PrimitiveCost[];
}

export interface PrimitivesOptions {
  tmpDir: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Requests per measurement. */
  requests: number;
  /** Runs of the primitive per request. */
  repetitions: number;
  log: (line: string) => void;
}

async function cpuOver(
  host: Child<{ url: string; workerdPid?: number }>,
  url: string,
  requests: number,
): Promise<number> {
  const pid = host.ready.workerdPid;
  if (pid === undefined) throw new Error("no workerd process to measure");
  const before = cpuSeconds(pid);
  for (let i = 0; i < requests; i++) await (await fetch(url)).text();
  const after = cpuSeconds(pid);
  if (before === undefined || after === undefined) throw new Error("cannot read workerd CPU time");
  return after - before;
}

export async function runPrimitives(opts: PrimitivesOptions): Promise<RuntimeFloor> {
  const dir = join(opts.tmpDir, "primitives-worker");
  mkdirSync(dir, { recursive: true });
  const scriptPath = join(dir, "worker.js");
  writeFileSync(scriptPath, primitivesWorkerSource(PRIMITIVES));
  const config: HostConfig = {
    scriptPath,
    compatibilityDate: opts.compatibilityDate,
    compatibilityFlags: opts.compatibilityFlags,
    bindings: {},
  };
  const host = await spawnPinned<{ url: string; workerdPid?: number }>(SERVER_CORE, process.execPath, [
    join(import.meta.dirname, "worker-host.ts"),
    JSON.stringify(config),
  ]);
  try {
    const base = host.ready.url;
    const { requests, repetitions } = opts;
    // Warm-up: JIT and connection.
    for (const p of PRIMITIVES) await cpuOver(host, `${base}/?op=${p.id}&n=${repetitions}`, 20);
    const noop = await cpuOver(host, `${base}/?op=none&n=0`, requests);
    const primitives: PrimitiveCost[] = [];
    for (const p of PRIMITIVES) {
      const cpu = await cpuOver(host, `${base}/?op=${p.id}&n=${repetitions}`, requests);
      const microseconds = Math.max(0, ((cpu - noop) * 1e6) / (requests * repetitions));
      primitives.push({ id: p.id, what: p.what, microseconds });
      opts.log(`  ${p.what}: ${microseconds.toFixed(2)} µs`);
    }
    const constantAnswerMs = (noop * 1000) / requests;
    opts.log(`  constant answer: ${constantAnswerMs.toFixed(3)} ms CPU per request`);
    return { constantAnswerMs, primitives };
  } finally {
    await host.stop();
  }
}
