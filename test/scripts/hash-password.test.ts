import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/auth/password.ts";

const SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "hash-password.ts");

function run(input: string) {
  return spawnSync(process.execPath, [SCRIPT, "--stdin"], { input, encoding: "utf8" });
}

describe("scripts/hash-password.ts", () => {
  it("prints a PBKDF2 hash the Worker verifies, from stdin (never argv)", async () => {
    const result = run("a long enough password\n");
    expect(result.status, result.stderr).toBe(0);
    const hash = result.stdout.trim();
    expect(hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword("a long enough password", hash)).toBe(true);
    expect(await verifyPassword("a long enough passwor", hash)).toBe(false);
    // Same password, fresh salt.
    expect(run("a long enough password").stdout.trim()).not.toBe(hash);
  });

  it("refuses a short password", () => {
    const result = run("short");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("at least 12 characters");
  });
});
