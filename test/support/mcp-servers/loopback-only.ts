/**
 * Preloaded (`node --import`) into servers we do not write, such as server-everything, whose
 * `app.listen(PORT)` binds every interface: a listen given a port and no host binds 127.0.0.1,
 * so nothing a test starts is reachable from another machine.
 *
 * @module
 */
import { Server } from "node:net";

const listen = Server.prototype.listen;
const NUMERIC = /^\d+$/;

Server.prototype.listen = function listenOnLoopback(this: Server, ...args: unknown[]) {
  const [port, host] = args;
  const portOnly = typeof port === "number" || (typeof port === "string" && NUMERIC.test(port));
  if (portOnly && typeof host !== "string") args.splice(1, 0, "127.0.0.1");
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
