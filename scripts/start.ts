/**
 * `npm start`: compile specs/, then run the demo upstream API and the gateway
 * locally with `wrangler dev` on miniflare storage (.wrangler/state). Works
 * offline. `PORT` (default 8787) sets the gateway's port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";
const DEFAULT_GATEWAY_PORT = 8787;
const PREFERRED_UPSTREAM_PORT = 8788;
/** wrangler dev bundles and boots workerd; on a cold, loaded machine that can take a while. */
const READY_TIMEOUT_MS = 90_000;

const children: ChildProcess[] = [];

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

async function freePort(preferred?: number): Promise<number> {
  if (preferred !== undefined && (await portIsFree(preferred))) return preferred;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function run(label: string, args: string[], opts: { quiet?: boolean } = {}): ChildProcess {
  const child = spawn(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      // Offline: skip the fetch of a real `request.cf` object (it needs the internet).
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      FORCE_COLOR: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split("\n")
      .filter((line) => line.trim().length > 0)
      .map((line) => `[${label}] ${line}`)
      .join("\n");
  child.stdout?.on("data", (chunk: Buffer) => {
    if (!opts.quiet) console.log(prefix(chunk));
  });
  child.stderr?.on("data", (chunk: Buffer) => console.error(prefix(chunk)));
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`[${label}] exited (${signal ?? code}); stopping.`);
    stop(code ?? 1);
  });
  children.push(child);
  return child;
}

async function waitForHealth(url: string, label: string): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < READY_TIMEOUT_MS) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${label} did not become ready at ${url} within ${READY_TIMEOUT_MS / 1000} s`);
}

let stopping = false;
function stop(code: number): void {
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  process.exitCode = code;
}

async function main(): Promise<void> {
  const compile = spawn(process.execPath, [join(ROOT, "scripts", "compile.ts")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  const compiled = await new Promise<number>((resolve) => compile.on("exit", (code) => resolve(code ?? 1)));
  if (compiled !== 0) {
    process.exitCode = compiled;
    return;
  }

  const gatewayPort = Number(process.env.PORT ?? DEFAULT_GATEWAY_PORT);
  if (!Number.isInteger(gatewayPort) || gatewayPort <= 0 || gatewayPort > 65_535) {
    console.error(`PORT must be a TCP port number (1-65535), got "${process.env.PORT}"`);
    process.exitCode = 1;
    return;
  }
  const upstreamPort = await freePort(PREFERRED_UPSTREAM_PORT);
  const upstreamUrl = `http://${HOST}:${upstreamPort}`;

  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));

  run(
    "demo-upstream",
    [
      "dev",
      "--config",
      "demo/upstream/wrangler.toml",
      "--ip",
      HOST,
      "--port",
      String(upstreamPort),
      "--inspector-port",
      String(await freePort()),
      "--show-interactive-dev-session=false",
    ],
    { quiet: true },
  );
  run("gateway", [
    "dev",
    "--ip",
    HOST,
    "--port",
    String(gatewayPort),
    "--inspector-port",
    String(await freePort()),
    "--show-interactive-dev-session=false",
    "--var",
    `DEMO_BASE_URL:${upstreamUrl}`,
    "--var",
    "GATEWAY_AUTH:none",
  ]);

  await waitForHealth(`${upstreamUrl}/notes`, "demo upstream");
  await waitForHealth(`http://${HOST}:${gatewayPort}/health`, "gateway");
  console.log(
    [
      "",
      `  mcp-edge-gateway is running at http://${HOST}:${gatewayPort}`,
      `    health:        http://${HOST}:${gatewayPort}/health`,
      `    MCP (all):     http://${HOST}:${gatewayPort}/v1/mcp`,
      `    MCP (demo):    http://${HOST}:${gatewayPort}/v1/demo/mcp`,
      `    demo upstream: ${upstreamUrl}`,
      "  Client auth is OFF (GATEWAY_AUTH=none) for local use. Ctrl-C stops.",
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  stop(1);
});
