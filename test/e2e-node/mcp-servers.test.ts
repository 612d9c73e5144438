/**
 * The upstream MCP servers the MCP vendor kind is tested against (test/support/mcp-servers/)
 * behave as their documentation says, checked with the v1 SDK client: what they list and
 * answer, that a restart forgets sessions (404), that the fail and hang switches work and are
 * undone, that the OAuth server refuses without a token and accepts after the whole flow.
 * Nothing here waits on time: slow and hanging calls are released by the test. Also the demo
 * MCP upstream `npm start` runs (demo/mcp-upstream).
 */
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from "@modelcontextprotocol/client";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DemoMcpServer, startDemoMcpServer } from "../../demo/mcp-upstream/server.ts";
import {
  MAX_COUNT,
  MCP_APP_MIME_TYPE,
  OVERSIZED_DESCRIPTION_BYTES,
  POISONED_ECHO_DESCRIPTION,
  WIDGET_URI,
} from "../support/mcp-servers/catalog.ts";
import { everythingEntry, startEverythingServer } from "../support/mcp-servers/everything-server.ts";
import { FAILURE_HTML } from "../support/mcp-servers/http-host.ts";
import {
  type OAuthMcpServer,
  OTHER_RESOURCE_PATH,
  SCOPE_ADMIN,
  SCOPE_READ,
  startOAuthServer,
} from "../support/mcp-servers/oauth-server.ts";
import { type StatefulMcpServer, startStatefulServer } from "../support/mcp-servers/stateful-server.ts";
import { type StatelessMcpServer, startStatelessServer } from "../support/mcp-servers/stateless-server.ts";
import { MemoryOAuthProvider } from "../support/oauth-client-provider.ts";

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
});

/** A client that answers elicitation with "yes" and sampling with "42" (when `answers`). */
async function connect(
  url: string,
  options: ConstructorParameters<typeof StreamableHTTPClientTransport>[1] = {},
  answers = false,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: "mcp-servers-test", version: "1.0.0" },
    answers ? { capabilities: { elicitation: { form: {} }, sampling: {} } } : {},
  );
  if (answers) {
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { confirm: true },
    }));
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: "assistant",
      model: "test-model",
      content: { type: "text", text: "42" },
    }));
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), options);
  clients.push(client);
  await client.connect(transport);
  return { client, transport };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const toolCall = (name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name, arguments: args },
});

