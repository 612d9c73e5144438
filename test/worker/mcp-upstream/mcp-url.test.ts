/** `<VENDOR>_MCP_URL` / vendor.json `mcp.url`: where an MCP vendor's requests go, checked like a base URL. */
import { describe, expect, it } from "vitest";
import { resolveMcpUrl } from "../../../src/base-url.ts";
import { ToolError } from "../../../src/tool-error.ts";
import { bareBundle } from "../../support/bare-bundle.ts";

const URL_OK = "https://mcp.docs.example/mcp";

const bundle = (url?: string) =>
  bareBundle("my-docs", { kind: "mcp", ...(url !== undefined ? { mcp: { url } } : {}) });

function configurationError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).code).toBe("configuration_error");
    return (error as ToolError).message;
  }
  throw new Error("expected a configuration_error");
}

describe("resolveMcpUrl", () => {
  it("env <VENDOR>_MCP_URL wins over vendor.json; blank counts as unset; the trailing slash is kept", () => {
    const b = bundle("https://mcp.docs.example/mcp/");
    expect(resolveMcpUrl({}, b).href).toBe("https://mcp.docs.example/mcp/");
    expect(resolveMcpUrl({ MY_DOCS_MCP_URL: " http://127.0.0.1:9000/mcp\n" }, b).href).toBe(
      "http://127.0.0.1:9000/mcp",
    );
    expect(resolveMcpUrl({ MY_DOCS_MCP_URL: "  " }, b).href).toBe("https://mcp.docs.example/mcp/");
    // The OpenAPI variable is not read for an MCP vendor.
    expect(resolveMcpUrl({ MY_DOCS_BASE_URL: "https://other.example" }, b).host).toBe("mcp.docs.example");
  });

  it("no URL at all names the variable to set", () => {
    expect(configurationError(() => resolveMcpUrl({}, bundle()))).toBe(
      'No MCP URL is configured for vendor "my-docs": set MY_DOCS_MCP_URL or mcp.url in vendor.json',
    );
  });

  it.each([
    ["not a url", "The MCP URL from MY_DOCS_MCP_URL is not an absolute URL"],
    ["ftp://mcp.docs.example/mcp", "The MCP URL from MY_DOCS_MCP_URL must be http(s)"],
    [
      "https://u:p@mcp.docs.example/mcp",
      "The MCP URL from MY_DOCS_MCP_URL must not contain credentials, a query or a fragment",
    ],
    [
      "https://mcp.docs.example/mcp?key=1",
      "The MCP URL from MY_DOCS_MCP_URL must not contain credentials, a query or a fragment",
    ],
    [
      "http://mcp.docs.example/mcp",
      "The MCP URL from MY_DOCS_MCP_URL must be https (plain http only to localhost or 127.0.0.1)",
    ],
  ])("refuses %s", (url, message) => {
    expect(configurationError(() => resolveMcpUrl({ MY_DOCS_MCP_URL: url }, bundle(URL_OK)))).toBe(message);
  });

  it("a plain-http URL an OpenAPI base URL already cached is still refused as an MCP URL", async () => {
    const { resolveBaseUrl } = await import("../../../src/base-url.ts");
    const insecure = "http://insecure.example/api";
    expect(resolveBaseUrl({}, bareBundle("api", { baseUrl: insecure })).href).toBe(insecure);
    expect(configurationError(() => resolveMcpUrl({}, bundle(insecure)))).toMatch(/must be https/);
    expect(resolveMcpUrl({}, bundle("http://localhost:8787/mcp")).port).toBe("8787");
  });
});
