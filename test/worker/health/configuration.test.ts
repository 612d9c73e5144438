/**
 * A bad configuration is reported at once on every route (issue #11 item 11), and settings of
 * the original Python generator that this gateway does not read are named with their replacement
 * (item 13): the real Worker entry, called with a custom env.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env as baseEnv } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/worker.ts";

async function call(env: Record<string, unknown>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://127.0.0.1${path}`, init) as Parameters<typeof worker.fetch>[0],
    env as unknown as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

function envWith(overrides: Record<string, string>): Record<string, unknown> {
  return { ...(baseEnv as unknown as Record<string, unknown>), ...overrides };
}

const UNKNOWN_TEAM = {
  GATEWAY_AUTH: "oauth",
  GATEWAY_USERS: JSON.stringify([{ id: "ana", team: "core" }]),
  GATEWAY_TEAMS: JSON.stringify({ ops: {} }),
};
const TEAM_MESSAGE = 'GATEWAY_USERS: user "ana" names team "core", which GATEWAY_TEAMS does not define';

describe("a bad configuration", () => {
  it("makes /health answer 503 with the exact error as JSON", async () => {
    const res = await call(envWith(UNKNOWN_TEAM), "/health");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({
      status: "misconfigured",
      error: { code: "invalid_configuration", message: TEAM_MESSAGE, details: { setting: "GATEWAY_USERS" } },
    });
  });

  it("makes every other route answer a JSON error naming the setting", async () => {
    const env = envWith(UNKNOWN_TEAM);
    for (const [path, init] of [
      ["/v1/mcp", { method: "POST", body: "{}", headers: { "content-type": "application/json" } }],
      ["/health/vendors", undefined],
      ["/credentials", undefined],
      ["/nowhere", undefined],
    ] as const) {
      const res = await call(env, path, init);
      expect(res.status, path).toBe(500);
      expect(res.headers.get("content-type"), path).toMatch(/application\/json/);
      const body = (await res.json()) as { error: { code: string; message: string; details: unknown } };
      expect(body.error, path).toMatchObject({
        code: "invalid_configuration",
        message: TEAM_MESSAGE,
        details: { setting: "GATEWAY_USERS" },
      });
    }
  });

  it("answers the OAuth endpoints in the RFC 6749 shape their clients parse", async () => {
    const res = await call(envWith(UNKNOWN_TEAM), "/.well-known/oauth-authorization-server");
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "server_error", error_description: TEAM_MESSAGE });
  });

  it("covers the gateway settings too, which /health did not read before", async () => {
    const res = await call(envWith({ MAX_RETRIES: "many" }), "/health");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: "misconfigured",
      error: { code: "invalid_configuration", details: { setting: "MAX_RETRIES", received: "many" } },
    });
  });

  it.each([
    ["DISCOVERY_TOOL_THRESHOLD", "lots"],
    ["ALLOWED_ORIGINS", "claude.ai"],
  ])("covers %s too, which only the routes reading it checked before", async (setting, value) => {
    const res = await call(envWith({ [setting]: value }), "/health");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: "misconfigured",
      error: { code: "invalid_configuration", details: { setting, received: value } },
    });
  });

  it("leaves a valid configuration's /health ok", async () => {
    const res = await call(envWith({ MAX_RETRIES: "2" }), "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("settings of the Python generator", () => {
  afterEach(() => vi.restoreAllMocks());

  it("are logged once per env (isolate) with their replacement, and change nothing else", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const env = envWith({
      BASE_URL: "https://api.example.com",
      HTTPX_TIMEOUT: "10",
      HTTPX_HTTP2: "true",
      CONNECTION_POOL_SIZE: "10",
      MAX_KEEPALIVE_CONNECTIONS: "5",
      OAUTH2_CLIENT_ID: "abc",
    });
    expect((await call(env, "/health")).status).toBe(200);
    await call(env, "/health");
    const lines = warn.mock.calls
      .map(
        ([line]) =>
          JSON.parse(String(line)) as { level: string; event: string; setting: string; message: string },
      )
      .filter((line) => line.event === "ignored_setting");
    expect(lines.every((l) => l.level === "warn")).toBe(true);
    expect(lines.map((l) => l.setting)).toEqual([
      "BASE_URL",
      "CONNECTION_POOL_SIZE",
      "HTTPX_HTTP2",
      "HTTPX_TIMEOUT",
      "MAX_KEEPALIVE_CONNECTIONS",
      "OAUTH2_CLIENT_ID",
    ]);
    const message = Object.fromEntries(lines.map((l) => [l.setting, l.message]));
    expect(message.BASE_URL).toMatch(/use <VENDOR>_BASE_URL, one per vendor \(here: [A-Z_]*_BASE_URL/);
    expect(message.OAUTH2_CLIENT_ID).toContain("use <VENDOR>_OAUTH2_CLIENT_ID");
    expect(message.HTTPX_TIMEOUT).toContain("UPSTREAM_TIMEOUT");
    expect(message.CONNECTION_POOL_SIZE).toContain("pools upstream connections itself");
  });

  it("does not flag the vendor-prefixed settings that replace them", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await call(envWith({ DEMO_BASE_URL: "http://127.0.0.1:9", DEMO_OAUTH2_CLIENT_ID: "abc" }), "/health");
    expect(warn.mock.calls.some(([line]) => String(line).includes('"ignored_setting"'))).toBe(false);
  });
});
