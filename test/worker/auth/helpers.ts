/**
 * Shared set-up for the auth tests: an env with client auth on, a tiny cookie-
 * keeping "browser", and the OAuth dance (register → authorize → sign in →
 * consent → token) against the real Worker entry inside workerd.
 */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env as baseEnv } from "cloudflare:workers";
import { inject } from "vitest";
import { hashPassword } from "../../../src/auth/password.ts";
import worker from "../../../src/worker.ts";
import {
  CC_CLIENT_ID,
  CC_CLIENT_SECRET,
  OIDC_CLIENT_ID,
  OIDC_CLIENT_SECRET,
  VENDOR_CLIENT_ID,
  VENDOR_CLIENT_SECRET,
} from "../../support/auth-clients.ts";
import { cookieHeader, rememberCookies } from "../../support/cookie-jar.ts";

export const ORIGIN = "https://gw.test";
export const ENCRYPTION_KEY = "test-encryption-key-0123456789-abcdefghijklmnop";
export const PASSWORDS = {
  alice: "alice-password-1",
  bob: "bob-password-22",
  carol: "carol-password-333",
  dave: "dave-password-4444",
} as const;

let hashes: Promise<Record<string, string>> | undefined;
function passwordHashes(): Promise<Record<string, string>> {
  hashes ??= (async () => {
    const entries = await Promise.all(
      Object.entries(PASSWORDS).map(
        async ([name, password]) => [name, await hashPassword(password)] as const,
      ),
    );
    return Object.fromEntries(entries);
  })();
  return hashes;
}

export function authServersOrigin(): string {
  return inject("authServersOrigin");
}

export type TestEnv = Env & Record<string, unknown>;

/**
 * Users: alice (team eng, admin), bob (team eng, member), carol (team ops: only auth-key/whoami),
 * dave (no team), erin (OIDC only, matched by subject), frank (OIDC, matched by verified email).
 */
