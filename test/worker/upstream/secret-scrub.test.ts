/**
 * Credentials the gateway attaches never come back: real `tools/call` requests into the Worker
 * against the local upstream (test/support/upstream-server.ts, `/respond/leak/…`), which echoes
 * the credential it received in every way an upstream does. At DISABLED and at HIGH: the scrub
 * does not depend on SANITIZATION_LEVEL.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { UPSTREAM_TEST_SECRETS as SECRETS } from "../../support/upstream-bindings.ts";
import { BASE } from "../mcp/helpers.ts";
import { mcpToolsCall, recorded, type McpToolResult as ToolResult } from "./helpers.ts";

const API_KEY = SECRETS.UP_SECRETS_API_KEY;
const TOKEN = SECRETS.UP_SECRETS_TOKEN;
const PASSWORD = SECRETS.UP_SECRETS_PASSWORD;
const BASIC = btoa(
  String.fromCharCode(...new TextEncoder().encode(`${SECRETS.UP_SECRETS_USERNAME}:${PASSWORD}`)),
);
/** Every secret of the fixture shares this; no spelling of any secret may survive. */
const MARK = "SUPERSECRET";

const toolsCall = (name: string, args: Record<string, unknown>, overrides: Record<string, string>) =>
  mcpToolsCall("up-secrets", name, args, overrides);

function firstText(result: ToolResult): string {
  const first = result.content[0];
  if (first?.type !== "text" || first.text === undefined) throw new Error("expected text content");
  return first.text;
}

/** No spelling of any fixture secret: as sent, URL-encoded, JSON-escaped, or the basic header's base64. */
function expectNoSecret(raw: string): void {
  expect(raw).not.toContain(MARK);
  expect(raw).not.toContain(BASIC);
}

const SCHEMES = [
  ["leakHeaderKey", "API key in a header"],
  ["leakQueryKey", "API key in the query"],
  ["leakCookieKey", "API key in a cookie"],
  ["leakBearer", "bearer token"],
  ["leakBasic", "basic password"],
] as const;

