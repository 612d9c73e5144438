import { afterEach, describe, expect, it, vi } from "vitest";
import { errorText, log } from "../../src/log.ts";

/** The lines each console method received, parsed. */
function spyConsole() {
  const spies = {
    log: vi.spyOn(console, "log").mockImplementation(() => {}),
    warn: vi.spyOn(console, "warn").mockImplementation(() => {}),
    error: vi.spyOn(console, "error").mockImplementation(() => {}),
  };
  const lines = (method: keyof typeof spies) =>
    spies[method].mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
  return lines;
}

describe("log", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one JSON line through the console method of the event's level", () => {
    const lines = spyConsole();
    log({ event: "health_probe", vendor: "demo", tool: "ping", ok: true });
    log({ event: "guard_unavailable", vendor: "demo", op: "admit", error: "Error: down" });
    log({ event: "health_probe_failed", error: "Error: boom" });
    expect(lines("log")).toEqual([
      { level: "info", event: "health_probe", vendor: "demo", tool: "ping", ok: true },
    ]);
    expect(lines("warn")).toEqual([
      { level: "warn", event: "guard_unavailable", vendor: "demo", op: "admit", error: "Error: down" },
    ]);
    expect(lines("error")).toEqual([{ level: "error", event: "health_probe_failed", error: "Error: boom" }]);
  });

  it("starts each line with level and event, and adds no time (the platform stamps lines)", () => {
    const written = vi.spyOn(console, "warn").mockImplementation(() => {});
    log({ event: "refresh_token_reuse", grantId: "g1" });
    expect(String(written.mock.calls[0]?.[0])).toBe(
      '{"level":"warn","event":"refresh_token_reuse","grantId":"g1"}',
    );
  });

  it("leaves out optional fields that are undefined", () => {
    const lines = spyConsole();
    log({ event: "oauth_error", code: "invalid_grant", status: 400, category: undefined, reason: undefined });
    expect(lines("warn")).toEqual([
      { level: "warn", event: "oauth_error", code: "invalid_grant", status: 400 },
    ]);
  });
});

describe("errorText", () => {
  it("names an Error's class with its message and stringifies anything else", () => {
    expect(errorText(new TypeError("bad"))).toBe("TypeError: bad");
    expect(errorText("plain")).toBe("plain");
    expect(errorText(42)).toBe("42");
  });
});
