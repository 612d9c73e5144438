import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { HTTPException } from "hono/http-exception";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app.ts";
import { GatewayError, lastResortResponse } from "../../src/errors.ts";
import { authEnv } from "./auth/helpers.ts";

const BASE = "http://gateway.test";

interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

async function expectJsonError(res: Response, status: number, code: string): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

/** The real app plus one route that throws, served with the test environment. */
function appWithThrowingRoute(error: unknown) {
  const app = createApp();
  app.get("/__throws", () => {
    throw error;
  });
  return (path: string) => app.fetch(new Request(`${BASE}${path}`), env, createExecutionContext());
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("JSON errors on every route", () => {
  it("answers an unknown path with a JSON 404", async () => {
    const body = await expectJsonError(await exports.default.fetch(`${BASE}/nope`), 404, "not_found");
    expect(body.error.message).toContain("/nope");
  });

  it("answers a wrong method on a known path with a JSON 405 and Allow", async () => {
    const res = await exports.default.fetch(`${BASE}/health`, { method: "POST" });
    const body = await expectJsonError(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(body.error.details).toEqual({ allowed: ["GET", "HEAD"] });
  });

  it("gives every response a request id and reuses a well-formed incoming one", async () => {
    const fresh = await exports.default.fetch(`${BASE}/health`);
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    const reused = await exports.default.fetch(`${BASE}/nope`, {
      headers: { "x-request-id": "trace-1234abcd" },
    });
    expect(((await reused.json()) as ErrorBody).error.requestId).toBe("trace-1234abcd");

    const forged = await exports.default.fetch(`${BASE}/nope`, {
      headers: { "x-request-id": "forged id level=error" },
    });
    expect(((await forged.json()) as ErrorBody).error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("turns a thrown exception into a JSON 500 logged with the request id", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const fetchApp = appWithThrowingRoute(new TypeError("secret internals"));
    const res = await fetchApp("/__throws");
    const body = await expectJsonError(res, 500, "internal_error");
    expect(body.error.message).not.toContain("secret internals");
    const line = JSON.parse(String(logged.mock.calls[0]?.[0])) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: "error",
      event: "unexpected_error",
      requestId: body.error.requestId,
      where: "GET /__throws",
    });
    expect(line.error).toContain("secret internals");
  });

  it("turns a thrown non-Error value into a JSON 500 too", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    await expectJsonError(await appWithThrowingRoute("a string")("/__throws"), 500, "internal_error");
  });

  it("answers a GatewayError with its own status, details and headers", async () => {
    const error = new GatewayError("rate_limited", "slow down", {
      details: { retryAfterSeconds: 3 },
      headers: { "retry-after": "3" },
    });
    const res = await appWithThrowingRoute(error)("/__throws");
    const body = await expectJsonError(res, 429, "rate_limited");
    expect(body.error).toMatchObject({ message: "slow down", details: { retryAfterSeconds: 3 } });
    expect(res.headers.get("retry-after")).toBe("3");
  });

  it("answers hono's HTTPException as JSON with its status instead of plain text", async () => {
    const res = await appWithThrowingRoute(new HTTPException(401, { message: "no token" }))("/__throws");
    const body = await expectJsonError(res, 401, "unauthorized");
    expect(body.error.message).toBe("no token");
  });

  it("has a last-resort JSON 500 for the Worker entry that needs nothing but the error", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = lastResortResponse(new Error("escaped"));
    await expectJsonError(res, 500, "internal_error");
  });
});

describe("the app's own check of the caller on /v1/ (behind the OAuth resource server)", () => {
  it("answers a request without an authenticated caller with a JSON 401, CORS headers included", async () => {
    const authOn = await authEnv();
    const res = await createApp().fetch(
      new Request(`${BASE}/v1/mcp`, { method: "POST", headers: { origin: "https://allowed.example" } }),
      authOn,
      createExecutionContext(),
    );
    await expectJsonError(res, 401, "unauthorized");
    expect(res.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect(res.headers.get("vary")).toBe("Origin");
  });
});
