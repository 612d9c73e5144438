/**
 * When a vendor is served in discovery mode (search / describe / call instead of one tool
 * per operation). A leaf module: the Worker's catalog and the compiler's summary
 * (scripts/compiler/summary.ts) apply the same rule.
 *
 * @module
 */
import type { VendorBundle } from "../bundle/types.ts";

/** The threshold's default lives with the variable (`DISCOVERY_TOOL_THRESHOLD`, src/config.ts). */
export { DEFAULT_DISCOVERY_TOOL_THRESHOLD } from "../config.ts";

/** Whether the vendor serves the three discovery tools instead of one tool per operation. */
export function usesDiscovery(bundle: VendorBundle, threshold: number): boolean {
  if (bundle.toolMode !== undefined) return bundle.toolMode === "discovery";
  return bundle.tools.length > threshold;
}
