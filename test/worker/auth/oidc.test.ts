import { beforeAll, describe, expect, it } from "vitest";
import {
  authEnv,
  authServersOrigin,
  Browser,
  location,
  ORIGIN,
  pkceAuthorizeUrl,
  registerClient,
  type TestEnv,
} from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

/** Starts an OIDC sign-in and signs in at the provider as `login` (extra query appended there). */
async function viaProvider(
  browser: Browser,
  login: string,
  extra = "",
  returnTo = "/credentials",
): Promise<string> {
  const start = await browser.fetch(`/signin/oidc?return=${encodeURIComponent(returnTo)}`);
  expect(start.status).toBe(302);
  const atProvider = await browser.fetch(`${location(start)}&login_as=${encodeURIComponent(login)}${extra}`);
  expect(atProvider.status).toBe(302);
  return location(atProvider);
}

describe("OpenID Connect sign-in", () => {
  it("offers both sign-in methods", async () => {
    const html = await (await new Browser(env).fetch("/signin")).text();
    expect(html).toContain("Sign in with single sign-on");
    expect(html).toContain('name="password"');
  });

  it("sends the browser to the provider with PKCE S256, nonce, state and the gateway's callback", async () => {
    const browser = new Browser(env);
    const start = await browser.fetch("/signin/oidc");
    const url = new URL(location(start));
    expect(url.origin + url.pathname).toBe(`${authServersOrigin()}/oidc/authorize`);
    expect(url.searchParams.get("client_id")).toBe("gateway-oidc-client");
    expect(url.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/signin/oidc/callback`);
    expect(url.searchParams.get("scope")).toBe("openid email profile");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("nonce")).toMatch(/\S{20,}/);
    expect(url.searchParams.get("state")).toMatch(/\S{20,}/);
    expect(
      start.headers.getSetCookie().some((c) => /^__Host-gw-oidc=.+; Path=\/; Secure; HttpOnly/.test(c)),
    ).toBe(true);
  });

  it("signs in a listed user by subject, and one by verified email", async () => {
    const erin = new Browser(env);
    const done = await erin.fetch(await viaProvider(erin, "erin-sub"));
    expect(done.status).toBe(303);
    expect(location(done)).toBe("/credentials");
    expect(await (await erin.fetch("/credentials")).text()).toContain('id="user">Erin<');

    const frank = new Browser(env);
    await frank.fetch(await viaProvider(frank, "frank-sub-at-idp", "&email=frank@example.com"));
    expect(await (await frank.fetch("/credentials")).text()).toContain('id="user">Frank<');
  });

  it("refuses users not on the list unless unlisted users are allowed", async () => {
    const stranger = new Browser(env);
    const refused = await stranger.fetch(await viaProvider(stranger, "stranger-sub"));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("not on this gateway&#39;s user list");
    expect(refused.headers.getSetCookie().some((c) => c.startsWith("__Host-gw-session="))).toBe(false);

    const open = await authEnv({ OIDC_ALLOW_UNLISTED_USERS: "true" });
    const guest = new Browser(open);
    const ok = await guest.fetch(await viaProvider(guest, "stranger-sub"));
    expect(ok.status).toBe(303);
    expect(await (await guest.fetch("/credentials")).text()).toMatch(/id="user">oidc\.[0-9a-f]{24}</);
  });

  it("refuses an ID token whose signature does not verify against the provider's JWKS", async () => {
    const browser = new Browser(env);
    const res = await browser.fetch(await viaProvider(browser, "erin-sub", "&bad_signature=1"));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("signature is not valid");
    expect(res.headers.getSetCookie().some((c) => c.startsWith("__Host-gw-session="))).toBe(false);
  });

  it("refuses a callback finished in another browser, and a replayed one", async () => {
    const browser = new Browser(env);
    const callback = await viaProvider(browser, "erin-sub");
    const elsewhere = await new Browser(env).fetch(callback);
    expect(elsewhere.status).toBe(400);
    // The state was spent by that attempt: the right browser cannot reuse it either.
    const replay = await browser.fetch(callback);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used or has expired");
  });

  it("carries an MCP authorization through the provider sign-in back to the consent page", async () => {
    const browser = new Browser(env);
    const client = await registerClient(env);
    const { url } = await pkceAuthorizeUrl(client.client_id, { state: "oidc-flow" });
    const toSignIn = await browser.fetch(url);
    const returnTo = new URL(location(toSignIn), ORIGIN).searchParams.get("return") ?? "";
    expect(returnTo).toBe(url);
    const back = await browser.fetch(await viaProvider(browser, "erin-sub", "", returnTo));
    expect(location(back)).toBe(url);
    const consent = await browser.fetch(url);
    expect(consent.status).toBe(200);
    expect(await consent.text()).toContain("as Erin?");
  });
});
