/**
 * Workers KV failing or not answering (src/auth/kv-guard.ts): every route answers a
 * JSON 503 naming the dependency with `Retry-After` (the sign-in page a 503 page, as it
 * answers its other errors), never a 500; routes that need no KV keep working; a failed
 * credential save leaves the old one in place. KV waits run on an injected clock.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { KV_DEPENDENCY, KV_RETRY_AFTER_SECONDS, KV_TIMEOUT_MS } from "../../../src/auth/kv-guard.ts";
import { manualClock } from "../../support/clocks.ts";
import {
  authEnv,
  Browser,
  gatewayFetch,
  mcp,
  mcpResult,
  pkceAuthorizeUrl,
  registerClient,
  type TestEnv,
  tokenRequest,
  tokensFor,
} from "./helpers.ts";

type Fault = "throw" | "hang";
type Operation = "get" | "getWithMetadata" | "put" | "delete" | "list";
const ALL: Operation[] = ["get", "getWithMetadata", "put", "delete", "list"];

/**
 * The real namespace, with the named operations failing the way KV fails in an outage. A
 * hanging operation lets the guard's timeout pass on `clock` once it is waiting.
 */
function faultyKv(
  real: KVNamespace,
  fault: Fault,
  operations: Operation[] = ALL,
  clock = manualClock(),
): KVNamespace {
  const broken = () => {
    if (fault === "throw") return Promise.reject(new Error("KV GET failed: 503 Service Unavailable"));
    queueMicrotask(() => clock.advance(KV_TIMEOUT_MS));
    return new Promise<never>(() => {});
  };
  const kv: Record<string, unknown> = {};
  for (const op of ALL) {
    const method = (real[op] as (...args: unknown[]) => Promise<unknown>).bind(real);
    kv[op] = operations.includes(op) ? broken : method;
  }
  return kv as unknown as KVNamespace;
}

/** `base` with KV failing; a fresh object, so the gateway guards it anew. */
function withKv(base: TestEnv, fault: Fault, operations?: Operation[]): TestEnv {
  // A KV that never answers times out on this clock, moved by the hanging operation itself,
  // without real time passing.
  const clock = manualClock();
  return {
    ...base,
    OAUTH_KV: faultyKv(base.OAUTH_KV, fault, operations, clock),
    GATEWAY_TEST_CLOCK: clock,
  } as TestEnv;
}

async function expectJson503(response: Response): Promise<Record<string, unknown>> {
  expect(response.status).toBe(503);
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(response.headers.get("retry-after")).toBe(String(KV_RETRY_AFTER_SECONDS));
  const text = await response.text();
  expect(text).not.toContain("    at "); // no stack
  expect(text).toContain("Workers KV");
  return JSON.parse(text) as Record<string, unknown>;
}

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

