/**
 * A real upstream MCP server for the "more than tools" tests (vitest globalSetup, runs in Node):
 * the v1 SDK's low-level `Server` behind its stateful streamable HTTP transport, with resources
 * (an MCP Apps `ui://` widget linked from a tool, a text note, a template), prompts, a tool that
 * reports progress, and tools that send the client requests a stateless gateway must refuse
 * (sampling, elicitation, roots) and say what came back.
 *
 * `/modern` is a 2026-07-28 server (the v2 SDK's `createMcpHandler`) whose `ask_name` tool (and
 * `confirm` prompt) asks for the user's name (a confirmation) as a multi round-trip request (an `InputRequiredResult` with an elicitation
 * and its own `requestState`), and answers once the retry brings both back.
 *
 * Provides `mcpFeatureUpstreamUrl` (its `/mcp` endpoint).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import {
  createMcpHandler,
  inputRequired,
  Server as ModernServer,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { TestProject } from "vitest/node";
import { listenOnLoopback } from "./local-http.ts";

declare module "vitest" {
  export interface ProvidedContext {
    mcpFeatureUpstreamUrl: string;
    mcpModernUpstreamUrl: string;
  }
}

/** What the fixture serves, shared with the tests that check it came through. */
export const FEATURE_FIXTURE = {
  widgetUri: "ui://board/widget.html",
  widgetHtml: "<!doctype html><title>board</title><p>board widget</p>",
  noteUri: "note://notes/hello",
  noteText: "hello from the upstream",
  templateUri: "note://notes/{name}",
  /** A resource larger than the smallest `MAX_RESPONSE_BYTES` (1024). */
  bigUri: "note://big/blob",
  /** The `requestState` the modern server's `ask_name` mints and checks on the retry. */
  upstreamState: "upstream-state-7",
  /** Progress notifications the `count` tool sends. */
  progressSteps: 3,
} as const;

const UI_MIME = "text/html;profile=mcp-app";

function featureServer(): Server {
  const server = new Server(
    { name: "feature-upstream", version: "1.0.0" },
    { capabilities: { tools: {}, resources: {}, prompts: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: "board",
        description: "Shows the board widget.",
        inputSchema: { type: "object", properties: {} },
        annotations: { readOnlyHint: true },
        _meta: {
          ui: { resourceUri: FEATURE_FIXTURE.widgetUri },
          "ui/resourceUri": FEATURE_FIXTURE.widgetUri,
        },
      },
      {
        name: "count",
        description: "Counts, reporting progress.",
        inputSchema: { type: "object", properties: {} },
        annotations: { readOnlyHint: true },
      },
      ...["sample", "elicit", "roots"].map((name) => ({
        name,
        description: `Sends a ${name} request to the client and reports the answer.`,
        inputSchema: { type: "object", properties: {} },
        annotations: { readOnlyHint: true },
      })),
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    if (name === "board") {
      return { content: [{ type: "resource_link", uri: FEATURE_FIXTURE.widgetUri, name: "board" }] };
    }
    if (name === "count") {
      const token = request.params._meta?.progressToken;
      for (let step = 1; step <= FEATURE_FIXTURE.progressSteps; step++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: {
              progressToken: token,
              progress: step,
              total: FEATURE_FIXTURE.progressSteps,
              message: `step ${step}`,
            },
          });
        }
      }
      return { content: [{ type: "text", text: `counted to ${FEATURE_FIXTURE.progressSteps}` }] };
    }
    const outgoing =
      name === "sample"
        ? {
            method: "sampling/createMessage" as const,
            params: { messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 5 },
          }
        : name === "elicit"
          ? {
              method: "elicitation/create" as const,
              params: { message: "Your name?", requestedSchema: { type: "object", properties: {} } },
            }
          : { method: "roots/list" as const, params: {} };
    try {
      // Sent whatever the client declared: the gateway must answer it, not leave it hanging.
      const schema =
        name === "sample"
          ? CreateMessageResultSchema
          : name === "elicit"
            ? ElicitResultSchema
            : ListRootsResultSchema;
      const answer = await extra.sendRequest(outgoing as never, schema);
      return { content: [{ type: "text", text: `answered: ${JSON.stringify(answer)}` }] };
    } catch (error) {
      return { content: [{ type: "text", text: `refused: ${(error as Error).message}` }] };
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [
      { uri: FEATURE_FIXTURE.widgetUri, name: "board widget", mimeType: UI_MIME },
      { uri: FEATURE_FIXTURE.noteUri, name: "hello note", mimeType: "text/plain", description: "A note." },
    ],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: FEATURE_FIXTURE.templateUri, name: "note", mimeType: "text/plain" }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const { uri } = request.params;
    if (uri === FEATURE_FIXTURE.widgetUri) {
      return { contents: [{ uri, mimeType: UI_MIME, text: FEATURE_FIXTURE.widgetHtml }] };
    }
    if (uri === FEATURE_FIXTURE.bigUri)
      return { contents: [{ uri, mimeType: "text/plain", text: "x".repeat(3000) }] };
    if (uri === FEATURE_FIXTURE.noteUri) {
      return { contents: [{ uri, mimeType: "text/plain", text: FEATURE_FIXTURE.noteText }] };
    }
    const match = /^note:\/\/notes\/([a-z0-9-]+)$/.exec(uri);
    if (match) return { contents: [{ uri, mimeType: "text/plain", text: `note ${match[1]}` }] };
    throw Object.assign(new Error(`Resource not found: ${uri}`), { code: -32002 });
  });
  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: [
      {
        name: "greet",
        description: "Greets someone.",
        arguments: [{ name: "who", description: "Whom to greet", required: true }],
      },
    ],
  }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    if (request.params.name === "leaky") {
      // A secret in JSON text, then more text than the smallest MAX_RESPONSE_BYTES allows.
      return {
        messages: [
          { role: "user", content: { type: "text", text: '{"password":"hunter2","ok":true}' } },
          { role: "assistant", content: { type: "text", text: "y".repeat(3000) } },
          { role: "user", content: { type: "text", text: "never reached" } },
        ],
      };
    }
    if (request.params.name !== "greet") throw new Error(`Unknown prompt: ${request.params.name}`);
    const who = request.params.arguments?.["who"] ?? "nobody";
    return {
      description: "A greeting",
      messages: [{ role: "user", content: { type: "text", text: `Say hello to ${who}.` } }],
    };
  });
  return server;
}

