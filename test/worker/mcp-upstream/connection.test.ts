/**
 * The gateway's upstream MCP client inside workerd against real MCP servers built with the SDK
 * (test/support/mcp-upstream-server.ts). Every test marks its requests with a header its
 * authorizer adds, so the upstream's record of them can be told apart.
 */
import { describe, expect, inject, it } from "vitest";
import {
  MAX_UPSTREAM_SESSIONS,
  type McpAuthorizer,
  type McpConnectionOptions,
  type McpExchange,
  McpResponseError,
  mcpConnection,
  upstreamSessionCount,
} from "../../../src/mcp-upstream/connection.ts";
import { virtualClock } from "../../support/clocks.ts";
import { SSE_RETRY_MS } from "../../support/mcp-upstream-constants.ts";

const ORIGIN = inject("mcpUpstreamOrigin");
const SMALL_BUDGET_BYTES = 64 * 1024;

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  rpcMethod?: string;
}

/** A fresh run id, sent as `x-test-run` by {@link marker}. */
function runId(): string {
  return crypto.randomUUID();
}

/** An authorizer that only marks requests (the upstream needs no credential). */
function marker(run: string): McpAuthorizer {
  return {
    headers: async () => ({ "x-test-run": run }),
    challenged: async () => false,
    secrets: () => [],
  };
}

function connect(path: string, run: string, extra: Partial<McpConnectionOptions> = {}) {
  return mcpConnection({
    url: new URL(`${ORIGIN}${path}`),
    sessionKey: `test:${path}:${run}`,
    authorizer: marker(run),
    ...extra,
  });
}

/** What the upstream received in run `run`. */
async function requestsOf(run: string): Promise<Recorded[]> {
  const all = (await (await fetch(`${ORIGIN}/__requests?path=/`)).json()) as Recorded[];
  return all.filter((entry) => entry.headers["x-test-run"] === run);
}

const signal = () => new AbortController().signal;

function resultText(exchange: McpExchange): Record<string, unknown> {
  if (exchange.kind !== "result") throw new Error(`expected a result, got ${JSON.stringify(exchange)}`);
  const content = exchange.result.content as { text: string }[];
  return JSON.parse(content[0]?.text ?? "null") as Record<string, unknown>;
}

const echo = (connection: ReturnType<typeof mcpConnection>, args: Record<string, unknown> = {}) =>
  connection.request("tools/call", { name: "echo", arguments: args }, { signal: signal() });

