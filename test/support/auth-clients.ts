/**
 * The OAuth clients the auth stand-ins (test/support/auth-servers.ts, Node) accept and
 * the gateway under test is configured with (test/worker/auth/helpers.ts, workerd, and
 * the browser test): one definition, so the two sides cannot drift apart.
 */
export const OIDC_CLIENT_ID = "gateway-oidc-client";
export const OIDC_CLIENT_SECRET = "oidc-client-secret-value";
export const VENDOR_CLIENT_ID = "gateway-vendor-client";
export const VENDOR_CLIENT_SECRET = "vendor-client-secret-value";
/** The vendor issues this client's access tokens for 30 s: inside the gateway's refresh skew. */
export const SHORT_LIVED_CLIENT_ID = "short-lived-client";
export const CC_CLIENT_ID = "gateway-cc-client";
export const CC_CLIENT_SECRET = "cc-client-secret-value";
