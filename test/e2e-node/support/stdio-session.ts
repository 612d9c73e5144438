/**
 * A JSON-RPC session over a child's stdin/stdout (newline-delimited, as MCP stdio is): the
 * stdio clients the README names (mcp-remote) driven from tests.
 *
 * @module
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";

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
