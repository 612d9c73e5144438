/**
 * `tool_call` events with client auth on (src/mcp/call-report.ts): the caller's stable ids (never
 * an email, a name or a token), the `denied` outcomes decided before a vendor is called (team
 * allowlist, the write-scope rule), and a scan of every log line for the secrets a real session
 * handles: the client's OAuth bearer token, the user's email, an upstream API key the user saved,
 * argument values.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { authEnv, gatewayFetch, mcp, mcpResult, type TestEnv, tokensFor } from "./helpers.ts";

const EMAIL = "alice.mail@example.com";
const USER_KEY = "alice-events-key-98765";
const ARGUMENT = "argument-SUPERSECRET-4242";

let env: TestEnv;
beforeAll(async () => {
  const base = await authEnv();
  const users = JSON.parse(String(base.GATEWAY_USERS)) as Array<Record<string, unknown>>;
  for (const user of users) if (user.id === "alice") user.email = EMAIL;
  env = await authEnv({ GATEWAY_USERS: JSON.stringify(users) });
});

type Line = Record<string, unknown>;
let written: () => string[];
beforeEach(() => {
  const spies = (["log", "warn", "error"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
  written = () => spies.flatMap((spy) => spy.mock.calls.map(([line]) => String(line)));
});
afterEach(() => vi.restoreAllMocks());

function toolCalls(): Line[] {
  return written()
    .map((line) => JSON.parse(line) as Line)
    .filter((line) => line.event === "tool_call");
}

async function callTool(token: string, name: string, args: Record<string, unknown>, path = "/v1/mcp") {
  return mcp(env, path, token, "tools/call", { name, arguments: args });
}

describe("tool_call events of an authenticated caller", () => {
  it("carry the user's and team's ids", async () => {
    const bob = await tokensFor(env, "bob");
    await mcpResult(await callTool(bob.access_token, "mcp-alpha_getItem", { itemId: "1" }));
    expect(toolCalls()).toEqual([
      expect.objectContaining({ userId: "bob", teamId: "eng", vendor: "mcp-alpha", outcome: "ok" }),
    ]);
  });

  it("denied: a vendor the team allowlist hides is answered as unknown, reported as not allowed", async () => {
    const carol = await tokensFor(env, "carol");
    const res = await callTool(carol.access_token, "mcp-alpha_getItem", { itemId: "1" });
    const body = (await res.json()) as { error?: { message: string } };
    expect(body.error?.message).toContain("Unknown tool");
    expect(toolCalls()).toEqual([
      expect.objectContaining({
        userId: "carol",
        teamId: "ops",
        vendor: "mcp-alpha",
        tool: "getItem",
        outcome: "denied",
        errorCode: "tool_not_allowed",
        attempts: 0,
      }),
    ]);
  });

  it("denied: a vendor the user has no credential for yet (hidden from /v1/mcp) is missing_credentials", async () => {
    const carol = await tokensFor(env, "carol");
    await callTool(carol.access_token, "auth-key_whoami", {});
    expect(toolCalls()).toEqual([
      expect.objectContaining({
        userId: "carol",
        vendor: "auth-key",
        tool: "whoami",
        outcome: "denied",
        errorCode: "missing_credentials",
        attempts: 0,
      }),
    ]);
  });

  it("denied: the write-scope rule's 403 step-up is one event too", async () => {
    const reader = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    const res = await callTool(reader.access_token, "mcp-alpha_createItem", { name: "x" });
    expect(res.status).toBe(403);
    expect(toolCalls()).toEqual([
      expect.objectContaining({
        userId: "alice",
        vendor: "mcp-alpha",
        tool: "createItem",
        outcome: "denied",
        errorCode: "insufficient_scope",
        attempts: 0,
      }),
    ]);
  });
});

describe("tool_call events of discovery mode's call", () => {
  it("denied: a write operation called through <vendor>_call with a read-only token", async () => {
    const reader = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    const result = await mcpResult<{ isError?: boolean }>(
      await callTool(reader.access_token, "mcp-discovery_call", {
        name: "createIssue",
        arguments: { title: "x" },
      }),
    );
    expect(result.isError).toBe(true);
    expect(toolCalls()).toEqual([
      expect.objectContaining({
        vendor: "mcp-discovery",
        tool: "createIssue",
        outcome: "denied",
        errorCode: "insufficient_scope",
        attempts: 0,
      }),
    ]);
  });
});

describe("no secret in any log line", () => {
  it("never the bearer token, the email, a saved API key or an argument value", async () => {
    const alice = await tokensFor(env, "alice");
    const csrf = await alice.browser.csrf();
    expect(
      (await alice.browser.post("/credentials/auth-key/secret", { csrf, owner: "user", secret: USER_KEY }))
        .status,
    ).toBe(303);
    const whoami = await mcpResult<{ content: { text: string }[] }>(
      await callTool(alice.access_token, "auth-key_whoami", {}),
    );
    // The upstream saw the key (and echoed it; the result is scrubbed): the call really carried it.
    expect(JSON.parse(whoami.content[0]!.text)).toMatchObject({ key: "[REDACTED]", last4: "8765" });
    await mcpResult(await callTool(alice.access_token, "mcp-alpha_getItem", { itemId: ARGUMENT }));
    await callTool(alice.access_token, "mcp-alpha_createItem", { name: ARGUMENT, extra: EMAIL });
    await callTool(alice.access_token, "mcp-alpha_noSuchTool", { q: ARGUMENT });
    await callTool(`${alice.access_token}x`, "mcp-alpha_getItem", { itemId: "1" });

    const lines = written();
    expect(toolCalls().length).toBeGreaterThanOrEqual(4);
    expect(toolCalls().every((event) => event.userId === "alice")).toBe(true);
    for (const secret of [alice.access_token, alice.refresh_token, EMAIL, USER_KEY, ARGUMENT, "Alice"]) {
      if (secret === undefined) continue;
      for (const line of lines) expect(line).not.toContain(secret);
    }
  });
});

describe("request events of answers the OAuth library gives before the app", () => {
  const requestEvents = (id: string): Line[] =>
    written()
      .map((line) => JSON.parse(line) as Line)
      .filter((line) => line.event === "request" && line.requestId === id);

  it("a /v1/ request without a token: one event, the route pattern, the 401, the client's trace", async () => {
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
    const res = await gatewayFetch(env, "/v1/auth-key/mcp", {
      method: "POST",
      headers: { "x-request-id": "outside-401-1", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBe("outside-401-1");
    expect(requestEvents("outside-401-1")).toEqual([
      expect.objectContaining({ method: "POST", route: "/v1/:vendor/mcp", status: 401, traceId }),
    ]);
  });

  it("the token endpoint: one event; an answer of the app under auth on still gets exactly one", async () => {
    const token = await gatewayFetch(env, "/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-request-id": "outside-token-1" },
      body: "grant_type=authorization_code&code=nope",
    });
    expect(token.status).toBeGreaterThanOrEqual(400);
    expect(requestEvents("outside-token-1")).toEqual([
      expect.objectContaining({ method: "POST", route: "/oauth/token", status: token.status }),
    ]);
    const health = await gatewayFetch(env, "/health", { headers: { "x-request-id": "inside-health-1" } });
    expect(health.status).toBe(200);
    expect(requestEvents("inside-health-1")).toEqual([
      expect.objectContaining({ route: "/health", status: 200 }),
    ]);
  });
});
