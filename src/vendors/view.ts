/**
 * The vendors one MCP request sees. A compiled OpenAPI bundle is its vendor; an upstream MCP
 * server's tools live upstream, so its kind resolves the bundle per caller (fetched or cached
 * tool list). The MCP layer resolves once per request and reads the view synchronously after.
 *
 * @module
 */
import type { Caller } from "../auth/caller.ts";
import { allBundles, getBundle, hasMcpVendors } from "../bundle/registry.ts";
import type { VendorBundle } from "../bundle/types.ts";
import type { TraceContext } from "../trace-context.ts";
import { vendorKindOf } from "./registry.ts";

/** The vendors as one request sees them. */
export interface VendorView {
  /** The vendor's bundle as this caller sees it; `undefined` for an unknown vendor. */
  get(vendor: string): VendorBundle | undefined;
  /** Every vendor, in registry order. */
  all(): readonly VendorBundle[];
}

/** What resolving needs to know about the request. */
export interface VendorViewRequest {
  env: Env;
  /** `undefined`: client auth is off. */
  caller: Caller | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
  requestId: string;
  /** Resolve only this vendor (`/v1/<vendor>/mcp`, or a prefixed tool name on `/v1/mcp`). */
  vendor?: string;
  /** A call named a tool the cached list lacks: ask upstream again (rate-limited by the kind). */
  refresh?: boolean;
  /** The request's W3C trace: list fetches it triggers carry it on. */
  trace?: TraceContext;
}

/** The compiled bundles as they are: what a deployment without upstream MCP servers always sees. */
export const COMPILED_VENDORS: VendorView = { get: getBundle, all: allBundles };

let dynamicVendors: boolean | undefined;

/**
 * Whether any compiled vendor resolves per caller (upstream MCP servers are the kind that does),
 * checked once per isolate from the registry: the first request parses no bundle for it.
 */
export function hasDynamicVendors(): boolean {
  dynamicVendors ??= hasMcpVendors();
  return dynamicVendors;
}

/**
 * Resolves the vendors a request may touch. OpenAPI-only deployments get the compiled view
 * without a single await of work; MCP vendors are resolved concurrently, each bounded by its
 * kind (a slow or failing upstream serves its last known list, never fails the request).
 */
export async function resolveVendors(request: VendorViewRequest): Promise<VendorView> {
  if (!hasDynamicVendors()) return COMPILED_VENDORS;
  const compiled = request.vendor === undefined ? allBundles() : [getBundle(request.vendor)];
  const resolved = new Map<string, VendorBundle>();
  await Promise.all(
    compiled.map(async (bundle) => {
      if (bundle === undefined) return;
      const resolve = vendorKindOf(bundle).resolve;
      const { caller } = request;
      // A vendor the caller may not use is never asked upstream on their behalf.
      const hidden =
        caller !== undefined &&
        !(caller.vendorAllowed(bundle.vendor) && caller.vendorAvailable(bundle.vendor));
      resolved.set(
        bundle.vendor,
        resolve === undefined || hidden
          ? bundle
          : await resolve({
              env: request.env,
              bundle,
              caller: request.caller,
              waitUntil: request.waitUntil,
              requestId: request.requestId,
              ...(request.refresh === undefined ? {} : { refresh: request.refresh }),
              ...(request.trace === undefined ? {} : { trace: request.trace }),
            }),
      );
    }),
  );
  const ordered = compiled.flatMap((bundle) => {
    const current = bundle === undefined ? undefined : resolved.get(bundle.vendor);
    return current === undefined ? [] : [current];
  });
  return {
    get: (vendor) => resolved.get(vendor),
    all: () => ordered,
  };
}
