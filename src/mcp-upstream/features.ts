/**
 * An upstream MCP server's resources and prompts: which of them it declares (its capabilities,
 * known once a session with it is negotiated), and `resources/list`, `resources/templates/list`,
 * `resources/read`, `prompts/list`, `prompts/get` sent through the vendor guard like a tool call
 * (same deadline, credentials, breaker and token bucket; retried like a read-only tool, since
 * none of them changes anything). Answers are reduced to the fields MCP defines, sanitised,
 * bounded (`MAX_RESPONSE_BYTES` per answer, description lengths, item counts) and scrubbed of
 * every credential the gateway attached.
 *
 * Names and URIs stay the upstream's here; the MCP layer namespaces them on `/v1/mcp`.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import type { UpstreamMcpAuthorizer } from "../auth/mcp-credentials.ts";
import { resolveMcpUrl } from "../base-url.ts";
import type { VendorBundle } from "../bundle/types.ts";
import { clockFor } from "../clock.ts";
import { isRecord } from "../is-record.ts";
import { errorText, log } from "../log.ts";
import { boundedCache } from "../memo.ts";
import { SecretScrubber } from "../redaction/scrub.ts";
import { deadlineAfter } from "../resilience/timeout.ts";
import { failed, ToolError, type ToolFailure } from "../tool-error.ts";
import {
  exchangeFailure,
  type GuardedRequest,
  inputRequiredFailure,
  isInputRequired,
  sendGuarded,
  withCredentialHint,
} from "./call.ts";
import {
  type ClientInput,
  relayedCapabilities,
  relayedInputRequired,
  retryParams,
  type StateBinding,
} from "./input-required.ts";
import { ContentBudget, type ContentLimits } from "./safe-content.ts";
import { MAX_DESCRIPTION_CHARS, screenDescription } from "./screen-description.ts";
import { refuseServerRequest } from "./server-requests.ts";
import { sessionOwner, upstreamConnection } from "./target.ts";

/** The seam's `VendorFeatures`, typed here without importing the seam. */
export interface McpFeatures {
  resources?: boolean;
  prompts?: boolean;
}

/** The methods this module answers. */
export type McpFeatureMethod =
  | "resources/list"
  | "resources/templates/list"
  | "resources/read"
  | "prompts/list"
  | "prompts/get";

/** One request (the seam's `VendorFeatureRequest`). */
export interface McpFeatureRequest extends GuardedRequest {
  method: McpFeatureMethod;
  params: Record<string, unknown>;
  /** A 2026-07-28 client: multi round-trip input for `prompts/get` and `resources/read` (input-required.ts). */
  input?: ClientInput;
  callerInfo?: Caller;
}

export type McpFeatureOutcome =
  | { ok: true; result: Record<string, unknown> }
  | { ok: false; failure: ToolFailure };

/** Negotiating with an upstream to learn its capabilities takes at most this long. */
export const FEATURE_PROBE_TIMEOUT_MS = 5_000;
/** After a failed negotiation, the upstream is not asked again for this long (it counts as declaring nothing). */
export const FEATURE_PROBE_RETRY_MS = 10_000;
/** Entries kept from one listing page (a hostile upstream cannot grow an answer without bound). */
export const MAX_LISTED_ITEMS = 1_000;
/** Prompt arguments kept per prompt. */
const MAX_PROMPT_ARGUMENTS = 100;
/** Longest URI, URI template, name, MIME type and cursor kept. */
const MAX_URI_CHARS = 4_096;
const MAX_NAME_CHARS = 256;
const MAX_MIME_CHARS = 200;
const MAX_CURSOR_CHARS = 1_024;

const failedProbes = boundedCache<string, number>(1_000);

/** What resolving a vendor for one caller hands the kind (the seam's `VendorResolveContext`). */
interface FeatureContext {
  env: Env;
  bundle: VendorBundle;
  caller: Caller | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
}

/**
 * What the upstream declares, as this caller's session with it saw it. Negotiates a session
 * when none is known yet (bounded by {@link FEATURE_PROBE_TIMEOUT_MS}); never throws.
 */
