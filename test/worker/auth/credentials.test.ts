import { beforeAll, describe, expect, it, vi } from "vitest";
import { computeAvailability } from "../../../src/auth/availability.ts";
import { createCaller } from "../../../src/auth/caller.ts";
import { loadAuthConfig, resolveUser } from "../../../src/auth/config.ts";
import { callerCredentialSource } from "../../../src/auth/credential-source.ts";
import { getBundle } from "../../../src/bundle/registry.ts";
import type { SecurityScheme, VendorBundle } from "../../../src/bundle/types.ts";
import { SHORT_LIVED_CLIENT_ID } from "../../support/auth-clients.ts";
import {
  authEnv,
  authServersOrigin,
  Browser,
  dumpKv,
  ENCRYPTION_KEY,
  location,
  ORIGIN,
  type TestEnv,
} from "./helpers.ts";

let env: TestEnv;
/** Every secret value this file stores: none may appear in KV in plaintext. */
const secrets: string[] = [];

beforeAll(async () => {
  env = await authEnv();
});

function bundle(vendor: string): VendorBundle {
  const b = getBundle(vendor);
  if (b === undefined) throw new Error(`fixture vendor ${vendor} missing`);
  return b;
}

function scheme(vendor: string): [string, SecurityScheme] {
  const b = bundle(vendor);
  const [entry] = Object.entries(b.securitySchemes);
  if (entry === undefined) throw new Error("no scheme");
  return entry;
}

function callerFor(testEnv: TestEnv, userId: string) {
  const user = resolveUser(loadAuthConfig(testEnv), userId);
  if (user === undefined) throw new Error(`no user ${userId}`);
  return createCaller(
    {
      userId: user.id,
      ...(user.teamId === undefined ? {} : { teamId: user.teamId, role: user.role ?? "member" }),
    },
    undefined,
    ["mcp:read", "mcp:write"],
  );
}

async function credentialFor(testEnv: TestEnv, userId: string | undefined, vendor: string) {
  const source = callerCredentialSource({
    env: testEnv,
    bundle: bundle(vendor),
    caller: userId === undefined ? undefined : callerFor(testEnv, userId),
    origin: ORIGIN,
  });
  const [name, s] = scheme(vendor);
  return { credential: await source.get(name, s), source };
}

async function availability(testEnv: TestEnv, userId: string) {
  const config = loadAuthConfig(testEnv);
  const user = resolveUser(config, userId);
  if (user === undefined) throw new Error("no user");
  return computeAvailability(testEnv, user, undefined, ORIGIN);
}

/** The credentials-page card of one vendor. */
function card(html: string, vendor: string): string {
  const start = html.indexOf(`id="vendor-${vendor}"`);
  if (start < 0) throw new Error(`no card for ${vendor}`);
  return html.slice(start, html.indexOf("</section>", start));
}

async function saveKey(browser: Browser, vendor: string, secret: string, owner: "user" | "team" = "user") {
  const csrf = await browser.csrf();
  secrets.push(secret);
  return browser.post(`/credentials/${vendor}/secret`, { csrf, owner, secret });
}

async function signedIn(user: "alice" | "bob" | "carol" | "dave", testEnv: TestEnv = env): Promise<Browser> {
  const browser = new Browser(testEnv);
  const res = await browser.signIn(user);
  expect(res.status).toBe(303);
  return browser;
}

