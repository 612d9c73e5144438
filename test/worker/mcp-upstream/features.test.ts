/**
 * Resources, prompts, progress and server-to-client requests of upstream MCP servers, through the
 * real Worker to a real SDK server (test/support/mcp-feature-upstream.ts) fronted as two vendors.
 */
import { env as baseEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SERVER_REQUEST_REFUSAL } from "../../../src/mcp-upstream/server-requests.ts";
import { FEATURE_FIXTURE } from "../../support/mcp-feature-upstream.ts";
import { authEnv, type TestEnv, tokensFor } from "../auth/helpers.ts";
import { featureFetch } from "./feature-gateway.ts";

const LEGACY = "2025-11-25";
const ACCEPT_BOTH = "application/json, text/event-stream";
let nextId = 1;

interface RpcMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

interface RpcOptions {
  accept?: string;
  token?: string;
  env?: TestEnv;
  /** Send as a 2026-07-28 request (per-request `_meta` envelope, `Mcp-Method` / `Mcp-Name`). */
  modern?: { name?: string; capabilities?: Record<string, unknown> };
}

const MODERN = "2026-07-28";

/** Every JSON-RPC message of the answer (one JSON body, or each SSE `data:` event). */
async function exchange(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  options: RpcOptions = {},
): Promise<{ status: number; type: string; messages: RpcMessage[] }> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: options.accept ?? ACCEPT_BOTH,
    "mcp-protocol-version": options.modern === undefined ? LEGACY : MODERN,
  };
  let sent = params;
  if (options.modern !== undefined) {
    headers["mcp-method"] = method;
    if (options.modern.name !== undefined) headers["mcp-name"] = options.modern.name;
    sent = {
      ...params,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": options.modern.capabilities ?? {},
        "io.modelcontextprotocol/clientInfo": { name: "feature-tests", version: "1.0.0" },
      },
    };
  }
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  const request = new Request(`https://gw.test${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params: sent }),
  });
  const res = await featureFetch(request, options.env);
  const type = res.headers.get("content-type") ?? "";
  const text = await res.text();
  const messages = type.includes("text/event-stream")
    ? text
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trim())
        .filter((data) => data !== "")
        .map((data) => JSON.parse(data) as RpcMessage)
    : [JSON.parse(text) as RpcMessage];
  return { status: res.status, type, messages };
}

/** The response of a request (the last message). */
async function rpc(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  options: RpcOptions = {},
) {
  const { messages } = await exchange(path, method, params, options);
  const last = messages.at(-1);
  if (last === undefined) throw new Error("no answer");
  return last;
}

async function result<T = Record<string, unknown>>(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  options: RpcOptions = {},
): Promise<T> {
  const answer = await rpc(path, method, params, options);
  if (answer.result === undefined) throw new Error(`${method}: ${JSON.stringify(answer)}`);
  return answer.result as T;
}

const INITIALIZE = {
  protocolVersion: LEGACY,
  capabilities: {},
  clientInfo: { name: "feature-tests", version: "1.0.0" },
};

interface Resource {
  uri: string;
  name: string;
  mimeType?: string;
}

describe("resources and prompts on /v1/<vendor>/mcp", () => {
  it("declares the upstream's resources and prompts and serves them as the upstream names them", async () => {
    const init = await result<{ capabilities: Record<string, unknown> }>(
      "/v1/mcp-feat/mcp",
      "initialize",
      INITIALIZE,
    );
    expect(init.capabilities).toMatchObject({ tools: {}, resources: {}, prompts: {} });

    const listed = await result<{ resources: Resource[] }>("/v1/mcp-feat/mcp", "resources/list");
    expect(listed.resources.map((r) => r.uri)).toEqual([FEATURE_FIXTURE.widgetUri, FEATURE_FIXTURE.noteUri]);

    const templates = await result<{ resourceTemplates: { uriTemplate: string }[] }>(
      "/v1/mcp-feat/mcp",
      "resources/templates/list",
    );
    expect(templates.resourceTemplates).toEqual([
      expect.objectContaining({ uriTemplate: FEATURE_FIXTURE.templateUri, name: "note" }),
    ]);

    const note = await result<{ contents: { uri: string; text: string }[] }>(
      "/v1/mcp-feat/mcp",
      "resources/read",
      {
        uri: FEATURE_FIXTURE.noteUri,
      },
    );
    expect(note.contents).toEqual([
      { uri: FEATURE_FIXTURE.noteUri, mimeType: "text/plain", text: FEATURE_FIXTURE.noteText },
    ]);

    const prompts = await result<{ prompts: { name: string }[] }>("/v1/mcp-feat/mcp", "prompts/list");
    expect(prompts.prompts).toEqual([
      {
        name: "greet",
        description: "Greets someone.",
        arguments: [{ name: "who", description: "Whom to greet", required: true }],
      },
    ]);
    const prompt = await result<{ messages: unknown[] }>("/v1/mcp-feat/mcp", "prompts/get", {
      name: "greet",
      arguments: { who: "Ada" },
    });
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "Say hello to Ada." } }]);
  });

  it("passes the upstream's not-found error on as a JSON-RPC error", async () => {
    const answer = await rpc("/v1/mcp-feat/mcp", "resources/read", { uri: "note://elsewhere/x y" });
    // The upstream's -32002, as the SDK sends it since 2025-11-25: -32602.
    expect(answer.error?.code).toBe(-32602);
    expect(answer.error?.message).toContain("Resource not found: note://elsewhere/x y");
    expect(answer.error?.data).toMatchObject({ vendor: "mcp-feat", error: "upstream_error" });
  });
});

describe("answers made safe", () => {
  const strict = {
    ...(baseEnv as TestEnv),
    MAX_RESPONSE_BYTES: "1024",
    SANITIZATION_LEVEL: "HIGH",
  } as TestEnv;

  it("refuses a resource larger than MAX_RESPONSE_BYTES whole", async () => {
    const answer = await rpc(
      "/v1/mcp-feat/mcp",
      "resources/read",
      { uri: FEATURE_FIXTURE.bigUri },
      { env: strict },
    );
    expect(answer.error?.code).toBe(-32603);
    expect(answer.error?.message).toContain("larger than the gateway's 1024-byte limit");
    expect(answer.error?.data).toMatchObject({ vendor: "mcp-feat", error: "upstream_error" });
  });

  it("sanitises prompt messages and bounds them with one budget", async () => {
    const prompt = await result<{ messages: { role: string; content: { text: string } }[] }>(
      "/v1/mcp-feat/mcp",
      "prompts/get",
      { name: "leaky" },
      { env: strict },
    );
    const texts = prompt.messages.map((m) => m.content.text);
    expect(texts[0]).toBe('{"password":"[REDACTED]","ok":true}');
    expect(texts[1]).toMatch(/^y+\n\[truncated: the answer is larger than the gateway's 1024-byte limit\]$/);
    expect(texts[2]).toBe("[gateway: 1 content item(s) left out: unknown type or over the size limit]");
    expect(JSON.stringify(prompt)).not.toContain("hunter2");
    expect(JSON.stringify(prompt)).not.toContain("never reached");
  });
});

describe("2026-07-28 clients", () => {
  it("discover the features and read resources and prompts without a handshake", async () => {
    const discovered = await result<{ capabilities: Record<string, unknown> }>(
      "/v1/mcp",
      "server/discover",
      {},
      { modern: {} },
    );
    expect(discovered.capabilities).toMatchObject({ tools: {}, resources: {}, prompts: {} });
    const uri = `mcp-gw://mcp-feat/${FEATURE_FIXTURE.noteUri}`;
    const read = await result<{ contents: { uri: string; text: string }[] }>(
      "/v1/mcp",
      "resources/read",
      { uri },
      { modern: { name: uri } },
    );
    expect(read.contents).toEqual([{ uri, mimeType: "text/plain", text: FEATURE_FIXTURE.noteText }]);
    const prompt = await result<{ messages: { content: { text: string } }[] }>(
      "/v1/mcp-feat/mcp",
      "prompts/get",
      { name: "greet", arguments: { who: "Lin" } },
      { modern: { name: "greet" } },
    );
    expect(prompt.messages[0]?.content.text).toBe("Say hello to Lin.");
  });
});

