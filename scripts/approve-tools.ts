/**
 * Approves the current definition of an upstream MCP vendor's changed tools: what the gateway
 * recorded as changed (KV `tooldefs:<vendor>`, src/mcp-upstream/definition-record.ts) becomes
 * the approved definition, so a withheld tool is served again and a warned one loses its warning.
 * Read the change first (`/health/vendors` shows it; the upstream's tool list shows the new text).
 *
 *   npm run approve-tools -- github-mcp                 # every changed tool, deployed (remote) KV
 *   npm run approve-tools -- github-mcp create_issue    # only these tools (upstream names)
 *   npm run approve-tools -- github-mcp --local         # npm start's miniflare state
 *     [--persist-to .wrangler/state] [--config wrangler.toml] [--dry-run]
 *
 * It runs `wrangler kv key get/put --binding OAUTH_KV`. Gateways read the record again within
 * `DEFINITION_RECORD_REFRESH_SECONDS` (60 s) of KV showing the write (KV itself may take about a
 * minute to reach every location).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  approveDefinitions,
  changedEntries,
  parseRecord,
  SNAPSHOT_APPROVAL,
  serializeRecord,
} from "../src/mcp-upstream/definition-record.ts";
import { toolDefinitionsKey } from "../src/storage/keys.ts";
import { KV_TARGET_OPTIONS, kvTarget, usageError, VENDOR, wrangler } from "./kv-cli.ts";

/** What `wrangler kv key get` prints (exit 0) for a key that is not there. */
const NOT_FOUND = "Value not found";

const USAGE =
  "Usage: npm run approve-tools -- <vendor> [tool…] [--local [--persist-to DIR]] [--config FILE] [--dry-run]";

function usage(message: string): never {
  return usageError(message, USAGE);
}

function short(hash: string): string {
  return hash.slice(0, 12);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: KV_TARGET_OPTIONS,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const [vendor, ...tools] = positionals;
  if (vendor === undefined) usage("Name the vendor.");
  if (!VENDOR.test(vendor)) usage(`Not a vendor name: ${vendor}`);

  const target = kvTarget(values);

  const key = toolDefinitionsKey(vendor);
  const text = wrangler(["kv", "key", "get", key, "--text", ...target]).trim();
  if (text === NOT_FOUND || text === "") {
    console.log(`The gateway has recorded no tool definitions of ${vendor} yet: nothing to approve.`);
    if (tools.length > 0) process.exitCode = 1;
    return;
  }
  const record = parseRecord(text);
  if (record === undefined) {
    throw new Error(
      `${key} does not hold a valid definition record. Deleting it (wrangler kv key delete ${key} ${target.join(" ")}) ` +
        "makes the next definitions the gateway sees the approved ones.",
    );
  }
  const changed = changedEntries(record);
  const approval = approveDefinitions(record, tools, new Date().toISOString());
  for (const name of approval.unknown) console.error(`${vendor} has no recorded tool named ${name}.`);
  for (const name of approval.unchanged) console.log(`${name}: not changed since it was approved.`);
  if (approval.approved.length === 0) {
    console.log(changed.length === 0 ? `No changed tool definitions of ${vendor}.` : "Nothing approved.");
    if (approval.unknown.length > 0) process.exitCode = 1;
    return;
  }
  for (const entry of changed.filter((e) => approval.approved.includes(e.name))) {
    const was = entry.approvedAt === SNAPSHOT_APPROVAL ? "the compile-time snapshot" : entry.approvedAt;
    console.log(
      `${values["dry-run"] ? "would approve" : "approving"} ${vendor} ${entry.name}: ${short(entry.approved)}… ` +
        `(approved ${was}) → ${short(entry.current)}… (seen ${entry.changedAt})`,
    );
  }
  if (values["dry-run"]) return;
  // A record can be hundreds of KB: a file, not an argument (Linux caps one argument at 128 KiB).
  const dir = mkdtempSync(join(tmpdir(), "approve-tools-"));
  try {
    const file = join(dir, "record.json");
    writeFileSync(file, serializeRecord(approval.record));
    wrangler(["kv", "key", "put", key, "--path", file, ...target]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `Approved ${approval.approved.length} tool definition(s) of ${vendor}. Gateways serve them as approved within ` +
      "a minute or two (their 60-s re-read plus KV propagation).",
  );
  if (approval.unknown.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
