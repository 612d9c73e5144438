/**
 * What the operator commands that reach the gateway's KV (`revoke-vendor-token`, `approve-tools`)
 * share: running wrangler from the repository, the `--binding OAUTH_KV --local|--remote …` target
 * their flags choose, and a usage error.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** A vendor name as `specs/<vendor>/` allows it. */
export const VENDOR = /^[a-z0-9-]+$/;

/** The flags every KV command takes, for `parseArgs`. */
export const KV_TARGET_OPTIONS = {
  local: { type: "boolean", default: false },
  "persist-to": { type: "string" },
  config: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Prints `message` and the usage, exits 2. */
export function usageError(message: string, usage: string): never {
  console.error(`${message}\n\n${usage}`);
  process.exit(2);
}

/** Runs wrangler (the project's own) and returns its stdout; throws with its output when it fails. */
export function wrangler(args: string[]): string {
  const result = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
  });
  if (result.status !== 0) {
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/** `--binding OAUTH_KV` with the local or remote namespace the flags chose. */
export function kvTarget(values: { local?: boolean; "persist-to"?: string; config?: string }): string[] {
  const target = ["--binding", "OAUTH_KV", values.local ? "--local" : "--remote"];
  if (values["persist-to"] !== undefined) target.push("--persist-to", values["persist-to"]);
  if (values.config !== undefined) target.push("--config", values.config);
  return target;
}