describe("KV down, client auth on", () => {
  for (const fault of ["throw", "hang"] as const) {
    it(`MCP requests answer a JSON 503 naming KV (${fault})`, async () => {
      const t = await tokensFor(env, "alice");
      const down = withKv(env, fault);
      const res = await mcp(down, "/v1/mcp", t.access_token, "tools/list");
      const body = await expectJson503(res);
      expect(body.error).toBe("temporarily_unavailable");
      // /health needs no KV.
      const health = await gatewayFetch(down, "/health");
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
    });
  }

  it("the OAuth endpoints answer RFC 6749 JSON 503s; metadata keeps working", async () => {
    const t = await tokensFor(env, "bob");
    const down = withKv(env, "throw");
    const metadata = await gatewayFetch(down, "/.well-known/oauth-authorization-server");
    expect(metadata.status).toBe(200);

    const refresh = await tokenRequest(down, {
      grant_type: "refresh_token",
      refresh_token: t.refresh_token,
      client_id: t.clientId,
    });
    expect((await expectJson503(refresh)).error).toBe("temporarily_unavailable");

    const register = await gatewayFetch(down, "/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["http://127.0.0.1:1/cb"], token_endpoint_auth_method: "none" }),
    });
    expect((await expectJson503(register)).error).toBe("temporarily_unavailable");

    const client = await registerClient(env);
    const { url } = await pkceAuthorizeUrl(client.client_id);
    const authorize = await new Browser(down).fetch(url);
    expect((await expectJson503(authorize)).error).toBe("temporarily_unavailable");
  });

  it("the credentials page answers the gateway's JSON 503; sign-in answers a 503 page", async () => {
    const browser = new Browser(env, "192.0.2.150");
    await browser.signIn("carol");
    const down = new Browser(withKv(env, "throw"), "192.0.2.150");
    for (const [name, value] of browser.cookies) down.cookies.set(name, value);
    const body = (await expectJson503(await down.fetch("/credentials"))) as {
      error: { code: string; details: { dependency: string } };
    };
    expect(body.error.code).toBe("storage_unavailable");
    expect(body.error.details.dependency).toBe(KV_DEPENDENCY);

    const fresh = new Browser(withKv(env, "throw"), "192.0.2.151");
    const signIn = await fresh.signInWith("dave", "dave-password-4444");
    expect(signIn.status).toBe(503);
    expect(signIn.headers.get("retry-after")).toBe(String(KV_RETRY_AFTER_SECONDS));
    expect(await signIn.text()).toContain("Workers KV");
    expect(signIn.headers.getSetCookie().some((c) => c.startsWith("__Host-gw-session="))).toBe(false);
  });

  it("a tool whose personal credential cannot be read answers 503, not 'unknown tool'", async () => {
    const dave = await tokensFor(env, "dave");
    const csrf = await dave.browser.csrf();
    await dave.browser.post("/credentials/auth-key/secret", { csrf, owner: "user", secret: "dave-key-3333" });
    // Token checks (get) still answer; credential listing and reads do not.
    const partial = withKv(env, "throw", ["list", "getWithMetadata"]);
    const call = await mcp(partial, "/v1/mcp", dave.access_token, "tools/call", {
      name: "auth-key_whoami",
      arguments: {},
    });
    const body = (await expectJson503(call)) as { error: { code: string } };
    expect(body.error.code).toBe("storage_unavailable");
    // Vendors that need no KV still answer.
    const alpha = await mcp(partial, "/v1/mcp", dave.access_token, "tools/list");
    expect(alpha.status).toBe(200);
  });

  it("a credential save that fails leaves the previous credential readable", async () => {
    const dave = await tokensFor(env, "dave");
    const csrf = await dave.browser.csrf();
    const save = (browser: Browser, secret: string) =>
      browser.post(
        "/credentials/auth-key/secret",
        { csrf, owner: "user", secret },
        { accept: "application/json" },
      );
    expect((await save(dave.browser, "dave-old-key-1111")).status).toBe(200);

    const writesFail = new Browser(withKv(env, "throw", ["put"]));
    for (const [name, value] of dave.browser.cookies) writesFail.cookies.set(name, value);
    await expectJson503(await save(writesFail, "dave-new-key-2222"));

    const result = await mcpResult<{ content: { text: string }[] }>(
      await mcp(env, "/v1/mcp", dave.access_token, "tools/call", { name: "auth-key_whoami", arguments: {} }),
    );
    expect(JSON.parse(result.content[0]?.text ?? "null")).toEqual({
      key: "[REDACTED]",
      owner: "dave",
      last4: "1111",
    });
  });
});

describe("KV down, client auth off", () => {
  it("tool calls of vendors with shared credentials keep working, client-credentials tokens included", async () => {
    const off = withKv(await authEnv({ GATEWAY_AUTH: "none" }), "throw");
    const alpha = await mcp(off, "/v1/mcp", undefined, "tools/list");
    expect(alpha.status).toBe(200);
    const result = await mcpResult<{ isError?: boolean; content: { text: string }[] }>(
      await mcp(off, "/v1/mcp", undefined, "tools/call", { name: "auth-cc_getMe", arguments: {} }),
    );
    expect(result.isError).not.toBe(true);
    expect(JSON.parse(result.content[0]?.text ?? "null")).toMatchObject({ sub: "client:gateway-cc-client" });
  });
});
