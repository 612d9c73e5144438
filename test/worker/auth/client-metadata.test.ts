/**
 * Client ID Metadata Documents (MCP 2025-11-25's recommended registration): the client's id is
 * an https URL, and the gateway fetches the client's metadata from it instead of a registration.
 * The library enables them only under the `global_fetch_strictly_public` compatibility flag,
 * which wrangler.toml sets (this project's Worker tests run with it). The document is served by
 * the local auth servers on 127.0.0.1; the Worker's fetch of the client's https URL is routed
 * there, as DNS would route it to the client's server.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  authEnv,
  authorize,
  authServersOrigin,
  Browser,
  gatewayFetch,
  mcp,
  mcpResult,
  pkceAuthorizeUrl,
  type TestEnv,
  tokenRequest,
} from "./helpers.ts";

const CLIENT_ORIGIN = "https://client.cimd.test";
const CLIENT_ID = `${CLIENT_ORIGIN}/oauth/client.json`;
/** A document whose `client_id` is not the URL it is served at: must be refused. */
const IMPOSTOR_ID = `${CLIENT_ORIGIN}/oauth/impostor.json`;

let env: TestEnv;
const fetched: string[] = [];

beforeAll(async () => {
  env = await authEnv();
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== CLIENT_ORIGIN) return realFetch(input, init);
    fetched.push(url.href);
    const as = url.href === IMPOSTOR_ID ? "https://someone-else.example/client.json" : url.href;
    return realFetch(`${authServersOrigin()}/cimd${url.pathname}?as=${encodeURIComponent(as)}`, {
      headers: { accept: "application/json" },
    });
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

describe("client ID metadata documents", () => {
  it("are advertised in the authorization server metadata", async () => {
    const res = await gatewayFetch(env, "/.well-known/oauth-authorization-server");
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);
  });

  it("a client known only by its metadata URL completes the flow and calls tools", async () => {
    const authorized = await authorize(new Browser(env), "alice", { clientId: CLIENT_ID });
    expect(fetched).toContain(CLIENT_ID);
    expect(authorized.consentHtml).toContain("CIMD Test Client");
    const token = await tokenRequest(env, {
      grant_type: "authorization_code",
      code: authorized.code,
      redirect_uri: authorized.redirectUri,
      code_verifier: authorized.verifier,
      client_id: CLIENT_ID,
      resource: "https://gw.test/v1/mcp",
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const list = await mcpResult<{ tools: unknown[] }>(await mcp(env, "/v1/mcp", access_token, "tools/list"));
    expect(list.tools.length).toBeGreaterThan(0);
  });

  it("refuses a document that names another client id, with a JSON error", async () => {
    const browser = new Browser(env);
    await browser.signIn("bob");
    const { url } = await pkceAuthorizeUrl(IMPOSTOR_ID);
    const res = await browser.fetch(url);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
  });
});
