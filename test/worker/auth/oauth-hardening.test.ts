/**
 * Issue #11 item 8 (auth parts): `form-action` on the pages whose forms post, revoking a
 * grant that is not yours answers 404, refresh-token reuse revokes the grant.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { formTargetSource } from "../../../src/auth/pages.ts";
import {
  authEnv,
  authorize,
  authServersOrigin,
  Browser,
  CLIENT_REDIRECT,
  gatewayFetch,
  location,
  mcp,
  type TestEnv,
  tokenRequest,
  tokensFor,
} from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

function formActionSources(response: Response): string[] {
  const csp = response.headers.get("content-security-policy") ?? "";
  const directive = csp
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith("form-action "));
  if (directive === undefined) throw new Error(`no form-action in ${csp}`);
  return directive.split(/\s+/).slice(1);
}

/** What a browser checks for the form's target and each redirect after it (origins only after a redirect). */
function allowedBy(sources: string[], target: string, pageOrigin: string): boolean {
  const url = new URL(target, pageOrigin);
  if (url.origin === pageOrigin && sources.includes("'self'")) return true;
  return sources.includes(url.origin) || sources.includes(url.protocol);
}

async function refresh(token: string, clientId: string): Promise<Response> {
  return tokenRequest(env, { grant_type: "refresh_token", refresh_token: token, client_id: clientId });
}

describe("form-action on the pages that post", () => {
  it("the consent page allows its own POST and the client's redirect URI, and the flow completes", async () => {
    const authorized = await authorize(new Browser(env), "alice");
    const sources = formActionSources(new Response(null, { headers: authorized.consentHeaders }));
    expect(sources).toEqual(["'self'", new URL(CLIENT_REDIRECT).origin]);
    expect(allowedBy(sources, "/authorize", "https://gw.test")).toBe(true);
    expect(allowedBy(sources, authorized.redirect.href, "https://gw.test")).toBe(true);
    expect(authorized.code).not.toBe("");
    expect(allowedBy(sources, "https://attacker.example/steal", "https://gw.test")).toBe(false);
  });

  it("takes only the origin or the scheme of a target, so a client cannot inject directives", () => {
    expect(formTargetSource("https://client.example/cb;script-src *")).toBe("https://client.example");
    expect(formTargetSource("http://127.0.0.1:33418/callback?x=1,2")).toBe("http://127.0.0.1:33418");
    expect(formTargetSource("cursor://anysphere.cursor-mcp/oauth;x")).toBe("cursor:");
    expect(formTargetSource("javascript:alert(1)")).toBeUndefined();
    expect(formTargetSource("not a url")).toBeUndefined();
  });

  it("the credentials page allows its own forms and the vendors' authorization endpoints", async () => {
    const browser = new Browser(env);
    await browser.signIn("alice");
    const page = await browser.fetch("/credentials");
    const sources = formActionSources(page);
    expect(sources).toContain("'self'");
    expect(sources).toContain(authServersOrigin());
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const connect = await browser.post("/credentials/auth-oauth/connect", { csrf, owner: "user" });
    expect(allowedBy(sources, "/credentials/auth-oauth/connect", "https://gw.test")).toBe(true);
    expect(allowedBy(sources, location(connect), "https://gw.test")).toBe(true);
  });

  it("the sign-in page allows only itself; single sign-on is a link, not a form", async () => {
    const page = await new Browser(env).fetch("/signin");
    expect(formActionSources(page)).toEqual(["'self'"]);
    const html = await page.text();
    expect(html).toContain('href="/signin/oidc?return=%2Fcredentials"');
    expect(html).not.toContain('action="/signin/oidc"');
  });
});

