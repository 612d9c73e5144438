import { describe, expect, it } from "vitest";
import type { VendorBundle } from "../../src/bundle/types.ts";
import { allowedOrigins, envString, loadConfig, loadSettings, vendorSettings } from "../../src/config.ts";
import { GatewayError } from "../../src/errors.ts";
import { bareBundle } from "../support/bare-bundle.ts";

/** `resilience` as vendor.json has it, valid or not (the settings check is what is tested). */
function bundle(vendor: string, resilience?: unknown): VendorBundle {
  return bareBundle(vendor, resilience === undefined ? {} : ({ resilience } as Partial<VendorBundle>));
}

function configError(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected a GatewayError");
}

describe("loadSettings", () => {
  it("applies the documented defaults when nothing is set", () => {
    expect(loadSettings({})).toEqual({
      maxRetries: 3,
      retryBackoffFactor: 2,
      circuitBreakerFailureThreshold: 5,
      circuitBreakerTimeoutSeconds: 60,
      circuitBreakerHalfOpenProbes: 1,
      rateLimiting: undefined,
      rateLimitRequestsPerSecond: 10,
      rateLimitBurst: undefined,
      upstreamTimeoutSeconds: 30,
      toolExecutionTimeoutSeconds: 90,
      responseValidationMode: "warn",
      sanitizationLevel: "DISABLED",
      maxResponseBytes: 100_000,
      maxBinaryResponseBytes: 1_048_576,
    });
  });

  it("parses strings, trims, normalizes case and treats empty as unset", () => {
    const s = loadSettings({
      MAX_RETRIES: " 0 ",
      RETRY_BACKOFF_FACTOR: "1.5",
      RATE_LIMITING: "Enabled",
      RATE_LIMIT_BURST: "20",
      UPSTREAM_TIMEOUT: "0.5",
      RESPONSE_VALIDATION_MODE: "STRICT",
      SANITIZATION_LEVEL: "high",
      TOOL_EXECUTION_TIMEOUT: "",
    });
    expect(s).toMatchObject({
      maxRetries: 0,
      retryBackoffFactor: 1.5,
      rateLimiting: "enabled",
      rateLimitBurst: 20,
      upstreamTimeoutSeconds: 0.5,
      responseValidationMode: "strict",
      sanitizationLevel: "HIGH",
      toolExecutionTimeoutSeconds: 90,
    });
  });

  it.each([
    ["MAX_RETRIES", "three", "an integer from 0 to 10"],
    ["MAX_RETRIES", "11", "an integer from 0 to 10"],
    ["MAX_RETRIES", "1.5", "an integer from 0 to 10"],
    ["RETRY_BACKOFF_FACTOR", "0.5", "a number from 1 to 10"],
    ["CIRCUIT_BREAKER_TIMEOUT_SECONDS", "0", "a number above 0 and at most 3600 seconds"],
    ["TOOL_EXECUTION_TIMEOUT", "-1", "a number above 0 and at most 900 seconds"],
    ["RATE_LIMITING", "yes", "one of enabled, disabled"],
    ["RESPONSE_VALIDATION_MODE", "loud", "one of off, warn, strict"],
    ["SANITIZATION_LEVEL", "EXTREME", "one of DISABLED, LOW, MEDIUM, HIGH"],
  ])("rejects %s=%j naming the setting and what is allowed", (name, value, allowed) => {
    const error = configError(() => loadSettings({ [name]: value }));
    expect(error.code).toBe("invalid_configuration");
    expect(error.status).toBe(500);
    expect(error.message).toBe(`Invalid configuration: ${name} must be ${allowed} (got "${value}").`);
    expect(error.details).toEqual({ setting: name, allowed, received: value });
  });

  it("caches per env object, errors included", () => {
    const env = { MAX_RETRIES: "2" };
    expect(loadSettings(env)).toBe(loadSettings(env));
    const bad = { MAX_RETRIES: "x" };
    expect(configError(() => loadSettings(bad))).toBe(configError(() => loadSettings(bad)));
  });

  it("answers a bad value with a JSON error body, not a crash", async () => {
    const error = configError(() => loadSettings({ SANITIZATION_LEVEL: "nope" }));
    const res = error.getResponse("req-1");
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: {
        code: "invalid_configuration",
        message:
          'Invalid configuration: SANITIZATION_LEVEL must be one of DISABLED, LOW, MEDIUM, HIGH (got "nope").',
        requestId: "req-1",
        details: {
          setting: "SANITIZATION_LEVEL",
          allowed: "one of DISABLED, LOW, MEDIUM, HIGH",
          received: "nope",
        },
      },
    });
  });
});

