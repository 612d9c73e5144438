import { describe, expect, it } from "vitest";
import type { CredentialSource } from "../../../src/auth/upstream-credentials.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { UPSTREAM_TEST_SECRETS as SECRETS } from "../../support/upstream-bindings.ts";
import { upAuth, upResponses } from "./fixtures.ts";
import { callTool, echoOf, jsonOf, type RecordedRequest, recorded, uniqueId } from "./helpers.ts";

const noCredentials: CredentialSource = { get: async () => undefined };

function basic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * What the upstream received for one call, from its own record: the echo in the result has the
 * credentials scrubbed (src/redaction/scrub.ts), which is the point.
 */
async function sentFor(
  bundle: VendorBundle,
  tool: string,
  options: Parameters<typeof callTool>[3] = {},
  q = uniqueId(),
): Promise<RecordedRequest> {
  echoOf(await callTool(bundle, tool, { q }, options));
  const [sent] = await recorded(encodeURIComponent(q));
  if (!sent) throw new Error(`the upstream recorded no request for ${tool}`);
  return sent;
}

describe("upstream auth from env secrets", () => {
  it("API key in a header", async () => {
    const echo = await sentFor(upAuth, "withHeaderKey");
    expect(echo.headers["x-api-key"]).toBe(SECRETS.UP_AUTH_API_KEY);
    expect(echo.headers.authorization).toBeUndefined();
  });

  it("API key in the query, appended without re-encoding the other parameters", async () => {
    const id = uniqueId();
    const echo = await sentFor(upAuth, "withQueryKey", {}, `a b,${id}`);
    expect(echo.rawQuery).toBe(`q=a%20b%2C${id}&api_key=${SECRETS.UP_AUTH_API_KEY}`);
  });

  it("API key in a cookie", async () => {
    const echo = await sentFor(upAuth, "withCookieKey");
    expect(echo.headers.cookie).toBe(`auth_token=${SECRETS.UP_AUTH_API_KEY}`);
  });

  it("HTTP bearer", async () => {
    const echo = await sentFor(upAuth, "withBearer");
    expect(echo.headers.authorization).toBe(`Bearer ${SECRETS.UP_AUTH_TOKEN}`);
  });

  it("HTTP basic, UTF-8 encoded", async () => {
    const echo = await sentFor(upAuth, "withBasic");
    expect(echo.headers.authorization).toBe(basic(SECRETS.UP_AUTH_USERNAME, SECRETS.UP_AUTH_PASSWORD));
  });

  it("all schemes of an AND requirement", async () => {
    const q = uniqueId();
    const echo = await sentFor(upAuth, "withBoth", {}, q);
    expect(echo.headers["x-api-key"]).toBe(SECRETS.UP_AUTH_API_KEY);
    expect(echo.rawQuery).toBe(`q=${q}&api_key=${SECRETS.UP_AUTH_API_KEY}`);
  });

  it("optional auth: credentials when configured, none otherwise", async () => {
    const withCreds = await sentFor(upAuth, "optionalAuth");
    expect(withCreds.headers.authorization).toBe(`Bearer ${SECRETS.UP_AUTH_TOKEN}`);
    const without = echoOf(await callTool(upAuth, "optionalAuth", {}, { credentials: noCredentials }));
    expect(without.headers.authorization).toBeUndefined();
  });

  it("no auth: nothing attached", async () => {
    const echo = echoOf(await callTool(upAuth, "publicOp", {}));
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers.cookie).toBeUndefined();
    expect(echo.headers["x-api-key"]).toBeUndefined();
  });

  it("missing credentials: a tool error naming the secret to set, and nothing sent", async () => {
    const q = uniqueId();
    const result = await callTool(upAuth, "withBearer", { q }, { credentials: noCredentials });
    expect(result.isError).toBe(true);
    const body = jsonOf(result);
    expect(body).toMatchObject({ error: "missing_credentials", vendor: "up-auth", tool: "withBearer" });
    expect(body.message).toContain("bearer (set UP_AUTH_TOKEN)");
    expect(await recorded(q)).toEqual([]);
  });

  it("vendor.json auth.secrets maps roles to other secret names", async () => {
    const mapped: VendorBundle = { ...upAuth, auth: { secrets: { token: "UP_AUTH_API_KEY" } } };
    const echo = await sentFor(mapped, "withBearer");
    expect(echo.headers.authorization).toBe(`Bearer ${SECRETS.UP_AUTH_API_KEY}`);
    const missing: VendorBundle = { ...upAuth, auth: { secrets: { token: "NOT_SET_ANYWHERE" } } };
    expect(jsonOf(await callTool(missing, "withBearer", {})).message).toContain("set NOT_SET_ANYWHERE");
  });

  it("vendor.json auth.scheme restricts env credentials to that scheme and applies it when the spec names another", async () => {
    const only: VendorBundle = { ...upAuth, auth: { scheme: "bearer" } };
    const echo = await sentFor(only, "withHeaderKey");
    expect(echo.headers["x-api-key"]).toBeUndefined();
    expect(echo.headers.authorization).toBe(`Bearer ${SECRETS.UP_AUTH_TOKEN}`);
  });

  it("user-mode vendors get no shared env credentials", async () => {
    const perUser: VendorBundle = { ...upAuth, auth: { mode: "user" } };
    expect(jsonOf(await callTool(perUser, "withBearer", {})).error).toBe("missing_credentials");
  });

  it("secrets never appear in error results", async () => {
    const results = await Promise.all([
      callTool(upAuth, "withBearer", {}, { env: { UP_AUTH_TOKEN: "bad\ntoken" } }),
      callTool(upAuth, "withQueryKey", {}, { env: { UP_AUTH_BASE_URL: "http://127.0.0.1:9/closed" } }),
    ]);
    for (const r of results) {
      expect(r.isError).toBe(true);
      const text = JSON.stringify(r);
      expect(text).not.toContain("bad\\ntoken");
      expect(text).not.toContain(SECRETS.UP_AUTH_API_KEY);
    }
    expect(jsonOf(results[0]!).error).toBe("configuration_error");
  });
});