describe("revoking a client grant", () => {
  it("answers 404 JSON for another user's grant id and leaves that grant working", async () => {
    const alice = await tokensFor(env, "alice");
    const alicePage = await (await alice.browser.fetch("/credentials")).text();
    const grantId = /action="\/credentials\/clients\/([^/]+)\/revoke"/.exec(alicePage)?.[1] ?? "";
    expect(grantId).not.toBe("");

    const bob = new Browser(env);
    await bob.signIn("bob");
    const csrf = await bob.csrf();
    for (const accept of ["application/json", "text/html"]) {
      const res = await bob.post(`/credentials/clients/${grantId}/revoke`, { csrf }, { accept });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    expect((await mcp(env, "/v1/mcp", alice.access_token, "tools/list")).status).toBe(200);
  });
});

describe("refresh-token reuse", () => {
  it("presenting a refresh token that was already replaced revokes the whole grant", async () => {
    const t = await tokensFor(env, "alice");
    const r1 = t.refresh_token;
    const second = (await (await refresh(r1, t.clientId)).json()) as { refresh_token: string };
    const third = (await (await refresh(second.refresh_token, t.clientId)).json()) as {
      refresh_token: string;
      access_token: string;
    };
    expect((await mcp(env, "/v1/mcp", third.access_token, "tools/list")).status).toBe(200);

    const reused = await refresh(r1, t.clientId);
    expect(reused.status).toBe(400);
    const body = (await reused.json()) as { error: string; error_description: string };
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toContain("already used");
    // Every token of the grant is gone, including the newest.
    expect((await mcp(env, "/v1/mcp", third.access_token, "tools/list")).status).toBe(401);
    expect((await refresh(third.refresh_token, t.clientId)).status).toBe(400);
  });

  it("catches a stolen token used through the library's grace window at the client's next refresh", async () => {
    const t = await tokensFor(env, "bob");
    const stolen = t.refresh_token;
    // The client rotates; the thief then uses the stolen (now previous) token, which the library accepts.
    const client = (await (await refresh(stolen, t.clientId)).json()) as { refresh_token: string };
    const thief = await refresh(stolen, t.clientId);
    expect(thief.status).toBe(200);
    const thiefTokens = (await thief.json()) as { access_token: string };
    expect((await mcp(env, "/v1/mcp", thiefTokens.access_token, "tools/list")).status).toBe(200);
    // The client's next refresh presents a token the thief's use replaced: reuse, grant revoked.
    const next = await refresh(client.refresh_token, t.clientId);
    expect(next.status).toBe(400);
    expect((await mcp(env, "/v1/mcp", thiefTokens.access_token, "tools/list")).status).toBe(401);
  });

  it("keeps the grace for one lost answer: the previous token still refreshes once the client retries", async () => {
    const t = await tokensFor(env, "dave");
    const lost = await refresh(t.refresh_token, t.clientId); // the answer never reaches the client
    expect(lost.status).toBe(200);
    const retry = await refresh(t.refresh_token, t.clientId);
    expect(retry.status).toBe(200);
    const tokens = (await retry.json()) as { access_token: string; refresh_token: string };
    expect((await mcp(env, "/v1/mcp", tokens.access_token, "tools/list")).status).toBe(200);
    expect((await refresh(tokens.refresh_token, t.clientId)).status).toBe(200);
  });

  it("a made-up token for a real grant is refused without revoking it", async () => {
    const t = await tokensFor(env, "carol");
    const [userId, grantId] = t.refresh_token.split(":");
    const forged = await refresh(`${userId}:${grantId}:${"x".repeat(32)}`, t.clientId);
    expect(forged.status).toBe(400);
    expect((await mcp(env, "/v1/mcp", t.access_token, "tools/list")).status).toBe(200);
  });
});

describe("the scope check's look at the body", () => {
  it("reads a streamed body only up to the MCP limit: an endless 40 MiB stream gets its 413", async () => {
    const { access_token } = await tokensFor(env, "alice");
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    // 40 MiB of spaces, then a stream that never ends: reading it whole (what the peek did) never returns.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 40) return new Promise<void>(() => {});
        sent += 1;
        controller.enqueue(chunk);
        return undefined;
      },
    });
    const res = await gatewayFetch(env, "/v1/mcp", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
        authorization: `Bearer ${access_token}`,
      },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
  });
});
