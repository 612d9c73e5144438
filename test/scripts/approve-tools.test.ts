/**
 * `npm run approve-tools` (scripts/approve-tools.ts) against local KV (wrangler's `--local`
 * state in a temporary directory, as `npm start` keeps it): it turns the recorded changes into
 * approved definitions, only for the tools named, and leaves the rest.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseRecord } from "../../src/mcp-upstream/definition-record.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SCRIPT = join(ROOT, "scripts", "approve-tools.ts");
const STATE = mkdtempSync(join(tmpdir(), "approve-tools-test-"));
// Wrangler's shebang finds Node 22 (the node@22 devDependency) first, as under `npm run`.
const ENV = { ...process.env, PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}` };
const LOCAL = ["--binding", "OAUTH_KV", "--local", "--persist-to", STATE];

afterAll(() => rmSync(STATE, { recursive: true, force: true }));

function wrangler(args: string[]): string {
  const result = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...ENV, WRANGLER_SEND_METRICS: "false" },
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

function approve(...args: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...args, "--local", "--persist-to", STATE], {
    cwd: ROOT,
    encoding: "utf8",
    env: ENV,
  });
}

const h = (c: string) => c.repeat(64);

describe("scripts/approve-tools.ts", () => {
  // Five wrangler runs of a few seconds each (more on a busy machine).
  it("approves the named changed tool, reports the others, and leaves them changed", {
    timeout: 240_000,
  }, () => {
    const file = join(STATE, "seed.json");
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        tools: [
          { name: "search", approved: h("a"), approvedAt: "2026-12-01T00:00:00.000Z" },
          {
            name: "send",
            approved: h("b"),
            approvedAt: "snapshot",
            current: h("c"),
            changedAt: "2026-12-02T00:00:00.000Z",
          },
          {
            name: "drop",
            approved: h("d"),
            approvedAt: "2026-12-01T00:00:00.000Z",
            current: h("e"),
            changedAt: "2026-12-03T00:00:00.000Z",
          },
        ],
      }),
    );
    wrangler(["kv", "key", "put", "tooldefs:mcp-x", "--path", file, ...LOCAL]);

    const dry = approve("mcp-x", "send", "--dry-run");
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      "would approve mcp-x send: bbbbbbbbbbbb… (approved the compile-time snapshot) → cccccccccccc…",
    );

    const run = approve("mcp-x", "send", "search", "nope");
    expect(run.stderr).toContain("mcp-x has no recorded tool named nope.");
    expect(run.stdout).toContain("search: not changed since it was approved.");
    expect(run.stdout).toContain("Approved 1 tool definition(s) of mcp-x.");
    expect(run.status).toBe(1); // a name it did not know

    const record = parseRecord(wrangler(["kv", "key", "get", "tooldefs:mcp-x", "--text", ...LOCAL]));
    expect(record?.tools[0]).toEqual({
      name: "search",
      approved: h("a"),
      approvedAt: "2026-12-01T00:00:00.000Z",
    });
    expect(record?.tools[1]).toEqual({
      name: "send",
      approved: h("c"),
      approvedAt: expect.stringMatching(/^20\d\d-/),
    });
    expect(record?.tools[2]).toMatchObject({ name: "drop", approved: h("d"), current: h("e") });
  });

  it("says so when the gateway recorded nothing for the vendor, and refuses a bad vendor name", () => {
    const none = approve("mcp-none");
    expect(none.status, none.stderr).toBe(0);
    expect(none.stdout).toContain("recorded no tool definitions of mcp-none yet");
    const bad = approve("../x");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Not a vendor name");
  });
});
