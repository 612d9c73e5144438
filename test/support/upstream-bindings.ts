/**
 * Worker bindings for the upstream fixture vendors (`test/fixtures/specs/up-*`):
 * each vendor's `<VENDOR>_BASE_URL` points at the local upstream server, plus the
 * test secrets the auth fixtures use. Used by vitest.config.ts.
 */
import { vendorEnvPrefix } from "../../src/upstream/base-url.ts";

export const UPSTREAM_FIXTURE_VENDORS = [
  "up-params",
  "up-bodies",
  "up-auth",
  "up-responses",
  "up-output",
] as const;

/** Secret values the auth fixture vendor reads; tests compare against these. */
export const UPSTREAM_TEST_SECRETS = {
  UP_AUTH_API_KEY: "test-api-key-123",
  UP_AUTH_TOKEN: "test-bearer-token",
  UP_AUTH_USERNAME: "aladdin",
  UP_AUTH_PASSWORD: "open sesame: ü",
} as const;

export function upstreamBindings(origin: string): Record<string, string> {
  const bindings: Record<string, string> = { UPSTREAM_ORIGIN: origin, ...UPSTREAM_TEST_SECRETS };
  for (const vendor of UPSTREAM_FIXTURE_VENDORS) {
    bindings[`${vendorEnvPrefix(vendor)}_BASE_URL`] = `${origin}/${vendor}/api`;
  }
  return bindings;
}

/** A 1×1 transparent PNG the upstream serves at `/respond/image`. */
export const PNG_1X1_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
