/**
 * `GET /admin/audit` and `/admin/audit/export` (src/status/audit-api.ts) through the Worker entry:
 * who may read which team's log, every filter, cursor pagination that neither repeats nor skips
 * while events keep arriving, both export formats (CSV safe against formula injection), JSON on
 * every error, and a real request's event read back after every Durable Object was thrown away.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { env as baseEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuditEventInput, auditLogStub } from "../../../src/audit-events.ts";
import { csvCell } from "../../../src/status/audit-api.ts";
import { authEnv, Browser, gatewayFetch, type TestEnv } from "../auth/helpers.ts";

const OPS_TOKEN = "ops-token-for-audit-tests-5f2a9c";
const T0 = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv({ OPS_TOKEN });
});

type Listed = {
  team: string;
  events: { id: number; time: string; timeMs: number; type: string; outcome: string; userId?: string }[];
  nextCursor?: string;
};

function asOps(path: string): Promise<Response> {
  return gatewayFetch(env, path, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
}

async function list(path: string): Promise<Listed> {
  const res = await asOps(path);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Listed;
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: body.error.code, message: body.error.message };
}

/** A seeded team log: 300 events, one a minute, types, outcomes, users and vendors in turn. */
const SEED_TEAM = "seeded";
const TYPES = ["sign_in", "write_tool_call", "access_denied"] as const;
const OUTCOMES = ["success", "failure", "denied"] as const;
const seeded: (AuditEventInput & { time: number })[] = Array.from({ length: 300 }, (_, i) => ({
  type: TYPES[i % 3] as (typeof TYPES)[number],
  outcome: OUTCOMES[Math.floor(i / 3) % 3] as (typeof OUTCOMES)[number],
  userId: `user${i % 4}`,
  teamId: SEED_TEAM,
  vendor: i % 5 === 0 ? "mcp-alpha" : "auth-key",
  tool: "tool",
  time: T0 + i * MINUTE,
}));

beforeAll(async () => {
  const stub = auditLogStub(env, SEED_TEAM);
  for (let i = 0; i < seeded.length; i += 100) await stub.append(seeded.slice(i, i + 100));
});

/** The seeded events a filter selects, newest first, by time. */
function expected(keep: (e: (typeof seeded)[number]) => boolean): number[] {
  return seeded
    .filter(keep)
    .map((e) => e.time)
    .reverse();
}

