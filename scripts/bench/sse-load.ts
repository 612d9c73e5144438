/**
 * Load for servers that answer `tools/call` with 202 and deliver the result on the
 * session's GET event stream (@ivotoby/openapi-mcp-server's own HTTP transport does
 * this; autocannon would only time the 202). Same closed loop as autocannon: each of
 * `connections` virtual clients keeps one call in flight on a keep-alive connection and
 * times it from POST to the matching event on its stream.
 */
import { Agent, request } from "node:http";
import type { LoadResult } from "./load.ts";
import { initialize, isExpectedCallResult, MCP_HEADERS, type RpcMessage, toolCallBody } from "./mcp.ts";

const CALL_TIMEOUT_MS = 10_000;
/** The first calls may race the GET stream's registration on the server: retry a few, briefly. */
const WARMUP_ATTEMPTS = 10;
const WARMUP_TIMEOUT_MS = 1_000;
let warmups = 0;

interface Client {
  headers: Record<string, string>;
  agent: Agent;
  pending: Map<string, (message: RpcMessage) => void>;
  close: () => void;
}

async function openClient(url: string, toolName: string): Promise<Client> {
  const headers = await initialize(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const pending = new Map<string, (message: RpcMessage) => void>();
  const target = new URL(url);
  const stream = request({
    host: target.hostname,
    port: target.port,
    path: target.pathname,
    method: "GET",
    headers: { ...headers, accept: "text/event-stream" },
  });
  // The server sends the stream's headers only with its first event, so "response" fires
  // with the first answer; readiness is proven below by a warm-up call instead.
  let streamError: Error | undefined;
  stream.on("error", (error) => {
    streamError = error;
  });
  stream.on("response", (res) => {
    if (res.statusCode !== 200) {
      streamError = new Error(`GET stream: HTTP ${res.statusCode}`);
      return;
    }
    let buffer = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          try {
            const message = JSON.parse(line.slice(5)) as RpcMessage;
            const done = pending.get(String(message.id));
            if (done) {
              pending.delete(String(message.id));
              done(message);
            }
          } catch {
            // not a JSON-RPC event
          }
        }
        end = buffer.indexOf("\n\n");
      }
    });
  });
  stream.end();
  const close = () => {
    stream.destroy();
    agent.destroy();
  };
  const client: Client = { headers, agent, pending, close };
  for (let attempt = 0; attempt < WARMUP_ATTEMPTS; attempt++) {
    if (streamError) throw streamError;
    const message = await call(new URL(url), client, toolName, `warmup-${warmups++}`, WARMUP_TIMEOUT_MS);
    if (message) return client;
  }
  client.close();
  throw new Error(`no answer on the GET stream of ${url} after ${WARMUP_ATTEMPTS} warm-up calls`);
}

/** One call: POST, then the matching event; undefined on timeout or transport error. */
async function call(
  target: URL,
  client: Client,
  toolName: string,
  id: string,
  timeoutMs: number,
): Promise<RpcMessage | undefined> {
  const answer = new Promise<RpcMessage | undefined>((resolve) => {
    const timer = setTimeout(() => {
      client.pending.delete(id);
      resolve(undefined);
    }, timeoutMs);
    client.pending.set(id, (message) => {
      clearTimeout(timer);
      resolve(message);
    });
  });
  const status = await post(target, client, toolCallBody(toolName, id));
  if (status < 200 || status >= 300) {
    client.pending.delete(id);
    throw new Error(`HTTP ${status}`);
  }
  return answer;
}

function post(url: URL, client: Client, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent: client.agent,
        headers: { ...MCP_HEADERS, ...client.headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Closed-loop load against an async-result MCP server; results shaped like `runLoad`'s. */
export async function runSseLoad(
  url: string,
  toolName: string,
  connections: number,
  durationSeconds: number,
): Promise<LoadResult> {
  const clients = await Promise.all(Array.from({ length: connections }, () => openClient(url, toolName)));
  const target = new URL(url);
  const latencies: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let mismatches = 0;
  let non2xx = 0;
  let seq = 0;
  const started = performance.now();
  const deadline = started + durationSeconds * 1000;
  await Promise.all(
    clients.map(async (client, index) => {
      while (performance.now() < deadline) {
        // The server maps ids to sessions globally: ids must be unique across clients.
        const id = `c${index}-${seq++}`;
        const t0 = performance.now();
        let message: RpcMessage | undefined;
        try {
          message = await call(target, client, toolName, id, CALL_TIMEOUT_MS);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith("HTTP ")) non2xx++;
          else errors++;
          continue;
        }
        if (!message) {
          timeouts++;
          continue;
        }
        latencies.push(performance.now() - t0);
        if (!isExpectedCallResult(message)) mismatches++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const client of clients) client.close();
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[
          Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
        ] as number);
  const sum = latencies.reduce((a, b) => a + b, 0);
  return {
    connections,
    durationSeconds: elapsed,
    requests: latencies.length,
    throughput: latencies.length / elapsed,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    meanMs: latencies.length > 0 ? sum / latencies.length : Number.NaN,
    errors,
    timeouts,
    non2xx,
    mismatches,
  };
}
