/**
 * End to end with a real OAuth client: the MCP SDK 1.32 client's OAuth support does
 * discovery (401 → protected resource metadata → authorization server metadata),
 * dynamic registration, authorization (PKCE S256, resource indicator), the token
 * exchange, then tools/list and tools/call against the gateway — whose upstream is a
 * local OAuth-protected vendor API the user connected on the credentials page.
 *
 * The "browser" (sign-in, consent, vendor redirect) is the test's cookie-keeping client.
 */

import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { beforeAll, describe, expect, it } from "vitest";
import { MemoryOAuthProvider } from "../support/oauth-client-provider.ts";
import { authEnv, Browser, gatewayFetch, location, ORIGIN, type TestEnv } from "../worker/auth/helpers.ts";

const REDIRECT = "http://127.0.0.1:48123/oauth/callback";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

/** Requests to the gateway's origin go into the Worker; everything else to the network (127.0.0.1 only). */
function routedFetch(testEnv: TestEnv): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (new URL(request.url).origin === ORIGIN) return gatewayFetch(testEnv, request);
    return fetch(request);
  }) as typeof fetch;
}

/** An in-memory OAuthClientProvider whose "user agent" is a signed-in test browser. */
class TestOAuthProvider extends MemoryOAuthProvider {
  consentHtml = "";

  constructor(
    private readonly browser: Browser,
    private readonly approve: string[] = ["mcp:read", "mcp:write"],
  ) {
    super(REDIRECT, "SDK E2E Client");
  }

  /** What a browser would do: open the URL, show consent, click Allow, land on the redirect. */
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrl = url;
    const path = `${url.pathname}${url.search}`;
    const page = await this.browser.fetch(path);
    if (page.status !== 200)
      throw new Error(`consent page expected, got ${page.status}: ${await page.text()}`);
    this.consentHtml = await page.text();
    const handle = /name="handle" value="([^"]+)"/.exec(this.consentHtml)?.[1] ?? "";
    const csrf = /name="csrf" value="([^"]+)"/.exec(this.consentHtml)?.[1] ?? "";
    const decision = await this.browser.post("/authorize", {
      handle,
      csrf,
      decision: "approve",
      scope: this.approve,
    });
    const back = new URL(location(decision));
    expect(back.origin + back.pathname).toBe(REDIRECT);
    this.authorizationCode = back.searchParams.get("code") ?? undefined;
  }
}