describe("access", () => {
  it("the ops token reads any team's log; the gateway-wide log by default", async () => {
    expect((await list("/admin/audit")).team).toBe("_gateway");
    expect((await list(`/admin/audit?team=${SEED_TEAM}&limit=1`)).team).toBe(SEED_TEAM);
    const wrong = await gatewayFetch(env, "/admin/audit", { headers: { authorization: "Bearer nope" } });
    expect(await errorOf(wrong)).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("a team admin reads their own team only; a member none; a signed-out visitor gets 401", async () => {
    const alice = new Browser(env);
    await alice.signIn("alice");
    const own = await alice.fetch("/admin/audit");
    expect(own.status).toBe(200);
    const body = (await own.json()) as Listed;
    expect(body.team).toBe("eng");
    // Her own sign-in is there.
    expect(body.events[0]).toMatchObject({ type: "sign_in", userId: "alice", outcome: "success" });
    expect(await errorOf(await alice.fetch(`/admin/audit?team=${SEED_TEAM}`))).toMatchObject({
      status: 403,
      code: "forbidden",
    });
    expect((await alice.fetch("/admin/audit?team=eng")).status).toBe(200);
    expect((await alice.fetch("/admin/audit/export?team=ops")).status).toBe(403);

    const bob = new Browser(env);
    await bob.signIn("bob");
    expect(await errorOf(await bob.fetch("/admin/audit"))).toMatchObject({ status: 403, code: "forbidden" });
    expect(await errorOf(await gatewayFetch(env, "/admin/audit"))).toMatchObject({
      status: 401,
      code: "unauthorized",
    });
  });

  it("with auth off: open on loopback, absent (404) anywhere else", async () => {
    const local = await gatewayFetch(baseEnv as TestEnv, "http://127.0.0.1/admin/audit");
    expect(local.status).toBe(200);
    const remote = await gatewayFetch(baseEnv as TestEnv, "https://gw.example/admin/audit");
    expect(await errorOf(remote)).toMatchObject({ status: 404, code: "not_found" });
    const exported = await gatewayFetch(baseEnv as TestEnv, "https://gw.example/admin/audit/export");
    expect(exported.status).toBe(404);
  });
});

describe("filters", () => {
  const base = `/admin/audit?team=${SEED_TEAM}&limit=1000`;
  const times = async (query: string) => (await list(`${base}${query}`)).events.map((e) => e.timeMs);

  it("type, outcome, user and vendor select exactly the matching events, newest first", async () => {
    expect(await times("")).toEqual(expected(() => true));
    expect(await times("&type=write_tool_call")).toEqual(expected((e) => e.type === "write_tool_call"));
    expect(await times("&outcome=denied")).toEqual(expected((e) => e.outcome === "denied"));
    expect(await times("&user=user2")).toEqual(expected((e) => e.userId === "user2"));
    expect(await times("&vendor=mcp-alpha&type=sign_in")).toEqual(
      expected((e) => e.vendor === "mcp-alpha" && e.type === "sign_in"),
    );
  });

  it("since (inclusive) and until (exclusive), as ISO 8601 or epoch ms", async () => {
    const since = T0 + 100 * MINUTE;
    const until = T0 + 110 * MINUTE;
    const want = expected((e) => e.time >= since && e.time < until);
    expect(want).toHaveLength(10);
    expect(await times(`&since=${since}&until=${until}`)).toEqual(want);
    const iso = await times(
      `&since=${encodeURIComponent(new Date(since).toISOString())}&until=${encodeURIComponent(new Date(until).toISOString())}`,
    );
    expect(iso).toEqual(want);
    const [first] = (await list(`${base}&since=${since}&until=${since + 1}`)).events;
    expect(first?.time).toBe(new Date(since).toISOString());
  });

  it("refuses bad parameters with a JSON 400 naming them", async () => {
    for (const [query, parameter] of [
      ["type=nope", "type"],
      ["outcome=ok", "outcome"],
      ["limit=1001", "limit"],
      ["limit=0", "limit"],
      ["since=yesterday", "since"],
      ["user=a%20b", "user"],
      ["team=Not_A_Team", "team"],
      ["cursor=garbage", "cursor"],
    ] as const) {
      const res = await asOps(`/admin/audit?${query}`);
      const error = await errorOf(res);
      expect(error, query).toMatchObject({ status: 400, code: "bad_request" });
      expect(error.message, query).toContain(parameter);
    }
    expect(await errorOf(await asOps("/admin/audit?colour=red"))).toMatchObject({ status: 400 });
    expect(await errorOf(await asOps("/admin/audit?type=sign_in&type=sign_in"))).toMatchObject({
      status: 400,
    });
    const post = await gatewayFetch(env, "/admin/audit", { method: "POST" });
    expect(await errorOf(post)).toMatchObject({ status: 405 });
  });
});

describe("cursor pagination", () => {
  it("walks every event once, newest first, while new events keep arriving", async () => {
    const team = "paged";
    const stub = auditLogStub(env, team);
    const initial = Array.from({ length: 95 }, (_, i) => ({
      type: "sign_in" as const,
      outcome: "success" as const,
      userId: `p${i}`,
      time: T0 + i,
    }));
    await stub.append(initial);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list(
        `/admin/audit?team=${team}&limit=20${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      seen.push(...page.events.map((e) => e.userId ?? ""));
      cursor = page.nextCursor;
      pages++;
      // Newer events arrive between pages: they belong to a later query, not to this walk.
      await stub.append([
        { type: "sign_in", outcome: "success", userId: `new${pages}`, time: T0 + 1000 + pages },
      ]);
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(5);
    expect(seen).toEqual(initial.map((e) => e.userId).reverse());
    // A fresh query starts with the newest.
    expect((await list(`/admin/audit?team=${team}&limit=1`)).events[0]?.userId).toBe("new5");
  });

  it("a cursor belongs to its filters and team", async () => {
    const page = await list(`/admin/audit?team=${SEED_TEAM}&type=sign_in&limit=5`);
    const cursor = encodeURIComponent(page.nextCursor ?? "");
    const next = await list(`/admin/audit?team=${SEED_TEAM}&type=sign_in&limit=5&cursor=${cursor}`);
    expect(next.events[0]?.id).toBeLessThan(page.events.at(-1)?.id ?? 0);
    for (const other of [
      `team=${SEED_TEAM}&type=access_denied`,
      `team=${SEED_TEAM}`,
      "team=paged&type=sign_in",
    ]) {
      const res = await asOps(`/admin/audit?${other}&limit=5&cursor=${cursor}`);
      expect(await errorOf(res), other).toMatchObject({ status: 400, code: "bad_request" });
    }
  });
});

describe("export", () => {
  it("NDJSON streams every matching event, past the internal page size", async () => {
    const team = "exported";
    const stub = auditLogStub(env, team);
    const many = Array.from({ length: 2345 }, (_, i) => ({
      type: (i % 2 === 0 ? "sign_in" : "credential_removed") as "sign_in" | "credential_removed",
      outcome: "success" as const,
      userId: `e${i}`,
      time: T0 + i,
    }));
    for (let i = 0; i < many.length; i += 100) await stub.append(many.slice(i, i + 100));
    const res = await asOps(`/admin/audit/export?team=${team}&format=ndjson`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="audit-exported.ndjson"');
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines).toHaveLength(2345);
    const users = lines.map((line) => (JSON.parse(line) as { userId: string }).userId);
    expect(users).toEqual(many.map((e) => e.userId).reverse());
    const filtered = await (await asOps(`/admin/audit/export?team=${team}&type=credential_removed`)).text();
    expect(filtered.trimEnd().split("\n")).toHaveLength(1172);
    expect(await errorOf(await asOps(`/admin/audit/export?team=${team}&limit=5`))).toMatchObject({
      status: 400,
    });
    expect(await errorOf(await asOps(`/admin/audit/export?format=xml`))).toMatchObject({ status: 400 });
  });

  it("CSV: a header, RFC 4180 quoting, and no cell a spreadsheet would run as a formula", async () => {
    const team = "csv";
    await auditLogStub(env, team).append([
      {
        type: "write_tool_call",
        outcome: "failure",
        userId: "@evil",
        vendor: "v",
        tool: '=HYPERLINK("http://x")',
        detail: '+1, said "hi"',
        time: T0,
      },
      { type: "sign_in", outcome: "success", userId: "-2", detail: "plain", time: T0 + 1 },
    ]);
    const res = await asOps(`/admin/audit/export?team=${team}&format=csv`);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const rows = (await res.text()).split("\r\n");
    expect(rows[0]).toBe("id,time,type,outcome,userId,teamId,clientId,vendor,tool,detail,requestId,traceId");
    expect(rows[1]).toMatch(/^\d+,2026-11-01T00:00:00\.001Z,sign_in,success,'-2,,,,,plain,,$/);
    expect(rows[2]).toMatch(
      /^\d+,2026-11-01T00:00:00\.000Z,write_tool_call,failure,'@evil,,,v,"'=HYPERLINK\(""http:\/\/x""\)","'\+1, said ""hi""",,$/,
    );
    expect(rows[3]).toBe("");
    for (const [value, cell] of [
      ["=1+1", "'=1+1"],
      ["\uff1d1+1", "'\uff1d1+1"],
      ["\tx", "'\tx"],
      ["a\nb", '"a\nb"'],
      ["ok", "ok"],
      [undefined, ""],
    ] as const) {
      expect(csvCell(value)).toBe(cell);
    }
  });
});

describe("isolates evicted in between", () => {
  it("an event a real request recorded is read back after every Durable Object was thrown away", async () => {
    const carol = new Browser(env);
    const res = await carol.signInWith("carol", "wrong-password-for-carol");
    expect(res.status).toBe(401);
    const requestId = res.headers.get("x-request-id");
    await abortAllDurableObjects();
    const page = await list("/admin/audit?team=ops&type=sign_in&outcome=failure");
    expect(page.events[0]).toMatchObject({ userId: "carol", requestId });
  });
});