describe("resources and prompts on /v1/mcp", () => {
  const widget = (vendor: string) => `ui://${vendor}/${FEATURE_FIXTURE.widgetUri.slice("ui://".length)}`;
  const note = (vendor: string) => `mcp-gw://${vendor}/${FEATURE_FIXTURE.noteUri}`;

  it("lists every vendor's resources under URIs that name the vendor, one vendor per page", async () => {
    const first = await result<{ resources: Resource[]; nextCursor?: string }>("/v1/mcp", "resources/list");
    expect(first.resources.map((r) => r.uri)).toEqual([widget("mcp-feat"), note("mcp-feat")]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await result<{ resources: Resource[]; nextCursor?: string }>("/v1/mcp", "resources/list", {
      cursor: first.nextCursor,
    });
    expect(second.resources.map((r) => r.uri)).toEqual([widget("mcp-feat-two"), note("mcp-feat-two")]);
    expect(second.nextCursor).toBeUndefined();

    const bad = await rpc("/v1/mcp", "resources/list", { cursor: "bm90IGEgY3Vyc29y" });
    expect(bad.error?.code).toBe(-32602);
  });

  it("links a tool to its ui:// widget under the vendor, and reads it through the gateway", async () => {
    const listed: { name: string; _meta?: Record<string, unknown> }[] = [];
    let cursor: string | undefined;
    do {
      const page: { tools: { name: string; _meta?: Record<string, unknown> }[]; nextCursor?: string } =
        await result("/v1/mcp", "tools/list", cursor === undefined ? {} : { cursor });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const board = listed.find((tool) => tool.name === "mcp-feat_board");
    expect(board?._meta).toEqual({
      ui: { resourceUri: widget("mcp-feat") },
      "ui/resourceUri": widget("mcp-feat"),
    });
    // The vendor endpoint lists the upstream's own link.
    const own = await result<{ tools: { name: string; _meta?: Record<string, unknown> }[] }>(
      "/v1/mcp-feat/mcp",
      "tools/list",
    );
    expect(own.tools.find((tool) => tool.name === "board")?._meta).toEqual({
      ui: { resourceUri: FEATURE_FIXTURE.widgetUri },
      "ui/resourceUri": FEATURE_FIXTURE.widgetUri,
    });

    const read = await result<{ contents: { uri: string; mimeType: string; text: string }[] }>(
      "/v1/mcp",
      "resources/read",
      { uri: widget("mcp-feat") },
    );
    expect(read.contents).toEqual([
      { uri: widget("mcp-feat"), mimeType: "text/html;profile=mcp-app", text: FEATURE_FIXTURE.widgetHtml },
    ]);

    // The tool's result links the widget the same way.
    const called = await result<{ content: { type: string; uri?: string }[] }>("/v1/mcp", "tools/call", {
      name: "mcp-feat_board",
      arguments: {},
    });
    expect(called.content).toEqual([{ type: "resource_link", uri: widget("mcp-feat"), name: "board" }]);
  });

  it("wraps URI templates so their expansions read through the gateway", async () => {
    const templates = await result<{ resourceTemplates: { uriTemplate: string }[]; nextCursor?: string }>(
      "/v1/mcp",
      "resources/templates/list",
    );
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      `mcp-gw://mcp-feat/${FEATURE_FIXTURE.templateUri}`,
    ]);
    const expanded = `mcp-gw://mcp-feat-two/${FEATURE_FIXTURE.templateUri.replace("{name}", "abc")}`;
    const read = await result<{ contents: { uri: string; text: string }[] }>("/v1/mcp", "resources/read", {
      uri: expanded,
    });
    expect(read.contents).toEqual([{ uri: expanded, mimeType: "text/plain", text: "note abc" }]);

    for (const uri of [
      FEATURE_FIXTURE.noteUri,
      "mcp-gw://no-such-vendor/note://notes/x",
      "mcp-gw://mcp-feat",
    ]) {
      const answer = await rpc("/v1/mcp", "resources/read", { uri });
      expect(answer.error?.code, uri).toBe(-32602);
      expect(answer.error?.message, uri).toBe("Resource not found");
    }
  });

  it("prefixes prompt names with the vendor and routes prompts/get by them", async () => {
    const first = await result<{ prompts: { name: string }[]; nextCursor?: string }>(
      "/v1/mcp",
      "prompts/list",
    );
    expect(first.prompts.map((p) => p.name)).toEqual(["mcp-feat_greet"]);
    const second = await result<{ prompts: { name: string }[] }>("/v1/mcp", "prompts/list", {
      cursor: first.nextCursor,
    });
    expect(second.prompts.map((p) => p.name)).toEqual(["mcp-feat-two_greet"]);

    const prompt = await result<{ messages: { content: { text: string } }[] }>("/v1/mcp", "prompts/get", {
      name: "mcp-feat-two_greet",
      arguments: { who: "Grace" },
    });
    expect(prompt.messages[0]?.content.text).toBe("Say hello to Grace.");
    const unknown = await rpc("/v1/mcp", "prompts/get", { name: "greet" });
    expect(unknown.error?.code).toBe(-32602);
  });
});

