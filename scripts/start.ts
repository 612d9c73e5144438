/**
 * `npm start`: check the port and the configuration, compile specs/, then run the demo upstream
 * API and the gateway locally with `wrangler dev` on miniflare storage (.wrangler/state), and the
 * demo MCP upstream (demo/mcp-upstream, in this process) on 127.0.0.1:8789. Works offline.
 *
 *   npm start                          # client auth off (GATEWAY_AUTH=none), port 8787
 *   GATEWAY_AUTH=oauth npm start       # OAuth on, with a demo user whose password is printed
 *   PORT=9000 npm start                # another port
 *   npm start -- --persist-to DIR      # other local storage
 *
 * Settings come from wrangler.toml and .dev.vars as in `wrangler dev`; the shell may override
 * the non-secret ones (scripts/lib/local-env.ts). Every failure to start ends with a message and
 * exit code 1, before anything claims to be running.
 */
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEMO_MCP_PORT, type DemoMcpServer, startDemoMcpServer } from "../demo/mcp-upstream/server.ts";
import { describeIgnored, ignoredSettings, validateConfiguration } from "../src/health/configuration.ts";
import { freePort, HOST, ROOT, startWranglerDev, type WranglerDev } from "./lib/dev-server.ts";
import { localEnv, specOpenApiVendors } from "./lib/local-env.ts";

const DEFAULT_GATEWAY_PORT = 8787;
const PREFERRED_UPSTREAM_PORT = 8788;
/** Kept across restarts, like `wrangler dev`'s own default. */
const LOCAL_STATE_DIR = join(ROOT, ".wrangler", "state");

/** A start-up failure with what to do about it: printed as is, exit code 1. */
class StartError extends Error {}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** Prefixes every line wrangler prints with the process it came from. */
function printer(label: string): (chunk: string) => void {
  return (chunk) => {
    for (const line of chunk.split("\n")) if (line.trim()) console.log(`[${label}] ${line}`);
  };
}

function parsePort(raw: string | undefined): number {
  const port = Number(raw ?? DEFAULT_GATEWAY_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new StartError(`PORT must be a TCP port number (1-65535), got "${raw}".`);
  }
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "persist-to": { type: "string" } } });
  const stateDir = values["persist-to"] === undefined ? LOCAL_STATE_DIR : resolve(values["persist-to"]);
  const gatewayPort = parsePort(process.env.PORT);
  if (!(await portIsFree(gatewayPort))) {
    throw new StartError(
      `Port ${gatewayPort} on ${HOST} is already in use (another npm start or wrangler dev?). ` +
        `Stop that server, or start on another port: PORT=${gatewayPort + 10} npm start`,
    );
  }

  // The demo upstream's port is chosen now, so the env checked below is the env the gateway gets.
  const upstreamPort = (await portIsFree(PREFERRED_UPSTREAM_PORT))
    ? PREFERRED_UPSTREAM_PORT
    : await freePort();
  const upstreamOrigin = `http://${HOST}:${upstreamPort}`;
  // The demo MCP vendor's URL is 8789 in its vendor.json; another port reaches the gateway as
  // DEMO_MCP_MCP_URL, as <VENDOR>_BASE_URL does for the notes API.
  const mcpUpstreamPort = (await portIsFree(DEMO_MCP_PORT)) ? DEMO_MCP_PORT : await freePort();
  const local = await localEnv(process.env, {
    DEMO_BASE_URL: upstreamOrigin,
    DEMO_MCP_MCP_URL: `http://${HOST}:${mcpUpstreamPort}/mcp`,
  });
  // Also the shell's: operators coming from the Python generator exported these there.
  for (const setting of ignoredSettings({ ...process.env, ...local.env }, specOpenApiVendors)) {
    console.warn(`Warning: ${describeIgnored(setting)}`);
  }
  const invalid = validateConfiguration(local.env);
  if (invalid !== undefined) {
    throw new StartError(
      `Configuration error: ${invalid.message}\n` +
        "Fix it in .dev.vars (or wrangler.toml [vars], or the variable set in your shell) and run npm start again.",
    );
  }

  const compiled = spawnSync(process.execPath, [join(ROOT, "scripts", "compile.ts")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (compiled.status !== 0) throw new StartError("Compiling specs/ failed (see above).");

  const stopping = new AbortController();
  process.on("SIGINT", () => stopping.abort());
  process.on("SIGTERM", () => stopping.abort());
  const running: WranglerDev[] = [];
  let mcpUpstream: DemoMcpServer | undefined;
  const stopAll = () => Promise.all([...running.map((dev) => dev.stop()), mcpUpstream?.stop()]);

  try {
    const upstream = await startWranglerDev({
      config: join(ROOT, "demo", "upstream", "wrangler.toml"),
      port: upstreamPort,
      persistTo: stateDir,
      readyPath: "/notes",
      signal: stopping.signal,
    });
    running.push(upstream);
    mcpUpstream = await startDemoMcpServer(mcpUpstreamPort);
    const gateway = await startWranglerDev({
      port: gatewayPort,
      persistTo: stateDir,
      vars: local.overrides,
      readyPath: "/health",
      signal: stopping.signal,
      onOutput: printer("gateway"),
    });
    running.push(gateway);

    const base = gateway.origin;
    const auth = !local.authRequired
      ? ["  Client auth is OFF (GATEWAY_AUTH=none). GATEWAY_AUTH=oauth npm start turns it on."]
      : local.demoUser !== undefined
        ? [
            "  Client auth is ON (OAuth). Sign in on the gateway's sign-in page as:",
            `    user:          ${local.demoUser.id}`,
            `    password:      ${local.demoUser.password}   (new at every start)`,
          ]
        : ["  Client auth is ON (OAuth). Sign in as a user of GATEWAY_USERS (or through OIDC_ISSUER)."];
    console.log(
      [
        "",
        `  mcp-edge-gateway is running at ${base}`,
        `    health:        ${base}/health`,
        `    MCP (all):     ${base}/v1/mcp`,
        `    MCP (demo):    ${base}/v1/demo/mcp`,
        `    status page:   ${base}/status`,
        `    demo upstream: ${upstream.origin}`,
        `    demo MCP upstream: ${mcpUpstream.url}`,
        ...auth,
        "  Ctrl-C stops.",
        "",
      ].join("\n"),
    );

    const ended = await Promise.race([
      ...running.map((dev, i) =>
        dev.exited.then((code) => ({ who: i === 0 ? "demo upstream" : "gateway", code })),
      ),
      new Promise<null>((resolve) => stopping.signal.addEventListener("abort", () => resolve(null))),
    ]);
    if (ended) {
      console.error(`${ended.who} exited (${ended.code}); stopping.`);
      process.exitCode = 1;
    }
  } catch (error) {
    if (!stopping.signal.aborted) {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    }
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
