/**
 * Tool definition changes as the reporting layers (`/health/vendors`, `gateway_status`) see
 * them, whatever the vendor's kind: only upstream MCP servers have definitions that can change
 * after approval (src/mcp-upstream/definitions.ts); an OpenAPI vendor's tools are its compiled spec.
 *
 * @module
 */
import type { VendorBundle } from "../bundle/types.ts";
import { type DefinitionChange, definitionStatus } from "../mcp-upstream/definitions.ts";

export type { DefinitionChange };

/** A vendor's changed tool definitions and the tools withheld for them. */
export interface VendorDefinitionStatus {
  changes: DefinitionChange[];
  /** Upstream names of the tools not served until an operator approves them. */
  withheld: string[];
}

/**
 * `undefined` for a vendor whose definitions cannot change (OpenAPI) or when nothing is known yet
 * (KV unreadable before this isolate reviewed a list). Never throws.
 */
export function vendorDefinitionStatus(
  env: Env,
  bundle: VendorBundle,
): Promise<VendorDefinitionStatus | undefined> {
  if (bundle.kind !== "mcp") return Promise.resolve(undefined);
  return definitionStatus(env, bundle.vendor, bundle);
}
