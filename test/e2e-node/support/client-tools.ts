/**
 * The client tools the README names (mcp-remote, the Inspector CLI) as tests run them: where
 * they are, a home directory of their own per run, and a JSON-RPC session over a stdio client.
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort, ROOT } from "../../../scripts/lib/dev-server.ts";

export const MCP_REMOTE = join(ROOT, "node_modules", "mcp-remote", "dist", "proxy.js");
export const INSPECTOR = join(
  ROOT,
  "node_modules",
  "@modelcontextprotocol",
  "inspector",
  "clients",
  "launcher",
  "build",
  "index.js",
);

/** Client tools keep state (tokens, registrations) in the home directory: each run gets its own under `parent`. */
export function isolatedEnv(parent: string): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(parent, "home-"));
  return { ...process.env, HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, ".mcp-auth"), FORCE_COLOR: "0" };
}

/** A JSON-RPC session over a child's stdin/stdout (newline-delimited, as MCP stdio is). */
export class StdioSession {
  private readonly waiting = new Map<number, (message: Record<string, unknown>) => void>();
  stderr = "";

  readonly child: ChildProcessWithoutNullStreams;
  private readonly answerTimeoutMs: number;

  constructor(child: ChildProcessWithoutNullStreams, answerTimeoutMs: number) {
    this.child = child;
    this.answerTimeoutMs = answerTimeoutMs;
    createInterface({ input: child.stdout }).on("line", (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof message.id === "number") this.waiting.get(message.id)?.(message);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
  }

  notify(method: string): void {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method })}\n`);
  }

  request(id: number, method: string, params?: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new Error(`no answer to ${method} within ${this.answerTimeoutMs} ms; stderr:\n${this.stderr}`),
        );
      }, this.answerTimeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(message);
      });
      this.child.stdin.write(
        `${JSON.stringify({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) })}\n`,
      );
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      this.child.once("exit", () => {
        clearTimeout(force);
        resolve();
      });
      this.child.stdin.end();
      this.child.kill("SIGTERM");
    });
  }
}

/** Starts mcp-remote (the stdio bridge Claude Desktop launches) against `url`, home directory under `work`. */
export async function startMcpRemote(
  url: string,
  work: string,
  answerTimeoutMs: number,
): Promise<StdioSession> {
  // The second argument is mcp-remote's OAuth callback port: a free one, never its fixed default.
  const child = spawn(process.execPath, [MCP_REMOTE, url, String(await freePort())], {
    cwd: ROOT,
    env: isolatedEnv(work),
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new StdioSession(child, answerTimeoutMs);
}

/** Runs the Inspector CLI once (`--cli …args`); resolves with its exit code and output. */
export function runInspector(
  args: string[],
  work: string,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INSPECTOR, "--cli", ...args], {
      cwd: ROOT,
      env: isolatedEnv(work),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`inspector ${args.join(" ")}: no exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
