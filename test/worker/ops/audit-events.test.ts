/**
 * Every audit event type is recorded by a real request doing the thing (#14): sign-in right and
 * wrong, consent, registration, revocation (by the user and by refresh-token reuse), credentials
 * stored, replaced and removed, a vendor connected over OAuth, denials by scope and allowlist, a
 * write-tool call, and a changed upstream MCP tool definition. Each lands in its team's log (or
 * the gateway-wide one), with opaque ids only: no typed user name, password, secret or argument.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { type AuditEvent, type AuditEventType, auditLogStub } from "../../../src/audit-events.ts";
import { vendorKindOf } from "../../../src/vendors/registry.ts";
import { manualClock } from "../../support/clocks.ts";
import { mcpBundle, mcpTool, reviewAndWait } from "../../support/mcp-tools.ts";
import {
  authEnv,
  Browser,
  gatewayFetch,
  location,
  mcp,
  type PASSWORDS,
  type TestEnv,
  tokenRequest,
  tokensFor,
} from "../auth/helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

/** Every event of a log, newest first. */
async function logOf(testEnv: Env, team: string | undefined): Promise<AuditEvent[]> {
  return auditLogStub(testEnv, team).query({ limit: 1000 });
}

async function latest(team: string | undefined, type: AuditEventType): Promise<AuditEvent | undefined> {
  return (await auditLogStub(env, team).query({ type, limit: 1 }))[0];
}

async function signedIn(user: keyof typeof PASSWORDS, testEnv: TestEnv = env): Promise<Browser> {
  const browser = new Browser(testEnv);
  expect((await browser.signIn(user)).status).toBe(303);
  return browser;
}

describe("sign-in", () => {
  it("a right password is a success in the user's team log, with the request id", async () => {
    const browser = new Browser(env);
    const res = await browser.signIn("alice");
    expect(res.status).toBe(303);
    const event = await latest("eng", "sign_in");
    expect(event).toMatchObject({
      type: "sign_in",
      outcome: "success",
      userId: "alice",
      teamId: "eng",
      detail: "password",
      requestId: res.headers.get("x-request-id"),
    });
    expect(event?.time).toBeGreaterThan(0);
  });

  it("a wrong password is a failure; an unknown name goes to the gateway log without the name typed", async () => {
    const browser = new Browser(env);
    expect((await browser.signInWith("bob", "not-bobs-password")).status).toBe(401);
    expect(await latest("eng", "sign_in")).toMatchObject({
      outcome: "failure",
      userId: "bob",
      detail: "password: wrong password",
    });
    const typed = "mallory-typed-this-9c1";
    expect((await browser.signInWith(typed, "hunter2-password")).status).toBe(401);
    const event = await latest(undefined, "sign_in");
    expect(event).toMatchObject({ outcome: "failure", detail: "password: unknown user" });
    expect(event?.userId).toBeUndefined();
    const everything = JSON.stringify([...(await logOf(env, undefined)), ...(await logOf(env, "eng"))]);
    expect(everything).not.toContain(typed);
    expect(everything).not.toContain("hunter2-password");
    expect(everything).not.toContain("not-bobs-password");
  });

  it("single sign-on: a listed user's success, a refused stranger's failure (gateway log)", async () => {
    const viaProvider = async (browser: Browser, login: string) => {
      const start = await browser.fetch("/signin/oidc");
      const atProvider = await browser.fetch(`${location(start)}&login_as=${login}`);
      return browser.fetch(location(atProvider));
    };
    const erin = new Browser(env);
    expect((await viaProvider(erin, "erin-sub")).status).toBe(303);
    expect(await latest(undefined, "sign_in")).toMatchObject({
      outcome: "success",
      userId: "erin",
      detail: "oidc",
    });
    const stranger = new Browser(env);
    expect((await viaProvider(stranger, "stranger-sub")).status).toBe(403);
    const refused = await latest(undefined, "sign_in");
    expect(refused).toMatchObject({ outcome: "failure", detail: "oidc: not_listed" });
    expect(refused?.userId).toBeUndefined();
  });

  it("a user without a team signs in into the gateway log", async () => {
    await signedIn("dave");
    expect(await latest(undefined, "sign_in")).toMatchObject({ outcome: "success", userId: "dave" });
  });
});

