/**
 * A real HTTP upstream (node:http) that answers with a chosen fault, for the
 * resilience tests. Runs in Node (vitest globalSetup); tests inside workerd
 * reach it over 127.0.0.1 on an ephemeral port.
 *
 * Requests: `<METHOD> [/idempotent]/faults/<key>/<mode>[?query]`. `key` isolates one test's
 * attempts from every other test's (use a fresh key per test); every request is
 * counted under its key. `GET /_control/attempts/<key>` returns
 * `{ count, attempts: [{ method, idempotencyKey, at }] }`.
 *
 * Modes:
 * - `ok`: 200 `{"ok":true,"attempt":n}`
 * - `status-<code>`: that status with a JSON error body
 * - `html-<code>`: that status with an HTML page (what a proxy in front answers)
 * - `retry-after-<code>-<seconds>`: that status with `Retry-After: <seconds>`
 * - `retry-after-date-<code>-<seconds>`: the same with an HTTP date
 * - `flaky-<n>-<code>`: `<code>` for the first n attempts, then `ok`
 * - `malformed`: 200 `application/json` that is not JSON
 * - `hang`: never answers (until the client gives up)
 * - `hang-body`: 200 headers and the start of a body, then nothing
 * - `huge-<bytes>`: 200 JSON of about that many bytes, streamed
 * - `drift`: 200 JSON that breaks the documented schema (`ok` is a string)
 * - `secrets[-<code>]`: JSON with credential-like keys (status 200 or `<code>`), for sanitization
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback } from "./local-http.ts";

interface Attempt {
  method: string;
  idempotencyKey: string | null;
  at: number;
}

export interface FaultUpstream {
  url: string;
  close(): Promise<void>;
}

const HUGE_CHUNK = "x".repeat(64 * 1024);

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

type FaultHandler = (m: RegExpExecArray, req: IncomingMessage, res: ServerResponse, attempt: number) => void;

function streamHuge(res: ServerResponse, total: number): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.write('{"data":"');
  let sent = 10;
  const pump = (): void => {
    while (sent + HUGE_CHUNK.length < total) {
      sent += HUGE_CHUNK.length;
      if (!res.write(HUGE_CHUNK)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end('"}');
  };
  res.on("error", () => {});
  pump();
}

const FAULTS: ReadonlyArray<[RegExp, FaultHandler]> = [
  [/^ok$/, (_m, _req, res, attempt) => json(res, 200, { ok: true, attempt })],
  [
    /^status-(\d{3})$/,
    (m, _req, res, attempt) => json(res, Number(m[1]), { error: `fault ${m[1]}`, attempt }),
  ],
  [
    /^html-(\d{3})$/,
    (m, _req, res) => {
      res.writeHead(Number(m[1]), { "content-type": "text/html; charset=utf-8" });
      res.end(
        `<!DOCTYPE html><html><head><title>${m[1]} Bad Gateway</title></head><body><h1>Error ${m[1]}</h1></body></html>`,
      );
    },
  ],
  [
    /^retry-after-(\d{3})-(\d+)$/,
    (m, _req, res, attempt) =>
      json(res, Number(m[1]), { error: "slow down", attempt }, { "retry-after": m[2]! }),
  ],
  [
    /^retry-after-date-(\d{3})-(\d+)$/,
    (m, _req, res, attempt) => {
      const when = new Date(Date.now() + Number(m[2]) * 1000).toUTCString();
      json(res, Number(m[1]), { error: "slow down", attempt }, { "retry-after": when });
    },
  ],
  [
    /^flaky-(\d+)-(\d{3})$/,
    (m, _req, res, attempt) => {
      if (attempt <= Number(m[1])) json(res, Number(m[2]), { error: `fault ${m[2]}`, attempt });
      else json(res, 200, { ok: true, attempt });
    },
  ],
  [
    /^malformed$/,
    (_m, _req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok": tru');
    },
  ],
  // Never answer; release the socket when the client gives up.
  [/^hang$/, (_m, req, res) => req.socket.once("close", () => res.destroy())],
  // Headers and the start of a JSON body, then nothing more.
  [
    /^hang-body$/,
    (_m, req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"ok": ');
      req.socket.once("close", () => res.destroy());
    },
  ],
  [/^huge-(\d+)$/, (m, _req, res) => streamHuge(res, Number(m[1]))],
  [/^drift$/, (_m, _req, res, attempt) => json(res, 200, { ok: "yes", attempt })],
  [
    /^secrets(?:-(\d{3}))?$/,
    (m, _req, res, attempt) =>
      json(res, m[1] ? Number(m[1]) : 200, {
        ok: true,
        attempt,
        user: { name: "ada", password: "hunter2", apiKey: "k-123", session: { session_id: "s-1" } },
        access_token: "at-1",
      }),
  ],
];

function handleFault(req: IncomingMessage, res: ServerResponse, mode: string, attempt: number): void {
  for (const [pattern, handler] of FAULTS) {
    const m = pattern.exec(mode);
    if (m) {
      handler(m, req, res, attempt);
      return;
    }
  }
  json(res, 400, { error: `unknown fault mode ${mode}` });
}

/** Starts the fault upstream on an ephemeral 127.0.0.1 port. */
export async function startFaultUpstream(): Promise<FaultUpstream> {
  const attempts = new Map<string, Attempt[]>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    // `/idempotent/faults/…` is the same fault behind an operation that takes an Idempotency-Key.
    if (parts[0] === "idempotent") parts.shift();
    if (parts[0] === "_control" && parts[1] === "attempts" && parts[2]) {
      const list = attempts.get(parts[2]) ?? [];
      return json(res, 200, { count: list.length, attempts: list });
    }
    if (parts[0] === "faults" && parts[1] && parts[2]) {
      const key = parts[1];
      const list = attempts.get(key) ?? [];
      const idem = req.headers["idempotency-key"];
      list.push({
        method: req.method ?? "GET",
        idempotencyKey: typeof idem === "string" ? idem : null,
        at: Date.now(),
      });
      attempts.set(key, list);
      // Drain the request body before answering so the client sees a clean exchange.
      req.resume();
      req.once("end", () => handleFault(req, res, parts[2]!, list.length));
      return;
    }
    json(res, 404, { error: "no such fault route" });
  });
  server.keepAliveTimeout = 1000;
  const listening = await listenOnLoopback(server);
  return { url: listening.origin, close: listening.close };
}

/** A 127.0.0.1 URL nobody listens on (bound once, then released): connection refused. */
export async function closedPortUrl(): Promise<string> {
  const listening = await listenOnLoopback(createServer());
  await listening.close();
  return listening.origin;
}
