/**
 * A stateful upstream that restarts mid-session (a redeploy): it forgets every session and
 * answers the old `Mcp-Session-Id` with 404. The gateway re-initialises and resends once, so a
 * client connected before the restart never sees "failed to reconnect".
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { closeSdkClients, connectLegacyClient } from "../../worker/mcp/sdk-clients.ts";
import { until } from "../../worker/resilience/support.ts";
import { control, textOf } from "./helpers.ts";

const upstream = inject("e2eDeployment").restarting;

afterEach(closeSdkClients);

interface Sessions {
  sessions: string[];
  initializeCount: number;
}

/** True once the restarted server answers again (a refused connection is not an answer). */
async function answering(): Promise<boolean> {
  try {
    return (await fetch(`${upstream.origin}/_control/state`)).ok;
  } catch {
    return false;
  }
}

describe("an upstream restarted between two calls", () => {
  it("the same client keeps calling: the gateway opens a new upstream session, no error", async () => {
    const client = await connectLegacyClient("/v1/restarting/mcp");
    // `increment` counts per upstream session: 1, 2 shows two gateway requests shared one session.
    const first = await client.callTool({ name: "increment", arguments: {} });
    const second = await client.callTool({ name: "increment", arguments: {} });
    expect([textOf(first), textOf(second)]).toEqual(["1", "2"]);
    // Earlier files' isolates may hold sessions of their own: every check is about this one.
    const before = await control<Sessions>(upstream.origin, "sessions");
    expect(before.sessions.length).toBeGreaterThan(0);

    await control(upstream.origin, "restart");
    await until(answering);
    expect((await control<Sessions>(upstream.origin, "sessions")).sessions).toEqual([]);

    const after = await client.callTool({ name: "increment", arguments: {} });
    expect(after.isError).toBeFalsy();
    // A fresh upstream session (its counter starts again), opened by one more handshake.
    expect(textOf(after)).toBe("1");
    const now = await control<Sessions>(upstream.origin, "sessions");
    expect(now.sessions.length).toBeGreaterThan(0);
    expect(now.sessions.filter((id) => before.sessions.includes(id))).toEqual([]);
    expect(now.initializeCount).toBeGreaterThan(before.initializeCount);

    // The tool list survives the restart as well.
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("increment");
  });
});
