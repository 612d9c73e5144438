/**
 * Upstream authentication: picks the first security alternative of the tool
 * whose schemes all have credentials, and attaches them to the prepared request.
 * Credentials are only ever attached here, to a request already checked to go to
 * the vendor's own base URL; they are never logged.
 *
 * @module
 */

import {
  type CredentialSource,
  expectedSecretNames,
  type UpstreamCredential,
} from "../auth/upstream-credentials.ts";
import { base64Encode } from "../base64.ts";
import type { SecurityScheme, ToolRecipe, VendorBundle } from "../bundle/types.ts";
import { memoized } from "../memo.ts";
import type { SecretScrubber } from "../redaction/scrub.ts";
import { ToolError } from "../tool-error.ts";
import type { CredentialParams, PreparedRequest } from "./request.ts";
import { encodeStrict, headerValueProblem } from "./serialize.ts";

type Resolved = [name: string, scheme: SecurityScheme, credential: UpstreamCredential];

function base64Utf8(text: string): string {
  return base64Encode(new TextEncoder().encode(text));
}

/**
 * What the upstream could echo of a credential: the values sent (for basic, the password
 * and the header's base64; the username too when the password is empty, as with APIs
 * that take the key as the username) and the ones held alongside (`related`).
 */
function addSecrets(secrets: SecretScrubber, credential: UpstreamCredential): void {
  if (credential.type === "apiKey") secrets.add(credential.value);
  else if (credential.type === "bearer") secrets.add(credential.token);
  else {
    secrets.add(credential.password === "" ? credential.username : credential.password);
    secrets.add(base64Utf8(`${credential.username}:${credential.password}`));
  }
  for (const value of credential.related ?? []) secrets.add(value);
}

function assertSendable(value: string, schemeName: string): void {
  if (headerValueProblem(value) || !/^[\x20-\xff\t]*$/.test(value)) {
    throw new ToolError(
      "configuration_error",
      `The credential for security scheme ${schemeName} contains characters that cannot be sent`,
    );
  }
}

function attach(req: PreparedRequest, [name, scheme, credential]: Resolved): void {
  if (scheme.type === "apiKey") {
    const value =
      credential.type === "apiKey"
        ? credential.value
        : credential.type === "bearer"
          ? credential.token
          : undefined;
    if (value === undefined)
      throw new ToolError("configuration_error", `Security scheme ${name} needs an API key`);
    assertSendable(value, name);
    if (scheme.in === "header") {
      req.headers.set(scheme.name, value);
    } else if (scheme.in === "query") {
      // Appended as text: re-serializing through URLSearchParams would re-encode the other parameters.
      const pair = `${encodeStrict(scheme.name)}=${encodeStrict(value)}`;
      req.url.search = req.url.search ? `${req.url.search.slice(1)}&${pair}` : pair;
    } else {
      const pair = `${scheme.name}=${encodeStrict(value)}`;
      const existing = req.headers.get("Cookie");
      req.headers.set("Cookie", existing ? `${existing}; ${pair}` : pair);
    }
    return;
  }
  if (credential.type === "basic") {
    assertSendable(credential.username, name);
    assertSendable(credential.password, name);
    req.headers.set("Authorization", `Basic ${base64Utf8(`${credential.username}:${credential.password}`)}`);
    return;
  }
  const token =
    credential.type === "bearer" ? credential.token : credential.type === "apiKey" ? credential.value : "";
  assertSendable(token, name);
  req.headers.set("Authorization", `Bearer ${token}`);
}

const credentialParamsByTool = new WeakMap<ToolRecipe, CredentialParams>();

/**
 * The query, cookie and header names where this tool's API keys could go (every apiKey scheme
 * of its security alternatives, and vendor.json's `auth.scheme`): the request builder refuses
 * arguments that would set them, so a client can neither replace nor shadow the credential.
 * Computed once per tool.
 */
export function credentialParams(tool: ToolRecipe, bundle: VendorBundle): CredentialParams {
  return memoized(credentialParamsByTool, tool, () => {
    const params = { query: new Set<string>(), cookie: new Set<string>(), header: new Set<string>() };
    if (tool.security.length === 0) return params;
    const names = new Set(tool.security.flatMap((alternative) => Object.keys(alternative)));
    if (bundle.auth?.scheme !== undefined) names.add(bundle.auth.scheme);
    for (const name of names) {
      const scheme = Object.hasOwn(bundle.securitySchemes, name) ? bundle.securitySchemes[name] : undefined;
      if (scheme?.type !== "apiKey") continue;
      if (scheme.in === "query") params.query.add(encodeStrict(scheme.name).toLowerCase());
      else if (scheme.in === "cookie") params.cookie.add(scheme.name.toLowerCase());
      else params.header.add(scheme.name.toLowerCase());
    }
    return params;
  });
}

async function resolveAlternative(
  alternative: Record<string, string[]>,
  bundle: VendorBundle,
  credentials: CredentialSource,
): Promise<Resolved[] | undefined> {
  const resolved: Resolved[] = [];
  for (const name of Object.keys(alternative)) {
    const scheme = bundle.securitySchemes[name];
    if (!scheme) return undefined;
    const credential = await credentials.get(name, scheme);
    if (!credential) return undefined;
    resolved.push([name, scheme, credential]);
  }
  return resolved;
}

/**
 * Attaches upstream credentials for `tool` to `req`. Returns the scheme names used
 * (empty when the tool needs no auth, or auth is optional and none is configured).
 * Every credential value attached goes into `secrets`, to be scrubbed from the result.
 *
 * @throws ToolError `missing_credentials` naming the secrets to set.
 */
export async function applyAuth(
  req: PreparedRequest,
  tool: ToolRecipe,
  bundle: VendorBundle,
  credentials: CredentialSource,
  secrets?: SecretScrubber,
): Promise<string[]> {
  if (tool.security.length === 0) return [];
  let optional = false;
  for (const alternative of tool.security) {
    if (Object.keys(alternative).length === 0) {
      optional = true;
      continue;
    }
    const resolved = await resolveAlternative(alternative, bundle, credentials);
    if (resolved) {
      for (const r of resolved) {
        if (secrets) addSecrets(secrets, r[2]);
        attach(req, r);
      }
      return resolved.map(([name]) => name);
    }
  }
  // vendor.json may name a scheme the spec does not list for this operation (specs often omit security).
  const override = bundle.auth?.scheme;
  if (override && bundle.securitySchemes[override]) {
    const resolved = await resolveAlternative({ [override]: [] }, bundle, credentials);
    if (resolved) {
      for (const r of resolved) {
        if (secrets) addSecrets(secrets, r[2]);
        attach(req, r);
      }
      return [override];
    }
  }
  if (optional) return [];
  // A pinned scheme is the only one the gateway can use (the credential source offers no
  // other), so the error names it and its secrets alone, not the spec's other alternatives.
  const named =
    override && bundle.securitySchemes[override]
      ? [override]
      : tool.security.flatMap((alt) => Object.keys(alt));
  const wanted = named.map((name) => {
    const secrets = expectedSecretNames(bundle, bundle.securitySchemes[name]);
    return secrets.length > 0 ? `${name} (set ${secrets.join(" and ")})` : name;
  });
  const unique = [...new Set(wanted)];
  throw new ToolError(
    "missing_credentials",
    `No upstream credentials are configured for ${tool.name}; it needs ${unique.length === 1 ? unique[0] : `one of: ${unique.join(", ")}`}`,
  );
}
