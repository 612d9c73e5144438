/**
 * Names a client chooses that are also members of `Object.prototype` (#11 item 7): every
 * lookup of an untrusted name must find only what the gateway defined, so each of these
 * gets the exact error an unknown name gets (never a 500, never a -32603), and a tool or
 * argument that really has such a name works like any other.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createCaller } from "../../../src/auth/caller.ts";
import type { RecordedRequest } from "../../support/upstream-server.ts";
import { authEnv, Browser } from "../auth/helpers.ts";
import { recorded, uniqueId } from "../upstream/helpers.ts";
import { BASE, call, legacyRequest, modernRequest, post } from "./helpers.ts";

const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"] as const;
/** Those of NAMES the up-edge fixture really has as operations (`__proto__` is not a valid tool name). */
const EDGE_TOOLS: readonly string[] = ["constructor", "toString", "hasOwnProperty", "valueOf"];

/** The JSON body of a tools/call result's first text content. */
function resultJson(result: Record<string, unknown> | undefined): Record<string, unknown> {
  const content = (result?.content as { type: string; text: string }[] | undefined)?.[0];
  if (content?.type !== "text") throw new Error(`no text result: ${JSON.stringify(result)}`);
  return JSON.parse(content.text) as Record<string, unknown>;
}

describe.each(NAMES)("the untrusted name %s", (name) => {
  it("as a JSON-RPC method is -32601 on every revision", async () => {
    const legacy = await call("/v1/mcp", legacyRequest(name));
    expect(legacy.status).toBe(200);
    expect(legacy.body.error).toEqual({ code: -32601, message: "Method not found" });
    const onVendor = await call("/v1/mcp-alpha/mcp", legacyRequest(name, {}));
    expect(onVendor.body.error).toEqual({ code: -32601, message: "Method not found" });
    const modern = await call("/v1/mcp", modernRequest(name));
    expect(modern.body.error).toEqual({ code: -32601, message: "Method not found" });
  });

  it("as a tool name is an unknown tool (-32602), unless the vendor really has that tool", async () => {
    for (const [path, tool] of [
      ["/v1/mcp", name],
      ["/v1/mcp", `${name}_listItems`],
      ["/v1/mcp", `mcp-alpha_${name}`],
      ["/v1/mcp-alpha/mcp", name],
    ] as const) {
      const res = await call(path, legacyRequest("tools/call", { name: tool, arguments: {} }));
      expect(res.status).toBe(200);
      expect(res.body.error).toEqual({
        code: -32602,
        message: `Unknown tool: ${tool}`,
        data: { name: tool },
      });
    }
    const edge = await call("/v1/up-edge/mcp", legacyRequest("tools/call", { name, arguments: {} }));
    if (EDGE_TOOLS.includes(name)) {
      expect(edge.body.result?.isError).toBeUndefined();
      expect(resultJson(edge.body.result).path).toBe(`/up-edge/api/names/${name}`);
    } else {
      expect(edge.body.error?.code).toBe(-32602);
    }
  });

  it("as an operation name in discovery search, describe and call is an unknown operation", async () => {
    const path = "/v1/mcp-discovery/mcp";
    const unknown = (tool: string) => ({
      error: "unknown_operation",
      vendor: "mcp-discovery",
      tool,
      message: `No Tracker (discovery fixture) operation named "${name}". Use search to find one.`,
    });
    const described = await call(
      path,
      legacyRequest("tools/call", { name: "describe", arguments: { names: [name] } }),
    );
    expect(described.body.result?.isError).toBe(true);
    expect(resultJson(described.body.result)).toMatchObject(unknown("describe"));
    const called = await call(
      path,
      legacyRequest("tools/call", { name: "call", arguments: { name, arguments: {} } }),
    );
    expect(called.body.result?.isError).toBe(true);
    expect(resultJson(called.body.result)).toMatchObject(unknown("call"));
    for (const query of [name, name.toLowerCase()]) {
      const searched = await call(
        path,
        legacyRequest("tools/call", { name: "search", arguments: { query } }),
      );
      expect(searched.body.result?.isError).toBeUndefined();
      expect(resultJson(searched.body.result)).toMatchObject({ results: [], matched: 0 });
    }
  });

  it("as a vendor path segment is a JSON 404", async () => {
    const res = await post(`/v1/${name}/mcp`, legacyRequest("tools/list").message);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { code: "not_found", message: `Unknown vendor "${name}"` },
    });
  });

  it("as a cursor is an invalid cursor (-32602)", async () => {
    for (const path of ["/v1/mcp", "/v1/mcp-alpha/mcp"]) {
      const res = await call(path, legacyRequest("tools/list", { cursor: name }));
      expect(res.body.error).toEqual({
        code: -32602,
        message: "Invalid cursor: start tools/list again without a cursor",
        data: { cursor: name },
      });
    }
  });

  it("as an argument name the tool lacks is invalid_arguments and sends nothing", async () => {
    const marker = uniqueId();
    const res = await call(
      "/v1/mcp",
      legacyRequest("tools/call", { name: "up-edge_text", arguments: { segment: marker, [name]: "x" } }),
    );
    expect(res.body.result?.isError).toBe(true);
    expect(resultJson(res.body.result)).toMatchObject({
      error: "invalid_arguments",
      errors: [{ pointer: `/${name}`, message: expect.stringContaining("is not allowed (unknown field") }],
    });
    expect(await recorded(marker)).toEqual([]);
  });

  it("as an argument the tool has is sent under its own name, and only when given", async () => {
    // Its argument key has a trailing `_` (scripts/compiler/naming.ts: clients read schemas as plain objects).
    const key = name === "__proto__" ? "proto" : `${name}_`;
    const call1 = await call(
      "/v1/up-edge/mcp",
      legacyRequest("tools/call", { name: "prototypeParams", arguments: { [key]: "v1" } }),
    );
    const echo = resultJson(call1.body.result) as unknown as RecordedRequest;
    expect(echo.rawQuery).toBe(`${encodeURIComponent(name)}=v1`);
  });
});

