/**
 * Security schemes for the bundle. Only http(s) URLs survive into OAuth flows
 * and OpenID Connect discovery (CVE-2025-6514: a URL handed to a client became
 * a shell command).
 *
 * @module
 */
import type { SecurityScheme } from "../../src/bundle/types.ts";
import type { CompileWarning } from "./operations.ts";
import { isObject, joinPointer } from "./pointer.ts";
import { cleanText } from "./schema.ts";

type OAuthFlows = Extract<SecurityScheme, { type: "oauth2" }>["flows"];
const FLOW_NAMES = ["clientCredentials", "authorizationCode", "implicit", "password"] as const;
const FLOW_URLS: Record<(typeof FLOW_NAMES)[number], string[]> = {
  clientCredentials: ["tokenUrl"],
  authorizationCode: ["authorizationUrl", "tokenUrl"],
  implicit: ["authorizationUrl"],
  password: ["tokenUrl"],
};

function httpUrl(value: unknown, baseUrl: string | undefined): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  try {
    const url = baseUrl ? new URL(value, `${baseUrl}/`) : new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function convertSecuritySchemes(
  raw: unknown,
  pointer: string,
  baseUrl: string | undefined,
  resolve: (value: unknown, pointer: string) => { value: unknown; pointer: string },
  warn: (warning: CompileWarning) => void,
): Record<string, SecurityScheme> {
  const out: Record<string, SecurityScheme> = {};
  if (!isObject(raw)) return out;
  for (const [name, rawScheme] of Object.entries(raw)) {
    const at = joinPointer(pointer, name);
    const scheme = resolve(rawScheme, at).value;
    if (!isObject(scheme)) continue;
    const description =
      typeof scheme.description === "string" ? { description: cleanText(scheme.description, 1_000) } : {};
    const drop = (why: string) => warn({ pointer: at, message: `security scheme "${name}" dropped: ${why}` });
    switch (scheme.type) {
      case "apiKey":
        if (
          (scheme.in === "header" || scheme.in === "query" || scheme.in === "cookie") &&
          typeof scheme.name === "string"
        ) {
          out[name] = { type: "apiKey", in: scheme.in, name: scheme.name, ...description };
        } else drop('apiKey needs "name" and "in" (header, query or cookie)');
        break;
      case "http":
        if (typeof scheme.scheme === "string") {
          out[name] = {
            type: "http",
            scheme: scheme.scheme.toLowerCase(),
            ...(typeof scheme.bearerFormat === "string" ? { bearerFormat: scheme.bearerFormat } : {}),
            ...description,
          };
        } else drop('http needs "scheme"');
        break;
      case "oauth2": {
        const flows: OAuthFlows = {};
        const rawFlows = isObject(scheme.flows) ? scheme.flows : {};
        for (const flowName of FLOW_NAMES) {
          const flow = rawFlows[flowName];
          if (!isObject(flow)) continue;
          const urls: Record<string, string> = {};
          let ok = true;
          for (const key of FLOW_URLS[flowName]) {
            const url = httpUrl(flow[key], baseUrl);
            if (url === undefined) {
              warn({
                pointer: joinPointer(joinPointer(joinPointer(at, "flows"), flowName), key),
                message: `OAuth flow "${flowName}" of "${name}" dropped: ${key} is not an http(s) URL`,
              });
              ok = false;
              break;
            }
            urls[key] = url;
          }
          if (!ok) continue;
          const refreshUrl = httpUrl(flow.refreshUrl, baseUrl);
          const scopes = isObject(flow.scopes)
            ? Object.fromEntries(
                Object.entries(flow.scopes).map(([s, d]) => [s, typeof d === "string" ? d : ""]),
              )
            : {};
          (flows as Record<string, unknown>)[flowName] = {
            ...urls,
            ...(refreshUrl ? { refreshUrl } : {}),
            scopes,
          };
        }
        out[name] = { type: "oauth2", flows, ...description };
        break;
      }
      case "openIdConnect": {
        const url = httpUrl(scheme.openIdConnectUrl, baseUrl);
        if (url) out[name] = { type: "openIdConnect", openIdConnectUrl: url, ...description };
        else drop("openIdConnectUrl is not an http(s) URL");
        break;
      }
      case "mutualTLS":
        out[name] = { type: "mutualTLS", ...description };
        break;
      default:
        drop(`unknown type ${JSON.stringify(scheme.type)}`);
    }
  }
  return out;
}
