/**
 * The audit log's store, measured (#14, README.md "Design notes"): a SQLite-backed Durable Object
 * against D1, both run locally by workerd through the `miniflare` API, with the audit log's table
 * and indexes (src/ops/audit-log.ts) and its filtered, newest-first page query.
 *
 *   node_modules/.bin/node scripts/bench/audit-store.ts [rows=100000] [samples=400]
 *
 * (The project's Node 22; plain `node` may be older.)
 *
 * What it measures, per store, from Node through `dispatchFetch` (the same HTTP hop for both; the
 * `/noop` route's time is that hop alone and is printed so it can be subtracted):
 * - `append`: one event written, as `recordAudit` does per security event;
 * - `query`: a page of 100 with `type` and `user` filters over `rows` events, newest first;
 * - `query (time range)`: a page of 100 within the last tenth of the time range.
 *
 * Local numbers compare the engines and the call paths on one machine; they are not production
 * latencies (there a Durable Object is a call to one location, D1 a call to its primary's).
 */
import { performance } from "node:perf_hooks";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const TABLE = `CREATE TABLE IF NOT EXISTS audit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, type TEXT NOT NULL, outcome TEXT NOT NULL,
  user_id TEXT, team_id TEXT, client_id TEXT, vendor TEXT, tool TEXT, detail TEXT, request_id TEXT, trace_id TEXT)`;
const INDEXES = [
  "CREATE INDEX IF NOT EXISTS audit_time ON audit_events (time)",
  "CREATE INDEX IF NOT EXISTS audit_type ON audit_events (type, id)",
  "CREATE INDEX IF NOT EXISTS audit_user ON audit_events (user_id, id)",
  "CREATE INDEX IF NOT EXISTS audit_vendor ON audit_events (vendor, id)",
];
const INSERT =
  "INSERT INTO audit_events (time, type, outcome, user_id, team_id, client_id, vendor, tool, detail, request_id, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// 100k rows generated inside SQLite: 10 types, 3 outcomes, 50 users, 12 vendors, one a second.
const SEED = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
  INSERT INTO audit_events (time, type, outcome, user_id, team_id, vendor, tool, detail, request_id, trace_id)
  SELECT 1700000000000 + x * 1000, 'type' || (x % 10), CASE x % 3 WHEN 0 THEN 'success' WHEN 1 THEN 'failure' ELSE 'denied' END,
    'user' || (x % 50), 'team', 'vendor' || (x % 12), 'tool' || (x % 40), 'detail text of a typical length', hex(randomblob(16)), hex(randomblob(16))
  FROM c`;
const QUERY = "SELECT * FROM audit_events WHERE type = ? AND user_id = ? ORDER BY id DESC LIMIT 100";
const RANGE = "SELECT * FROM audit_events WHERE time >= ? AND time < ? ORDER BY id DESC LIMIT 100";

const WORKER = `
import { DurableObject } from "cloudflare:workers";
const TABLE = ${JSON.stringify(TABLE)};
const INDEXES = ${JSON.stringify(INDEXES)};
const INSERT = ${JSON.stringify(INSERT)};
const SEED = ${JSON.stringify(SEED)};
const QUERY = ${JSON.stringify(QUERY)};
const RANGE = ${JSON.stringify(RANGE)};
const EVENT = (i) => [1800000000000 + i, "sign_in", "success", "user7", "team", null, null, null, "password", crypto.randomUUID(), "0af7651916cd43dd8448eb211c80319c"];
export class Log extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(TABLE);
    for (const index of INDEXES) ctx.storage.sql.exec(index);
  }
  seed(n) { this.ctx.storage.sql.exec(SEED, n); return this.ctx.storage.sql.exec("SELECT COUNT(*) AS n FROM audit_events").one().n; }
  append(i) { this.ctx.storage.sql.exec(INSERT, ...EVENT(i)); return 1; }
  query(type, user) { return this.ctx.storage.sql.exec(QUERY, type, user).toArray(); }
  range(since, until) { return this.ctx.storage.sql.exec(RANGE, since, until).toArray(); }
}
async function d1Ready(env) {
  await env.DB.batch([env.DB.prepare(TABLE), ...INDEXES.map((s) => env.DB.prepare(s))]);
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const p = url.searchParams;
    const stub = env.LOG.get(env.LOG.idFromName("team:bench"));
    let out;
    switch (url.pathname) {
      case "/noop": out = 0; break;
      case "/do/seed": out = await stub.seed(Number(p.get("n"))); break;
      case "/do/append": out = await stub.append(Number(p.get("i"))); break;
      case "/do/query": out = (await stub.query(p.get("type"), p.get("user"))).length; break;
      case "/do/range": out = (await stub.range(Number(p.get("since")), Number(p.get("until")))).length; break;
      case "/d1/seed": await d1Ready(env); await env.DB.prepare(SEED).bind(Number(p.get("n"))).run();
        out = (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events").first()).n; break;
      case "/d1/append": out = (await env.DB.prepare(INSERT).bind(...EVENT(Number(p.get("i")))).run()).meta.changes; break;
      case "/d1/query": out = (await env.DB.prepare(QUERY).bind(p.get("type"), p.get("user")).all()).results.length; break;
      case "/d1/range": out = (await env.DB.prepare(RANGE).bind(Number(p.get("since")), Number(p.get("until"))).all()).results.length; break;
      default: return new Response("not found", { status: 404 });
    }
    return Response.json(out);
  },
};
`;

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function timed(mf: Miniflare, path: (i: number) => string, samples: number) {
  const times: number[] = [];
  let last: unknown;
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const res = await mf.dispatchFetch(`http://bench${path(i)}`);
    last = await res.json();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), last };
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 100_000);
  const samples = Number(process.argv[3] ?? 400);
  // Miniflare 5 takes a new option shape; the documented v4 shape converts into it (worker-host.ts).
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: WORKER,
      compatibilityDate: "2026-10-01",
      durableObjects: { LOG: { className: "Log", useSQLite: true } },
      d1Databases: ["DB"],
    }),
  );
  await mf.ready;
  try {
    const noop = await timed(mf, () => "/noop", samples);
    const results: Record<string, unknown>[] = [];
    for (const store of ["do", "d1"] as const) {
      const seedStart = performance.now();
      const seeded = await (await mf.dispatchFetch(`http://bench/${store}/seed?n=${rows}`)).json();
      const seedMs = performance.now() - seedStart;
      const append = await timed(mf, (i) => `/${store}/append?i=${i}`, samples);
      const query = await timed(
        mf,
        (i) => `/${store}/query?type=type${i % 10}&user=user${(i % 10) + 10 * (i % 5)}`,
        samples,
      );
      const since = 1700000000000 + rows * 900;
      const range = await timed(
        mf,
        () => `/${store}/range?since=${since}&until=${since + rows * 100}`,
        samples,
      );
      results.push({
        store: store === "do" ? "SQLite Durable Object" : "D1",
        rows: seeded,
        seedMs: Math.round(seedMs),
        appendP50Ms: +append.p50.toFixed(2),
        appendP99Ms: +append.p99.toFixed(2),
        queryP50Ms: +query.p50.toFixed(2),
        queryP99Ms: +query.p99.toFixed(2),
        queryRows: query.last,
        rangeP50Ms: +range.p50.toFixed(2),
        rangeP99Ms: +range.p99.toFixed(2),
        rangeRows: range.last,
      });
    }
    console.log(JSON.stringify({ samples, httpHopP50Ms: +noop.p50.toFixed(2), results }, null, 2));
  } finally {
    await mf.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