describe("Object.prototype names elsewhere", () => {
  it("sends no argument the client left out, whatever the parameters are called", async () => {
    const res = await call(
      "/v1/up-edge/mcp",
      legacyRequest("tools/call", { name: "prototypeParams", arguments: {} }),
    );
    expect((resultJson(res.body.result) as unknown as RecordedRequest).rawQuery).toBe("");
  });

  it("the vendor guard counts drift of tools named like Object.prototype members", async () => {
    const stub = env.VENDOR_GUARD.get(env.VENDOR_GUARD.idFromName("prototype-names-drift"));
    for (const tool of [...EDGE_TOOLS, ...EDGE_TOOLS, "getItem"]) await stub.recordDrift(tool);
    const { drift } = await stub.snapshot();
    expect(drift).toEqual({ constructor: 2, toString: 2, hasOwnProperty: 2, valueOf: 2, getItem: 1 });
  });

  it("a team tool allowlist does not read inherited members", () => {
    const caller = createCaller({ userId: "u" }, { tools: { "mcp-alpha": ["getItem"] } }, ["mcp:read"]);
    for (const vendor of NAMES) expect(caller.toolAllowed(vendor, "x")).toBe(true);
    expect(caller.toolAllowed("mcp-alpha", "listItems")).toBe(false);
  });

  it("the credentials page shows no notice for a notice code it does not define", async () => {
    const browser = new Browser(await authEnv());
    await browser.signIn("dave");
    for (const name of NAMES) {
      const res = await browser.fetch(`/credentials?notice=${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain('id="notice"');
    }
    const known = await browser.fetch("/credentials?notice=saved");
    expect(await known.text()).toContain('id="notice">Saved.');
  });

  it("answers /health/vendors and unknown routes with JSON for these names", async () => {
    for (const name of NAMES) {
      const res = await exports.default.fetch(`${BASE}/v1/${name}`);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(res.status).toBe(404);
    }
  });
});
