/**
 * Request bodies from the recipe: JSON, form-urlencoded, multipart (with file
 * parts), text and raw bytes. Multipart is assembled by hand rather than through
 * `FormData` so that non-file parts can carry their own `Content-Type` (a JSON
 * part, say) and the exact bytes are known before sending (needed to re-send the
 * same body on a redirect or retry).
 *
 * @module
 */
import { decodeBase64 } from "../base64.ts";
import type { BodyPartRecipe, BodyRecipe } from "../bundle/types.ts";
import { pointerToken } from "../schema/validate.ts";
import type { ArgumentIssue } from "../tool-error.ts";
import { isPlainObject } from "./plain-object.ts";
import { argumentValue, scalarText, serializeQuery } from "./serialize.ts";

/** A serialized body and the `Content-Type` to send with it. */
export interface BuiltBody {
  contentType: string;
  bytes: Uint8Array | string;
}

/** The argument shape of a file: `content` is text, or base64 when `encoding` says so. */
interface FileArgument {
  content: string;
  encoding?: "base64" | "text";
  filename?: string;
  contentType?: string;
}

function isFileArgument(v: unknown): v is FileArgument {
  return isPlainObject(v) && typeof v.content === "string";
}

/** The bytes of a file argument (`encoding` defaults to text, as the compiler's file schema says), or an issue. */
function fileBytes(
  value: unknown,
  pointer: string,
  issues: ArgumentIssue[],
): { bytes: Uint8Array; filename?: string; contentType?: string } | undefined {
  const file: FileArgument | undefined =
    typeof value === "string" ? { content: value } : isFileArgument(value) ? value : undefined;
  if (!file) {
    issues.push({
      pointer,
      message: "must be a string or a file object { content, encoding?, filename?, contentType? }",
    });
    return undefined;
  }
  const encoding = file.encoding ?? "text";
  let bytes: Uint8Array | undefined;
  if (encoding === "base64") {
    bytes = decodeBase64(file.content);
    if (!bytes) {
      issues.push({
        pointer: typeof value === "string" ? pointer : `${pointer}/content`,
        message: "must be valid base64",
      });
      return undefined;
    }
  } else {
    bytes = new TextEncoder().encode(file.content);
  }
  return { bytes, filename: file.filename, contentType: file.contentType };
}

/** The body value from the arguments, or undefined when there is none to send. */
function bodyValue(
  recipe: BodyRecipe,
  args: Record<string, unknown>,
): { value: unknown; pointers: Map<string, string> } | undefined {
  const pointers = new Map<string, string>();
  if (recipe.mode === "wrap") {
    const key = recipe.key ?? "body";
    const value = argumentValue(args, key);
    pointers.set("", `/${pointerToken(key)}`);
    return value === undefined ? undefined : { value, pointers };
  }
  // Null prototype: a wire name `__proto__` is a member like any other.
  const out: Record<string, unknown> = Object.create(null);
  let present = false;
  for (const [argKey, wireName] of Object.entries(recipe.properties ?? {})) {
    const v = argumentValue(args, argKey);
    pointers.set(wireName, `/${pointerToken(argKey)}`);
    if (v !== undefined) {
      out[wireName] = v;
      present = true;
    }
  }
  // A required body is sent even when every member is optional and absent (`{}`).
  if (!present && !recipe.required) return undefined;
  return { value: out, pointers };
}

/** The encoding of one member; the member names are the client's, so own keys only. */
function partOf(parts: Record<string, BodyPartRecipe> | undefined, name: string): BodyPartRecipe | undefined {
  return parts !== undefined && Object.hasOwn(parts, name) ? parts[name] : undefined;
}

/** `*\/*` and friends in a spec mean "anything": pick the type that matches the encoding. */
function concreteMediaType(recipe: BodyRecipe): string {
  if (!recipe.mediaType.includes("*")) return recipe.mediaType;
  switch (recipe.encoding) {
    case "json":
      return "application/json";
    case "form":
      return "application/x-www-form-urlencoded";
    case "text":
      return "text/plain; charset=utf-8";
    default:
      return "application/octet-stream";
  }
}

