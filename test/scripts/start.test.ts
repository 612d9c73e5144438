/**
 * `npm start` (scripts/start.ts) fails fast and says why, before it compiles or starts anything,
 * when the port is taken or the configuration is invalid (issue #11 items 9 and 11); it names
 * settings of the Python generator it does not read (item 13); and `wrangler dev` is only called
 * ready when the process just started owns the port (item 9).
 */
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, ROOT, startWranglerDev } from "../../scripts/lib/dev-server.ts";
import { type LoopbackServer, listenOnLoopback } from "../support/local-http.ts";

const START = join(ROOT, "scripts", "start.ts");
/** Printed only once both servers answer. */
const RUNNING = "is running at";
/** Printed by the compile step: its absence shows nothing was started. */
const COMPILED = "vendor(s),";
/** Far beyond a failing start (seconds): a run that gets this far has started servers. */
const RUN_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm start`'s script with only the given settings in its environment (nothing from the developer's shell). */
function runStart(settings: Record<string, string>): Run {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // Synchronous: every run here ends before anything starts (the port or the configuration stops it).
  const run = spawnSync(process.execPath, [START], {
    cwd: ROOT,
    env: { ...env, ...settings, FORCE_COLOR: "0" } as unknown as NodeJS.ProcessEnv,
    encoding: "utf8",
    timeout: RUN_TIMEOUT_MS,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A server that answers 200 `{"status":"ok"}` to everything, like a gateway already running there. */
async function impostor(): Promise<LoopbackServer> {
  return listenOnLoopback(
    createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    }),
  );
}

let occupied: LoopbackServer | undefined;
afterEach(async () => {
  await occupied?.close();
  occupied = undefined;
});

describe("npm start", () => {
  it("fails at once with a clear message and exit code 1 when PORT is taken", async () => {
    occupied = await impostor();
    const run = runStart({ PORT: String(occupied.port) });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Port ${occupied.port} on 127.0.0.1 is already in use`);
    expect(run.stderr).toContain("PORT=");
    expect(run.stdout).not.toContain(RUNNING);
    expect(run.stdout).not.toContain(COMPILED);
  });

  it("prints the exact configuration error and exits 1 before compiling or starting anything", async () => {
    occupied = await impostor(); // not used: only to get a port nothing else will take meanwhile
    const port = occupied.port;
    await occupied.close();
    occupied = undefined;
    const run = runStart({
      PORT: String(port),
      GATEWAY_AUTH: "oauth",
      GATEWAY_USERS: JSON.stringify([{ id: "ana", team: "core" }]),
      GATEWAY_TEAMS: JSON.stringify({ ops: {} }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'Configuration error: GATEWAY_USERS: user "ana" names team "core", which GATEWAY_TEAMS does not define',
    );
    expect(run.stdout).not.toContain(COMPILED);
    expect(run.stdout).not.toContain(RUNNING);
  });

  it("checks the gateway settings with the Worker's own rules", async () => {
    const run = runStart({ PORT: String(await freePort()), MAX_RETRIES: "many" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'Configuration error: Invalid configuration: MAX_RETRIES must be an integer from 0 to 10 (got "many")',
    );
  });

  it("names each setting of the Python generator it does not read, with its replacement", async () => {
    // An invalid setting stops the start right after the warnings: no servers needed.
    const run = runStart({
      PORT: String(await freePort()),
      MAX_RETRIES: "many",
      BASE_URL: "https://api.example.com",
      HTTPX_TIMEOUT: "30",
      MAX_KEEPALIVE_CONNECTIONS: "5",
      OAUTH2_CLIENT_SECRET: "s3cret",
    });
    expect(run.stderr).toContain(
      "Warning: BASE_URL is set but this gateway does not read it; use <VENDOR>_BASE_URL, one per vendor (here: DEMO_BASE_URL).",
    );
    expect(run.stderr).toContain(
      "Warning: HTTPX_TIMEOUT is set but this gateway does not read it; use UPSTREAM_TIMEOUT",
    );
    expect(run.stderr).toContain("Warning: MAX_KEEPALIVE_CONNECTIONS is set");
    expect(run.stderr).toContain(
      "use <VENDOR>_OAUTH2_CLIENT_SECRET, one per vendor (here: DEMO_OAUTH2_CLIENT_SECRET).",
    );
    expect(run.stderr).not.toContain("s3cret");
  });
});

describe("wrangler dev readiness (scripts/lib/dev-server.ts)", () => {
  it("never calls another server on the port ready: the start fails instead", async () => {
    occupied = await impostor();
    await expect(
      startWranglerDev({
        config: join(ROOT, "demo", "upstream", "wrangler.toml"),
        port: occupied.port,
        readyPath: "/health",
      }),
    ).rejects.toThrow(/wrangler dev exited/);
  });
});
