import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CONFORMANCE = join("node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
/** The suite splits the command on spaces and runs it through a shell: relative paths from ROOT. */
const ADAPTER_COMMAND = `${join("node_modules", ".bin", "node")} ${join("scripts", "mcp-client-adapter.ts")}`;
/** Each scenario is a handful of requests (sse-retry waits its 500 ms `retry:`); room for a busy machine. */
const SCENARIO_TIMEOUT_MS = 60_000;

/** Client scenarios the gateway's upstream MCP client (src/mcp-upstream/connection.ts) passes. */
const CLIENT_SCENARIOS = ["initialize", "tools_call", "sse-retry"] as const;

function runClientScenario(scenario: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [CONFORMANCE, "client", "--command", ADAPTER_COMMAND, "--scenario", scenario],
      {
        cwd: ROOT,
        env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("close", (code) => resolve({ code, output }));
  });
}

// One after the other: sse-retry checks its reconnect lands within 200 ms of `retry:`.
it.each(CLIENT_SCENARIOS)(
  "the upstream MCP client passes the conformance client scenario %s",
  async (scenario) => {
    const { code, output } = await runClientScenario(scenario);
    expect(output).toContain("OVERALL: PASSED");
    expect(output).not.toMatch(/FAILURE|WARNING/);
    expect(code, output).toBe(0);
  },
  SCENARIO_TIMEOUT_MS,
);
