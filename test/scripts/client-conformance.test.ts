import { join } from "node:path";
import { expect, it } from "vitest";
import { runConformanceCli } from "../../scripts/conformance.ts";

/** The suite splits the command on spaces and runs it through a shell: relative paths from the root. */
const ADAPTER_COMMAND = `${join("node_modules", ".bin", "node")} ${join("scripts", "mcp-client-adapter.ts")}`;
/** Each scenario is a handful of requests (sse-retry waits its 500 ms `retry:`); room for a busy machine. */
const SCENARIO_TIMEOUT_MS = 60_000;

/** Client scenarios the gateway's upstream MCP client (src/mcp-upstream/connection.ts) passes. */
const CLIENT_SCENARIOS = ["initialize", "tools_call", "sse-retry"] as const;

// One after the other: sse-retry checks that its reconnect lands within 200 ms of `retry:`.
it.each(CLIENT_SCENARIOS)(
  "the upstream MCP client passes the conformance client scenario %s",
  async (scenario) => {
    const { code, output } = await runConformanceCli([
      "client",
      "--command",
      ADAPTER_COMMAND,
      "--scenario",
      scenario,
    ]);
    expect(output).toContain("OVERALL: PASSED");
    expect(output).not.toMatch(/FAILURE|WARNING/);
    expect(code, output).toBe(0);
  },
  SCENARIO_TIMEOUT_MS,
);
