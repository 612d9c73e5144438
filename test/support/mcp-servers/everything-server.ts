/**
 * (1a) `@modelcontextprotocol/server-everything` over streamable HTTP: the reference server
 * exercising every MCP feature (tools with progress — `trigger-long-running-operation` —,
 * resources and templates, prompts, and, when the client declares the capability, sampling and
 * elicitation requests: `trigger-sampling-request`, `trigger-elicitation-request`). Stateful:
 * `initialize` opens a session.
 *
 * Started as its own process the documented way (`mcp-server-everything streamableHttp`, port
 * from `PORT`, MCP at `/mcp`) on a free port; `loopback-only.ts` keeps it on 127.0.0.1.
 * `restart()` stops the process and starts a new one on the same port (every session gone).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freePort, ROOT } from "../../../scripts/lib/dev-server.ts";

export const EVERYTHING_PACKAGE = "@modelcontextprotocol/server-everything";
const PACKAGE_DIR = join(ROOT, "node_modules", ...EVERYTHING_PACKAGE.split("/"));
/** A process that has not said it listens after this long failed to start (not a test's clock). */
const START_TIMEOUT_MS = 30_000;
const LISTENING = /listening on port/i;

export interface EverythingServer {
  origin: string;
  port: number;
  url: string;
  pid(): number | undefined;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The server's entry script, or undefined when the package is not installed. */
export function everythingEntry(): string | undefined {
  const manifestPath = join(PACKAGE_DIR, "package.json");
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    bin?: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.["mcp-server-everything"];
  return bin === undefined ? undefined : join(dirname(manifestPath), bin);
}

function launch(entry: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", join(import.meta.dirname, "loopback-only.ts"), entry, "streamableHttp"],
    { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${EVERYTHING_PACKAGE} did not start in ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-10_000);
      if (LISTENING.test(output)) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stderr?.off("data", onData);
        // Its per-request logging must not fill a pipe nobody reads.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${EVERYTHING_PACKAGE} exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
}

function terminate(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Starts server-everything on 127.0.0.1 (a free port unless `port`). Throws when the package is missing. */
export async function startEverythingServer(options: { port?: number } = {}): Promise<EverythingServer> {
  const entry = everythingEntry();
  if (entry === undefined) {
    throw new Error(`${EVERYTHING_PACKAGE} is not installed (npm install --save-dev ${EVERYTHING_PACKAGE})`);
  }
  const port = options.port ?? (await freePort());
  let child = await launch(entry, port);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    url: `${origin}/mcp`,
    pid: () => child.pid,
    restart: async () => {
      await terminate(child);
      child = await launch(entry, port);
    },
    stop: () => terminate(child),
  };
}
