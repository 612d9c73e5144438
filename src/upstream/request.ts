/**
 * Turns validated arguments into one upstream HTTP request, following the tool's
 * recipe. The request starts from a fresh `Headers`: nothing from the MCP
 * client's request (its `Authorization`, its cookies) can reach the upstream.
 *
 * Path safety (CVE-2026-32871 was a `../` in an unencoded path parameter that
 * escaped the API prefix with credentials attached): values are percent-encoded
 * so `/ ? # \ %` cannot appear raw, a segment that would still read as `.` or
 * `..` is refused, and the final URL is checked to have the base URL's origin,
 * to lie under its path prefix and to be exactly the path that was built (no
 * normalization happened on the way).
 *
 * @module
 */
import type { HttpMethod, ToolRecipe } from "../bundle/types.ts";
import { memoized } from "../memo.ts";
import { basePathPrefix, isUnderBase } from "./base-url.ts";
import { buildBody } from "./body.ts";
import {
  encodeStrict,
  headerValueProblem,
  serializeCookie,
  serializeHeader,
  serializePath,
  serializeQuery,
} from "./serialize.ts";
import { type ArgumentIssue, ToolError } from "./tool-error.ts";
import { pointerToken } from "./validate.ts";

/** Everything needed to send (and re-send, on a redirect or retry) one upstream request. */
export interface PreparedRequest {
  method: HttpMethod;
  url: URL;
  headers: Headers;
  /** Kept as bytes/text, not a stream, so the same body can be sent again. */
  body?: Uint8Array | string;
}

export const USER_AGENT = "mcp-edge-gateway/0.1";

/**
 * Header parameters the gateway never takes from arguments: OpenAPI says
 * `Accept`, `Content-Type` and `Authorization` parameters are ignored (they come
 * from the recipe and the auth scheme), the rest are connection-level headers
 * the runtime owns.
 */