/** The 2026-07-28 server: `ask_name` asks for a name through a multi round-trip request. */
function modernServer(): ModernServer {
  const server = new ModernServer(
    { name: "modern-upstream", version: "1.0.0" },
    { capabilities: { tools: {}, prompts: {} } },
  );
  server.setRequestHandler("prompts/list", () => ({
    prompts: [{ name: "confirm", description: "Asks first." }],
  }));
  server.setRequestHandler("prompts/get", (_request, context) => {
    const ctx = context as ServerContext;
    const answer = ctx.mcpReq.inputResponses?.["go"] as { action?: string } | undefined;
    if (answer === undefined) {
      return inputRequired({
        inputRequests: {
          go: inputRequired.elicit({
            message: "Proceed?",
            requestedSchema: { type: "object", properties: {} },
          }),
        },
        requestState: FEATURE_FIXTURE.upstreamState,
      });
    }
    const text = `confirmed: ${String(answer.action)} (state: ${String(ctx.mcpReq.requestState<string>())})`;
    return { messages: [{ role: "user", content: { type: "text", text } }] };
  });
  server.setRequestHandler("tools/list", () => ({
    tools: [
      {
        name: "ask_name",
        description: "Asks the user for their name, then greets them.",
        inputSchema: { type: "object", properties: { greeting: { type: "string" } } },
        annotations: { readOnlyHint: true },
      },
    ],
  }));
  server.setRequestHandler("tools/call", (request, context) => {
    const ctx = context as ServerContext;
    const answer = ctx.mcpReq.inputResponses?.["name"] as
      | { action?: string; content?: { name?: unknown } }
      | undefined;
    if (answer === undefined) {
      return inputRequired({
        inputRequests: {
          name: inputRequired.elicit({
            message: "What is your name?",
            requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
          }),
        },
        requestState: FEATURE_FIXTURE.upstreamState,
      });
    }
    const state = ctx.mcpReq.requestState<string>();
    const greeting = (request.params.arguments as { greeting?: string } | undefined)?.greeting ?? "Hello";
    return {
      content: [
        { type: "text", text: `${greeting}, ${String(answer.content?.name)} (state: ${String(state)})` },
      ],
    };
  });
  return server;
}

export async function startFeatureUpstream() {
  const modern = createMcpHandler(() => modernServer(), { legacy: "stateless", responseMode: "auto" });
  const modernListener = getRequestListener((request) => modern.fetch(request));
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    if (req.url?.startsWith("/modern") === true) {
      void modernListener(req, res);
      return;
    }
    void (async () => {
      const sessionId = req.headers["mcp-session-id"];
      let transport = typeof sessionId === "string" ? transports.get(sessionId) : undefined;
      if (transport === undefined) {
        if (typeof sessionId === "string") {
          res.writeHead(404, { "content-type": "application/json" }).end('{"error":"unknown session"}');
          return;
        }
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id: string): void => {
            transports.set(id, created);
          },
        });
        await featureServer().connect(created);
        transport = created;
      }
      await (transport as StreamableHTTPServerTransport).handleRequest(req, res);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  const loopback = await listenOnLoopback(http);
  return { url: `${loopback.origin}/mcp`, modernUrl: `${loopback.origin}/modern`, close: loopback.close };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startFeatureUpstream();
  project.provide("mcpFeatureUpstreamUrl", upstream.url);
  project.provide("mcpModernUpstreamUrl", upstream.modernUrl);
  return upstream.close;
}