describe("OAuth clients", () => {
  it("registration, consent and revocation on /credentials are recorded with the client id", async () => {
    const t = await tokensFor(env, "alice");
    expect(await latest(undefined, "client_registered")).toMatchObject({
      outcome: "success",
      clientId: t.clientId,
    });
    // The client's self-chosen name is never kept.
    expect(JSON.stringify(await logOf(env, undefined))).not.toContain("Test MCP Client");
    expect(await latest("eng", "consent_granted")).toMatchObject({
      outcome: "success",
      userId: "alice",
      clientId: t.clientId,
      detail: "scopes: mcp:read mcp:write",
    });

    const page = await (await t.browser.fetch("/credentials")).text();
    const grantId = t.refresh_token.split(":")[1] ?? "";
    expect(page).toContain(`/credentials/clients/${grantId}/revoke`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    expect((await t.browser.post(`/credentials/clients/${grantId}/revoke`, { csrf })).status).toBe(303);
    expect(await latest("eng", "token_revoked")).toMatchObject({
      outcome: "success",
      userId: "alice",
      clientId: t.clientId,
      detail: "revoked by the user on /credentials",
    });
  });

  it("refresh-token reuse revokes the grant and says so", async () => {
    const t = await tokensFor(env, "bob");
    const refresh = (token: string) =>
      tokenRequest(env, { grant_type: "refresh_token", refresh_token: token, client_id: t.clientId });
    const next = (await (await refresh(t.refresh_token)).json()) as { refresh_token: string };
    await refresh(next.refresh_token);
    expect((await refresh(t.refresh_token)).status).toBe(400);
    expect(await latest("eng", "token_revoked")).toMatchObject({
      userId: "bob",
      detail: "refresh token reuse: the whole grant",
    });
  });
});

describe("upstream credentials", () => {
  it("stored, replaced and removed: connected, changed, removed, never the secret", async () => {
    const alice = await signedIn("alice");
    const save = async (secret: string, owner: "user" | "team") =>
      alice.post("/credentials/auth-key/secret", { csrf: await alice.csrf(), owner, secret });
    expect((await save("alice-audit-key-1111", "user")).status).toBe(303);
    expect(await latest("eng", "credential_connected")).toMatchObject({
      userId: "alice",
      vendor: "auth-key",
      detail: "personal credential",
    });
    expect((await save("alice-audit-key-2222", "user")).status).toBe(303);
    expect(await latest("eng", "credential_changed")).toMatchObject({ vendor: "auth-key" });
    expect((await save("eng-team-key-3333", "team")).status).toBe(303);
    expect(await latest("eng", "credential_connected")).toMatchObject({ detail: "team credential" });
    const removed = await alice.post("/credentials/auth-key/disconnect", {
      csrf: await alice.csrf(),
      owner: "user",
    });
    expect(removed.status).toBe(303);
    expect(await latest("eng", "credential_removed")).toMatchObject({
      userId: "alice",
      vendor: "auth-key",
      detail: "personal credential",
    });
    const text = JSON.stringify(await logOf(env, "eng"));
    for (const secret of ["alice-audit-key-1111", "alice-audit-key-2222", "eng-team-key-3333"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("a vendor connected over OAuth", async () => {
    const dave = await signedIn("dave");
    const start = await dave.post("/credentials/auth-oauth/connect", {
      csrf: await dave.csrf(),
      owner: "user",
    });
    const atVendor = await dave.fetch(`${location(start)}&login_as=dave-at-vendor`);
    const done = await dave.fetch(location(atVendor));
    expect(location(done)).toContain("notice=connected");
    expect(await latest(undefined, "credential_connected")).toMatchObject({
      userId: "dave",
      vendor: "auth-oauth",
      detail: "personal credential (OAuth)",
    });
  });
});

describe("MCP calls", () => {
  it("a write tool called without mcp:write is denied by scope", async () => {
    const t = await tokensFor(env, "alice", { approve: ["mcp:read"] });
    const res = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-alpha_createItem",
      arguments: { name: "secret-argument-77" },
    });
    expect(res.status).toBe(403);
    const event = await latest("eng", "access_denied");
    expect(event).toMatchObject({
      outcome: "denied",
      userId: "alice",
      vendor: "mcp-alpha",
      tool: "createItem",
      detail: "scope: mcp:write required",
    });
    expect(event?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(await logOf(env, "eng"))).not.toContain("secret-argument-77");
  });

  it("a discovery call of an operation that changes data, without mcp:write, is denied by scope", async () => {
    const t = await tokensFor(env, "dave", { approve: ["mcp:read"] });
    const res = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-discovery_call",
      arguments: { name: "createIssue", arguments: {} },
    });
    expect(res.status).toBe(200);
    expect(await latest(undefined, "access_denied")).toMatchObject({
      userId: "dave",
      vendor: "mcp-discovery",
      tool: "createIssue",
      detail: "scope: mcp:write required",
    });
  });

  it("a vendor outside the team allowlist is denied", async () => {
    const t = await tokensFor(env, "carol", { resource: "https://gw.test/v1/mcp-alpha/mcp" });
    expect((await mcp(env, "/v1/mcp-alpha/mcp", t.access_token, "tools/list")).status).toBe(403);
    expect(await latest("ops", "access_denied")).toMatchObject({
      userId: "carol",
      vendor: "mcp-alpha",
      detail: "team allowlist: vendor",
    });
  });

  it("a tool outside the team allowlist is denied (the caller sees an unknown tool)", async () => {
    const narrowed = await authEnv({
      GATEWAY_TEAMS: JSON.stringify({
        eng: { name: "Engineering", tools: { "mcp-alpha": ["listItems"] } },
        ops: { name: "Operations" },
      }),
    });
    const t = await tokensFor(narrowed, "alice");
    const res = await mcp(narrowed, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-alpha_createItem",
      arguments: { name: "x" },
    });
    expect(((await res.json()) as { error?: { code: number } }).error?.code).toBe(-32602);
    expect(await latest("eng", "access_denied")).toMatchObject({
      userId: "alice",
      vendor: "mcp-alpha",
      tool: "createItem",
      detail: "team allowlist: tool",
    });
  });

  it("a write tool call is recorded with its outcome; a read-only one is not", async () => {
    const t = await tokensFor(env, "dave");
    const before = (await logOf(env, undefined)).filter((e) => e.type === "write_tool_call").length;
    const read = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-alpha_listItems",
      arguments: {},
    });
    expect(read.status).toBe(200);
    expect((await logOf(env, undefined)).filter((e) => e.type === "write_tool_call")).toHaveLength(before);
    const write = await mcp(env, "/v1/mcp", t.access_token, "tools/call", {
      name: "mcp-alpha_createItem",
      arguments: { name: "argument-never-kept-5" },
    });
    expect(write.status).toBe(200);
    const event = await latest(undefined, "write_tool_call");
    expect(event).toMatchObject({ userId: "dave", vendor: "mcp-alpha", tool: "createItem" });
    expect(["success", "failure"]).toContain(event?.outcome);
    expect((await logOf(env, undefined)).filter((e) => e.type === "write_tool_call")).toHaveLength(
      before + 1,
    );
    expect(JSON.stringify(event)).not.toContain("argument-never-kept-5");
  });
});

