/**
 * The auth half of the conformance client adapter: `conformance client --command
 * "node scripts/mcp-client-adapter-auth.ts"` runs it with the scenario's MCP URL as the last
 * argument, `MCP_CONFORMANCE_SCENARIO` and (for pre-registered clients) `MCP_CONFORMANCE_CONTEXT`.
 *
 * It drives the gateway's own upstream OAuth code (`src/auth/mcp-oauth.ts`) headlessly: on a
 * 401 it discovers, registers, authorizes (the conformance authorization server approves at
 * once: the adapter follows its redirect to read the code), exchanges the code and retries; on
 * a 403 `insufficient_scope` it authorizes again with the wider scope, at most
 * {@link MAX_AUTHORIZATIONS} times per request. It then initializes, lists tools and calls the
 * first one over plain fetch. The `auth/client-credentials-*` extension scenarios use the
 * client-credentials grant (secret or private-key JWT) from the context instead.
 *
 * Exit code 0 when the calls succeeded; 1 with the reason on stderr otherwise.
 */
import { importPKCS8 } from "jose";
import * as oauth from "oauth4webapi";
import {
  boundedFetch,
  clientAuth,
  discoverMcpAuthorization,
  exchangeMcpCode,
  joinScopes,
  type McpAuthDiscovery,
  type McpOAuthClient,
  mcpAuthorizationUrl,
  parseBearerChallenge,
  registerMcpClient,
} from "../src/auth/mcp-oauth.ts";

/** The conformance suite's client ID metadata document URL (it does not need to resolve). */
export const CONFORMANCE_CIMD_URL = "https://conformance-test.local/client-metadata.json";
const REDIRECT_URI = "http://localhost:3000/callback";
/** Authorizations per request: the first, then step-ups; a server that keeps refusing is given up on. */
export const MAX_AUTHORIZATIONS = 3;
const REQUEST_TIMEOUT_MS = 20_000;

interface Context {
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
}

class AuthClient {
  private token: string | undefined;
  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private client: McpOAuthClient | undefined;
  private scope: string | undefined;
  private nextId = 1;
  private readonly url: URL;
  private readonly scenario: string;
  private readonly context: Context;
  private readonly signal: AbortSignal;

  constructor(url: URL, scenario: string, context: Context, signal: AbortSignal) {
    this.url = url;
    this.scenario = scenario;
    this.context = context;
    this.signal = signal;
  }

