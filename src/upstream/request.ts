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

import { basePathPrefix, isUnderBase } from "../base-url.ts";
import type { HttpMethod, ToolRecipe } from "../bundle/types.ts";
import { memoized } from "../memo.ts";
import { pointerToken } from "../schema/validate.ts";
import { type ArgumentIssue, ToolError } from "../tool-error.ts";
import { buildBody } from "./body.ts";
import {
  argumentValue,
  encodeStrict,
  headerValueProblem,
  serializeCookie,
  serializeHeader,
  serializePath,
  serializeQuery,
  UNPAIRED_SURROGATE,
} from "./serialize.ts";

/** Everything needed to send (and re-send, on a redirect or retry) one upstream request. */
export interface PreparedRequest {
  method: HttpMethod;
  url: URL;
  headers: Headers;
  /** Kept as bytes/text, not a stream, so the same body can be sent again. */
  body?: Uint8Array | string;
}

const USER_AGENT = "mcp-edge-gateway/0.1";

/**
 * Longest request target (path + query) sent upstream, in bytes: Apache refuses a request
 * line over 8,190 bytes (`LimitRequestLine`) and nginx one over its 8 KiB header buffer;
 * Cloudflare's own limit (16 KB) and workerd's (it fails locally far above) are higher.
 */
export const MAX_REQUEST_TARGET_BYTES = 8_000;
/** Longest single header line (`Name: value`), in bytes: Apache's `LimitRequestFieldSize` is 8,190, nginx's buffer 8 KiB. */
export const MAX_HEADER_LINE_BYTES = 8_000;
/**
 * Longest request head (request line and every header line), in bytes: Node's HTTP server refuses
 * more than 16,384 (`--max-http-header-size`); the rest is left for what the runtime adds (Host,
 * Content-Length, Accept-Encoding). Cloudflare allows 128 KB.
 */
export const MAX_REQUEST_HEAD_BYTES = 15_000;

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
    const value = argumentValue(args, p.key);
    if (value === undefined || value === null) {
      issues.push({ pointer: argPointer(p.key), message: "is required (path parameter)" });
      continue;
    }
    const text = encoded(argPointer(p.key), "path", issues, () =>
      p.contentType ? encodeStrict(JSON.stringify(value)) : serializePath(p.name, value, p.style, p.explode),
    );
    if (text === undefined) continue;
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

function buildQuery(
  tool: ToolRecipe,
  args: Record<string, unknown>,
  reserved: CredentialParams,
  issues: ArgumentIssue[],
): string {
  const pairs: string[] = [];
  for (const p of tool.params) {
    if (p.in !== "query") continue;
    const value = argumentValue(args, p.key);
    if (value === undefined) continue;
    const own = encoded(argPointer(p.key), "query", issues, () =>
      p.contentType
        ? serializeQuery(p.name, JSON.stringify(value), "form", true)
        : serializeQuery(p.name, value, p.style, p.explode, p.allowReserved),
    );
    if (own === undefined || refusesCredentialName(own, reserved.query, p.key, "query", issues)) continue;
    pairs.push(...own);
  }
  return pairs.join("&");
}

/**
 * Whether one argument's `name=value` pairs would set a parameter that carries the vendor
 * credential (an object exploded into names the client picks, or a spec parameter of that
 * name): then it is an issue, and nothing is sent. Names compare case-insensitively, as
 * some servers read them.
 */
function refusesCredentialName(
  pairs: readonly string[],
  reserved: ReadonlySet<string>,
  key: string,
  where: "query" | "cookie",
  issues: ArgumentIssue[],
): boolean {
  if (reserved.size === 0) return false;
  for (const pair of pairs) {
    const name = pair.slice(0, pair.indexOf("=")).toLowerCase();
    if (reserved.has(name)) {
      issues.push({ pointer: argPointer(key), message: credentialClash(where, name) });
      return true;
    }
  }
  return false;
}

function credentialClash(where: "query" | "cookie" | "header", name: string): string {
  return `must not set the ${where} parameter ${name}: it carries the vendor credential, which the gateway attaches`;
}

/**
 * Runs one argument's percent-encoding: `encodeURIComponent` throws `URIError` on a lone
 * UTF-16 surrogate, which becomes an issue at `pointer`. `undefined` after an issue.
 */
function encoded<T>(
  pointer: string,
  where: string,
  issues: ArgumentIssue[],
  serialize: () => T,
): T | undefined {
  try {
    return serialize();
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    issues.push({ pointer, message: `${UNPAIRED_SURROGATE} (${where})` });
    return undefined;
  }
}

