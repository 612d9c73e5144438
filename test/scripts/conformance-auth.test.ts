/**
 * The MCP conformance suite's `auth/*` client scenarios against the gateway's upstream OAuth
 * client (`src/auth/mcp-oauth.ts`, driven by `scripts/mcp-client-adapter-auth.ts`). The list
 * comes from the installed package, so a scenario a newer suite adds runs here too.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CONFORMANCE = join(ROOT, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const ADAPTER = join(ROOT, "scripts", "mcp-client-adapter-auth.ts");
/** Scenarios at once: each is two local servers and one client process; mostly waiting, little CPU. */
const PARALLEL = 6;
/** One scenario is a few dozen local requests; the suite's own client timeout is 30 s. */
const SCENARIO_TIMEOUT_MS = 45_000;

/** Scenarios the gateway does not implement, and why. */
const NOT_IMPLEMENTED: Record<string, string> = {
  // SEP-990 enterprise-managed authorization: an IdP ID token exchanged (RFC 8693) for an
  // ID-JAG, then a JWT-bearer grant (RFC 7523). The gateway has no enterprise IdP to take
  // the user's ID token from.
  "auth/cross-app-access-complete-flow": "enterprise-managed authorization (SEP-990) is not implemented",
};

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONFORMANCE, ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), SCENARIO_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

it("passes every auth/* client scenario of the conformance suite but the ones named as not implemented", async () => {
  const listing = await run(["list"]);
  const scenarios = [...listing.output.matchAll(/^\s*- (auth\/[a-z0-9-]+)/gm)].map((m) => m[1] as string);
  expect(scenarios.length).toBeGreaterThan(15);
  const toRun = scenarios.filter((name) => NOT_IMPLEMENTED[name] === undefined);
  const failures: string[] = [];
  const queue = [...toRun];
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const { code, output } = await run([
          "client",
          "--command",
          `${process.execPath} ${ADAPTER}`,
          "--scenario",
          name,
        ]);
        if (code !== 0 || !output.includes("OVERALL: PASSED")) {
          failures.push(
            `${name}:\n${output
              .split("\n")
              .filter((l) => /FAILURE|Stderr|rror/.test(l))
              .join("\n")}`,
          );
        }
      }
    }),
  );
  expect(failures, failures.join("\n\n")).toEqual([]);
}, 180_000);
