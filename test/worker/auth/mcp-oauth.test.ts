/**
 * Upstream credentials for MCP vendors (src/auth/mcp-oauth.ts, src/auth/mcp-credentials.ts)
 * against a real local protected MCP server and its authorization server
 * (test/support/mcp-auth-server.ts): discovery variants, dynamic registration, client ID
 * metadata documents, PKCE and `resource`, refresh with rotation, step-up, static
 * credentials, and that nothing but the upstream credential goes upstream.
 */
import { describe, expect, inject, it } from "vitest";
import { type CredentialOwner, getCredential, putCredential } from "../../../src/auth/credential-store.ts";
import { type CredentialCipher, credentialCipher } from "../../../src/auth/crypto.ts";
import {
  clientMetadataDocument,
  finishMcpAuthorization,
  mcpAuthorizerFor,
  startMcpAuthorization,
} from "../../../src/auth/mcp-credentials.ts";
import {
  discoverMcpAuthorization,
  McpOAuthError,
  parseBearerChallenge,
} from "../../../src/auth/mcp-oauth.ts";
import { continueToAuthorizationPage, credentialsPage } from "../../../src/auth/pages.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import type { McpAuthorizer } from "../../../src/mcp-upstream/connection.ts";
import { SecretScrubber } from "../../../src/redaction/scrub.ts";
import { bareBundle } from "../../support/bare-bundle.ts";
import { manualClock } from "../../support/clocks.ts";
import { authEnv, gatewayFetch, ORIGIN, type TestEnv } from "./helpers.ts";

const upstream = () => inject("mcpAuthOrigin");
const signal = () => AbortSignal.timeout(10_000);
const SESSION = "session-hash-1";

function mcpBundle(variant: string, auth: VendorBundle["auth"] = { mode: "user" }): VendorBundle {
  return bareBundle(`mcp-${variant}`, { kind: "mcp", mcp: { url: `${upstream()}/${variant}/mcp` }, auth });
}

async function setup(variant: string, overrides: Record<string, string> = {}) {
  const env = await authEnv(overrides);
  const bundle = mcpBundle(variant);
  const cipher = (await credentialCipher(env)) as CredentialCipher;
  return { env, bundle, cipher, url: new URL(`${upstream()}/${variant}/mcp`) };
}

/** The "browser": follows the authorization server's redirect (it approves at once). */
async function connect(
  env: TestEnv,
  bundle: VendorBundle,
  cipher: CredentialCipher,
  owner: CredentialOwner = { kind: "user", id: "alice" },
): Promise<{ authorize: URL; owner: CredentialOwner }> {
  const location = await startMcpAuthorization(env, bundle, cipher, owner, SESSION, owner.id, ORIGIN);
  const approval = await fetch(location, { redirect: "manual" });
  await approval.body?.cancel();
  const callback = new URL(approval.headers.get("location") ?? "");
  expect(`${callback.origin}${callback.pathname}`).toBe(`${ORIGIN}/oauth/vendors/${bundle.vendor}/callback`);
  const stored = await finishMcpAuthorization(env, bundle, cipher, callback, SESSION, ORIGIN);
  return { authorize: new URL(location), owner: stored };
}

interface OAuthSecret {
  accessToken: string;
  refreshToken: string;
  mcp: { clientId: string; clientSecret: string };
}

/** The owner's stored OAuth secret (fails the test when there is none). */
async function storedSecret(
  env: TestEnv,
  cipher: CredentialCipher,
  id: string,
  vendor: string,
): Promise<OAuthSecret> {
  const stored = await getCredential(env, cipher, { kind: "user", id }, vendor);
  if (stored?.secret.type !== "oauth2") throw new Error("no OAuth credential stored");
  return stored.secret as unknown as OAuthSecret;
}

async function call(url: URL, headers: Record<string, string>, method = "tools/list"): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: {} }),
  });
}

async function upstreamRequests(): Promise<
  { path: string; authorization?: string; form?: Record<string, string> }[]
> {
  return (await fetch(`${upstream()}/_requests`)).json();
}