export async function authEnv(overrides: Record<string, string | undefined> = {}): Promise<TestEnv> {
  const h = await passwordHashes();
  const servers = authServersOrigin();
  const env: Record<string, unknown> = {
    ...(baseEnv as unknown as Record<string, unknown>),
    GATEWAY_AUTH: "oauth",
    GATEWAY_USERS: JSON.stringify([
      { id: "alice", name: "Alice", passwordHash: h.alice, team: "eng", role: "admin" },
      { id: "bob", name: "Bob", passwordHash: h.bob, team: "eng", role: "member" },
      { id: "carol", name: "Carol", passwordHash: h.carol, team: "ops" },
      { id: "dave", name: "Dave", passwordHash: h.dave },
      { id: "erin", name: "Erin", oidcSubject: "erin-sub" },
      { id: "frank", name: "Frank", email: "frank@example.com" },
    ]),
    GATEWAY_TEAMS: JSON.stringify({
      eng: { name: "Engineering" },
      ops: { name: "Operations", vendors: ["auth-key"], tools: { "auth-key": ["whoami"] } },
    }),
    CREDENTIALS_ENCRYPTION_KEY: ENCRYPTION_KEY,
    OIDC_ISSUER: `${servers}/oidc`,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    AUTH_OAUTH_BASE_URL: `${servers}/vendor/api`,
    AUTH_OAUTH_OAUTH2_AUTHORIZATION_URL: `${servers}/vendor/authorize`,
    AUTH_OAUTH_OAUTH2_TOKEN_URL: `${servers}/vendor/token`,
    AUTH_OAUTH_OAUTH2_CLIENT_ID: VENDOR_CLIENT_ID,
    AUTH_OAUTH_OAUTH2_CLIENT_SECRET: VENDOR_CLIENT_SECRET,
    AUTH_KEY_BASE_URL: `${servers}/keyvendor/api`,
    AUTH_CC_BASE_URL: `${servers}/vendor/api`,
    AUTH_CC_OAUTH2_TOKEN_URL: `${servers}/vendor/token`,
    AUTH_CC_OAUTH2_CLIENT_ID: CC_CLIENT_ID,
    AUTH_CC_OAUTH2_CLIENT_SECRET: CC_CLIENT_SECRET,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env as TestEnv;
}

/** One request into the Worker entry with this env. */
export async function gatewayFetch(
  testEnv: TestEnv,
  input: string | Request,
  init?: RequestInit,
): Promise<Response> {
  const request = typeof input === "string" ? new Request(new URL(input, ORIGIN), init) : input;
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    request as Parameters<typeof worker.fetch>[0],
    testEnv as unknown as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** A cookie-keeping client: what a browser does, minus rendering. */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** `address`: sent as CF-Connecting-IP, as Cloudflare's edge does. */
  constructor(
    readonly env: TestEnv,
    readonly address?: string,
  ) {}

  cookieHeader(): string {
    return cookieHeader(this.cookies);
  }

  remember(response: Response): void {
    rememberCookies(this.cookies, response);
  }

  /** A request to the gateway (relative or absolute on ORIGIN), or to the local auth servers via global fetch. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url, ORIGIN);
    if (target.origin !== ORIGIN) return fetch(target, { ...init, redirect: "manual" });
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", this.cookieHeader());
    if (this.address !== undefined) headers.set("cf-connecting-ip", this.address);
    const response = await gatewayFetch(
      this.env,
      new Request(target, { ...init, headers, redirect: "manual" }),
    );
    this.remember(response);
    return response;
  }

  async post(
    url: string,
    form: Record<string, string | string[]>,
    headers: HeadersInit = {},
  ): Promise<Response> {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) {
      for (const item of Array.isArray(value) ? value : [value]) body.append(key, item);
    }
    return this.fetch(url, { method: "POST", body, headers });
  }

  async signIn(user: keyof typeof PASSWORDS, returnTo = "/credentials"): Promise<Response> {
    return this.signInWith(user, PASSWORDS[user], returnTo);
  }

  /** The sign-in form's token, bound to this browser's form cookie (valid for many posts). */
  async formToken(returnTo = "/credentials"): Promise<string> {
    const page = await this.fetch(`/signin?return=${encodeURIComponent(returnTo)}`);
    const html = await page.text();
    const token = /name="form_token" value="([^"]+)"/.exec(html)?.[1];
    if (token === undefined) throw new Error(`no sign-in form: ${page.status} ${html.slice(0, 300)}`);
    return token;
  }

  /** Posts the sign-in form with any user name and password. */
  async signInWith(username: string, password: string, returnTo = "/credentials"): Promise<Response> {
    const token = await this.formToken(returnTo);
    return this.post("/signin", { username, password, form_token: token, return: returnTo });
  }

  /** The CSRF token on the credentials page. */
  async csrf(): Promise<string> {
    const html = await (await this.fetch("/credentials")).text();
    const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token === undefined) throw new Error("no csrf token on the credentials page");
    return token;
  }
}