const IGNORED_HEADER_PARAMS = new Set([
  "accept",
  "authorization",
  "connection",
  "content-length",
  "content-type",
  "cookie",
  "host",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** `.`/`..` as a segment, in any spelling the URL parser treats as a dot segment. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

function argPointer(key: string): string {
  return `/${pointerToken(key)}`;
}

/** JSON first when the spec documents JSON success responses; anything otherwise (images, files, text). */
function acceptHeader(tool: ToolRecipe): string {
  return memoized(acceptHeaders, tool, computeAcceptHeader);
}

/** Per recipe: the same for every call of a tool. */
const acceptHeaders = new WeakMap<ToolRecipe, string>();

function computeAcceptHeader(tool: ToolRecipe): string {
  const types = new Set<string>();
  for (const [status, response] of Object.entries(tool.responses)) {
    if (response.mediaType && /^(2|default)/i.test(status)) types.add(response.mediaType);
  }
  return types.size === 0 ? "*/*" : `${[...types].join(", ")}, */*;q=0.1`;
}

/**
 * The path template without a `#…` suffix: some specs (readme's examples among them) give one
 * path several operations as `/cookies#variant`, and a fragment is never part of a request
 * (RFC 3986 §3.5). Kept when parameters follow the `#`, which no server could route anyway.
 */
function templateOf(tool: ToolRecipe): string {
  const path = tool.path.startsWith("/") ? tool.path : `/${tool.path}`;
  const hash = path.indexOf("#");
  return hash === -1 || path.includes("{", hash) ? path : path.slice(0, hash);
}

function buildPath(tool: ToolRecipe, args: Record<string, unknown>, issues: ArgumentIssue[]): string {
  const template = templateOf(tool);
  const pathParams = tool.params.filter((p) => p.in === "path");
  let path = template;
  for (const p of pathParams) {
    const value = args[p.key];
    if (value === undefined || value === null) {
      issues.push({ pointer: argPointer(p.key), message: "is required (path parameter)" });
      continue;
    }
    const text = p.contentType
      ? encodeStrict(JSON.stringify(value))
      : serializePath(p.name, value, p.style, p.explode);
    if (text === "") {
      issues.push({ pointer: argPointer(p.key), message: "must not be empty (path parameter)" });
      continue;
    }
    path = path.split(`{${p.name}}`).join(text);
  }
  if (issues.length > 0) return path;
  // Values are encoded, so `/` only comes from the template and segments line up one to one.
  const templateSegments = template.split("/");
  path.split("/").forEach((segment, i) => {
    if (!DOT_SEGMENT.test(segment)) return;
    for (const p of pathParams) {
      if (templateSegments[i]?.includes(`{${p.name}}`)) {
        issues.push({ pointer: argPointer(p.key), message: 'must not be "." or ".." (path parameter)' });
      }
    }
  });
  // `[^{}]`: each attempt stops at the next `{`, so the test is linear in the path.
  if (issues.length === 0 && /\{[^{}]*\}/.test(path)) {
    throw new ToolError("configuration_error", `The path template of ${tool.name} has an unfilled parameter`);
  }
  return path;
}

function buildQuery(tool: ToolRecipe, args: Record<string, unknown>): string {
  const pairs: string[] = [];
  for (const p of tool.params) {
    if (p.in !== "query") continue;
    const value = args[p.key];
    if (value === undefined) continue;
    if (p.contentType) pairs.push(...serializeQuery(p.name, JSON.stringify(value), "form", true));
    else pairs.push(...serializeQuery(p.name, value, p.style, p.explode, p.allowReserved));
  }
  return pairs.join("&");
}

function applyHeaderAndCookieParams(
  tool: ToolRecipe,
  args: Record<string, unknown>,
  headers: Headers,
  issues: ArgumentIssue[],
): void {
  const cookies: string[] = [];
  for (const p of tool.params) {
    if (p.in !== "header" && p.in !== "cookie") continue;
    const value = args[p.key];
    if (value === undefined || value === null) continue;
    const raw = p.contentType ? JSON.stringify(value) : serializeHeader(value, p.explode);
    const problem = headerValueProblem(raw);
    if (problem) {
      issues.push({ pointer: argPointer(p.key), message: `${problem} (${p.in} parameter)` });
      continue;
    }
    if (p.in === "cookie") {
      cookies.push(
        ...(p.contentType ? serializeCookie(p.name, raw, false) : serializeCookie(p.name, value, p.explode)),
      );
    } else if (!IGNORED_HEADER_PARAMS.has(p.name.toLowerCase())) {
      try {
        // workerd sends non-ASCII header text as UTF-8 bytes, which is what APIs that accept it expect.
        headers.set(p.name, raw);
      } catch {
        throw new ToolError(
          "configuration_error",
          `Header parameter ${p.name} of ${tool.name} has an invalid name`,
        );
      }
    }
  }
  if (cookies.length > 0) headers.set("Cookie", cookies.join("; "));
}

/**
 * Builds the upstream request for `tool` from validated arguments.
 *
 * @throws ToolError `invalid_arguments` (with every issue) when a value cannot be
 *   sent safely: empty or dot-segment path values, CR/LF/NUL in headers or
 *   cookies, malformed base64 files. `configuration_error` for recipe defects.
 */
export function buildRequest(tool: ToolRecipe, args: Record<string, unknown>, base: URL): PreparedRequest {
  const issues: ArgumentIssue[] = [];
  const path = buildPath(tool, args, issues);
  const query = buildQuery(tool, args);
  const headers = new Headers({ Accept: acceptHeader(tool), "User-Agent": USER_AGENT });
  applyHeaderAndCookieParams(tool, args, headers, issues);
  const body = tool.body ? buildBody(tool.body, args, issues) : undefined;
  if (issues.length > 0) throw new ToolError("invalid_arguments", "Invalid arguments", issues);

  const expectedPath = `${basePathPrefix(base)}${path}`;
  let url: URL;
  try {
    url = new URL(`${base.origin}${expectedPath}${query ? `?${query}` : ""}`);
  } catch {
    throw new ToolError("configuration_error", `Could not build a URL for ${tool.name}`);
  }
  assertUnderBase(url, base, expectedPath);
  if (body) headers.set("Content-Type", body.contentType);
  return { method: tool.method, url, headers, ...(body ? { body: body.bytes } : {}) };
}

/**
 * The last line of defence: the URL must have the base origin, sit under the base
 * path, and (when given) be exactly the path that was built.
 *
 * @throws ToolError `invalid_arguments` otherwise — nothing is sent.
 */
export function assertUnderBase(url: URL, base: URL, expectedPath?: string): void {
  if (!isUnderBase(url, base) || (expectedPath !== undefined && url.pathname !== expectedPath)) {
    throw new ToolError(
      "invalid_arguments",
      "The arguments would take the request outside the vendor's base URL",
      [{ pointer: "", message: "would take the request outside the vendor's base URL" }],
    );
  }
}
