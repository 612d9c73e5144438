/**
 * The hash of an upstream MCP tool's definition, as rug-pull detection compares it: the compiler
 * stores it in a snapshot (`npm run compile -- --snapshot`) and the Worker computes it for every
 * fetched list, so both must agree byte for byte. Web Crypto only (Node 22 and workerd alike).
 *
 * The hashed text is the canonical JSON of the definition as the upstream sent it (`name`,
 * `title`, `description`, `inputSchema`, `outputSchema`, `annotations`; absent members left out):
 * object keys sorted by UTF-16 code units at every depth, no whitespace, strings and numbers as
 * `JSON.stringify` writes them (the RFC 8785 rules for JSON that came out of `JSON.parse`).
 * Curation (renames, fixed arguments, cut descriptions) does not change it.
 *
 * @module
 */
import { sha256Hex } from "../auth/crypto.ts";

/** The members of a tool that make up its definition. `_meta` and `icons` are not part of it. */
export const DEFINITION_MEMBERS = [
  "name",
  "title",
  "description",
  "inputSchema",
  "outputSchema",
  "annotations",
] as const;

/**
 * Deeper values are refused rather than walked: a hostile upstream could nest a schema deep
 * enough to overflow the stack. Real tool schemas stay far below it.
 */
export const MAX_DEFINITION_DEPTH = 256;

/** A value that has no canonical JSON form (too deep, or not JSON at all). */
export class DefinitionHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DefinitionHashError";
  }
}

/**
 * Canonical JSON of a JSON value (sorted keys, no whitespace). `undefined` members are left out,
 * as `JSON.stringify` does; anything else that is not JSON throws {@link DefinitionHashError}.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, 0, parts);
  return parts.join("");
}

function write(value: unknown, depth: number, out: string[]): void {
  if (depth > MAX_DEFINITION_DEPTH) {
    throw new DefinitionHashError(`nested deeper than ${MAX_DEFINITION_DEPTH} levels`);
  }
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    out.push(JSON.stringify(value));
    return;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new DefinitionHashError("a number that is not finite");
    out.push(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      // JSON.stringify writes null for holes and undefined inside arrays.
      write(value[i] === undefined ? null : value[i], depth + 1, out);
    }
    out.push("]");
    return;
  }
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    // Default sort: UTF-16 code units, as RFC 8785 orders member names.
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    out.push("{");
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out.push(",");
      out.push(JSON.stringify(keys[i]), ":");
      write(record[keys[i]!], depth + 1, out);
    }
    out.push("}");
    return;
  }
  throw new DefinitionHashError(`a ${typeof value} is not JSON`);
}

/** The definition members of a tool as the upstream sent it (everything else dropped). */
export function toolDefinition(tool: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const definition: Record<string, unknown> = {};
  for (const member of DEFINITION_MEMBERS) {
    if (Object.hasOwn(tool, member) && tool[member] !== undefined) definition[member] = tool[member];
  }
  return definition;
}

/**
 * sha256 (lowercase hex) of the canonical JSON of the tool's definition.
 *
 * @throws {DefinitionHashError} when the definition has no canonical form (too deep, not JSON).
 */
export async function definitionHash(tool: Readonly<Record<string, unknown>>): Promise<string> {
  return await sha256Hex(canonicalJson(toolDefinition(tool)));
}