  /** Sends one JSON-RPC message, authorizing on 401/403 as the spec says. */
  async rpc(method: string, params?: Record<string, unknown>, notification = false): Promise<unknown> {
    for (let authorizations = 0; ; ) {
      const response = await fetch(this.url, {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify({
          jsonrpc: "2.0",
          method,
          ...(params === undefined ? {} : { params }),
          ...(notification ? {} : { id: this.nextId++ }),
        }),
        signal: this.signal,
      });
      if (response.status === 401 || response.status === 403) {
        const challenge = response.headers.get("www-authenticate");
        await response.body?.cancel();
        const parsed = parseBearerChallenge(challenge);
        if (response.status === 403 && parsed?.error !== "insufficient_scope") {
          throw new Error(`${method}: HTTP 403 without insufficient_scope`);
        }
        if (authorizations >= MAX_AUTHORIZATIONS) {
          throw new Error(`${method}: still HTTP ${response.status} after ${authorizations} authorizations`);
        }
        authorizations++;
        await this.authorize(challenge, response.status === 403);
        continue;
      }
      const session = response.headers.get("mcp-session-id");
      if (session !== null) this.sessionId = session;
      if (!response.ok)
        throw new Error(`${method}: HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
      if (notification) {
        await response.body?.cancel();
        return undefined;
      }
      const message = await readMessage(response);
      if (message.error !== undefined) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
      return message.result;
    }
  }

  private headers(): Record<string, string> {
    return {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...(this.token === undefined ? {} : { Authorization: `Bearer ${this.token}` }),
      ...(this.sessionId === undefined ? {} : { "Mcp-Session-Id": this.sessionId }),
      ...(this.protocolVersion === undefined ? {} : { "MCP-Protocol-Version": this.protocolVersion }),
    };
  }

  private async authorize(wwwAuthenticate: string | null, stepUp: boolean): Promise<void> {
    const options = { signal: this.signal };
    const discovery = await discoverMcpAuthorization(this.url, wwwAuthenticate, options);
    if (this.scenario.startsWith("auth/client-credentials-")) {
      this.token = await this.clientCredentials(discovery);
      return;
    }
    // Step-up keeps what was granted and adds what the challenge asks for.
    const scope = stepUp ? joinScopes(this.scope, discovery.scope) : discovery.scope;
    this.client ??= await registerMcpClient(discovery.server, {
      ...options,
      preRegistered:
        this.context.client_id === undefined
          ? undefined
          : { clientId: this.context.client_id, clientSecret: this.context.client_secret },
      metadataDocumentUrl: CONFORMANCE_CIMD_URL,
      redirectUri: REDIRECT_URI,
      clientName: "mcp-edge-gateway conformance adapter",
    });
    const state = oauth.generateRandomState();
    const verifier = oauth.generateRandomCodeVerifier();
    const location = await mcpAuthorizationUrl(discovery.server, this.client, {
      redirectUri: REDIRECT_URI,
      state,
      verifier,
      scope,
      resource: discovery.resource,
    });
    // The "browser": the conformance server approves at once and redirects with the code.
    const approval = await fetch(location, { redirect: "manual", signal: this.signal });
    await approval.body?.cancel();
    const redirect = approval.headers.get("location");
    if (redirect === null)
      throw new Error(`authorization endpoint answered ${approval.status} without a redirect`);
    const callback = new URL(redirect, location);
    const tokens = await exchangeMcpCode(
      discovery.server,
      this.client,
      callback.searchParams,
      { state, redirectUri: REDIRECT_URI, verifier, resource: discovery.resource },
      options,
    );
    this.token = tokens.accessToken;
    this.scope = tokens.scope ?? scope;
  }

  private async clientCredentials(discovery: McpAuthDiscovery): Promise<string> {
    const { client_id: clientId, client_secret: secret, private_key_pem: pem } = this.context;
    if (clientId === undefined) throw new Error("the scenario's context names no client");
    const as: oauth.AuthorizationServer = {
      issuer: discovery.server.issuer,
      token_endpoint: discovery.server.tokenEndpoint,
    };
    const client: oauth.Client = { client_id: clientId };
    const auth =
      pem !== undefined
        ? oauth.PrivateKeyJwt(await importPKCS8(pem, this.context.signing_algorithm ?? "ES256"))
        : clientAuth({ clientSecret: secret ?? "", authMethod: "client_secret_basic" });
    const parameters: Record<string, string> = { resource: discovery.resource };
    if (discovery.scope !== undefined) parameters.scope = discovery.scope;
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, {
      signal: this.signal,
      [oauth.customFetch]: boundedFetch(),
      [oauth.allowInsecureRequests]: new URL(discovery.server.tokenEndpoint).protocol === "http:",
    });
    return (await oauth.processClientCredentialsResponse(as, client, response)).access_token;
  }

  async initialize(): Promise<void> {
    const result = (await this.rpc("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "mcp-edge-gateway-conformance-auth", version: "1.0.0" },
    })) as { protocolVersion?: string };
    this.protocolVersion = result.protocolVersion ?? "2025-11-25";
    await this.rpc("notifications/initialized", undefined, true);
  }
}

/** The JSON-RPC response in a JSON or SSE body. */
async function readMessage(response: Response): Promise<{ result?: unknown; error?: unknown }> {
  const text = await response.text();
  if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) return JSON.parse(text);
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).trimStart())
      .join("\n");
    if (data === "") continue;
    const message = JSON.parse(data) as { id?: unknown; result?: unknown; error?: unknown };
    if (message.id !== undefined && (message.result !== undefined || message.error !== undefined))
      return message;
  }
  throw new Error("the event stream ended without a response");
}

async function main(): Promise<void> {
  const target = process.argv.at(-1);
  if (target === undefined || !/^https?:\/\//.test(target))
    throw new Error("usage: mcp-client-adapter-auth.ts <mcp-url>");
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
  const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}") as Context;
  const client = new AuthClient(new URL(target), scenario, context, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  await client.initialize();
  const listed = (await client.rpc("tools/list", {})) as { tools?: { name: string }[] };
  const first = listed.tools?.[0];
  if (first !== undefined) await client.rpc("tools/call", { name: first.name, arguments: {} });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
