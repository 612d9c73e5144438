/**
 * The benchmark's upstream API (bench/spec/benchapi): one node:http server answering
 * `GET /stores/{storeId}/items/{itemId}` with a small JSON object, plus a stand-in for
 * GitHub the discovery test calls (`POST /repos/{owner}/{repo}/issues` → 201 with issue 42,
 * other `GET /repos/…` → `[]`; every such request is recorded). Loopback only, ephemeral port.
 *
 * Run as a child (`node scripts/bench/upstream.ts`) it prints `{"url": …}` once listening.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

const HOST = "127.0.0.1";
const ITEM_PATH = /^\/stores\/([^/]+)\/items\/(\d+)$/;
/** Bounds the body the GitHub stand-in reads, so a bad client cannot make it buffer forever. */
const MAX_BODY_BYTES = 1_048_576;

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Upstream {
  url: string;
  server: Server;
  /** Requests to non-catalog routes (the GitHub stand-in), newest last. */
  recorded: RecordedRequest[];
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The catalog answer: deterministic for a given request so every server returns the same bytes. */
export function catalogItem(store: string, id: number, currency: string, limit: number) {
  const related: number[] = [];
  for (let i = 1; i <= limit; i++) related.push(id + i);
  return { id, store, name: `Item ${id}`, price: 12.5, currency, related };
}

async function handle(req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest[]): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${HOST}`);
  const match = ITEM_PATH.exec(url.pathname);
  if (match && req.method === "GET") {
    const store = decodeURIComponent(match[1] ?? "");
    const id = Number(match[2]);
    const currency = url.searchParams.get("currency") ?? "EUR";
    const limit = Math.min(10, Math.max(1, Number(url.searchParams.get("limit") ?? "3") || 3));
    sendJson(res, 200, catalogItem(store, id, currency, limit));
    return;
  }
  // GitHub stand-in for the discovery test: echo what arrived so the test can assert on it.
  const body = await readBody(req);
  recorded.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body });
  const issue = /^\/repos\/([^/]+)\/([^/]+)\/issues$/.exec(url.pathname);
  if (issue && req.method === "POST") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      sendJson(res, 400, { message: "Problems parsing JSON" });
      return;
    }
    const title = typeof parsed === "object" && parsed && "title" in parsed ? parsed.title : undefined;
    sendJson(res, 201, {
      id: 1,
      number: 42,
      title,
      state: "open",
      html_url: `https://github.com/${issue[1]}/${issue[2]}/issues/42`,
    });
    return;
  }
  if (req.method === "GET" && url.pathname.startsWith("/repos/")) {
    sendJson(res, 200, []);
    return;
  }
  sendJson(res, 404, { message: "Not Found" });
}

/** Starts the upstream on an ephemeral loopback port. */
export function startUpstream(): Promise<Upstream> {
  const recorded: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    handle(req, res, recorded).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { message: "upstream error" });
      else res.destroy();
    });
  });
  // Keep-alive sockets from load generators and workerd stay open between calls.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${HOST}:${port}`,
        server,
        recorded,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const upstream = await startUpstream();
  process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
  const stop = () => upstream.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // The parent closes stdin when it goes away: never outlive the bench.
  process.stdin.on("end", stop);
  process.stdin.resume();
}
