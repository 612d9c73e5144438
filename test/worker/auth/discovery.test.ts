import { beforeAll, describe, expect, it } from "vitest";
import { authEnv, gatewayFetch, ORIGIN, type TestEnv } from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

describe("protected resource metadata (RFC 9728)", () => {
  it("serves the unified endpoint's metadata at the path-suffixed and the root form", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource/v1/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const res = await gatewayFetch(env, path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.resource).toBe(`${ORIGIN}/v1/mcp`);
      expect(body.authorization_servers).toEqual([ORIGIN]);
      expect(body.scopes_supported).toEqual(["mcp:read", "mcp:write"]);
      expect(body.bearer_methods_supported).toEqual(["header"]);
    }
  });

  it("serves each vendor endpoint's own metadata", async () => {
    const res = await gatewayFetch(env, "/.well-known/oauth-protected-resource/v1/auth-key/mcp");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.resource).toBe(`${ORIGIN}/v1/auth-key/mcp`);
  });

  it("answers JSON 404 for an unknown resource and any other /.well-known/ path", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource/v1/no-such-vendor/mcp",
      "/.well-known/oauth-protected-resource/elsewhere",
      "/.well-known/openid-configuration",
      "/.well-known/nothing-here",
    ]) {
      const res = await gatewayFetch(env, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toMatch(/application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(typeof body.error, path).toBe("string");
      expect(typeof body.error_description, path).toBe("string");
    }
  });

  it("answers 405 as JSON for a POST to metadata", async () => {
    const res = await gatewayFetch(env, "/.well-known/oauth-protected-resource/v1/mcp", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });
});

describe("authorization server metadata (RFC 8414)", () => {
  it("advertises code + PKCE S256 only, registration, revocation and every MCP resource", async () => {
    const res = await gatewayFetch(env, "/.well-known/oauth-authorization-server");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.issuer).toBe(ORIGIN);
    expect(body.authorization_endpoint).toBe(`${ORIGIN}/authorize`);
    expect(body.token_endpoint).toBe(`${ORIGIN}/oauth/token`);
    expect(body.registration_endpoint).toBe(`${ORIGIN}/oauth/register`);
    expect(body.revocation_endpoint).toBe(`${ORIGIN}/oauth/token`);
    expect(body.code_challenge_methods_supported).toEqual(["S256"]);
    expect(body.response_types_supported).toEqual(["code"]);
    expect(body.grant_types_supported).toEqual(
      expect.arrayContaining(["authorization_code", "refresh_token"]),
    );
    expect(body.grant_types_supported).not.toContain("implicit");
    expect(body.scopes_supported).toEqual(["mcp:read", "mcp:write", "offline_access"]);
    expect(body.protected_resources).toEqual(
      expect.arrayContaining([
        `${ORIGIN}/v1/mcp`,
        `${ORIGIN}/v1/auth-key/mcp`,
        `${ORIGIN}/v1/auth-oauth/mcp`,
      ]),
    );
  });
});

describe("unauthenticated MCP requests", () => {
  it("get 401 with a Bearer challenge naming the resource metadata and scopes, as JSON", async () => {
    for (const [path, metadata] of [
      ["/v1/mcp", "/.well-known/oauth-protected-resource/v1/mcp"],
      ["/v1/auth-key/mcp", "/.well-known/oauth-protected-resource/v1/auth-key/mcp"],
    ] as const) {
      const res = await gatewayFetch(env, path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(res.status, path).toBe(401);
      const challenge = res.headers.get("www-authenticate") ?? "";
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain(`resource_metadata="${ORIGIN}${metadata}"`);
      expect(challenge).toContain('scope="mcp:read mcp:write"');
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(((await res.json()) as { error: string }).error).toBe("unauthorized");
    }
  });

  it("get invalid_token for a token that was never issued", async () => {
    const res = await gatewayFetch(env, "/v1/mcp", {
      method: "POST",
      headers: { authorization: "Bearer alice:nogrant:bogus", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(((await res.json()) as { error: string }).error).toBe("invalid_token");
  });

  it("never reach the app for an unknown /v1/ path", async () => {
    const res = await gatewayFetch(env, "/v1/not-a-vendor/mcp", { method: "POST" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("still reach /health without a token", async () => {
    const res = await gatewayFetch(env, "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("unknown /oauth/ paths", () => {
  it("answer RFC 6749-shaped JSON, never HTML", async () => {
    for (const path of ["/oauth/nothing", "/oauth/vendors/no-such/callback", "/oauth/token/extra"]) {
      const res = await gatewayFetch(env, path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.headers.get("content-type"), path).toMatch(/application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(typeof body.error, path).toBe("string");
    }
  });
});
