/**
 * Prism mock servers (`@stoplight/prism-cli`) and a recording proxy in front of them.
 *
 * Prism validates every request against its spec and reports what breaks it in the
 * `sl-violations` response header (and answers security failures, unknown paths and
 * methods with its own problem+json errors). The gateway turns upstream responses into
 * tool results, so the proxy, not the gateway, is where the test reads those verdicts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import { freePort, HOST, ROOT } from "../../../scripts/lib/dev-server.ts";
import { listenOnLoopback } from "../../support/local-http.ts";

const PRISM_CLI = join(ROOT, "node_modules", "@stoplight", "prism-cli", "dist", "index.js");
/** Prism parses and dereferences the spec before listening: a second or two, more on a loaded machine. */
const PRISM_READY_TIMEOUT_MS = 60_000;
/** Prism output kept for diagnostics (its tail: a crash's stack trace). */
const OUTPUT_KEEP_CHARS = 20_000;
/** Prism's own errors (problem+json `type`): a request it could not even route or authorize. */
const PRISM_ERROR_TYPE_PREFIX = "https://stoplight.io/prism/errors#";

export interface PrismViolation {
  location: string[];
  severity: string;
  code?: string | number;
  message: string;
}

/** One request the gateway sent upstream, and Prism's verdict on it. */
export interface RecordedRequest {
  vendor: string;
  method: string;
  /** Path and query as Prism received them (vendor prefix removed). */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  /** `sl-violations` entries about the request (those about Prism's own mock response are in `responseViolations`). */
  violations: PrismViolation[];
  responseViolations: PrismViolation[];
  /** Prism's error type (`UNAUTHORIZED`, `NO_PATH_MATCHED_ERROR`, …) when Prism refused the request itself. */
  prismError?: string;
}

export interface Prism {
  port: number;
  stop(): Promise<void>;
  output(): string;
}

/**
 * Tries to start Prism this many times: the free port is chosen before Prism binds it, and on a
 * busy machine another process can take it in between (Prism then exits with EADDRINUSE).
 */
const PRISM_START_ATTEMPTS = 3;

/** Starts `prism mock <spec>` on a free port and waits for its "listening" line. */
export async function startPrism(specPath: string): Promise<Prism> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPrismOnce(specPath);
    } catch (error) {
      if (attempt >= PRISM_START_ATTEMPTS || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
}

async function startPrismOnce(specPath: string): Promise<Prism> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [PRISM_CLI, "mock", specPath, "--host", HOST, "--port", String(port)],
    {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const stop = () => stopProcess(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(
        new Error(
          `prism (${specPath}) not listening after ${PRISM_READY_TIMEOUT_MS} ms:\n${output.slice(-4000)}`,
        ),
      );
    }, PRISM_READY_TIMEOUT_MS);
    let listening = false;
    const onData = (chunk: Buffer) => {
      // Request logs are verbose: keep the tail, where a crash's stack trace ends up.
      output = (output + chunk.toString()).slice(-OUTPUT_KEEP_CHARS);
      if (!listening && /Prism is listening on/.test(output)) {
        listening = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`prism (${specPath}) exited (${signal ?? code}) before listening:\n${output.slice(-4000)}`),
      );
    });
  });
  return { port, stop, output: () => output };
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function parseViolations(header: string | string[] | undefined): PrismViolation[] {
  if (typeof header !== "string" || header.length === 0) return [];
  try {
    const parsed = JSON.parse(header) as unknown;
    return Array.isArray(parsed) ? (parsed as PrismViolation[]) : [];
  } catch {
    return [
      { location: ["request"], severity: "Error", message: `unparseable sl-violations header: ${header}` },
    ];
  }
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`; vendor `v` lives under `${origin}/${v}`. */
  origin: string;
  records: RecordedRequest[];
  /** Routes `/<vendor>/…` to that vendor's Prism. */
  route(vendor: string, prismPort: number): void;
  close(): Promise<void>;
}

/**
 * One HTTP proxy for all vendors: `/<vendor>/<path>` is forwarded to `<path>` on that
 * vendor's Prism, and every exchange is recorded with Prism's verdict.
 */
export async function startRecordingProxy(): Promise<RecordingProxy> {
  const routes = new Map<string, number>();
  const records: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const raw = req.url ?? "/";
      const match = /^\/([^/?#]+)(.*)$/.exec(raw);
      const vendor = match?.[1] ?? "";
      const rest = match?.[2] ?? "";
      const url = rest.startsWith("/") ? rest : `/${rest}`;
      // The request half of every record this exchange produces.
      const sent = {
        vendor,
        method: req.method ?? "",
        url,
        headers: req.headers,
        body: body.toString("utf8"),
      };
      const prismPort = routes.get(vendor);
      if (prismPort === undefined) {
        records.push({
          ...sent,
          url: raw,
          status: 599,
          violations: [
            { location: ["request", "path"], severity: "Error", message: `no vendor route for ${raw}` },
          ],
          responseViolations: [],
        });
        res.writeHead(599, { "content-type": "application/json" });
        res.end('{"error":"no such vendor route"}');
        return;
      }
      const headers = { ...req.headers, host: `${HOST}:${prismPort}` };
      const upstream = httpRequest(
        { host: HOST, port: prismPort, method: req.method, path: url, headers },
        (upstreamRes) => {
          const out: Buffer[] = [];
          upstreamRes.on("data", (chunk: Buffer) => out.push(chunk));
          upstreamRes.on("end", () => {
            const responseBody = Buffer.concat(out);
            const all = parseViolations(upstreamRes.headers["sl-violations"]);
            let prismError: string | undefined;
            const contentType = String(upstreamRes.headers["content-type"] ?? "");
            if (contentType.includes("problem+json")) {
              try {
                const problem = JSON.parse(responseBody.toString("utf8")) as {
                  type?: unknown;
                  detail?: unknown;
                  validation?: unknown;
                };
                if (typeof problem.type === "string" && problem.type.startsWith(PRISM_ERROR_TYPE_PREFIX)) {
                  const detail = Array.isArray(problem.validation)
                    ? JSON.stringify(problem.validation)
                    : String(problem.detail ?? "");
                  prismError = `${problem.type.slice(PRISM_ERROR_TYPE_PREFIX.length)}: ${detail}`;
                }
              } catch {
                // a spec-defined problem body, not Prism's own error
              }
            }
            records.push({
              ...sent,
              status: upstreamRes.statusCode ?? 0,
              violations: all.filter((v) => v.location?.[0] !== "response"),
              responseViolations: all.filter((v) => v.location?.[0] === "response"),
              ...(prismError !== undefined ? { prismError } : {}),
            });
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            res.end(responseBody);
          });
        },
      );
      upstream.on("error", (error) => {
        // Prism died on this request (it throws on some inputs it cannot deserialize).
        records.push({
          ...sent,
          status: 0,
          violations: [],
          responseViolations: [],
          prismError: `no response from Prism: ${error.message}`,
        });
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `proxy: ${error.message}` }));
      });
      upstream.end(body);
    });
  });
  const listening = await listenOnLoopback(server);
  return {
    origin: listening.origin,
    records,
    route: (vendor, prismPort) => routes.set(vendor, prismPort),
    close: listening.close,
  };
}
