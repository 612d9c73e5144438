/**
 * The whole product locally with client auth on, as the README's walkthrough runs it
 * (issue #11 item 10): `GATEWAY_AUTH=oauth npm start` prints a demo user's password made for
 * this start; the MCP SDK client, mcp-remote and the Inspector CLI each discover the gateway's
 * OAuth server, register, send the "browser" through sign-in and consent, exchange the code, then
 * list and call the demo tools.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEV_READY_TIMEOUT_MS, freePort, ROOT } from "../../scripts/lib/dev-server.ts";
import { MemoryOAuthProvider } from "../support/oauth-client-provider.ts";
import { INSPECTOR, isolatedEnv, MCP_REMOTE, StdioSession } from "./support/client-tools.ts";
import { SignInBrowser } from "./support/signin-browser.ts";

/** The SDK's redirect URI: nothing listens there, the "browser" reads the code off the redirect. */
const REDIRECT = "http://127.0.0.1:1/oauth/callback";
/** Both wrangler dev processes, on a cold loaded machine. */
const START_TIMEOUT_MS = 2 * DEV_READY_TIMEOUT_MS;

let child: ChildProcessWithoutNullStreams | undefined;
let state: string;
let origin: string;
let demo: { user: string; password: string };
let output = "";

beforeAll(async () => {
  state = mkdtempSync(join(tmpdir(), "gateway-local-oauth-"));
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    GATEWAY_AUTH: "oauth",
  };
  delete env.GATEWAY_USERS;
  delete env.OIDC_ISSUER;
  child = spawn(process.execPath, [join(ROOT, "scripts", "start.ts"), "--persist-to", state], {
    cwd: ROOT,
    env: env as NodeJS.ProcessEnv,
  });
  const running = child;
  await new Promise<void>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const base = /is running at (http:\/\/\S+)/.exec(output)?.[1];
      const user = /user:\s+(\S+)/.exec(output)?.[1];
      const password = /password:\s+(\S+)/.exec(output)?.[1];
      if (base !== undefined && user !== undefined && password !== undefined) {
        origin = base;
        demo = { user, password };
        resolve();
      }
    };
    running.stdout.on("data", seen);
    running.stderr.on("data", seen);
    running.once("exit", (code) => reject(new Error(`npm start exited (${code}):\n${output.slice(-4000)}`)));
  });
}, START_TIMEOUT_MS);

afterAll(async () => {
  const running = child;
  if (running !== undefined && running.exitCode === null) {
    // npm start stops both wrangler dev processes on SIGTERM.
    await new Promise((resolve) => {
      running.once("exit", resolve);
      running.kill("SIGTERM");
    });
  }
  if (state !== undefined) rmSync(state, { recursive: true, force: true });
});

/** An in-memory OAuth client whose user agent is the sign-in browser. */
class DemoUserProvider extends MemoryOAuthProvider {
  private readonly browser: SignInBrowser;
  constructor(browser: SignInBrowser) {
    super(REDIRECT, "Local walkthrough client");
    this.browser = browser;
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    const back = await this.browser.authorize(url);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    this.authorizationCode = back.searchParams.get("code") ?? undefined;
  }
}

it("npm start with GATEWAY_AUTH=oauth: sign-in and consent as the printed demo user, then tools", async () => {
  expect(output).toContain("Client auth is ON (OAuth)");
  expect(demo.user).toBe("demo");
  expect(demo.password).toMatch(/^[A-Za-z0-9_-]{24}$/);

  // Without a token the MCP endpoint answers the OAuth challenge.
  const bare = await fetch(`${origin}/v1/mcp`, { method: "POST", body: "{}" });
  expect(bare.status).toBe(401);
  expect(bare.headers.get("www-authenticate")).toContain("resource_metadata=");

  const provider = new DemoUserProvider(new SignInBrowser(demo.user, demo.password));
  const url = new URL("/v1/mcp", origin);
  const client = new Client({ name: "local-walkthrough", version: "1.0.0" });
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(client.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.authorizationCode).toBeDefined();
  await first.finishAuth(provider.authorizationCode ?? "");
  expect(provider.savedTokens?.access_token).toBeTruthy();

  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  const { tools } = await client.listTools();
  expect(tools.map((tool) => tool.name)).toContain("demo_getTime");
  const time = await client.callTool({ name: "demo_getTime", arguments: {} });
  expect(time.isError).not.toBe(true);
  expect(JSON.stringify(time.structuredContent)).toContain("timezone");
  await client.close();
}, 120_000);

/** One client through discovery, registration, sign-in, consent and a call. */
const CLIENT_TIMEOUT_MS = 60_000;

/**
 * Plays the person at the browser for a client process: waits for the authorization URL it
 * prints, signs in as the demo user, allows, and follows the redirect to the client's callback.
 */
function signInWhenAsked(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    let printed = "";
    let asked = false;
    const watch = (chunk: Buffer) => {
      printed += chunk.toString();
      const url = new RegExp(`${origin.replaceAll(".", "\\.")}/authorize\\?\\S+`).exec(printed)?.[0];
      if (url === undefined || asked) return;
      asked = true;
      new SignInBrowser(demo.user, demo.password)
        .authorize(new URL(url))
        .then((back) => fetch(back))
        .then((callback) =>
          callback.ok ? resolve() : reject(new Error(`callback answered ${callback.status}`)),
        )
        .catch(reject);
    };
    child.stdout.on("data", watch);
    child.stderr.on("data", watch);
  });
}

it(
  "mcp-remote: signs in and consents through the browser, then relays tools/list and tools/call",
  async () => {
    const child = spawn(process.execPath, [MCP_REMOTE, `${origin}/v1/mcp`, String(await freePort())], {
      cwd: ROOT,
      env: isolatedEnv(state),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const signedIn = signInWhenAsked(child);
    const session = new StdioSession(child, CLIENT_TIMEOUT_MS);
    try {
      const init = await session.request(1, "initialize", {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "walkthrough", version: "1.0.0" },
      });
      await signedIn;
      expect(init.result).toMatchObject({ serverInfo: { name: "mcp-edge-gateway" } });
      session.notify("notifications/initialized");
      const list = await session.request(2, "tools/list");
      expect(JSON.stringify(list.result)).toContain("demo_getTime");
      const call = await session.request(3, "tools/call", { name: "demo_getTime", arguments: {} });
      expect(call.result).not.toHaveProperty("isError", true);
      expect(JSON.stringify(call.result)).toContain("timezone");
    } finally {
      await session.close();
    }
  },
  CLIENT_TIMEOUT_MS,
);

it(
  "the Inspector CLI: signs in and consents through the browser, then calls a tool",
  async () => {
    const callback = `http://127.0.0.1:${await freePort()}/oauth/callback`;
    const child = spawn(
      process.execPath,
      [
        INSPECTOR,
        "--cli",
        `${origin}/v1/mcp`,
        "--callback-url",
        callback,
        "--method",
        "tools/call",
        "--tool-name",
        "demo_getTime",
      ],
      // Without a terminal the Inspector asks for this before it starts an interactive sign-in.
      {
        cwd: ROOT,
        env: { ...isolatedEnv(state), MCP_AUTO_OPEN_ENABLED: "true", BROWSER: "true" },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    child.stdin.end();
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const signedIn = signInWhenAsked(child);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    await signedIn;
    expect(code, stdout).toBe(0);
    expect(stdout).toContain("timezone");
  },
  CLIENT_TIMEOUT_MS,
);
