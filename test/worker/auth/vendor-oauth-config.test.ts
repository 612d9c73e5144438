/**
 * Relative OAuth URLs in a spec resolve against the same base URL tool calls go to
 * (`resolveBaseUrl`): the `<VENDOR>_BASE_URL` override, else vendor.json's `baseUrl`.
 */
import { describe, expect, it } from "vitest";
import { vendorOAuthConfig } from "../../../src/auth/vendor-auth.ts";
import { getBundle } from "../../../src/bundle/registry.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";

function relativeTokenVendor(baseUrl: string | undefined): VendorBundle {
  const cc = getBundle("auth-cc");
  if (cc === undefined) throw new Error("fixture auth-cc is not compiled");
  return {
    ...cc,
    baseUrl,
    securitySchemes: {
      cc: { type: "oauth2", flows: { clientCredentials: { tokenUrl: "oauth/token", scopes: {} } } },
    },
  };
}

const CLIENT = { AUTH_CC_OAUTH2_CLIENT_ID: "client" };

describe("vendorOAuthConfig with a relative token URL", () => {
  it("resolves it below vendor.json's baseUrl", () => {
    const config = vendorOAuthConfig(
      CLIENT,
      relativeTokenVendor("https://vendor.example/api"),
      "clientCredentials",
    );
    expect(config?.tokenUrl).toBe("https://vendor.example/api/oauth/token");
  });

  it("resolves it below <VENDOR>_BASE_URL when that overrides baseUrl", () => {
    const env = { ...CLIENT, AUTH_CC_BASE_URL: "https://override.example/v2/" };
    const config = vendorOAuthConfig(
      env,
      relativeTokenVendor("https://vendor.example/api"),
      "clientCredentials",
    );
    expect(config?.tokenUrl).toBe("https://override.example/v2/oauth/token");
  });

  it("has no config when there is no usable base URL to resolve against", () => {
    expect(vendorOAuthConfig(CLIENT, relativeTokenVendor(undefined), "clientCredentials")).toBeUndefined();
    const env = { ...CLIENT, AUTH_CC_BASE_URL: "not a url" };
    expect(
      vendorOAuthConfig(env, relativeTokenVendor("https://vendor.example/api"), "clientCredentials"),
    ).toBeUndefined();
  });
});
