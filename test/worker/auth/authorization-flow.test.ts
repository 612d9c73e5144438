import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  authEnv,
  authorize,
  authorizeUrl,
  Browser,
  CLIENT_REDIRECT,
  gatewayFetch,
  location,
  mcp,
  mcpResult,
  ORIGIN,
  pkceAuthorizeUrl,
  pkcePair,
  registerClient,
  type TestEnv,
  tokenRequest,
  tokensFor,
} from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});
afterEach(() => {
  vi.useRealTimers();
});

async function exchange(
  a: { code: string; verifier: string; clientId: string },
  extra: Record<string, string> = {},
) {
  return tokenRequest(env, {
    grant_type: "authorization_code",
    code: a.code,
    redirect_uri: CLIENT_REDIRECT,
    code_verifier: a.verifier,
    client_id: a.clientId,
    ...extra,
  });
}

async function refreshGrant(refreshToken: string, clientId: string) {
  return tokenRequest(env, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId });
}

async function oauthError(res: Response): Promise<string> {
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  return ((await res.json()) as { error: string }).error;
}

describe("dynamic client registration (RFC 7591)", () => {
  it("registers a public client and answers JSON errors for bad metadata", async () => {
    const client = await registerClient(env);
    expect(client.client_id).toMatch(/\S+/);
    const bad = await gatewayFetch(env, "/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "x", redirect_uris: ["javascript:alert(1)"] }),
    });
    expect(bad.status).toBe(400);
    expect(await oauthError(bad)).toBe("invalid_client_metadata");
    const notJson = await gatewayFetch(env, "/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    expect(typeof (await oauthError(notJson))).toBe("string");
  });
});

