/**
 * The README's "Storage schema" tables and src/storage/keys.ts describe the same keys and TTLs
 * (#12): a key added, renamed or given another TTL in one place and not the other fails here.
 * And no module outside keys.ts spells a KV prefix itself, so the module stays the only definition.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  clientTokenKey,
  credentialOwnerPrefix,
  DURABLE_OBJECT_KEYS,
  grantKey,
  KV_KEYS,
  OIDC_STATE_PREFIX,
  refreshRetiredKey,
  SESSION_TTL_SECONDS,
  sessionKey,
  signInAccountName,
  signInAddressName,
  stateKey,
  toolDefinitionsKey,
  VENDOR_STATE_PREFIX,
} from "../../src/storage/keys.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const UNIT_SECONDS: Record<string, number> = { s: 1, min: 60, h: 3600, day: 86_400, days: 86_400 };

function schemaSection(): string {
  const start = README.indexOf("\n## Storage schema\n");
  expect(start).toBeGreaterThanOrEqual(0);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** The rows (cells, trimmed) of the first Markdown table after `heading` in the section. */
function tableAfter(section: string, heading: string): string[][] {
  const at = section.indexOf(heading);
  expect(at, `README Storage schema mentions ${heading}`).toBeGreaterThanOrEqual(0);
  const lines = section.slice(at).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

/** A `code` cell's content, or the cell itself. */
function unquoted(cell: string): string {
  const match = /^`([^`]*)`$/.exec(cell);
  return match?.[1] ?? cell;
}

/** Every duration a TTL cell names, in seconds, in order ("none" names none). */
function durations(cell: string): number[] {
  return [...cell.matchAll(/(\d+)\s*(s|min|h|days?)\b/g)].map(
    ([, amount, unit]) => Number(amount) * (UNIT_SECONDS[unit ?? ""] ?? Number.NaN),
  );
}

/** A key pattern as a regular expression: `<…>` stands for one non-empty part without `:`. */
function patternRegExp(pattern: string): RegExp {
  const parts = pattern.split(/<[^>]*>/).map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[^:]+")}$`);
}

describe("README storage schema matches src/storage/keys.ts", () => {
  const section = schemaSection();

  it("the KV table lists exactly the module's key patterns, with its TTLs", () => {
    const rows = tableAfter(section, "KV namespace `OAUTH_KV`");
    const documented = rows.map(([key = "", , ttl = ""]) => ({
      pattern: unquoted(key),
      ttlSeconds: durations(ttl),
    }));
    const sortByPattern = (a: { pattern: string }, b: { pattern: string }) =>
      a.pattern.localeCompare(b.pattern);
    expect([...documented].sort(sortByPattern)).toEqual(
      KV_KEYS.map(({ pattern, ttlSeconds }) => ({ pattern, ttlSeconds: [...ttlSeconds] })).sort(
        sortByPattern,
      ),
    );
    // The parser reads units, not just numbers: the session row says 8 h.
    expect(documented.find((row) => row.pattern.startsWith("session:"))?.ttlSeconds).toEqual([
      SESSION_TTL_SECONDS,
    ]);
  });

  it("each Durable Object table lists exactly the module's keys and its alarm", () => {
    const namespaces = [...section.matchAll(/Durable Object namespace `([A-Z_]+)`/g)].map(([, name]) => name);
    expect(namespaces.sort()).toEqual(Object.keys(DURABLE_OBJECT_KEYS).sort());
    for (const [namespace, schema] of Object.entries(DURABLE_OBJECT_KEYS)) {
      const rows = tableAfter(section, `Durable Object namespace \`${namespace}\``).map(([key = ""]) => key);
      expect(rows.filter((key) => key !== "alarm").map(unquoted), namespace).toEqual([...schema.keys]);
      expect(rows.includes("alarm"), `${namespace} alarm row`).toBe(schema.alarm);
    }
  });

  it("the sign-in guard's object names are the ones the README names", () => {
    expect(section).toContain(`idFromName("${signInAccountName("")}<`);
    expect(section).toContain(`idFromName("${signInAddressName("")}<`);
  });

  it("every key builder produces a key of a documented pattern", () => {
    const patterns = KV_KEYS.map(({ pattern }) => patternRegExp(pattern));
    const built = [
      sessionKey("ab12"),
      stateKey(OIDC_STATE_PREFIX, "ab12"),
      stateKey(VENDOR_STATE_PREFIX, "ab12"),
      grantKey("alice", "g1"),
      refreshRetiredKey("alice", "g1"),
      `${credentialOwnerPrefix("user", "ab12")}demo`,
      `${credentialOwnerPrefix("team", "ab12")}demo`,
      clientTokenKey("demo", "ab".repeat(32)),
      toolDefinitionsKey("demo"),
    ];
    for (const key of built) {
      expect(
        patterns.filter((pattern) => pattern.test(key)),
        key,
      ).toHaveLength(1);
    }
    // Stored keys keep their format (no migration): these are what existing deployments hold.
    expect(built).toEqual([
      "session:ab12",
      "oidc-state:ab12",
      "vstate:ab12",
      "grant:alice:g1",
      "refresh-retired:alice:g1",
      "cred:u:ab12:demo",
      "cred:t:ab12:demo",
      `cctoken:demo:${"ab".repeat(16)}`,
      "tooldefs:demo",
    ]);
  });

  it("no module outside src/storage/keys.ts spells a KV prefix in code", () => {
    const prefixes = KV_KEYS.map(({ pattern }) => pattern.slice(0, pattern.indexOf(":") + 1));
    const offenders: string[] = [];
    const visit = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== "generated") visit(path);
          continue;
        }
        if (!entry.name.endsWith(".ts") || path.endsWith(join("storage", "keys.ts"))) continue;
        readFileSync(path, "utf8")
          .split("\n")
          .forEach((line, index) => {
            const code = line.trimStart();
            if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) return;
            for (const prefix of prefixes) {
              if ([`"${prefix}`, `'${prefix}`, `\`${prefix}`].some((quoted) => code.includes(quoted))) {
                offenders.push(`${path.slice(ROOT.length)}:${index + 1}: ${prefix}`);
              }
            }
          });
      }
    };
    visit(join(ROOT, "src"));
    expect(offenders).toEqual([]);
  });
});
