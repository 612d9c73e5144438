/**
 * End to end, through the Worker's routes: a signed-in gateway user connects an OAuth-protected
 * upstream MCP server on the credentials page (Connect → the continue page → the upstream's
 * authorization server, which approves at once → the gateway's callback), then lists and calls
 * its tools on `/v1/mcp` with their gateway token. The vendor is the `mcp-oauth` fixture
 * (test/fixtures/specs/mcp-oauth, `auth.mode: "user"`), pointed by `MCP_OAUTH_MCP_URL` at the
 * OAuth server of test/support/mcp-servers/oauth-server.ts (DCR, PKCE S256, `resource`, rotating
 * refresh tokens, `admin_action` needing `mcp:admin`). Token expiry is the server's switch, never
 * time.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { getCredential } from "../../src/auth/credential-store.ts";
import { type CredentialCipher, credentialCipher } from "../../src/auth/crypto.ts";
import {
  authEnv,
  type Browser,
  location,
  mcp,
  mcpResult,
  ORIGIN,
  type TestEnv,
  tokensFor,
} from "../worker/auth/helpers.ts";

const VENDOR = "mcp-oauth";
const server = () => inject("mcpServers").oauth;

let env: TestEnv;
let cipher: CredentialCipher;
beforeAll(async () => {
  env = await authEnv();
  cipher = (await credentialCipher(env)) as CredentialCipher;
});

interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
}

interface StatusResult {
  structuredContent: { vendors: { vendor: string; available: boolean; reason?: string; fixUrl?: string }[] };
}

interface Recorded {
  method: string;
  path: string;
  authorization?: string;
}

async function control(route: string, query = ""): Promise<unknown> {
  const response = await fetch(`${server().origin}/_control/${route}${query}`, { method: "POST" });
  expect(response.status).toBe(200);
  return response.json();
}

/** What reached the upstream (the server is shared by other test files: filter by credential). */
async function upstreamRequests(): Promise<Recorded[]> {
  return (await control("requests")) as Recorded[];
}

