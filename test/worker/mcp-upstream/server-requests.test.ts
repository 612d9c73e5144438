import { describe, expect, it } from "vitest";
import {
  MAX_PROGRESS_MESSAGE_CHARS,
  MAX_PROGRESS_NOTIFICATIONS,
  type Progress,
  progressRelay,
  refuseServerRequest,
  SERVER_REQUEST_REFUSAL,
} from "../../../src/mcp-upstream/server-requests.ts";

describe("progress relay", () => {
  it("passes increasing, well-formed reports only, scrubbed and cut, up to the limit", () => {
    const seen: Progress[] = [];
    const relay = progressRelay(
      (progress) => seen.push(progress),
      (text) => text.replaceAll("s3cret", "[REDACTED]"),
    );
    relay({ progress: 1, total: 10, message: "token s3cret used" });
    relay({ progress: 1 }); // not increasing
    relay({ progress: 0.5 }); // going back
    relay({ progress: "2" }); // not a number
    relay({ progress: Number.NaN });
    relay({ progress: 2, total: Number.POSITIVE_INFINITY, message: 7 });
    relay({ progress: 3, message: "m".repeat(MAX_PROGRESS_MESSAGE_CHARS + 50) });
    expect(seen).toEqual([
      { progress: 1, total: 10, message: "token [REDACTED] used" },
      { progress: 2 },
      { progress: 3, message: "m".repeat(MAX_PROGRESS_MESSAGE_CHARS) },
    ]);
    for (let i = 4; i < MAX_PROGRESS_NOTIFICATIONS + 100; i++) relay({ progress: i });
    expect(seen).toHaveLength(MAX_PROGRESS_NOTIFICATIONS);
  });
});

describe("requests from an upstream", () => {
  it("answers ping and refuses everything else with -32601 naming the method", async () => {
    const answer = refuseServerRequest("acme", "req-1");
    expect(await answer("ping", {})).toEqual({ result: {} });
    const refused = await answer("sampling/createMessage", {});
    expect(refused).toEqual({
      error: { code: -32601, message: `${SERVER_REQUEST_REFUSAL}: sampling/createMessage` },
    });
  });
});
