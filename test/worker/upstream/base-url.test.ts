import { describe, expect, it } from "vitest";
import { isUnderBase, resolveBaseUrl } from "../../../src/base-url.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { vendorEnvPrefix } from "../../../src/config.ts";
import { ToolError } from "../../../src/tool-error.ts";
import { assertUnderBase } from "../../../src/upstream/request.ts";
import { toolOf, upParams } from "./fixtures.ts";

const bundle = (over: Partial<VendorBundle>): VendorBundle => ({ ...upParams, ...over });

describe("resolveBaseUrl", () => {
  it("names env vars after the vendor, other characters as _", () => {
    expect(vendorEnvPrefix("my-api.v2")).toBe("MY_API_V2");
  });

  it("env <VENDOR>_BASE_URL wins over vendor.json, which wins over the spec's server", () => {
    const tool = { ...toolOf(upParams, "getFile"), serverUrl: "https://spec.example/api" };
    const b = bundle({ baseUrl: "https://vendor.example/v1" });
    expect(resolveBaseUrl({ UP_PARAMS_BASE_URL: "https://env.example/x" }, b, tool).href).toBe(
      "https://env.example/x",
    );
    expect(resolveBaseUrl({}, b, tool).href).toBe("https://vendor.example/v1");
    expect(resolveBaseUrl({}, bundle({ baseUrl: undefined }), tool).href).toBe("https://spec.example/api");
  });

  it("a blank <VENDOR>_BASE_URL counts as unset, and surrounding whitespace is dropped", () => {
    const b = bundle({ baseUrl: "https://vendor.example/v1" });
    expect(resolveBaseUrl({ UP_PARAMS_BASE_URL: "  " }, b).href).toBe("https://vendor.example/v1");
    expect(resolveBaseUrl({ UP_PARAMS_BASE_URL: " https://env.example/y\n" }, b).href).toBe(
      "https://env.example/y",
    );
  });

  it("no base URL at all is a configuration error naming the variable to set", () => {
    expect(() => resolveBaseUrl({}, bundle({ baseUrl: undefined }))).toThrow(/set UP_PARAMS_BASE_URL/);
  });
});

describe("the final URL stays under the base URL", () => {
  const base = new URL("https://api.example/v1");

  it.each([
    ["https://api.example/v1", true],
    ["https://api.example/v1/repos/x", true],
    ["https://api.example/v10/repos", false],
    ["https://api.example/admin", false],
    ["http://api.example/v1/x", false],
    ["https://api.example:8443/v1/x", false],
    ["https://evil.example/v1/x", false],
  ])("%s → %s", (url, expected) => {
    expect(isUnderBase(new URL(url), base)).toBe(expected);
  });

  it("refuses a URL the parser normalized away from the path that was built", () => {
    const built = "/v1/files/a/../../admin";
    const url = new URL(`https://api.example${built}`);
    // Still under /v1, so the prefix check alone would pass: the exact-path check is what catches it.
    expect(url.pathname).toBe("/v1/admin");
    expect(isUnderBase(url, base)).toBe(true);
    expect(() => assertUnderBase(url, base, built)).toThrow(ToolError);
    const normalizedInside = new URL("https://api.example/v1/a/./b");
    expect(() => assertUnderBase(normalizedInside, base, "/v1/a/./b")).toThrow(ToolError);
  });
});
