/**
 * Multi round-trip requests (MCP 2026-07-28, SEP-2322) through the gateway, for `tools/call`,
 * `prompts/get` and `resources/read`:
 * an upstream that needs the user's input answers with an `InputRequiredResult`
 * (`resultType: "input_required"`, `inputRequests`, an opaque `requestState`), and the client
 * sends the same request again with `inputResponses` and that `requestState`. No session is
 * needed, so a stateless gateway can carry it when both sides speak 2026-07-28:
 *
 * - the client's `elicitation` capability (from its request envelope) is declared to the upstream
 *   for that one request; nothing else (sampling and roots stay refused: server-requests.ts);
 * - the upstream's input requests are relayed only if they are elicitations the client declared;
 * - the upstream's `requestState` never reaches the client as it is: the gateway seals it
 *   (AES-256-GCM under a key derived from `CREDENTIALS_ENCRYPTION_KEY` for this purpose only),
 *   bound to the method, vendor, tool (prompt, resource), a hash of the arguments and the caller, with an expiry
 *   ({@link REQUEST_STATE_TTL_SECONDS}); a retry whose state does not open under the same binding is
 *   refused before anything is sent upstream.
 *
 * Without the key, or for a 2025-era client, an `InputRequiredResult` is refused like a push-style
 * request (server-requests.ts).
 *
 * @module
 */
import { openFor, sealFor, sha256Hex } from "../auth/crypto.ts";
import type { Clock } from "../clock.ts";
import { envString } from "../config.ts";
import { isRecord } from "../is-record.ts";
import { canonicalJson } from "./definition-hash.ts";

/** What a 2026-07-28 client brings to a tool call (the seam's `VendorToolCall.input`). */
export interface ClientInput {
  /** The capabilities the client's request envelope declares. */
  capabilities: Record<string, unknown>;
  /** A retry: the client's answers, keyed as the input requests were. Untrusted. */
  responses?: Record<string, unknown>;
  /** A retry: the `requestState` the gateway handed the client. Untrusted. */
  state?: string;
}

/** How long a client has to answer an input request and retry. */
export const REQUEST_STATE_TTL_SECONDS = 600;
/** The secret the state is sealed under (a key is derived from it for this purpose alone). */
const STATE_SECRET = "CREDENTIALS_ENCRYPTION_KEY";
const STATE_PURPOSE = "mcp-request-state";
/** Longer states (the gateway's or an upstream's) are refused: they travel in every retry. */
export const MAX_REQUEST_STATE_CHARS = 16 * 1024;
/** Input requests relayed per answer. */
const MAX_INPUT_REQUESTS = 16;
/** The input requests a client may be asked through the gateway, by the capability they need. */
const RELAYED_METHODS: Readonly<Record<string, string>> = { "elicitation/create": "elicitation" };

/** What is sealed into the client's `requestState`. */
interface SealedState {
  /** The upstream's own `requestState`, if it sent one. */
  upstream?: string;
  /** Expiry, epoch seconds on the call's clock. */
  exp: number;
}

/** What a request must match for its state to open: method, vendor, target, arguments, caller. */
export interface StateBinding {
  method: "tools/call" | "prompts/get" | "resources/read";
  vendor: string;
  /** The tool or prompt name, or the resource URI, as the upstream knows it. */
  target: string;
  args: unknown;
  owner: string;
}

async function aad(binding: StateBinding): Promise<string> {
  const args = await sha256Hex(canonicalJson(binding.args ?? null));
  const target = await sha256Hex(binding.target);
  return `${binding.method}|${binding.vendor}|${target}|${args}|${binding.owner}`;
}

/** The capabilities declared upstream for this request: the client's elicitation, if any. */
export function relayedCapabilities(
  env: Env,
  input: ClientInput | undefined,
): Record<string, unknown> | undefined {
  if (input === undefined || envString(env, STATE_SECRET) === undefined) return undefined;
  const elicitation = input.capabilities["elicitation"];
  return isRecord(elicitation) ? { elicitation } : undefined;
}

/**
 * The upstream params of a retry: the client's `inputResponses` and the upstream's state from the
 * sealed one. `undefined` when the call is no retry; `"invalid"` when its state does not open.
 */
export async function retryParams(
  env: Env,
  input: ClientInput | undefined,
  binding: StateBinding,
  clock: Clock,
): Promise<Record<string, unknown> | "invalid" | undefined> {
  if (input === undefined || (input.state === undefined && input.responses === undefined)) return undefined;
  const secret = envString(env, STATE_SECRET);
  if (secret === undefined || input.state === undefined || input.state.length > MAX_REQUEST_STATE_CHARS) {
    return "invalid";
  }
  let opened: SealedState | undefined;
  try {
    opened = await openFor<SealedState>(secret, STATE_PURPOSE, input.state, await aad(binding));
  } catch {
    opened = undefined;
  }
  if (opened === undefined || typeof opened.exp !== "number" || opened.exp < clock.now() / 1000)
    return "invalid";
  return {
    ...(input.responses === undefined ? {} : { inputResponses: input.responses }),
    ...(typeof opened.upstream === "string" ? { requestState: opened.upstream } : {}),
  };
}

/**
 * The `InputRequiredResult` the client gets for the upstream's, or `undefined` when it cannot be
 * relayed (no key, a 2025-era client, an input request the client did not declare, a state too
 * big, or more than `maxBytes` (`MAX_RESPONSE_BYTES`) in all).
 */
export async function relayedInputRequired(
  env: Env,
  input: ClientInput | undefined,
  raw: Record<string, unknown>,
  binding: StateBinding,
  clock: Clock,
  maxBytes: number,
): Promise<Record<string, unknown> | undefined> {
  const capabilities = relayedCapabilities(env, input);
  const secret = envString(env, STATE_SECRET);
  if (capabilities === undefined || secret === undefined) return undefined;
  const requests = raw["inputRequests"];
  const relayed: Record<string, unknown> = {};
  if (requests !== undefined) {
    if (!isRecord(requests)) return undefined;
    const entries = Object.entries(requests);
    if (entries.length > MAX_INPUT_REQUESTS) return undefined;
    for (const [key, request] of entries) {
      if (!isRecord(request) || typeof request["method"] !== "string") return undefined;
      const needs = RELAYED_METHODS[request["method"]];
      if (
        needs === undefined ||
        !Object.hasOwn(RELAYED_METHODS, request["method"]) ||
        !(needs in capabilities)
      ) {
        return undefined;
      }
      relayed[key] = {
        method: request["method"],
        params: isRecord(request["params"]) ? request["params"] : {},
      };
    }
  }
  const upstream = raw["requestState"];
  if (upstream !== undefined && (typeof upstream !== "string" || upstream.length > MAX_REQUEST_STATE_CHARS)) {
    return undefined;
  }
  const sealed: SealedState = {
    ...(typeof upstream === "string" ? { upstream } : {}),
    exp: Math.floor(clock.now() / 1000) + REQUEST_STATE_TTL_SECONDS,
  };
  const requestState = await sealFor(secret, STATE_PURPOSE, sealed, await aad(binding));
  // The retry must be accepted: a state the gateway would refuse back is not handed out.
  if (requestState.length > MAX_REQUEST_STATE_CHARS) return undefined;
  const result = {
    resultType: "input_required",
    ...(Object.keys(relayed).length === 0 ? {} : { inputRequests: relayed }),
    requestState,
  };
  return JSON.stringify(result).length <= maxBytes ? result : undefined;
}
