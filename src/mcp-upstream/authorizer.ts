/**
 * The credential an MCP vendor's calls carry, as an {@link McpAuthorizer}: the caller's credential
 * source (their own, their team's, the organisation's) asked for a bearer token. Interim: the
 * upstream OAuth client (per-user tokens, discovery, refresh, step-up) replaces this.
 *
 * @module
 */
import type { CredentialSource } from "../auth/upstream-credentials.ts";
import type { SecurityScheme } from "../bundle/types.ts";
import type { McpAuthorizer } from "./connection.ts";

const BEARER: SecurityScheme = { type: "http", scheme: "bearer" };

/** A bearer token from `credentials`, when there is one; nothing otherwise. */
export function bearerAuthorizer(credentials: CredentialSource): McpAuthorizer {
  let token: string | undefined;
  let loaded = false;
  return {
    async headers(): Promise<Record<string, string>> {
      if (!loaded) {
        const credential = await credentials.get("bearer", BEARER);
        token = credential?.type === "bearer" ? credential.token : undefined;
        loaded = true;
      }
      return token === undefined ? {} : { authorization: `Bearer ${token}` };
    },
    async challenged() {
      return false;
    },
    secrets: () => (token === undefined ? [] : [token]),
  };
}