describe("WWW-Authenticate", () => {
  it("reads the Bearer challenge's parameters, quoted or not, and ignores other schemes", () => {
    expect(
      parseBearerChallenge(
        'Basic realm="x", Bearer error="insufficient_scope", scope="a b", resource_metadata="https://r.example/.well-known/oauth-protected-resource"',
      ),
    ).toEqual({
      error: "insufficient_scope",
      scope: "a b",
      resourceMetadata: "https://r.example/.well-known/oauth-protected-resource",
    });
    expect(parseBearerChallenge('bearer scope=read, error="x\\"y"')).toEqual({ scope: "read", error: 'x"y' });
    expect(parseBearerChallenge('Basic realm="scope=evil"')).toBeUndefined();
    expect(parseBearerChallenge(null)).toBeUndefined();
    // Bounded: an oversized header is not parsed at all.
    expect(parseBearerChallenge(`Bearer scope="${"a".repeat(5000)}"`)).toBeUndefined();
  });
});

describe("discovery", () => {
  it("follows resource_metadata to the PRM and RFC 8414 path insertion to the authorization server", async () => {
    const url = new URL(`${upstream()}/dcr/mcp`);
    const probe = await call(url, {});
    expect(probe.status).toBe(401);
    const found = await discoverMcpAuthorization(url, probe.headers.get("www-authenticate"), {
      signal: signal(),
    });
    expect(found.resource).toBe(url.href);
    expect(found.server.issuer).toBe(`${upstream()}/as/dcr`);
    expect(found.server.registrationEndpoint).toBe(`${upstream()}/as/dcr/register`);
    expect(found.scope).toBe("mcp:read");
  });

  it("without resource_metadata, finds the path-suffixed PRM, and OIDC discovery under the issuer's path", async () => {
    const url = new URL(`${upstream()}/oidc/mcp`);
    const found = await discoverMcpAuthorization(url, null, { signal: signal() });
    expect(found.server.issuer).toBe(`${upstream()}/as/oidc`);
    // No challenge: every scope the PRM lists.
    expect(found.scope).toBe("mcp:read mcp:write");
    const paths = (await upstreamRequests()).map((r) => r.path);
    expect(paths).toContain("/.well-known/oauth-protected-resource/oidc/mcp");
    expect(paths).toContain("/as/oidc/.well-known/openid-configuration");
  });

  it("refuses an authorization server without PKCE S256", async () => {
    const error = await discoverMcpAuthorization(new URL(`${upstream()}/nopkce/mcp`), null, {
      signal: signal(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpOAuthError);
    expect((error as McpOAuthError).code).toBe("pkce_unsupported");
  });

  it("refuses a PRM whose resource is another server's", async () => {
    const error = await discoverMcpAuthorization(new URL(`${upstream()}/mismatch/mcp`), null, {
      signal: signal(),
    }).catch((e: unknown) => e);
    expect((error as McpOAuthError).code).toBe("resource_mismatch");
  });

  it("does not follow a metadata redirect (to another scheme or anywhere)", async () => {
    const found = await discoverMcpAuthorization(new URL(`${upstream()}/redirect/mcp`), null, {
      signal: signal(),
    });
    // The 302 is no document and the root form has none: the 2025-03-26 layout (the MCP origin
    // is the authorization server) applies, not the redirect's target or its issuer.
    expect(found.server.issuer).toBe(upstream());
    expect(found.server.tokenEndpoint).toBe(`${upstream()}/token`);
  });

  it("ignores a resource_metadata URL that is not https", async () => {
    const url = new URL(`${upstream()}/dcr/mcp`);
    const found = await discoverMcpAuthorization(url, 'Bearer resource_metadata="ftp://evil.example/prm"', {
      signal: signal(),
    });
    expect(found.server.issuer).toBe(`${upstream()}/as/dcr`);
  });
});

describe("connecting and calling", () => {
  it("registers dynamically, authorizes with PKCE S256 and resource, and the token works upstream", async () => {
    const { env, bundle, cipher, url } = await setup("dcr");
    const { authorize } = await connect(env, bundle, cipher);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("resource")).toBe(url.href);
    expect(authorize.searchParams.get("scope")).toBe("mcp:read");
    expect(authorize.searchParams.get("client_id")).toMatch(/^dcr-/);

    // What the MCP client (src/mcp-upstream/connection.ts) takes.
    const authorizer: McpAuthorizer = mcpAuthorizerFor({
      env,
      bundle,
      caller: { userId: "alice", origin: ORIGIN },
      url,
    });
    const headers = await authorizer.headers(signal());
    expect(Object.keys(headers)).toEqual(["Authorization"]);
    const response = await call(url, headers);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { result: { sub: string } }).result.sub).toBe("user-1");

    // Tokens are scrubbable, and nothing else (never the gateway's own client token) is sent.
    const stored = await getCredential(env, cipher, { kind: "user", id: "alice" }, bundle.vendor);
    expect(stored?.secret.type).toBe("oauth2");
    const secret = stored?.secret as {
      accessToken: string;
      refreshToken: string;
      mcp: { clientSecret: string };
    };
    expect(authorizer.secrets()).toEqual(
      expect.arrayContaining([secret.accessToken, secret.refreshToken, secret.mcp.clientSecret]),
    );

    // Upstream saw only tokens its own authorization server issued (never the gateway's client
    // token, which the authorizer is never given), and every one is scrubbable.
    const seen = (await upstreamRequests()).filter((r) => r.path === "/dcr/mcp").map((r) => r.authorization);
    for (const value of seen)
      expect(value === undefined || /^Bearer at-[0-9a-f]{24}$/.test(value)).toBe(true);
    const scrubber = new SecretScrubber();
    for (const value of authorizer.secrets()) scrubber.add(value);
    expect(
      scrubber.scrub(`echo ${secret.accessToken} and ${encodeURIComponent(secret.refreshToken)}`),
    ).not.toMatch(/at-|rt-/);

    // A second user's connect reuses the registered client (cached, encrypted, in KV).
    const again = await connect(env, bundle, cipher, { kind: "user", id: "bob" });
    expect(again.authorize.searchParams.get("client_id")).toBe(authorize.searchParams.get("client_id"));
  });

  it("registers again after the server forgot the registered client", async () => {
    const { env, bundle, cipher } = await setup("dcr");
    const owner = { kind: "user" as const, id: "erin" };
    const location = await startMcpAuthorization(env, bundle, cipher, owner, SESSION, "erin", ORIGIN);
    const approval = await fetch(location, { redirect: "manual" });
    await approval.body?.cancel();
    await fetch(`${upstream()}/_forget_clients`, { method: "POST" });
    const callback = new URL(approval.headers.get("location") ?? "");
    await expect(
      finishMcpAuthorization(env, bundle, cipher, callback, SESSION, ORIGIN),
    ).rejects.toMatchObject({
      code: "token_request_failed",
    });
    const { authorize } = await connect(env, bundle, cipher, owner);
    expect(authorize.searchParams.get("client_id")).not.toBe(new URL(location).searchParams.get("client_id"));
  });

  it("uses the gateway's client ID metadata document where the server supports it", async () => {
    const { env, bundle, cipher, url } = await setup("cimd");
    const { authorize } = await connect(env, bundle, cipher);
    expect(authorize.searchParams.get("client_id")).toBe(`${ORIGIN}/oauth/client-metadata.json`);
    const document = clientMetadataDocument(ORIGIN, [bundle.vendor]);
    expect(document.client_id).toBe(`${ORIGIN}/oauth/client-metadata.json`);
    expect(document.redirect_uris).toEqual([`${ORIGIN}/oauth/vendors/${bundle.vendor}/callback`]);
    const authorizer = mcpAuthorizerFor({ env, bundle, caller: { userId: "alice" }, url });
    expect((await call(url, await authorizer.headers(signal()))).status).toBe(200);
  });

  it("prefers a pre-registered client over registration", async () => {
    const { env, bundle, cipher } = await setup("dcr", {
      MCP_DCR_OAUTH2_CLIENT_ID: "pre-client",
      MCP_DCR_OAUTH2_CLIENT_SECRET: "pre-secret",
    });
    const location = await startMcpAuthorization(
      env,
      bundle,
      cipher,
      { kind: "user", id: "alice" },
      SESSION,
      "alice",
      ORIGIN,
    );
    expect(new URL(location).searchParams.get("client_id")).toBe("pre-client");
  });

  it("takes a state once, and only from the session that started it", async () => {
    const { env, bundle, cipher } = await setup("dcr");
    const location = await startMcpAuthorization(
      env,
      bundle,
      cipher,
      { kind: "user", id: "alice" },
      SESSION,
      "alice",
      ORIGIN,
    );
    const approval = await fetch(location, { redirect: "manual" });
    await approval.body?.cancel();
    const callback = new URL(approval.headers.get("location") ?? "");
    await expect(
      finishMcpAuthorization(env, bundle, cipher, callback, "other-session", ORIGIN),
    ).rejects.toMatchObject({
      code: "session_mismatch",
    });
    await expect(
      finishMcpAuthorization(env, bundle, cipher, callback, SESSION, ORIGIN),
    ).rejects.toMatchObject({
      code: "invalid_state",
    });
  });

  it("refreshes on a 401, rotating the refresh token, and retries once", async () => {
    const { env, bundle, cipher, url } = await setup("dcr");
    await connect(env, bundle, cipher);
    const caller = { userId: "alice", origin: ORIGIN };
    const first = mcpAuthorizerFor({ env, bundle, caller, url });
    const before = (await first.headers(signal())).Authorization?.slice(7) ?? "";
    const oldRefresh = (await storedSecret(env, cipher, "alice", bundle.vendor)).refreshToken;
    await fetch(`${upstream()}/_expire?token=${before}`, { method: "POST" });
    const refused = await call(url, await first.headers(signal()));
    expect(refused.status).toBe(401);
    expect(await first.challenged(401, refused.headers.get("www-authenticate"), signal())).toBe(true);
    const after = await first.headers(signal());
    expect(after.Authorization).not.toBe(`Bearer ${before}`);
    expect((await call(url, after)).status).toBe(200);
    // Once per call: a second 401 gives up.
    expect(await first.challenged(401, null, signal())).toBe(false);

    const rotated = (await storedSecret(env, cipher, "alice", bundle.vendor)).refreshToken;
    expect(rotated).not.toBe(oldRefresh);
    const refreshRequest = (await upstreamRequests()).findLast((r) => r.form?.grant_type === "refresh_token");
    expect(refreshRequest?.form?.resource).toBe(url.href);
  });

  it("concurrent calls share one refresh: the rotating server sees the refresh token once", async () => {
    const { env, bundle, cipher, url } = await setup("dcr");
    await connect(env, bundle, cipher, { kind: "user", id: "frank" });
    const caller = { userId: "frank" };
    const a = mcpAuthorizerFor({ env, bundle, caller, url });
    const b = mcpAuthorizerFor({ env, bundle, caller, url });
    const token = (await a.headers(signal())).Authorization?.slice(7) ?? "";
    await b.headers(signal());
    const { refreshToken } = await storedSecret(env, cipher, "frank", bundle.vendor);
    await fetch(`${upstream()}/_expire?token=${token}`, { method: "POST" });
    expect(await Promise.all([a.challenged(401, null, signal()), b.challenged(401, null, signal())])).toEqual(
      [true, true],
    );
    expect((await a.headers(signal())).Authorization).toBe((await b.headers(signal())).Authorization);
    const uses = (await upstreamRequests()).filter((r) => r.form?.refresh_token === refreshToken);
    expect(uses).toHaveLength(1);
  });

  it("a refused refresh marks the connection for reconnecting, with the credentials page in the hint", async () => {
    const { env, bundle, cipher, url } = await setup("dcr");
    await connect(env, bundle, cipher);
    const owner = { kind: "user" as const, id: "alice" };
    // Another party used the refresh token first: the server refuses it now.
    const stored = await getCredential(env, cipher, owner, bundle.vendor);
    const secret = stored?.secret as {
      accessToken: string;
      refreshToken: string;
      mcp: { clientId: string; clientSecret: string };
    };
    const stolen = await fetch(`${upstream()}/as/dcr/token`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${secret.mcp.clientId}:${secret.mcp.clientSecret}`)}`,
      },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: secret.refreshToken,
        resource: url.href,
      }),
    });
    expect(stolen.status).toBe(200);
    await fetch(`${upstream()}/_expire?token=${secret.accessToken}`, { method: "POST" });
    const authorizer = mcpAuthorizerFor({ env, bundle, caller: { userId: "alice", origin: ORIGIN }, url });
    await authorizer.headers(signal());
    expect(await authorizer.challenged(401, null, signal())).toBe(false);
    expect(authorizer.hint()).toContain(`${ORIGIN}/credentials`);
    expect((await getCredential(env, cipher, owner, bundle.vendor))?.meta.status).toBe("needs_reauth");
  });

  it("steps up on 403 insufficient_scope: marks the credential, and the next connect asks for the wider scope", async () => {
    const { env, bundle, cipher, url } = await setup("dcr");
    await connect(env, bundle, cipher);
    const authorizer = mcpAuthorizerFor({ env, bundle, caller: { userId: "alice", origin: ORIGIN }, url });
    const refused = await call(url, await authorizer.headers(signal()), "tools/call");
    expect(refused.status).toBe(403);
    expect(await authorizer.challenged(403, refused.headers.get("www-authenticate"), signal())).toBe(false);
    expect(authorizer.hint()).toMatch(
      /needs more permissions \(mcp:read mcp:write\): reconnect at https:\/\/gw\.test\/credentials/,
    );
    const meta = (await getCredential(env, cipher, { kind: "user", id: "alice" }, bundle.vendor))?.meta;
    expect(meta).toMatchObject({
      status: "needs_reauth",
      reason: "insufficient_scope",
      wantScope: "mcp:read mcp:write",
    });

    const { authorize } = await connect(env, bundle, cipher);
    expect(authorize.searchParams.get("scope")).toBe("mcp:read mcp:write");
    const upgraded = mcpAuthorizerFor({ env, bundle, caller: { userId: "alice" }, url });
    expect((await call(url, await upgraded.headers(signal()), "tools/call")).status).toBe(200);
  });
});

