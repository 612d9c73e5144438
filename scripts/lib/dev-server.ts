/**
 * Starts the gateway under `wrangler dev` for scripts and Node tests: free ports on
 * 127.0.0.1, storage in a temporary directory, optionally another `#bundles` registry
 * (a `--specs … --out DIR` compile) instead of src/generated. Used by
 * scripts/conformance.ts, scripts/start.ts and the tests that run wrangler dev
 * (test/e2e-node/, test/scripts/credentials-page.test.ts).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const HOST = "127.0.0.1";
/** wrangler dev bundles and boots workerd; on a cold, loaded CI machine that takes a while. */
export const DEV_READY_TIMEOUT_MS = 90_000;
/** A wrangler dev that ignores SIGTERM this long is killed, so no run leaves workerd behind. */
const STOP_GRACE_MS = 5_000;
/** Poll interval while waiting for /health: short against a start-up of seconds. */
const READY_POLL_MS = 250;
/**
 * What wrangler prints once its own socket listens on the port. A server already on the port
 * answers the readiness poll too, so readiness also needs this line from the child just started:
 * wrangler prints it only after its bind succeeded (a taken port prints "Address already in use").
 */
const READY_LINE = "Ready on ";
/** Kept wrangler output for error reports (its tail is what explains a failed start). */
const LOG_KEEP_CHARS = 64_000;
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** A TCP port free on 127.0.0.1 right now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
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

export interface DevGatewayOptions {
  /**
   * `index.ts` of a compiled registry to serve instead of src/generated/. `wrangler dev`
   * ignores `--alias` (wrangler 4.155 drops it from the dev build), so the alias goes into a
   * temporary copy of wrangler.toml.
   */
  bundlesIndex?: string;
  /** Variables passed as `--var NAME:value` (over wrangler.toml's `[vars]`). */
  vars?: Record<string, string>;
  /** miniflare storage, for callers that read it too (default: a temporary directory, removed on stop). */
  persistTo?: string;
  readyTimeoutMs?: number;
  /** Aborting stops wrangler, also while it is still starting (Ctrl-C of a script). */
  signal?: AbortSignal;
}

export interface DevGateway {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** What wrangler printed so far (bounded), for error reports. */
  log(): string;
  /** Stops wrangler and workerd (the whole process group) and removes the temporary directory. */
  stop(): Promise<void>;
}

/**
 * The repository's wrangler.toml with an absolute `main`, no `[build]` and a `[alias]` table for `#bundles`,
 * written into `dir` (wrangler resolves `main` against the config's folder).
 */
function writeAliasedConfig(dir: string, bundlesIndex: string): string {
  const source = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  if (/^\s*\[alias\]/m.test(source))
    throw new Error("wrangler.toml has an [alias] table: merge #bundles into it here");
  const withMain = source.replace(
    /^main\s*=\s*"([^"]+)"/m,
    (_line, main: string) => `main = ${JSON.stringify(join(ROOT, main))}`,
  );
  if (withMain === source) throw new Error('wrangler.toml: no `main = "…"` line to rewrite');
  // Its build compiles specs/ into src/generated/: not the registry this copy serves.
  const withoutBuild = withMain.replace(/^\[build\]\n(?:[^[\n].*\n|\n)*/m, "");
  if (/^\s*\[build\]/m.test(withoutBuild)) throw new Error("wrangler.toml: could not drop the [build] table");
  const path = join(dir, "wrangler.toml");
  // A table appended last is valid TOML whatever precedes it.
  writeFileSync(path, `${withoutBuild}\n[alias]\n"#bundles" = ${JSON.stringify(bundlesIndex)}\n`);
  return path;
}

/** wrangler runs workerd as a child: signal the whole group the helper started. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolve) => {
    const force = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_GRACE_MS);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    signalGroup(pid, "SIGTERM");
  });
}

export interface WranglerDevOptions {
  /** wrangler config to run (default: the repository's wrangler.toml). */
  config?: string;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** miniflare storage (default: a temporary directory, removed on stop). */
  persistTo?: string;
  /** Variables passed as `--var NAME:value` (over the config's `[vars]`). */
  vars?: Record<string, string>;
  /** Path polled until it answers 2xx. */
  readyPath: string;
  readyTimeoutMs?: number;
  /** Aborting stops wrangler, also while it is still starting (Ctrl-C of a script). */
  signal?: AbortSignal;
  /** Every chunk wrangler prints, for callers that show it live. */
  onOutput?: (chunk: string) => void;
}

