/**
 * Resources and prompts of the vendors that serve them (upstream MCP servers), proxied through
 * the vendor seam (src/vendors/call.ts `callVendorFeature`):
 *
 * - `/v1/<vendor>/mcp`: `resources/list`, `resources/templates/list`, `resources/read`,
 *   `prompts/list` and `prompts/get` as the upstream names things (its cursors too).
 * - `/v1/mcp`: every visible vendor's, namespaced: prompt names `<vendor>_<name>` (as tool names),
 *   resource URIs and URI templates wrapped with the vendor (resource-uris.ts); listings go vendor
 *   by vendor, page by page, behind one opaque cursor. A vendor whose listing fails is skipped
 *   (logged), as a failed tool list never fails `tools/list`.
 *
 * The capabilities follow the vendors: `resources` / `prompts` are declared only when a vendor the
 * caller's team may use declares them upstream (team allowlists, not credentials: a user who
 * connects a vendor later in the session gets its resources without a new handshake). A vendor
 * the caller cannot use now is invisible: not listed (an empty list on its own endpoint), and its
 * URIs and prompt names are unknown.
 *
 * @module
 */
import type {
  GetPromptResult,
  ListPromptsResult,
  ListResourcesResult,
  ListResourceTemplatesResult,
  ReadResourceResult,
  Server,
} from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller.ts";
import { base64UrlDecode, base64UrlEncode } from "../base64.ts";
import { allBundles, getBundle } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { log } from "../log.ts";
import type { ToolFailure } from "../tool-error.ts";
import { callVendorFeature, vendorFeatures } from "../vendors/call.ts";
import type { VendorClientInput, VendorFeatureMethod } from "../vendors/kind.ts";
import { hasDynamicVendors } from "../vendors/view.ts";
import { callerSeesVendor, unifiedVendorOf } from "./catalog.ts";
import { clientInput } from "./client-input.ts";
import { invalidParams, JSONRPC_INTERNAL_ERROR, protocolError } from "./jsonrpc.ts";
import { unifiedResourceUri, upstreamResourceUri } from "./resource-uris.ts";
import type { McpRequestScope } from "./server.ts";

/** Which visible vendors serve resources and which serve prompts, for one request. */
export interface FeatureVendors {
  resources: readonly string[];
  prompts: readonly string[];
}

export const NO_FEATURE_VENDORS: FeatureVendors = { resources: [], prompts: [] };

/** Methods whose server needs to know the vendors' features: the handshakes and the features themselves. */
const FEATURE_AWARE_METHODS: ReadonlySet<unknown> = new Set([
  "initialize",
  "server/discover",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "prompts/list",
  "prompts/get",
]);

/** Whether a message's server must know the vendors' features (other methods never pay for them). */
export function needsFeatures(method: unknown): boolean {
  return FEATURE_AWARE_METHODS.has(method) && hasDynamicVendors();
}

/** The caller's team may use the vendor (the allowlist; credentials aside). */
function teamMayUse(caller: Caller | undefined, vendor: string): boolean {
  return caller === undefined || caller.vendorAllowed(vendor);
}

/**
 * The vendors whose resources and prompts this request's server declares: those the caller's
 * team may use (credentials may be connected later in the session, and a capability must not
 * come and go between the handshake and the next request). Whether the caller can use a vendor
 * now is checked when it is asked ({@link visible}).
 */
export async function featureVendors(scope: McpRequestScope): Promise<FeatureVendors> {
  if (!hasDynamicVendors()) return NO_FEATURE_VENDORS;
  const { endpoint, caller } = scope;
  const candidates = (endpoint.kind === "vendor" ? [getBundle(endpoint.vendor)] : allBundles()).filter(
    (bundle): bundle is VendorBundle => bundle !== undefined && teamMayUse(caller, bundle.vendor),
  );
  const found = await Promise.all(
    candidates.map(async (bundle) => ({
      vendor: bundle.vendor,
      features: await vendorFeatures({
        env: scope.env,
        bundle,
        caller,
        waitUntil: scope.waitUntil,
        requestId: scope.requestId,
      }),
    })),
  );
  return {
    resources: found.filter((f) => f.features.resources === true).map((f) => f.vendor),
    prompts: found.filter((f) => f.features.prompts === true).map((f) => f.vendor),
  };
}

/** The server capabilities the features add. */
export function featureCapabilities(vendors: FeatureVendors): Record<string, object> {
  return {
    ...(vendors.resources.length > 0 ? { resources: {} } : {}),
    ...(vendors.prompts.length > 0 ? { prompts: {} } : {}),
  };
}

