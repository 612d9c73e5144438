/**
 * Tool names and argument keys.
 *
 * Tool names: the operationId (else `<method>_<path>`), reduced to
 * `[A-Za-z0-9_-]`, shortened with a short hash when too long, made unique with
 * `_2`, `_3`. The per-vendor limit leaves room for the `<vendor>_` prefix on
 * the unified endpoint, so `<vendor>_<name>` always fits `TOOL_NAME_MAX_CHARS`
 * and both endpoints use the same name.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { MCP_TOOL_NAME_MAX_CHARS, sanitizeToolName } from "../../src/mcp-upstream/curate.ts";

/** Many MCP clients cut or reject tool names longer than 64 characters. */
export const TOOL_NAME_MAX_CHARS = MCP_TOOL_NAME_MAX_CHARS;
/** Argument keys: identifier-safe, so clients that map arguments to identifiers cope (`filter[status]` → `filter_status`). */
export const ARG_KEY_MAX_CHARS = 64;
const HASH_CHARS = 8;

export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_CHARS);
}

/** Cuts `name` to `max` characters, replacing the tail with `_<hash of original>`. */
export function fitLength(name: string, max: number, original: string): string {
  if (name.length <= max) return name;
  const head = name.slice(0, max - HASH_CHARS - 1).replace(/[_-]+$/, "");
  return `${head}_${shortHash(original)}`;
}

// One rule for both vendor kinds (the MCP kind sanitises upstream tool names in the Worker).
export { sanitizeToolName };

/** `vendor.json`: the operator renamed it (`tools.<key>.name`). */
export type RenameReason = "sanitized" | "shortened" | "duplicate" | "vendor.json";

export interface NamedOperation {
  operationId?: string;
  method: string;
  path: string;
}

export interface ToolName {
  name: string;
  /** Why the name differs from the operationId (empty when it does not, or for derived names that fit). */
  reasons: RenameReason[];
}

/** Longest unprefixed tool name for a vendor, so `<vendor>_<name>` fits too. */
export function maxToolNameChars(vendor: string): number {
  return TOOL_NAME_MAX_CHARS - vendor.length - 1;
}

/** Names every operation, in order; deterministic for the same list. */
export function assignToolNames(operations: readonly NamedOperation[], maxChars: number): ToolName[] {
  const bases = operations.map((op) => {
    const original = op.operationId ?? `${op.method.toLowerCase()} ${op.path}`;
    const sanitized = sanitizeToolName(original) || "operation";
    const fitted = fitLength(sanitized, maxChars, original);
    const reasons: RenameReason[] = [];
    if (op.operationId !== undefined && sanitized !== op.operationId) reasons.push("sanitized");
    if (fitted !== sanitized) reasons.push("shortened");
    return { fitted, reasons };
  });
  const claimed = new Set<string>();
  const names: (ToolName | undefined)[] = bases.map(({ fitted, reasons }) => {
    if (claimed.has(fitted)) return undefined;
    claimed.add(fitted);
    return { name: fitted, reasons };
  });
  // Later duplicates get _2, _3, ... skipping names that other operations already hold.
  const counters = new Map<string, number>();
  return names.map((named, i) => {
    if (named) return named;
    const { fitted, reasons } = bases[i]!;
    let n = counters.get(fitted) ?? 1;
    let candidate: string;
    do {
      n++;
      const suffix = `_${n}`;
      candidate = `${fitted.slice(0, maxChars - suffix.length)}${suffix}`;
    } while (claimed.has(candidate));
    counters.set(fitted, n);
    claimed.add(candidate);
    return { name: candidate, reasons: [...reasons, "duplicate"] };
  });
}

/**
 * Names of `Object.prototype` members. As a key of a tool's `inputSchema.properties` they break
 * clients that read the schema as a plain object: the MCP SDK 1.x client (zod 4) rejects a
 * whole `tools/list` page when one tool has a property `constructor`.
 */
const PROTOTYPE_MEMBER_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * An identifier-safe argument key for a wire name (`filter[status]` → `filter_status`,
 * `X-Api-Version` → `X_Api_Version`, `constructor` → `constructor_`).
 */
export function safeArgKey(name: string): string {
  const cleaned =
    name
      .replace(/[^A-Za-z0-9_]+/g, "_")
      .replace(/_{2,}/g, "_")
      .replace(/^_+|_+$/g, "") || "arg";
  const key = PROTOTYPE_MEMBER_NAMES.has(cleaned) ? `${cleaned}_` : cleaned;
  return fitLength(key, ARG_KEY_MAX_CHARS, name);
}

/** Hands out unique argument keys within one tool. */
export class KeyAllocator {
  readonly #used = new Set<string>();

  has(key: string): boolean {
    return this.#used.has(key);
  }

  /** The first free key among `preferred`, else `preferred[0]_2`, `_3`, ... */
  claim(...preferred: string[]): string {
    for (const key of preferred) {
      if (!this.#used.has(key)) {
        this.#used.add(key);
        return key;
      }
    }
    const base = preferred[0] ?? "arg";
    for (let n = 2; ; n++) {
      const suffix = `_${n}`;
      const key = `${base.slice(0, ARG_KEY_MAX_CHARS - suffix.length)}${suffix}`;
      if (!this.#used.has(key)) {
        this.#used.add(key);
        return key;
      }
    }
  }
}
