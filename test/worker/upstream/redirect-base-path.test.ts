/**
 * Redirects stay under the vendor's base path, like the first request: real `tools/call`
 * requests with an API key against the local upstream, which redirects (same origin) to targets
 * around the base path `/up-secrets/api` (test/support/upstream-server.ts, `/respond/redirect/…`).
 */
import { describe, expect, it } from "vitest";
import { UPSTREAM_TEST_SECRETS as SECRETS } from "../../support/upstream-bindings.ts";
import { mcpToolsCall, recorded, testEnv } from "./helpers.ts";

const redirect = (kind: string, overrides: Record<string, string> = {}) =>
  mcpToolsCall("up-secrets", "redirectWithKey", { kind }, overrides);

/** Every target outside the base path ends in `admin?x=1`; nothing may ever request it. */
async function outsideRequests(): Promise<number> {
  return (await recorded("admin?x=1")).length;
}

describe("same-origin redirects leave the base path only as a refusal", () => {
  it.each([
    ["outside", "/outside/admin"],
    ["dotdot", "/up-secrets/outside/admin"],
    ["encoded-dots", "/up-secrets/outside/admin"],
    ["encoded-slash", "/up-secrets/api%2F..%2Foutside/admin"],
    ["sibling", "/up-secrets/api-outside/admin"],
  ])("%s: not followed; the result names the target without its query", async (kind, path) => {
    for (const base of ["/up-secrets/api", "/up-secrets/api/"]) {
      const { result } = await redirect(kind, { UP_SECRETS_BASE_URL: `${testEnv.UPSTREAM_ORIGIN}${base}` });
      expect(result.isError).toBe(true);
      const body = JSON.parse(result.content[0]!.text!);
      expect(body).toMatchObject({ error: "redirect_not_followed", status: 302, vendor: "up-secrets" });
      expect(body.message).toBe(
        `The upstream redirected to ${testEnv.UPSTREAM_ORIGIN}${path}; that is outside the vendor's base URL ` +
          `${testEnv.UPSTREAM_ORIGIN}/up-secrets/api/ and was not followed, so credentials never leave the vendor's base URL`,
      );
    }
    expect(await outsideRequests()).toBe(0);
  });

  it.each([
    ["inside-dotdot", "/up-secrets/api/echo/inside-after-redirect"],
    ["base", "/up-secrets/api"],
  ])("%s: a target under the base path is followed with the credential", async (kind, path) => {
    for (const base of ["/up-secrets/api", "/up-secrets/api/"]) {
      const { result } = await redirect(kind, { UP_SECRETS_BASE_URL: `${testEnv.UPSTREAM_ORIGIN}${base}` });
      expect(result.isError, result.content[0]?.text).toBeFalsy();
      expect(JSON.parse(result.content[0]!.text!).path).toBe(path);
    }
    const followed = await recorded(path);
    expect(
      followed.some((r) => r.path === path && r.headers["x-api-key"] === SECRETS.UP_SECRETS_API_KEY),
    ).toBe(true);
  });
});
