import { beforeAll, describe, expect, it } from "vitest";
import {
  authEnv,
  authServersOrigin,
  type Browser,
  location,
  mcp,
  mcpResult,
  ORIGIN,
  type TestEnv,
  tokensFor,
} from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

interface CallResult {
  isError?: boolean;
  content: { type: string; text: string }[];
}

async function call(token: string, name: string, args: Record<string, unknown> = {}): Promise<CallResult> {
  return mcpResult<CallResult>(await mcp(env, "/v1/mcp", token, "tools/call", { name, arguments: args }));
}

function json(result: CallResult): Record<string, unknown> {
  return JSON.parse(result.content[0]?.text ?? "null") as Record<string, unknown>;
}

async function saveKey(browser: Browser, secret: string, owner: "user" | "team" = "user"): Promise<void> {
  const csrf = await browser.csrf();
  expect((await browser.post("/credentials/auth-key/secret", { csrf, owner, secret })).status).toBe(303);
}

async function connectVendor(browser: Browser, login: string): Promise<void> {
  const csrf = await browser.csrf();
  const start = await browser.post("/credentials/auth-oauth/connect", { csrf, owner: "user" });
  const atVendor = await browser.fetch(`${location(start)}&login_as=${login}`);
  const done = await browser.fetch(location(atVendor));
  expect(location(done)).toContain("notice=connected");
}

describe("tool calls with per-user upstream credentials", () => {
  it("send each user's own key, a teammate's team key, never another user's", async () => {
    const alice = await tokensFor(env, "alice");
    await saveKey(alice.browser, "alice-tool-key-1234");
    await saveKey(alice.browser, "eng-tool-team-key-5678", "team");
    const bob = await tokensFor(env, "bob");

    // The upstream echoes the key it got; the gateway scrubs it from the result.
    expect(json(await call(alice.access_token, "auth-key_whoami"))).toEqual({
      key: "[REDACTED]",
      owner: "alice",
      last4: "1234",
    });
    expect(json(await call(bob.access_token, "auth-key_whoami"))).toEqual({
      key: "[REDACTED]",
      owner: "eng",
      last4: "5678",
    });
  });

  it("call a connected OAuth vendor as the user's vendor account, reads and writes", async () => {
    const dave = await tokensFor(env, "dave");
    await connectVendor(dave.browser, "dave-at-vendor");
    const me = await call(dave.access_token, "auth-oauth_getMe");
    expect(json(me)).toMatchObject({ sub: "dave-at-vendor" });
    // The access token, the refresh token the gateway holds and its client secret, all scrubbed.
    expect(json(me).debug).toEqual({
      authorization: "Bearer [REDACTED]",
      refreshToken: "[REDACTED]",
      clientSecret: "[REDACTED]",
    });
    expect(JSON.stringify(me)).not.toMatch(/vat-|vrt-|client-secret-value/);
    const created = await call(dave.access_token, "auth-oauth_createItem", { name: "widget" });
    expect(created.isError).not.toBe(true);
    expect(json(created)).toMatchObject({ created: { name: "widget" }, by: "dave-at-vendor" });
  });

  it("use the organisation's client-credentials token for a shared vendor", async () => {
    const carolless = await tokensFor(env, "dave");
    const me = await call(carolless.access_token, "auth-cc_getMe");
    expect(json(me)).toMatchObject({
      sub: "client:gateway-cc-client",
      // The token the gateway obtained and its client secret, scrubbed from the vendor's echo.
      debug: { authorization: "Bearer [REDACTED]", clientSecret: "[REDACTED]" },
    });
    expect(JSON.stringify(me)).not.toMatch(/vat-|client-secret-value/);
  });

  it("mark a credential the vendor rejects (401) invalid and tell the user how to reconnect", async () => {
    const bob = await tokensFor(env, "bob");
    await connectVendor(bob.browser, "bob-at-vendor");
    expect(json(await call(bob.access_token, "auth-oauth_getMe"))).toMatchObject({ sub: "bob-at-vendor" });

    await fetch(`${authServersOrigin()}/vendor/_revoke?sub=bob-at-vendor`, { method: "POST" });
    const failed = await call(bob.access_token, "auth-oauth_getMe");
    expect(failed.isError).toBe(true);
    const body = json(failed);
    expect(body.status).toBe(401);
    expect(body.reconnect).toContain("rejected your credential (HTTP 401)");
    expect(body.reconnect).toContain(`${ORIGIN}/credentials#vendor-auth-oauth`);

    const list = await mcpResult<{ tools: { name: string }[] }>(
      await mcp(env, "/v1/mcp", bob.access_token, "tools/list"),
    );
    expect(list.tools.some((tool) => tool.name.startsWith("auth-oauth_"))).toBe(false);
    const status = await call(bob.access_token, "gateway_status");
    expect(status.content[0]?.text).toMatch(/Unavailable: auth-oauth .*rejected the stored credential/);

    // Reconnecting fixes it.
    await connectVendor(bob.browser, "bob-again");
    expect(json(await call(bob.access_token, "auth-oauth_getMe"))).toMatchObject({ sub: "bob-again" });
  });

  it("tell a user without a credential where to add one (vendor endpoint, where the tool is listed)", async () => {
    const carol = await tokensFor(env, "carol", { resource: `${ORIGIN}/v1/auth-key/mcp` });
    const res = await mcp(env, "/v1/auth-key/mcp", carol.access_token, "tools/call", {
      name: "whoami",
      arguments: {},
    });
    const result = await mcpResult<CallResult>(res);
    expect(result.isError).toBe(true);
    const body = json(result);
    expect(body.error).toBe("missing_credentials");
    expect(body.reconnect).toContain(`${ORIGIN}/credentials#vendor-auth-key`);
  });
});
