import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { upstreamBindings } from "./test/support/upstream-bindings.ts";

/**
 * The gateway's info-level events (one `request` per request, one `tool_call` per tool call: src/log.ts)
 * are expected in every Worker test; printing them would bury what matters. Warnings and errors still show,
 * and tests that assert on events read them through console spies, which this does not affect.
 */
function quietInfoEvents(log: string): false | undefined {
  return log.startsWith('{"level":"info",') ? false : undefined;
}

// Two projects: the Node-only compiler and scripts run in Node; everything the
// Worker does runs inside real workerd through @cloudflare/vitest-plugin.
export default defineConfig({
  test: {
    onConsoleLog: quietInfoEvents,
    projects: [
      {
        test: {
          name: "node",
          include: ["test/scripts/**/*.test.ts", "test/e2e-node/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                GATEWAY_ENV: "test",
                // Client auth off for route tests; the auth tests pass their own env (test/worker/auth/).
                GATEWAY_AUTH: "none",
                ALLOWED_ORIGINS: "https://allowed.example",
                // Fixture vendors of the fault-injection suite (test/support/fault-upstream.ts).
                FAULTY_BASE_URL: inject("faultUpstreamUrl"),
                FAULTY_STRICT_BASE_URL: inject("faultUpstreamUrl"),
                REFUSED_BASE_URL: inject("refusedUpstreamUrl"),
                // Upstream fixture vendors (test/support/upstream-server.ts): base URLs and test secrets.
                ...upstreamBindings(inject("upstreamOrigin")),
                // MCP endpoint tests call the mcp-alpha fixture through the same echoing upstream.
                MCP_ALPHA_BASE_URL: `${inject("upstreamOrigin")}/mcp-alpha/api`,
                // Discovery-mode fixture (src/mcp/discovery.ts) on the same echoing upstream.
                MCP_DISCOVERY_BASE_URL: `${inject("upstreamOrigin")}/mcp-discovery/api`,
                // The upstream-MCP-server fixture vendor (test/support/mcp-upstream-server.ts): sessions, SSE.
                MCP_UP_MCP_URL: `${inject("mcpUpstreamOrigin")}/stateful-sse`,
                // The OAuth-protected upstream MCP server (test/support/mcp-servers/oauth-server.ts):
                // users connect it on the credentials page (test/e2e/mcp-oauth-vendor.test.ts).
                MCP_OAUTH_MCP_URL: inject("mcpServers").oauth.url,
              },
            },
          })),
        ],
        // Worker tests serve the fixture vendors compiled from test/fixtures/specs/ (npm test compiles them).
        resolve: {
          alias: { "#bundles": fileURLToPath(new URL("./test/generated/index.ts", import.meta.url)) },
        },
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts", "test/e2e/**/*.test.ts"],
          // The mixed deployment's tests serve another registry: the `e2e` project below.
          exclude: ["test/e2e/mcp-vendors/**"],
          // The Worker's modules load before the first test, not inside its timeout; every
          // request gets a virtual clock, so backoff and token waits are skipped (src/clock.ts).
          setupFiles: ["./test/support/load-worker.setup.ts", "./test/support/virtual-clock.setup.ts"],
          globalSetup: [
            "./test/support/fault-upstream.setup.ts",
            "./test/support/upstream-server.ts",
            "./test/support/auth-servers.ts",
            "./test/support/mcp-upstream-server.ts",
            // Upstream MCP servers for the MCP vendor kind (test/support/mcp-servers/).
            "./test/support/mcp-servers/setup.ts",
            "./test/support/mcp-auth-server.ts",
            // An upstream MCP server with resources, prompts, progress and client requests.
            "./test/support/mcp-feature-upstream.ts",
          ],
        },
      },
      {
        // A deployment as operators run it: the demo OpenAPI vendor beside MCP vendors, each in
        // front of a real local MCP server (test/support/e2e-deployment.ts). Its own registry
        // (compiled by the globalSetup into test/generated-e2e/), so the fixture vendors of the
        // workers project never see these upstreams.
        plugins: [
          cloudflareTest(({ inject }) => {
            const deployment = inject("e2eDeployment");
            return {
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  GATEWAY_ENV: "test",
                  GATEWAY_AUTH: "none",
                  // Lower than the default 5, to show an MCP vendor's breaker follows the setting.
                  CIRCUIT_BREAKER_FAILURE_THRESHOLD: "3",
                  DEMO_BASE_URL: deployment.demo,
                  STATELESS_MCP_URL: deployment.stateless.url,
                  // The organisation's bearer token for the stateless vendor (test/e2e/mcp-vendors/stateless.test.ts).
                  STATELESS_TOKEN: "e2e-upstream-token-4d1f",
                  RESTARTING_MCP_URL: deployment.restarting.url,
                  FLAKY_MCP_URL: deployment.flaky.url,
                  EVERYTHING_MCP_URL: deployment.everything.url,
                  EVERYTHING_SEARCH_MCP_URL: deployment.everything.url,
                },
              },
            };
          }),
        ],
        resolve: {
          alias: { "#bundles": fileURLToPath(new URL("./test/generated-e2e/index.ts", import.meta.url)) },
        },
        test: {
          name: "e2e",
          include: ["test/e2e/mcp-vendors/**/*.test.ts"],
          // One file at a time: the files share the upstream servers, whose faults a test switches.
          fileParallelism: false,
          setupFiles: ["./test/support/load-worker.setup.ts", "./test/support/virtual-clock.setup.ts"],
          globalSetup: ["./test/support/e2e-deployment.setup.ts"],
        },
      },
    ],
  },
});