describe("progress", () => {
  it("passes the upstream's progress to a client that takes SSE, under the client's token", async () => {
    const { type, messages } = await exchange(
      "/v1/mcp",
      "tools/call",
      { name: "mcp-feat_count", arguments: {}, _meta: { progressToken: "client-token-7" } },
      { accept: "text/event-stream" },
    );
    expect(type).toContain("text/event-stream");
    const progress = messages.filter((m) => m.method === "notifications/progress").map((m) => m.params);
    expect(progress).toEqual(
      Array.from({ length: FEATURE_FIXTURE.progressSteps }, (_, i) => ({
        progressToken: "client-token-7",
        progress: i + 1,
        total: FEATURE_FIXTURE.progressSteps,
        message: `step ${i + 1}`,
      })),
    );
    expect(messages.at(-1)?.result).toMatchObject({ content: [{ type: "text", text: "counted to 3" }] });
  });

  it("answers a JSON client with the result alone", async () => {
    const { type, messages } = await exchange(
      "/v1/mcp-feat/mcp",
      "tools/call",
      { name: "count", arguments: {}, _meta: { progressToken: 5 } },
      { accept: "application/json" },
    );
    expect(type).toContain("application/json");
    expect(messages).toHaveLength(1);
    expect(messages[0]?.result).toMatchObject({ content: [{ type: "text", text: "counted to 3" }] });
  });
});

