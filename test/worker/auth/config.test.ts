import { describe, expect, it } from "vitest";
import { hashPassword, PBKDF2_MAX_ITERATIONS, verifyPassword } from "../../../src/auth/password.ts";
import { authEnv, Browser, dumpKv, gatewayFetch, mcp, tokensFor } from "./helpers.ts";

async function jsonBody(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

describe("GATEWAY_AUTH", () => {
  it("none: MCP needs no token, and the OAuth surface answers JSON 404", async () => {
    const env = await authEnv({ GATEWAY_AUTH: "none" });
    const res = await mcp(env, "/v1/mcp", undefined, "tools/list");
    expect(res.status).toBe(200);
    const names = ((await res.json()) as { result: { tools: { name: string }[] } }).result.tools.map(
      (t) => t.name,
    );
    expect(names).not.toContain("gateway_status");
    for (const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-authorization-server",
      "/authorize",
      "/oauth/token",
      "/credentials",
    ]) {
      const r = await gatewayFetch(env, path);
      expect(r.status, path).toBe(404);
      expect(typeof (await jsonBody(r)).error, path).toBe("string");
    }
  });

  it("unset means required", async () => {
    const env = await authEnv({ GATEWAY_AUTH: undefined });
    expect((await mcp(env, "/v1/mcp", undefined, "tools/list")).status).toBe(401);
  });

  it("refuses an unknown mode, naming the setting, as JSON 500", async () => {
    const env = await authEnv({ GATEWAY_AUTH: "off" });
    const res = await mcp(env, "/v1/mcp", undefined, "tools/list");
    expect(res.status).toBe(500);
    const body = await jsonBody(res);
    expect(JSON.stringify(body)).toContain("GATEWAY_AUTH");
    expect(JSON.stringify(body)).toContain("invalid_configuration");
    const oauth = await gatewayFetch(env, "/oauth/token", { method: "POST" });
    expect((await jsonBody(oauth)).error).toBe("server_error");
  });
});

describe("GATEWAY_USERS / GATEWAY_TEAMS validation", () => {
  it.each([
    ["GATEWAY_USERS", "not json", "is not valid JSON"],
    ["GATEWAY_USERS", JSON.stringify([{ id: "a:b" }]), "user id"],
    ["GATEWAY_USERS", JSON.stringify([{ id: "x", passwordHash: "plaintext" }]), "passwordHash"],
    ["GATEWAY_USERS", JSON.stringify([{ id: "x", team: "ghost" }]), "ghost"],
    ["GATEWAY_USERS", JSON.stringify([{ id: "x" }, { id: "x" }]), "duplicate"],
    ["GATEWAY_TEAMS", JSON.stringify({ eng: { vendors: "all" } }), "GATEWAY_TEAMS"],
    ["OIDC_ISSUER", "http://idp.example.com", "https"],
  ])("%s=%s is refused", async (setting, value, message) => {
    const env = await authEnv({ [setting]: value });
    const res = await gatewayFetch(env, "/.well-known/oauth-protected-resource");
    expect(res.status).toBe(500);
    const body = await jsonBody(res);
    expect(body.error).toBe("server_error");
    expect(body.error_description).toContain(setting);
    expect(body.error_description).toContain(message);
    // Elsewhere the gateway's own error shape.
    const health = await gatewayFetch(env, "/v1/mcp", { method: "POST" });
    expect(health.status).toBe(500);
    expect(((await jsonBody(health)).error as { code: string }).code).toBe("invalid_configuration");
  });
});

describe("origins", () => {
  it("refuses OAuth on a plain-http origin off loopback, but serves it on localhost", async () => {
    const env = await authEnv();
    const remote = await gatewayFetch(env, "http://gateway.example/.well-known/oauth-protected-resource");
    expect(remote.status).toBe(500);
    expect(JSON.stringify(await jsonBody(remote))).toContain("https");
    const local = await gatewayFetch(env, "http://localhost:8787/.well-known/oauth-protected-resource");
    expect(local.status).toBe(200);
    expect((await local.json()) as Record<string, unknown>).toMatchObject({
      resource: "http://localhost:8787/v1/mcp",
    });
  });

  it("GATEWAY_PUBLIC_URL fixes the issuer and resources whatever Host the request came in on", async () => {
    const env = await authEnv({ GATEWAY_PUBLIC_URL: "https://mcp.example.com" });
    const res = await gatewayFetch(env, "https://internal.example/.well-known/oauth-authorization-server");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ issuer: "https://mcp.example.com" });
  });
});

describe("password hashes", () => {
  it("verify the right password only, at workerd's PBKDF2 ceiling", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(hash).toMatch(new RegExp(`^pbkdf2-sha256\\$${PBKDF2_MAX_ITERATIONS}\\$`));
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    expect(await verifyPassword("correct horse batterY", hash)).toBe(false);
    // Tamper with the first character of the derived key: it carries 6 whole bits (the last one
    // carries padding bits that may not change the decoded bytes).
    const keyAt = hash.lastIndexOf("$") + 1;
    const tampered = `${hash.slice(0, keyAt)}${hash[keyAt] === "A" ? "B" : "A"}${hash.slice(keyAt + 1)}`;
    expect(tampered).not.toBe(hash);
    expect(await verifyPassword("correct horse battery", tampered)).toBe(false);
    expect(await verifyPassword("x", "pbkdf2-sha256$100000$short$bad")).toBe(false);
    await expect(hashPassword("x", PBKDF2_MAX_ITERATIONS + 1)).rejects.toThrow(RangeError);
  });
});

describe("KV at rest: MCP tokens and sessions", () => {
  it("stores access tokens, refresh tokens, codes and session ids only as hashes", async () => {
    const env = await authEnv();
    const browser = new Browser(env);
    const t = await tokensFor(env, "alice", { browser });
    const session = browser.cookies.get("__Host-gw-session") ?? "";
    expect(session.length).toBeGreaterThan(20);
    const blob = JSON.stringify(await dumpKv(env));
    for (const secret of [t.access_token, t.refresh_token, session, t.access_token.split(":")[2] ?? "x"]) {
      expect(blob).not.toContain(secret);
    }
  });
});
