/**
 * The MCP SDK client's OAuth state kept in memory, for tests that drive a whole authorization:
 * registration, PKCE verifier and tokens live on the object, and the "user agent" that opens
 * the authorization URL is the subclass's `redirectToAuthorization`.
 *
 * @module
 */
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";

export abstract class MemoryOAuthProvider implements OAuthClientProvider {
  clientInfo: OAuthClientInformationMixed | undefined;
  savedTokens: OAuthTokens | undefined;
  verifier = "";
  /** The code the user agent brought back from the authorization redirect. */
  authorizationCode: string | undefined;
  authorizationUrl: URL | undefined;
  private readonly redirect: string;
  private readonly clientName: string;

  constructor(redirect: string, clientName: string) {
    this.redirect = redirect;
    this.clientName = clientName;
  }

  get redirectUrl(): string {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.clientName,
      redirect_uris: [this.redirect],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.clientInfo;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.clientInfo = info;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.savedTokens = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  /** What a browser does with the authorization URL; sets {@link authorizationCode}. */
  abstract redirectToAuthorization(url: URL): Promise<void>;
}
