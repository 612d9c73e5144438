/**
 * Bench seam for `src/upstream/send.ts`: `sendUpstream`, the single attempt the resilience
 * layer wraps, answers the recorded upstream response without the network. What runs: the
 * whole gateway except the upstream round trip (the fetch, its redirect rule, a body
 * streamed from a socket).
 */
import type * as real from "../../../src/upstream/send.ts";
import { recordedUpstreamResponse } from "./recorded.ts";

export const sendUpstream = (async () => recordedUpstreamResponse()) satisfies typeof real.sendUpstream;
