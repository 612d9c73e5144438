/**
 * `npm run compile`: compiles every vendor in `specs/` into `src/generated/`.
 *
 *   node scripts/compile.ts [--specs DIR] [--out DIR] [--snapshot VENDOR]...
 *   node scripts/compile.ts --check FILE
 *
 * Exit codes: 0 ok, 1 invalid spec or vendor configuration (nothing written), 2 bad usage.
 */
import { parseArgs } from "node:util";
import {
  CompileFailedError,
  CompilerError,
  checkSpec,
  compileAll,
  formatSummary,
  type ProgressEvent,
  TOKEN_ESTIMATE_METHOD,
} from "./compiler/index.ts";
import { formatBytes } from "./compiler/summary.ts";

const USAGE = `Usage:
  node scripts/compile.ts [--specs DIR] [--out DIR]   compile every specs/<vendor>/ (defaults: specs, src/generated)
  node scripts/compile.ts --check FILE [--lenient]    validate one spec file and print what it holds
                                                      (--lenient: as "lenient": true in vendor.json)
  --snapshot VENDOR (repeatable)                      fetch an MCP vendor's tool list now and write it to
                                                      specs/VENDOR/mcp-tools.json (a fixed catalogue; the
                                                      compile fails and writes nothing if the fetch fails)`;

/** Progress lines at most this often. */
const PROGRESS_INTERVAL_MS = 250;
/** Specs this big (bytes or operations) get progress lines; small ones compile too fast to need them. */
const PROGRESS_MIN_BYTES = 1024 * 1024;
const PROGRESS_MIN_OPERATIONS = 200;

const PHASE_LABELS: Record<string, string> = {
  validate: "validating",
  resolve: "checking $refs",
  convert: "converting",
  tools: "building tools",
};

function progressReporter(): (event: ProgressEvent) => void {
  const tty = process.stderr.isTTY === true;
  let started = 0;
  let last = 0;
  let big = false;
  let open = false;
  const show = (line: string) => {
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    open = tty;
  };
  return (event) => {
    const now = performance.now();
    const elapsed = `${((now - started) / 1000).toFixed(1)} s`;
    switch (event.phase) {
      case "read":
        started = now;
        big = false;
        return;
      case "done":
        if (open) process.stderr.write("\r\x1b[K");
        open = false;
        return;
      case "tools":
        if (event.total !== undefined && event.total >= PROGRESS_MIN_OPERATIONS) big = true;
        if (!big || event.total === undefined) return;
        if (now - last < PROGRESS_INTERVAL_MS && event.done !== event.total) return;
        last = now;
        show(`${event.vendor}: building tools ${event.done}/${event.total} (${elapsed})`);
        return;
      default:
        if (event.bytes !== undefined && event.bytes >= PROGRESS_MIN_BYTES) big = true;
        if (big) show(`${event.vendor}: ${PHASE_LABELS[event.phase] ?? event.phase}… (${elapsed})`);
    }
  };
}

/**
 * The summary's discovery-mode line applies the Worker's rule with the threshold the
 * deployment uses: `DISCOVERY_TOOL_THRESHOLD` from the environment when set (as in
 * wrangler.toml's [vars]), else the Worker's default.
 */
function discoveryThresholdFromEnv(): number | undefined {
  const raw = process.env.DISCOVERY_TOOL_THRESHOLD?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1) {
    console.error(`DISCOVERY_TOOL_THRESHOLD must be a positive integer, got "${raw}"`);
    process.exit(2);
  }
  return Number(raw);
}

function fail(error: unknown): never {
  if (error instanceof CompileFailedError) {
    for (const { error: e } of error.failures) console.error(`${e.message}\n`);
    console.error(`compile failed: ${error.failures.length} vendor(s) with errors; nothing was written`);
    process.exit(1);
  }
  if (error instanceof CompilerError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

async function main(): Promise<void> {
  let values: {
    specs?: string;
    out?: string;
    check?: string;
    lenient?: boolean;
    snapshot?: string[];
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        specs: { type: "string" },
        out: { type: "string" },
        check: { type: "string" },
        lenient: { type: "boolean" },
        snapshot: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }

  if (values.lenient && values.check === undefined) {
    console.error(
      `--lenient goes with --check (for a vendor, set "lenient": true in its vendor.json)\n\n${USAGE}`,
    );
    process.exit(2);
  }
  if (values.check !== undefined) {
    if (values.specs !== undefined || values.out !== undefined || values.snapshot !== undefined) {
      console.error(`--check takes no --specs/--out/--snapshot\n\n${USAGE}`);
      process.exit(2);
    }
    const started = performance.now();
    try {
      const threshold = discoveryThresholdFromEnv();
      const { bundle, summary } = await checkSpec(values.check, {
        onProgress: progressReporter(),
        lenient: values.lenient === true,
        ...(threshold !== undefined ? { discoveryThreshold: threshold } : {}),
      });
      const repaired = summary.warnings.some((w) => w.message.startsWith("lenient: "));
      const skipped = summary.skipped.some((o) => o.reason.startsWith("lenient: "));
      console.log(
        `${values.check}: ${repaired || skipped ? "usable with lenient repairs/skips (see below):" : "valid"} ${summary.specFormat}`,
      );
      console.log(formatSummary({ ...summary, vendor: "spec" }, performance.now() - started));
      const schemes = Object.entries(bundle.securitySchemes).map(([name, s]) => `${name} (${s.type})`);
      console.log(`  base URL: ${bundle.baseUrl ?? "(none: relative or missing servers)"}`);
      console.log(`  security schemes: ${schemes.length > 0 ? schemes.join(", ") : "none"}`);
      console.log(`  (${TOKEN_ESTIMATE_METHOD})`);
    } catch (error) {
      fail(error);
    }
    return;
  }

  const specsDir = values.specs ?? "specs";
  const outDir = values.out ?? "src/generated";
  const started = performance.now();
  try {
    const vendorStart = new Map<string, number>();
    const report = progressReporter();
    const threshold = discoveryThresholdFromEnv();
    const result = await compileAll({
      specsDir,
      outDir,
      ...(threshold !== undefined ? { discoveryThreshold: threshold } : {}),
      ...(values.snapshot !== undefined ? { snapshot: values.snapshot } : {}),
      onProgress: (event) => {
        if (event.phase === "read") vendorStart.set(event.vendor, performance.now());
        report(event);
        if (event.phase === "done")
          vendorStart.set(event.vendor, performance.now() - vendorStart.get(event.vendor)!);
      },
    });
    if (result.missingSpecsDir) console.log(`${specsDir} does not exist: wrote an empty registry`);
    for (const file of result.snapshots)
      console.log(
        `snapshot: wrote ${specsDir}/${file} (review and commit it: it is the vendor's tool catalogue)`,
      );
    for (const { summary } of result.vendors)
      console.log(formatSummary(summary, vendorStart.get(summary.vendor)));
    const total = result.vendors.reduce((n, v) => n + v.summary.bundleBytes, 0);
    const changes =
      result.written.length + result.removed.length === 0
        ? "up to date"
        : `wrote ${result.written.join(", ") || "nothing"}${result.removed.length > 0 ? `; removed ${result.removed.join(", ")}` : ""}`;
    console.log(
      `${result.vendors.length} vendor(s), ${formatBytes(total)} of bundles → ${outDir} (${changes}) in ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
  } catch (error) {
    fail(error);
  }
}

await main();