function applyHeaderAndCookieParams(
  tool: ToolRecipe,
  args: Record<string, unknown>,
  headers: Headers,
  reserved: CredentialParams,
  issues: ArgumentIssue[],
): void {
  const cookies: string[] = [];
  for (const p of tool.params) {
    if (p.in !== "header" && p.in !== "cookie") continue;
    const value = argumentValue(args, p.key);
    if (value === undefined || value === null) continue;
    const raw = p.contentType ? JSON.stringify(value) : serializeHeader(value, p.explode);
    const problem = headerValueProblem(raw);
    if (problem) {
      issues.push({ pointer: argPointer(p.key), message: `${problem} (${p.in} parameter)` });
      continue;
    }
    if (p.in === "cookie") {
      const own = p.contentType
        ? serializeCookie(p.name, raw, false)
        : serializeCookie(p.name, value, p.explode);
      if (!refusesCredentialName(own, reserved.cookie, p.key, "cookie", issues)) cookies.push(...own);
    } else if (reserved.header.has(p.name.toLowerCase())) {
      issues.push({ pointer: argPointer(p.key), message: credentialClash("header", p.name) });
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
 * Parameter names that carry the vendor's credential for a tool (lower-case; query names
 * percent-encoded as sent): arguments may not produce them (see `credentialParams` in auth.ts).
 */
export interface CredentialParams {
  query: ReadonlySet<string>;
  cookie: ReadonlySet<string>;
  header: ReadonlySet<string>;
}

const NO_CREDENTIAL_PARAMS: CredentialParams = { query: new Set(), cookie: new Set(), header: new Set() };

/**
 * Builds the upstream request for `tool` from validated arguments.
 *
 * @throws ToolError `invalid_arguments` (with every issue) when a value cannot be
 *   sent safely: empty or dot-segment path values, CR/LF/NUL, control characters or
 *   lone surrogates in parameters, parameters named like the credential's (`reserved`),
 *   malformed base64 files. `configuration_error` for recipe defects.
 */
export function buildRequest(
  tool: ToolRecipe,
  args: Record<string, unknown>,
  base: URL,
  reserved: CredentialParams = NO_CREDENTIAL_PARAMS,
): PreparedRequest {
  const issues: ArgumentIssue[] = [];
  const path = buildPath(tool, args, issues);
  const query = buildQuery(tool, args, reserved, issues);
  const headers = new Headers({ Accept: acceptHeader(tool), "User-Agent": USER_AGENT });
  applyHeaderAndCookieParams(tool, args, headers, reserved, issues);
  const recipe = tool.body;
  const body = !recipe
    ? undefined
    : encoded(recipe.key === undefined ? "" : argPointer(recipe.key), "body", issues, () =>
        buildBody(recipe, args, issues),
      );
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

/** UTF-8 length of `text` without encoding it. */
function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    // Two bytes below U+0800; three for the rest of the BMP; a surrogate pair (4 bytes) counts 2 + 2.
    bytes += code < 0x800 ? 1 : code >= 0xd800 && code <= 0xdfff ? 1 : 2;
  }
  return bytes;
}

const formatBytes = (n: number) => n.toLocaleString("en-US");

/**
 * Refuses a request that no common server would accept (see {@link MAX_REQUEST_TARGET_BYTES},
 * {@link MAX_HEADER_LINE_BYTES}, {@link MAX_REQUEST_HEAD_BYTES}) before anything is sent: it
 * would fail in the runtime or at the upstream's front door, and either way says nothing about
 * the vendor's health.
 *
 * @throws ToolError `invalid_arguments` naming the limit.
 */
export function assertSendable(req: PreparedRequest): void {
  const issues: ArgumentIssue[] = [];
  const target = req.url.pathname.length + req.url.search.length;
  if (target > MAX_REQUEST_TARGET_BYTES) {
    issues.push({
      pointer: "",
      message: `the request URL would be ${formatBytes(target)} bytes; upstream servers accept at most ${formatBytes(MAX_REQUEST_TARGET_BYTES)} (shorten the path or query arguments)`,
    });
  }
  // "METHOD target HTTP/1.1\r\n", "Host: host\r\n", then each "Name: value\r\n".
  let head = req.method.length + target + 11 + req.url.host.length + 8;
  for (const [name, value] of req.headers) {
    const line = name.length + 2 + utf8Bytes(value);
    head += line + 2;
    if (line > MAX_HEADER_LINE_BYTES) {
      issues.push({
        pointer: "",
        message: `the ${name} header would be ${formatBytes(line)} bytes; upstream servers accept at most ${formatBytes(MAX_HEADER_LINE_BYTES)} per header (shorten the header or cookie arguments)`,
      });
    }
  }
  if (issues.length === 0 && head > MAX_REQUEST_HEAD_BYTES) {
    issues.push({
      pointer: "",
      message: `the request line and headers would be ${formatBytes(head)} bytes; upstream servers accept at most ${formatBytes(MAX_REQUEST_HEAD_BYTES)} (shorten the path, query, header or cookie arguments)`,
    });
  }
  if (issues.length > 0) throw new ToolError("invalid_arguments", "Request too large to send", issues);
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

/**
 * The request with the gateway's headers (the idempotency key) added; headers
 * the request already has (an argument the caller passed) win.
 */
export function withGatewayHeaders(req: PreparedRequest, headers: Record<string, string>): PreparedRequest {
  const names = Object.keys(headers);
  if (names.length === 0) return req;
  const merged = new Headers(req.headers);
  for (const name of names) {
    if (!merged.has(name)) merged.set(name, headers[name]!);
  }
  return { ...req, headers: merged };
}
