/**
 * `GET /status` (src/status/): who sees what (src/ops/access.ts), the page's headers, hostile text
 * rendered inert, and the charts' data attributes equal to what the metrics source answered.
 */
import { env as baseEnv, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { vendorNames } from "../../../src/bundle/registry.ts";
import { handleError, requestId } from "../../../src/errors.ts";
import type { VendorHealth } from "../../../src/health/vendors.ts";
import type { QuotaUsage } from "../../../src/resilience/quota-types.ts";
import type { StatusData } from "../../../src/status/data.ts";
import { statusRoutes } from "../../../src/status/page.ts";
import { FULL_PAGE_VENDORS_MAX, renderStatusPage } from "../../../src/status/render.ts";
import type { StatusSources } from "../../../src/status/sources.ts";
import { manualClock } from "../../support/clocks.ts";
import { HOSTILE, sampleSnapshot } from "../../support/status-sample.ts";
import { authEnv, Browser, gatewayFetch, location, type TestEnv } from "../auth/helpers.ts";

const LOCAL = "http://127.0.0.1:8787/status";
const HTML = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
const JSON_ACCEPT = { accept: "application/json" };
const NOW = Date.UTC(2026, 11, 5, 12, 30, 15);
const OPS_TOKEN = "ops-token-for-status-tests-0123456789";

interface Calls {
  metrics: Array<{ vendor: string; now: number }>;
  quotas: string[];
}

function fakeSources(quotas: Record<string, QuotaUsage[]> = {}): { sources: StatusSources; calls: Calls } {
  const calls: Calls = { metrics: [], quotas: [] };
  return {
    calls,
    sources: {
      vendorMetrics: async (_env, vendor, now) => {
        calls.metrics.push({ vendor, now });
        return sampleSnapshot(vendor, now);
      },
      quotaUsage: async (_env, teamId) => {
        calls.quotas.push(teamId);
        return quotas[teamId];
      },
    },
  };
}

function appWith(sources: StatusSources): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use(requestId());
  app.onError(handleError);
  app.route("/", statusRoutes(sources));
  return app;
}

const clockedEnv = (extra: Record<string, unknown> = {}) =>
  ({ ...baseEnv, GATEWAY_TEST_CLOCK: manualClock(NOW), ...extra }) as unknown as Env;

/** The vendor's section of the page. */
function section(html: string, vendor: string): string {
  return html.split(`data-vendor="${vendor}"`)[1]?.split("</section>")[0] ?? "";
}

/** `data-<name>` of the chart `series`/`window` inside the vendor's section. */
function chartData(html: string, vendor: string, series: string, window: string, name: string): string {
  const svg = new RegExp(`<svg[^>]*data-series="${series}" data-window="${window}"[^>]*>`).exec(
    section(html, vendor),
  )?.[0];
  if (svg === undefined) throw new Error(`no ${series}/${window} chart for ${vendor}`);
  const value = new RegExp(`data-${name}="([^"]*)"`).exec(svg)?.[1];
  if (value === undefined) throw new Error(`no data-${name} on ${series}/${window}`);
  return value;
}

const csv = (values: readonly (number | undefined)[]) =>
  values.map((v) => (v === undefined ? "" : String(v))).join(",");