/** Registers the handlers of the declared features on the request's server. */
export function registerFeatureHandlers(
  server: Server,
  scope: McpRequestScope,
  vendors: FeatureVendors,
  guard: <T>(run: () => Promise<T>) => Promise<T>,
): void {
  // The kind shaped every answer to the method's MCP result (src/mcp-upstream/features.ts).
  if (vendors.resources.length > 0) {
    const { resources } = vendors;
    server.setRequestHandler(
      "resources/list",
      (request) =>
        guard(() =>
          listing(scope, resources, "resources/list", "resources", request.params?.cursor, (vendor, item) =>
            withUnifiedUri(vendor, item, "uri"),
          ),
        ) as Promise<ListResourcesResult>,
    );
    server.setRequestHandler(
      "resources/templates/list",
      (request) =>
        guard(() =>
          listing(
            scope,
            resources,
            "resources/templates/list",
            "resourceTemplates",
            request.params?.cursor,
            (vendor, item) => withUnifiedUri(vendor, item, "uriTemplate"),
          ),
        ) as Promise<ListResourceTemplatesResult>,
    );
    server.setRequestHandler(
      "resources/read",
      (request, ctx) =>
        guard(() =>
          readResource(scope, resources, request.params.uri, clientInput(ctx)),
        ) as Promise<ReadResourceResult>,
    );
  }
  if (vendors.prompts.length > 0) {
    const { prompts } = vendors;
    server.setRequestHandler(
      "prompts/list",
      (request) =>
        guard(() =>
          listing(scope, prompts, "prompts/list", "prompts", request.params?.cursor, (vendor, item) => ({
            ...item,
            name: `${vendor}_${String(item["name"])}`,
          })),
        ) as Promise<ListPromptsResult>,
    );
    server.setRequestHandler(
      "prompts/get",
      (request, ctx) =>
        guard(() =>
          getPrompt(scope, prompts, request.params.name, request.params.arguments, clientInput(ctx)),
        ) as Promise<GetPromptResult>,
    );
  }
}

/** The vendors the caller can use now, of those declared. */
function visible(scope: McpRequestScope, vendors: readonly string[]): string[] {
  return vendors.filter((vendor) => callerSeesVendor(scope.caller, vendor));
}

function withUnifiedUri(vendor: string, item: Record<string, unknown>, key: "uri" | "uriTemplate") {
  return { ...item, [key]: unifiedResourceUri(vendor, String(item[key])) };
}

/** One request to one vendor through the seam; a failure becomes the JSON-RPC error the client gets. */
async function ask(
  scope: McpRequestScope,
  vendor: string,
  method: VendorFeatureMethod,
  params: Record<string, unknown>,
  input?: VendorClientInput,
): Promise<Record<string, unknown>> {
  const bundle = getBundle(vendor);
  const outcome =
    bundle === undefined
      ? undefined
      : await callVendorFeature({
          env: scope.env,
          bundle,
          caller: scope.caller,
          waitUntil: scope.waitUntil,
          requestId: scope.requestId,
          trace: scope.trace,
          method,
          params,
          ...(input === undefined ? {} : { input }),
        });
  if (outcome === undefined) throw invalidParams(`Vendor ${vendor} serves no ${method}`);
  if (!outcome.ok) throw featureError(outcome.failure, vendor);
  return outcome.result;
}

/**
 * A failure as a JSON-RPC error: the upstream's own error code when it sent a JSON-RPC error in
 * the reserved range (not found, invalid params), -32603 with the gateway's code otherwise.
 */
function featureError(failure: ToolFailure, vendor: string) {
  const rpc = failure.extra?.["rpcError"] as { code?: unknown } | undefined;
  const code = rpc?.code;
  const data = {
    vendor,
    error: failure.code,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.reconnect === undefined ? {} : { reconnect: failure.reconnect }),
  };
  if (typeof code === "number" && Number.isInteger(code) && code >= -32768 && code <= -32000) {
    return protocolError(code, failure.message, data);
  }
  return protocolError(JSONRPC_INTERNAL_ERROR, failure.message, data);
}

/** The unified listing's cursor: which vendor, and that vendor's own cursor. */
interface UnifiedCursor {
  vendor: string;
  cursor?: string;
}

function encodeCursor(cursor: UnifiedCursor): string {
  return base64UrlEncode(new TextEncoder().encode(JSON.stringify(cursor)));
}

