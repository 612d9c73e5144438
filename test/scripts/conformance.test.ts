import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** wrangler dev start-up (cold bundle + workerd) plus four short scenarios, with room for a slow CI machine. */
const CONFORMANCE_TIMEOUT_MS = 240_000;

it(
  "passes the MCP conformance scenarios for a tools-only server against wrangler dev",
  async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, "scripts", "conformance.ts")], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on("close", (exitCode) => resolve({ code: exitCode, output }));
    });
    expect(output).toContain("PASS dns-rebinding-protection");
    expect(code, output).toBe(0);
  },
  CONFORMANCE_TIMEOUT_MS,
);