describe("revision negotiation", () => {
  it("speaks 2026-07-28 to an upstream that offers it: server/discover, no session, envelope headers", async () => {
    const run = runId();
    const connection = connect("/modern", run);
    const echoed = resultText(await echo(connection, { x: 1 }));
    expect(echoed.arguments).toEqual({ x: 1 });
    expect(echoed.headers).toMatchObject({
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": "echo",
      "mcp-session-id": null,
    });
    expect(connection.protocolVersion()).toBe("2026-07-28");
    expect(connection.server()?.instructions).toBe("Test upstream for the gateway's MCP client.");
    expect((await requestsOf(run)).map((r) => r.rpcMethod)).toEqual(["server/discover", "tools/call"]);
  });

  it("falls back to initialize with a 2025 server, keeps its session id and sends the revision header", async () => {
    const run = runId();
    // A URL of its own: no earlier test told this isolate the upstream is a 2025 one.
    const connection = connect(`/stateful-json?fresh=${run}`, run);
    const first = resultText(await echo(connection));
    const second = resultText(await echo(connection));
    const headers = first.headers as Record<string, string | null>;
    expect(headers["mcp-protocol-version"]).toBe("2025-11-25");
    expect(headers["mcp-session-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect((second.headers as Record<string, string | null>)["mcp-session-id"]).toBe(
      headers["mcp-session-id"],
    );
    expect(connection.server()?.info).toEqual({ name: "test-upstream", version: "1.2.3" });
    expect((await requestsOf(run)).map((r) => r.rpcMethod)).toEqual([
      "server/discover",
      "initialize",
      "notifications/initialized",
      "tools/call",
      "tools/call",
    ]);
  });

  it("negotiates again, once, when a 2026-07-28 upstream refuses the revision it agreed to (-32022)", async () => {
    const run = runId();
    let refusals = 0;
    const connection = connect("/modern", run, {
      fetch: async (input, init) => {
        // The upstream was redeployed between discovery and the call: it refuses the first call.
        if (refusals === 0 && typeof init?.body === "string" && init.body.includes('"tools/call"')) {
          refusals++;
          return Response.json(
            {
              jsonrpc: "2.0",
              id: null,
              error: {
                code: -32022,
                message: "Unsupported protocol version",
                data: { supported: ["2026-07-28"] },
              },
            },
            { status: 400 },
          );
        }
        return fetch(input, init);
      },
    });
    expect(resultText(await echo(connection)).arguments).toEqual({});
    expect((await requestsOf(run)).map((r) => r.rpcMethod)).toEqual([
      "server/discover",
      "server/discover",
      "tools/call",
    ]);
  });

  it("hands back a 2026-07-28 upstream's 4xx with a JSON-RPC error body as that error", async () => {
    const connection = connect("/modern", runId());
    const exchange = await connection.request("no/such-method", {}, { signal: signal() });
    expect(exchange).toMatchObject({ kind: "error", error: { code: -32601 } });
  });

  it("accepts a 2025-03-26 counter-offer and sends no MCP-Protocol-Version header then", async () => {
    const run = runId();
    const connection = connect("/old", run);
    const echoed = resultText(await echo(connection));
    expect(connection.protocolVersion()).toBe("2025-03-26");
    expect((echoed.headers as Record<string, unknown>)["mcp-protocol-version"]).toBeNull();
    const sent = await requestsOf(run);
    const afterInit = sent.slice(sent.findIndex((r) => r.rpcMethod === "initialize") + 1);
    expect(afterInit.length).toBeGreaterThan(0);
    expect(afterInit.every((r) => r.headers["mcp-protocol-version"] === undefined)).toBe(true);
  });

  it("sends no session id to a stateless server", async () => {
    const run = runId();
    const connection = connect("/stateless", run);
    resultText(await echo(connection));
    resultText(await echo(connection));
    const sent = await requestsOf(run);
    expect(sent.some((r) => r.rpcMethod === "initialize")).toBe(true);
    expect(sent.every((r) => r.headers["mcp-session-id"] === undefined)).toBe(true);
  });
});

describe("sessions", () => {
  it("skips the server/discover probe for another owner's session with a known 2025 upstream", async () => {
    const url = `/stateless?fresh=${runId()}`;
    const first = runId();
    const second = runId();
    resultText(await echo(connect(url, first)));
    resultText(await echo(connect(url, second)));
    expect((await requestsOf(first)).map((r) => r.rpcMethod)).toContain("server/discover");
    expect((await requestsOf(second)).map((r) => r.rpcMethod)).toEqual([
      "initialize",
      "notifications/initialized",
      "tools/call",
    ]);
  });

  it("evicts the least recently used session past MAX_UPSTREAM_SESSIONS and DELETEs it upstream", async () => {
    const run = runId();
    const background: Promise<unknown>[] = [];
    const waitUntil = (promise: Promise<unknown>) => {
      background.push(promise);
    };
    const oldest = connect("/stateful-json", run, { waitUntil });
    const sessionId = (resultText(await echo(oldest)).headers as Record<string, string>)["mcp-session-id"];
    const filler = runId();
    // Six at a time: what workerd lets one invocation have open.
    for (let batch = 0; batch < MAX_UPSTREAM_SESSIONS; batch += 6) {
      const keys = Array.from({ length: Math.min(6, MAX_UPSTREAM_SESSIONS - batch) }, (_, i) => batch + i);
      const answers = await Promise.all(
        keys.map((i) =>
          mcpConnection({
            url: new URL(`${ORIGIN}/stateless`),
            sessionKey: `test:fill:${filler}:${i}`,
            authorizer: marker(filler),
            waitUntil,
          }).request("ping", undefined, { signal: signal() }),
        ),
      );
      expect(answers.every((answer) => answer.kind === "result")).toBe(true);
    }
    await Promise.all(background);
    expect(upstreamSessionCount()).toBe(MAX_UPSTREAM_SESSIONS);
    const deleted = (await requestsOf(run)).filter((r) => r.method === "DELETE");
    expect(deleted.map((r) => r.headers["mcp-session-id"])).toEqual([sessionId]);
    // The evicted owner's next call starts a new session, unseen.
    const again = resultText(await echo(oldest)).headers as Record<string, string>;
    expect(again["mcp-session-id"]).not.toBe(sessionId);
  }, 30_000);

  it("shares one initialisation between concurrent first requests for a key", async () => {
    const run = runId();
    const connection = connect("/stateful-json", run);
    const answers = await Promise.all([echo(connection), echo(connection), echo(connection)]);
    expect(answers.map((a) => a.kind)).toEqual(["result", "result", "result"]);
    const sent = await requestsOf(run);
    expect(sent.filter((r) => r.rpcMethod === "initialize")).toHaveLength(1);
    expect(
      new Set(sent.filter((r) => r.rpcMethod === "tools/call").map((r) => r.headers["mcp-session-id"])).size,
    ).toBe(1);
  });

  it("lets a request that joined another's initialisation end on its own signal, or go on when the starter is cancelled", async () => {
    const run = runId();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = true;
    const connection = connect("/stateful-json", run, {
      fetch: async (input, init) => {
        if (held && typeof init?.body === "string" && init.body.includes('"initialize"')) await gate;
        return fetch(input, init);
      },
    });
    const starter = new AbortController();
    const impatient = new AbortController();
    const started = connection.request("ping", undefined, { signal: starter.signal });
    const joined = connection.request("ping", undefined, { signal: impatient.signal });
    const patient = connection.request("ping", undefined, { signal: signal() });
    impatient.abort();
    await expect(joined).rejects.toMatchObject({ name: "AbortError" });
    starter.abort();
    held = false;
    release();
    await expect(started).rejects.toMatchObject({ name: "AbortError" });
    expect((await patient).kind).toBe("result");
  });

  it("initialises again and resends once when the upstream forgot the session (404)", async () => {
    const run = runId();
    const connection = connect("/stateful-sse", run);
    const before = (resultText(await echo(connection)).headers as Record<string, string>)["mcp-session-id"];
    expect((await fetch(`${ORIGIN}/stateful-sse/forget`, { method: "POST" })).status).toBe(204);
    const after = resultText(await echo(connection, { again: true }));
    expect(after.arguments).toEqual({ again: true });
    expect((after.headers as Record<string, string>)["mcp-session-id"]).not.toBe(before);
    const calls = (await requestsOf(run)).map((r) => r.rpcMethod);
    expect(calls.filter((m) => m === "initialize")).toHaveLength(2);
    // The forgotten session's call, then the same call in the new session.
    expect(calls.filter((m) => m === "tools/call")).toHaveLength(3);
  });

  it("gives up after one re-initialisation: an upstream that keeps forgetting gets its 404 back", async () => {
    const run = runId();
    const connection = connect("/stateful-json", run, {
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        // Forget every session right after it is confirmed, so each next call meets a 404.
        const body = typeof init?.body === "string" ? init.body : "";
        if (body.includes('"notifications/initialized"'))
          await fetch(`${ORIGIN}/stateful-json/forget`, { method: "POST" });
        return response;
      },
    });
    const exchange = await echo(connection);
    expect(exchange).toMatchObject({ kind: "http", status: 404 });
    expect((await requestsOf(run)).filter((r) => r.rpcMethod === "initialize")).toHaveLength(2);
  });
});

