/**
 * The demo MCP vendor's upstream: a small stateless MCP server (v2 SDK, `createMcpHandler`) that
 * `npm start` runs on 127.0.0.1:8789 beside the demo notes API, so the gateway fronts an MCP
 * server out of the box (vendor `demo-mcp`, `"mcp": {"url": "http://127.0.0.1:8789/mcp"}`).
 *
 * Tools: `current_time` (a time zone's wall clock), `word_count`, `convert_temperature` (with
 * structured output), `random_uuid`. Resource: `demo://about`.
 *
 * Run alone: `node_modules/.bin/node demo/mcp-upstream/server.ts [--port 8789]`.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import {
  type CallToolResult,
  createMcpHandler,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Tool,
} from "@modelcontextprotocol/server";

export const DEMO_MCP_PORT = 8789;
export const DEMO_MCP_PATH = "/mcp";
const HOST = "127.0.0.1";
/** Bounds `word_count`'s input: a demo, not a text-processing service. */
const MAX_TEXT_CHARS = 100_000;
const ABOUT_URI = "demo://about";

const TEMPERATURE_UNITS = ["celsius", "fahrenheit", "kelvin"] as const;
type TemperatureUnit = (typeof TEMPERATURE_UNITS)[number];

const TOOLS: Tool[] = [
  {
    name: "current_time",
    title: "Current time",
    description: "The current date and time in a time zone (IANA name, e.g. Europe/Paris; default UTC).",
    inputSchema: { type: "object", properties: { timeZone: { type: "string", default: "UTC" } } },
    outputSchema: {
      type: "object",
      properties: { iso: { type: "string" }, timeZone: { type: "string" }, local: { type: "string" } },
      required: ["iso", "timeZone", "local"],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: "word_count",
    title: "Count words",
    description: "Counts the words, characters and lines of a text.",
    inputSchema: {
      type: "object",
      properties: { text: { type: "string", maxLength: MAX_TEXT_CHARS } },
      required: ["text"],
    },
    outputSchema: {
      type: "object",
      properties: { words: { type: "integer" }, characters: { type: "integer" }, lines: { type: "integer" } },
      required: ["words", "characters", "lines"],
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  {
    name: "convert_temperature",
    title: "Convert a temperature",
    description: "Converts a temperature between celsius, fahrenheit and kelvin.",
    inputSchema: {
      type: "object",
      properties: {
        value: { type: "number" },
        from: { type: "string", enum: [...TEMPERATURE_UNITS] },
        to: { type: "string", enum: [...TEMPERATURE_UNITS] },
      },
      required: ["value", "from", "to"],
    },
    outputSchema: {
      type: "object",
      properties: { value: { type: "number" }, unit: { type: "string" } },
      required: ["value", "unit"],
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  {
    name: "random_uuid",
    title: "Random UUID",
    description: "A new random UUID (version 4).",
    inputSchema: { type: "object", properties: {} },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
];

function invalid(message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, message);
}

function structured(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value };
}

function toKelvin(value: number, unit: TemperatureUnit): number {
  if (unit === "celsius") return value + 273.15;
  if (unit === "fahrenheit") return ((value - 32) * 5) / 9 + 273.15;
  return value;
}

function fromKelvin(kelvin: number, unit: TemperatureUnit): number {
  if (unit === "celsius") return kelvin - 273.15;
  if (unit === "fahrenheit") return ((kelvin - 273.15) * 9) / 5 + 32;
  return kelvin;
}

const isUnit = (value: unknown): value is TemperatureUnit =>
  typeof value === "string" && (TEMPERATURE_UNITS as readonly string[]).includes(value);

function callTool(name: string, args: Record<string, unknown>): CallToolResult {
  switch (name) {
    case "current_time": {
      const timeZone = typeof args.timeZone === "string" ? args.timeZone : "UTC";
      const now = new Date();
      let local: string;
      try {
        local = now.toLocaleString("en-GB", { timeZone, dateStyle: "full", timeStyle: "long" });
      } catch {
        return { content: [{ type: "text", text: `Unknown time zone: ${timeZone}` }], isError: true };
      }
      return structured({ iso: now.toISOString(), timeZone, local });
    }
    case "word_count": {
      const { text } = args;
      if (typeof text !== "string") throw invalid("text must be a string");
      if (text.length > MAX_TEXT_CHARS) throw invalid(`text is longer than ${MAX_TEXT_CHARS} characters`);
      const words = text.split(/\s+/).filter((w) => w !== "").length;
      return structured({
        words,
        characters: [...text].length,
        lines: text === "" ? 0 : text.split("\n").length,
      });
    }
    case "convert_temperature": {
      const { value, from, to } = args;
      if (typeof value !== "number" || !Number.isFinite(value)) throw invalid("value must be a number");
      if (!isUnit(from) || !isUnit(to))
        throw invalid(`from and to must be one of ${TEMPERATURE_UNITS.join(", ")}`);
      const kelvin = toKelvin(value, from);
      if (kelvin < 0) return { content: [{ type: "text", text: "Below absolute zero." }], isError: true };
      return structured({ value: Math.round(fromKelvin(kelvin, to) * 100) / 100, unit: to });
    }
    case "random_uuid":
      return { content: [{ type: "text", text: randomUUID() }] };
    default:
      throw invalid(`Unknown tool: ${name}`);
  }
}

/** The demo server's MCP fetch handler (a new low-level SDK server per request). */
export function demoMcpHandler(): (request: Request) => Promise<Response> {
  const handler = createMcpHandler(() => {
    const server = new Server(
      { name: "demo-mcp-upstream", title: "Demo MCP upstream", version: "1.0.0" },
      { capabilities: { tools: { listChanged: false }, resources: {} } },
    );
    server.setRequestHandler("tools/list", () => ({ tools: TOOLS }));
    server.setRequestHandler("tools/call", (request) =>
      callTool(request.params.name, request.params.arguments ?? {}),
    );
    server.setRequestHandler("resources/list", () => ({
      resources: [{ uri: ABOUT_URI, name: "about", title: "About this server", mimeType: "text/markdown" }],
    }));
    server.setRequestHandler("resources/read", (request) => {
      if (request.params.uri !== ABOUT_URI) {
        throw new ProtocolError(
          ProtocolErrorCode.ResourceNotFound,
          `Resource not found: ${request.params.uri}`,
        );
      }
      return {
        contents: [
          {
            uri: ABOUT_URI,
            mimeType: "text/markdown",
            text: "# Demo MCP upstream\nA small MCP server `npm start` runs beside the gateway (demo/mcp-upstream).",
          },
        ],
      };
    });
    return server;
  });
  return async (request) => {
    if (new URL(request.url).pathname !== DEMO_MCP_PATH) {
      return Response.json({ error: "not_found", mcp: DEMO_MCP_PATH }, { status: 404 });
    }
    return handler.fetch(request);
  };
}

export interface DemoMcpServer {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Serves the demo MCP server on 127.0.0.1:`port` (0: any free port). */
export function startDemoMcpServer(port: number = DEMO_MCP_PORT): Promise<DemoMcpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: demoMcpHandler(), port, hostname: HOST }, (info: AddressInfo) => {
      resolve({
        url: `http://${HOST}:${info.port}${DEMO_MCP_PATH}`,
        port: info.port,
        stop: () =>
          new Promise<void>((done) => {
            (server as HttpServer).closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.once("error", reject);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string" } } });
  const demo = await startDemoMcpServer(values.port === undefined ? DEMO_MCP_PORT : Number(values.port));
  console.log(`demo MCP upstream at ${demo.url}`);
  const stop = () => void demo.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
