/**
 * Runs one of the test MCP servers by hand, or as a child process (the bench):
 *
 *   node_modules/.bin/node test/support/mcp-servers/run.ts stateless --port 9000
 *   node_modules/.bin/node test/support/mcp-servers/run.ts stateful|oauth|everything
 *
 * The first stdout line is JSON (`{"kind","url","origin"}`); the rest goes to stderr. Runs until
 * Ctrl-C, SIGTERM, or the end of stdin when stdin is a pipe (a parent that goes away). The
 * `/_control/*` routes (`http-host.ts`) switch faults: `curl -X POST <origin>/_control/fail`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startEverythingServer } from "./everything-server.ts";
import { startOAuthServer } from "./oauth-server.ts";
import { startStatefulServer } from "./stateful-server.ts";
import { startStatelessServer } from "./stateless-server.ts";

const STARTERS = {
  stateless: startStatelessServer,
  stateful: startStatefulServer,
  oauth: startOAuthServer,
  everything: startEverythingServer,
} as const;
type Kind = keyof typeof STARTERS;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: "string" } },
});
const kind = positionals[0] as Kind | undefined;
if (kind === undefined || !(kind in STARTERS)) {
  console.error(`usage: run.ts <${Object.keys(STARTERS).join("|")}> [--port N]`);
  process.exit(2);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
  console.error(`--port must be a TCP port number, got ${values.port}`);
  process.exit(2);
}

const server = await STARTERS[kind](port === undefined ? {} : { port });
process.stdout.write(`${JSON.stringify({ kind, url: server.url, origin: server.origin })}\n`);
console.error(`${kind} MCP server at ${server.url} (Ctrl-C stops)`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.stop().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (!process.stdin.isTTY) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