describe("streams", () => {
  it("forwards this request's progress notifications from an SSE answer, and nothing else", async () => {
    const run = runId();
    const connection = connect("/stateful-sse", run);
    const progress: Record<string, unknown>[] = [];
    const exchange = await connection.request(
      "tools/call",
      { name: "progress", arguments: {} },
      { signal: signal(), onProgress: (params) => progress.push(params) },
    );
    const token = resultText(exchange).token;
    expect(token).not.toBeNull();
    expect(progress).toEqual([
      { progressToken: token, progress: 1, total: 2 },
      { progressToken: token, progress: 2, total: 2 },
    ]);
  });

  it("resumes an SSE stream the upstream closed before the answer: GET with Last-Event-ID after its retry:", async () => {
    const run = runId();
    const clock = virtualClock();
    const connection = connect("/stateful-sse", run, { clock });
    const progress: unknown[] = [];
    const exchange = await connection.request(
      "tools/call",
      { name: "resume", arguments: {} },
      { signal: signal(), onProgress: (params) => progress.push(params.progress) },
    );
    expect(resultText(exchange)).toEqual({ resumed: true, closable: true });
    expect(progress).toEqual([1, 2]);
    expect(clock.sleeps).toEqual([SSE_RETRY_MS]);
    const resumed = (await requestsOf(run)).filter((r) => r.method === "GET");
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.headers["last-event-id"]).toBeTruthy();
  });

  it("answers a server-to-client request with -32601 by default, posted back to the upstream", async () => {
    const run = runId();
    const connection = connect("/stateful-sse", run);
    const exchange = await connection.request(
      "tools/call",
      { name: "ask", arguments: {} },
      { signal: signal() },
    );
    expect(resultText(exchange)).toEqual({ refused: -32601 });
  });

  it("answers a server-to-client request with what onServerRequest returns", async () => {
    const run = runId();
    const connection = connect("/stateful-sse", run);
    const asked: string[] = [];
    const exchange = await connection.request(
      "tools/call",
      { name: "ask", arguments: {} },
      {
        signal: signal(),
        onServerRequest: async (method) => {
          asked.push(method);
          return { result: { role: "assistant", content: { type: "text", text: "ok" }, model: "m" } };
        },
      },
    );
    expect(asked).toEqual(["sampling/createMessage"]);
    expect(resultText(exchange)).toMatchObject({ answered: { model: "m" } });
  });

  it.each(["json", "sse"])(
    "refuses a hostile upstream's oversized %s answer without reading it all",
    async (mode) => {
      const run = runId();
      const connection = connect(`/hostile/${mode}`, run, { maxResponseBytes: SMALL_BUDGET_BYTES });
      const failure = await echo(connection).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(McpResponseError);
      expect((failure as McpResponseError).code).toBe("response_too_large");
      expect((failure as McpResponseError).remote).toBe(true);
    },
  );

  it("parses an SSE answer with CRLF lines and multi-line data, cut anywhere", async () => {
    const run = runId();
    const connection = connect("/hostile/split", run);
    const progress: unknown[] = [];
    const exchange = await connection.request(
      "tools/call",
      { name: "echo", arguments: {} },
      { signal: signal(), onProgress: (params) => progress.push(params) },
    );
    expect(resultText(exchange)).toBe("café ✓");
    // Progress for another token is not this request's.
    expect(progress).toEqual([]);
  });

  it.each([
    ["html", "malformed_response"],
    ["wrong-id", "malformed_response"],
    ["requests", "malformed_response"],
  ])("refuses a hostile upstream's %s answer", async (mode, code) => {
    const connection = connect(`/hostile/${mode}`, runId());
    const failure = await echo(connection).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(McpResponseError);
    expect((failure as McpResponseError).code).toBe(code);
  });

  it("does not follow a redirect: the 3xx comes back as an http exchange", async () => {
    const run = runId();
    const exchange = await echo(connect("/hostile/redirect", run));
    expect(exchange).toMatchObject({ kind: "http", status: 307 });
  });

  it("throws the abort when the caller cancels a request in flight, and tells the upstream", async () => {
    const run = runId();
    const background: Promise<unknown>[] = [];
    const connection = connect("/stateful-sse", run, { waitUntil: (promise) => background.push(promise) });
    const controller = new AbortController();
    const pending = connection.request(
      "tools/call",
      { name: "wait", arguments: {} },
      { signal: controller.signal },
    );
    // Cancel once the upstream has the call (it answers only when cancelled).
    while (!(await requestsOf(run)).some((r) => r.rpcMethod === "tools/call")) {
      // each round trip to the record is the wait
    }
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    // A 2025 upstream is told to stop working on it.
    await Promise.all(background);
    expect((await requestsOf(run)).map((r) => r.rpcMethod)).toContain("notifications/cancelled");
  });
});

