import { describe, expect, it } from "vitest";
import { manualClock } from "../../support/clocks.ts";
import { until } from "../resilience/support.ts";
import { upAuth, upResponses } from "./fixtures.ts";
import { callTool, jsonOf, recorded, testEnv, uniqueId } from "./helpers.ts";

// A short whole-call bound; the upstream never answers, so the only way out is the deadline.
const SHORT_SECONDS = 0.2;

/**
 * Calls a tool whose upstream never finishes on a manual clock, and lets the whole-call bound
 * pass once the upstream has the request: a busy machine cannot fire another timer first.
 */
async function callPastDeadline(tool: "hang" | "hangBody") {
  const clock = manualClock(Date.now());
  const path = tool === "hang" ? "/respond/hang" : "/respond/hang-body";
  const before = (await recorded(path)).length;
  const call = callTool(
    upResponses,
    tool,
    {},
    { env: { TOOL_EXECUTION_TIMEOUT: String(SHORT_SECONDS) }, clock },
  );
  await until(async () => (await recorded(path)).length > before);
  clock.advance(SHORT_SECONDS * 1000);
  return call;
}

describe("TOOL_EXECUTION_TIMEOUT", () => {
  it("bounds an upstream that never answers, with a clear tool error", async () => {
    const result = await callPastDeadline("hang");
    expect(result.isError).toBe(true);
    expect(jsonOf(result)).toEqual({
      error: "upstream_timeout",
      vendor: "up-responses",
      tool: "hang",
      message:
        "The tool call did not finish within TOOL_EXECUTION_TIMEOUT (0.2 s); the upstream request was cancelled",
    });
  });

  it("bounds a body that starts and never ends", async () => {
    const result = await callPastDeadline("hangBody");
    expect(jsonOf(result).error).toBe("upstream_timeout");
  });

  it("a deadline already past sends nothing", async () => {
    const q = uniqueId();
    const result = await callTool(upAuth, "publicOp", { q }, { deadline: Date.now() - 1 });
    expect(jsonOf(result).error).toBe("upstream_timeout");
    expect(await recorded(q)).toEqual([]);
  });
});

describe("other failures are tool errors too", () => {
  it("an unreachable upstream", async () => {
    const refused = testEnv.REFUSED_BASE_URL ?? "http://127.0.0.1:9";
    const result = await callTool(upAuth, "publicOp", {}, { env: { UP_AUTH_BASE_URL: refused } });
    expect(jsonOf(result)).toMatchObject({
      error: "upstream_unreachable",
      vendor: "up-auth",
      tool: "publicOp",
    });
  });

  it.each([
    ["ftp://files.example/x", "must be http(s)"],
    ["not a url", "not an absolute URL"],
    ["https://user:pw@api.example/", "must not contain credentials"],
  ])("a bad base URL (%s)", async (base, reason) => {
    const body = jsonOf(await callTool(upAuth, "publicOp", {}, { env: { UP_AUTH_BASE_URL: base } }));
    expect(body.error).toBe("configuration_error");
    expect(body.message).toContain(reason);
  });
});