describe("stateless SDK server", () => {
  let server: StatelessMcpServer;
  beforeAll(async () => {
    server = await startStatelessServer();
  });
  afterAll(() => server.stop());

  it("lists its tools with schemas, annotations and the MCP Apps link, and keeps no session", async () => {
    const { client, transport } = await connect(server.url);
    expect(transport.sessionId).toBeUndefined();
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining(["echo", "add", "read_note", "always_fails", "count_to", "wait_for_release"]),
    );
    expect(byName.add?.outputSchema).toMatchObject({ properties: { sum: { type: "number" } } });
    expect(byName.read_note?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.show_widget?._meta).toEqual({ ui: { resourceUri: WIDGET_URI } });
  });

  it("answers calls: structured content, a tool error, progress, and a call the test releases", async () => {
    const { client } = await connect(server.url);
    expect(await client.callTool({ name: "add", arguments: { a: 2, b: 3 } })).toMatchObject({
      structuredContent: { sum: 5 },
    });
    const failed = await client.callTool({ name: "always_fails", arguments: {} });
    expect(failed.isError).toBe(true);

    const progress: number[] = [];
    const counted = await client.callTool({ name: "count_to", arguments: { n: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(counted.content).toEqual([{ type: "text", text: "counted to 3" }]);
    expect(progress).toEqual([1, 2, 3]);
    await expect(client.callTool({ name: "count_to", arguments: { n: MAX_COUNT + 1 } })).rejects.toThrow(
      /n must be/,
    );

    let settled = false;
    const slow = client
      .callTool({ name: "wait_for_release", arguments: { key: "stateless-1" } })
      .finally(() => {
        settled = true;
      });
    await server.gates.arrived("stateless-1");
    expect(settled).toBe(false);
    server.gates.release("stateless-1");
    expect((await slow).content).toEqual([{ type: "text", text: "released stateless-1" }]);
  });

  it("serves resources, a template, the ui:// resource and a prompt", async () => {
    const { client } = await connect(server.url);
    const { resources } = await client.listResources();
    expect(resources.find((r) => r.uri === WIDGET_URI)?.mimeType).toBe(MCP_APP_MIME_TYPE);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["test://notes/{id}"]);
    const note = await client.readResource({ uri: "test://notes/2" });
    const [content] = note.contents;
    expect(content !== undefined && "text" in content && JSON.parse(content.text)).toMatchObject({
      id: "2",
      title: "Second",
    });
    const widget = await client.readResource({ uri: WIDGET_URI });
    expect(widget.contents[0]).toMatchObject({ mimeType: MCP_APP_MIME_TYPE });
    const prompt = await client.getPrompt({
      name: "summarize",
      arguments: { text: "a text", style: "detailed" },
    });
    expect(prompt.messages[0]?.content).toMatchObject({ text: "Write a detailed summary of:\na text" });
  });

  it("answers a plain JSON-RPC POST without a handshake (what the bench sends)", async () => {
    const res = await post(server.url, toolCall("echo", { text: "hi" }), {
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"text":"hi"');
  });

  it("asks 2026-07-28 clients for input with an InputRequiredResult, and tells 2025 clients it cannot", async () => {
    const modern = new ModernClient(
      { name: "mcp-servers-test", version: "1.0.0" },
      {
        capabilities: { elicitation: { form: {} }, sampling: {} },
        versionNegotiation: { mode: { pin: "2026-07-28" } },
      },
    );
    const asked: string[] = [];
    modern.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params.message);
      return { action: "accept", content: { confirm: true } };
    });
    modern.setRequestHandler("sampling/createMessage", async () => ({
      role: "assistant",
      model: "test-model",
      content: { type: "text", text: "42" },
    }));
    await modern.connect(new ModernTransport(new URL(server.url)));
    try {
      expect(modern.getNegotiatedProtocolVersion()).toBe("2026-07-28");
      const confirmed = await modern.callTool({ name: "confirm", arguments: { action: "deploy" } });
      expect(confirmed.content).toEqual([{ type: "text", text: "confirmed deploy" }]);
      expect(asked).toEqual(["Confirm: deploy?"]);
      const answered = await modern.callTool({ name: "ask_model", arguments: { question: "6 × 7?" } });
      expect(answered.content).toEqual([{ type: "text", text: "42" }]);
    } finally {
      await modern.close();
    }

    const { client } = await connect(server.url, {}, true);
    const refused = await client.callTool({ name: "confirm", arguments: { action: "deploy" } });
    expect(refused).toMatchObject({
      isError: true,
      content: [{ text: expect.stringMatching(/no sessions/) }],
    });
  });

  it("changes its tool definitions when the test says so (rug pull, poisoned and oversized descriptions)", async () => {
    const { client } = await connect(server.url);
    const listed = async () => Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t]));
    expect((await listed()).echo?.description).toBe("Returns the text it was given.");
    expect((await listed()).oversized).toBeUndefined();
    const redefine = (changed: "0" | "1") =>
      fetch(`${server.origin}/_control/redefine?changed=${changed}`, { method: "POST" });
    expect(await (await redefine("1")).json()).toEqual({ changed: true });
    const changed = await listed();
    expect(changed.echo?.description).toBe(POISONED_ECHO_DESCRIPTION);
    expect(changed.oversized?.description).toHaveLength(OVERSIZED_DESCRIPTION_BYTES);
    await redefine("0");
    expect((await listed()).oversized).toBeUndefined();
    await expect(client.callTool({ name: "oversized", arguments: {} })).rejects.toThrow(/Unknown tool/);
  });

  it("reports the headers it received", async () => {
    const { client } = await connect(server.url, {
      requestInit: { headers: { "x-upstream-key": "k-1", authorization: "Bearer upstream" } },
    });
    const result = await client.callTool({ name: "echo_headers", arguments: {} });
    expect(result.structuredContent).toMatchObject({
      headers: { "x-upstream-key": "k-1", authorization: "Bearer upstream" },
    });
  });
});