describe("expiry and refusals", () => {
  it("refreshes a token about to expire before sending it", async () => {
    const clock = manualClock(Date.now());
    const { env, bundle, cipher, url } = await setup("dcr");
    const clocked = { ...env, GATEWAY_TEST_CLOCK: clock } as TestEnv;
    await connect(clocked, bundle, cipher);
    const caller = { userId: "alice" };
    const before = await mcpAuthorizerFor({ env: clocked, bundle, caller, url }).headers(signal());
    // The server said 3600 s; within the refresh skew of that the stored token is not sent.
    clock.advance(3_590_000);
    const after = await mcpAuthorizerFor({ env: clocked, bundle, caller, url }).headers(signal());
    expect(after.Authorization).not.toBe(before.Authorization);
    expect((await call(url, after)).status).toBe(200);
  });

  it("a 403 without insufficient_scope does not mark the credential; a 401 after the one refresh does", async () => {
    const { env, bundle, cipher, url } = await setup("dcr");
    await connect(env, bundle, cipher);
    const owner = { kind: "user" as const, id: "alice" };
    const authorizer = mcpAuthorizerFor({ env, bundle, caller: { userId: "alice", origin: ORIGIN }, url });
    await authorizer.headers(signal());
    expect(await authorizer.challenged(403, null, signal())).toBe(false);
    expect((await getCredential(env, cipher, owner, bundle.vendor))?.meta.status).toBe("ok");
    expect(await authorizer.challenged(401, null, signal())).toBe(true);
    expect(await authorizer.challenged(401, null, signal())).toBe(false);
    expect((await getCredential(env, cipher, owner, bundle.vendor))?.meta).toMatchObject({
      status: "invalid",
      reason: "rejected_401",
    });
    const hint = authorizer.hint() ?? "";
    expect(hint).toContain("reconnect it at https://gw.test/credentials");
    for (const secret of authorizer.secrets()) expect(hint).not.toContain(secret);
  });
});

