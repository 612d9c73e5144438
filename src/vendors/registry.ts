/**
 * Which {@link VendorKind} serves a vendor. Every bundle is an OpenAPI bundle today; the
 * bundle's kind picks the implementation when upstream MCP servers arrive.
 *
 * @module
 */
import type { VendorBundle } from "../bundle/types.ts";
import { openApiKind } from "../upstream/kind.ts";
import type { VendorKind } from "./kind.ts";

const OPENAPI: VendorKind = openApiKind;

/** The kind that lists, calls and probes this vendor's tools. */
export function vendorKindOf(_bundle: VendorBundle): VendorKind {
  return OPENAPI;
}
