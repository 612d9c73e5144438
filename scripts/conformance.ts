/**
 * `npm run conformance`: runs the MCP conformance suite
 * (`@modelcontextprotocol/conformance`) against the gateway served locally by
 * `wrangler dev`, for the scenarios that apply to a stateless tools-only
 * server. Exits non-zero when any scenario fails or the gateway does not start.
 *
 * Needs compiled bundles (`npm run compile`); client auth is switched off for
 * the run (`GATEWAY_AUTH=none`), storage goes to a temporary directory.
 *
 * Options: `--scenario NAME` (repeatable) runs only those scenarios.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DevGateway, ROOT, startDevGateway } from "./lib/dev-server.ts";

/** The conformance scenarios that apply to a tools-only server. */
export const SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"] as const;
/** One scenario is a handful of requests; anything slower is a hang. */
const SCENARIO_TIMEOUT_MS = 60_000;
const CONFORMANCE = join(ROOT, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");

/**
 * Runs the conformance CLI with `args` (from the repository root, no colours); resolves with
 * its exit code and output. Killed after {@link SCENARIO_TIMEOUT_MS}.
 */
export function runConformanceCli(args: readonly string[]): Promise<{ code: number; output: string }> {
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
    const timer = setTimeout(() => {
      output += `\n(timed out after ${SCENARIO_TIMEOUT_MS / 1000} s)`;
      child.kill("SIGKILL");
    }, SCENARIO_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

/** Runs one server scenario against `url`. */
function runScenario(
  url: string,
  scenario: string,
  outDir: string,
): Promise<{ code: number; output: string }> {
  return runConformanceCli(["server", "--url", url, "--scenario", scenario, "--output-dir", outDir]);
}

export async function runConformance(scenarios: readonly string[] = SCENARIOS): Promise<boolean> {
  if (!existsSync(join(ROOT, "src", "generated", "index.ts"))) {
    throw new Error("src/generated/index.ts is missing: run `npm run compile` first");
  }
  const results = mkdtempSync(join(tmpdir(), "gateway-conformance-"));
  let gateway: DevGateway | undefined;
  const interrupted = new AbortController();
  const stop = () => interrupted.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  let passed = true;
  try {
    gateway = await startDevGateway({ vars: { GATEWAY_AUTH: "none" }, signal: interrupted.signal });
    const url = `${gateway.origin}/v1/mcp`;
    for (const scenario of scenarios) {
      const { code, output } = await runScenario(url, scenario, results);
      const ok = code === 0;
      passed &&= ok;
      console.log(`${ok ? "PASS" : "FAIL"} ${scenario}`);
      if (!ok) console.log(output.trim());
    }
  } catch (error) {
    passed = false;
    console.error(error instanceof Error ? error.message : error);
  } finally {
    await gateway?.stop();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    rmSync(results, { recursive: true, force: true });
  }
  return passed;
}

function scenariosFromArgs(argv: readonly string[]): string[] {
  const picked: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--scenario" && argv[i + 1] !== undefined) picked.push(argv[++i] as string);
  }
  return picked;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const picked = scenariosFromArgs(process.argv.slice(2));
  runConformance(picked.length > 0 ? picked : SCENARIOS).then(
    (ok) => {
      console.log(ok ? "conformance: all scenarios passed" : "conformance: FAILED");
      process.exitCode = ok ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