describe("requests from the upstream to the client", () => {
  it.each(["sample", "elicit", "roots"])(
    "%s: refused with the documented error while the call completes",
    async (tool) => {
      const answer = await result<{ content: { type: string; text: string }[]; isError?: boolean }>(
        "/v1/mcp-feat/mcp",
        "tools/call",
        { name: tool, arguments: {} },
      );
      expect(answer.isError).toBeUndefined();
      const text = answer.content[0]?.text ?? "";
      expect(text).toMatch(/^refused: /);
      expect(text).toContain(SERVER_REQUEST_REFUSAL);
    },
  );
});

describe("multi round-trip requests (2026-07-28 on both sides)", () => {
  const keyed = { ...(baseEnv as TestEnv), CREDENTIALS_ENCRYPTION_KEY: "k".repeat(40) } as TestEnv;
  const ELICITING = { name: "ask_name", capabilities: { elicitation: {} } };
  type Answer = {
    resultType?: string;
    inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
    requestState?: string;
    content?: { type: string; text: string }[];
    isError?: boolean;
  };
  const call = (params: Record<string, unknown>, modern: RpcOptions["modern"] = ELICITING, env = keyed) =>
    result<Answer>("/v1/mcp-modern/mcp", "tools/call", { name: "ask_name", ...params }, { env, modern });

  it("relays the upstream's elicitation with its state sealed, and the retry completes the call", async () => {
    const first = await call({ arguments: { greeting: "Hi" } });
    expect(first.resultType).toBe("input_required");
    expect(first.inputRequests?.["name"]?.method).toBe("elicitation/create");
    expect(first.inputRequests?.["name"]?.params["message"]).toBe("What is your name?");
    const state = first.requestState ?? "";
    expect(state).not.toContain(FEATURE_FIXTURE.upstreamState);
    expect(atob(state.split(".")[1]?.replaceAll("-", "+").replaceAll("_", "/") ?? "")).not.toContain(
      "upstream-state",
    );

    const responses = { name: { action: "accept", content: { name: "Ada" } } };
    const done = await call({
      arguments: { greeting: "Hi" },
      inputResponses: responses,
      requestState: state,
    });
    expect(done.content).toEqual([
      { type: "text", text: `Hi, Ada (state: ${FEATURE_FIXTURE.upstreamState})` },
    ]);

    // Bound to the call: other arguments, a changed state, or another vendor's tool do not open it.
    for (const retry of [
      { arguments: { greeting: "Yo" }, inputResponses: responses, requestState: state },
      { arguments: { greeting: "Hi" }, inputResponses: responses, requestState: `${state.slice(0, -2)}AA` },
      { arguments: { greeting: "Hi" }, inputResponses: responses },
    ]) {
      const refused = await call(retry);
      expect(refused.isError, JSON.stringify(retry)).toBe(true);
      expect(refused.content?.[0]?.text).toContain('"error":"invalid_arguments"');
      expect(refused.content?.[0]?.text).toContain("requestState");
    }
  });

  it("relays it for prompts/get on /v1/mcp too, bound to the prompt", async () => {
    const modern = { name: "mcp-modern_confirm", capabilities: { elicitation: {} } };
    const first = await result<Answer>(
      "/v1/mcp",
      "prompts/get",
      { name: "mcp-modern_confirm" },
      { env: keyed, modern },
    );
    expect(first.resultType).toBe("input_required");
    expect(first.inputRequests?.["go"]?.params["message"]).toBe("Proceed?");
    const retry = { name: "mcp-modern_confirm", inputResponses: { go: { action: "accept", content: {} } } };
    const done = await result<{ messages: { content: { text: string } }[] }>(
      "/v1/mcp",
      "prompts/get",
      { ...retry, requestState: first.requestState },
      { env: keyed, modern },
    );
    expect(done.messages[0]?.content.text).toBe(
      `confirmed: accept (state: ${FEATURE_FIXTURE.upstreamState})`,
    );
    // A tool call's state does not open a prompt's.
    const toolState = (await call({ arguments: {} })).requestState;
    const refused = await rpc(
      "/v1/mcp",
      "prompts/get",
      { ...retry, requestState: toolState },
      { env: keyed, modern },
    );
    expect(refused.error?.data).toMatchObject({ error: "invalid_arguments", vendor: "mcp-modern" });
  });

  it("declares no elicitation upstream when it cannot relay it: no client capability, a 2025 client, no sealing key", async () => {
    for (const [label, answer] of [
      ["no capability", await call({ arguments: {} }, { name: "ask_name" })],
      ["no key", await call({ arguments: {} }, ELICITING, baseEnv as TestEnv)],
      [
        "2025 client",
        await result<Answer>("/v1/mcp-modern/mcp", "tools/call", { name: "ask_name", arguments: {} }),
      ],
    ] as const) {
      expect(answer.resultType, label).not.toBe("input_required");
      expect(answer.isError, label).toBe(true);
      // The gateway declared no elicitation upstream, so the upstream itself refused to ask.
      expect(answer.content?.[0]?.text, label).toContain("do not declare the required capability");
    }
  });
});

