/**
 * `node scripts/conformance.ts`: runs the MCP conformance suite
 * (`@modelcontextprotocol/conformance`) against the gateway served locally by
 * `wrangler dev`, for the scenarios that apply to a stateless tools-only
 * server. Exits non-zero when any scenario fails or the gateway does not start.
 *
 * Needs compiled bundles (`npm run compile`); client auth is switched off for
 * the run (`GATEWAY_AUTH=none`), storage goes to a temporary directory.
 *
 * Options: `--scenario NAME` (repeatable) runs only those scenarios.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";
/** The conformance scenarios that apply to a tools-only server. */
export const SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"] as const;
/** wrangler dev bundles and boots workerd; on a cold, loaded CI machine that takes a while. */
const READY_TIMEOUT_MS = 90_000;
/** One scenario is a handful of requests; anything slower is a hang. */
const SCENARIO_TIMEOUT_MS = 60_000;
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const CONFORMANCE = join(ROOT, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");

function freePort(): Promise<number> {
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

async function waitForHealth(url: string, gateway: ChildProcess): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < READY_TIMEOUT_MS) {
    if (gateway.exitCode !== null) throw new Error(`wrangler dev exited with code ${gateway.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the gateway did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s`);
}

/** Runs one scenario; resolves with its exit code and output. */
function runScenario(
  url: string,
  scenario: string,
  outDir: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [CONFORMANCE, "server", "--url", url, "--scenario", scenario, "--output-dir", outDir],
      {
        cwd: ROOT,
        env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
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

function stopGateway(gateway: ChildProcess): Promise<void> {
  if (gateway.exitCode !== null || gateway.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => signalGroup(gateway.pid as number, "SIGKILL"), 5_000);
    gateway.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    signalGroup(gateway.pid as number, "SIGTERM");
  });
}

/** wrangler runs workerd as a child: signal the whole group the script started. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function runConformance(scenarios: readonly string[] = SCENARIOS): Promise<boolean> {
  if (!existsSync(join(ROOT, "src", "generated", "index.ts"))) {
    throw new Error("src/generated/index.ts is missing: run `npm run compile` first");
  }
  const port = await freePort();
  const inspectorPort = await freePort();
  const state = mkdtempSync(join(tmpdir(), "gateway-conformance-"));
  let log = "";
  const gateway = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      "--ip",
      HOST,
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
      "--persist-to",
      state,
      "--var",
      "GATEWAY_AUTH:none",
    ],
    {
      cwd: ROOT,
      detached: true,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        FORCE_COLOR: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const collect = (chunk: Buffer) => {
    log += chunk.toString();
  };
  gateway.stdout?.on("data", collect);
  gateway.stderr?.on("data", collect);
  const stop = () => void stopGateway(gateway);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  const url = `http://${HOST}:${port}/v1/mcp`;
  let passed = true;
  try {
    await waitForHealth(`http://${HOST}:${port}/health`, gateway);
    for (const scenario of scenarios) {
      const { code, output } = await runScenario(url, scenario, join(state, "results"));
      const ok = code === 0;
      passed &&= ok;
      console.log(`${ok ? "PASS" : "FAIL"} ${scenario}`);
      if (!ok) console.log(output.trim());
    }
  } catch (error) {
    passed = false;
    console.error(error instanceof Error ? error.message : error);
    console.error(log.trim().split("\n").slice(-30).join("\n"));
  } finally {
    await stopGateway(gateway);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    rmSync(state, { recursive: true, force: true });
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
