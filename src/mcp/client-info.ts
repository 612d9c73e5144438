/**
 * What an MCP request says about its client, for the `request` and `tool_call` log events: the
 * JSON-RPC method, the protocol revision and, where the revision carries it per request, the
 * client's name and version. `initialize` (2025 revisions) names the client in `params.clientInfo`;
 * other 2025-era requests carry nothing (the handshake's answer is not kept: the gateway is
 * stateless), so their events have no client; a 2026-07-28 request carries `clientInfo` and its
 * revision in its `_meta` envelope. A `User-Agent` is not a client name and is never used.
 *
 * Everything here is the client's word: strings only, cut to {@link MAX_CLIENT_FIELD_CHARS}, and a
 * revision only when the gateway serves it.
 *
 * @module
 */
import { isRecord } from "../is-record.ts";
import { type McpRequestScope, SUPPORTED_PROTOCOL_VERSIONS } from "./server.ts";

/** A client's name or version longer than this is cut: log fields stay small. */
export const MAX_CLIENT_FIELD_CHARS = 128;

const PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion";
const CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo";

/** The client as a request names it. */
export interface ClientInfo {
  name?: string;
  version?: string;
}

/**
 * Records the message's method, revision and client on the scope. `header`: the request's
 * `MCP-Protocol-Version` (the endpoint has refused an unsupported one already).
 */
export function describeMessage(scope: McpRequestScope, body: unknown, header: string | null): void {
  const message = body as { method?: unknown; params?: unknown };
  if (typeof message.method === "string") scope.method = message.method.slice(0, MAX_CLIENT_FIELD_CHARS);
  const params = isRecord(message.params) ? message.params : undefined;
  const meta = params !== undefined && isRecord(params["_meta"]) ? params["_meta"] : undefined;
  const metaVersion = meta?.[PROTOCOL_VERSION_META_KEY];
  if (header !== null) scope.protocolVersion = header.trim();
  else if (typeof metaVersion === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(metaVersion)) {
    scope.protocolVersion = metaVersion;
  }
  const info = message.method === "initialize" ? params?.["clientInfo"] : meta?.[CLIENT_INFO_META_KEY];
  const client = clientOf(info);
  if (client !== undefined) scope.client = client;
}

function clientOf(value: unknown): ClientInfo | undefined {
  if (!isRecord(value)) return undefined;
  const { name, version } = value;
  const client: ClientInfo = {};
  if (typeof name === "string" && name !== "") client.name = name.slice(0, MAX_CLIENT_FIELD_CHARS);
  if (typeof version === "string" && version !== "")
    client.version = version.slice(0, MAX_CLIENT_FIELD_CHARS);
  return client.name === undefined && client.version === undefined ? undefined : client;
}
