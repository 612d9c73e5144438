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

type Field = keyof OperationSelector;

/** The selector fields an operation matches (values within a field are alternatives). */
function matchingFields(
  selector: OperationSelector,
  op: FilterableOperation,
): { matched: Field[]; given: Field[] } {
  const given: Field[] = [];
  const matched: Field[] = [];
  const check = (field: Field, ok: boolean) => {
    given.push(field);
    if (ok) matched.push(field);
  };
  if (selector.operationIds) check("operationIds", anyGlob(selector.operationIds, op.operationId));
  if (selector.tags)
    check(
      "tags",
      op.tags.some((tag) => anyGlob(selector.tags, tag)),
    );
  if (selector.paths) check("paths", anyGlob(selector.paths, op.path));
  if (selector.methods) check("methods", selector.methods.includes(op.method));
  return { matched, given };
}

/** Include: an operation must match every field the selector gives. */
export function includeMatches(selector: OperationSelector, op: FilterableOperation): boolean {
  const { matched, given } = matchingFields(selector, op);
  return matched.length === given.length;
}

/** Exclude: an operation matching any field the selector gives is dropped; the first such field. */
export function excludeMatch(selector: OperationSelector, op: FilterableOperation): Field | undefined {
  return matchingFields(selector, op).matched[0];
}

/**
 * Why the operation is filtered out, or `undefined` when it stays. `include` narrows (every
 * field of a selector must match: `{ tags: [orders], methods: [GET] }` is the orders GETs);
 * `exclude` removes (any field: `{ operationIds: [x], paths: ["/admin/**"] }` drops both).
 * Several selectors in a list are alternatives.
 */
export function filterReason(
  op: FilterableOperation,
  include: readonly OperationSelector[] | undefined,
  exclude: readonly OperationSelector[] | undefined,
  used: { include: Set<number>; exclude: Set<number> },
): string | undefined {
  if (include) {
    const index = include.findIndex((s) => includeMatches(s, op));
    if (index < 0) return "not matched by vendor.json include";
    used.include.add(index);
  }
  if (exclude) {
    for (let index = 0; index < exclude.length; index++) {
      const field = excludeMatch(exclude[index]!, op);
      if (field === undefined) continue;
      used.exclude.add(index);
      return `excluded by vendor.json exclude${exclude.length === 1 ? "" : `[${index}]`}.${field}`;
    }
  }
  return undefined;
}
