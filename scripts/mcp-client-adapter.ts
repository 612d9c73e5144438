/**
 * The gateway's upstream MCP client (src/mcp-upstream/connection.ts, the same code the Worker
 * runs) as a command-line client for the MCP conformance suite's client scenarios:
 *
 *   node node_modules/@modelcontextprotocol/conformance/dist/index.js client \
 *     --command "node scripts/mcp-client-adapter.ts" --scenario tools_call
 *
 * The suite starts a test server, then runs the command with the server's URL as the last
 * argument, the scenario in `MCP_CONFORMANCE_SCENARIO` and scenario data (client credentials…)
 * as JSON in `MCP_CONFORMANCE_CONTEXT`. Exits 0 when the scenario's exchange went through.
 *
 * Every scenario, the `auth/*` ones included, runs over the same connection; authorization plugs
 * in at {@link authorizerFor}, the one place that turns a scenario and its context into the
 * {@link McpAuthorizer} the connection uses (scripts/lib/conformance-authorizer.ts for `auth/*`).
 */
import { argv, env, exit, stderr } from "node:process";
import { type McpAuthorizer, type McpExchange, mcpConnection } from "../src/mcp-upstream/connection.ts";
import { type AuthScenarioContext, conformanceAuthorizer } from "./lib/conformance-authorizer.ts";

/** Longest one scenario may take here; the suite's own default timeout is 30 s. */
const SCENARIO_TIMEOUT_MS = 25_000;

/** Scenario context as the suite passes it (shape varies per scenario). */
type ScenarioContext = Record<string, unknown>;

/** The credential seam: a headless OAuth client for `auth/*` scenarios, none for the others. */
export function authorizerFor(
  url: URL,
  scenario: string,
  context: ScenarioContext,
): McpAuthorizer | undefined {
  return scenario.startsWith("auth/")
    ? conformanceAuthorizer(url, scenario, context as AuthScenarioContext)
    : undefined;
}

/** Arguments the scenarios' tools expect. */
const TOOL_ARGUMENTS: Record<string, Record<string, unknown>> = {
  add_numbers: { a: 5, b: 3 },
};

function expectResult(step: string, exchange: McpExchange): Record<string, unknown> {
  if (exchange.kind === "result") return exchange.result;
  const detail =
    exchange.kind === "error"
      ? `JSON-RPC error ${exchange.error.code}: ${exchange.error.message}`
      : `HTTP ${exchange.status}: ${exchange.body.slice(0, 200)}`;
  throw new Error(`${step} failed (${detail})`);
}

async function run(url: URL, scenario: string, context: ScenarioContext): Promise<void> {
  const authorizer = authorizerFor(url, scenario, context);
  const connection = mcpConnection({
    url,
    sessionKey: `conformance:${scenario}:${url.href}`,
    ...(authorizer === undefined ? {} : { authorizer }),
    clientInfo: { name: "mcp-edge-gateway-conformance", version: "1.0.0" },
  });
  const signal = AbortSignal.timeout(SCENARIO_TIMEOUT_MS);
  const listed = expectResult("tools/list", await connection.request("tools/list", {}, { signal }));
  const tools = Array.isArray(listed.tools) ? (listed.tools as { name?: unknown }[]) : [];
  // Scenarios whose server offers tools check that they were called (tools_call, sse-retry).
  for (const tool of tools) {
    if (typeof tool.name !== "string") continue;
    const result = expectResult(
      `tools/call ${tool.name}`,
      await connection.request(
        "tools/call",
        { name: tool.name, arguments: TOOL_ARGUMENTS[tool.name] ?? {} },
        { signal, onProgress: () => {} },
      ),
    );
    stderr.write(`${tool.name}: ${JSON.stringify(result).slice(0, 500)}\n`);
  }
  stderr.write(`negotiated ${connection.protocolVersion()}\n`);
}

const target = argv.at(-1);
const scenario = env.MCP_CONFORMANCE_SCENARIO ?? "";
if (target === undefined || !/^https?:\/\//.test(target)) {
  stderr.write("usage: mcp-client-adapter.ts <server-url> (MCP_CONFORMANCE_SCENARIO names the scenario)\n");
  exit(2);
}
const context =
  env.MCP_CONFORMANCE_CONTEXT === undefined
    ? {}
    : (JSON.parse(env.MCP_CONFORMANCE_CONTEXT) as ScenarioContext);
run(new URL(target), scenario, context).then(
  () => exit(0),
  (error: unknown) => {
    stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    exit(1);
  },
);