/** Every page of `/v1/mcp`'s tool list. */
async function toolNames(token: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await mcpResult<{ tools: { name: string }[]; nextCursor?: string }>(
      await mcp(env, "/v1/mcp", token, "tools/list", cursor === undefined ? {} : { cursor }),
    );
    names.push(...page.tools.map((tool) => tool.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names;
}

async function callTool(
  token: string,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolResult> {
  return mcpResult<ToolResult>(await mcp(env, "/v1/mcp", token, "tools/call", { name, arguments: args }));
}

async function vendorStatus(token: string): Promise<StatusResult["structuredContent"]["vendors"][number]> {
  const status = await callTool(token, "gateway_status");
  const vendors = (status as unknown as StatusResult).structuredContent.vendors;
  const mine = vendors.find((vendor) => vendor.vendor === VENDOR);
  if (mine === undefined) throw new Error(`${VENDOR} missing from gateway_status`);
  return mine;
}

/** The user's stored upstream tokens (fails the test when there are none). */
async function stored(userId: string): Promise<{ accessToken: string; refreshToken: string }> {
  const credential = await getCredential(env, cipher, { kind: "user", id: userId }, VENDOR);
  if (credential?.secret.type !== "oauth2") throw new Error(`no OAuth credential for ${userId}`);
  return credential.secret as unknown as { accessToken: string; refreshToken: string };
}

/** Numeric character references (what src/auth/pages.ts writes) and the named ones, back to text. */
const unescapeHtml = (value: string) =>
  value
    .replace(/&#(\d{1,6});/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/**
 * What the user does on the credentials page: Connect, the continue page's link to the upstream's
 * authorization server (it approves at once and redirects), the gateway's callback.
 */
async function connect(browser: Browser): Promise<URL> {
  const csrf = await browser.csrf();
  const start = await browser.post(`/credentials/${VENDOR}/connect`, { csrf, owner: "user" });
  expect(start.status).toBe(200);
  const page = await start.text();
  const href = /<a class="button" href="([^"]+)" data-action="continue"/.exec(page)?.[1];
  if (href === undefined) throw new Error(`no continue link: ${page.slice(0, 500)}`);
  const authorize = new URL(unescapeHtml(href));
  expect(authorize.origin).toBe(server().origin);
  expect(page).toContain(`Continue to ${authorize.host}`);
  const approved = await browser.fetch(authorize.href);
  if (approved.status !== 302) throw new Error(`authorize: ${approved.status} ${await approved.text()}`);
  const callback = new URL(location(approved));
  expect(`${callback.origin}${callback.pathname}`).toBe(`${ORIGIN}/oauth/vendors/${VENDOR}/callback`);
  const done = await browser.fetch(callback.href);
  expect(location(done)).toBe(`/credentials?notice=connected&vendor=${VENDOR}#vendor-${VENDOR}`);
  return authorize;
}

describe("an OAuth-protected upstream MCP server, connected on the credentials page", () => {
  it("needs a connection first, then its tools work with the user's upstream token, never the gateway's", async () => {
    const dave = await tokensFor(env, "dave");

    // Not connected: the vendor's tools are not listed, gateway_status says where to connect,
    // and the credentials page offers Connect.
    expect((await toolNames(dave.access_token)).some((name) => name.startsWith(`${VENDOR}_`))).toBe(false);
    expect(await vendorStatus(dave.access_token)).toMatchObject({
      available: false,
      reason: "not_connected",
      fixUrl: `${ORIGIN}/credentials#vendor-${VENDOR}`,
    });
    const page = await (await dave.browser.fetch("/credentials")).text();
    expect(page).toContain(`action="/credentials/${VENDOR}/connect"`);

    const authorize = await connect(dave.browser);
    // MCP authorization: PKCE S256, the MCP server as `resource`, the scope from its 401, a
    // dynamically registered client, the per-vendor callback.
    expect(authorize.pathname).toBe("/authorize");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("resource")).toBe(server().url);
    expect(authorize.searchParams.get("scope")).toBe("mcp:read");
    expect(authorize.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/oauth/vendors/${VENDOR}/callback`);
    const clientId = authorize.searchParams.get("client_id") ?? "";
    expect(clientId).toMatch(/^client_/);

    const names = await toolNames(dave.access_token);
    expect(names).toEqual(
      expect.arrayContaining([`${VENDOR}_echo`, `${VENDOR}_whoami`, `${VENDOR}_admin_action`]),
    );
    expect(await vendorStatus(dave.access_token)).toMatchObject({ available: true });

    const echo = await callTool(dave.access_token, `${VENDOR}_echo`, { text: "hello upstream" });
    expect(echo.isError).not.toBe(true);
    expect(echo.content[0]?.text).toContain("hello upstream");
    // The upstream authenticated the call as the gateway's registered client with the granted scope.
    const who = await callTool(dave.access_token, `${VENDOR}_whoami`);
    expect(who.structuredContent).toEqual({ clientId, scopes: ["mcp:read"] });

    // What the upstream received: the upstream token (scrubbed from the result), never the
    // gateway's client token.
    const headers = await callTool(dave.access_token, `${VENDOR}_echo_headers`);
    expect(headers.isError).not.toBe(true);
    expect(headers.content[0]?.text).toContain("Bearer [REDACTED]");
    const { accessToken, refreshToken } = await stored("dave");
    expect(JSON.stringify(headers)).not.toContain(accessToken);
    const seen = await upstreamRequests();
    const withUpstreamToken = seen.filter(
      (r) => r.path === "/mcp" && r.authorization === `Bearer ${accessToken}`,
    );
    expect(withUpstreamToken.length).toBeGreaterThanOrEqual(4); // tools/list, three calls
    for (const secret of [dave.access_token, dave.refresh_token]) {
      expect(seen.some((r) => r.authorization?.includes(secret))).toBe(false);
    }
    expect(seen.some((r) => r.authorization?.includes(refreshToken))).toBe(false);
  });

  it("refreshes an expired upstream token (rotating the refresh token) and the call succeeds", async () => {
    const alice = await tokensFor(env, "alice");
    await connect(alice.browser);
    expect((await callTool(alice.access_token, `${VENDOR}_echo`, { text: "before" })).isError).not.toBe(true);
    const before = await stored("alice");

    await control("expire-tokens", `?token=${encodeURIComponent(before.accessToken)}`);
    const after = await callTool(alice.access_token, `${VENDOR}_echo`, { text: "after expiry" });
    expect(after.isError).not.toBe(true);
    expect(after.content[0]?.text).toContain("after expiry");

    const renewed = await stored("alice");
    expect(renewed.accessToken).not.toBe(before.accessToken);
    expect(renewed.refreshToken).not.toBe(before.refreshToken);
    const seen = (await upstreamRequests()).filter((r) => r.path === "/mcp");
    // The expired token was tried, refused, and the call went again with the new one.
    expect(seen.some((r) => r.authorization === `Bearer ${before.accessToken}`)).toBe(true);
    expect(seen.some((r) => r.authorization === `Bearer ${renewed.accessToken}`)).toBe(true);
    expect(await vendorStatus(alice.access_token)).toMatchObject({ available: true });
  });

  it("a step-up (403 insufficient_scope) is a tool error linking the credentials page; reconnecting asks for the scope", async () => {
    const bob = await tokensFor(env, "bob");
    await connect(bob.browser);
    const refused = await callTool(bob.access_token, `${VENDOR}_admin_action`);
    expect(refused.isError).toBe(true);
    const text = refused.content.map((item) => item.text).join("\n");
    const failure = JSON.parse(text) as { status?: number; reconnect?: string };
    expect(failure.status).toBe(403);
    // The user's own connection lacks a scope: reconnecting fixes it (not "ask the operator").
    expect(failure.reconnect).toBe(
      `MCP OAuth (test fixture) needs more permissions (mcp:read mcp:admin): reconnect at ${ORIGIN}/credentials#vendor-${VENDOR}.`,
    );

    // The connection now needs the user: the vendor says so until they reconnect.
    expect(await vendorStatus(bob.access_token)).toMatchObject({
      available: false,
      reason: "needs_reauthorization",
      fixUrl: `${ORIGIN}/credentials#vendor-${VENDOR}`,
    });

    expect((await toolNames(bob.access_token)).some((name) => name.startsWith(`${VENDOR}_`))).toBe(false);

    const again = await connect(bob.browser);
    expect(again.searchParams.get("scope")?.split(" ").sort()).toEqual(["mcp:admin", "mcp:read"]);
    const done = await callTool(bob.access_token, `${VENDOR}_admin_action`);
    expect(done.isError).not.toBe(true);
    expect(done.content[0]?.text).toBe("admin action done");
  });

  it("never gives one user another's upstream token", async () => {
    const alice = await tokensFor(env, "alice");
    const dave = await tokensFor(env, "dave");
    // Dave starts without a connection (Disconnect on the credentials page, whatever an earlier
    // test left); alice connects.
    const csrf = await dave.browser.csrf();
    const removed = await dave.browser.post(`/credentials/${VENDOR}/disconnect`, { csrf, owner: "user" });
    expect(location(removed)).toContain("notice=removed");
    await connect(alice.browser);
    const alicesToken = (await stored("alice")).accessToken;

    // Alice's connection does not make the vendor dave's.
    expect((await toolNames(dave.access_token)).some((name) => name.startsWith(`${VENDOR}_`))).toBe(false);
    const refused = (await (
      await mcp(env, "/v1/mcp", dave.access_token, "tools/call", {
        name: `${VENDOR}_echo`,
        arguments: { text: "as dave" },
      })
    ).json()) as { error?: { code: number } };
    expect(refused.error?.code).toBe(-32602);
    expect(await getCredential(env, cipher, { kind: "user", id: "dave" }, VENDOR)).toBeUndefined();

    // Once he connects, his calls carry his own token; alice's carry hers.
    await connect(dave.browser);
    const davesToken = (await stored("dave")).accessToken;
    expect(davesToken).not.toBe(alicesToken);
    const mark = (await upstreamRequests()).length;
    await callTool(dave.access_token, `${VENDOR}_echo`, { text: "dave" });
    const daveCall = (await upstreamRequests()).slice(mark).filter((r) => r.path === "/mcp");
    expect(daveCall.some((r) => r.authorization === `Bearer ${davesToken}`)).toBe(true);
    expect(daveCall.some((r) => r.authorization === `Bearer ${alicesToken}`)).toBe(false);

    // Refreshing dave's expired token leaves alice's connection alone.
    await control("expire-tokens", `?token=${encodeURIComponent(davesToken)}`);
    const renewed = await callTool(dave.access_token, `${VENDOR}_echo`, { text: "dave again" });
    expect(renewed.isError).not.toBe(true);
    expect((await stored("alice")).accessToken).toBe(alicesToken);
    expect((await stored("dave")).accessToken).not.toBe(davesToken);
    const aliceEcho = await callTool(alice.access_token, `${VENDOR}_echo`, { text: "alice" });
    expect(aliceEcho.content[0]?.text).toContain("alice");
  });
});
