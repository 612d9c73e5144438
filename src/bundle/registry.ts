/**
 * The vendors this Worker serves, from the generated registry (`#bundles`).
 *
 * `#bundles` is a package.json subpath import: `src/generated/index.ts` in the
 * Worker, `test/generated/index.ts` (compiled fixtures) in the workers test
 * project. Bundles are parsed on first use and kept for the isolate's life.
 *
 * @module
 */
import { BUNDLES } from "#bundles";
import type { BundleEntry, VendorBundle } from "./types.ts";

const entriesByVendor = new Map<string, BundleEntry>(BUNDLES.map((entry) => [entry.vendor, entry]));
const loaded = new Map<string, VendorBundle>();

/** Vendor names in registry order (the compiler sorts them). */
export function vendorNames(): readonly string[] {
  return BUNDLES.map((entry) => entry.vendor);
}

/** The OpenAPI vendors (the ones `<VENDOR>_BASE_URL` configures), in registry order. Parses every bundle. */
export function openApiVendorNames(): readonly string[] {
  return allBundles()
    .filter((bundle) => bundle.kind !== "mcp")
    .map((bundle) => bundle.vendor);
}

/** Whether any compiled vendor is an upstream MCP server, read from the registry without parsing a bundle. */
export function hasMcpVendors(): boolean {
  return BUNDLES.some((entry) => entry.kind === "mcp");
}

/** Whether a vendor of this name is compiled into the Worker. */
export function hasVendor(vendor: string): boolean {
  return entriesByVendor.has(vendor);
}

/** The parsed bundle of a vendor (parsed once per isolate), or `undefined` for an unknown vendor. */
export function getBundle(vendor: string): VendorBundle | undefined {
  const cached = loaded.get(vendor);
  if (cached !== undefined) return cached;
  const entry = entriesByVendor.get(vendor);
  if (entry === undefined) return undefined;
  const bundle = entry.load();
  loaded.set(vendor, bundle);
  return bundle;
}

/** Every bundle, in registry order. Parses the ones not parsed yet. */
export function allBundles(): VendorBundle[] {
  const bundles: VendorBundle[] = [];
  for (const entry of BUNDLES) {
    const bundle = getBundle(entry.vendor);
    if (bundle !== undefined) bundles.push(bundle);
  }
  return bundles;
}