export async function mcpFeatures(context: FeatureContext): Promise<McpFeatures> {
  const { env, bundle, caller } = context;
  let url: URL;
  try {
    url = resolveMcpUrl(env, bundle);
  } catch {
    return {};
  }
  const clock = clockFor(env);
  const owner = sessionOwner(caller);
  const sessionKey = `${bundle.vendor}|${url.href}|${owner}`;
  const { connection } = upstreamConnection({
    env,
    bundle,
    url,
    caller,
    owner,
    clock,
    waitUntil: context.waitUntil,
  });
  let server = connection.server();
  if (server === undefined) {
    const failedAt = failedProbes.get(sessionKey);
    if (failedAt !== undefined && clock.now() - failedAt < FEATURE_PROBE_RETRY_MS) return {};
    const timeout = deadlineAfter(FEATURE_PROBE_TIMEOUT_MS, undefined, clock);
    try {
      // Any request negotiates first; `ping` is the one every server answers.
      await connection.request("ping", undefined, {
        signal: timeout.signal,
        onServerRequest: refuseServerRequest(bundle.vendor, context.requestId),
      });
    } catch (error) {
      log({
        event: "mcp_upstream_request_failed",
        requestId: context.requestId,
        vendor: bundle.vendor,
        method: "ping",
        error: errorText(error),
      });
    } finally {
      timeout.clear();
    }
    server = connection.server();
    if (server === undefined) {
      failedProbes.set(sessionKey, clock.now());
      return {};
    }
  }
  const { capabilities } = server;
  return { resources: isRecord(capabilities["resources"]), prompts: isRecord(capabilities["prompts"]) };
}

/** Sends one resources or prompts request and makes its answer safe. Never throws. */
export async function mcpFeatureRequest(request: McpFeatureRequest): Promise<McpFeatureOutcome> {
  const { bundle, method } = request;
  const secrets = new SecretScrubber();
  let attached: UpstreamMcpAuthorizer | undefined;
  try {
    const url = resolveMcpUrl(request.env, bundle);
    const { connection, authorizer } = upstreamConnection({
      env: request.env,
      bundle,
      url,
      caller: request.callerInfo,
      owner: sessionOwner(request.callerInfo),
      clock: request.clock,
      waitUntil: request.waitUntil,
      ...(request.trace === undefined ? {} : { trace: request.trace }),
    });
    attached = authorizer;
    const binding = stateBinding(request);
    const retry =
      binding === undefined
        ? undefined
        : await retryParams(request.env, request.input, binding, request.clock);
    if (retry === "invalid") {
      return failed(
        "invalid_arguments",
        `The requestState of this retry is invalid, expired or belongs to another request: send ${method} again without inputResponses and requestState. Nothing was sent upstream.`,
      );
    }
    const capabilities = binding === undefined ? undefined : relayedCapabilities(request.env, request.input);
    const sent = await sendGuarded(
      request,
      connection,
      method,
      { ...request.params, ...retry },
      // Listing and reading change nothing upstream: retried like a read-only tool.
      { name: method, idempotent: true },
      {
        onServerRequest: refuseServerRequest(bundle.vendor, request.requestId, request.trace?.traceId),
        ...(capabilities === undefined ? {} : { clientCapabilities: capabilities }),
      },
    );
    for (const secret of authorizer.secrets()) secrets.add(secret);
    let outcome: McpFeatureOutcome;
    if (!sent.ok) outcome = sent;
    else if (sent.exchange.kind !== "result") outcome = exchangeFailure(bundle.vendor, sent.exchange);
    else if (isInputRequired(sent.exchange.result)) {
      const relayed =
        binding === undefined
          ? undefined
          : await relayedInputRequired(
              request.env,
              request.input,
              sent.exchange.result,
              binding,
              request.clock,
              request.settings.maxResponseBytes,
            );
      outcome = relayed === undefined ? inputRequiredFailure(bundle.vendor) : { ok: true, result: relayed };
    } else outcome = shaped(method, sent.exchange.result, request.settings, bundle);
    outcome = withCredentialHint(outcome, authorizer);
    if (secrets.empty) return outcome;
    return outcome.ok
      ? { ok: true, result: secrets.scrubValue(outcome.result) }
      : { ok: false, failure: secrets.scrubValue(outcome.failure) };
  } catch (error) {
    for (const secret of attached?.secrets() ?? []) secrets.add(secret);
    if (error instanceof ToolError) return failed(error.code, secrets.scrub(error.message));
    log({
      event: "mcp_upstream_request_failed",
      requestId: request.requestId ?? "",
      vendor: bundle.vendor,
      method,
      error: secrets.scrub(errorText(error)),
    });
    return failed("internal_error", `The gateway failed to send ${method} to ${bundle.vendor}.`);
  }
}