function decodeCursor(text: string, vendors: readonly string[]): UnifiedCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(base64UrlDecode(text)));
  } catch {
    parsed = undefined;
  }
  const candidate = parsed as Partial<UnifiedCursor> | undefined;
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    typeof candidate.vendor !== "string" ||
    !vendors.includes(candidate.vendor) ||
    (candidate.cursor !== undefined && typeof candidate.cursor !== "string")
  ) {
    throw invalidParams("Invalid cursor: list again from the start", { cursor: text.slice(0, 100) });
  }
  return candidate as UnifiedCursor;
}

/**
 * One page of a listing: the vendor endpoint's is the upstream's page; the unified one walks
 * the vendors in order, one upstream page per vendor, until a page has entries.
 */
async function listing(
  scope: McpRequestScope,
  declared: readonly string[],
  method: "resources/list" | "resources/templates/list" | "prompts/list",
  key: string,
  cursor: string | undefined,
  unify: (vendor: string, item: Record<string, unknown>) => Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { endpoint } = scope;
  const vendors = visible(scope, declared);
  if (endpoint.kind === "vendor") {
    if (!vendors.includes(endpoint.vendor)) return { [key]: [] };
    return ask(scope, endpoint.vendor, method, cursor === undefined ? {} : { cursor });
  }
  const start = cursor === undefined ? { vendor: vendors[0] ?? "" } : decodeCursor(cursor, vendors);
  for (let index = vendors.indexOf(start.vendor); index >= 0 && index < vendors.length; index++) {
    const vendor = vendors[index] as string;
    const upstreamCursor = vendor === start.vendor ? start.cursor : undefined;
    let result: Record<string, unknown>;
    try {
      result = await ask(
        scope,
        vendor,
        method,
        upstreamCursor === undefined ? {} : { cursor: upstreamCursor },
      );
    } catch (error) {
      log({
        event: "mcp_upstream_request_failed",
        requestId: scope.requestId,
        traceId: scope.trace.traceId,
        vendor,
        method,
        error: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    const items = (result[key] as Record<string, unknown>[]).map((item) => unify(vendor, item));
    const next = result["nextCursor"];
    if (typeof next === "string") return { [key]: items, nextCursor: encodeCursor({ vendor, cursor: next }) };
    const following = vendors[index + 1];
    if (items.length > 0 || following === undefined) {
      return following === undefined
        ? { [key]: items }
        : { [key]: items, nextCursor: encodeCursor({ vendor: following }) };
    }
  }
  return { [key]: [] };
}

async function readResource(
  scope: McpRequestScope,
  declared: readonly string[],
  uri: string,
  input: VendorClientInput | undefined,
) {
  const { endpoint } = scope;
  const vendors = visible(scope, declared);
  if (endpoint.kind === "vendor" && vendors.includes(endpoint.vendor)) {
    return ask(scope, endpoint.vendor, "resources/read", { uri }, input);
  }
  const target = endpoint.kind === "vendor" ? undefined : upstreamResourceUri(uri);
  if (target === undefined || !vendors.includes(target.vendor)) {
    // -32602, as MCP 2025-11-25 answers an unknown resource (the SDK maps the older -32002 to it too).
    throw invalidParams("Resource not found", { uri: uri.slice(0, 200) });
  }
  const result = await ask(scope, target.vendor, "resources/read", { uri: target.uri }, input);
  // A relayed InputRequiredResult (2026-07-28) has no contents yet.
  if (!Array.isArray(result["contents"])) return result;
  const contents = (result["contents"] as Record<string, unknown>[]).map((item) =>
    withUnifiedUri(target.vendor, item, "uri"),
  );
  return { ...result, contents };
}

async function getPrompt(
  scope: McpRequestScope,
  declared: readonly string[],
  name: string,
  args: Record<string, string> | undefined,
  input: VendorClientInput | undefined,
) {
  const { endpoint } = scope;
  const vendors = visible(scope, declared);
  let vendor: string | undefined;
  let upstreamName = name;
  if (endpoint.kind === "vendor") {
    vendor = endpoint.vendor;
  } else {
    vendor = unifiedVendorOf(name);
    if (vendor !== undefined) upstreamName = name.slice(vendor.length + 1);
  }
  if (vendor === undefined || !vendors.includes(vendor)) {
    throw invalidParams(`Unknown prompt: ${name.slice(0, 200)}`, { name: name.slice(0, 200) });
  }
  return ask(
    scope,
    vendor,
    "prompts/get",
    { name: upstreamName, ...(args === undefined ? {} : { arguments: args }) },
    input,
  );
}
