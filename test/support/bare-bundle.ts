/**
 * A vendor bundle with no tools, schemas or security schemes, for tests where only
 * the vendor's name and its `vendor.json` settings matter (resilience, config).
 */
import type { VendorBundle } from "../../src/bundle/types.ts";

/** `fields` go over the bare bundle (e.g. `{ resilience }`). */
export function bareBundle(vendor: string, fields: Partial<VendorBundle> = {}): VendorBundle {
  return {
    formatVersion: 1,
    vendor,
    displayName: vendor,
    contentHash: "x",
    specTitle: "t",
    specVersion: "1",
    securitySchemes: {},
    schemas: {},
    tools: [],
    ...fields,
  };
}