function formBody(value: unknown, parts: Record<string, BodyPartRecipe> | undefined): string {
  if (!isPlainObject(value)) return scalarText(value);
  const pairs: string[] = [];
  for (const [name, v] of Object.entries(value)) {
    const part = partOf(parts, name);
    if (
      part?.contentType &&
      !part.contentType.startsWith("text/") &&
      (isPlainObject(v) || Array.isArray(v))
    ) {
      // `encoding.contentType: application/json`: the member travels as one JSON string.
      pairs.push(...serializeQuery(name, JSON.stringify(v), "form", true));
    } else {
      pairs.push(...serializeQuery(name, v, part?.style ?? "form", part?.explode ?? true));
    }
  }
  return pairs.join("&");
}

/** RFC 7578 + HTML: quotes and line breaks in names/filenames are percent-escaped, never raw. */
function dispositionToken(s: string): string {
  return s.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `----mcp-edge-gateway-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function multipartBody(
  value: unknown,
  parts: Record<string, BodyPartRecipe> | undefined,
  pointers: Map<string, string>,
  issues: ArgumentIssue[],
): BuiltBody | undefined {
  const boundary = randomBoundary();
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const addPart = (name: string, bytes: Uint8Array, contentType?: string, filename?: string) => {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${dispositionToken(name)}"`;
    if (filename !== undefined) head += `; filename="${dispositionToken(filename)}"`;
    head += "\r\n";
    if (contentType) head += `Content-Type: ${contentType.replace(/[\r\n]/g, "")}\r\n`;
    chunks.push(enc.encode(`${head}\r\n`), bytes, enc.encode("\r\n"));
  };
  const members = isPlainObject(value) ? Object.entries(value) : [["body", value] as [string, unknown]];
  for (const [name, member] of members) {
    if (member === undefined || member === null) continue;
    const part = partOf(parts, name);
    const pointer = pointers.get(name) ?? `${pointers.get("") ?? ""}/${pointerToken(name)}`;
    // OpenAPI: an array property becomes one part per item, all with the same name.
    const items =
      Array.isArray(member) && (part?.file || !part?.contentType?.includes("json")) ? member : [member];
    items.forEach((item, i) => {
      const at = items === member ? `${pointer}/${i}` : pointer;
      if (part?.file) {
        const file = fileBytes(item, at, issues);
        if (!file) return;
        addPart(
          name,
          file.bytes,
          file.contentType ?? part.contentType ?? "application/octet-stream",
          file.filename ?? name,
        );
      } else if (isPlainObject(item) || Array.isArray(item)) {
        addPart(name, enc.encode(JSON.stringify(item)), part?.contentType ?? "application/json");
      } else {
        addPart(name, enc.encode(scalarText(item)), part?.contentType);
      }
    });
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  if (issues.length > 0) return undefined;
  return { contentType: `multipart/form-data; boundary=${boundary}`, bytes: concat(chunks) };
}

/**
 * Serializes the request body the recipe describes from the (validated) arguments.
 * Returns undefined when there is no body to send; pushes argument issues (bad
 * base64, say) into `issues`.
 */
export function buildBody(
  recipe: BodyRecipe,
  args: Record<string, unknown>,
  issues: ArgumentIssue[],
): BuiltBody | undefined {
  const found = bodyValue(recipe, args);
  if (!found) return undefined;
  const { value, pointers } = found;
  const contentType = concreteMediaType(recipe);
  switch (recipe.encoding) {
    case "json":
      return { contentType, bytes: JSON.stringify(value) };
    case "form":
      return { contentType, bytes: formBody(value, recipe.parts) };
    case "multipart":
      return multipartBody(value, recipe.parts, pointers, issues);
    case "text":
      return { contentType, bytes: scalarText(value) };
    case "binary": {
      // Same argument shape as a multipart file: a string is text, `{ content, encoding: "base64" }` bytes.
      const file = fileBytes(value, pointers.get("") ?? "/body", issues);
      if (!file) return undefined;
      return { contentType: file.contentType ?? contentType, bytes: file.bytes };
    }
    default:
      return { contentType, bytes: JSON.stringify(value) };
  }
}