describe("what is never forwarded or kept", () => {
  it("upstream Set-Cookie is not replayed on the next request or the next redirect hop", async () => {
    // The echo route answers with Set-Cookie; the redirect route too.
    echoOf(await callTool(upAuth, "publicOp", {}));
    const second = echoOf(await callTool(upAuth, "publicOp", {}));
    expect(second.headers.cookie).toBeUndefined();
    const afterRedirect = echoOf(await callTool(upResponses, "redirect", { kind: "same" }));
    expect(afterRedirect.path).toBe("/up-responses/api/echo/after-redirect");
    expect(afterRedirect.headers.cookie).toBeUndefined();
  });

  it("credentials follow same-origin redirects only", async () => {
    const secured: VendorBundle = {
      ...upResponses,
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      tools: upResponses.tools.map((t) => (t.name === "redirect" ? { ...t, security: [{ bearer: [] }] } : t)),
    };
    const env = { UP_RESPONSES_TOKEN: "redirect-token" };
    const same = echoOf(await callTool(secured, "redirect", { kind: "same" }, { env }));
    expect(same.path).toBe("/up-responses/api/echo/after-redirect");
    // The echo of the token is scrubbed from the result; what was sent is in the upstream's record.
    expect(same.headers.authorization).toBe("Bearer [REDACTED]");
    const followed = await recorded("/up-responses/api/echo/after-redirect");
    expect(followed.some((r) => r.headers.authorization === "Bearer redirect-token")).toBe(true);

    const result = await callTool(secured, "redirect", { kind: "cross" }, { env });
    expect(result.isError).toBe(true);
    const body = jsonOf(result);
    expect(body).toMatchObject({ error: "redirect_not_followed", status: 302 });
    expect(String(body.message)).toContain("http://localhost:");
    expect(String(body.message)).not.toContain("stolen");
    expect(await recorded("stolen=1")).toEqual([]);
  });
});
