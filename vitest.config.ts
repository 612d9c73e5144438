import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: the Node-only compiler and scripts run in Node; everything the
// Worker does runs inside real workerd through @cloudflare/vitest-plugin.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/scripts/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest(() => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { GATEWAY_ENV: "test" },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts", "test/e2e/**/*.test.ts"],
        },
      },
    ],
  },
});
