/**
 * An upstream MCP server's tool list as the gateway serves it: fetched with `tools/list`,
 * curated (vendor.json `tools`), reviewed against the definitions first seen, and cached per
 * isolate for `mcp.toolListTtlSeconds` — per caller when the upstream lists tools per user.
 * A list that cannot be fetched never fails a request: the last one known (or the compiled
 * snapshot, or none) is served and the failure is logged.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import { sha256Hex } from "../auth/crypto.ts";
import type { McpToolRecipe, VendorBundle } from "../bundle/types.ts";
import { type Clock, clockFor } from "../clock.ts";
import { errorText, log } from "../log.ts";
import { boundedCache } from "../memo.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import type { McpConnection } from "./connection.ts";

/** Default `mcp.toolListTtlSeconds`: a changed upstream list shows within five minutes. */
export const DEFAULT_TOOL_LIST_TTL_SECONDS = 300;
/** A forced refresh (a call named a tool the list lacks) at most this often per list: clients cannot make the gateway hammer the upstream. */
export const FORCED_REFRESH_INTERVAL_MS = 10_000;
/** One `tools/list` fetch (all pages) may take this long before the last known list is served. */
export const TOOL_LIST_TIMEOUT_MS = 10_000;
/** Pages of `tools/list` followed: a hostile cursor loop ends here. */
export const MAX_TOOL_LIST_PAGES = 20;
/** Tools kept from one upstream (thousands of tools belong in discovery mode, not in one list). */
export const MAX_UPSTREAM_TOOLS = 2_000;
/** Cached lists per isolate (per-user lists: one per active user and vendor). */
const MAX_CACHED_LISTS = 1_000;

/** What fetching a list needs: a connection for the owner, and the clock. */
export interface ToolListRequest {
  env: Env;
  bundle: VendorBundle;
  caller: Caller | undefined;
  connection: () => McpConnection;
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
  /** The triggering request's trace id, for the failure's log line. */
  traceId?: string;
  /** A call named a tool the cached list lacks: fetch again (rate-limited). */
  refresh?: boolean;
  /** Curate and review a fetched list (vendor.json overrides, rug-pull policy). */
  review: (tools: readonly unknown[]) => Promise<ReviewedList>;
}

/** A fetched list after curation and review: what is listed, and what is withheld. */
export interface ReviewedList {
  tools: McpToolRecipe[];
  withheld: McpToolRecipe[];
}

interface CachedList {
  bundle: VendorBundle;
  fetchedAt: number;
  /** Fingerprint of the reviewed list: an unchanged list keeps its bundle object. */
  fingerprint: string;
  pending?: Promise<VendorBundle>;
}

const lists = boundedCache<string, CachedList>(MAX_CACHED_LISTS);

/** Whose list a request reads: the caller's own when the upstream lists tools per user. */
function listKey(bundle: VendorBundle, caller: Pick<Caller, "userId"> | undefined): string {
  return bundle.mcp?.toolListPerUser && caller !== undefined
    ? `${bundle.vendor}|user:${caller.userId}`
    : `${bundle.vendor}|*`;
}

/** Marks the caller's cached list stale: the next resolve fetches it again. */
export function forgetToolList(bundle: VendorBundle, caller: Pick<Caller, "userId"> | undefined): void {
  const cached = lists.get(listKey(bundle, caller));
  if (cached !== undefined) cached.fetchedAt = Number.NEGATIVE_INFINITY;
}

/** The vendor's bundle with the tool list this caller sees now. Never throws. */
export async function resolveToolList(request: ToolListRequest): Promise<VendorBundle> {
  const { bundle } = request;
  // A compiled snapshot is a fixed catalogue: the upstream's list is never fetched.
  if (bundle.mcpTools !== undefined) return bundle;
  const clock = clockFor(request.env);
  const key = listKey(bundle, request.caller);
  const cached = lists.get(key);
  const ttlMs = (bundle.mcp?.toolListTtlSeconds ?? DEFAULT_TOOL_LIST_TTL_SECONDS) * 1000;
  const age = cached === undefined ? Number.POSITIVE_INFINITY : clock.now() - cached.fetchedAt;
  const wanted = request.refresh === true ? age >= FORCED_REFRESH_INTERVAL_MS : age >= ttlMs;
  if (cached !== undefined && !wanted) return cached.bundle;
  if (cached?.pending !== undefined) return cached.pending;
  const entry: CachedList = cached ?? { bundle: { ...bundle, mcpTools: [] }, fetchedAt: 0, fingerprint: "" };
  const pending = refreshList(request, entry, clock).finally(() => {
    delete entry.pending;
  });
  entry.pending = pending;
  lists.set(key, entry);
  return pending;
}

async function refreshList(request: ToolListRequest, entry: CachedList, clock: Clock): Promise<VendorBundle> {
  const { bundle } = request;
  try {
    const raw = await fetchTools(request.connection(), clock);
    const { tools, withheld } = await request.review(raw);
    const fingerprint = `${bundle.contentHash}|${tools.map((t) => `${t.name}:${t.definitionHash}:${t.description.length}`).join(",")}|${withheld.map((t) => t.name).join(",")}`;
    entry.fetchedAt = clock.now();
    if (fingerprint !== entry.fingerprint) {
      entry.fingerprint = fingerprint;
      entry.bundle = {
        ...bundle,
        mcpTools: tools,
        ...(withheld.length === 0 ? {} : { mcpWithheld: withheld }),
        contentHash: await sha256Hex(fingerprint),
      };
    }
  } catch (error) {
    // Served stale (or empty) until the next attempt; a dead upstream is retried once per TTL.
    entry.fetchedAt = clock.now();
    log({
      event: "mcp_tool_list_failed",
      requestId: request.requestId,
      ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
      vendor: bundle.vendor,
      error: errorText(error),
    });
  }
  return entry.bundle;
}

/** Every page of the upstream's `tools/list`, bounded in pages, tools and time. */
async function fetchTools(connection: McpConnection, clock: Clock): Promise<unknown[]> {
  const timeout = deadlineAfter(TOOL_LIST_TIMEOUT_MS, undefined, clock);
  try {
    return await fetchPages(connection, timeout.signal);
  } finally {
    timeout.clear();
  }
}

async function fetchPages(connection: McpConnection, signal: AbortSignal): Promise<unknown[]> {
  // As the upstream sent them: curation shape-checks each one (curate.ts).
  const tools: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_LIST_PAGES; page++) {
    const exchange = await connection.request("tools/list", cursor === undefined ? {} : { cursor }, {
      signal,
    });
    if (exchange.kind === "error")
      throw new Error(`tools/list failed: ${exchange.error.code} ${exchange.error.message}`);
    if (exchange.kind === "http") throw new Error(`tools/list answered HTTP ${exchange.status}`);
    const listed = exchange.result["tools"];
    if (!Array.isArray(listed)) throw new Error("tools/list answered without a tools array");
    for (const tool of listed) {
      if (tools.length >= MAX_UPSTREAM_TOOLS) return tools;
      tools.push(tool);
    }
    const next = exchange.result["nextCursor"];
    if (typeof next !== "string" || next === "") return tools;
    cursor = next;
  }
  return tools;
}