async function connectedClient(provider: TestOAuthProvider, path = "/v1/mcp"): Promise<Client> {
  const url = new URL(path, ORIGIN);
  const options = { authProvider: provider, fetch: routedFetch(env) };
  const client = new Client(
    { name: "sdk-e2e", version: "1.0.0" },
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  const first = new StreamableHTTPClientTransport(url, options);
  await expect(client.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.authorizationCode).toBeDefined();
  await first.finishAuth(provider.authorizationCode ?? "");
  const transport = new StreamableHTTPClientTransport(url, options);
  await client.connect(transport);
  return client;
}

describe("MCP SDK client OAuth against the gateway", () => {
  it("discovers, registers, authorizes, exchanges, lists and calls tools with the user's upstream credential", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");
    // The user connects their vendor account first (vendor = local OAuth server).
    const csrf = await browser.csrf();
    const start = await browser.post("/credentials/auth-oauth/connect", { csrf, owner: "user" });
    const atVendor = await browser.fetch(`${location(start)}&login_as=alice-e2e`);
    expect(location(await browser.fetch(location(atVendor)))).toContain("notice=connected");

    const provider = new TestOAuthProvider(browser);
    const client = await connectedClient(provider);

    // What the SDK did on the way: dynamic registration, PKCE S256, the resource indicator.
    expect(provider.clientInfo?.client_id).toBeTruthy();
    const authUrl = provider.authorizationUrl;
    expect(authUrl?.origin + (authUrl?.pathname ?? "")).toBe(`${ORIGIN}/authorize`);
    expect(authUrl?.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authUrl?.searchParams.get("resource")).toBe(`${ORIGIN}/v1/mcp`);
    expect(authUrl?.searchParams.get("scope")).toBe("mcp:read mcp:write");
    expect(provider.consentHtml).toContain("SDK E2E Client");
    expect(provider.savedTokens?.access_token).toBeTruthy();
    expect(provider.savedTokens?.refresh_token).toBeTruthy();

    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toContain("gateway_status");
    expect(names).toContain("auth-oauth_getMe");
    expect(names).not.toContain("auth-key_whoami");

    const me = await client.callTool({ name: "auth-oauth_getMe", arguments: {} });
    expect(me.isError).not.toBe(true);
    const content = me.content as { type: string; text: string }[];
    expect(JSON.parse(content[0]?.text ?? "{}")).toMatchObject({ sub: "alice-e2e" });

    const status = await client.callTool({ name: "gateway_status", arguments: {} });
    expect((status.content as { text: string }[])[0]?.text).toContain(
      `${ORIGIN}/credentials#vendor-auth-key`,
    );
    await client.close();
  });

  it("refreshes with the rotated refresh token when the access token is rejected", async () => {
    const browser = new Browser(env);
    await browser.signIn("dave");
    const provider = new TestOAuthProvider(browser);
    const client = await connectedClient(provider);
    const before = provider.savedTokens;
    await client.close();

    // Revoke the access token only: the next request gets 401 and the SDK refreshes.
    const revoke = await gatewayFetch(env, "/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: before?.access_token ?? "",
        client_id: provider.clientInfo?.client_id ?? "",
      }),
    });
    expect(revoke.status).toBe(200);
    const again = new Client(
      { name: "sdk-e2e", version: "1.0.0" },
      { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
    );
    await again.connect(
      new StreamableHTTPClientTransport(new URL("/v1/mcp", ORIGIN), {
        authProvider: provider,
        fetch: routedFetch(env),
      }),
    );
    const { tools } = await again.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(provider.savedTokens?.access_token).not.toBe(before?.access_token);
    expect(provider.savedTokens?.refresh_token).not.toBe(before?.refresh_token);
    await again.close();
  });

  it("steps up: a read-only grant's write call gets 403 insufficient_scope; re-authorizing for mcp:write works", async () => {
    const browser = new Browser(env);
    await browser.signIn("bob");
    const provider = new TestOAuthProvider(browser, ["mcp:read"]);
    const client = await connectedClient(provider);
    expect(provider.savedTokens?.scope).toBe("mcp:read");
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);

    // SDK 1.32 answers the 403 by refreshing (which can only keep or narrow the scope), gets the
    // same 403 again and stops: the server's challenge is right, the client needs a new authorization.
    await expect(client.callTool({ name: "mcp-alpha_createItem", arguments: { name: "x" } })).rejects.toThrow(
      /403 after trying upscoping/,
    );
    await client.close();

    // A client that re-authorizes with the challenged scope (dropping the read-only refresh token).
    provider.savedTokens = undefined;
    provider.authorizationCode = undefined;
    (provider as unknown as { approve: string[] }).approve = ["mcp:read", "mcp:write"];
    const url = new URL("/v1/mcp", ORIGIN);
    const result = await auth(provider, {
      serverUrl: url,
      scope: "mcp:read mcp:write",
      fetchFn: routedFetch(env),
    });
    expect(result).toBe("REDIRECT");
    expect(provider.authorizationUrl?.searchParams.get("scope")).toBe("mcp:read mcp:write");
    await auth(provider, {
      serverUrl: url,
      authorizationCode: provider.authorizationCode ?? "",
      fetchFn: routedFetch(env),
    });
    expect(provider.tokens()?.scope).toBe("mcp:read mcp:write");
    const upgraded = new Client(
      { name: "sdk-e2e", version: "1.0.0" },
      { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
    );
    await upgraded.connect(
      new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: routedFetch(env) }),
    );
    const write = await upgraded.callTool({ name: "mcp-alpha_createItem", arguments: { name: "x" } });
    // The write reached the (echoing) fixture upstream.
    expect(write.isError).not.toBe(true);
    const echoed = JSON.parse((write.content as { text: string }[])[0]?.text ?? "{}") as { method?: string };
    expect(echoed.method).toBe("POST");
    await upgraded.close();
  });
});