describe("authorization endpoint", () => {
  it("sends a signed-out user to sign in, then shows a consent page that cannot be framed or forged", async () => {
    const browser = new Browser(env);
    const client = await registerClient(env, { client_name: "Evil <script>alert(1)</script> Client" });
    const { url } = await pkceAuthorizeUrl(client.client_id, {
      state: "s1",
      scope: "mcp:read mcp:write",
      resource: `${ORIGIN}/v1/mcp`,
    });
    const first = await browser.fetch(url);
    expect(first.status).toBe(303);
    expect(location(first)).toBe(`/signin?return=${encodeURIComponent(url)}`);
    const signedIn = await browser.signIn("alice", url);
    expect(location(signedIn)).toBe(url);
    const [session] = signedIn.headers.getSetCookie().filter((c) => c.startsWith("__Host-gw-session="));
    expect(session).toMatch(/; Path=\/; Secure; HttpOnly; SameSite=Lax/);

    const consent = await browser.fetch(url);
    expect(consent.status).toBe(200);
    expect(consent.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(consent.headers.get("x-frame-options")).toBe("DENY");
    const cookies = consent.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/^__Host-.*; Path=\/; Secure; HttpOnly/);
    const html = await consent.text();
    expect(html).toContain("Evil &#60;script&#62;alert(1)&#60;/script&#62; Client");
    expect(html).not.toContain("<script>");
    expect(html).toContain(CLIENT_REDIRECT);
    expect(html).toContain("127.0.0.1");
    expect(html).toContain('value="mcp:read"');
    expect(html).toContain('value="mcp:write"');
    expect(html).toMatch(/name="csrf" value="[^"]{20,}"/);
    expect(html).toContain("not verified");
  });

  it("shows the consent page again for every authorization of a dynamically registered client", async () => {
    const browser = new Browser(env);
    const first = await authorize(browser, "alice");
    expect(first.code).not.toBe("");
    // Same browser, same client: consent is not remembered.
    const again = await authorize(browser, "alice", { clientId: first.clientId });
    expect(again.consentHtml).toContain('name="handle"');
    expect(again.code).not.toBe("");
  });

  it("redirects back with the code, state and issuer (RFC 9207)", async () => {
    const a = await authorize(new Browser(env), "bob");
    expect(a.redirect.origin + a.redirect.pathname).toBe(CLIENT_REDIRECT);
    expect(a.redirect.searchParams.get("state")).toBe(a.state);
    expect(a.redirect.searchParams.get("iss")).toBe(ORIGIN);
  });

  it("answers access_denied when the user declines", async () => {
    const a = await authorize(new Browser(env), "bob", { deny: true });
    expect(a.redirect.searchParams.get("error")).toBe("access_denied");
    expect(a.redirect.searchParams.get("code")).toBeNull();
  });

  it("refuses a consent post whose CSRF token does not match the session, as JSON", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");
    const res = await browser.post("/authorize", { handle: "whatever", csrf: "forged", decision: "approve" });
    expect(res.status).toBe(403);
    expect(await oauthError(res)).toBe("access_denied");
  });

  it("refuses a consent handle replayed from another browser", async () => {
    const victim = new Browser(env);
    const client = await registerClient(env);
    const { url } = await pkceAuthorizeUrl(client.client_id, { state: "x" });
    await victim.signIn("alice", url);
    const html = await (await victim.fetch(url)).text();
    const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1] ?? "";
    // The attacker has the handle but not the victim's consent-binding cookie.
    const attacker = new Browser(env);
    await attacker.signIn("bob");
    const csrf = await attacker.csrf();
    const res = await attacker.post("/authorize", { handle, csrf, decision: "approve", scope: "mcp:read" });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_request");
  });

  it("refuses a signed-out consent post", async () => {
    const res = await new Browser(env).post("/authorize", { handle: "h", csrf: "c", decision: "approve" });
    expect(res.status).toBe(401);
    expect(await oauthError(res)).toBe("access_denied");
  });

  it("requires PKCE with S256: no challenge and `plain` are both refused", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");
    const client = await registerClient(env);
    const base = {
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: CLIENT_REDIRECT,
      state: "st",
    };
    const none = await browser.fetch(authorizeUrl(base));
    const noneTarget = none.status === 302 ? new URL(location(none)) : undefined;
    if (noneTarget !== undefined) {
      expect(noneTarget.searchParams.get("error")).toBe("invalid_request");
      expect(noneTarget.searchParams.get("code")).toBeNull();
    } else {
      expect(none.status).toBe(400);
      expect(await oauthError(none)).toBe("invalid_request");
    }
    const plain = await browser.fetch(
      authorizeUrl({ ...base, code_challenge: "a".repeat(43), code_challenge_method: "plain" }),
    );
    if (plain.status === 302) {
      expect(new URL(location(plain)).searchParams.get("error")).toBe("invalid_request");
    } else {
      expect(plain.status).toBe(400);
      expect(await oauthError(plain)).toBe("invalid_request");
    }
  });

  it("never redirects to an unregistered redirect URI: the error is local JSON", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");
    const client = await registerClient(env);
    for (const redirect of [
      "https://attacker.example/cb",
      `${CLIENT_REDIRECT}/extra`,
      "http://127.0.0.1:33418/callback?x=1",
    ]) {
      const res = await browser.fetch(
        (await pkceAuthorizeUrl(client.client_id, { redirect_uri: redirect })).url,
      );
      expect(res.status, redirect).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(await oauthError(res)).toBe("invalid_request");
    }
  });

  it("refuses an unknown client and a resource this server does not protect", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");
    const unknown = await browser.fetch((await pkceAuthorizeUrl("no-such-client")).url);
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("location")).toBeNull();
    expect(typeof (await oauthError(unknown))).toBe("string");

    const client = await registerClient(env);
    const foreign = await browser.fetch(
      (await pkceAuthorizeUrl(client.client_id, { resource: "https://other.example/mcp" })).url,
    );
    const error =
      foreign.status === 302
        ? new URL(location(foreign)).searchParams.get("error")
        : await oauthError(foreign);
    expect(error).toBe("invalid_target");
  });
});

