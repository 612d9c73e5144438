/**
 * The status page in a real headless Chromium, on the gateway as `npm start` runs it (`wrangler dev`,
 * GATEWAY_AUTH=none, loopback) with the demo notes API and an MCP vendor behind it, after real tool
 * calls: content, links, the charts' numbers against the JSON, no console error or failed request,
 * no horizontal scroll on a 375 px phone; writes docs/status.png (1280 wide). A second case renders
 * the page with full sample metrics (test/support/status-sample.ts) to check the charts' layout on
 * a phone, and leaves its screenshot in the temporary directory for a look.
 *
 * Needs Debian's `chromium` at /usr/bin/chromium (skipped, loudly, when it is missing).
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_READY_TIMEOUT_MS, type DevGateway, ROOT } from "../../scripts/lib/dev-server.ts";
import type { StatusData } from "../../src/status/data.ts";
import { renderStatusPage } from "../../src/status/render.ts";
import { CHROMIUM, CHROMIUM_FLAGS, HAS_CHROMIUM } from "../support/chromium.ts";
import { type MixedDeployment, startMixedDeployment } from "../support/e2e-deployment.ts";
import type { HostedServer } from "../support/mcp-servers/http-host.ts";
import { HOSTILE, sampleSnapshot } from "../support/status-sample.ts";

/**
 * The README's picture is refreshed only on request (`UPDATE_SCREENSHOT=1`), so a test run never
 * changes a tracked file; otherwise the screenshot goes to the temporary work folder.
 */
const screenshotPath = (work: string): string =>
  process.env.UPDATE_SCREENSHOT === "1" ? join(ROOT, "docs", "status.png") : join(work, "status.png");

interface Watched {
  problems: string[];
}

/** Console errors, page errors, failed and refused requests of one page, collected as they happen. */
function watch(page: Page): Watched {
  const watched: Watched = { problems: [] };
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      watched.problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => watched.problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => watched.problems.push(`failed: ${request.url()}`));
  page.on("response", (response) => {
    if (response.status() >= 400) watched.problems.push(`${response.status()}: ${response.url()}`);
  });
  return watched;
}

/** Every chart's data attributes, per vendor section. */
function chartsOf(page: Page) {
  return page.$$eval("section[data-vendor]", (sections) =>
    sections.map((section) => ({
      vendor: section.getAttribute("data-vendor") ?? "",
      status: section.getAttribute("data-status") ?? "",
      charts: [...section.querySelectorAll("svg[data-series]")].map((svg) => {
        const data: Record<string, string> = {};
        for (const attribute of svg.getAttributeNames()) {
          if (attribute.startsWith("data-")) data[attribute.slice(5)] = svg.getAttribute(attribute) ?? "";
        }
        return data;
      }),
    })),
  );
}

const csv = (values: readonly (number | undefined)[]) =>
  values.map((value) => (value === undefined ? "" : String(value))).join(",");

/** What each chart must carry for the vendor's metrics in the JSON. */
function expectedCharts(vendor: StatusData["vendors"][number]): Record<string, string>[] {
  if (vendor.metrics === null) return [];
  return (["hour", "day"] as const).flatMap((window): Record<string, string>[] => {
    const buckets = vendor.metrics?.[window].buckets ?? [];
    const starts = buckets.map((b) => b.start).join(",");
    return [
      {
        series: "calls",
        window,
        starts,
        calls: csv(buckets.map((b) => b.calls)),
        errors: csv(buckets.map((b) => b.errors)),
      },
      {
        series: "error-rate",
        window,
        starts,
        "error-rate": csv(
          buckets.map((b) => (b.calls === 0 ? undefined : Math.round((b.errors / b.calls) * 1000) / 10)),
        ),
      },
      {
        series: "latency",
        window,
        starts,
        p50: csv(buckets.map((b) => b.p50Ms)),
        p95: csv(buckets.map((b) => b.p95Ms)),
        max: String(Math.max(1, ...buckets.map((b) => Math.max(b.p95Ms ?? 0, b.p50Ms ?? 0)))),
      },
    ];
  });
}

async function noHorizontalScroll(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  // A string: this project's TypeScript has no DOM types.
  return page.evaluate(
    "({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })",
  );
}