describe("upstream MCP tool definitions", () => {
  it("a real upstream MCP server that changes a tool after approval: recorded on the next list", async () => {
    const servers = inject("mcpServers");
    const clock = manualClock(Date.now());
    const testEnv = { ...env, GATEWAY_TEST_CLOCK: clock } as Env;
    // A vendor of its own in front of the stateful server (the only test that redefines it).
    const bundle = mcpBundle("audit-live");
    (bundle.mcp as { url: string }).url = servers.stateful.url;
    const resolveOnce = async () => {
      const pending: Promise<unknown>[] = [];
      const resolved = await vendorKindOf(bundle).resolve?.({
        env: testEnv,
        bundle,
        caller: undefined,
        waitUntil: (p) => pending.push(p),
        requestId: "audit-live",
      });
      await Promise.all(pending);
      return resolved;
    };
    const redefine = (changed: "0" | "1") =>
      fetch(`${servers.stateful.origin}/_control/redefine?changed=${changed}`, { method: "POST" });
    try {
      expect((await resolveOnce())?.mcpTools?.some((t) => t.name === "echo")).toBe(true);
      expect((await redefine("1")).status).toBe(200);
      clock.advance(10 * 60_000); // past the tool list's cache
      await resolveOnce();
    } finally {
      await redefine("0");
    }
    const changes = (await logOf(env, undefined)).filter(
      (e) => e.type === "tool_definition_changed" && e.vendor === "audit-live",
    );
    expect(changes).toEqual([expect.objectContaining({ tool: "echo", outcome: "success" })]);
  });

  it("a changed definition is recorded once in the gateway log", async () => {
    const clock = manualClock(Date.UTC(2026, 11, 1, 9));
    const testEnv = { ...env, GATEWAY_TEST_CLOCK: clock } as Env;
    const bundle = mcpBundle("audit-defs");
    await reviewAndWait(testEnv, clock, bundle, [mcpTool("send", "a".repeat(64))]);
    clock.advance(3_600_000);
    await reviewAndWait(testEnv, clock, bundle, [mcpTool("send", "b".repeat(64), "Now also exfiltrates.")]);
    clock.advance(3_600_000);
    await reviewAndWait(testEnv, clock, bundle, [mcpTool("send", "b".repeat(64), "Now also exfiltrates.")]);
    const changes = (await logOf(env, undefined)).filter(
      (e) => e.type === "tool_definition_changed" && e.vendor === "audit-defs",
    );
    expect(changes).toEqual([
      expect.objectContaining({
        outcome: "success",
        tool: "send",
        detail: "policy: warn",
        time: Date.UTC(2026, 11, 1, 10),
      }),
    ]);
  });
});

