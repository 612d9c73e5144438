/**
 * vitest globalSetup (workers project): starts the upstream MCP servers once and provides
 * where they listen (`inject("mcpServers")`). Tests inside workerd switch their faults, open
 * their gates and restart them over HTTP: `POST <origin>/_control/<route>` with `fail[?status=502]`,
 * `hang`, `stall`, `heal`, `release-hung`, `restart` (`http-host.ts`), `release?key=…`,
 * `redefine?changed=1|0` (`catalog.ts`); the OAuth
 * server adds `expire-tokens[?token=]`, `revoke-all` and `requests[?since=]`, the stateful one `sessions` (live sessions and
 * handshakes). server-everything is started only when the package is installed (`everything` is
 * then set).
 *
 * Servers are shared by every test file: a test that switches a fault heals it in `afterEach`.
 *
 * @module
 */
import type { TestProject } from "vitest/node";
import { everythingEntry, startEverythingServer } from "./everything-server.ts";
import { startOAuthServer } from "./oauth-server.ts";
import { startStatefulServer } from "./stateful-server.ts";
import { startStatelessServer } from "./stateless-server.ts";

export interface ProvidedMcpServer {
  /** The MCP endpoint. */
  url: string;
  /** Where `/_control/*` lives. */
  origin: string;
}

export interface ProvidedMcpServers {
  stateless: ProvidedMcpServer;
  stateful: ProvidedMcpServer;
  oauth: ProvidedMcpServer;
  everything?: ProvidedMcpServer;
}

declare module "vitest" {
  export interface ProvidedContext {
    mcpServers: ProvidedMcpServers;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [stateless, stateful, oauth, everything] = await Promise.all([
    startStatelessServer(),
    startStatefulServer(),
    startOAuthServer(),
    everythingEntry() === undefined ? undefined : startEverythingServer(),
  ]);
  const where = (s: ProvidedMcpServer) => ({ url: s.url, origin: s.origin });
  project.provide("mcpServers", {
    stateless: where(stateless),
    stateful: where(stateful),
    oauth: where(oauth),
    ...(everything === undefined ? {} : { everything: where(everything) }),
  });
  return async () => {
    await Promise.all([stateless.stop(), stateful.stop(), oauth.stop(), everything?.stop()]);
  };
}
