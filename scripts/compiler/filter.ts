/**
 * vendor.json `include` / `exclude`: which operations become tools.
 *
 * @module
 */
import type { HttpMethod } from "../../src/bundle/types.ts";
import type { OperationSelector } from "./vendor-config.ts";

export interface FilterableOperation {
  operationId?: string;
  method: HttpMethod;
  path: string;
  tags: readonly string[];
}

const globCache = new Map<string, RegExp>();

/**
 * `*` matches within one path segment, `**` across segments, `?` one character; everything
 * else (including `{` and `}` of path templates) is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (re) return re;
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (c === "*") {
      source += "[^/]*";
    } else if (c === "?") {
      source += "[^/]";
    } else {
      source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  re = new RegExp(`^${source}$`);
  globCache.set(glob, re);
  return re;
}

function anyGlob(globs: readonly string[] | undefined, value: string | undefined): boolean {
  return value !== undefined && (globs?.some((g) => globToRegExp(g).test(value)) ?? false);
}

/** Every field given must match; values within a field are alternatives. */
export function selectorMatches(selector: OperationSelector, op: FilterableOperation): boolean {
  if (selector.operationIds && !anyGlob(selector.operationIds, op.operationId)) return false;
  if (selector.tags && !op.tags.some((tag) => anyGlob(selector.tags, tag))) return false;
  if (selector.paths && !anyGlob(selector.paths, op.path)) return false;
  if (selector.methods && !selector.methods.includes(op.method)) return false;
  return true;
}

/** Why the operation is filtered out, or `undefined` when it stays. */
export function filterReason(
  op: FilterableOperation,
  include: readonly OperationSelector[] | undefined,
  exclude: readonly OperationSelector[] | undefined,
  used: { include: Set<number>; exclude: Set<number> },
): string | undefined {
  if (include) {
    const index = include.findIndex((s) => selectorMatches(s, op));
    if (index < 0) return "not matched by vendor.json include";
    used.include.add(index);
  }
  if (exclude) {
    const index = exclude.findIndex((s) => selectorMatches(s, op));
    if (index >= 0) {
      used.exclude.add(index);
      return exclude.length === 1
        ? "excluded by vendor.json exclude"
        : `excluded by vendor.json exclude[${index}]`;
    }
  }
  return undefined;
}
