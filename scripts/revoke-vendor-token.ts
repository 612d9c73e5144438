/**
 * Forces re-authorization of a vendor for one user or team: deletes their stored
 * upstream credential (OAuth tokens or API key) from `OAUTH_KV` — the gateway's
 * equivalent of deleting a token file. Their next call says "connect again" with
 * the credentials-page URL.
 *
 *   npm run revoke-vendor-token -- --user alice --vendor github            # deployed (remote) KV
 *   npm run revoke-vendor-token -- --team eng --vendor github
 *   npm run revoke-vendor-token -- --user alice --all-vendors
 *   npm run revoke-vendor-token -- --user alice --vendor demo --local      # npm start's miniflare state
 *     [--persist-to .wrangler/state] [--config wrangler.toml] [--dry-run]
 *
 * It runs `wrangler kv key list/delete --binding OAUTH_KV`; the key names are computed
 * here exactly as the Worker computes them (src/auth/credential-store.ts), so no user
 * id is ever stored or sent in plain text. Values are never read.
 */
import { parseArgs } from "node:util";
import { type CredentialOwner, credentialKey } from "../src/auth/credential-store.ts";
import { KV_TARGET_OPTIONS, kvTarget, usageError, VENDOR, wrangler } from "./kv-cli.ts";

const USAGE =
  "Usage: npm run revoke-vendor-token -- (--user ID | --team ID) (--vendor NAME | --all-vendors) [--local [--persist-to DIR]] [--config FILE] [--dry-run]";

function usage(message: string): never {
  return usageError(message, USAGE);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: "string" },
      team: { type: "string" },
      vendor: { type: "string" },
      "all-vendors": { type: "boolean", default: false },
      ...KV_TARGET_OPTIONS,
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if ((values.user === undefined) === (values.team === undefined))
    usage("Give exactly one of --user or --team.");
  if ((values.vendor === undefined) === !values["all-vendors"])
    usage("Give exactly one of --vendor or --all-vendors.");
  if (values.vendor !== undefined && !VENDOR.test(values.vendor))
    usage(`Not a vendor name: ${values.vendor}`);
  const owner: CredentialOwner =
    values.user !== undefined ? { kind: "user", id: values.user } : { kind: "team", id: values.team ?? "" };

  const target = kvTarget(values);

  let keys: string[];
  if (values.vendor !== undefined) {
    keys = [await credentialKey(owner, values.vendor)];
  } else {
    // The owner's prefix: the key of a vendor named "" is exactly that prefix.
    const prefix = await credentialKey(owner, "");
    const listed = JSON.parse(wrangler(["kv", "key", "list", "--prefix", prefix, ...target])) as {
      name: string;
    }[];
    keys = listed.map((entry) => entry.name);
  }
  const who = `${owner.kind} ${owner.id}`;
  if (keys.length === 0) {
    console.log(`No stored vendor credentials for ${who}.`);
    return;
  }
  for (const key of keys) {
    const vendor = key.slice(key.lastIndexOf(":") + 1);
    if (values["dry-run"]) {
      console.log(`would delete ${key} (${who}, vendor ${vendor})`);
      continue;
    }
    wrangler(["kv", "key", "delete", key, ...target]);
    console.log(`Deleted the ${vendor} credential of ${who}: they connect again on /credentials.`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
