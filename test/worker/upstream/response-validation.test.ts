import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ToolRecipe, VendorBundle } from "../../../src/bundle/types.ts";
import { loadSettings, vendorSettings } from "../../../src/config.ts";
import { applyResponsePolicy } from "../../../src/upstream/response-policy.ts";
import { judgeResponse, validateResponse } from "../../../src/upstream/response-validation.ts";

const tool: ToolRecipe = {
  name: "getOrder",
  description: "",
  method: "GET",
  path: "/orders/{id}",
  params: [],
  security: [],
  inputSchema: { type: "object" },
  tags: [],
  responses: {
    "200": { mediaType: "application/json", schema: { $ref: "#/$defs/Order" } },
    "4XX": { mediaType: "application/json", schema: { $ref: "#/$defs/Problem" } },
    default: { mediaType: "application/json", schema: { type: "object", required: ["fault"] } },
  },
};

const bundle: VendorBundle = {
  formatVersion: 1,
  vendor: "shop",
  displayName: "Shop",
  contentHash: "x",
  specTitle: "Shop",
  specVersion: "1",
  securitySchemes: {},
  schemas: {
    Order: {
      type: "object",
      required: ["id", "lines"],
      properties: { id: { type: "integer" }, lines: { type: "array", items: { $ref: "#/$defs/Line" } } },
    },
    Line: {
      type: "object",
      required: ["sku"],
      properties: { sku: { type: "string" }, next: { $ref: "#/$defs/Line" } },
    },
    Problem: { type: "object", required: ["title"] },
    Unused: { type: "string" },
  },
  tools: [tool],
};

describe("validateResponse", () => {
  it("accepts data matching a schema reached through shared $defs (recursive)", () => {
    const data = { id: 1, lines: [{ sku: "a", next: { sku: "b" } }] };
    expect(validateResponse(bundle, tool, 200, data)).toEqual({ valid: true, checked: true });
  });

  it("says where and what does not match", () => {
    const check = validateResponse(bundle, tool, 200, { id: "1", lines: [{ next: { sku: 2 } }] });
    expect(check.valid).toBe(false);
    if (check.valid) return;
    expect(check.mismatches).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^at \/id: .*integer/),
        expect.stringMatching(/^at \/lines\/0\/next\/sku: .*string/),
        expect.stringMatching(/^at \/lines\/0\/sku: is required/),
      ]),
    );
    expect(check.summary).toMatch(/^The 200 response of getOrder does not match its documented schema: at /);
  });

  it("picks the schema by exact status, then range, then default; no schema means unchecked", () => {
    expect(validateResponse(bundle, tool, 404, { title: "x" })).toEqual({ valid: true, checked: true });
    expect(validateResponse(bundle, tool, 404, {}).valid).toBe(false);
    expect(validateResponse(bundle, tool, 500, {}).valid).toBe(false);
    const bare = { ...tool, responses: {} };
    expect(validateResponse(bundle, bare, 200, "anything")).toEqual({ valid: true, checked: false });
  });

  it("does not modify the bundle's shared schemas", () => {
    const before = JSON.stringify(bundle.schemas);
    validateResponse(bundle, tool, 200, { id: 1, lines: [] });
    expect(JSON.stringify(bundle.schemas)).toBe(before);
    expect(Object.getOwnPropertyNames(bundle.schemas.Order)).not.toContain("__absolute_uri__");
  });
});

describe("judgeResponse", () => {
  const drifted = { id: "not-a-number", lines: [] };
  it("off: passes without checking", () => {
    expect(judgeResponse("off", bundle, tool, 200, drifted)).toEqual({ action: "pass" });
  });
  afterEach(() => vi.restoreAllMocks());
  it("warn: reports drift, logs it as one response_drift line with the request id and lets the data through", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const verdict = judgeResponse("warn", bundle, tool, 200, drifted);
    expect(verdict).toMatchObject({ action: "drift" });
    expect(judgeResponse("warn", bundle, tool, 200, { id: 1, lines: [] })).toEqual({ action: "pass" });
    // Judging is pure; the response policy logs what it judged drift, once per body.
    expect(warn).not.toHaveBeenCalled();
    const counted: Promise<unknown>[] = [];
    const policy = {
      env: env as unknown as Env,
      bundle,
      tool,
      settings: {
        ...vendorSettings(loadSettings(env as unknown as Env), bundle),
        responseValidationMode: "warn" as const,
      },
      waitUntil: (promise: Promise<unknown>) => void counted.push(promise.catch(() => {})),
      requestId: "req-drift-1",
    };
    const passed = applyResponsePolicy(policy, 200, JSON.stringify(drifted));
    expect(passed).toMatchObject({ action: "pass", data: drifted });
    expect(applyResponsePolicy(policy, 200, JSON.stringify({ id: 1, lines: [] }))).toMatchObject({
      action: "pass",
    });
    expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)))).toEqual([
      {
        level: "warn",
        event: "response_drift",
        requestId: "req-drift-1",
        vendor: "shop",
        tool: "getOrder",
        status: 200,
        summary: verdict.action === "drift" ? verdict.summary : "",
      },
    ]);
    expect(counted).toHaveLength(1);
    await Promise.all(counted);
  });
  it("strict: rejects with the mismatches", () => {
    const verdict = judgeResponse("strict", bundle, tool, 200, drifted);
    expect(verdict).toMatchObject({ action: "reject", mismatches: [expect.stringMatching(/^at \/id:/)] });
  });
});