describe.each(["DISABLED", "HIGH"])("credential scrubbing at SANITIZATION_LEVEL=%s", (level) => {
  const settings = { SANITIZATION_LEVEL: level };

  it.each(SCHEMES)("%s: an upstream error message quoting the %s", async (tool) => {
    const { raw, result } = await toolsCall(tool, { mode: "error-text" }, settings);
    expect(result.isError).toBe(true);
    expectNoSecret(raw);
    expect(JSON.parse(firstText(result))).toMatchObject({
      error: "upstream_error",
      status: 400,
      message: "bad key [REDACTED]",
    });
  });

  it.each(SCHEMES)(
    "%s: a JSON error with the %s in its message, a field and the echoed headers",
    async (tool) => {
      const { raw, result } = await toolsCall(tool, { mode: "error-json" }, settings);
      expectNoSecret(raw);
      const body = JSON.parse(firstText(result));
      expect(body.message).toBe("bad key [REDACTED]");
      expect(body.details.key).toBe("[REDACTED]");
    },
  );

  it.each(SCHEMES)(
    "%s: a success body echoing the %s as sent, URL-encoded and in the headers",
    async (tool) => {
      const { raw, result } = await toolsCall(tool, { mode: "body" }, settings);
      expect(result.isError).toBeFalsy();
      expectNoSecret(raw);
      const body = JSON.parse(firstText(result));
      expect(body).toMatchObject({ received: "[REDACTED]", encoded: "[REDACTED]", form: "[REDACTED]" });
      // Everything else of the body is intact.
      expect(body.headers["user-agent"]).toMatch(/^mcp-edge-gateway/);
    },
  );

  it("the headers an upstream echoes keep their names, with the credential redacted", async () => {
    const echoed = async (tool: string) =>
      JSON.parse(firstText((await toolsCall(tool, { mode: "body" }, settings)).result));
    // HIGH also redacts the whole value of keys named authorization and cookie (SANITIZATION_LEVEL).
    const whole = level === "HIGH";
    expect((await echoed("leakBasic")).headers.authorization).toBe(whole ? "[REDACTED]" : "Basic [REDACTED]");
    expect((await echoed("leakBearer")).headers.authorization).toBe(
      whole ? "[REDACTED]" : "Bearer [REDACTED]",
    );
    expect((await echoed("leakCookieKey")).headers.cookie).toBe(
      whole ? "[REDACTED]" : "auth_token=[REDACTED]",
    );
    expect((await echoed("leakQueryKey")).url).toMatch(/\?api_key=\[REDACTED\]$/);
  });

  it.each(SCHEMES)("%s: JSON written with \\/ and \\uXXXX escapes", async (tool) => {
    const { raw, result } = await toolsCall(tool, { mode: "escaped" }, settings);
    expectNoSecret(raw);
    expect(JSON.parse(firstText(result))).toEqual({ note: "got [REDACTED]" });
  });

  it.each(SCHEMES)("%s: the status line", async (tool) => {
    const { raw, result } = await toolsCall(tool, { mode: "status-line" }, settings);
    expect(result.isError).toBe(true);
    if (tool !== "leakBasic") expectNoSecret(raw); // the reason phrase cannot carry the password's ü
  });

  it.each(["long", "long-json"])(
    "a body cut at MAX_RESPONSE_BYTES through the middle of the credential (%s)",
    async (mode) => {
      for (const [tool, secret] of [
        ["leakHeaderKey", API_KEY],
        ["leakBearer", TOKEN],
        ["leakBasic", PASSWORD],
      ] as const) {
        const { raw, result } = await toolsCall(tool, { mode }, { ...settings, MAX_RESPONSE_BYTES: "1024" });
        expectNoSecret(raw);
        const text = firstText(result);
        expect(text).toContain("[Response truncated");
        const kept = text.slice(0, text.indexOf("\n\n[Response truncated"));
        // Not even the first part of the secret, which the cut left whole.
        for (let n = 1; n < secret.length; n++)
          expect(kept.endsWith(secret.slice(0, n)), `${tool} ${n}`).toBe(false);
        expect(kept).toMatch(/^(?:\{"pad":")?x+$/);
      }
    },
  );

  it("binary data holding the credential is withheld, not passed on", async () => {
    const { raw, result } = await toolsCall("leakBearer", { mode: "binary" }, settings);
    expect(result.content).toHaveLength(1);
    expect(firstText(result)).toMatch(/contains a credential the gateway sent; it was withheld/);
    expect(raw).not.toContain(btoa(TOKEN).slice(0, 12));
  });

  it("a call without credentials is passed on untouched", async () => {
    const { result } = await toolsCall("leakPublic", { mode: "error-text" }, settings);
    expect(JSON.parse(firstText(result)).message).toBe("bad key public-value");
  });
});

describe("what the gateway keeps and logs", () => {
  it("/health/vendors never shows a credential an upstream echoed", async () => {
    await toolsCall("leakHeaderKey", { mode: "error-500" }, {});
    const res = await exports.default.fetch(`${BASE}/health/vendors`);
    const text = await res.text();
    expect(JSON.parse(text).vendors["up-secrets"].lastError).toMatchObject({ status: 500 });
    expectNoSecret(text);
  });

  it("the upstream did receive the credentials (the scrub is on the way back only)", async () => {
    const sent = await recorded("/up-secrets/api/respond/leak/body/header");
    expect(sent.some((r) => r.headers["x-api-key"] === API_KEY)).toBe(true);
  });
});

describe("sensitive keys match in their usual spellings (SANITIZATION_LEVEL)", () => {
  const fields = async (level: string) =>
    JSON.parse(
      firstText((await toolsCall("leakPublic", { mode: "fields" }, { SANITIZATION_LEVEL: level })).result),
    );

  it("HIGH redacts refresh_token, client_secret, clientSecret, X-Api-Key and other spellings", async () => {
    expect(await fields("HIGH")).toEqual({
      refresh_token: "[REDACTED]",
      client_secret: "[REDACTED]",
      clientSecret: "[REDACTED]",
      "X-Api-Key": "[REDACTED]",
      "client.secret": "[REDACTED]",
      "Refresh Token": "[REDACTED]",
      nested: [
        { ACCESS_TOKEN: "[REDACTED]", idToken: "[REDACTED]", xApiKey: "[REDACTED]", Passwd: "[REDACTED]" },
      ],
      next_page_token: "keep-1",
      prompt_tokens: 12,
      name: "keep-2",
    });
  });

  it("LOW redacts only its own fields' spellings; DISABLED none", async () => {
    expect(await fields("LOW")).toMatchObject({
      refresh_token: "rt-1",
      client_secret: "[REDACTED]",
      clientSecret: "[REDACTED]",
      "X-Api-Key": "ak-1",
      nested: [{ ACCESS_TOKEN: "at-1", Passwd: "[REDACTED]" }],
    });
    expect(await fields("DISABLED")).toMatchObject({ refresh_token: "rt-1", clientSecret: "cs-2" });
  });
});