describe("stateful SDK server", () => {
  let server: StatefulMcpServer;
  beforeAll(async () => {
    server = await startStatefulServer();
  });
  afterAll(() => server.stop());
  afterEach(() => server.heal());

  it("keeps state per session, and forgets every session on restart (404) on the same port", async () => {
    const { client, transport } = await connect(server.url);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const count = async (c: Client) =>
      (await c.callTool({ name: "increment", arguments: {} })).structuredContent;
    expect(await count(client)).toEqual({ count: 1 });
    expect(await count(client)).toEqual({ count: 2 });
    expect(server.sessionIds()).toContain(transport.sessionId);

    const before = server.initializeCount();
    const port = server.port;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.sessionIds()).toEqual([]);
    const stale = await client.callTool({ name: "increment", arguments: {} }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StreamableHTTPError);
    expect((stale as StreamableHTTPError).code).toBe(404);

    const { client: again } = await connect(server.url);
    expect(await count(again)).toEqual({ count: 1 });
    expect(server.initializeCount()).toBe(before + 1);
  });

  it("sends elicitation and sampling requests to a 2025 client that declared them, and says so to one that did not", async () => {
    const { client } = await connect(server.url, {}, true);
    expect((await client.callTool({ name: "confirm", arguments: { action: "ship" } })).content).toEqual([
      { type: "text", text: "confirmed ship" },
    ]);
    expect((await client.callTool({ name: "ask_model", arguments: { question: "?" } })).content).toEqual([
      { type: "text", text: "42" },
    ]);
    const { client: plain } = await connect(server.url);
    const refused = await plain.callTool({ name: "confirm", arguments: { action: "ship" } });
    expect(refused).toMatchObject({
      isError: true,
      content: [{ text: expect.stringMatching(/Could not ask/) }],
    });
  });

  it("refuses a request without a session that is not initialize", async () => {
    const res = await post(server.url, toolCall("echo", { text: "x" }));
    expect(res.status).toBe(400);
  });

  it("fails with a 500 HTML page while failing, and serves again when healed", async () => {
    const { client } = await connect(server.url);
    server.fail();
    const res = await post(server.url, toolCall("echo", { text: "x" }));
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toBe(FAILURE_HTML);
    await expect(client.callTool({ name: "echo", arguments: { text: "x" } })).rejects.toThrow();
    server.heal();
    expect((await client.callTool({ name: "echo", arguments: { text: "back" } })).content).toEqual([
      { type: "text", text: "back" },
    ]);
  });

  it("holds requests while hanging until the test releases them", async () => {
    const { client } = await connect(server.url);
    server.hang();
    let settled = false;
    const call = client
      .callTool({ name: "echo", arguments: { text: "x" } })
      .then(
        () => "answered",
        () => "dropped",
      )
      .finally(() => {
        settled = true;
      });
    await server.hungRequests(1);
    expect(server.hungCount).toBe(1);
    expect(settled).toBe(false);
    server.releaseHung();
    expect(await call).toBe("dropped");
    expect(server.hungCount).toBe(0);
  });

  it("stalls: answers start as an event stream and no event follows until released", async () => {
    server.stall();
    // Unlike a hang, the answer's headers arrive: the client is left waiting on the body.
    const res = await post(server.url, toolCall("echo", { text: "x" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    let settled = false;
    const body = res.text().then(
      () => "ended",
      () => "dropped",
    );
    void body.finally(() => {
      settled = true;
    });
    await server.hungRequests(1);
    expect(settled).toBe(false);
    server.releaseHung();
    expect(await body).toBe("dropped");
  });

  it("fails with the status asked for, and refuses one that is not an error status", async () => {
    server.fail(502);
    expect((await post(server.url, toolCall("echo", { text: "x" }))).status).toBe(502);
    expect(() => server.fail(200)).toThrow(RangeError);
  });

  it("switches faults and restarts over HTTP too (for tests inside workerd)", async () => {
    const control = (name: string) => fetch(`${server.origin}/_control/${name}`, { method: "POST" });
    expect(await (await control("fail?status=503")).json()).toMatchObject({ mode: "fail" });
    expect((await post(server.url, toolCall("echo", { text: "x" }))).status).toBe(503);
    expect(await (await control("heal")).json()).toMatchObject({ mode: "serve" });

    const { transport } = await connect(server.url);
    expect(server.sessionIds()).toContain(transport.sessionId);
    expect((await control("restart")).status).toBe(200);
    // The restart runs once the answer is out; the next control request lands after it.
    const sessions = await (await control("sessions")).json();
    expect(sessions).toMatchObject({ sessions: [] });
    expect(await (await control("nope")).json()).toEqual({ error: "no control route nope" });
  });
});

/** The "browser": follows the authorization redirect and keeps the code. */
class AutoApprove extends MemoryOAuthProvider {
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrl = url;
    const res = await fetch(url, { redirect: "manual" });
    const location = new URL(res.headers.get("location") ?? "");
    this.authorizationCode = location.searchParams.get("code") ?? undefined;
  }
}

const REDIRECT = "http://127.0.0.1:1/callback";

/** Registration, authorization and token exchange by hand (for tokens the SDK client would not ask for). */
async function tokenFor(server: OAuthMcpServer, resource: string, scope: string): Promise<string> {
  const registered = (await (
    await post(`${server.origin}/register`, { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" })
  ).json()) as { client_id: string };
  const verifier = "v".repeat(43);
  const { createHash } = await import("node:crypto");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = new URL(`${server.origin}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: registered.client_id,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource,
    scope,
  })) {
    authorize.searchParams.set(k, v);
  }
  const redirected = await fetch(authorize, { redirect: "manual" });
  const code = new URL(redirected.headers.get("location") ?? "").searchParams.get("code") ?? "";
  const tokens = (await (
    await fetch(`${server.origin}/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: registered.client_id,
        resource,
      }),
    })
  ).json()) as { access_token: string };
  return tokens.access_token;
}