describe("token endpoint: authorization code", () => {
  it("issues an access token bound to the requested resource, with a refresh token", async () => {
    const a = await authorize(new Browser(env), "alice");
    const res = await exchange(a, { resource: `${ORIGIN}/v1/mcp` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe("bearer");
    expect(body.resource).toBe(`${ORIGIN}/v1/mcp`);
    expect(body.scope).toBe("mcp:read mcp:write");
    expect(typeof body.refresh_token).toBe("string");
    expect(res.headers.get("cache-control")).toContain("no-store");
  });

  it("refuses a missing PKCE verifier", async () => {
    const a = await authorize(new Browser(env), "alice");
    const res = await tokenRequest(env, {
      grant_type: "authorization_code",
      code: a.code,
      redirect_uri: CLIENT_REDIRECT,
      client_id: a.clientId,
    });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_request");
  });

  it("refuses a wrong PKCE verifier", async () => {
    const a = await authorize(new Browser(env), "alice");
    const res = await exchange({ ...a, verifier: (await pkcePair()).verifier });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_grant");
  });

  it("refuses a redirect URI other than the authorization request's", async () => {
    const a = await authorize(new Browser(env), "alice");
    const res = await exchange(a, { redirect_uri: "http://127.0.0.1:33418/other" });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_grant");
  });

  it("refuses a code presented by another client", async () => {
    const a = await authorize(new Browser(env), "alice");
    const other = await registerClient(env);
    const res = await exchange({ ...a, clientId: other.client_id });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_grant");
  });

  it("refuses a replayed code and revokes what the first exchange issued", async () => {
    const a = await authorize(new Browser(env), "alice");
    const first = await exchange(a);
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as { access_token: string };
    expect((await mcp(env, "/v1/mcp", tokens.access_token, "tools/list")).status).toBe(200);
    const replay = await exchange(a);
    expect(replay.status).toBe(400);
    expect(await oauthError(replay)).toBe("invalid_grant");
    const after = await mcp(env, "/v1/mcp", tokens.access_token, "tools/list");
    expect(after.status).toBe(401);
  });

  it("refuses an expired code (its grant record gone, as the KV TTL removes it)", async () => {
    const a = await authorize(new Browser(env), "alice");
    const [userId, grantId] = a.code.split(":");
    await env.OAUTH_KV.delete(`grant:${userId}:${grantId}`);
    const res = await exchange(a);
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_grant");
  });

  it("refuses an unsupported grant type and a GET, as JSON", async () => {
    const client = await registerClient(env);
    const res = await tokenRequest(env, {
      grant_type: "password",
      username: "alice",
      password: "x",
      client_id: client.client_id,
    });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toMatch(/unsupported_grant_type|unauthorized_client/);
    const anonymous = await tokenRequest(env, { grant_type: "authorization_code", code: "a:b:c" });
    expect(anonymous.status).toBe(401);
    expect(await oauthError(anonymous)).toBe("invalid_client");
    const get = await gatewayFetch(env, "/oauth/token");
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.headers.get("content-type")).toMatch(/application\/json/);
  });
});

describe("audience (RFC 8707): a token works only at the endpoint it was issued for", () => {
  it("refuses a vendor endpoint's token at the unified endpoint and vice versa", async () => {
    const vendorTokens = await tokensFor(env, "alice", { resource: `${ORIGIN}/v1/mcp-alpha/mcp` });
    expect((await mcp(env, "/v1/mcp-alpha/mcp", vendorTokens.access_token, "tools/list")).status).toBe(200);
    const elsewhere = await mcp(env, "/v1/mcp", vendorTokens.access_token, "tools/list");
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await mcp(env, "/v1/auth-key/mcp", vendorTokens.access_token, "tools/list")).status).toBe(401);

    const unified = await tokensFor(env, "alice");
    expect((await mcp(env, "/v1/mcp-alpha/mcp", unified.access_token, "tools/list")).status).toBe(401);
  });

  it("refuses to retarget a grant to another resource at the token endpoint", async () => {
    const a = await authorize(new Browser(env), "alice", { resource: `${ORIGIN}/v1/mcp` });
    const res = await exchange(a, { resource: `${ORIGIN}/v1/auth-key/mcp` });
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_target");
  });
});

describe("refresh tokens", () => {
  it("rotate: each refresh returns a new refresh token and the superseded one stops working", async () => {
    const t = await tokensFor(env, "alice");
    const r1 = t.refresh_token;
    const second = await refreshGrant(r1, t.clientId);
    expect(second.status).toBe(200);
    const t2 = (await second.json()) as { refresh_token: string; access_token: string };
    expect(t2.refresh_token).not.toBe(r1);
    expect((await mcp(env, "/v1/mcp", t2.access_token, "tools/list")).status).toBe(200);
    // Using the new refresh token retires the previous one.
    const third = await refreshGrant(t2.refresh_token, t.clientId);
    expect(third.status).toBe(200);
    const replay = await refreshGrant(r1, t.clientId);
    expect(replay.status).toBe(400);
    expect(await oauthError(replay)).toBe("invalid_grant");
  });

  it("refuses a refresh token presented by another client", async () => {
    const t = await tokensFor(env, "alice");
    const other = await registerClient(env);
    const res = await refreshGrant(t.refresh_token, other.client_id);
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_grant");
  });

  it("expire with the grant (30 days)", async () => {
    const t = await tokensFor(env, "alice");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31 * 24 * 60 * 60 * 1000);
    const res = await refreshGrant(t.refresh_token, t.clientId);
    expect(res.status).toBe(400);
    expect(await oauthError(res)).toBe("invalid_grant");
  });
});

