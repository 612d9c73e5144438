/**
 * The upstream fixture vendors (`test/fixtures/specs/up-*`), compiled by the real
 * compiler into test/generated (`npm test` does this before vitest runs).
 */
import { BUNDLES } from "#bundles";
import type { ToolRecipe, VendorBundle } from "../../../src/bundle/types.ts";

function fixtureVendor(vendor: string): VendorBundle {
  const entry = BUNDLES.find((b) => b.vendor === vendor);
  if (!entry) {
    throw new Error(
      `fixture vendor ${vendor} is not compiled: run npm test (it compiles test/fixtures/specs)`,
    );
  }
  return entry.load();
}

export const upParams = fixtureVendor("up-params");
export const upBodies = fixtureVendor("up-bodies");
export const upAuth = fixtureVendor("up-auth");
export const upResponses = fixtureVendor("up-responses");
export const upOutput = fixtureVendor("up-output");
export const upPatterns = fixtureVendor("up-patterns");
export const upCurate = fixtureVendor("up-curate");

export function toolOf(vendor: VendorBundle, name: string): ToolRecipe {
  const found = vendor.tools.find((t) => t.name === name);
  if (!found) throw new Error(`fixture tool ${name} not in ${vendor.vendor}`);
  return found;
}
