import { beforeAll, describe, expect, it } from "vitest";
import { authEnv, type Browser, mcp, mcpResult, ORIGIN, type TestEnv, tokensFor } from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

interface ToolList {
  tools: { name: string }[];
}

interface StatusResult {
  content: { type: string; text: string }[];
  structuredContent: {
    userId: string;
    vendors: { vendor: string; available: boolean; reason?: string; fixUrl?: string }[];
  };
}

async function toolNames(token: string, path = "/v1/mcp"): Promise<string[]> {
  return (await mcpResult<ToolList>(await mcp(env, path, token, "tools/list"))).tools.map(
    (tool) => tool.name,
  );
}

async function saveKey(browser: Browser, vendor: string, secret: string): Promise<void> {
  const csrf = await browser.csrf();
  const res = await browser.post(`/credentials/${vendor}/secret`, { csrf, owner: "user", secret });
  expect(res.status).toBe(303);
}

describe("/v1/mcp per user", () => {
  it("lists only vendors the caller can use now, plus gateway_status explaining the rest", async () => {
    const dave = await tokensFor(env, "dave");
    const names = await toolNames(dave.access_token);
    expect(names[0]).toBe("gateway_status");
    expect(names).toContain("mcp-alpha_listItems"); // needs no credential
    expect(names).toContain("auth-cc_getMe"); // organisation client credentials
    expect(names.some((name) => name.startsWith("auth-key_"))).toBe(false); // no key yet
    expect(names.some((name) => name.startsWith("auth-oauth_"))).toBe(false); // not connected

    const status = await mcpResult<StatusResult>(
      await mcp(env, "/v1/mcp", dave.access_token, "tools/call", { name: "gateway_status", arguments: {} }),
    );
    const text = status.content[0]?.text ?? "";
    expect(text).toContain("Signed in as dave.");
    expect(text).toContain(`Unavailable: auth-key`);
    expect(text).toContain(`${ORIGIN}/credentials#vendor-auth-key`);
    expect(text).toContain(`${ORIGIN}/credentials#vendor-auth-oauth`);
    const byVendor = new Map(status.structuredContent.vendors.map((vendor) => [vendor.vendor, vendor]));
    expect(byVendor.get("auth-key")).toMatchObject({ available: false, reason: "not_connected" });
    expect(byVendor.get("auth-cc")).toMatchObject({ available: true });

    // A tool of an unavailable vendor cannot be called either.
    const call = await mcp(env, "/v1/mcp", dave.access_token, "tools/call", {
      name: "auth-key_whoami",
      arguments: {},
    });
    const body = (await call.json()) as { error?: { code: number } };
    expect(body.error?.code).toBe(-32602);

    // Once the user stores a key, the vendor's tools appear.
    await saveKey(dave.browser, "auth-key", "dave-unified-key-777");
    expect(await toolNames(dave.access_token)).toContain("auth-key_whoami");
  });

  it("applies the team allowlist to vendors and tools, on every endpoint", async () => {
    const carol = await tokensFor(env, "carol");
    expect(await toolNames(carol.access_token)).toEqual(["gateway_status"]);
    await saveKey(carol.browser, "auth-key", "carol-unified-key-888");
    expect(await toolNames(carol.access_token)).toEqual(["gateway_status", "auth-key_whoami"]);

    const status = await mcpResult<StatusResult>(
      await mcp(env, "/v1/mcp", carol.access_token, "tools/call", { name: "gateway_status", arguments: {} }),
    );
    const byVendor = new Map(status.structuredContent.vendors.map((vendor) => [vendor.vendor, vendor]));
    expect(byVendor.get("mcp-alpha")).toMatchObject({ available: false, reason: "not_allowed" });

    // A vendor endpoint outside the allowlist is refused even with a token for it.
    const vendorToken = await tokensFor(env, "carol", { resource: `${ORIGIN}/v1/mcp-alpha/mcp` });
    const res = await mcp(env, "/v1/mcp-alpha/mcp", vendorToken.access_token, "tools/list");
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("does not list gateway_status on a vendor endpoint", async () => {
    const t = await tokensFor(env, "dave", { resource: `${ORIGIN}/v1/mcp-alpha/mcp` });
    const names = await toolNames(t.access_token, "/v1/mcp-alpha/mcp");
    expect(names).not.toContain("gateway_status");
    expect(names).toContain("listItems");
  });

  it("degrades to organisation credentials when listing KV fails, instead of failing the request", async () => {
    const dave = await tokensFor(env, "dave");
    const kv = env.OAUTH_KV;
    const flaky = {
      ...env,
      OAUTH_KV: new Proxy(kv, {
        get(target, property) {
          if (property === "list") return () => Promise.reject(new Error("KV is down"));
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    } as TestEnv;
    const res = await mcp(flaky, "/v1/mcp", dave.access_token, "tools/list");
    const names = (await mcpResult<ToolList>(res)).tools.map((tool) => tool.name);
    expect(names).toContain("auth-cc_getMe");
    expect(names).toContain("mcp-alpha_listItems");
  });
});
