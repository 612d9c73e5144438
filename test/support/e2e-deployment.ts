/**
 * The mixed deployment the end-to-end tests drive: the demo OpenAPI vendor (`specs/demo/`, its
 * upstream `demo/upstream/worker.ts` hosted in Node) beside MCP vendors
 * (`test/fixtures/e2e-specs/<vendor>/vendor.json` with `"mcp": {"url": …}`), each pointed at a
 * real local MCP server (`test/support/mcp-servers/`) through `<VENDOR>_MCP_URL`.
 *
 * Used by the `e2e` vitest project (its globalSetup, `e2e-deployment.setup.ts`, compiles the set
 * into `test/generated-e2e/` and starts every server) and by `test/e2e-node/` (the same set
 * under `wrangler dev`, for client processes).
 *
 * @module
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import demoUpstream from "../../demo/upstream/worker.ts";
import { compileAll } from "../../scripts/compiler/index.ts";
import { type DevGateway, ROOT, startDevGateway } from "../../scripts/lib/dev-server.ts";
import { type HostedServer, hostFetchHandler } from "./mcp-servers/http-host.ts";
import { startStatelessServer } from "./mcp-servers/stateless-server.ts";

/** The MCP vendors of the set (folders of test/fixtures/e2e-specs/). */
export const E2E_SPECS_DIR = join(ROOT, "test", "fixtures", "e2e-specs");
/** Where the `e2e` project's `#bundles` alias points. */
export const E2E_GENERATED_DIR = join(ROOT, "test", "generated-e2e");

/**
 * Compiles `specs/demo` plus the chosen MCP vendors (default: every folder of the set) into
 * `outDir`: one registry, as `npm run compile` makes it for a deployment.
 */
export async function compileDeployment(
  outDir: string,
  mcpVendors: readonly string[] = readdirSync(E2E_SPECS_DIR),
): Promise<void> {
  const specsDir = mkdtempSync(join(tmpdir(), "gateway-e2e-specs-"));
  try {
    cpSync(join(ROOT, "specs", "demo"), join(specsDir, "demo"), { recursive: true });
    for (const vendor of mcpVendors) {
      cpSync(join(E2E_SPECS_DIR, vendor), join(specsDir, vendor), { recursive: true });
    }
    await compileAll({ specsDir, outDir });
  } finally {
    rmSync(specsDir, { recursive: true, force: true });
  }
}

/** The demo vendor's upstream API (a hono app) on an ephemeral 127.0.0.1 port; its base URL is the origin. */
export function startDemoUpstream(): Promise<HostedServer> {
  return hostFetchHandler((request) => Promise.resolve(demoUpstream.fetch(request)));
}

/** The demo vendor and the stateless MCP vendor under `wrangler dev`, with client auth off. */
export interface MixedDeployment {
  /** A temporary folder for the test's own files too; `stop` removes it. */
  work: string;
  gateway: DevGateway;
  demo: HostedServer;
  stateless: HostedServer;
  stop(): Promise<void>;
}

/**
 * Starts {@link MixedDeployment}: the demo upstream, the stateless MCP server and `wrangler dev`
 * over a registry of both, compiled into a temporary folder that `stop` removes. `vars` adds to
 * the gateway's variables.
 */
export async function startMixedDeployment(vars: Record<string, string> = {}): Promise<MixedDeployment> {
  const work = mkdtempSync(join(tmpdir(), "gateway-mixed-"));
  const started: HostedServer[] = [];
  const kept = async (server: Promise<HostedServer>): Promise<HostedServer> => {
    const up = await server;
    started.push(up);
    return up;
  };
  try {
    const [demo, stateless] = await Promise.all([
      kept(startDemoUpstream()),
      kept(startStatelessServer()),
      compileDeployment(join(work, "generated"), ["stateless"]),
    ]);
    const gateway = await startDevGateway({
      bundlesIndex: join(work, "generated", "index.ts"),
      vars: { GATEWAY_AUTH: "none", DEMO_BASE_URL: demo.origin, STATELESS_MCP_URL: stateless.url, ...vars },
    });
    return {
      work,
      gateway,
      demo,
      stateless,
      async stop() {
        await gateway.stop();
        await Promise.all(started.map((s) => s.stop()));
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}
