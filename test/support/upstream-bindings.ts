/**
 * Worker bindings for the upstream fixture vendors (`test/fixtures/specs/up-*`):
 * each vendor's `<VENDOR>_BASE_URL` points at the local upstream server, plus the
 * test secrets the auth fixtures use. Used by vitest.config.ts. Also the bodies the
 * upstream server (Node) serves that the Worker tests compare results against.
 */
import { vendorEnvPrefix } from "../../src/config.ts";

export const UPSTREAM_FIXTURE_VENDORS = [
  "up-params",
  "up-bodies",
  "up-auth",
  "up-responses",
  "up-output",
  "up-edge",
  "up-secrets",
  "up-patterns",
  "up-curate",
] as const;

/** Secret values the auth fixture vendor reads; tests compare against these. */
export const UPSTREAM_TEST_SECRETS = {
  UP_AUTH_API_KEY: "test-api-key-123",
  UP_AUTH_TOKEN: "test-bearer-token",
  UP_AUTH_USERNAME: "aladdin",
  UP_AUTH_PASSWORD: "open sesame: ü",
  UP_EDGE_API_KEY: "edge-key-789",
  // Characters every encoding treats differently: `/`, `+`, `=`, `!`, a space, non-ASCII.
  UP_SECRETS_API_KEY: "sk/live+SUPERSECRET123=!",
  UP_SECRETS_TOKEN: "tok/SUPERSECRET-bearer",
  UP_SECRETS_USERNAME: "aladdin",
  UP_SECRETS_PASSWORD: "open sesame/SUPERSECRET ü",
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

/**
 * The widget the upstream serves at `/respond/widget/exact`, as the up-output fixture
 * documents it; its other variants are drifts of this one.
 */
export const UPSTREAM_WIDGET = {
  id: 1,
  name: "gear",
  status: "active",
  created: "2024-01-02T03:04:05Z",
  sku: "ABC-1",
  owner: { login: "ada", email: "ada@example.com" },
  tags: ["a"],
  price: { amount: 5, currency: "EUR" },
  token: { value: "s3cret-token", expires: 3600 },
};