describe("credentials", () => {
  function bearer(run: string, refresh: boolean) {
    let token = "stale";
    const challenges: [number, string | null][] = [];
    const authorizer: McpAuthorizer = {
      headers: async () => ({ authorization: `Bearer ${token}`, "x-test-run": run }),
      challenged: async (status, wwwAuthenticate) => {
        challenges.push([status, wwwAuthenticate]);
        if (!refresh) return false;
        token = "good";
        return true;
      },
      secrets: () => [token],
    };
    return { authorizer, challenges };
  }

  it("retries once with fresh headers after a 401 the authorizer answered", async () => {
    const run = runId();
    const { authorizer, challenges } = bearer(run, true);
    const connection = connect("/auth/stateful-json", run, { authorizer });
    const echoed = resultText(await echo(connection));
    expect((echoed.headers as Record<string, string>).authorization).toBe("Bearer good");
    expect(challenges).toEqual([[401, expect.stringContaining("resource_metadata=")]]);
  });

  it("hands back the 401 when the authorizer gives up", async () => {
    const run = runId();
    const { authorizer, challenges } = bearer(run, false);
    const connection = connect("/auth/modern", run, { authorizer });
    const exchange = await echo(connection);
    expect(exchange).toMatchObject({ kind: "http", status: 401 });
    expect(exchange.kind === "http" && exchange.body).toContain("invalid_token");
    expect(challenges).toHaveLength(1);
  });

  it("treats 403 insufficient_scope as a challenge", async () => {
    const run = runId();
    const { authorizer, challenges } = bearer(run, true);
    const connection = connect("/auth/scope/modern", run, { authorizer });
    expect(resultText(await echo(connection)).headers).toMatchObject({ authorization: "Bearer good" });
    expect(challenges).toEqual([[403, expect.stringContaining("insufficient_scope")]]);
  });

  it("sends nothing but the authorizer's headers and the protocol's own", async () => {
    const run = runId();
    const connection = connect("/stateful-json", run);
    await echo(connection);
    const names = new Set((await requestsOf(run)).flatMap((r) => Object.keys(r.headers)));
    const unexpected = [...names].filter(
      (name) =>
        !/^(x-test-run|content-type|content-length|accept|accept-encoding|accept-language|host|connection|user-agent|cf-worker|sec-fetch-mode|mcp-session-id|mcp-protocol-version|mcp-method|mcp-name)$/.test(
          name,
        ),
    );
    expect(unexpected).toEqual([]);
  });
});

describe("failures", () => {
  it("returns a non-2xx answer at initialisation as an http exchange with a bounded body", async () => {
    const run = runId();
    const connection = connect("/no-such-endpoint", run);
    const exchange = await echo(connection);
    expect(exchange).toMatchObject({ kind: "http", status: 404 });
    expect(exchange.kind === "http" && exchange.body.length).toBeLessThanOrEqual(4096);
  });

  it("tells a header value the runtime refuses (nothing sent) from a network failure", async () => {
    const connection = mcpConnection({
      url: new URL(`${ORIGIN}/stateless`),
      sessionKey: `test:refused-header:${runId()}`,
      authorizer: {
        headers: async () => ({ authorization: "Bearer a\nb" }),
        challenged: async () => false,
        secrets: () => [],
      },
    });
    await expect(echo(connection)).rejects.toMatchObject({ name: "RequestNotSent" });
  });

  it("throws a network error for an upstream that is not there", async () => {
    const connection = mcpConnection({
      url: new URL("http://127.0.0.1:1/mcp"),
      sessionKey: `test:refused:${runId()}`,
    });
    await expect(echo(connection)).rejects.toThrow();
  });
});