describe("access token lifetime and revocation (RFC 7009)", () => {
  it("refuses an expired access token", async () => {
    const t = await tokensFor(env, "alice");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 2 * 60 * 60 * 1000);
    const res = await mcp(env, "/v1/mcp", t.access_token, "tools/list");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses a revoked access token; revoking the refresh token ends the grant", async () => {
    const t = await tokensFor(env, "alice");
    const revoke = await tokenRequest(env, { token: t.access_token, client_id: t.clientId });
    expect(revoke.status).toBe(200);
    expect((await mcp(env, "/v1/mcp", t.access_token, "tools/list")).status).toBe(401);

    const t2 = await tokensFor(env, "bob");
    expect((await tokenRequest(env, { token: t2.refresh_token, client_id: t2.clientId })).status).toBe(200);
    const refresh = await refreshGrant(t2.refresh_token, t2.clientId);
    expect(refresh.status).toBe(400);
    expect(await oauthError(refresh)).toBe("invalid_grant");
    expect((await mcp(env, "/v1/mcp", t2.access_token, "tools/list")).status).toBe(401);
  });

  it("lets a user revoke a client's grant from the credentials page", async () => {
    const t = await tokensFor(env, "dave");
    const csrf = await t.browser.csrf();
    const page = await (await t.browser.fetch("/credentials")).text();
    const grantId = /action="\/credentials\/clients\/([^/]+)\/revoke"/.exec(page)?.[1];
    expect(grantId).toBeDefined();
    const res = await t.browser.post(`/credentials/clients/${grantId}/revoke`, { csrf });
    expect(res.status).toBe(303);
    expect((await mcp(env, "/v1/mcp", t.access_token, "tools/list")).status).toBe(401);
  });

  it("stops a removed user's tokens on their next request", async () => {
    const t = await tokensFor(env, "dave");
    expect((await mcp(env, "/v1/mcp", t.access_token, "tools/list")).status).toBe(200);
    const users = (JSON.parse(env.GATEWAY_USERS ?? "[]") as { id: string }[]).filter((u) => u.id !== "dave");
    const withoutDave = await authEnv({ GATEWAY_USERS: JSON.stringify(users) });
    const res = await mcp(withoutDave, "/v1/mcp", t.access_token, "tools/list");
    expect(res.status).toBe(401);
  });
});

describe("scopes and step-up (403 insufficient_scope)", () => {
  it("a read-only grant lists tools but a write tool answers 403 naming the scopes to request", async () => {
    const t = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    expect(t.scope).toBe("mcp:read");
    const list = await mcpResult<{ tools: { name: string }[] }>(
      await mcp(env, "/v1/mcp", t.access_token, "tools/list"),
    );
    expect(list.tools.map((tool) => tool.name)).toContain("mcp-alpha_createItem");
    const write = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-alpha_createItem",
      arguments: { name: "x" },
    });
    expect(write.status).toBe(403);
    const challenge = write.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp:read mcp:write"');
    expect(challenge).toContain(`resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource/v1/mcp"`);
    expect(((await write.json()) as { error: string }).error).toBe("insufficient_scope");
  });

  it("applies the same rule to an upstream MCP server's tools, from their annotations", async () => {
    const t = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    // mcp-up's echo declares no readOnlyHint: the spec's default says it may change data.
    const write = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-up_echo",
      arguments: { word: "hi" },
    });
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate") ?? "").toContain('error="insufficient_scope"');
  });

  it("a grant without mcp:read gets 403 for everything", async () => {
    const t = await tokensFor(env, "alice", { approve: ["offline_access"] });
    const res = await mcp(env, "/v1/mcp", t.access_token, "tools/list");
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('scope="mcp:read"');
  });
});

describe("password sign-in", () => {
  it("refuses a wrong password and a forged form, and pauses after repeated failures", async () => {
    const browser = new Browser(env);
    const page = await (await browser.fetch("/signin")).text();
    const token = /name="form_token" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const wrong = await browser.post("/signin", { username: "carol", password: "nope", form_token: token });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.getSetCookie().some((c) => c.startsWith("__Host-gw-session="))).toBe(false);

    const forged = await new Browser(env).post("/signin", {
      username: "carol",
      password: "carol-password-333",
      form_token: token,
    });
    expect(forged.status).toBe(403);

    for (let i = 0; i < 10; i++) {
      const html = await (await browser.fetch("/signin")).text();
      const t = /name="form_token" value="([^"]+)"/.exec(html)?.[1] ?? "";
      await browser.post("/signin", { username: "carol", password: `nope-${i}`, form_token: t });
    }
    const html = await (await browser.fetch("/signin")).text();
    const t = /name="form_token" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const blocked = await browser.post("/signin", {
      username: "carol",
      password: "carol-password-333",
      form_token: t,
    });
    expect(blocked.status).toBe(429);
  });

  it("only redirects back to the gateway's own pages", async () => {
    const res = await new Browser(env).signIn("alice", "https://attacker.example/");
    expect(location(res)).toBe("/credentials");
    const res2 = await new Browser(env).signIn("alice", "//attacker.example/x");
    expect(location(res2)).toBe("/credentials");
  });
});
