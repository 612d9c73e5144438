/**
 * A gateway whose registry holds more upstream-MCP-server vendors next to the compiled fixtures,
 * for the "more than tools" tests: the bundles are made here and `#bundles` is re-imported with
 * them in a fresh module graph, so the other test files keep the shared fixture registry (three
 * more MCP vendors there would join every `/v1/mcp` listing and handshake of the suite).
 */

import { env as baseEnv, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { AsyncLocalStorage } from "node:async_hooks";
import { inject, vi } from "vitest";
import type { BundleEntry, VendorBundle } from "../../../src/bundle/types.ts";
import { bareBundle } from "../../support/bare-bundle.ts";

/**
 * Two MCP vendors in front of the same 2025 upstream, so namespacing tells them apart, and one in
 * front of its 2026-07-28 endpoint.
 */
export const FEATURE_VENDORS = ["mcp-feat", "mcp-feat-two", "mcp-modern"] as const;

function mcpBundle(vendor: string): VendorBundle {
  return bareBundle(vendor, {
    kind: "mcp",
    contentHash: `hash-${vendor}`,
    mcp: { url: inject(vendor === "mcp-modern" ? "mcpModernUpstreamUrl" : "mcpFeatureUpstreamUrl") },
  });
}

type Worker = { fetch: (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response> };

let worker: Worker | undefined;

/** The Worker entry, loaded once per test file with the MCP vendors in its registry. */
export async function featureWorker(): Promise<Worker> {
  if (worker !== undefined) return worker;
  // vitest's mock factories call `AsyncLocalStorage#disable`, which workerd does not implement:
  // disabling is a speed-up only, so a no-op is faithful.
  const prototype = AsyncLocalStorage.prototype as { disable?: () => void };
  prototype.disable = () => {};
  vi.resetModules();
  vi.doMock("#bundles", async (importOriginal) => {
    const original = (await importOriginal()) as { BUNDLES: BundleEntry[] };
    const extra = FEATURE_VENDORS.map((vendor) => {
      const bundle = mcpBundle(vendor);
      return { vendor, contentHash: bundle.contentHash, kind: "mcp" as const, load: () => bundle };
    });
    return { BUNDLES: [...original.BUNDLES, ...extra] };
  });
  worker = ((await import("../../../src/worker.ts")) as { default: Worker }).default;
  return worker;
}

/** One request into the feature gateway. */
export async function featureFetch(request: Request, env: Env = baseEnv as Env): Promise<Response> {
  const entry = await featureWorker();
  const ctx = createExecutionContext();
  const response = await entry.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}