export function location(response: Response): string {
  const value = response.headers.get("location");
  if (value === null) throw new Error(`expected a redirect, got ${response.status}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The MCP client's side of OAuth

export const CLIENT_REDIRECT = "http://127.0.0.1:33418/callback";

export async function registerClient(
  testEnv: TestEnv,
  metadata: Record<string, unknown> = {},
): Promise<{ client_id: string; client_secret?: string }> {
  const response = await gatewayFetch(testEnv, "/oauth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "Test MCP Client",
      redirect_uris: [CLIENT_REDIRECT],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      ...metadata,
    }),
  });
  if (response.status !== 201)
    throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return response.json();
}

function base64url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)).buffer);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge };
}

export function authorizeUrl(params: Record<string, string | undefined>): string {
  const url = new URL("/authorize", ORIGIN);
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(key, value);
  return url.pathname + url.search;
}

/**
 * An authorization request as an MCP client sends it (path and query on ORIGIN):
 * response type `code`, redirect to CLIENT_REDIRECT, a fresh PKCE S256 challenge,
 * then `params` (they override; an `undefined` value leaves a parameter out).
 */
export async function pkceAuthorizeUrl(
  clientId: string,
  params: Record<string, string | undefined> = {},
): Promise<{ url: string; verifier: string }> {
  const { verifier, challenge } = await pkcePair();
  const url = authorizeUrl({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CLIENT_REDIRECT,
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...params,
  });
  return { url, verifier };
}

export interface Authorized {
  code: string;
  verifier: string;
  clientId: string;
  redirectUri: string;
  state: string;
  consentHtml: string;
  consentHeaders: Headers;
}

/**
 * Runs authorize → sign in → consent → approve for `user` and returns the code.
 * `scopes` is what the user leaves ticked on the consent page.
 */
export async function authorize(
  browser: Browser,
  user: keyof typeof PASSWORDS,
  options: { clientId?: string; resource?: string; scope?: string; approve?: string[]; deny?: boolean } = {},
): Promise<Authorized & { redirect: URL }> {
  const clientId = options.clientId ?? (await registerClient(browser.env)).client_id;
  const state = crypto.randomUUID();
  const { url, verifier } = await pkceAuthorizeUrl(clientId, {
    state,
    scope: options.scope ?? "mcp:read mcp:write",
    resource: options.resource ?? `${ORIGIN}/v1/mcp`,
  });
  let response = await browser.fetch(url);
  if (response.status === 303 && location(response).startsWith("/signin")) {
    const signedIn = await browser.signIn(user, url);
    response = await browser.fetch(location(signedIn));
  }
  if (response.status !== 200)
    throw new Error(`consent page expected, got ${response.status}: ${await response.text()}`);
  const consentHeaders = response.headers;
  const consentHtml = await response.text();
  const handle = /name="handle" value="([^"]+)"/.exec(consentHtml)?.[1] ?? "";
  const csrf = /name="csrf" value="([^"]+)"/.exec(consentHtml)?.[1] ?? "";
  const decision = await browser.post("/authorize", {
    handle,
    csrf,
    decision: options.deny ? "deny" : "approve",
    scope: options.approve ?? ["mcp:read", "mcp:write"],
  });
  const redirect = new URL(location(decision));
  return {
    code: redirect.searchParams.get("code") ?? "",
    verifier,
    clientId,
    redirectUri: CLIENT_REDIRECT,
    state,
    consentHtml,
    consentHeaders,
    redirect,
  };
}

export async function tokenRequest(
  testEnv: TestEnv,
  form: Record<string, string | undefined>,
): Promise<Response> {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) if (value !== undefined) body.set(key, value);
  return gatewayFetch(testEnv, "/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  scope: string;
  expires_in: number;
  resource?: string;
}

/** The whole dance for a user: an access token (and refresh token) for `resource`. */
export async function tokensFor(
  testEnv: TestEnv,
  user: keyof typeof PASSWORDS,
  options: { resource?: string; approve?: string[]; browser?: Browser } = {},
): Promise<Tokens & { clientId: string; browser: Browser }> {
  const browser = options.browser ?? new Browser(testEnv);
  const resource = options.resource ?? `${ORIGIN}/v1/mcp`;
  const authorized = await authorize(browser, user, {
    resource,
    ...(options.approve === undefined ? {} : { approve: options.approve }),
  });
  const response = await tokenRequest(testEnv, {
    grant_type: "authorization_code",
    code: authorized.code,
    redirect_uri: authorized.redirectUri,
    code_verifier: authorized.verifier,
    client_id: authorized.clientId,
    resource,
  });
  if (response.status !== 200)
    throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return { ...((await response.json()) as Tokens), clientId: authorized.clientId, browser };
}

let rpcId = 0;

/** One MCP JSON-RPC request (2025-06-18 framing) with a bearer token. */
export async function mcp(
  testEnv: TestEnv,
  path: string,
  token: string | undefined,
  method: string,
  params: Record<string, unknown> = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18",
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return gatewayFetch(testEnv, path, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
}

export async function mcpResult<T = Record<string, unknown>>(response: Response): Promise<T> {
  const text = await response.text();
  if (response.status !== 200) throw new Error(`MCP call failed: ${response.status} ${text}`);
  const body = JSON.parse(text) as { result?: T; error?: unknown };
  if (body.result === undefined) throw new Error(`MCP error: ${text}`);
  return body.result;
}

/** Every KV key and value (decoded as text), for "no plaintext secret" scans. */
export async function dumpKv(
  testEnv: TestEnv,
): Promise<{ name: string; value: string; metadata: unknown }[]> {
  const rows: { name: string; value: string; metadata: unknown }[] = [];
  let cursor: string | undefined;
  do {
    const page = await testEnv.OAUTH_KV.list(cursor === undefined ? {} : { cursor });
    for (const key of page.keys) {
      rows.push({
        name: key.name,
        value: (await testEnv.OAUTH_KV.get(key.name)) ?? "",
        metadata: key.metadata,
      });
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return rows;
}