/** The methods that may take several rounds (2026-07-28), bound to what they name; `undefined` for the rest. */
function stateBinding(request: McpFeatureRequest): StateBinding | undefined {
  const { method, params, bundle } = request;
  const owner = sessionOwner(request.callerInfo);
  if (method === "prompts/get" && typeof params["name"] === "string") {
    return { method, vendor: bundle.vendor, target: params["name"], args: params["arguments"] ?? {}, owner };
  }
  if (method === "resources/read" && typeof params["uri"] === "string") {
    return { method, vendor: bundle.vendor, target: params["uri"], args: {}, owner };
  }
  return undefined;
}

/** The upstream's result for `method`, reduced to what MCP defines and bounded. */
function shaped(
  method: McpFeatureMethod,
  raw: Record<string, unknown>,
  limits: ContentLimits,
  bundle: VendorBundle,
): McpFeatureOutcome {
  const budget = new ContentBudget(limits);
  const maxDescription = bundle.mcp?.maxDescriptionChars ?? MAX_DESCRIPTION_CHARS;
  const describe = (value: unknown) => text(value, maxDescription);
  switch (method) {
    case "resources/list":
      return page(raw, "resources", (item) => resourceEntry(item, "uri", describe, budget), budget);
    case "resources/templates/list":
      return page(
        raw,
        "resourceTemplates",
        (item) => resourceEntry(item, "uriTemplate", describe, budget),
        budget,
      );
    case "prompts/list":
      return page(raw, "prompts", (item) => promptEntry(item, describe), budget);
    case "resources/read":
      return readResult(raw, budget, bundle.vendor, limits.maxResponseBytes);
    case "prompts/get":
      return promptResult(raw, budget, describe);
  }
}

/** Upstream text a model reads: what a reviewer cannot see stripped, cut to `max` (screen-description.ts). */
function text(value: unknown, max: number): string | undefined {
  return typeof value === "string" ? screenDescription(value, max) : undefined;
}

/** A string no longer than `max` (kept whole or not at all: URIs and names must stay exact). */
function exact(value: unknown, max: number): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= max ? value : undefined;
}

function page(
  raw: Record<string, unknown>,
  key: string,
  entry: (item: unknown) => Record<string, unknown> | undefined,
  budget: ContentBudget,
): McpFeatureOutcome {
  const listed = Array.isArray(raw[key]) ? (raw[key] as unknown[]) : [];
  const items: Record<string, unknown>[] = [];
  for (const item of listed.slice(0, MAX_LISTED_ITEMS)) {
    const kept = entry(item);
    if (kept === undefined) continue;
    // Over the size limit, the page ends here: the client pages on from the same cursor.
    if (budget.value(kept) === undefined) break;
    items.push(kept);
  }
  const result: Record<string, unknown> = { [key]: items };
  const next = exact(raw["nextCursor"], MAX_CURSOR_CHARS);
  if (next !== undefined) result["nextCursor"] = next;
  return { ok: true, result };
}

/** Only the MCP Apps keys of an upstream's `_meta` go on (the rest is the upstream's business). */
export function uiMeta(meta: unknown): Record<string, unknown> | undefined {
  if (!isRecord(meta) || !isRecord(meta["ui"])) return undefined;
  return { ui: meta["ui"] };
}

