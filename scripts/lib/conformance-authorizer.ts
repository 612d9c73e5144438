/**
 * The {@link McpAuthorizer} the conformance adapter (scripts/mcp-client-adapter.ts) gives the
 * gateway's upstream connection for the suite's `auth/*` client scenarios. It drives the
 * gateway's own upstream OAuth code (`src/auth/mcp-oauth.ts`) headlessly: on a 401 it discovers,
 * registers, authorizes (the conformance authorization server approves at once: it follows the
 * redirect to read the code) and exchanges the code; on a 403 `insufficient_scope` it authorizes
 * again for the wider scope. The `auth/client-credentials-*` extension scenarios use the
 * client-credentials grant (secret or private-key JWT) from the scenario's context instead.
 *
 * Retries: the connection retries a refused request once, so a server that keeps refusing costs
 * one authorization per request; {@link MAX_AUTHORIZATIONS} bounds them over the whole run.
 *
 * @module
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
  registerMcpClient,
} from "../../src/auth/mcp-oauth.ts";
import type { McpAuthorizer } from "../../src/mcp-upstream/connection.ts";

/** The conformance suite's client ID metadata document URL (it does not need to resolve). */
export const CONFORMANCE_CIMD_URL = "https://conformance-test.local/client-metadata.json";
const REDIRECT_URI = "http://localhost:3000/callback";
/** Authorizations in one run: the first, then step-ups; a server that keeps refusing is given up on. */
export const MAX_AUTHORIZATIONS = 3;

/** The scenario context fields the auth scenarios pass (pre-registered and client-credentials clients). */
export interface AuthScenarioContext {
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
}

/** A headless OAuth client for the MCP server at `url`, as the scenario `scenario` expects it. */
export function conformanceAuthorizer(
  url: URL,
  scenario: string,
  context: AuthScenarioContext,
): McpAuthorizer {
  let token: string | undefined;
  let scope: string | undefined;
  let client: McpOAuthClient | undefined;
  let authorizations = 0;

  async function authorizationCode(discovery: McpAuthDiscovery, stepUp: boolean, signal: AbortSignal) {
    // Step-up keeps what was granted and adds what the challenge asks for.
    const wanted = stepUp ? joinScopes(scope, discovery.scope) : discovery.scope;
    client ??= await registerMcpClient(discovery.server, {
      signal,
      preRegistered:
        context.client_id === undefined
          ? undefined
          : { clientId: context.client_id, clientSecret: context.client_secret },
      metadataDocumentUrl: CONFORMANCE_CIMD_URL,
      redirectUri: REDIRECT_URI,
      clientName: "mcp-edge-gateway conformance adapter",
    });
    const state = oauth.generateRandomState();
    const verifier = oauth.generateRandomCodeVerifier();
    const location = await mcpAuthorizationUrl(discovery.server, client, {
      redirectUri: REDIRECT_URI,
      state,
      verifier,
      scope: wanted,
      resource: discovery.resource,
    });
    // The "browser": the conformance server approves at once and redirects with the code.
    const approval = await fetch(location, { redirect: "manual", signal });
    await approval.body?.cancel();
    const redirect = approval.headers.get("location");
    if (redirect === null)
      throw new Error(`authorization endpoint answered ${approval.status} without a redirect`);
    const tokens = await exchangeMcpCode(
      discovery.server,
      client,
      new URL(redirect, location).searchParams,
      { state, redirectUri: REDIRECT_URI, verifier, resource: discovery.resource },
      { signal },
    );
    token = tokens.accessToken;
    scope = tokens.scope ?? wanted;
  }

  async function clientCredentials(discovery: McpAuthDiscovery, signal: AbortSignal) {
    const { client_id: clientId, client_secret: secret, private_key_pem: pem } = context;
    if (clientId === undefined) throw new Error("the scenario's context names no client");
    const as: oauth.AuthorizationServer = {
      issuer: discovery.server.issuer,
      token_endpoint: discovery.server.tokenEndpoint,
    };
    const registered: oauth.Client = { client_id: clientId };
    const auth =
      pem !== undefined
        ? oauth.PrivateKeyJwt(await importPKCS8(pem, context.signing_algorithm ?? "ES256"))
        : clientAuth({ clientSecret: secret ?? "", authMethod: "client_secret_basic" });
    const parameters: Record<string, string> = { resource: discovery.resource };
    if (discovery.scope !== undefined) parameters.scope = discovery.scope;
    const response = await oauth.clientCredentialsGrantRequest(as, registered, auth, parameters, {
      signal,
      [oauth.customFetch]: boundedFetch(),
      [oauth.allowInsecureRequests]: new URL(discovery.server.tokenEndpoint).protocol === "http:",
    });
    token = (await oauth.processClientCredentialsResponse(as, registered, response)).access_token;
  }

  return {
    async headers(): Promise<Record<string, string>> {
      return token === undefined ? {} : { authorization: `Bearer ${token}` };
    },
    async challenged(status, wwwAuthenticate, signal) {
      if (authorizations >= MAX_AUTHORIZATIONS) return false;
      authorizations++;
      const discovery = await discoverMcpAuthorization(url, wwwAuthenticate, { signal });
      if (scenario.startsWith("auth/client-credentials-")) await clientCredentials(discovery, signal);
      else await authorizationCode(discovery, status === 403, signal);
      return true;
    },
    secrets() {
      return token === undefined ? [] : [token];
    },
  };
}