describe("the gateway's client ID metadata document", () => {
  it("is served at a stable https URL on the gateway's origin, as JSON", async () => {
    const env = await authEnv();
    const response = await gatewayFetch(env, `${ORIGIN}/oauth/client-metadata.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document).toMatchObject({
      client_id: `${ORIGIN}/oauth/client-metadata.json`,
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
    });
  });
});

describe("the step to the discovered authorization server", () => {
  it("names the server's host and escapes what the upstream chose", () => {
    const html = continueToAuthorizationPage(
      'Acme <b>"x"</b>',
      'https://as.example/authorize?state="><script>alert(1)</script>',
    );
    expect(html).toContain("<strong>as.example</strong>");
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<b>");
    expect(html).toContain('href="https://as.example/authorize?state=&#34;&#62;&#60;script&#62;');
  });
});

describe("the credentials page row of an MCP vendor", () => {
  it("offers Connect and, besides it, a token the user pastes", () => {
    const html = credentialsPage({
      userId: "alice",
      userName: "Alice",
      teamAdmin: false,
      csrf: "c",
      grants: [],
      personalStorage: true,
      rows: [
        {
          vendor: "mcp-dcr",
          displayName: "MCP DCR",
          kind: "oauth2-code",
          mode: "user",
          availability: { vendor: "mcp-dcr", displayName: "MCP DCR", available: false },
          sharedPresent: false,
          allowed: true,
          canConnect: true,
          acceptsToken: true,
          personal: true,
        },
      ],
    });
    expect(html).toContain('action="/credentials/mcp-dcr/connect"');
    expect(html).toContain('action="/credentials/mcp-dcr/secret"');
    expect(html).toContain("Or paste your token");
  });
});

describe("static credentials", () => {
  it("sends <VENDOR>_TOKEN as a bearer token, or <VENDOR>_API_KEY in the configured header", async () => {
    const env = await authEnv({ MCP_STATIC_TOKEN: "org-token-1", MCP_KEYED_API_KEY: "org-key-1" });
    const url = new URL(`${upstream()}/dcr/mcp`);
    const bearer = mcpAuthorizerFor({ env, bundle: mcpBundle("static", {}), caller: undefined, url });
    expect(await bearer.headers(signal())).toEqual({ Authorization: "Bearer org-token-1" });
    expect(bearer.secrets()).toEqual(["org-token-1"]);
    const keyed = mcpAuthorizerFor({
      env,
      bundle: bareBundle("mcp-keyed", { kind: "mcp", mcp: { url: url.href }, auth: { header: "X-Api-Key" } }),
      caller: undefined,
      url,
    });
    expect(await keyed.headers(signal())).toEqual({ "X-Api-Key": "org-key-1" });
  });

  it("a token the user (or their team) saved comes before the organisation's", async () => {
    const env = await authEnv({ MCP_SAVED_TOKEN: "org-token-4" });
    const cipher = (await credentialCipher(env)) as CredentialCipher;
    const bundle = mcpBundle("saved", {});
    const url = new URL(`${upstream()}/dcr/mcp`);
    await putCredential(env, cipher, { kind: "team", id: "eng" }, bundle.vendor, {
      type: "bearer",
      token: "team-token",
    });
    const forBob = mcpAuthorizerFor({ env, bundle, caller: { userId: "bob", teamId: "eng" }, url });
    expect(await forBob.headers(signal())).toEqual({ Authorization: "Bearer team-token" });
    await putCredential(env, cipher, { kind: "user", id: "bob" }, bundle.vendor, {
      type: "bearer",
      token: "bob-token",
    });
    const again = mcpAuthorizerFor({ env, bundle, caller: { userId: "bob", teamId: "eng" }, url });
    expect(await again.headers(signal())).toEqual({ Authorization: "Bearer bob-token" });
    // The upstream refuses it: marked invalid, and the next call falls back to the team's.
    expect(await again.challenged(401, null, signal())).toBe(false);
    expect(again.hint()).toContain("rejected your credential (HTTP 401)");
    const next = mcpAuthorizerFor({ env, bundle, caller: { userId: "bob", teamId: "eng" }, url });
    expect(await next.headers(signal())).toEqual({ Authorization: "Bearer team-token" });
  });

  it("sends nothing for a vendor without auth, and in user mode never the organisation's secret", async () => {
    const env = await authEnv({ MCP_OPEN_TOKEN: "org-token-2", MCP_PRIVATE_TOKEN: "org-token-3" });
    const url = new URL(`${upstream()}/dcr/mcp`);
    const open = mcpAuthorizerFor({
      env,
      bundle: bareBundle("mcp-open", { kind: "mcp", mcp: { url: url.href } }),
      caller: { userId: "alice" },
      url,
    });
    // No `auth`: the organisation's token is still the vendor's credential when set.
    expect(await open.headers(signal())).toEqual({ Authorization: "Bearer org-token-2" });
    const userOnly = mcpAuthorizerFor({
      env,
      bundle: mcpBundle("private", { mode: "user" }),
      caller: { userId: "dave", origin: ORIGIN },
      url,
    });
    expect(await userOnly.headers(signal())).toEqual({});
    expect(userOnly.hint()).toBe(
      `Connect your mcp-private account at ${ORIGIN}/credentials#vendor-mcp-private.`,
    );
    expect(await userOnly.challenged(401, 'Bearer scope="mcp:read"', signal())).toBe(false);
  });
});