function resourceEntry(
  item: unknown,
  uriKey: "uri" | "uriTemplate",
  describe: (value: unknown) => string | undefined,
  budget: ContentBudget,
): Record<string, unknown> | undefined {
  if (!isRecord(item)) return undefined;
  const uri = exact(item[uriKey], MAX_URI_CHARS);
  if (uri === undefined) return undefined;
  const entry: Record<string, unknown> = { [uriKey]: uri, name: text(item["name"], MAX_NAME_CHARS) ?? uri };
  const title = text(item["title"], MAX_NAME_CHARS);
  if (title !== undefined) entry["title"] = title;
  const description = describe(item["description"]);
  if (description !== undefined) entry["description"] = description;
  const mimeType = exact(item["mimeType"], MAX_MIME_CHARS);
  if (mimeType !== undefined) entry["mimeType"] = mimeType;
  if (typeof item["size"] === "number" && Number.isFinite(item["size"])) entry["size"] = item["size"];
  if (isRecord(item["annotations"])) entry["annotations"] = budget.value(item["annotations"], false);
  const meta = uiMeta(item["_meta"]);
  if (meta !== undefined) entry["_meta"] = meta;
  return entry;
}

function promptEntry(
  item: unknown,
  describe: (value: unknown) => string | undefined,
): Record<string, unknown> | undefined {
  if (!isRecord(item)) return undefined;
  const name = exact(item["name"], MAX_NAME_CHARS);
  if (name === undefined) return undefined;
  const entry: Record<string, unknown> = { name };
  const title = text(item["title"], MAX_NAME_CHARS);
  if (title !== undefined) entry["title"] = title;
  const description = describe(item["description"]);
  if (description !== undefined) entry["description"] = description;
  if (Array.isArray(item["arguments"])) {
    const args: Record<string, unknown>[] = [];
    for (const arg of item["arguments"].slice(0, MAX_PROMPT_ARGUMENTS)) {
      if (!isRecord(arg)) continue;
      const argName = exact(arg["name"], MAX_NAME_CHARS);
      if (argName === undefined) continue;
      const kept: Record<string, unknown> = { name: argName };
      const argDescription = describe(arg["description"]);
      if (argDescription !== undefined) kept["description"] = argDescription;
      if (arg["required"] === true) kept["required"] = true;
      args.push(kept);
    }
    entry["arguments"] = args;
  }
  return entry;
}

function readResult(
  raw: Record<string, unknown>,
  budget: ContentBudget,
  vendor: string,
  maxBytes: number,
): McpFeatureOutcome {
  const listed = Array.isArray(raw["contents"]) ? (raw["contents"] as unknown[]) : [];
  const contents: Record<string, unknown>[] = [];
  for (const item of listed.slice(0, MAX_LISTED_ITEMS)) {
    if (!isRecord(item)) continue;
    const uri = exact(item["uri"], MAX_URI_CHARS);
    const body =
      typeof item["text"] === "string"
        ? { text: item["text"] }
        : typeof item["blob"] === "string"
          ? { blob: item["blob"] }
          : undefined;
    if (uri === undefined || body === undefined) continue;
    const entry: Record<string, unknown> = { uri, ...body };
    const mimeType = exact(item["mimeType"], MAX_MIME_CHARS);
    if (mimeType !== undefined) entry["mimeType"] = mimeType;
    const meta = uiMeta(item["_meta"]);
    if (meta !== undefined) entry["_meta"] = meta;
    const kept = budget.value(entry);
    // A resource cut short is a broken resource (an app's HTML, a file): refuse it whole.
    if (kept === undefined) {
      return failed(
        "upstream_error",
        `${vendor}'s resource is larger than the gateway's ${maxBytes}-byte limit (MAX_RESPONSE_BYTES).`,
      );
    }
    contents.push(kept);
  }
  return { ok: true, result: { contents } };
}

const ROLES: ReadonlySet<unknown> = new Set(["user", "assistant"]);

function promptResult(
  raw: Record<string, unknown>,
  budget: ContentBudget,
  describe: (value: unknown) => string | undefined,
): McpFeatureOutcome {
  const listed = Array.isArray(raw["messages"]) ? (raw["messages"] as unknown[]) : [];
  const messages: Record<string, unknown>[] = [];
  for (const message of listed.slice(0, MAX_LISTED_ITEMS)) {
    if (!isRecord(message) || !ROLES.has(message["role"])) continue;
    const content = budget.item(message["content"]);
    if (content !== undefined) messages.push({ role: message["role"], content });
  }
  const notice = budget.notice();
  if (notice !== undefined) messages.push({ role: "user", content: notice });
  const result: Record<string, unknown> = { messages };
  const description = describe(raw["description"]);
  if (description !== undefined) result["description"] = description;
  return { ok: true, result };
}
