/**
 * Bench stage "entry": a Worker that reads the POST body and answers the recorded bytes,
 * with the gateway's Durable Object classes exported so the same bindings start. The
 * runtime's own cost of a `tools/call` request, before any gateway code.
 */
import { recordedMcpResponse } from "./recorded.ts";

export * from "../../../src/worker.ts";

export default {
  async fetch(request) {
    await request.arrayBuffer();
    return recordedMcpResponse();
  },
} satisfies ExportedHandler<Env>;
