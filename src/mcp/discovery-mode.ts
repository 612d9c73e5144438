/**
 * When a vendor is served in discovery mode (search / describe / call instead of one tool
 * per operation). A leaf module: the Worker's catalog and the compiler's summary
 * (scripts/compiler/summary.ts) apply the same rule.
 *
 * @module
 */
import type { VendorBundle } from "../bundle/types.ts";

/**
 * Tools above which a vendor switches to discovery unless its vendor.json sets `toolMode`.
 * 128 is the most tools OpenAI's API and VS Code pass to a model per request: past it a
 * client cannot use the vendor's full list at all. At GitHub's ~500 tokens per tool it is
 * also ~64,000 tokens, a third of a 200K context spent before the user says anything.
 */
export const DEFAULT_DISCOVERY_TOOL_THRESHOLD = 128;
/** Largest accepted threshold (above every real API: effectively "never automatic"). */
export const MAX_DISCOVERY_TOOL_THRESHOLD = 1_000_000;
/** Whether the vendor serves the three discovery tools instead of one tool per operation. */
export function usesDiscovery(bundle: VendorBundle, threshold: number): boolean {
  if (bundle.toolMode !== undefined) return bundle.toolMode === "discovery";
  return bundle.tools.length > threshold;
}