describe("GET /status with GATEWAY_AUTH=none", () => {
  it("serves the page on loopback with strict headers and every vendor", async () => {
    const res = await exports.default.fetch(LOCAL, { headers: HTML });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/^default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;/);
    expect(csp).not.toMatch(/script-src/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link rel="stylesheet"|src="http/i);
    expect(html).toContain(`<meta http-equiv="refresh" content="60">`);
    // More vendors than a page holds in full: a tile each, linking to the vendor's own page.
    expect(vendorNames().length).toBeGreaterThan(FULL_PAGE_VENDORS_MAX);
    for (const vendor of vendorNames()) {
      expect(html).toContain(`data-tile="${vendor}" href="/status?vendor=${vendor}"`);
    }
    expect(html).not.toContain("data-vendor=");
    const one = await (await exports.default.fetch(`${LOCAL}?vendor=faulty`, { headers: HTML })).text();
    expect(one).toContain(`data-vendor="faulty"`);
    expect(one.match(/data-vendor=/g)?.length).toBe(1);
    // The live metrics store answers (no call yet): both windows are drawn, not "no metrics yet".
    expect(one).toContain(`data-window="hour"`);
    expect(one).toContain(`data-window="day"`);
    expect(one).not.toContain("No metrics yet for this vendor.");
    expect(html).toContain(`href="/health/vendors"`);
    expect(html).toContain(`href="/admin/audit"`);
    expect(html).not.toContain("Sign out");
  });

  it("answers the same data as JSON for Accept: application/json", async () => {
    const res = await exports.default.fetch(LOCAL, { headers: JSON_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const data = (await res.json()) as StatusData;
    expect(data.viewer).toEqual({ scope: "all", via: "local" });
    expect(data.vendors.map((v) => v.vendor)).toEqual([...vendorNames()].sort((a, b) => a.localeCompare(b)));
    expect(data.vendors.every((v) => v.metrics !== null && v.metrics.hour.buckets.length === 60)).toBe(true);
    const health = (await (await exports.default.fetch("http://127.0.0.1/health/vendors")).json()) as {
      vendors: Record<string, { status: string; breaker: unknown }>;
    };
    for (const v of data.vendors) expect(v.health.breaker).toEqual(health.vendors[v.vendor]?.breaker);
  });

  it("does not exist off loopback", async () => {
    const res = await exports.default.fetch("http://gateway.test/status", { headers: HTML });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("answers 404 for a vendor that does not exist", async () => {
    const res = await exports.default.fetch(`${LOCAL}?vendor=nope`, { headers: HTML });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("answers other methods with a JSON 405", async () => {
    const res = await exports.default.fetch(LOCAL, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("the page's content from its sources", () => {
  it("draws each vendor's numbers into the charts' data attributes, asking for them at the clock's now", async () => {
    const { sources, calls } = fakeSources();
    const all = await appWith(sources).fetch(new Request(LOCAL, { headers: HTML }), clockedEnv());
    expect(all.status).toBe(200);
    expect(calls.metrics.map((c) => c.vendor).sort()).toEqual([...vendorNames()].sort());
    const res = await appWith(sources).fetch(
      new Request(`${LOCAL}?vendor=faulty`, { headers: HTML }),
      clockedEnv(),
    );
    const html = await res.text();
    expect(new Set(calls.metrics.map((c) => c.now))).toEqual(new Set([NOW]));
    const expected = sampleSnapshot("faulty", NOW);
    for (const window of ["hour", "day"] as const) {
      const buckets = expected[window].buckets;
      expect(chartData(html, "faulty", "calls", window, "starts")).toBe(
        buckets.map((b) => b.start).join(","),
      );
      expect(chartData(html, "faulty", "calls", window, "calls")).toBe(csv(buckets.map((b) => b.calls)));
      expect(chartData(html, "faulty", "calls", window, "errors")).toBe(csv(buckets.map((b) => b.errors)));
      expect(chartData(html, "faulty", "latency", window, "p50")).toBe(csv(buckets.map((b) => b.p50Ms)));
      expect(chartData(html, "faulty", "latency", window, "p95")).toBe(csv(buckets.map((b) => b.p95Ms)));
      expect(chartData(html, "faulty", "error-rate", window, "error-rate")).toBe(
        csv(buckets.map((b) => (b.calls === 0 ? undefined : Math.round((b.errors / b.calls) * 1000) / 10))),
      );
    }
    expect(html).toContain(`data-stat="calls-hour" data-value="${expected.hour.calls}"`);
    // The busiest tools first, idle ones in the last hour after them; names escaped.
    const tools = [
      ...section(html, "faulty").matchAll(/<tr data-tool="([^"]*)" data-calls="(\d+)" data-errors="(\d+)"/g),
    ];
    expect(tools.map((t) => [t[1], Number(t[2]), Number(t[3])])).toEqual(
      [...expected.tools]
        .sort((a, b) => b.hour.calls - a.hour.calls)
        .map((t) => [
          t.tool.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
          t.hour.calls,
          t.hour.errors,
        ]),
    );
    for (const [outcome, count] of Object.entries(expected.hour.outcomes)) {
      expect(section(html, "faulty")).toContain(`data-outcome="${outcome}" data-value="${count}"`);
    }
    // One bar (or stacked pair) per slot with calls; every slot, idle ones too, has its own title.
    const callsSvg =
      /<svg[^>]*data-series="calls" data-window="hour".*?<\/svg>/s.exec(section(html, "faulty"))?.[0] ?? "";
    expect(callsSvg.match(/<rect class="ok"/g)?.length).toBe(
      expected.hour.buckets.filter((b) => b.calls > b.errors).length,
    );
    expect(callsSvg.match(/<rect class="err"/g)?.length).toBe(
      expected.hour.buckets.filter((b) => b.errors > 0).length,
    );
    const titles = [...callsSvg.matchAll(/<rect class="hit"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles.length).toBe(60);
    const last = expected.hour.buckets[59];
    expect(titles[59]).toBe(
      `${new Date(last?.start ?? 0).toISOString().slice(11, 16)} UTC: ${last?.calls} calls, ${last?.errors} failed`,
    );
    expect(callsSvg).toMatch(
      /^<svg class="chart" role="img"[^>]*><title>Calls per minute, last hour: \d+ in all/,
    );
  });

  it("renders hostile failure text and tool names inert", async () => {
    const { sources } = fakeSources();
    const res = await appWith(sources).fetch(
      new Request(`${LOCAL}?vendor=faulty`, { headers: HTML }),
      clockedEnv(),
    );
    const html = await res.text();
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;");
    expect(html).toContain("tool&#60;script&#62;");
  });

  it("still renders when a source fails: that vendor shows no data yet", async () => {
    const sources: StatusSources = {
      vendorMetrics: async (_env, vendor, now) => {
        if (vendor === "faulty") throw new Error("metrics store down");
        return sampleSnapshot(vendor, now);
      },
      quotaUsage: async () => undefined,
    };
    const res = await appWith(sources).fetch(new Request(LOCAL, { headers: JSON_ACCEPT }), clockedEnv());
    expect(res.status).toBe(200);
    const data = (await res.json()) as StatusData;
    expect(data.vendors.find((v) => v.vendor === "faulty")?.metrics).toBeNull();
    expect(data.vendors.find((v) => v.vendor === "refused")?.metrics?.hour.calls).toBeGreaterThan(0);
  });
});

describe("a page with many vendors", () => {
  function vendor(name: string, status: VendorHealth["status"]): StatusData["vendors"][number] {
    return {
      vendor: name,
      kind: "openapi",
      health: {
        status,
        breaker: null,
        consecutiveFailures: null,
        lastSuccessAt: null,
        lastFailureAt: null,
        lastError: null,
        rateLimiter: null,
        drift: { total: 0, tools: {} },
        counters: null,
      },
      metrics: null,
    };
  }

  it("lists every vendor as a tile, problems first, and draws only the ones not up", () => {
    const names = Array.from(
      { length: FULL_PAGE_VENDORS_MAX + 1 },
      (_, i) => `v${String(i).padStart(2, "0")}`,
    );
    const status = (name: string): VendorHealth["status"] =>
      name === "v07" ? "down" : name === "v03" ? "degraded" : "up";
    const html = renderStatusPage({
      generatedAt: new Date(NOW).toISOString(),
      status: "degraded",
      viewer: { scope: "all", via: "local" },
      vendors: names.map((name) => vendor(name, status(name))),
      quotas: [],
      links: [],
    });
    const tiles = [...html.matchAll(/data-tile="([^"]+)" href="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    expect(tiles.map((t) => t[0])).toEqual([
      "v07",
      "v03",
      ...names.filter((n) => n !== "v07" && n !== "v03"),
    ]);
    expect(tiles.every(([name, href]) => href === `/status?vendor=${name}`)).toBe(true);
    expect([...html.matchAll(/data-vendor="([^"]+)"/g)].map((m) => m[1])).toEqual(["v07", "v03"]);
  });

  it("shows the date of a time that is not today's", () => {
    const old = vendor("a", "degraded");
    old.health.breaker = {
      state: "closed",
      consecutiveFailures: 1,
      openedAt: null,
      retryAt: null,
      probesInFlight: 0,
      timesOpened: 0,
      callersOpen: 0,
    };
    old.health.lastSuccessAt = new Date(NOW - 86_400_000).toISOString();
    old.health.lastError = {
      kind: "server_error",
      message: "upstream answered 503",
      at: new Date(NOW - 60_000).toISOString(),
    };
    const html = renderStatusPage({
      generatedAt: new Date(NOW).toISOString(),
      status: "degraded",
      viewer: { scope: "all", via: "local" },
      vendors: [old],
      quotas: [],
      links: [],
    });
    expect(html).toContain(
      'last success <time datetime="2026-12-04T12:30:15.000Z" title="2026-12-04T12:30:15.000Z">2026-12-04 12:30:15 UTC</time>',
    );
    expect(html).toContain(">12:29:15 UTC</time>");
  });

  it("draws every vendor when they fit on one page, tiles linking to their sections", () => {
    const html = renderStatusPage({
      generatedAt: new Date(NOW).toISOString(),
      status: "ok",
      viewer: { scope: "all", via: "local" },
      vendors: ["a", "b"].map((name) => vendor(name, "up")),
      quotas: [],
      links: [],
    });
    expect(html).toContain(`data-tile="a" href="#vendor-a"`);
    expect([...html.matchAll(/data-vendor="([^"]+)"/g)].map((m) => m[1])).toEqual(["a", "b"]);
  });
});

describe("who sees what with client auth on", () => {
  const withToken = () => authEnv({ OPS_TOKEN });
  const fetchAs = (env: TestEnv, sources: StatusSources, init: RequestInit) =>
    appWith(sources).fetch(new Request("https://gw.test/status", init), env as unknown as Env);

  it("sends a browser without a session to sign in and back to /status", async () => {
    const env = await withToken();
    const browser = new Browser(env);
    const res = await browser.fetch("/status", { headers: HTML });
    expect(res.status).toBe(303);
    expect(location(res)).toBe("/signin?next=%2Fstatus");
    const form = await (await browser.fetch(location(res))).text();
    expect(form).toContain(`name="return" value="/status"`);
    // One vendor's page comes back with its query.
    const deep = await browser.fetch("/status?vendor=auth-key", { headers: HTML });
    expect(location(deep)).toBe("/signin?next=%2Fstatus%3Fvendor%3Dauth-key");
    const deepForm = await (await browser.fetch(location(deep))).text();
    expect(deepForm).toContain(`name="return" value="/status?vendor=auth-key"`);
    const signedIn = await browser.signIn("alice", "/status");
    expect(location(signedIn)).toBe("/status");
    const page = await browser.fetch("/status", { headers: HTML });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Sign out");
    expect(html).toMatch(
      /<form method="post" action="\/signout"><input type="hidden" name="csrf" value="[^"]+">/,
    );
  });

  it("refuses `next` values that leave the gateway or its pages", async () => {
    const browser = new Browser(await withToken());
    for (const next of [
      "//evil.example/status",
      "https://evil.example/",
      "/status/../admin",
      "/\\evil",
      "/statusx",
    ]) {
      const form = await (await browser.fetch(`/signin?next=${encodeURIComponent(next)}`)).text();
      expect(form).toContain(`name="return" value="/credentials"`);
    }
  });

  it("answers JSON 401 to a client without a session, even one asking for HTML with a bad token", async () => {
    const env = await withToken();
    const plain = await gatewayFetch(env, "/status", { headers: JSON_ACCEPT });
    expect(plain.status).toBe(401);
    expect(((await plain.json()) as { error: { details: unknown } }).error.details).toEqual({
      signIn: "/signin?next=%2Fstatus",
    });
    const badToken = await gatewayFetch(env, "/status", {
      headers: { ...HTML, authorization: "Bearer wrong" },
    });
    expect(badToken.status).toBe(401);
    expect(badToken.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("shows the ops token every vendor and every team's quota use", async () => {
    const env = await withToken();
    const quota: QuotaUsage = {
      scope: "user",
      subject: HOSTILE,
      window: "minute",
      used: 7,
      limit: 10,
      resetAt: NOW,
    };
    const { sources, calls } = fakeSources({ eng: [quota] });
    const res = await fetchAs(env, sources, {
      headers: { ...JSON_ACCEPT, authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const data = (await res.json()) as StatusData;
    expect(data.vendors.map((v) => v.vendor).sort()).toEqual([...vendorNames()].sort());
    expect(calls.quotas.sort()).toEqual(["eng", "ops"]);
    expect(data.quotas).toEqual([
      { teamId: "eng", usage: [quota] },
      { teamId: "ops", usage: null },
    ]);
    const html = await (
      await fetchAs(env, sources, { headers: { ...HTML, authorization: `Bearer ${OPS_TOKEN}` } })
    ).text();
    expect(html).toContain(`data-used="7" data-limit="10"`);
    expect(html).not.toContain("<script");
    expect(html).toContain("No quota data yet.");
  });

  it("shows a team member only the team's vendors and quota use, and no audit link", async () => {
    const env = await withToken();
    const carol = new Browser(env);
    await carol.signIn("carol", "/status");
    const res = await carol.fetch("/status", { headers: JSON_ACCEPT });
    expect(res.status).toBe(200);
    const data = (await res.json()) as StatusData;
    expect(data.viewer).toEqual({
      scope: "team",
      via: "session",
      userId: "carol",
      teamId: "ops",
      role: "member",
    });
    expect(data.vendors.map((v) => v.vendor)).toEqual(["auth-key"]);
    expect(data.quotas.map((q) => q.teamId)).toEqual(["ops"]);
    expect(data.links.map((l) => l.href)).not.toContain("/admin/audit");
    const html = await (await carol.fetch("/status", { headers: HTML })).text();
    expect(html).toContain(`data-vendor="auth-key"`);
    expect(html).not.toContain(`data-vendor="faulty"`);
    // Another team's vendor is as absent as one that does not exist.
    expect((await carol.fetch("/status?vendor=faulty", { headers: HTML })).status).toBe(404);
    expect((await carol.fetch("/status?vendor=auth-key", { headers: HTML })).status).toBe(200);
  });

  it("shows a team admin the audit link; a team without a vendor list sees every vendor", async () => {
    const alice = new Browser(await withToken());
    await alice.signIn("alice", "/status");
    const data = (await (await alice.fetch("/status", { headers: JSON_ACCEPT })).json()) as StatusData;
    expect(data.viewer).toMatchObject({ scope: "team", teamId: "eng", role: "admin" });
    expect(data.vendors.length).toBe(vendorNames().length);
    expect(data.links.map((l) => l.href)).toContain("/admin/audit");
  });

  it("shows everything to a gateway admin: role admin and no team", async () => {
    const env = await withToken();
    const users = JSON.parse(String(env.GATEWAY_USERS)) as { id: string; role?: string }[];
    for (const user of users) if (user.id === "dave") user.role = "admin";
    const dave = new Browser({ ...env, GATEWAY_USERS: JSON.stringify(users) } as TestEnv);
    await dave.signIn("dave", "/status");
    const res = await dave.fetch("/status", { headers: JSON_ACCEPT });
    expect(res.status).toBe(200);
    const data = (await res.json()) as StatusData;
    expect(data.viewer).toMatchObject({ scope: "all", via: "session", userId: "dave" });
    expect(data.vendors.length).toBe(vendorNames().length);
  });

  it("refuses a signed-in user without a team or the admin role", async () => {
    const dave = new Browser(await withToken());
    await dave.signIn("dave", "/status");
    const res = await dave.fetch("/status", { headers: HTML });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});
