/**
 * What every local node:http stand-in in the tests does alike: listen on an ephemeral
 * 127.0.0.1 port (never a fixed one: other engineers run tests concurrently) and stop
 * without waiting on clients, and read a request body whole.
 *
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

const LOOPBACK_HOST = "127.0.0.1";

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Drops open connections (keep-alive sockets, answers left hanging), then closes the server. */
  close(): Promise<void>;
}

/** Starts `server` listening on an ephemeral port of 127.0.0.1. */
export async function listenOnLoopback(server: Server): Promise<LoopbackServer> {
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK_HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${LOOPBACK_HOST}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The whole request body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
