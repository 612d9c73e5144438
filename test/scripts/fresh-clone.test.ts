/**
 * Documented commands on a fresh clone, from the system's own Node (issue #11 item 12): the
 * repository's files without src/generated/ and without node_modules/.bin on PATH, the way an
 * operator runs them after `npm install`. `npx wrangler deploy --dry-run` compiles specs/ itself
 * (wrangler.toml [build]); the scripts the README names run through npm, which brings Node 22.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ROOT } from "../../scripts/lib/dev-server.ts";

/** A cold wrangler bundle of the gateway on a loaded machine. */
const COMMAND_TIMEOUT_MS = 180_000;

let clone: string;
/** PATH without any node_modules/.bin: `node`, `npm` and `npx` are the system's. */
let systemPath: string;

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), "gateway-fresh-clone-"));
  // Tracked and new files, as a clone of this tree would have them (nothing git ignores: no src/generated).
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter((file) => file !== "" && existsSync(join(ROOT, file)));
  for (const file of files) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(ROOT, file), join(clone, file));
  }
  symlinkSync(join(ROOT, "node_modules"), join(clone, "node_modules"), "dir");
  systemPath = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => !entry.includes("node_modules"))
    .join(delimiter);
});

afterAll(() => {
  if (clone !== undefined) rmSync(clone, { recursive: true, force: true });
});

function run(command: string, args: string[], input?: string) {
  return spawnSync(command, args, {
    cwd: clone,
    env: { ...process.env, PATH: systemPath, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
    encoding: "utf8",
    timeout: COMMAND_TIMEOUT_MS,
    ...(input === undefined ? {} : { input }),
  });
}

describe("a fresh clone, commands from the system's Node", () => {
  it("has a system Node of at least 20 on PATH (what the README promises to work from)", () => {
    const version = run("node", ["--version"]);
    expect(version.status, version.stderr).toBe(0);
    expect(Number(/^v(\d+)/.exec(version.stdout)?.[1])).toBeGreaterThanOrEqual(20);
    expect(existsSync(join(clone, "src", "generated", "index.ts"))).toBe(false);
  });

  it("npm start loads before anything is compiled (its checks run first)", async () => {
    const port = await freePort();
    const result = spawnSync("npm", ["start"], {
      cwd: clone,
      env: { ...process.env, PATH: systemPath, PORT: String(port), MAX_RETRIES: "many", FORCE_COLOR: "0" },
      encoding: "utf8",
      timeout: COMMAND_TIMEOUT_MS,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Configuration error: Invalid configuration: MAX_RETRIES");
  });

  it(
    "npx wrangler deploy --dry-run compiles specs/ first and bundles the Worker",
    () => {
      const out = join(clone, "dry-run-out");
      const result = run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out]);
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toContain("--dry-run: exiting now");
      expect(existsSync(join(clone, "src", "generated", "index.ts"))).toBe(true);
      expect(readFileSync(join(out, "worker.js"), "utf8")).toContain("mcp-edge-gateway");
    },
    COMMAND_TIMEOUT_MS,
  );

  it("npm run hash-password makes a hash (node scripts/hash-password.ts fails on Node 20)", () => {
    const result = run(
      "npm",
      ["run", "--silent", "hash-password", "--", "--stdin"],
      "a long enough password",
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
  });

  it("npm run revoke-vendor-token computes the keys it would delete", () => {
    const result = run("npm", [
      "run",
      "--silent",
      "revoke-vendor-token",
      "--",
      "--user",
      "alice",
      "--vendor",
      "demo",
      "--local",
      "--dry-run",
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^would delete cred:u:[0-9a-f]{32}:demo \(user alice, vendor demo\)$/m);
  });

  it("documents no command that needs Node 22 without npm (`node scripts/…`), and only npm scripts that exist", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).not.toMatch(/(^|[`\s])node scripts\//m);
    const scripts = Object.keys(
      (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
        .scripts,
    );
    const named = [...readme.matchAll(/npm run (?:--silent )?([a-z][a-z:-]*)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const name of new Set(named)) expect(scripts, name).toContain(name);
  });
});