describe("credentials page", () => {
  it("sends a signed-out visitor to sign in", async () => {
    const res = await new Browser(env).fetch("/credentials");
    expect(res.status).toBe(303);
    expect(location(res)).toBe("/signin?return=%2Fcredentials");
  });

  it("lists every vendor with its state, behind the page security headers", async () => {
    const browser = await signedIn("dave");
    const res = await browser.fetch("/credentials");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    for (const vendor of ["auth-cc", "auth-key", "auth-oauth", "mcp-alpha"]) {
      expect(html).toContain(`id="vendor-${vendor}"`);
    }
    expect(card(html, "auth-cc")).toContain('data-state="available"');
    expect(card(html, "auth-key")).toContain('data-state="unavailable"');
  });

  it("stores a personal API key encrypted: the key is never in KV in plaintext, nor the user's name", async () => {
    const browser = await signedIn("dave");
    const secret = "dave-personal-key-9f8e7d6c5b4a";
    const res = await saveKey(browser, "auth-key", secret);
    expect(res.status).toBe(303);
    expect(location(res)).toBe("/credentials?notice=saved&vendor=auth-key#vendor-auth-key");
    const page = await (await browser.fetch(location(res))).text();
    expect(page).toContain("Saved.");
    expect(card(page, "auth-key")).toContain('data-state="available"');

    const { credential } = await credentialFor(env, "dave", "auth-key");
    expect(credential).toEqual({ type: "apiKey", value: secret });

    const rows = await dumpKv(env);
    const cred = rows.filter((row) => row.name.startsWith("cred:u:"));
    expect(cred.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.name).not.toContain("dave");
      expect(row.value).not.toContain(secret);
      expect(JSON.stringify(row.metadata ?? null)).not.toContain(secret);
    }
  });

  it("refuses a form without the session's CSRF token", async () => {
    const browser = await signedIn("dave");
    const res = await browser.post("/credentials/auth-key/secret", {
      csrf: "forged",
      owner: "user",
      secret: "x",
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("keeps team credentials to team admins and the vendors of the team's allowlist", async () => {
    const bob = await signedIn("bob");
    const denied = await saveKey(bob, "auth-key", "bob-tries-team-key-123", "team");
    expect(denied.status).toBe(403);
    const carol = await signedIn("carol");
    const notAllowed = await saveKey(carol, "auth-oauth", "carol-token-abc-123");
    expect(notAllowed.status).toBe(403);
  });
});

describe("user → team → organisation, and tenant isolation", () => {
  it("serves each user their own key, teammates the team key, nobody another user's key", async () => {
    const alice = await signedIn("alice");
    expect((await saveKey(alice, "auth-key", "alice-personal-key-111", "user")).status).toBe(303);
    expect((await saveKey(alice, "auth-key", "eng-team-key-222", "team")).status).toBe(303);

    expect((await credentialFor(env, "alice", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "alice-personal-key-111",
    });
    // Bob (same team, no personal key) gets the team's key, never Alice's.
    expect((await credentialFor(env, "bob", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "eng-team-key-222",
    });
    // Carol (another team) and Dave-less users get neither.
    expect((await credentialFor(env, "carol", "auth-key")).credential).toBeUndefined();
    // With an organisation key configured, users without their own fall back to it.
    const withOrg = await authEnv({ AUTH_KEY_API_KEY: "org-shared-key-333" });
    expect((await credentialFor(withOrg, "carol", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "org-shared-key-333",
    });
    expect((await availability(env, "bob")).get("auth-key")?.source).toBe("team");
    expect((await availability(env, "alice")).get("auth-key")?.source).toBe("user");
    expect((await availability(env, "carol")).get("auth-key")?.available).toBe(false);
  });

  it("a user's disconnect removes only their own credential", async () => {
    const bob = await signedIn("bob");
    expect((await saveKey(bob, "auth-key", "bob-personal-key-444")).status).toBe(303);
    expect((await credentialFor(env, "bob", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "bob-personal-key-444",
    });
    const csrf = await bob.csrf();
    const res = await bob.post("/credentials/auth-key/disconnect", { csrf, owner: "user" });
    expect(res.status).toBe(303);
    // Bob is back on the team key; Alice's personal key is untouched.
    expect((await credentialFor(env, "bob", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "eng-team-key-222",
    });
    expect((await credentialFor(env, "alice", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "alice-personal-key-111",
    });
  });

  it("a ciphertext copied under another user's key does not decrypt", async () => {
    const rows = await dumpKv(env);
    const alicePrefix = (await import("../../../src/auth/credential-store.ts")).credentialKey;
    const aliceKey = await alicePrefix({ kind: "user", id: "alice" }, "auth-key");
    const carolKey = await alicePrefix({ kind: "user", id: "carol" }, "auth-key");
    const alice = rows.find((row) => row.name === aliceKey);
    expect(alice).toBeDefined();
    await env.OAUTH_KV.put(carolKey, alice?.value ?? "", { metadata: alice?.metadata });
    expect((await credentialFor(env, "carol", "auth-key")).credential).toBeUndefined();
    await env.OAUTH_KV.delete(carolKey);
  });

  it("a different encryption key cannot read stored credentials", async () => {
    const other = await authEnv({ CREDENTIALS_ENCRYPTION_KEY: `${ENCRYPTION_KEY}-rotated-away` });
    expect((await credentialFor(other, "alice", "auth-key")).credential).toBeUndefined();
    // During a rotation the previous key still decrypts.
    const rotating = await authEnv({
      CREDENTIALS_ENCRYPTION_KEY: `${ENCRYPTION_KEY}-next-generation`,
      CREDENTIALS_ENCRYPTION_KEY_PREVIOUS: ENCRYPTION_KEY,
    });
    expect((await credentialFor(rotating, "dave", "auth-key")).credential).toEqual({
      type: "apiKey",
      value: "dave-personal-key-9f8e7d6c5b4a",
    });
  });

  it("an upstream 401 marks the personal credential invalid and says where to fix it", async () => {
    const dave = await signedIn("dave");
    await saveKey(dave, "auth-key", "revoked-dave-key-555");
    const { credential, source } = await credentialFor(env, "dave", "auth-key");
    expect(credential).toEqual({ type: "apiKey", value: "revoked-dave-key-555" });
    const hint = await source.rejected(401);
    expect(hint).toContain("rejected your credential (HTTP 401)");
    expect(hint).toContain(`${ORIGIN}/credentials#vendor-auth-key`);
    const state = (await availability(env, "dave")).get("auth-key");
    expect(state).toMatchObject({ available: false, reason: "credential_rejected" });
    expect(state?.fixUrl).toBe(`${ORIGIN}/credentials#vendor-auth-key`);
    expect((await credentialFor(env, "dave", "auth-key")).credential).toBeUndefined();
    // Replacing it makes the vendor usable again.
    await saveKey(dave, "auth-key", "dave-fresh-key-666");
    expect((await availability(env, "dave")).get("auth-key")?.available).toBe(true);
  });
});

describe("vendor OAuth: authorization code + PKCE through the gateway's callback", () => {
  async function connect(
    browser: Browser,
    vendorLogin: string,
    extra = "",
  ): Promise<{ vendorUrl: URL; callback: string }> {
    const csrf = await browser.csrf();
    const start = await browser.post("/credentials/auth-oauth/connect", { csrf, owner: "user" });
    expect(start.status).toBe(303);
    const vendorUrl = new URL(location(start));
    const atVendor = await browser.fetch(`${vendorUrl.href}&login_as=${vendorLogin}${extra}`);
    expect(atVendor.status).toBe(302);
    return { vendorUrl, callback: location(atVendor) };
  }

  it("sends the user to the vendor with PKCE S256, state, the per-vendor callback and the configured scopes", async () => {
    const alice = await signedIn("alice");
    const { vendorUrl } = await connect(alice, "alice-at-vendor");
    expect(vendorUrl.origin).toBe(authServersOrigin());
    expect(vendorUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(vendorUrl.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(vendorUrl.searchParams.get("state")).toMatch(/\S{20,}/);
    expect(vendorUrl.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/oauth/vendors/auth-oauth/callback`);
    expect(vendorUrl.searchParams.get("client_id")).toBe("gateway-vendor-client");
    expect(vendorUrl.searchParams.get("scope")).toBe("read write");
    // OAUTH2_SCOPES overrides vendor.json
    const scoped = await authEnv({ AUTH_OAUTH_OAUTH2_SCOPES: "read,admin" });
    const browser = await signedIn("alice", scoped);
    const csrf = await browser.csrf();
    const start = await browser.post("/credentials/auth-oauth/connect", { csrf, owner: "user" });
    expect(new URL(location(start)).searchParams.get("scope")).toBe("read admin");
  });

  it("stores the tokens encrypted for the user who connected, once; the callback cannot be replayed", async () => {
    const alice = await signedIn("alice");
    const { callback } = await connect(alice, "alice-at-vendor");
    const done = await alice.fetch(callback);
    expect(location(done)).toBe("/credentials?notice=connected&vendor=auth-oauth#vendor-auth-oauth");
    const { credential } = await credentialFor(env, "alice", "auth-oauth");
    expect(credential?.type).toBe("bearer");
    const token = credential?.type === "bearer" ? credential.token : "";
    secrets.push(token);
    const me = await fetch(`${authServersOrigin()}/vendor/api/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await me.json()).toMatchObject({ sub: "alice-at-vendor" });
    // Other users do not see it.
    expect((await credentialFor(env, "bob", "auth-oauth")).credential).toBeUndefined();

    const replay = await alice.fetch(callback);
    expect(location(replay)).toBe("/credentials?notice=invalid_state&vendor=auth-oauth#vendor-auth-oauth");
  });

  it("refuses a callback finished in another user's session (and the state is spent)", async () => {
    const alice = await signedIn("alice");
    const { callback } = await connect(alice, "attacker-account");
    const bob = await signedIn("bob");
    const hijack = await bob.fetch(callback);
    expect(location(hijack)).toBe("/credentials?notice=session_mismatch&vendor=auth-oauth#vendor-auth-oauth");
    expect((await credentialFor(env, "bob", "auth-oauth")).credential).toBeUndefined();
    const late = await alice.fetch(callback);
    expect(location(late)).toBe("/credentials?notice=invalid_state&vendor=auth-oauth#vendor-auth-oauth");
  });

  it("reports a vendor-side denial and a callback without a session as JSON", async () => {
    const dave = await signedIn("dave");
    const { callback } = await connect(dave, "dave-at-vendor", "&deny=1");
    const denied = await dave.fetch(callback);
    expect(location(denied)).toBe(
      "/credentials?notice=authorization_denied&vendor=auth-oauth#vendor-auth-oauth",
    );
    const anonymous = await new Browser(env).fetch(callback);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("refreshes a token before it expires, and marks the vendor for re-authorization when the refresh is refused", async () => {
    const shortLived = await authEnv({ AUTH_OAUTH_OAUTH2_CLIENT_ID: SHORT_LIVED_CLIENT_ID });
    const dave = await signedIn("dave", shortLived);
    const csrf = await dave.csrf();
    const start = await dave.post("/credentials/auth-oauth/connect", { csrf, owner: "user" });
    const atVendor = await dave.fetch(`${location(start)}&login_as=dave-short`);
    await dave.fetch(location(atVendor));

    // Tokens of this client live 30 s: inside the refresh skew, so every use refreshes first.
    const first = await credentialFor(shortLived, "dave", "auth-oauth");
    const second = await credentialFor(shortLived, "dave", "auth-oauth");
    expect(first.credential?.type).toBe("bearer");
    expect(second.credential).not.toEqual(first.credential);
    const token = second.credential?.type === "bearer" ? second.credential.token : "";
    const me = await fetch(`${authServersOrigin()}/vendor/api/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(200);
    expect((await availability(shortLived, "dave")).get("auth-oauth")?.available).toBe(true);

    // The user revokes the app at the vendor: the next refresh is refused.
    await fetch(`${authServersOrigin()}/vendor/_revoke?sub=dave-short`, { method: "POST" });
    const after = await credentialFor(shortLived, "dave", "auth-oauth");
    expect(after.credential).toBeUndefined();
    expect(after.source.missingHint()).toContain(`${ORIGIN}/credentials#vendor-auth-oauth`);
    const state = (await availability(shortLived, "dave")).get("auth-oauth");
    expect(state).toMatchObject({ available: false, reason: "needs_reauthorization" });
    const page = await (await dave.fetch("/credentials")).text();
    expect(card(page, "auth-oauth")).toContain("expired: connect again");

    // Disconnect (force re-authorization) clears it; connecting again works.
    const csrf2 = await dave.csrf();
    expect(
      (await dave.post("/credentials/auth-oauth/disconnect", { csrf: csrf2, owner: "user" })).status,
    ).toBe(303);
    expect((await availability(shortLived, "dave")).get("auth-oauth")?.reason).toBe("not_connected");
  });
});

describe("organisation OAuth client credentials", () => {
  it("fetches one token and reuses it until shortly before expiry, cached encrypted", async () => {
    const count = async () =>
      ((await (await fetch(`${authServersOrigin()}/_requests?path=/vendor/token`)).json()) as unknown[])
        .length;
    const before = await count();
    const a = await credentialFor(env, undefined, "auth-cc");
    const b = await credentialFor(env, "carol", "auth-cc");
    expect(a.credential?.type).toBe("bearer");
    expect(b.credential).toEqual(a.credential);
    expect(await count()).toBe(before + 1);
    const token = a.credential?.type === "bearer" ? a.credential.token : "";
    secrets.push(token);
    const me = await fetch(`${authServersOrigin()}/vendor/api/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await me.json()).toMatchObject({ sub: "client:gateway-cc-client", scope: "read" });
    const rows = await dumpKv(env);
    expect(rows.some((row) => row.name.startsWith("cctoken:auth-cc:"))).toBe(true);

    // An hour later (inside the refresh skew of the 3600 s token) a new token is fetched.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3_550_000);
    try {
      const later = await credentialFor(env, undefined, "auth-cc");
      expect(later.credential?.type).toBe("bearer");
      expect(later.credential).not.toEqual(a.credential);
      expect(await count()).toBe(before + 2);
      if (later.credential?.type === "bearer") secrets.push(later.credential.token);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("KV at rest", () => {
  it("holds none of the secrets stored above in plaintext (keys, values, metadata)", async () => {
    expect(secrets.length).toBeGreaterThan(5);
    const rows = await dumpKv(env);
    const blob = JSON.stringify(rows);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(blob).not.toContain(secret);
    }
    expect(blob).not.toContain("vendor-client-secret-value");
    expect(blob).not.toContain(ENCRYPTION_KEY);
  });
});