export interface WranglerDev extends DevGateway {
  /** Settles when wrangler exits, with its exit code (or signal name). */
  exited: Promise<number | string | null>;
}

/** Starts `wrangler dev` and resolves once `readyPath` answers 2xx; rejects (after stopping it) otherwise. */
export async function startWranglerDev(opts: WranglerDevOptions): Promise<WranglerDev> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEV_READY_TIMEOUT_MS;
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const work = mkdtempSync(join(tmpdir(), "gateway-dev-"));
  const args = [
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
    opts.persistTo ?? join(work, "state"),
  ];
  if (opts.config !== undefined) args.push("--config", opts.config);
  for (const [name, value] of Object.entries(opts.vars ?? {})) args.push("--var", `${name}:${value}`);

  let log = "";
  const origin = `http://${HOST}:${port}`;
  let bound = false;
  // Through this Node (22): the wrangler shim would pick whatever `node` is first on PATH.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      // Offline: skip the fetch of a real `request.cf` object (it needs the internet).
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      FORCE_COLOR: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    // Checked on the joined tail: the line may arrive split across chunks.
    if (!bound) bound = (log.slice(-200) + text).includes(`${READY_LINE}${origin}`);
    log = (log + text).slice(-LOG_KEEP_CHARS);
    opts.onOutput?.(text);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | string | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code)),
  );

  const onAbort = () => void stopChild(child);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  child.once("exit", () => opts.signal?.removeEventListener("abort", onAbort));

  const dev: WranglerDev = {
    origin,
    port,
    exited,
    log: () => log,
    async stop() {
      await stopChild(child);
      rmSync(work, { recursive: true, force: true });
    },
  };
  try {
    await waitForHealth(`${origin}${opts.readyPath}`, child, () => bound, readyTimeoutMs);
  } catch (error) {
    await dev.stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${reason}\n--- wrangler dev output (tail) ---\n${log.split("\n").slice(-40).join("\n")}`,
    );
  }
  return dev;
}

/** The gateway under `wrangler dev` on a free port with temporary storage; resolves once `/health` answers. */
export async function startDevGateway(opts: DevGatewayOptions = {}): Promise<DevGateway> {
  const work = mkdtempSync(join(tmpdir(), "gateway-config-"));
  const config = opts.bundlesIndex !== undefined ? writeAliasedConfig(work, opts.bundlesIndex) : undefined;
  try {
    const dev = await startWranglerDev({
      readyPath: "/health",
      ...(config !== undefined && { config }),
      ...(opts.vars !== undefined && { vars: opts.vars }),
      ...(opts.persistTo !== undefined && { persistTo: opts.persistTo }),
      ...(opts.readyTimeoutMs !== undefined && { readyTimeoutMs: opts.readyTimeoutMs }),
      ...(opts.signal !== undefined && { signal: opts.signal }),
    });
    return {
      ...dev,
      async stop() {
        await dev.stop();
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Resolves once `url` answers 2xx from the child just started: the child is alive and has
 * printed that it listens on the port (else the answer may come from another server there).
 */
async function waitForHealth(
  url: string,
  child: ChildProcess,
  bound: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`wrangler dev exited (${child.signalCode ?? child.exitCode})`);
    }
    if (!bound()) {
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
      continue;
    }
    let misconfigured: string | undefined;
    try {
      const res = await fetch(url);
      if (res.ok) return;
      misconfigured = await misconfiguration(res);
    } catch {
      // not listening yet
    }
    // It will not get better by waiting: say why at once.
    if (misconfigured !== undefined) throw new Error(`Configuration error: ${misconfigured}`);
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  throw new Error(`wrangler dev did not answer ${url} within ${timeoutMs / 1000} s`);
}

/** The message of the gateway's `/health` answer for a bad configuration (src/health/configuration.ts). */
async function misconfiguration(res: Response): Promise<string | undefined> {
  if (res.status !== 503) return undefined;
  const body = (await res.json().catch(() => undefined)) as
    | { status?: unknown; error?: { message?: unknown } }
    | undefined;
  return body?.status === "misconfigured" && typeof body.error?.message === "string"
    ? body.error.message
    : undefined;
}