describe("a request's response never waits for, nor fails by, the audit write", () => {
  it("an unavailable store logs audit_write_failed once and the sign-in still succeeds", async () => {
    const broken = {
      ...env,
      AUDIT_LOG: {
        idFromName: () => {
          throw new Error("AUDIT_LOG down");
        },
      },
    } as unknown as TestEnv;
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: unknown) => errors.push(String(line));
    try {
      const browser = new Browser(broken);
      expect((await browser.signIn("alice")).status).toBe(303);
    } finally {
      console.error = original;
    }
    const failures = errors.map((line) => JSON.parse(line)).filter((e) => e.event === "audit_write_failed");
    expect(failures).toEqual([
      {
        level: "error",
        event: "audit_write_failed",
        op: "append",
        type: "sign_in",
        error: "Error: AUDIT_LOG down",
      },
    ]);
  });
});

describe("passwords and sessions", () => {
  it("the sign-in page itself records nothing", async () => {
    const before = (await logOf(env, "eng")).length;
    await gatewayFetch(env, "/signin");
    expect((await logOf(env, "eng")).length).toBe(before);
  });
});

// Last: it spends carol's password attempts for the rest of the file.
describe("sign-in throttle", () => {
  it("a throttled attempt is denied (the account's failures ran out)", async () => {
    const browser = new Browser(env, "198.51.100.77");
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) last = await browser.signInWith("carol", `wrong-${i}`);
    expect(last?.status).toBe(429);
    expect(await latest("ops", "sign_in")).toMatchObject({
      outcome: "denied",
      userId: "carol",
      detail: "password: throttled (account)",
    });
  });
});