describe.skipIf(!HAS_CHROMIUM)("status page in headless Chromium (wrangler dev)", () => {
  let deployment: MixedDeployment | undefined;
  let work: string;
  let gateway: DevGateway | undefined;
  let stateless: HostedServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    // wrangler dev runs on real time: the failing call below fails at once instead of after backoff.
    deployment = await startMixedDeployment({ MAX_RETRIES: "0" });
    ({ work, gateway, stateless } = deployment);
    // A few real tool calls, as after `npm start`: successes and one the upstream answers 404.
    const client = new Client({ name: "status-e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.origin}/v1/mcp`)));
    try {
      await client.callTool({ name: "demo_listNotes", arguments: {} });
      await client.callTool({ name: "demo_getNote", arguments: { id: "1" } });
      await client.callTool({ name: "demo_getNote", arguments: { id: "no-such-note" } });
      await client.callTool({ name: "stateless_add", arguments: { a: 1, b: 2 } });
      // Then the MCP vendor fails (an HTML 503 page): one recent failure, the vendor degraded.
      (stateless as HostedServer).fail(503);
      const failed = await client.callTool({ name: "stateless_add", arguments: { a: 3, b: 4 } });
      expect(failed.isError).toBe(true);
    } finally {
      await client.close();
    }
    // Each call's metrics sample is written after its response (waitUntil): wait until the last has landed.
    for (let i = 0; i < 50; i++) {
      const data = (await (
        await fetch(`${gateway.origin}/status`, { headers: { accept: "application/json" } })
      ).json()) as StatusData;
      if (data.vendors.find((v) => v.vendor === "stateless")?.metrics?.hour.calls === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Playwright gives every launch a fresh temporary profile (its --user-data-dir).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  }, DEV_READY_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await deployment?.stop();
  });

  it("shows every vendor with the numbers the JSON has, links that resolve, and a clean console", async () => {
    const origin = (gateway as DevGateway).origin;
    const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const watched = watch(page);
    const response = await page.goto(`${origin}/status`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toMatch(/^default-src 'none'/);
    expect(await page.title()).toBe("Status · MCP Edge Gateway");

    const json = (await (
      await fetch(`${origin}/status`, { headers: { accept: "application/json" } })
    ).json()) as StatusData;
    expect(json.vendors.map((v) => v.vendor)).toEqual(["demo", "stateless"]);

    const sections = await chartsOf(page);
    expect(sections.map((s) => s.vendor)).toEqual(json.vendors.map((v) => v.vendor));
    for (const vendor of json.vendors) {
      const section = sections.find((s) => s.vendor === vendor.vendor);
      expect(section?.status).toBe(vendor.health.status);
      expect(section?.charts).toEqual(expectedCharts(vendor));
    }
    // The metrics store counted exactly the calls made above, by outcome.
    const demo = json.vendors.find((v) => v.vendor === "demo");
    expect(demo?.metrics?.hour.calls).toBe(3);
    expect(demo?.metrics?.hour.outcomes).toEqual({ ok: 2, tool_error: 1 });
    const mcpVendor = json.vendors.find((v) => v.vendor === "stateless");
    expect(mcpVendor?.metrics?.hour.calls).toBe(2);
    expect(mcpVendor?.metrics?.hour.outcomes).toEqual({ ok: 1, upstream_error: 1 });
    expect(mcpVendor?.metrics?.recentFailures[0]?.tool).toBe("add");
    // The MCP vendor has its definition-change section, and the failure with the gateway's reason.
    const failing = json.vendors.find((v) => v.vendor === "stateless");
    expect(failing?.health.status).toBe("degraded");
    expect(failing?.health.lastError?.message).toBeTruthy();
    const statelessText = await page.textContent('section[data-vendor="stateless"]');
    expect(statelessText).toContain("Tool definition changes");
    // Recent failures come from the metrics store: the call's tool error, as the model saw it.
    const recent = mcpVendor?.metrics?.recentFailures[0];
    expect(recent?.outcome).toBe("upstream_error");
    expect(statelessText).toContain(recent?.message ?? "(no message)");
    expect(
      await page.locator('section[data-vendor="stateless"] .failures li').count(),
    ).toBeGreaterThanOrEqual(1);
    expect(await page.getAttribute('a[data-tile="stateless"]', "class")).toBe("tile degraded");

    // Every link resolves: sections on the page, JSON or pages elsewhere.
    const hrefs = await page.$$eval("a[href]", (links) => links.map((a) => a.getAttribute("href") ?? ""));
    expect(hrefs).toEqual(expect.arrayContaining(["/health/vendors", "#vendor-demo", "#vendor-stateless"]));
    for (const href of new Set(hrefs)) {
      if (href.startsWith("#")) {
        expect(await page.locator(href).count(), href).toBe(1);
        continue;
      }
      const target = await page.request.get(new URL(href, origin).toString());
      const type = target.headers()["content-type"] ?? "";
      expect(type, href).toMatch(/^(application\/json|text\/html|text\/plain; version=0\.0\.4)/);
      expect(target.status(), href).toBe(200);
    }

    expect(await page.evaluate("getComputedStyle(document.body).fontSize")).toBe("16px");
    mkdirSync(join(ROOT, "docs"), { recursive: true });
    await page.screenshot({ path: screenshotPath(work), fullPage: true });

    // On a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 812 });
    const phone = await noHorizontalScroll(page);
    expect(phone.scrollWidth).toBeLessThanOrEqual(phone.innerWidth);
    expect(watched.problems).toEqual([]);
    await context.close();
  });

  it("lays out full charts and hostile text on a phone without scrolling sideways or running script", async () => {
    const now = Date.UTC(2026, 11, 5, 12, 30, 15);
    const data: StatusData = {
      generatedAt: new Date(now).toISOString(),
      status: "degraded",
      viewer: { scope: "all", via: "local" },
      vendors: ["demo", "stateless"].map((vendor) => ({
        vendor,
        kind: vendor === "demo" ? "openapi" : "mcp",
        health: {
          status: vendor === "demo" ? "up" : "down",
          breaker: {
            state: vendor === "demo" ? "closed" : "open",
            consecutiveFailures: vendor === "demo" ? 0 : 5,
            openedAt: vendor === "demo" ? null : new Date(now - 40_000).toISOString(),
            retryAt: vendor === "demo" ? null : new Date(now + 20_000).toISOString(),
            probesInFlight: 0,
            timesOpened: vendor === "demo" ? 0 : 1,
            callersOpen: 0,
          },
          consecutiveFailures: 0,
          lastSuccessAt: new Date(now - 2_000).toISOString(),
          lastFailureAt: null,
          lastError: null,
          rateLimiter: null,
          drift: { total: 0, tools: {} },
          counters: { admitted: 1, rejected: 0, successes: 1, failures: 0 },
          ...(vendor === "demo"
            ? {}
            : {
                definitions: {
                  changes: [
                    {
                      tool: `add${HOSTILE}`,
                      firstSeenHash: "a".repeat(64),
                      currentHash: "b".repeat(64),
                      firstSeenAt: "snapshot",
                      changedAt: new Date(now - 600_000).toISOString(),
                    },
                  ],
                  withheld: [`add${HOSTILE}`],
                },
              }),
        },
        metrics: sampleSnapshot(vendor, now),
      })),
      quotas: [
        {
          teamId: "eng",
          usage: [
            {
              scope: "team",
              subject: "eng",
              window: "day",
              used: 8_200,
              limit: 10_000,
              resetAt: now + 3_600_000,
            },
            {
              scope: "user",
              subject: "u-7f3a",
              vendor: "demo",
              window: "minute",
              used: 12,
              limit: 60,
              resetAt: now + 45_000,
            },
          ],
        },
        { teamId: "ops", usage: null },
      ],
      links: [
        { href: "/health/vendors", label: "Vendor health (JSON)" },
        { href: "/metrics", label: "Prometheus metrics" },
      ],
    };
    const context = await (browser as Browser).newContext({
      viewport: { width: 375, height: 812 },
      javaScriptEnabled: true,
    });
    const page = await context.newPage();
    const watched = watch(page);
    let dialogs = 0;
    page.on("dialog", async (dialog) => {
      dialogs += 1;
      await dialog.dismiss();
    });
    await page.setContent(renderStatusPage(data));
    expect(await page.locator("script").count()).toBe(0);
    expect(await page.locator("section[data-vendor] img").count()).toBe(0);
    expect(dialogs).toBe(0);
    const phone = await noHorizontalScroll(page);
    expect(phone.scrollWidth).toBeLessThanOrEqual(phone.innerWidth);
    const charts = await chartsOf(page);
    for (const vendor of data.vendors) {
      expect(charts.find((c) => c.vendor === vendor.vendor)?.charts).toEqual(expectedCharts(vendor));
    }
    // Every chart is drawn inside the screen.
    const widths = await page.$$eval("svg.chart", (svgs) =>
      svgs.map((svg) => svg.getBoundingClientRect().right),
    );
    expect(Math.max(...widths)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(tmpdir(), "status-sample-375.png"), fullPage: true });
    await page.screenshot({ path: join(tmpdir(), "status-sample-375-top.png") });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: join(tmpdir(), "status-sample-1280.png"), fullPage: true });
    expect(watched.problems).toEqual([]);
    await context.close();
  });
});
