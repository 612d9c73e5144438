/**
 * An OAuth-protected MCP server (SDK server plus its own authorization server,
 * test/support/mcp-servers/oauth-server.ts) as the vendor `secured` (`auth.mode: "user"`), with
 * client auth on: a user signs in, connects the vendor on the credentials page (the gateway
 * discovers the server's authorization server from its 401, registers, authorizes with PKCE and
 * `resource`), and their MCP client, holding a gateway token, calls the vendor's tools with the
 * user's own upstream token. The gateway's token never reaches the upstream.
 */
import { env as projectEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { hashPassword } from "../../../src/auth/password.ts";
import {
  authorize,
  Browser,
  CLIENT_REDIRECT,
  ENCRYPTION_KEY,
  gatewayFetch,
  location,
  ORIGIN,
  PASSWORDS,
  type TestEnv,
  tokenRequest,
} from "../../worker/auth/helpers.ts";
import { legacyRequest, readJsonRpc } from "../../worker/mcp/helpers.ts";

const secured = inject("e2eDeployment").secured;
let env: TestEnv;

beforeAll(async () => {
  env = {
    ...(projectEnv as unknown as Record<string, unknown>),
    GATEWAY_AUTH: "oauth",
    GATEWAY_USERS: JSON.stringify([
      { id: "alice", name: "Alice", passwordHash: await hashPassword(PASSWORDS.alice) },
    ]),
    CREDENTIALS_ENCRYPTION_KEY: ENCRYPTION_KEY,
  } as TestEnv;
});

/** One JSON-RPC request to /v1/mcp with the gateway token. */
async function mcp(token: string, method: string, params: Record<string, unknown>) {
  const request = legacyRequest(method, params);
  const res = await gatewayFetch(env, "/v1/mcp", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      authorization: `Bearer ${token}`,
      ...request.headers,
    },
    body: JSON.stringify(request.message),
  });
  expect(res.status).toBe(200);
  return readJsonRpc(res);
}

describe("an OAuth-protected MCP server behind the gateway", () => {
  it("a user connects it on the credentials page, then their calls carry their own upstream token", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");

    // Connect: the gateway names the upstream's authorization server (discovered from the
    // server's 401) and links to it; that server approves at once and sends the browser back.
    const csrf = await browser.csrf();
    const start = await browser.post("/credentials/secured/connect", { csrf, owner: "user" });
    expect(start.status).toBe(200);
    const href = /href="([^"]+)" data-action="continue"/.exec(await start.text())?.[1] ?? "";
    // The page escapes `&` as `&#38;`.
    const authorizeUrl = new URL(href.replaceAll("&#38;", "&"));
    expect(authorizeUrl.origin).toBe(secured.origin);
    expect(authorizeUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorizeUrl.searchParams.get("resource")).toBe(secured.url);
    const back = await browser.fetch(authorizeUrl.href);
    expect(location(await browser.fetch(location(back)))).toContain("notice=connected");

    // The user's MCP client gets a gateway token (the gateway's own OAuth).
    const { code, verifier, clientId } = await authorize(browser, "alice");
    const tokenResponse = await tokenRequest(env, {
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: CLIENT_REDIRECT,
      resource: `${ORIGIN}/v1/mcp`,
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token: gatewayToken } = (await tokenResponse.json()) as { access_token: string };

    const listed = await mcp(gatewayToken, "tools/list", {});
    const names = (listed.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["secured_whoami", "secured_echo"]));

    const who = await mcp(gatewayToken, "tools/call", { name: "secured_whoami", arguments: {} });
    const result = who.result as {
      isError?: boolean;
      structuredContent?: { clientId: string; scopes: string[] };
    };
    expect(result.isError).toBeFalsy();
    // The upstream saw a token its own authorization server issued to the client the gateway registered.
    expect(result.structuredContent?.clientId).toBe(authorizeUrl.searchParams.get("client_id"));
    expect(result.structuredContent?.scopes).toContain("mcp:read");

    // What the upstream received in Authorization: the user's upstream token (scrubbed on the way
    // back), never the gateway token the client sent.
    const echoed = await mcp(gatewayToken, "tools/call", { name: "secured_echo_headers", arguments: {} });
    const headers = (echoed.result as { structuredContent?: { headers: Record<string, string> } })
      .structuredContent?.headers;
    expect(headers?.authorization).toBe("Bearer [REDACTED]");
    expect(JSON.stringify(echoed)).not.toContain(gatewayToken);
  });
});
