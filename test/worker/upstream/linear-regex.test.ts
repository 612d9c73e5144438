/**
 * The gateway's own regular expressions over untrusted strings stay native only where
 * they are linear (see the notes in src/schema/formats.ts and at each fixed site).
 * Inputs here are built to make a backtracking regex re-read what it has read: on a
 * quadratic one, each of them would take minutes, so the test would time out.
 */
import { describe, expect, it } from "vitest";
import { MAX_QUERY_CHARS, tokenize } from "../../../src/mcp/discovery-search.ts";
import { FORMATS } from "../../../src/schema/formats.ts";
import { htmlTitle } from "../../../src/upstream/response-errors.ts";
import { call, legacyRequest } from "../mcp/helpers.ts";

const N = 200_000;

/** Repeated units that keep each format's regexes busy: digits, words, separators, escapes, brackets. */
const PUMPS = ["a", "1", "a.", "1.", "a-", "1:", "%4", "[", "{a", "~", "\\", '"', "a@", "P1", "&a", "<title"];
const PREFIXES = ["", "http://", "//[", "P", '"', "#/", "text/"];

describe("format checks take linear time on hostile strings", () => {
  it("answers every format on every pumped input", { timeout: 60_000 }, () => {
    let runs = 0;
    for (const [name, check] of Object.entries(FORMATS)) {
      for (const pump of PUMPS) {
        const body = pump.repeat(Math.ceil(N / pump.length));
        for (const prefix of PREFIXES) {
          const verdict = check(`${prefix}${body}!`);
          expect([true, false, undefined], `${name} on ${prefix}${pump}…`).toContain(verdict);
          runs++;
        }
      }
    }
    expect(runs).toBe(Object.keys(FORMATS).length * PUMPS.length * PREFIXES.length);
  });
});

describe("duration, hand-written", () => {
  // The regex it replaces (its optional groups backtrack in up to 2^7 ways): the reference.
  const REFERENCE =
    /^P(?!$)(?:\d+W|(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:[.,]\d+)?S)?)?)$/;
  const ALPHABET = ["P", "T", "1", "2", ".", ",", "Y", "M", "D", "W", "H", "S", "x"];

  it("accepts exactly what the reference regex accepts, on every string of up to 5 characters", () => {
    const differences: string[] = [];
    let strings = [""];
    for (let length = 0; length <= 5; length++) {
      for (const s of strings) if (FORMATS.duration!(s) !== REFERENCE.test(s)) differences.push(s);
      strings = strings.flatMap((s) => ALPHABET.map((c) => s + c));
    }
    expect(differences).toEqual([]);
  });
});

describe("HTML titles of upstream error pages", () => {
  it("reads a normal title", () => {
    expect(htmlTitle("<html><head><title lang=en>Bad &amp; <b>gateway</b></title ></head></html>")).toBe(
      "Bad & gateway",
    );
  });

  it("answers on unterminated titles and tags in linear time", { timeout: 60_000 }, () => {
    expect(htmlTitle("<title".repeat(N))).toBeUndefined();
    expect(htmlTitle(`<title>${"<".repeat(N)}</title>`)).toMatch(/^<{199}…$/);
    expect(htmlTitle(`<title>${"<b".repeat(N)}x</title>`)).toMatch(/^(?:<b){99}<…$/);
    expect(htmlTitle(`<title>x${"</title ".repeat(N)}`)).toBeUndefined();
  });
});

describe("discovery search", () => {
  it("tokenizes hostile queries in linear time", { timeout: 60_000 }, () => {
    expect(tokenize(`${"A".repeat(N)}a`)).toHaveLength(2);
    expect(tokenize("Ab1-".repeat(N / 4))).toHaveLength(N / 2);
    expect(tokenize(`${"1".repeat(N)}x`)).toHaveLength(2);
  });
});

describe("discovery suggestions for an unknown operation", () => {
  it("search only the first MAX_QUERY_CHARS characters of the caller's name", async () => {
    const name = `${"z".repeat(MAX_QUERY_CHARS)} createIssue`;
    const { body } = await call(
      "/v1/mcp-discovery/mcp",
      legacyRequest("tools/call", { name: "describe", arguments: { names: [name] } }),
    );
    const result = body.result as unknown as { isError: boolean; content: { text: string }[] };
    expect(result.isError).toBe(true);
    const error = JSON.parse(result.content[0]!.text) as { error: string; suggestions?: string[] };
    expect(error.error).toBe("unknown_operation");
    expect(error.suggestions ?? []).not.toContain("createIssue");
  });
});
