/**
 * vitest globalSetup of the `e2e` project (vitest.config.ts): compiles the mixed deployment
 * (`e2e-deployment.ts`) into `test/generated-e2e/` before any test file loads the Worker, and
 * starts its upstreams on ephemeral 127.0.0.1 ports, provided as `inject("e2eDeployment")` and as
 * the project's `DEMO_BASE_URL` / `<VENDOR>_MCP_URL` bindings.
 *
 * Each MCP vendor has a server of its own, so a test that fails, hangs or restarts one never
 * disturbs another file's vendor. server-everything is a devDependency: without it the setup fails.
 *
 * @module
 */
import type { TestProject } from "vitest/node";
import { compileDeployment, E2E_GENERATED_DIR, startDemoUpstream } from "./e2e-deployment.ts";
import { startEverythingServer } from "./mcp-servers/everything-server.ts";
import { startStatefulServer } from "./mcp-servers/stateful-server.ts";
import { startStatelessServer } from "./mcp-servers/stateless-server.ts";

/** An MCP endpoint and the origin of its `/_control/` routes. */
export interface E2eServer {
  url: string;
  origin: string;
}

export interface E2eDeployment {
  /** The demo vendor's base URL. */
  demo: string;
  stateless: E2eServer;
  restarting: E2eServer;
  flaky: E2eServer;
  everything: E2eServer;
}

declare module "vitest" {
  export interface ProvidedContext {
    e2eDeployment: E2eDeployment;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await compileDeployment(E2E_GENERATED_DIR);
  const [demo, stateless, restarting, flaky, everything] = await Promise.all([
    startDemoUpstream(),
    startStatelessServer(),
    startStatefulServer(),
    startStatelessServer(),
    startEverythingServer(),
  ]);
  const where = (s: E2eServer): E2eServer => ({ url: s.url, origin: s.origin });
  project.provide("e2eDeployment", {
    demo: demo.origin,
    stateless: where(stateless),
    restarting: where(restarting),
    flaky: where(flaky),
    everything: where(everything),
  });
  return async () => {
    await Promise.all([demo, stateless, restarting, flaky, everything].map((s) => s.stop()));
  };
}