describe("visibility", () => {
  it("hides a vendor outside the team allowlist: no capabilities, no listing, no reads", async () => {
    const env = await authEnv();
    const carol = await tokensFor(env, "carol");
    const dave = await tokensFor(env, "dave");
    const hidden = await result<{ capabilities: Record<string, unknown> }>(
      "/v1/mcp",
      "initialize",
      INITIALIZE,
      {
        env,
        token: carol.access_token,
      },
    );
    expect(hidden.capabilities["resources"]).toBeUndefined();
    expect(hidden.capabilities["prompts"]).toBeUndefined();
    const listed = await rpc("/v1/mcp", "resources/list", {}, { env, token: carol.access_token });
    expect(listed.error?.code).toBe(-32601);
    const read = await rpc(
      "/v1/mcp",
      "prompts/get",
      { name: "mcp-feat_greet" },
      { env, token: carol.access_token },
    );
    expect(read.error?.code).toBe(-32601);

    const shown = await result<{ capabilities: Record<string, unknown> }>(
      "/v1/mcp",
      "initialize",
      INITIALIZE,
      {
        env,
        token: dave.access_token,
      },
    );
    expect(shown.capabilities).toMatchObject({ resources: {}, prompts: {} });
    const daveList = await result<{ resources: Resource[] }>(
      "/v1/mcp",
      "resources/list",
      {},
      {
        env,
        token: dave.access_token,
      },
    );
    expect(daveList.resources.length).toBeGreaterThan(0);
  });
});