describe("vendorSettings", () => {
  it("applies vendor.json overrides over the environment", () => {
    const settings = loadSettings({ MAX_RETRIES: "3", SANITIZATION_LEVEL: "LOW" });
    const s = vendorSettings(
      settings,
      bundle("acme", {
        maxRetries: 1,
        circuitBreakerTimeoutSeconds: 5,
        rateLimit: { enabled: true, requestsPerSecond: 2.5 },
        responseValidationMode: "strict",
      }),
    );
    expect(s).toMatchObject({
      vendor: "acme",
      maxRetries: 1,
      circuitBreakerTimeoutSeconds: 5,
      rateLimitEnabled: true,
      rateLimitRequestsPerSecond: 2.5,
      rateLimitBurst: 3, // follows the vendor's rate when no burst is set anywhere
      responseValidationMode: "strict",
      sanitizationLevel: "LOW",
    });
  });

  it("rate limiting: off by default, on per vendor or globally, RATE_LIMITING=disabled wins", () => {
    const b = bundle("v", { rateLimit: { enabled: true } });
    const optOut = bundle("w", { rateLimit: { enabled: false } });
    const plain = bundle("p");
    const byDefault = loadSettings({});
    expect(vendorSettings(byDefault, plain).rateLimitEnabled).toBe(false);
    expect(vendorSettings(byDefault, b).rateLimitEnabled).toBe(true);
    const on = loadSettings({ RATE_LIMITING: "enabled", RATE_LIMIT_BURST: "7" });
    expect(vendorSettings(on, plain)).toMatchObject({ rateLimitEnabled: true, rateLimitBurst: 7 });
    expect(vendorSettings(on, optOut).rateLimitEnabled).toBe(false);
    const off = loadSettings({ RATE_LIMITING: "disabled" });
    expect(vendorSettings(off, b).rateLimitEnabled).toBe(false);
  });

  it("rejects a bad vendor.json value naming the file and key", () => {
    const settings = loadSettings({});
    const error = configError(() => vendorSettings(settings, bundle("acme", { rateLimit: { burst: 0 } })));
    expect(error.code).toBe("invalid_configuration");
    expect(error.message).toBe(
      'Invalid configuration: specs/acme/vendor.json resilience.rateLimit.burst must be an integer from 1 to 100000 (got "0").',
    );
    const unknown = configError(() => vendorSettings(settings, bundle("acme", { retries: 2 })));
    expect(unknown.message).toMatch(
      /^Invalid configuration: specs\/acme\/vendor.json resilience.retries must be absent \(unknown key; allowed: maxRetries, retryBackoffFactor, .*\)/,
    );
  });
});

describe("loadConfig: every variable, once per env", () => {
  it("parses ALLOWED_ORIGINS into serialized origins and rejects a non-origin naming the variable", () => {
    expect([...allowedOrigins({ ALLOWED_ORIGINS: " https://claude.ai , http://LOCALHOST:8080 ," })]).toEqual([
      "https://claude.ai",
      "http://localhost:8080",
    ]);
    expect(allowedOrigins({}).size).toBe(0);
    const error = configError(() =>
      allowedOrigins({ ALLOWED_ORIGINS: "https://ok.example,https://x.example/path" }),
    );
    expect(error.code).toBe("invalid_configuration");
    expect(error.details).toMatchObject({ setting: "ALLOWED_ORIGINS" });
    expect(error.message).toContain('"https://x.example/path" is not one');
  });

  it("parses the auth variables with the settings, naming the bad one", () => {
    const env = {
      GATEWAY_AUTH: " NONE ",
      GATEWAY_PUBLIC_URL: "https://mcp.example.com/some/path",
      OIDC_ISSUER: "https://idp.example.com/",
      OIDC_CLIENT_ID: "gw",
      OIDC_SCOPES: "email, profile",
      CREDENTIALS_ENCRYPTION_KEY: "  k  ",
    };
    expect(loadConfig(env).auth).toEqual({
      required: false,
      publicUrl: "https://mcp.example.com",
      oidc: {
        issuer: "https://idp.example.com",
        clientId: "gw",
        scopes: ["openid", "email", "profile"],
        allowUnlisted: false,
        displayName: "single sign-on",
      },
      credentialsKey: "k",
    });
    expect(loadConfig(env)).toBe(loadConfig(env));
    const error = configError(() => loadConfig({ OIDC_ISSUER: "https://idp.example.com" }));
    expect(error.message).toBe("OIDC_CLIENT_ID: is required when OIDC_ISSUER is set");
    expect(error.details).toEqual({ setting: "OIDC_CLIENT_ID" });
  });

  it("reads every string variable by one rule: trimmed, blank means unset", () => {
    expect(envString({ ACME_API_KEY: " key\n" }, "ACME_API_KEY")).toBe("key");
    expect(envString({ ACME_API_KEY: " \t" }, "ACME_API_KEY")).toBeUndefined();
    expect(envString({ ACME_API_KEY: 42 }, "ACME_API_KEY")).toBeUndefined();
    expect(envString({}, "ACME_API_KEY")).toBeUndefined();
  });
});
