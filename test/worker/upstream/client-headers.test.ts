/**
 * Through the real MCP endpoint: what the MCP client sends to the gateway (its
 * Authorization, its cookies, any other header) never reaches the upstream.
 */
import { describe, expect, it } from "vitest";
import { UPSTREAM_TEST_SECRETS as SECRETS } from "../../support/upstream-bindings.ts";
import { call, legacyRequest } from "../mcp/helpers.ts";
import type { RecordedRequest } from "./helpers.ts";

const CLIENT_HEADERS = {
  authorization: "Bearer client-token-must-not-leak",
  cookie: "gateway_session=client-cookie-must-not-leak",
  "x-forwarded-for": "203.0.113.9",
  "x-client-secret": "client-header-must-not-leak",
};

async function echoThroughMcp(
  path: string,
  name: string,
  args: Record<string, unknown>,
): Promise<RecordedRequest> {
  const { status, body } = await call(path, legacyRequest("tools/call", { name, arguments: args }), {
    headers: CLIENT_HEADERS,
  });
  expect(status).toBe(200);
  const result = body.result as { isError?: boolean; content: { type: string; text: string }[] };
  expect(result.isError, result.content[0]?.text).toBeFalsy();
  return JSON.parse(result.content[0]!.text) as RecordedRequest;
}

describe("the MCP client's headers are never forwarded", () => {
  it("a tool with upstream auth gets the gateway's credential, not the client's", async () => {
    const echo = await echoThroughMcp("/v1/up-auth/mcp", "withBearer", {});
    // The gateway's token, scrubbed from the echo like every credential it sends (src/redaction/scrub.ts).
    expect(echo.headers.authorization).toBe("Bearer [REDACTED]");
    expect(JSON.stringify(echo)).not.toContain(SECRETS.UP_AUTH_TOKEN);
    expect(JSON.stringify(echo)).not.toMatch(/must-not-leak|203\.0\.113\.9/);
  });

  it("a tool without auth sends no Authorization and only its own cookies", async () => {
    const echo = await echoThroughMcp("/v1/mcp", "up-params_headersAndCookies", { session: "s1" });
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers.cookie).toBe("session=s1");
    expect(echo.headers["x-client-secret"]).toBeUndefined();
    expect(JSON.stringify(echo)).not.toMatch(/must-not-leak|203\.0\.113\.9/);
  });
});
