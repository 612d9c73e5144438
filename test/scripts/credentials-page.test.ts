/**
 * The sign-in, consent and credentials pages in a real headless Chromium, against the
 * gateway under `wrangler dev` (miniflare) on an ephemeral port, with the local
 * OAuth/API stand-ins of test/support/auth-servers.ts as the vendors.
 *
 * Needs Debian's `chromium` at /usr/bin/chromium (skipped, loudly, when it is missing).
 * Also covers scripts/revoke-vendor-token.ts against the same miniflare KV.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEV_READY_TIMEOUT_MS,
  type DevGateway,
  ROOT,
  startDevGateway,
} from "../../scripts/lib/dev-server.ts";
import { hashPassword } from "../../src/auth/password.ts";
import { VENDOR_CLIENT_ID, VENDOR_CLIENT_SECRET } from "../support/auth-clients.ts";
import { startAuthServers } from "../support/auth-servers.ts";
import { CHROMIUM, CHROMIUM_FLAGS, HAS_CHROMIUM } from "../support/chromium.ts";
import { type LoopbackServer, listenOnLoopback } from "../support/local-http.ts";

const PASSWORD = "browser-test-password";
const CALLBACK_PATH = "/mcp-client/callback";

describe.skipIf(!HAS_CHROMIUM)("credentials page in headless Chromium (wrangler dev)", () => {
  let work: string;
  let gateway: DevGateway | undefined;
  let origin: string;
  let browser: Browser;
  let closeServers: () => Promise<void>;
  let clientCallback: LoopbackServer | undefined;
  let clientCallbackUrl: string;
  let lastClientCallback: URL | undefined;

  beforeAll(async () => {
    if (!HAS_CHROMIUM) return;
    work = mkdtempSync(join(tmpdir(), "gw-browser-"));
    const servers = await startAuthServers();
    closeServers = servers.close;

    // The MCP client's redirect target: a local listener that records where the browser lands.
    clientCallback = await listenOnLoopback(
      createHttpServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        if (url.pathname === CALLBACK_PATH) lastClientCallback = url;
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("client received the authorization response");
      }),
    );
    clientCallbackUrl = `${clientCallback.origin}${CALLBACK_PATH}`;

    // Only the auth fixture vendors, compiled by the real compiler.
    const specs = join(work, "specs");
    for (const vendor of ["auth-oauth", "auth-key"]) {
      cpSync(join(ROOT, "test", "fixtures", "specs", vendor), join(specs, vendor), { recursive: true });
    }
    const compiled = spawnSync(
      process.execPath,
      [join(ROOT, "scripts", "compile.ts"), "--specs", specs, "--out", join(work, "generated")],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    if (compiled.status !== 0) throw new Error(`compile failed: ${compiled.stderr}`);

    const users = JSON.stringify([
      {
        id: "pat",
        name: "Pat Browser",
        passwordHash: await hashPassword(PASSWORD),
        team: "qa",
        role: "admin",
      },
    ]);
    const vars: Record<string, string> = {
      GATEWAY_AUTH: "oauth",
      GATEWAY_USERS: users,
      GATEWAY_TEAMS: JSON.stringify({ qa: { name: "QA" } }),
      CREDENTIALS_ENCRYPTION_KEY: "browser-test-encryption-key-0123456789abcdef",
      AUTH_OAUTH_BASE_URL: `${servers.origin}/vendor/api`,
      AUTH_OAUTH_OAUTH2_AUTHORIZATION_URL: `${servers.origin}/vendor/authorize`,
      AUTH_OAUTH_OAUTH2_TOKEN_URL: `${servers.origin}/vendor/token`,
      AUTH_OAUTH_OAUTH2_CLIENT_ID: VENDOR_CLIENT_ID,
      AUTH_OAUTH_OAUTH2_CLIENT_SECRET: VENDOR_CLIENT_SECRET,
      AUTH_KEY_BASE_URL: `${servers.origin}/keyvendor/api`,
    };
    // The same miniflare state the revoke script is pointed at below.
    gateway = await startDevGateway({
      bundlesIndex: join(work, "generated", "index.ts"),
      vars,
      persistTo: join(work, "state"),
    });
    origin = `http://localhost:${gateway.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  }, DEV_READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await closeServers?.();
    await clientCallback?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  async function signIn(page: Page, path = "/credentials"): Promise<void> {
    await page.goto(`${origin}${path}`);
    expect(new URL(page.url()).pathname).toBe("/signin");
    await page.fill('input[name="username"]', "pat");
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
  }

  it("signs in, enters and replaces an API key, connects and disconnects an OAuth vendor", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });

    await signIn(page);
    await page.waitForURL(`${origin}/credentials`);
    expect(await page.textContent("#user")).toBe("Pat Browser");
    const cookies = await context.cookies(origin);
    const session = cookies.find((cookie) => cookie.name === "__Host-gw-session");
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: "Lax", path: "/" });

    // Every vendor is listed with its state.
    const keyCard = page.locator("#vendor-auth-key");
    const oauthCard = page.locator("#vendor-auth-oauth");
    await expect.poll(() => keyCard.locator("[data-state]").getAttribute("data-state")).toBe("unavailable");
    expect(await oauthCard.locator("[data-state]").getAttribute("data-state")).toBe("unavailable");

    // Enter an API key.
    await keyCard
      .locator('input[name="owner"][value="user"] ~ label input[name="secret"]')
      .fill("first-browser-key");
    await keyCard.locator('button[data-action="save-user"]').click();
    await page.waitForURL(/notice=saved/);
    expect(await page.textContent("#notice")).toContain("Saved.");
    expect(await page.locator("#vendor-auth-key [data-state]").getAttribute("data-state")).toBe("available");
    expect(await page.textContent('#vendor-auth-key [data-owner="user"]')).toBe("set");

    // Replace it: the vendor sees the new key.
    await page
      .locator('#vendor-auth-key input[name="owner"][value="user"] ~ label input[name="secret"]')
      .fill("second-browser-key");
    await page.locator('#vendor-auth-key button[data-action="save-user"]').click();
    await page.waitForURL(/notice=saved/);

    // Connect the OAuth vendor: to the vendor, back through the gateway's callback.
    await page.locator('#vendor-auth-oauth button[data-action="connect-user"]').click();
    await page.waitForURL(/notice=connected/);
    expect(await page.textContent("#notice")).toContain("Connected.");
    expect(await page.locator("#vendor-auth-oauth [data-state]").getAttribute("data-state")).toBe(
      "available",
    );
    expect(await page.textContent('#vendor-auth-oauth [data-owner="user"]')).toBe("connected");

    // Disconnect it (force re-authorization).
    await page.locator('#vendor-auth-oauth button[data-action="disconnect-user"]').click();
    await page.waitForURL(/notice=removed/);
    expect(await page.locator("#vendor-auth-oauth [data-state]").getAttribute("data-state")).toBe(
      "unavailable",
    );
    expect(await page.textContent('#vendor-auth-oauth [data-owner="user"]')).toBe("not set");

    // Connect again, then the operator forces re-authorization with the script.
    await page.locator('#vendor-auth-oauth button[data-action="connect-user"]').click();
    await page.waitForURL(/notice=connected/);
    const revoke = spawnSync(
      process.execPath,
      [
        join(ROOT, "scripts", "revoke-vendor-token.ts"),
        "--user",
        "pat",
        "--vendor",
        "auth-oauth",
        "--local",
        "--persist-to",
        join(work, "state"),
        "--config",
        join(ROOT, "wrangler.toml"),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(revoke.status, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain("Deleted the auth-oauth credential of user pat");
    await page.goto(`${origin}/credentials`);
    expect(await page.textContent('#vendor-auth-oauth [data-owner="user"]')).toBe("not set");

    // Team admin: the team's key.
    await page
      .locator('#vendor-auth-key input[name="owner"][value="team"] ~ label input[name="secret"]')
      .fill("team-browser-key");
    await page.locator('#vendor-auth-key button[data-action="save-team"]').click();
    await page.waitForURL(/notice=saved/);
    expect(await page.textContent('#vendor-auth-key [data-owner="team"]')).toBe("set");

    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows the consent page for an MCP client and sends the code to the client's redirect URI", async () => {
    const registration = await fetch(`${origin}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_name: "Browser Test MCP Client",
        redirect_uris: [clientCallbackUrl],
        token_endpoint_auth_method: "none",
      }),
    });
    expect(registration.status).toBe(201);
    const { client_id: clientId } = (await registration.json()) as { client_id: string };
    const authorize = new URL("/authorize", origin);
    authorize.search = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: clientCallbackUrl,
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      state: "browser-state",
      scope: "mcp:read mcp:write",
      resource: `${origin}/v1/mcp`,
    }).toString();

    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, `${authorize.pathname}${authorize.search}`);
    await page.waitForURL((url) => url.pathname === "/authorize");
    const response = await page.reload();
    expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(await page.textContent("#client-name")).toBe("Browser Test MCP Client");
    expect(await page.textContent("#redirect-uri")).toBe(clientCallbackUrl);
    expect(await page.locator('input[name="scope"]').count()).toBe(2);
    const bindingCookies = (await context.cookies(origin)).filter((cookie) =>
      cookie.name.startsWith("__Host-oauth-consent"),
    );
    expect(bindingCookies.length).toBeGreaterThan(0);
    for (const cookie of bindingCookies)
      expect(cookie).toMatchObject({ secure: true, httpOnly: true, path: "/" });

    await page.click('button[value="approve"]');
    await page.waitForURL((url) => url.pathname === CALLBACK_PATH);
    expect(lastClientCallback?.searchParams.get("state")).toBe("browser-state");
    expect(lastClientCallback?.searchParams.get("code")).toMatch(/^pat:/);
    expect(lastClientCallback?.searchParams.get("iss")).toBe(origin);
    await context.close();
  });
});