describe("OAuth-protected SDK server", () => {
  let server: OAuthMcpServer;
  beforeAll(async () => {
    server = await startOAuthServer();
  });
  afterAll(() => server.stop());

  it("refuses without a token and points at its protected resource metadata", async () => {
    const res = await post(server.url, toolCall("echo", { text: "x" }));
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain(`resource_metadata="${server.resourceMetadataUrl}"`);
    expect(challenge).toContain(`scope="${SCOPE_READ}"`);
    const prm = await (await fetch(server.resourceMetadataUrl)).json();
    expect(prm).toMatchObject({ resource: server.url, authorization_servers: [server.issuer] });
    const as = await (await fetch(`${server.origin}/.well-known/oauth-authorization-server`)).json();
    expect(as).toMatchObject({ issuer: server.issuer, code_challenge_methods_supported: ["S256"] });
  });

  it("accepts the SDK client after registration, PKCE and the token exchange; refreshes an expired token", async () => {
    const provider = new AutoApprove(REDIRECT, "servers test");
    const client = new Client({ name: "oauth-test", version: "1.0.0" });
    clients.push(client);
    const first = new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider });
    await expect(client.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.authorizationUrl?.searchParams.get("resource")).toBe(server.url);
    expect(provider.authorizationUrl?.searchParams.get("code_challenge_method")).toBe("S256");
    await first.finishAuth(provider.authorizationCode ?? "");

    const { client: authed } = await connect(server.url, { authProvider: provider });
    const who = await authed.callTool({ name: "whoami", arguments: {} });
    expect(who.structuredContent).toMatchObject({ scopes: [SCOPE_READ] });

    const issued = server.tokensIssued();
    const oldRefresh = provider.savedTokens?.refresh_token;
    server.expireAccessTokens();
    expect((await authed.callTool({ name: "echo", arguments: { text: "fresh" } })).content).toEqual([
      { type: "text", text: "fresh" },
    ]);
    expect(server.tokensIssued()).toBe(issued + 1);
    expect(provider.savedTokens?.refresh_token).not.toBe(oldRefresh);
  });

  it("answers 403 insufficient_scope for a tool that needs more scope, and accepts a token that has it", async () => {
    const readOnly = await tokenFor(server, server.url, SCOPE_READ);
    const refused = await post(server.url, toolCall("admin_action"), { authorization: `Bearer ${readOnly}` });
    expect(refused.status).toBe(403);
    const challenge = refused.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain(`scope="${SCOPE_READ} ${SCOPE_ADMIN}"`);

    const admin = await tokenFor(server, server.url, `${SCOPE_READ} ${SCOPE_ADMIN}`);
    const { client } = await connect(server.url, {
      requestInit: { headers: { authorization: `Bearer ${admin}` } },
    });
    expect((await client.callTool({ name: "admin_action", arguments: {} })).content).toEqual([
      { type: "text", text: "admin action done" },
    ]);
  });

  it("refuses a token issued for another resource", async () => {
    const other = await tokenFor(server, server.origin + OTHER_RESOURCE_PATH, SCOPE_READ);
    const res = await post(server.url, toolCall("echo", { text: "x" }), { authorization: `Bearer ${other}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });
});

describe.skipIf(everythingEntry() === undefined)("server-everything (streamable HTTP)", () => {
  it("serves its tools, resources and prompts on 127.0.0.1 and forgets sessions on restart", async () => {
    const server = await startEverythingServer();
    try {
      const { client } = await connect(server.url);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("echo");
      expect((await client.listResources()).resources.length).toBeGreaterThan(0);
      expect((await client.listPrompts()).prompts.length).toBeGreaterThan(0);
      await server.restart();
      const stale = await client.listTools().catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(Error);
    } finally {
      await server.stop();
    }
  });
});

describe("demo MCP upstream (npm start)", () => {
  let demo: DemoMcpServer;
  beforeAll(async () => {
    demo = await startDemoMcpServer(0);
  });
  afterAll(() => demo.stop());

  it("lists its tools and answers them, refusing bad input", async () => {
    const { client, transport } = await connect(demo.url);
    expect(transport.sessionId).toBeUndefined();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "convert_temperature",
      "current_time",
      "random_uuid",
      "word_count",
    ]);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    const words = await client.callTool({ name: "word_count", arguments: { text: "one two\nthree" } });
    expect(words.structuredContent).toEqual({ words: 3, characters: 13, lines: 2 });
    const boiling = await client.callTool({
      name: "convert_temperature",
      arguments: { value: 100, from: "celsius", to: "fahrenheit" },
    });
    expect(boiling.structuredContent).toEqual({ value: 212, unit: "fahrenheit" });
    const zone = await client.callTool({ name: "current_time", arguments: { timeZone: "Nowhere/Else" } });
    expect(zone).toMatchObject({ isError: true, content: [{ text: "Unknown time zone: Nowhere/Else" }] });
    const time = await client.callTool({ name: "current_time", arguments: { timeZone: "Europe/Paris" } });
    expect(time.structuredContent).toMatchObject({ timeZone: "Europe/Paris" });
    await expect(
      client.callTool({
        name: "convert_temperature",
        arguments: { value: 1, from: "celsius", to: "rankine" },
      }),
    ).rejects.toThrow(/from and to must be one of/);
  });

  it("answers 404 JSON off its MCP path", async () => {
    const res = await fetch(demo.url.replace(/\/mcp$/, "/other"));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });
});
