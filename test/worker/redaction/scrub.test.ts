import { describe, expect, it } from "vitest";
import { SecretScrubber } from "../../../src/redaction/scrub.ts";

function scrubberOf(...secrets: string[]): SecretScrubber {
  const s = new SecretScrubber();
  for (const secret of secrets) s.add(secret);
  return s;
}

describe("SecretScrubber", () => {
  it("returns the same string when there is nothing to scrub", () => {
    const text = "nothing here";
    expect(new SecretScrubber().scrub(text)).toBe(text);
    expect(scrubberOf("k3y-value").scrub(text)).toBe(text);
    expect(scrubberOf("").empty).toBe(true);
  });

  it("finds each spelling an upstream echoes: raw, URL-encoded (either hex case, + for space), JSON-escaped", () => {
    const s = scrubberOf('a/b c"ü');
    for (const spelling of [
      'a/b c"ü',
      "a%2Fb%20c%22%C3%BC",
      "a%2fb%20c%22%c3%bc",
      "a%2Fb+c%22%C3%BC",
      'a/b c\\"ü',
      'a\\/b c\\"\\u00fc',
      'a\\/b c\\"\\u00FC',
    ]) {
      expect(s.scrub(`<${spelling}>`), spelling).toBe("<[REDACTED]>");
    }
  });

  it("scans once, left to right: the replacement is never scanned again, the longer of two overlapping secrets wins", () => {
    expect(scrubberOf("RED").scrub("RED RED")).toBe("[REDACTED] [REDACTED]");
    expect(scrubberOf("abc", "abcdef").scrub("xabcdefx abc")).toBe("x[REDACTED]x [REDACTED]");
  });

  it("scrubCut drops a tail that is the first part of a secret, and only that", () => {
    const s = scrubberOf("SECRETVALUE");
    expect(s.scrubCut("text SECR")).toBe("text ");
    expect(s.scrubCut("text S")).toBe("text ");
    expect(s.scrubCut("SECRETVALUE and SECRETV")).toBe("[REDACTED] and ");
    expect(s.scrubCut("text SECRX")).toBe("text SECRX");
    // The encoded spelling cut in half, too.
    expect(scrubberOf("a b/c").scrubCut("x a%20b%2")).toBe("x ");
  });

  it("scrubValue scrubs every string and key of a failure's values, keeps the rest, and copies only what changed", () => {
    const s = scrubberOf("k3y-value");
    const untouched = { n: 1, list: ["a", { b: true }] };
    const value = {
      message: "bad key k3y-value",
      details: { "k3y-value": ["echo: k3y-value", 2, null], untouched },
      // A key named like the prototype must stay data, never become the object's prototype.
      ["__proto__" as string]: "k3y-value",
    };
    Object.defineProperty(value, "__proto__", { value: "k3y-value", enumerable: true });
    const out = s.scrubValue(value) as Record<string, unknown>;
    expect(out.message).toBe("bad key [REDACTED]");
    expect(out.details).toEqual({ "[REDACTED]": ["echo: [REDACTED]", 2, null], untouched });
    expect((out.details as { untouched: unknown }).untouched).toBe(untouched);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toBe("[REDACTED]");
    expect(JSON.stringify(out)).not.toContain("k3y-value");
    expect(s.scrubValue(untouched)).toBe(untouched);
    expect(new SecretScrubber().scrubValue(value)).toBe(value);
  });

  it("finds a secret's UTF-8 bytes in a binary string", () => {
    const bytes = [0, ...new TextEncoder().encode("pä55"), 255];
    expect(scrubberOf("pä55").inBinaryString(String.fromCharCode(...bytes))).toBe(true);
    expect(scrubberOf("other").inBinaryString(String.fromCharCode(...bytes))).toBe(false);
  });
});
