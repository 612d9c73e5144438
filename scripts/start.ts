/**
 * `npm start`: compile specs/, then run the demo upstream API and the gateway
 * locally with `wrangler dev` on miniflare storage (.wrangler/state). Works
 * offline. `PORT` (default 8787) sets the gateway's port.
 */
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { freePort, HOST, ROOT, startWranglerDev, type WranglerDev } from "./lib/dev-server.ts";

const DEFAULT_GATEWAY_PORT = 8787;
const PREFERRED_UPSTREAM_PORT = 8788;
/** Kept across restarts, like `wrangler dev`'s own default. */
const LOCAL_STATE_DIR = join(ROOT, ".wrangler", "state");

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
    throw new Error(`PORT must be a TCP port number (1-65535), got "${raw}"`);
  }
  return port;
}

async function main(): Promise<void> {
  const gatewayPort = parsePort(process.env.PORT);
  const compiled = spawnSync(process.execPath, [join(ROOT, "scripts", "compile.ts")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (compiled.status !== 0) {
    process.exitCode = compiled.status ?? 1;
    return;
  }

  const stopping = new AbortController();
  process.on("SIGINT", () => stopping.abort());
  process.on("SIGTERM", () => stopping.abort());
  const running: WranglerDev[] = [];
  const stopAll = () => Promise.all(running.map((dev) => dev.stop()));

  try {
    const upstreamPort = (await portIsFree(PREFERRED_UPSTREAM_PORT))
      ? PREFERRED_UPSTREAM_PORT
      : await freePort();
    const upstream = await startWranglerDev({
      config: join(ROOT, "demo", "upstream", "wrangler.toml"),
      port: upstreamPort,
      persistTo: LOCAL_STATE_DIR,
      readyPath: "/notes",
      signal: stopping.signal,
    });
    running.push(upstream);
    const gateway = await startWranglerDev({
      port: gatewayPort,
      persistTo: LOCAL_STATE_DIR,
      vars: { DEMO_BASE_URL: upstream.origin, GATEWAY_AUTH: "none" },
      readyPath: "/health",
      signal: stopping.signal,
      onOutput: printer("gateway"),
    });
    running.push(gateway);

    const base = gateway.origin;
    console.log(
      [
        "",
        `  mcp-edge-gateway is running at ${base}`,
        `    health:        ${base}/health`,
        `    MCP (all):     ${base}/v1/mcp`,
        `    MCP (demo):    ${base}/v1/demo/mcp`,
        `    demo upstream: ${upstream.origin}`,
        "  Client auth is OFF (GATEWAY_AUTH=none) for local use. Ctrl-C stops.",
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
